"""JupyterLab in a real browser: `jupyter lab` from the course's venv on 127.0.0.1 (random port, a token),
headless Debian Chromium driven by Playwright (never a downloaded browser).

A course notebook (02, with `QUICK = True` written into its parameters cell, as a teacher would, and a
last cell that prints the kernel's Python) runs through Run > Run All Cells; the test waits for the last
cell, then checks a known checked output (its `# NBVAL_CHECK_OUTPUT` cell) and its figures, that the
notebook opened with the course's kernel without a kernel picker, and that the glossary's Chinese renders
(a CJK font, not boxes).
Screenshots: build/browser/run_all.png (a figure), run_all_end.png (the last cell) and glossary.png.
"""
import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = Path(os.environ.get("DLC_CHROMIUM", "/usr/bin/chromium"))
SHOTS = ROOT / "build" / "browser"
COURSE_NB = "02_linear_regression.ipynb"   # run in the browser (quick) and its glossary rendered
GLOSSARY_NB = COURSE_NB
MARK = "BROWSER-CHECK-OK"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]

pytestmark = [pytest.mark.notebook, pytest.mark.xdist_group("browser")]


def _requirements():
    """Why the browser test cannot run here, or None."""
    if not CHROMIUM.exists():
        return (f"{CHROMIUM} not found: install Debian's Chromium and a CJK font "
                "(apt-get install chromium fonts-noto-cjk; .ci/run does it as root)")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "playwright is not installed: pip install -e '.[dev]' (make setup)"
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _quick_copy(src: Path) -> tuple[nbformat.NotebookNode, str]:
    """The course notebook with QUICK = True in its parameters cell and a last cell printing the kernel's Python;
    and the first line of its committed # NBVAL_CHECK_OUTPUT output (a known result to find on the page)."""
    nb = nbformat.read(str(src), as_version=4)
    params = next(c for c in nb.cells if c.cell_type == "code" and "parameters" in c.metadata.get("tags", []))
    assert "QUICK = False" in params.source
    params.source = params.source.replace("QUICK = False", "QUICK = True", 1)
    checked = next(c for c in nb.cells if c.cell_type == "code" and "# NBVAL_CHECK_OUTPUT" in c.source)
    known = "".join(o.get("text", "") for o in checked.outputs).splitlines()[1].strip()
    nb.cells.append(nbformat.v4.new_code_cell(f"import sys\nprint('{MARK}', 'kernel python:', sys.executable)"))
    return nb, known


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """(base url, token, root folder) of a JupyterLab server from this venv, stopped afterwards."""
    why = _requirements()
    if why:
        pytest.skip(f"browser test skipped: {why}")
    root = tmp_path_factory.mktemp("lab")
    quick, known = _quick_copy(ROOT / "notebooks" / COURSE_NB)
    nbformat.write(quick, str(root / f"quick_{COURSE_NB}"))
    (root / "known.txt").write_text(known, encoding="utf-8")
    shutil.copy(ROOT / "notebooks" / GLOSSARY_NB, root / GLOSSARY_NB)
    port, token = _free_port(), secrets.token_hex(16)
    jupyter = Path(sys.executable).parent / "jupyter"
    cmd = [str(jupyter), "lab", "--no-browser", "--ip=127.0.0.1", f"--port={port}",
           f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root}",
           "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"]
    if os.geteuid() == 0:
        cmd.append("--allow-root")
    news = root / ".lab-settings" / "@jupyterlab" / "apputils-extension" / "notification.jupyterlab-settings"
    news.parent.mkdir(parents=True)
    news.write_text('{"fetchNews": "false"}')  # no "official Jupyter news?" toast over the screenshots
    tracker = root / ".lab-settings" / "@jupyterlab" / "notebook-extension" / "tracker.jupyterlab-settings"
    tracker.parent.mkdir(parents=True)
    tracker.write_text('{"windowingMode": "none"}')  # render every cell, so the glossary at the end is there
    env = {**os.environ,  # no stray user settings or workspaces: a fresh lab
           "JUPYTER_CONFIG_DIR": str(root / ".jupyter"),
           "JUPYTERLAB_SETTINGS_DIR": str(root / ".lab-settings"),
           "JUPYTERLAB_WORKSPACES_DIR": str(root / ".lab-workspaces")}
    log = open(root / "jupyter.log", "w")
    proc = subprocess.Popen(cmd, cwd=root, stdout=log, stderr=subprocess.STDOUT, env=env)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                with urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=5) as r:
                    json.load(r)
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"jupyter lab did not start: {(root / 'jupyter.log').read_text()[-3000:]}")
                time.sleep(0.5)
        yield base, token, root
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


@pytest.fixture(scope="module")
def browser(lab):
    """A headless Chromium (fresh profile)."""
    from playwright.sync_api import sync_playwright
    with sync_playwright() as p:
        context = p.chromium.launch_persistent_context(
            str(lab[2] / ".chromium-profile"), executable_path=str(CHROMIUM), headless=True,
            args=CHROMIUM_ARGS, viewport={"width": 1280, "height": 900})
        try:
            yield context
        finally:
            context.close()


