"""The evidence report as one self-contained HTML file.

Everything is inside the file: the styles, the data and plotly's JavaScript (inlined once), so it
opens offline, from an e-mail attachment or an archive, years later. Nothing is fetched from
anywhere. Figures are drawn from data reduced in DuckDB (see each figure's docstring).
"""

from __future__ import annotations

import html
from typing import TYPE_CHECKING, Any

from tracer.jsonvalues import encode_text
from tracer.report.evidence import to_json

if TYPE_CHECKING:
    import plotly.graph_objects as go

#: States shown in the table (all of them are in the JSON document).
MAX_STATE_ROWS = 500

_CSS = """
body{font:14px/1.45 system-ui,-apple-system,'Segoe UI',sans-serif;color:#1f2328;margin:0;
background:#f6f8fa}
main{max-width:1100px;margin:0 auto;padding:24px 32px 64px;background:#fff}
h1{font-size:26px;margin:0 0 4px}h2{font-size:19px;margin:32px 0 8px;border-bottom:1px solid #d0d7de;
padding-bottom:4px}.sub{color:#59636e}
table{border-collapse:collapse;width:100%;margin:8px 0;font-size:13px}
th,td{border-bottom:1px solid #e6e8eb;padding:4px 8px;text-align:left;vertical-align:top}
th{background:#f6f8fa;font-weight:600}td.n{text-align:right;font-variant-numeric:tabular-nums}
code,pre{font:12px/1.4 ui-monospace,SFMono-Regular,Menlo,monospace}
td code{word-break:break-all}td:first-child{white-space:nowrap}
pre{background:#f6f8fa;padding:8px 10px;overflow-x:auto;white-space:pre-wrap}
.ok{color:#1a7f37;font-weight:600}.bad{color:#cf222e;font-weight:600}
.badge{display:inline-block;padding:2px 10px;border-radius:12px;font-weight:600}
.badge.ok{background:#dafbe1}.badge.bad{background:#ffebe9}
.summary{display:flex;gap:12px;flex-wrap:wrap;margin:16px 0}
.summary div{border:1px solid #d0d7de;border-radius:6px;padding:8px 14px}
.summary b{display:block;font-size:20px}
"""


def render(document: dict[str, Any], figures: dict[str, go.Figure]) -> str:
    """The whole report: ``document`` from :func:`evidence.collect`, figures by section."""
    from plotly.offline import get_plotlyjs

    point = document["point"]
    seal = document.get("seal")
    violations = document["violations"]
    parts = [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>tracer evidence report — {_e(document['store'])}</title>",
        f"<style>{_CSS}</style>",
        f"<script>{get_plotlyjs()}</script></head><body><main>",
        "<h1>Evidence report</h1>",
        f"<p class='sub'>Store <code>{_e(document['store'])}</code> · made "
        f"{_e(document['generated'])} by tracer {_e(document['tracer_version'])} (Python "
        f"{_e(document['python'])})</p>",
        _summary(document),
        "<h2>Provenance</h2>",
        _provenance(document["provenance"]),
        "<h2>Accounting per load</h2>",
        _accounting(document["accounting"]),
        "<h2>Integrity findings</h2>",
        _findings(document.get("findings")),
        "<h2>Seal</h2>",
        _seal(seal),
        f"<h2>States at {_e(point['at'])}</h2>",
        f"<p>The point resolved to position <b>{point['position']:,}</b> of {point['events']:,}"
        f" (time {_e(point['time'] or 'unknown')}).</p>",
        _states(document["states"]),
        "<h2>Invariants</h2>",
        _violations(document["invariants"], violations),
        *(_figure(fig, name) for name, fig in figures.items() if name.startswith("violation")),
        "<h2>The log over time</h2>",
        *(_figure(fig, name) for name, fig in figures.items() if not name.startswith("violation")),
        "<h2>Reproduce</h2><p>These commands rebuild the store and this report:</p>",
        f"<pre>{_e(chr(10).join(document['provenance']['reproduce']))}</pre>",
        "<details><summary>The report as data (JSON)</summary>",
        f"<pre id='evidence-json'>{_e(to_json(document).decode())}</pre>",
        "</details></main></body></html>",
    ]
    return "\n".join(parts)


def _summary(document: dict[str, Any]) -> str:
    events = document["point"]["events"]
    rejected = sum(a["rejected"] or 0 for a in document["accounting"])
    seal = document.get("seal")
    verdict = (
        "not sealed"
        if not seal
        else (
            "<span class='ok'>verified</span>"
            if seal.get("verified")
            else "<span class='bad'>FAILED</span>"
        )
    )
    broken = len(document["violations"])
    return (
        "<div class='summary'>"
        f"<div><b>{events:,}</b>events</div>"
        f"<div><b>{rejected:,}</b>rows rejected at load</div>"
        f"<div><b>{verdict}</b>seal</div>"
        f"<div><b class='{'bad' if broken else 'ok'}'>{broken:,}</b>invariant violations</div>"
        "</div>"
    )


