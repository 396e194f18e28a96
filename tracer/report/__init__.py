"""The evidence report: what an auditor hands over, as one HTML file or one JSON document.

    from tracer.report import write_report
    write_report(store, replay, at="time:2026-03-31T23:59:59Z", invariants=["state['balance'] >= 0"],
                 out="report.html")

A client of the core, like the notebook package (its figures are plotly's); the core never
imports it. :mod:`.evidence` gathers the content, :mod:`.html` renders it.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from tracer.errors import TracerError
from tracer.report.evidence import collect, to_json, violated_paths

if TYPE_CHECKING:
    import plotly.graph_objects as go

    from tracer.replay import Replay
    from tracer.store import Store

#: Violations that get a figure of the field they broke (all are in the table).
MAX_VIOLATION_FIGURES = 6

__all__ = ["collect", "figures", "write_report"]


def write_report(
    store: Store,
    replay: Replay,
    *,
    at: str,
    invariants: list[str],
    out: str | Path,
    format: str = "html",
    seal: dict[str, Any] | None = None,
    findings: list[dict[str, Any]] | None = None,
    shapes: Any = None,
    command: list[str] | None = None,
) -> dict[str, Any]:
    """Write the report to ``out`` (``format``: ``html`` or ``json``); returns the document."""
    if format not in ("html", "json"):
        raise TracerError(f"report format {format!r}: use html or json")
    document = collect(
        store,
        replay,
        at=at,
        invariants=invariants,
        seal=seal,
        findings=findings,
        shapes=None if shapes is None else _records(shapes),
        command=command,
    )
    path = Path(out)
    if format == "json":
        path.write_bytes(to_json(document) + b"\n")
        return document
    from tracer.report.html import render

    path.write_text(render(document, figures(store, replay, document, shapes)), encoding="utf-8")
    return document


def _records(frame: Any) -> list[dict[str, Any]]:
    rows = frame.astype(object).where(frame.notna(), None).to_dict(orient="records")
    for row in rows:
        for key in ("first_time", "last_time"):
            if row.get(key) is not None:
                row[key] = row[key].isoformat()
    return rows


def figures(
    store: Store, replay: Replay, document: dict[str, Any], shapes: Any = None
) -> dict[str, go.Figure]:
    """The report's figures by name: each violated field's history, the event rate, and the
    payload shapes per type over time (``shapes``: a frame of ``tracer.shapes.payload_shapes``)."""
    from tracer.notebook.figures import event_rate
    from tracer.notebook.shape_figures import shape_timeline
    from tracer.notebook.state_figures import field_history

    found: dict[str, go.Figure] = {}
    seen: set[tuple[str, str]] = set()
    for violation in document["violations"]:
        for path in violated_paths(violation["invariant"]):
            key = (str(violation["stream"]), path)
            if key in seen or len(seen) >= MAX_VIOLATION_FIGURES:
                continue
            seen.add(key)
            stream = None if replay.is_read_model else key[0]
            found[f"violation-{len(seen)}"] = field_history(replay, stream, path)
    if document["point"]["events"]:
        found["event-rate"] = event_rate(store)
    if shapes is not None and len(shapes):
        found["shapes"] = shape_timeline(shapes)
    return found
