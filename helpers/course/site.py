"""The course website, built offline from executed notebooks: Sphinx + MyST-NB + sphinx-book-theme.

    python -m helpers.course.site                 # build/site/ from `make run`'s notebooks, else `make quick`'s
    python -m helpers.course.site --executed build/executed-quick --out /tmp/site

One page per notebook with its outputs and figures (nothing is executed), a home page (the notebook
map, the two commands, teaching with the course), the glossaries (English and Chinese) and the run
report with each result beside its target. MathJax comes from the sphinx-mathjax-offline package,
trimmed to what TeX in HTML needs; no page loads anything from outside the site.
"""
from __future__ import annotations

import argparse
import base64
import functools
import html
import importlib.util
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat

from .pages import EDITIONS, failure, page, run_date
from .report import annotate, fmt
from .run import ROOT, list_notebooks

BUILD = ROOT / "build"
MATHJAX_PARTS = ("tex-chtml.js", "input/tex/extensions", "output/chtml/fonts/woff-v2", "ui", "a11y/assistive-mml.js")
FIGURES_PER_NOTEBOOK = 6
VERDICTS = {"met": ("✔", "met"), "missed": ("✘", "missed"), "not applicable in quick mode": ("–", "na"),
            "not recorded": ("?", "unrecorded")}     # mark and CSS class of each verdict on the report page
CSS = """.verdict { font-weight: 600; white-space: nowrap; }
.verdict-met { color: #1a7f37; } .verdict-missed { color: #c62828; }
.verdict-na { color: #6e7781; font-weight: 400; } .verdict-unrecorded { color: #b26a00; }
.verdict-failed { color: #c62828; } .verdict-ok { color: #1a7f37; }
"""
SEARCH_JS = r"""// Search previews are cut from each page's HTML, where a formula is still its TeX source between \( and \)
// or \[ and \]: a formula with TeX commands reads [formula], a plain one (x_t) loses its delimiters.
document.addEventListener("DOMContentLoaded", () => {
  if (typeof Search === "undefined" || !Search.htmlToText) return;
  const toText = Search.htmlToText;
  const plain = (_, tex) => (tex.includes("\\") ? "[formula]" : tex.trim());
  Search.htmlToText = (html, anchor) => toText(html, anchor)
    .replace(/\\\(([\s\S]*?)\\\)/g, plain).replace(/\\\[([\s\S]*?)\\\]/g, plain);
});
"""
CONF = '''\
project = "Deep learning for industry"
html_title = "Deep learning for industry"
extensions = ["myst_nb", "sphinx.ext.githubpages"]   # githubpages: a .nojekyll file
html_theme = "sphinx_book_theme"
html_theme_options = {{"show_toc_level": 2, "use_download_button": False, "use_fullscreen_button": False}}
html_static_path = ["_static"]
html_css_files = ["course.css"]
html_js_files = ["search-math.js"]
author = "the Deep learning for industry course"
mathjax_path = "mathjax/tex-chtml.js"
myst_enable_extensions = ["dollarmath", "amsmath"]
myst_heading_anchors = 3
nb_execution_mode = "off"
nb_render_markdown_format = "gfm"      # Markdown printed by a cell keeps its tables
nb_output_stderr = "remove"
nb_ipywidgets_js = {{}}
language = "en"
exclude_patterns = ["_build"]
suppress_warnings = ["myst.header", "misc.highlighting_failure", "myst.xref_missing", "mystnb.unknown_mime_type"]
html_last_updated_fmt = None
html_copy_source = False
html_show_sourcelink = False
'''


def mathjax_source() -> Path:
    """The MathJax 3 folder that the sphinx-mathjax-offline package ships."""
    spec = importlib.util.find_spec("sphinx-mathjax-offline")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("the course website needs MathJax from PyPI: pip install sphinx-mathjax-offline "
                         "(make setup installs it)")
    return Path(next(iter(spec.submodule_search_locations))) / "static" / "mathjax"