@pytest.fixture
def page(browser):
    """A page of its own for each test (JupyterLab's workspace is reset when a notebook is opened)."""
    page = browser.new_page()
    yield page
    page.close()


def _open(page, lab, name):
    base, token, _ = lab
    page.goto(f"{base}/lab/tree/{name}?reset&token={token}", timeout=120_000)   # reset: only this notebook open
    page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=120_000)
    # the kernel starts without the user picking one: the status bar reads "<kernel> | Idle", no dialog
    try:
        page.wait_for_function("() => /\\| Idle/.test(document.querySelector('.jp-StatusBar-Widget')?.innerText"
                               " || '')", timeout=180_000)
    except Exception:
        _shot(page, "failure-kernel")
        raise
    assert page.locator(".jp-Dialog").count() == 0, \
        f"JupyterLab asked for a kernel: {page.locator('.jp-Dialog').inner_text()[:300]!r}"


def _shot(page, name):
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def _run_all(page):
    page.locator(".lm-MenuBar-itemLabel", has_text="Run").first.click()
    item = page.locator(".lm-Menu-item", has=page.locator(".lm-Menu-itemLabel", has_text="Run All Cells")).first
    item.wait_for(timeout=30_000)
    assert "lm-mod-disabled" not in (item.get_attribute("class") or ""), "Run > Run All Cells is disabled"
    item.click()


def test_a_notebook_runs_in_jupyterlab_with_the_course_kernel(lab, page):
    _open(page, lab, f"quick_{COURSE_NB}")
    kernel = page.locator(".jp-Toolbar-kernelName").first.inner_text()
    _run_all(page)
    out = page.locator(".jp-OutputArea-output", has_text=MARK)   # the last cell: Run All stops at an error
    img = page.locator(".jp-OutputArea-output img")
    try:
        out.wait_for(timeout=420_000)
    except Exception:
        _shot(page, "failure-run-all")
        errors = page.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']")
        raise AssertionError(f"{COURSE_NB} did not run to its last cell in JupyterLab; stderr outputs: "
                             f"{[errors.nth(i).inner_text()[-500:] for i in range(min(errors.count(), 3))]}")
    out.first.scroll_into_view_if_needed()
    _shot(page, "run_all_end")
    img.nth(min(2, img.count() - 1)).evaluate("e => e.scrollIntoView({block: 'center'})")   # a figure in view
    _shot(page, "run_all")
    known = (lab[2] / "known.txt").read_text(encoding="utf-8")
    assert page.locator(".jp-OutputArea-output", has_text=known).count() == 1, \
        f"the checked output {known!r} of {COURSE_NB} is not on the page"
    assert img.count() >= 4, f"{img.count()} figures drawn, expected at least 4"
    text = out.first.inner_text()
    assert str(Path(sys.executable).parent) in text, \
        f"the notebook ran on another Python than the course's venv ({sys.executable}): {text!r}"
    assert "Python 3" in kernel, f"kernel shown: {kernel!r}"
    box = img.first.bounding_box()
    assert box and box["width"] > 100 and box["height"] > 100, f"the figure is not drawn: {box}"
    assert page.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']",
                        has_text="Traceback").count() == 0


def _renders_cjk(page) -> bool:
    """True when Chromium draws 梯度 with a font (its pixels differ from the missing-glyph boxes)."""
    return page.evaluate("""() => {
        const draw = (s) => { const c = document.createElement('canvas'); c.width = 120; c.height = 40;
            const g = c.getContext('2d'); g.font = '28px sans-serif'; g.fillText(s, 4, 30);
            return Array.from(g.getImageData(0, 0, 120, 40).data).join(','); };
        return draw('梯度') !== draw('\\u0378\\u0379');  // two unassigned code points: boxes
    }""")


def test_the_glossary_chinese_renders(lab, page):
    fonts = subprocess.run(["fc-list", ":lang=zh"], capture_output=True, text=True).stdout \
        if shutil.which("fc-list") else ""
    if not fonts.strip():
        pytest.skip("glossary check skipped: no CJK font installed (fc-list :lang=zh lists none); "
                    "apt-get install fonts-noto-cjk (.ci/run does it as root)")
    _open(page, lab, GLOSSARY_NB)
    glossary = page.locator(".jp-MarkdownCell", has=page.locator("h2", has_text="Glossary"))
    try:
        glossary.first.wait_for(state="attached", timeout=120_000)
    except Exception:
        _shot(page, "failure-glossary")
        raise
    assert glossary.count() == 1, f"{glossary.count()} glossary cells"
    cell = glossary.first
    cell.scroll_into_view_if_needed(timeout=60_000)
    cell.locator("table").wait_for(timeout=60_000)
    SHOTS.mkdir(parents=True, exist_ok=True)
    cell.screenshot(path=str(SHOTS / "glossary.png"))
    assert any("\u4e00" <= ch <= "\u9fff" for ch in cell.inner_text()), "the glossary has no Chinese"
    assert _renders_cjk(page), ("Chinese renders as boxes: no CJK font (apt-get install fonts-noto-cjk); "
                                f"fc-list :lang=zh says {fonts.strip()[:200]!r}")
