"""record() stores named results in a notebook's outputs; read_results() gets them back."""
import json

import nbformat
import numpy as np

from helpers.record import MIME, _plain, read_results, record


def test_plain_values():
    assert _plain(np.float64(0.5)) == 0.5
    assert _plain(np.arange(3)) == [0, 1, 2]
    assert _plain({"a": (np.int64(1), 2.0)}) == {"a": [1, 2.0]}
    assert _plain(float("nan")) == "nan"
    assert isinstance(json.dumps(_plain(object())), str)


def test_record_outside_ipython_prints_and_returns(capsys):
    assert record("x", 3) == 3
    assert "recorded x = 3" in capsys.readouterr().out


def test_read_results_last_value_wins(tmp_path):
    nb = nbformat.v4.new_notebook()
    out = lambda n, v: nbformat.v4.new_output("display_data", data={MIME: {"name": n, "value": v},
                                                                     "text/plain": "x"})
    c1 = nbformat.v4.new_code_cell("record('acc', 0.1)")
    c1.outputs = [out("acc", 0.1), out("loss", [1.0, 0.5])]
    c2 = nbformat.v4.new_code_cell("record('acc', 0.9)")
    c2.outputs = [out("acc", 0.9), nbformat.v4.new_output("stream", name="stdout", text="hi")]
    nb.cells = [nbformat.v4.new_markdown_cell("# t"), c1, c2]
    p = tmp_path / "n.ipynb"
    nbformat.write(nb, p)
    assert read_results(p) == {"acc": 0.9, "loss": [1.0, 0.5]}
