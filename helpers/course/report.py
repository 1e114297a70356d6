"""The run report: each notebook's time, device, precision and CPU, and its results beside their targets.

The targets are notebooks/targets.toml (the results a full run should reach). A target is met,
missed, not applicable (quick mode's small sizes, for a full-mode target) or not recorded.
write_report() writes build/report.json (rows, meta and the verdicts) and a self-contained
build/report.html; the course website's report page is built from the same rows.
"""
from __future__ import annotations

import html
import json
import math
import os
from pathlib import Path

import tomllib

ROOT = Path(__file__).resolve().parents[2]
TARGETS = ROOT / "notebooks" / "targets.toml"
OPS = {">=": lambda a, b: a >= b, "<=": lambda a, b: a <= b}


def load_targets(path: Path = TARGETS) -> list[dict]:
    """The [[target]] tables of targets.toml, each checked for its fields."""
    targets = tomllib.loads(Path(path).read_text(encoding="utf-8")).get("target", [])
    for t in targets:
        missing = {"notebook", "result", "op", "value", "text"} - set(t)
        if missing or t["op"] not in OPS:
            raise ValueError(f"{path}: target {t} lacks {sorted(missing)} or has an op other than >= and <=")
    return targets


def lookup(row: dict, name: str):
    """The recorded value `name` ("a/b/c" walks into dicts; "duration_s" is the run time), or KeyError."""
    if name == "duration_s":
        return row["duration_s"]
    value = row.get("results", {})
    for key in name.split("/"):
        value = value[key]
    return value


def judge(target: dict, row: dict, mode: str) -> dict:
    """One target's verdict for a report row: met, missed, not applicable (quick mode) or not recorded."""
    out = {k: target[k] for k in ("result", "op", "value", "text")}
    try:
        value = lookup(row, target["result"])
    except (KeyError, TypeError):
        return {**out, "got": None, "status": "not recorded"}
    out["got"] = value
    if mode == "quick" and target.get("full_only"):
        return {**out, "status": "not applicable in quick mode"}
    ok = isinstance(value, (int, float)) and OPS[target["op"]](value, target["value"])
    return {**out, "status": "met" if ok else "missed"}


def annotate(rows: list[dict], mode: str, targets: list[dict] | None = None) -> list[dict]:
    """Add row["targets"] (the verdicts of its notebook's targets) to every row; returns the rows."""
    targets = load_targets() if targets is None else targets
    for row in rows:
        mine = [t for t in targets if row["notebook"].startswith(t["notebook"] + "_")]
        row["targets"] = [judge(t, row, mode) for t in mine]
    return rows


def fmt(value, digits: int = 4) -> str:
    """A result as a person reads it: 4 significant digits, small numbers in e-notation, lists shortened."""
    if isinstance(value, bool) or value is None:
        return str(value)
    if isinstance(value, int):
        return f"{value:,}" if abs(value) >= 10_000 else str(value)
    if isinstance(value, float):
        if value == 0 or not math.isfinite(value):
            return str(value)
        return f"{value:.2e}" if abs(value) < 1e-3 else f"{value:.{digits}g}"
    if isinstance(value, dict):
        items = [f"{k}: {fmt(v, 3)}" for k, v in list(value.items())[:8]]
        return "{" + ", ".join(items) + (", ..." if len(value) > 8 else "") + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(fmt(v, 3) for v in value[:6]) + (", ..." if len(value) > 6 else "") + "]"
    return str(value)[:200]


def target_line(t: dict) -> str:
    """'0.912 >= 0.9: met' for one verdict."""
    got = "not recorded" if t["got"] is None else fmt(t["got"])
    return f"{got} {t['op']} {fmt(t['value'])}: {t['status']}"


def write_report(rows: list[dict], meta: dict, build: Path) -> tuple[Path, Path]:
    """Write report.json and a small self-contained report.html into build/, results beside their targets."""
    build.mkdir(parents=True, exist_ok=True)
    annotate(rows, meta.get("mode", "full"))
    js = build / "report.json"
    js.write_text(json.dumps({"meta": meta, "notebooks": rows}, indent=2, ensure_ascii=False) + "\n")
    esc = html.escape
    body = []
    for r in rows:
        res = "".join(f"<li><code>{esc(k)}</code> = {esc(fmt(v))}</li>" for k, v in r.get("results", {}).items())
        goals = "".join(f"<li class='{t['status'].split()[0]}'>{esc(t['text'])}: {esc(target_line(t))}</li>"
                        for t in r.get("targets", []))
        err = f"<pre>{esc(r['error'])}</pre>" if r.get("error") else ""
        link = ""
        if r.get("log"):  # relative, so the report still links its logs when build/ is moved
            href = Path(os.path.relpath(r["log"], build)).as_posix()
            link = f"<a href='{esc(href, quote=True)}'>log</a>"
        body.append(f"<tr class='{r['status']}'><td>{esc(r['notebook'])}</td><td>{r['status']}</td>"
                    f"<td>{r.get('duration_s', '')}</td><td>{esc(str(r.get('device', '')))}</td>"
                    f"<td>{esc(str(r.get('results', {}).get('precision', '')))}</td><td>{link}</td>"
                    f"<td><ul>{goals}</ul></td><td><ul>{res}</ul>{err}</td></tr>")
    page = f"""<!doctype html><meta charset="utf-8"><title>Curriculum run report</title>
<style>body{{font-family:sans-serif;margin:2em}}table{{border-collapse:collapse}}
td,th{{border:1px solid #ccc;padding:4px 8px;vertical-align:top}}tr.failed{{background:#fdd}}
tr.ok td:nth-child(2){{color:green}}ul{{margin:0;padding-left:1.2em;font-size:90%}}
li.met{{color:green}}li.missed{{color:#b00}}</style>
<h1>Curriculum run report</h1>
<p>{esc(meta['finished'])} &middot; mode {esc(meta['mode'])} &middot; {meta['jobs']} job(s) &middot;
{meta['passed']}/{meta['total']} passed in {meta['wall_s']} s &middot; {esc(meta['machine'])} &middot;
CPU {esc(str(meta.get('cpu_kind', '')))}</p>
<table><tr><th>notebook</th><th>status</th><th>seconds</th><th>device</th><th>precision</th>
<th>kernel output</th><th>targets</th><th>recorded results</th></tr>
{''.join(body)}</table>
"""
    ht = build / "report.html"
    ht.write_text(page, encoding="utf-8")
    return js, ht