def copy_mathjax(dest: Path) -> int:
    """Copy the parts of MathJax that TeX-in-HTML pages load (no speech rule engine); returns the bytes copied."""
    src = mathjax_source()
    for part in MATHJAX_PARTS:
        s, d = src / part, dest / part
        d.parent.mkdir(parents=True, exist_ok=True)
        shutil.copytree(s, d, dirs_exist_ok=True) if s.is_dir() else shutil.copy2(s, d)
    return sum(f.stat().st_size for f in dest.rglob("*") if f.is_file())


def section(markdown: str, title: str) -> str:
    """The body of the `## title` section of a Markdown text (up to the next `## `)."""
    m = re.search(rf"^## {re.escape(title)}\n(.*?)(?=^## |\Z)", markdown, flags=re.M | re.S)
    return m.group(1).strip() if m else ""


def link_notebooks(markdown: str, names: list[str], titles: dict | None = None) -> str:
    """README text for the site: `NN_name` becomes a link to its page, named by its title; links to repository
    files lose their target."""
    markdown = re.sub(r"\[([^\]]+)\]\((?!https?:)[^)]+\)", r"\1", markdown)
    for name in names:
        label = (titles or {}).get(name, name).replace("|", "-")
        markdown = markdown.replace(f"`{name}`", f"[{label}](notebooks/{name}.ipynb)")
    return markdown


def home_page(names: list[str], titles: dict | None = None) -> str:
    """index.md: what the course is, the notebook map, the reference pages, the commands, teaching with it, and the
    table of contents. titles: {name: the notebook's title} for the links (default: the names)."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    intro = readme.split("\n## ", 1)[0].split("\n", 1)[1].strip()
    toc = "\n".join(f"notebooks/{n}" for n in names)
    link = functools.partial(link_notebooks, names=names, titles=titles)
    return (f"# Deep learning for industry\n\n{intro}\n\n## The notebooks\n\n"
            f"{link(section(readme, 'The notebooks'))}\n\n"
            "## Reference\n\n- [Glossary 术语表](glossary.md): the key terms of every lesson in English and Chinese.\n"
            "- [Run report](report.md): the run these pages come from, each result beside its target.\n\n"
            f"## Two commands\n\n{link(section(readme, 'Two commands'))}\n\n"
            f"## Teaching with the course\n\n{link(section(readme, 'Teaching with the course'))}\n\n"
            f"```{{toctree}}\n:caption: Lessons\n:maxdepth: 1\n:hidden:\n\n{toc}\n```\n\n"
            "```{toctree}\n:caption: Reference\n:maxdepth: 1\n:hidden:\n\nglossary\nreport\n```\n")


def title_of(doc) -> str:
    """The notebook's first Markdown heading."""
    for cell in doc.cells:
        m = re.search(r"^#\s+(.+)$", cell.source, flags=re.M) if cell.cell_type == "markdown" else None
        if m:
            return m.group(1).strip()
    return "untitled"


def glossary_page(docs: dict) -> str:
    """glossary.md: every notebook's English-Chinese glossary table under the notebook's title."""
    parts = ["# Glossary 术语表\n\nThe key terms of each lesson in English and Chinese.\n"]
    for name, doc in docs.items():
        cell = next((c for c in doc.cells if c.cell_type == "markdown" and c.source.startswith("## Glossary")), None)
        if cell is not None:
            table = cell.source.split("\n", 1)[1].strip()
            parts.append(f"## {title_of(doc)}\n\n[{name}](notebooks/{name}.ipynb)\n\n{table}\n")
    return "\n".join(parts)


def figures(doc, folder: Path, name: str) -> list[str]:
    """Write the notebook's first PNG figures into folder; return their file names."""
    found = []
    for cell in doc.cells:
        for out in cell.get("outputs", []):
            png = out.get("data", {}).get("image/png")
            if png and len(found) < FIGURES_PER_NOTEBOOK:
                f = folder / f"{name}-{len(found) + 1}.png"
                f.write_bytes(base64.b64decode(png))
                found.append(f.name)
    return found


