"""Where two versions of a projection diverge, over time (see :mod:`tracer.replay.compare`)."""

from __future__ import annotations

import html
from typing import Any

import pandas as pd
import plotly.graph_objects as go

from tracer.notebook.style import DOWN, REAL, layout, short, when

_KIND_COLOUR = {"state": REAL, "error": DOWN}


def divergence_timeline(result: Any, *, max_lanes: int = 40) -> go.Figure:
    """Each diverging stream (or read-model key) as a marker at the time of the event after
    which the two versions first differ: blue where the states part, red where a handler
    raised; filled while they still differ at the end, hollow when they agree again.

    ``result`` is a :class:`~tracer.replay.compare.CompareResult`. Reduction: one row per
    diverging stream is all there is; beyond ``max_lanes`` streams, the figure counts the
    divergences per time bucket instead of drawing a lane each.
    """
    frame = result.divergences
    names = frame["key"] if result.read_model else frame["stream"]
    title = f"{result.old} → {result.new}: {result.diverged} of {result.streams} diverge"
    fig = go.Figure()
    if frame.empty:
        fig.add_annotation(text="the versions agree after every event", showarrow=False)
        return layout(fig, title, height=260)
    if len(frame) > max_lanes:
        return _counts(frame, title)
    for kind, group in frame.groupby("kind", sort=False):
        lanes = [str(n) for n in names[group.index]]
        fig.add_scatter(
            x=group["time"],
            y=lanes,
            mode="markers",
            name="states differ" if kind == "state" else "handler raised",
            marker={
                "size": 12,
                "color": _KIND_COLOUR.get(str(kind), REAL),
                "symbol": ["circle-open" if a else "circle" for a in group["agree_at_end"]],
                "line": {"width": 2, "color": _KIND_COLOUR.get(str(kind), REAL)},
            },
            hovertext=[_hover(row) for row in group.to_dict(orient="records")],
            hoverinfo="text",
        )
    fig.update_yaxes(categoryorder="array", categoryarray=[str(n) for n in names][::-1])
    subtitle = "filled: still differ at the end · hollow: agree again"
    height = max(260, 90 + 26 * len(frame))
    return layout(fig, f"{title}\n{subtitle}", height=height, x="time", y="stream")


def _counts(frame: pd.DataFrame, title: str) -> go.Figure:
    times = pd.to_datetime(frame["time"], utc=True).dropna()
    span = (times.max() - times.min()).total_seconds() if len(times) else 0
    freq = "min" if span <= 6 * 3600 else "h" if span <= 14 * 86400 else "D"
    fig = go.Figure()
    for kind, group in frame.groupby("kind", sort=False):
        counts = pd.to_datetime(group["time"], utc=True).dt.floor(freq).value_counts().sort_index()
        fig.add_bar(
            x=counts.index,
            y=counts.to_numpy(),
            name="states differ" if kind == "state" else "handler raised",
            marker_color=_KIND_COLOUR.get(str(kind), REAL),
        )
    fig.update_layout(barmode="stack")
    unit = {"min": "minute", "h": "hour", "D": "day"}[freq]
    return layout(fig, f"{title}\nfirst divergences per {unit}", x="time", y="streams")


def _hover(row: dict[str, Any]) -> str:
    head = (
        f"<b>{html.escape(str(row.get('key') or row['stream']))}</b> · pos {row['position']} · "
        f"{html.escape(str(row['type']))}<br>{when(row['time'])}"
    )
    if row["kind"] == "error":
        return f"{head}<br>{html.escape(short(row['error'], 160))}"
    changes = "<br>".join(
        html.escape(f"{c['path'] or '(root)'}: {short(c['old'], 30)} → {short(c['new'], 30)}")
        for c in row["diff"][:8]
    )
    more = f"<br>… {len(row['diff']) - 8} more" if len(row["diff"]) > 8 else ""
    return f"{head}<br>{changes}{more}"
