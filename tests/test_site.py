"""The course website (helpers.course.site) and the report's targets (helpers.course.report).

The browser test builds the site from this test session's own quick-mode runs (tests/site_run.py: no
second execution), serves it on 127.0.0.1 and opens every page in Debian's Chromium: each notebook has
a page whose figures load, a formula is typeset, search finds a lesson's word and a Chinese one, the
Chinese glossary is drawn with a font, no request leaves localhost and no internal link is broken.
Screenshots: build/site-shots/. The site itself stays in build/test-site/.
"""
import datetime
import functools
import http.server
import json
import os
import threading
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
import site_run  # noqa: E402  (tests/site_run.py)

from helpers.course import report, site
from helpers.course.run import list_notebooks, machine_line

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = Path(os.environ.get("DLC_CHROMIUM", "/usr/bin/chromium"))
SHOTS = ROOT / "build" / "site-shots"
WAIT_S = 45 * 60               # the longest the site test waits for the notebooks of this session


def test_every_target_names_a_notebook_and_a_comparison():
    targets = report.load_targets()
    stems = {p.stem[:2] for p in list_notebooks()}
    assert len(targets) >= 12 and {t["notebook"] for t in targets} <= stems
    assert all(t["op"] in (">=", "<=") and isinstance(t["value"], (int, float)) for t in targets)


def test_a_target_is_met_missed_not_applicable_or_not_recorded():
    t = {"notebook": "08", "result": "f1/mean", "op": ">=", "value": 0.9, "text": "F1", "full_only": True}
    row = {"notebook": "08_x", "duration_s": 5.0, "results": {"f1": {"mean": 0.912}}}
    assert report.judge(t, row, "full")["status"] == "met"
    assert report.judge({**t, "value": 0.95}, row, "full")["status"] == "missed"
    assert report.judge(t, row, "quick")["status"] == "not applicable in quick mode"
    assert report.judge({**t, "result": "f1/median"}, row, "full")["status"] == "not recorded"
    assert report.judge({**t, "result": "duration_s", "op": "<=", "value": 900}, row, "full")["status"] == "met"
    assert report.target_line(report.judge(t, row, "full")) == "0.912 >= 0.9: met"


def test_results_are_shown_with_sensible_digits():
    assert report.fmt(0.896123456) == "0.8961" and report.fmt(2.7755575615628914e-17) == "2.78e-17"
    assert report.fmt(122570) == "122,570" and report.fmt(True) == "True"
    assert report.fmt([0.123456, 2.0, 3]) == "[0.123, 2, 3]"
    assert report.fmt({"a": 1.23456}) == "{a: 1.23}"


def test_a_bad_target_file_is_refused_with_what_is_wrong(tmp_path):
    f = tmp_path / "targets.toml"
    f.write_text('[[target]]\nnotebook = "01"\nresult = "x"\nop = "=="\nvalue = 1\ntext = "t"\n')
    with pytest.raises(ValueError, match="op other than"):
        report.load_targets(f)


def test_the_home_page_links_every_notebook_and_keeps_no_repository_links():
    names = [p.stem for p in list_notebooks()]
    home = site.home_page(names)
    assert all(f"](notebooks/{n}.ipynb)" in home for n in names)
    assert "make test" in home and "nbgrader" in home
    assert "](notebooks/AUTHORING.md)" not in home
    assert "](report.md)" in home and "](glossary.md)" in home            # the reference pages, from the body
    titled = site.home_page(names, {n: f"{n[:2]} · Title {n[:2]}" for n in names})
    assert all(f"[{n[:2]} · Title {n[:2]}](notebooks/{n}.ipynb)" in titled for n in names)


# ---------------------------------------------------------------- the site of this session's quick run

def _wait_for_the_run(folder: Path, expected: set) -> list[dict]:
    """The rows of this session's native notebook runs, once every expected one has finished."""
    deadline = time.monotonic() + WAIT_S
    while True:
        done = {p.stem for p in folder.glob("*.json")}
        if expected <= done:
            return [json.loads((folder / f"{n}.json").read_text()) for n in sorted(expected)]
        if time.monotonic() > deadline:
            pytest.fail(f"notebook runs never finished: {sorted(expected - done)}")
        time.sleep(2)