def mark(sign_class: tuple, words: str) -> str:
    """A verdict as the report shows it: its sign and words in its colour."""
    sign, cls = sign_class
    return f'<span class="verdict verdict-{cls}">{sign} {html.escape(words)}</span>'


def result_cell(t: dict) -> str:
    """'0.912 (target >= 0.9)' for one verdict."""
    got = "not recorded" if t["got"] is None else fmt(t["got"])
    return f"{got} (target {t['op']} {fmt(t['value'])})"


def targets_cell(goals: list[dict], met: int, judged: int) -> str:
    """The summary's count of targets met, in words where there is nothing to count."""
    if not goals:
        return "no targets"
    if not judged:
        return mark(VERDICTS["not applicable in quick mode"], "full mode only")
    return mark(VERDICTS["met" if met == judged else "missed"], f"{met} of {judged} met")


def report_page(rows: list[dict], meta: dict, docs: dict, folder: Path) -> str:
    """report.md: the run at a glance, then each notebook's targets, results and figures."""
    mode = meta.get("mode", "quick")
    when = run_date(meta) or "date not recorded"
    head = (f"# Run report\n\n{when} · **{mode} mode** · {meta.get('passed', '?')}/"
            f"{meta.get('total', len(rows))} notebooks passed in {meta.get('wall_s', '?')} s · "
            f"{meta.get('machine', '')} · CPU kind `{meta.get('cpu_kind', '?')}`\n\n")
    if mode == "quick":
        head += ("Quick mode shrinks every size: a full-mode target reads *not applicable*; `make run` "
                 "then `make site` shows the full run.\n\n")
    summary = ["| notebook | status | s | device | precision | targets |", "|---|---|---:|---|---|---|"]
    sections = []
    for r in rows:
        name, goals = r["notebook"], r.get("targets", [])
        met = sum(t["status"] == "met" for t in goals)
        judged = sum(t["status"] in ("met", "missed") for t in goals)
        res = r.get("results", {})
        status = mark(("✔", "ok") if r["status"] == "ok" else ("✘", "failed"), r["status"])
        summary.append(f"| [{name[:2]} {name[3:].replace('_', ' ')}](notebooks/{name}.ipynb) | {status} | "
                       f"{r.get('duration_s', '')} | {r.get('device', '')} | {res.get('precision', 'fp32')} | "
                       f"{targets_cell(goals, met, judged)} |")
        title = title_of(docs[name]) if name in docs else name
        lines = [f"## {title}\n", f"[the executed notebook](notebooks/{name}.ipynb) · {r.get('duration_s', '')} s · "
                 f"{r.get('device', '')} · {res.get('precision', 'fp32')} · "
                 f"CPU `{res.get('cpu_kind', meta.get('cpu_kind', '?'))}`\n"]
        if r.get("error"):
            what = failure(docs[name], r) if name in docs else r["error"]
            lines.append(f"**This notebook stopped with an error:** {what}\n\n```text\n{r['error'][:1500]}\n```\n")
        if goals:
            lines += ["| target | result | verdict |", "|---|---|---|"]
            lines += [f"| {t['text']} (`{t['result']}`) | {result_cell(t)} | {mark(VERDICTS[t['status']], t['status'])} |"
                      for t in goals]
            lines.append("")
        cells = "".join(f"<tr><td><code>{html.escape(k)}</code></td><td>{html.escape(fmt(v))}</td></tr>"
                        for k, v in res.items())
        lines.append(f"<details><summary>all {len(res)} recorded results</summary><table>{cells}</table></details>\n")
        figs = figures(docs[name], folder, name) if name in docs else []
        if figs:
            lines.append('\n<div style="display:flex;flex-wrap:wrap;gap:8px">' + "".join(
                f'<a href="notebooks/{name}.html"><img src="_static/report/{f}" alt="{name} figure" '
                f'style="width:170px;height:120px;object-fit:contain;border:1px solid #ddd"></a>' for f in figs)
                + "</div>")
        sections.append("\n".join(lines) + "\n")
    return head + "\n".join(summary) + "\n\n" + "\n".join(sections)


