"""The course website (helpers.course.site) and the report's targets (helpers.course.report).

The browser test builds the site from this test session's own quick-mode runs (tests/site_run.py: no
second execution), serves it on 127.0.0.1 and opens every page in Debian's Chromium: each notebook has
a page whose figures load, a formula is typeset, search finds a lesson's word and a Chinese one, the
Chinese glossary is drawn with a font, no request leaves localhost and no internal link is broken.
Screenshots: build/site-shots/. The site itself stays in build/test-site/.
"""
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
from helpers.course.run import list_notebooks

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
    meta = {"mode": "quick", "finished": "this test session", "passed": sum(r["status"] == "ok" for r in rows),
            "wall_s": round(sum(r.get("duration_s") or 0 for r in rows), 1),
            "total": len(rows), "machine": "the test machine", "cpu_kind": _cpu_kind()}
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
    for name in names:                                   # a page per notebook, its figures loaded
        visit(f"notebooks/{name}.html")
        broken = page.eval_on_selector_all("img", "els => els.filter(e => !(e.complete && e.naturalWidth > 0))"
                                                  ".map(e => e.src)")
        assert not broken, f"{name}: figures that did not load: {broken[:3]}"
    visit("notebooks/01_backpropagation_by_hand.html")
    page.wait_for_selector("mjx-container", timeout=30_000)  # MathJax typeset a formula
    assert page.locator("mjx-container").count() > 5
    assert page.eval_on_selector_all("img", "els => els.length") >= 2
    _shot(page, "lesson")
    visit("report.html")
    verdicts = page.locator("td strong").all_inner_texts()
    mine = [t for t in report.load_targets() if any(n.startswith(t["notebook"] + "_") for n in names)]
    assert len(verdicts) == len(mine), f"{len(verdicts)} verdicts on the report page for {len(mine)} targets"
    assert set(verdicts) <= {"met", "not applicable in quick mode"}, verdicts   # quick mode meets the rest
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
    for word in ("backpropagation", "梯度"):              # search finds a lesson's word and a Chinese one
        page.goto(f"{base}/search.html?q={urllib.parse.quote(word)}", wait_until="load")
        page.wait_for_selector("#search-results ul li", timeout=30_000)
        assert page.locator("#search-results ul li").count() >= 1, f"search found nothing for {word!r}"
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