def _provenance(provenance: dict[str, Any]) -> str:
    rows = []
    for load in provenance["sources"]:
        for entry in load["files"]:
            detail = entry.get("sha256") or entry.get("note") or entry.get("table") or ""
            if entry.get("table") and entry.get("sha256"):
                detail = f"{entry['sha256']} (table {entry['table']})"
            rows.append(
                [
                    load["load_id"],
                    f"<code>{_e(entry['source'])}</code>",
                    _e(entry["kind"]),
                    f"<code>{_e(detail)}</code>",
                    _e(entry.get("loaded") or ""),
                ]
            )
    projection = provenance["projection"]
    return (
        _table(["load", "source", "kind", "SHA-256 (now) / table", "loaded"], rows, raw=True)
        + f"<p>Projection <code>{_e(projection['name'])}</code>, code fingerprint "
        f"<code>{_e(projection['fingerprint'])}</code>.</p>"
    )


def _accounting(loads: list[dict[str, Any]]) -> str:
    rows = []
    for load in loads:
        reasons = "<br>".join(
            f"{r['rows']:,} × {_e(r['reason'])} (first row {r['first_row']})"
            for r in load["top_reasons"]
        )
        rows.append(
            [
                load["load_id"],
                f"<code>{_e(load['source'])}</code>",
                *(f"{load[k] or 0:,}" for k in ("rows_read", "loaded", "rejected", "duplicates")),
                reasons,
            ]
        )
    header = ["load", "source", "rows read", "loaded", "rejected", "duplicates", "top reasons"]
    return _table(header, rows, raw=True, numeric={2, 3, 4, 5})


def _findings(findings: list[dict[str, Any]] | None) -> str:
    if findings is None:
        return "<p>Not computed.</p>"
    if not findings:
        return "<p class='ok'>None: versions, times, ids and causation ids are consistent.</p>"
    columns = list(dict.fromkeys(key for row in findings for key in row))
    rows = [[_cell(row.get(c)) for c in columns] for row in findings]
    return _table(columns, rows)


def _seal(seal: dict[str, Any] | None) -> str:
    if not seal:
        return "<p>No seal was given (<code>--seal FILE</code>).</p>"
    ok = bool(seal.get("verified"))
    badge = (
        f"<span class='badge {'ok' if ok else 'bad'}'>{'verified' if ok else 'not verified'}</span>"
    )
    rows = [[_e(k), f"<code>{_e(_cell(v))}</code>"] for k, v in seal.items() if k != "verified"]
    return f"<p>{badge}</p>" + _table(["", ""], rows, raw=True)


def _states(states: list[dict[str, Any]]) -> str:
    """One row per stream; a state's top-level fields as columns when states are flat records."""
    shown = states[:MAX_STATE_ROWS]
    fields = _state_fields(shown)
    rows = [
        [s["stream"], s["position"], s["version"], _when(s["time"])]
        + ([_cell(s["state"].get(f)) for f in fields] if fields else [_json(s["state"])])
        for s in shown
    ]
    note = (
        f"<p class='sub'>{len(shown):,} of {len(states):,} states shown; all are in the JSON.</p>"
        if len(shown) < len(states)
        else ""
    )
    header = ["stream", "position", "version", "time", *(fields or ["state"])]
    return _table(header, rows, numeric={1, 2}) + note


def _state_fields(states: list[dict[str, Any]], most: int = 12) -> list[str]:
    """The top-level keys of dict states, when there are few enough to be columns."""
    if not states or not all(isinstance(s["state"], dict) for s in states):
        return []
    keys = list(dict.fromkeys(k for s in states for k in s["state"]))
    return keys if 0 < len(keys) <= most else []


def _when(value: str | None) -> str:
    """``2026-03-04T10:17:10.285000+00:00`` -> ``2026-03-04 10:17:10.285 UTC``."""
    if not value:
        return ""
    text = value.replace("T", " ").removesuffix("+00:00")
    if "." in text:
        head, _, fraction = text.partition(".")
        text = f"{head}.{fraction[:3]}"
    return text + (" UTC" if value.endswith("+00:00") else "")


def _violations(invariants: list[str], violations: list[dict[str, Any]]) -> str:
    if not invariants:
        return "<p>No invariant was given (<code>--invariant EXPR</code>).</p>"
    listed = "".join(f"<li><code>{_e(i)}</code></li>" for i in invariants)
    if not violations:
        return f"<ul>{listed}</ul><p class='ok'>Every invariant held after every event.</p>"
    rows = [
        [
            v["invariant"],
            v["stream"],
            v["position"],
            v.get("type"),
            _when(v["time"]),
            v["events"],
            "still broken" if v["until"] is None else v["until"],
        ]
        for v in violations
    ]
    header = ["invariant", "stream", "caused by position", "type", "time", "events", "repaired by"]
    return f"<ul>{listed}</ul>" + _table(header, rows, numeric={2, 5})


def _figure(fig: go.Figure, name: str) -> str:
    body = fig.to_html(full_html=False, include_plotlyjs=False, div_id=f"fig-{name}")
    return f"<section class='figure' data-figure='{_e(name)}'>{body}</section>"


def _table(
    header: list[str], rows: list[list[Any]], *, raw: bool = False, numeric: set[int] | None = None
) -> str:
    numeric = numeric or set()
    head = "".join(f"<th>{_e(h)}</th>" for h in header)
    body = "".join(
        "<tr>"
        + "".join(
            f"<td{' class=n' if i in numeric else ''}>{cell if raw else _e(_cell(cell))}</td>"
            for i, cell in enumerate(row)
        )
        + "</tr>"
        for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _json(value: Any) -> str:
    return encode_text(value, default=str)


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, dict | list):
        return _json(value)
    return str(value)


def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)