@pytest.fixture(scope="module")
def built(request, tmp_path_factory):
    """(site folder, notebook names) built from this session's quick-mode notebook runs."""
    expected = {item.callspec.params["nb"].stem for item in request.session.items
                if getattr(item, "originalname", "") == "test_notebook_runs_and_teaches"
                and item.callspec.params.get("kind") == "native"}
    if not expected:
        pytest.skip("no notebook runs in this session (run the whole suite: make test)")
    folder = site_run.shared_folder(tmp_path_factory)
    rows = _wait_for_the_run(folder, expected)
    nbs = [folder / f"{r['notebook']}.ipynb" for r in rows if (folder / f"{r['notebook']}.ipynb").exists()]
    meta = {"mode": "quick", "finished": datetime.datetime.now().isoformat(timespec="seconds"),
            "passed": sum(r["status"] == "ok" for r in rows), "wall_s": round(sum(r.get("duration_s") or 0 for r in rows), 1),
            "total": len(rows), "machine": machine_line(), "cpu_kind": _cpu_kind()}
    out = ROOT / "build" / "test-site"
    t0 = time.perf_counter()
    site.build_site(nbs, rows, meta, out, tmp_path_factory.mktemp("site-src"))
    print(f"site of {len(nbs)} notebooks built in {time.perf_counter() - t0:.1f} s")
    return out, sorted(expected)


def _cpu_kind() -> str:
    from helpers.device import cpu_kind
    return cpu_kind()


@pytest.fixture(scope="module")
def served(built):
    """The base URL of the built site on 127.0.0.1 (search previews need http, not file://)."""
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            """No line per request."""

    class Server(http.server.ThreadingHTTPServer):
        def handle_error(self, request, client_address):
            """A browser that drops a connection early (a preload it no longer needs) is not a site error."""

    server = Server(("127.0.0.1", 0), functools.partial(Quiet, directory=str(built[0])))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", built[1]
    finally:
        server.shutdown()


@pytest.fixture(scope="module")
def chromium(served):
    """A headless Chromium page that records every request it makes."""
    if not CHROMIUM.exists():
        pytest.skip(f"site browser test skipped: {CHROMIUM} not found: apt-get install chromium fonts-noto-cjk")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("site browser test skipped: playwright is not installed (make setup)")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                    args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                                          "--disable-component-update", "--no-first-run"])
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        requests = []
        page.on("request", lambda r: requests.append(r.url))
        try:
            yield page, requests
        finally:
            browser.close()


def _shot(page, name):
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"))


