"""nbclean: what stripping keeps and drops, and the nbval comparison of checked cells."""
import copy
import json

import nbformat
import pytest

from helpers.course import nbclean
from helpers.record import MIME

TABLE = "quantity   value\nloss       0.6931\n"


def _stream(text, name="stdout"):
    return nbformat.v4.new_output("stream", name=name, text=text)


def _notebook(table_outputs):
    """An executed-looking notebook: parameters, injected parameters, a plain cell, a checked cell."""
    nb = nbformat.v4.new_notebook()
    params = nbformat.v4.new_code_cell("QUICK = False\nSEED = 0", execution_count=1)
    params.metadata["tags"] = ["parameters"]
    injected = nbformat.v4.new_code_cell("# Parameters\nQUICK = True\n", execution_count=2)
    injected.metadata["tags"] = ["injected-parameters"]
    injected.metadata["papermill"] = {"duration": 0.1}
    plain = nbformat.v4.new_code_cell("print('noise')", execution_count=3, outputs=[_stream("noise\n")])
    record_out = nbformat.v4.new_output(
        "display_data", data={MIME: {"name": "loss", "value": 0.6931}, "text/plain": "recorded loss = 0.6931"})
    checked = nbformat.v4.new_code_cell("# NBVAL_CHECK_OUTPUT\nprint(table)", execution_count=4,
                                        outputs=[record_out, *table_outputs])
    nb.cells = [nbformat.v4.new_markdown_cell("# Title"), params, injected, plain, checked]
    nb.metadata["papermill"] = {"parameters": {"QUICK": True}}
    return json.loads(nbformat.writes(nb))


def _text(value):
    """A source or text as one string (notebook JSON stores multi-line strings as lists)."""
    return "".join(value) if isinstance(value, list) else value


def _checked(doc):
    return [c for c in doc["cells"] if nbclean.is_checked(c)][0]


def test_clean_strips_outputs_counts_and_the_injected_cell():
    doc = nbclean.clean(_notebook([_stream(TABLE)]))
    code = [c for c in doc["cells"] if c["cell_type"] == "code"]
    assert [_text(c["source"]) for c in code] == ["QUICK = False\nSEED = 0", "print('noise')",
                                           "# NBVAL_CHECK_OUTPUT\nprint(table)"], \
        "the papermill injected-parameters cell must go, every other cell stays"
    assert all(c["execution_count"] is None for c in code)
    assert code[1]["outputs"] == [], "an unchecked cell keeps no output"
    assert "papermill" not in doc["metadata"]


def test_clean_names_the_course_kernel_and_drops_run_metadata():
    doc = _notebook([_stream(TABLE)])
    doc["metadata"]["kernelspec"] = {"name": "dlc", "display_name": "Python (deep-learning curriculum)",
                                     "language": "python"}
    doc["metadata"]["language_info"] = {"name": "python", "version": "3.11.7"}
    doc["metadata"]["jupytext"] = {"cell_metadata_filter": "tags,nbgrader,-all"}
    meta = nbclean.clean(doc)["metadata"]
    assert meta["kernelspec"] == {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}
    assert "language_info" not in meta and "papermill" not in meta
    assert meta["jupytext"] == {"cell_metadata_filter": "tags,nbgrader,-all"}, "authoring metadata stays"
    # a notebook with no metadata at all gets the kernel too
    bare = _notebook([])
    del bare["metadata"]
    assert nbclean.clean(bare)["metadata"]["kernelspec"]["name"] == "python3"


def test_clean_keeps_checked_output_without_the_record_mime():
    outs = _checked(nbclean.clean(_notebook([_stream(TABLE)])))["outputs"]
    assert len(outs) == 2
    assert MIME not in outs[0]["data"] and _text(outs[0]["data"]["text/plain"]) == "recorded loss = 0.6931"
    assert _text(outs[1]["text"]) == TABLE


def test_clean_drops_an_output_that_only_carried_a_record():
    doc = _notebook([_stream(TABLE)])
    del _checked(doc)["outputs"][0]["data"]["text/plain"]
    outs = _checked(nbclean.clean(doc))["outputs"]
    assert [o["output_type"] for o in outs] == ["stream"]


def test_clean_from_executed_takes_the_fresh_checked_output():
    committed = nbclean.clean(_notebook([_stream(TABLE)]))
    fresh = _notebook([_stream(TABLE.replace("0.6931", "0.5000"))])
    doc = nbclean.clean(committed, executed=fresh)
    assert "0.5000" in _text(_checked(doc)["outputs"][-1]["text"])
    assert all(c.get("execution_count") is None for c in doc["cells"] if c["cell_type"] == "code")


def test_cli_cleans_in_place(tmp_path):
    path = tmp_path / "nb.ipynb"
    path.write_text(json.dumps(_notebook([_stream(TABLE)])))
    nbclean.main([str(path)])
    doc = nbformat.read(path, as_version=4)
    nbformat.validate(doc)
    assert len(doc.cells) == 4 and _checked(doc)["outputs"][-1]["text"] == TABLE


def test_compare_accepts_the_same_output_split_differently():
    committed = nbclean.clean(_notebook([_stream(TABLE)]))
    lines = TABLE.splitlines(keepends=True)
    executed = _notebook([_stream(lines[0]), _stream(lines[1])])  # nbval coalesces stream pieces
    assert nbclean.compare_checked(committed, executed) == []


def test_compare_ignores_record_mime_counts_and_images():
    committed = nbclean.clean(_notebook([_stream(TABLE)]))
    executed = _notebook([_stream(TABLE)])
    png = nbformat.v4.new_output("display_data", data={"image/png": "iVBORw0KGgo="})
    committed_png = copy.deepcopy(png)
    committed_png["data"]["image/png"] = "AAAA"
    _checked(executed)["outputs"].append(png)
    _checked(committed)["outputs"].append(committed_png)
    assert nbclean.compare_checked(committed, executed) == []


@pytest.mark.parametrize("change", ["number", "missing", "extra stderr"])
def test_compare_fails_on_a_different_output_with_a_readable_diff(change):
    committed = nbclean.clean(_notebook([_stream(TABLE)]))
    outputs = {"number": [_stream(TABLE.replace("0.6931", "0.6932"))],
               "missing": [],
               "extra stderr": [_stream(TABLE), _stream("warning\n", name="stderr")]}[change]
    problems = nbclean.compare_checked(committed, _notebook(outputs))
    assert len(problems) == 1, problems
    assert problems[0].startswith("cell 3 ('print(table)'): outputs differ")
    if change == "number":
        assert "-loss       0.6931" in problems[0] and "+loss       0.6932" in problems[0]


def test_compare_fails_when_checked_cells_do_not_pair_up():
    committed = nbclean.clean(_notebook([_stream(TABLE)]))
    executed = _notebook([_stream(TABLE)])
    _checked(executed)["source"] = "# NBVAL_CHECK_OUTPUT\nprint(other)"
    assert "source differs" in nbclean.compare_checked(committed, executed)[0]
    executed["cells"] = executed["cells"][:-1]
    assert "1 checked cell(s) committed but 0" in nbclean.compare_checked(committed, executed)[0]
