"""The package's shape: four rooms beside a few core modules, each module readable in one sitting,
framework imports at the top of the modules that need them, and nothing a notebook imports before
`helpers.set_threads()` loads a framework (its thread count must reach torch and TensorFlow)."""
import ast
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PKG = ROOT / "helpers"
ROOMS = ("data", "models", "checks", "course")
FRAMEWORKS = ("torch", "tensorflow", "keras", "onnxruntime")
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))


def _loaded_frameworks(code: str) -> list:
    """The frameworks in sys.modules after running `code` in a fresh interpreter."""
    probe = code + f"\nimport sys; print(sorted(m for m in {FRAMEWORKS!r} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=ROOT, check=True)
    return ast.literal_eval(out.stdout.strip().splitlines()[-1])


def test_the_package_is_four_rooms_and_a_few_core_modules():
    top = sorted(p.stem for p in PKG.glob("*.py"))
    rooms = sorted(p.name for p in PKG.iterdir() if (p / "__init__.py").exists())
    assert rooms == sorted(ROOMS)
    assert len(top) <= 8, f"at most 8 top-level modules beside the rooms, found {top}"


@pytest.mark.parametrize("path", sorted(PKG.rglob("*.py")), ids=lambda p: str(p.relative_to(PKG)))
def test_every_module_reads_in_one_sitting(path):
    n = len(path.read_text().splitlines())
    assert n <= 400, f"{path.relative_to(ROOT)} has {n} lines: split it along a responsibility"


def test_framework_imports_are_at_the_top_but_a_few_with_their_reason():
    local = []
    for path in PKG.rglob("*.py"):
        lines = path.read_text().splitlines()
        for i, line in enumerate(lines):
            if re.match(rf"\s+(import|from) ({'|'.join(FRAMEWORKS)})\b", line):
                local.append((path.relative_to(ROOT), i + 1, line))
    assert len(local) <= 10, f"{len(local)} framework imports inside functions: {local}"
    for path, n, line in local:
        above = (PKG.parent / path).read_text().splitlines()[n - 2]
        assert "# local" in line or "# local" in above, f"{path}:{n} needs a one-line reason: {line.strip()}"


def test_import_helpers_and_its_rooms_loads_no_framework():
    rooms = "; ".join(f"import helpers.{r}" for r in ROOMS)
    families = "; ".join(f"import helpers.data.{f}" for f in ("files", "catalogue", "cifar", "text", "tabular",
                                                              "images", "timeseries"))
    assert _loaded_frameworks(f"import helpers; {rooms}; {families}") == []


def test_rooms_load_their_modules_on_first_use():
    code = ("import helpers, sys; assert 'helpers.data' not in sys.modules\n"
            "assert helpers.data.standin_used() == set()\n"
            "assert callable(helpers.data.load_power_load) and 'helpers.data.timeseries' in sys.modules\n"
            "assert helpers.models.count_params.__doc__ and 'helpers.models.fastcifar' not in sys.modules")
    assert _loaded_frameworks(code) == []


def _before_set_threads(nb: Path) -> str:
    """A notebook's code cells up to its `helpers.set_threads()` call (parameters cell included)."""
    code = []
    for cell in json.loads(nb.read_text())["cells"]:
        if cell["cell_type"] != "code":
            continue
        src = "".join(cell["source"])
        lines = [ln for ln in src.splitlines() if not ln.lstrip().startswith(("%", "!"))]
        if any("set_threads(" in ln for ln in lines):
            i = next(k for k, ln in enumerate(lines) if "set_threads(" in ln)
            return "\n".join(code + lines[:i])
        code += lines
    raise AssertionError(f"{nb.name} never calls helpers.set_threads()")


@pytest.mark.parametrize("nb", NOTEBOOKS, ids=lambda p: p.stem[:2])
def test_nothing_a_notebook_runs_before_set_threads_loads_a_framework(nb):
    assert _loaded_frameworks(_before_set_threads(nb)) == [], \
        f"{nb.name}: move the import that loads a framework below helpers.set_threads()"