@pytest.mark.notebook
@pytest.mark.xdist_group("site")
def test_the_site_in_a_browser(served, chromium):
    base, names = served
    page, requests = chromium
    links = set()

    def visit(path):
        resp = page.goto(f"{base}/{path}", wait_until="load")
        assert resp and resp.status == 200, f"{path}: HTTP {resp and resp.status}"
        links.update(page.eval_on_selector_all("a[href]", "els => els.map(e => e.href)"))

    visit("index.html")
    _shot(page, "home")
    body = page.locator("article")                       # the home page links the reference pages, lessons by title
    assert body.locator("a[href='report.html']").count() and body.locator("a[href='glossary.html']").count()
    lesson_links = body.locator("a[href^='notebooks/']").all_inner_texts()
    assert any(t.startswith("01 · ") for t in lesson_links) and not any(t.startswith("01_") for t in lesson_links)
    footer = page.inner_text("footer.bd-footer-content")
    assert "Author name not set" not in footer and "Deep learning for industry course" in footer, footer
    for name in names:                                   # a page per notebook, its figures loaded
        visit(f"notebooks/{name}.html")
        broken = page.eval_on_selector_all("img", "els => els.filter(e => !(e.complete && e.naturalWidth > 0))"
                                                  ".map(e => e.src)")
        assert not broken, f"{name}: figures that did not load: {broken[:3]}"
        banner = page.locator(".run-banner")                # which run the outputs come from
        assert banner.count() == 1 and "quick-mode run" in banner.inner_text(), name
        html_text = page.content()
        assert "pytest-of" not in html_text, f"{name}: a temporary path on the page"
        outputs = " ".join(page.locator(".cell_output").all_inner_texts())
        assert "recorded " not in outputs, f"{name}: record boxes on the page"
        assert "BEGIN SOLUTION" not in html_text and "Model answer" not in html_text, f"{name}: a solution shown"
        split = page.evaluate("""() => Array.from(document.querySelectorAll('.cell_output')).filter(o => {
            const kids = Array.from(o.children).map(c => c.className.includes('stream') ? c.className : '');
            return kids.some((k, i) => k && k === kids[i - 1]); }).length""")
        assert split == 0, f"{name}: {split} cells print in several boxes"
    visit("notebooks/05_cnns_on_cifar10.html")           # Markdown tables printed by a cell are tables
    assert page.locator(".cell_output table").count() >= 2
    visit("notebooks/01_backpropagation_by_hand.html")
    page.wait_for_selector("mjx-container", timeout=30_000)  # MathJax typeset a formula
    assert page.locator("mjx-container").count() > 5
    assert page.eval_on_selector_all("img", "els => els.length") >= 2
    _shot(page, "lesson")
    visit("report.html")
    verdicts = page.locator("td span.verdict").evaluate_all("els => els.map(e => [e.className, e.innerText])")
    mine = [t for t in report.load_targets() if any(n.startswith(t["notebook"] + "_") for n in names)]
    per_target = [v for v in verdicts if v[1].endswith(("met", "missed", "not applicable in quick mode", "not recorded"))
                  and " of " not in v[1]]
    assert len(per_target) == len(mine), f"{len(per_target)} verdicts on the report page for {len(mine)} targets"
    assert {c for c, _ in per_target} <= {"verdict verdict-met", "verdict verdict-na"}, per_target  # quick mode
    assert {t for _, t in per_target} <= {"✔ met", "– not applicable in quick mode"}, per_target
    colours = {page.locator(f"span.verdict-{k}").first.evaluate("e => getComputedStyle(e).color")
               for k in ("met", "na") if page.locator(f"span.verdict-{k}").count()}
    assert len(colours) == len({c for c, _ in per_target}), colours     # each verdict its own colour
    text = page.inner_text("article")
    assert "0/0" not in text and "this test session" not in text and "the test machine" not in text
    assert "(target " in text
    _shot(page, "report")
    visit("glossary.html")
    text = page.inner_text("article")
    assert "术语" in text and "梯度" in text
    assert page.evaluate("""() => {
        const draw = (s) => { const c = document.createElement('canvas'); c.width = 120; c.height = 40;
            const g = c.getContext('2d'); g.font = '28px sans-serif'; g.fillText(s, 4, 30);
            return Array.from(g.getImageData(0, 0, 120, 40).data).join(','); };
        return draw('梯度') !== draw('\\u0378\\u0379'); }"""), "Chinese is drawn as boxes: apt-get install fonts-noto-cjk"
    _shot(page, "glossary")
    for word in ("backpropagation", "梯度", "softmax"):   # search finds a lesson's word and a Chinese one
        page.goto(f"{base}/search.html?q={urllib.parse.quote(word)}", wait_until="load")
        page.wait_for_selector("#search-results ul li", timeout=30_000)
        assert page.locator("#search-results ul li").count() >= 1, f"search found nothing for {word!r}"
    page.wait_for_function("document.querySelectorAll('#search-results p.context').length > 0", timeout=30_000)
    page.wait_for_timeout(1000)
    snippets = page.locator("#search-results p.context").all_inner_texts()
    assert snippets and not [s for s in snippets if "\\" in s], f"TeX in search previews: {snippets[:2]}"
    outside = [u for u in requests if not u.startswith(base) and not u.startswith(("data:", "blob:"))]
    assert not outside, f"requests left the site: {sorted(set(outside))[:5]}"
    internal = {u.split("#")[0] for u in links if u.startswith(base)}
    dead = []
    for url in sorted(internal):
        try:
            urllib.request.urlopen(url, timeout=10).close()
        except OSError as e:
            dead.append(f"{url}: {e}")
    assert not dead, f"broken internal links: {dead[:5]}"


# ---------------------------------------------------------------- what a page shows (helpers.course.pages)

def _executed_notebook():
    """A small executed instructor-edition notebook: title, injected parameters, records and prints, an exercise."""
    import nbformat
    from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output
    from helpers.record import MIME
    nb = new_notebook(cells=[
        new_markdown_cell("# 99 · A lesson\n\nWhat it teaches."),
        new_code_cell("MODEL_DIR = '/tmp/pytest-of-me/pytest-1/models'", metadata={"tags": ["injected-parameters"]}),
        new_code_cell("print('a'); print('b'); record('x', 1)", outputs=[
            new_output("stream", name="stdout", text="epoch 1\n"), new_output("stream", name="stdout", text="epoch 2\n"),
            new_output("display_data", data={MIME: {"name": "x", "value": 1}, "text/plain": "recorded x = 1"}),
            new_output("stream", name="stderr", text="a warning\n"), new_output("stream", name="stdout", text="done\n")]),
        new_markdown_cell("**Exercise 1.** Write f."),
        new_code_cell("def f():\n    ### BEGIN SOLUTION\n    return 42\n    ### END SOLUTION",
                      metadata={"nbgrader": {"grade": False, "grade_id": "ex1", "locked": False, "schema_version": 3,
                                             "solution": True, "task": False}}),
        new_code_cell("assert f() == 42\nprint('PASS')", outputs=[new_output("stream", name="stdout", text="PASS\n")],
                      metadata={"nbgrader": {"grade": True, "grade_id": "ex1-check", "locked": True, "points": 1,
                                             "schema_version": 3, "solution": False, "task": False}})])
    return nbformat.from_dict(nb)