def build_site(executed: list[Path], rows: list[dict], meta: dict, out: Path, work: Path | None = None,
               edition: str = "class") -> Path:
    """Stage the notebooks' pages (helpers.course.pages), home, glossary and report in `work`, build HTML into `out`;
    returns index.html. edition: "class" (the student edition's exercises) or "instructor" (with solutions)."""
    work = work or out.parent / (out.name + "-src")
    shutil.rmtree(work, ignore_errors=True)
    (work / "notebooks").mkdir(parents=True)
    docs, by_name = {}, {r["notebook"]: r for r in rows}
    for path in executed:
        doc = nbformat.read(str(path), as_version=4)
        docs[path.stem] = doc
        shown = page(doc, meta, by_name.get(path.stem, {}), edition)
        nbformat.write(shown, str(work / "notebooks" / path.name))
    (work / "_static" / "report").mkdir(parents=True)
    (work / "_static" / "course.css").write_text(CSS, encoding="utf-8")
    (work / "_static" / "search-math.js").write_text(SEARCH_JS, encoding="utf-8")
    copy_mathjax(work / "_static" / "mathjax")
    (work / "conf.py").write_text(CONF.format(), encoding="utf-8")
    (work / "index.md").write_text(home_page(list(docs), {n: title_of(d) for n, d in docs.items()}), encoding="utf-8")
    (work / "glossary.md").write_text(glossary_page(docs), encoding="utf-8")
    annotate(rows, meta.get("mode", "quick"))
    (work / "report.md").write_text(report_page(rows, meta, docs, work / "_static" / "report"), encoding="utf-8")
    tmp = out.with_name(out.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    proc = subprocess.run([sys.executable, "-m", "sphinx", "-b", "html", "-q", "-j", "1", str(work), str(tmp)],
                          capture_output=True, text=True)
    if proc.returncode:
        raise RuntimeError(f"sphinx-build failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    shutil.rmtree(out, ignore_errors=True)
    tmp.rename(out)                                      # the old site stays until the new one is whole
    return out / "index.html"


def from_build(build: Path = BUILD) -> tuple[list[Path], list[dict], dict]:
    """The notebooks and report rows of the last `make run` (full) or, without one, `make quick`."""
    for folder in ("executed", "executed-quick"):
        nbs = [build / folder / p.name for p in list_notebooks() if (build / folder / p.name).exists()]
        if nbs:
            break
    else:
        raise SystemExit(f"no executed notebooks in {build}/executed or {build}/executed-quick: "
                         "run `make quick` (minutes) or `make run` (full mode) first")
    report = build / "report.json"
    data = json.loads(report.read_text()) if report.exists() else {"meta": {}, "notebooks": []}
    mode = "full" if folder == "executed" else "quick"
    rows = [r for r in data["notebooks"] if data["meta"].get("mode") == mode]
    have = {r["notebook"] for r in rows}
    rows += [{"notebook": p.stem, "status": "ok", "results": {}} for p in nbs if p.stem not in have]
    meta = data["meta"] if data["meta"].get("mode") == mode else {"mode": mode}
    return nbs, rows, meta


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m helpers.course.site", description=__doc__.splitlines()[0])
    p.add_argument("--out", type=Path, default=BUILD / "site", help="the site's folder (default build/site)")
    p.add_argument("--build", type=Path, default=BUILD, help="where make run / make quick wrote (default build/)")
    p.add_argument("--edition", choices=EDITIONS, default="class",
                   help="class: exercises as the student edition (default); instructor: with their solutions")
    a = p.parse_args(argv)
    nbs, rows, meta = from_build(a.build)
    index = build_site(nbs, rows, meta, a.out, edition=a.edition)
    print(f"site of {len(nbs)} notebooks ({meta.get('mode')} mode, {a.edition} edition): {index}")
    if meta.get("mode") != "full":
        print("these are quick-mode outputs (each page says so); the site to publish is the one after `make run`")
    print(f"view it: python -m http.server -d {a.out} 8000  (then http://127.0.0.1:8000)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