def test_a_page_shows_the_lesson_not_the_runs_bookkeeping():
    from helpers.course import pages
    doc = _executed_notebook()
    shown = pages.page(doc, {"mode": "quick", "finished": "2026-12-07T01:02:03", "machine": "a laptop"},
                       {"status": "ok", "device": "cpu"}, edition="instructor")
    text = "\n".join(c.source for c in shown.cells)
    assert "injected-parameters" not in str(shown) and "/tmp/pytest" not in text
    outs = shown.cells[1].outputs                                    # the printing cell, after the parameters left
    assert [o.get("text") for o in outs] == ["epoch 1\nepoch 2\ndone\n"]   # the record left, the prints merged
    assert shown.cells[0].source.startswith("# 99 · A lesson\n") and "quick-mode run" in shown.cells[0].source
    assert "a laptop" in shown.cells[0].source and "2026-12-07 01:02" in shown.cells[0].source
    assert "return 42" in text                                       # the instructor edition keeps solutions
    assert doc.cells[2].outputs[2]["data"]                           # the executed notebook itself is untouched


def test_the_class_edition_hides_solutions_and_their_outputs():
    from helpers.course import pages
    shown = pages.page(_executed_notebook(), {"mode": "full"}, {"status": "ok"}, edition="class")
    text = "\n".join(c.source for c in shown.cells)
    assert "return 42" not in text and "BEGIN SOLUTION" not in text and "NotImplementedError" in text
    assert not shown.cells[-1].outputs                                # the checker's PASS of the solution is gone
    assert shown.cells[1].outputs                                     # the lesson's outputs before the exercises stay
    assert "full-mode run" in shown.cells[0].source
    with pytest.raises(ValueError, match="edition"):
        pages.page(_executed_notebook(), {}, {}, edition="teacher")


def test_a_failed_notebook_says_where_it_stopped():
    from nbformat.v4 import new_output
    from helpers.course import pages
    doc = _executed_notebook()
    doc.cells[2].outputs.append(new_output("error", ename="AssertionError", evalue="", traceback=[
        "\x1b[31mAssertionError\x1b[39m  Traceback (most recent call last)",
        "Cell \x1b[32mIn[3]\x1b[39m, line 2\n      1 x = 1\n\x1b[32m----> 2\x1b[39m assert x > 2\n"]))
    assert pages.failure(doc, {"error": "AssertionError: "}) == "AssertionError at `assert x > 2`"
    shown = pages.page(doc, {"mode": "quick"}, {"status": "failed", "error": "AssertionError: "}, "instructor")
    assert "stopped with an error" in shown.cells[0].source and "assert x > 2" in shown.cells[0].source


def test_the_report_page_marks_each_verdict_its_own_way(tmp_path):
    targets = [{"notebook": "98", "result": r, "op": ">=", "value": 0.9, "text": f"target {r}", "full_only": False}
               for r in ("a", "b", "c")]
    targets.append({"notebook": "98", "result": "d", "op": ">=", "value": 0.9, "text": "full only", "full_only": True})
    rows = [{"notebook": "98_lesson", "status": "ok", "results": {"a": 0.95, "b": 0.5, "d": 1.0}},
            {"notebook": "99_other", "status": "failed", "error": "AssertionError: ", "results": {}}]
    report.annotate(rows, "quick", targets)
    md = site.report_page(rows, {"mode": "quick", "finished": "2026-12-07T01:02:03"}, {}, tmp_path)
    for cls, words in [("met", "✔ met"), ("missed", "✘ missed"), ("unrecorded", "? not recorded"),
                       ("na", "– not applicable in quick mode")]:
        assert f'<span class="verdict verdict-{cls}">{words}</span>' in md
    assert "0.95 (target >= 0.9)" in md and "no targets" in md and "0/0" not in md
    assert "2026-12-07 01:02 · **quick mode**" in md and "stopped with an error" in md
    assert len({line for line in site.CSS.splitlines() if "color" in line}) >= 3
