"""Plotly figures of the log itself: the stream timeline, the event rate, the correlation graph.

Each function queries the store in DuckDB and sends the browser an aggregate, never the raw
log: its docstring says how the data is reduced. Figures of states (field history,
distribution, diff, what-if) are in :mod:`tracer.notebook.state_figures`.
"""

from __future__ import annotations

import html
from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from tracer.notebook.data import rate_data, timeline_data
from tracer.notebook.style import HOVER_EVENT, event_custom, layout, plural, type_colour
from tracer.store import Store


def timeline(
    store: Store,
    *,
    by: str = "stream",
    x: str = "time",
    stream: str | None = None,
    category: str | None = None,
    types: Iterable[str] | None = None,
    start: int | None = None,
    end: int | None = None,
    since: Any = None,
    until: Any = None,
    max_lanes: int = 30,
    max_points: int = 4000,
    highlight: Iterable[int] = (),
) -> go.Figure:
    """Events over time, one lane per stream (``by="category"``: per category), coloured by
    type; hovering an event shows its stream, position, version, time and data.

    Reduction: only the ``max_lanes`` busiest lanes are drawn (the subtitle says how many are
    left out). When those lanes hold at most ``max_points`` events each event is a tick;
    otherwise DuckDB groups them by lane, type and equal-width bucket of time (or position), with
    ``lanes × types × buckets <= max_points``, and each group is one dot sized by its count.
    ``highlight``: positions to ring in black (e.g. the events under suspicion).
    """
    rows, facts = timeline_data(
        store,
        by=by,
        x=x,
        max_lanes=max_lanes,
        max_points=max_points,
        stream=stream,
        category=category,
        types=types,
        start=start,
        end=end,
        since=since,
        until=until,
    )
    lanes = facts["lanes"]
    fig = go.Figure()
    xs = _x_values(rows, x)
    if not facts["bucketed"]:
        for name, group in rows.groupby("type", sort=False):
            fig.add_scatter(
                x=xs[group.index],
                y=group["lane"],
                mode="markers",
                name=str(name),
                marker={
                    "symbol": "line-ns-open",
                    "size": 14,
                    "line": {"width": 2, "color": type_colour(str(name))},
                    "color": type_colour(str(name)),
                },
                customdata=event_custom(group),
                hovertemplate=HOVER_EVENT,
            )
    else:
        _density(fig, rows, facts, x)
    marks = [int(p) for p in highlight]
    if marks and not facts["bucketed"]:
        picked = rows[rows["position"].isin(marks)]
        fig.add_scatter(
            x=xs[picked.index],
            y=picked["lane"],
            mode="markers",
            name="highlighted",
            marker={"symbol": "circle-open", "size": 18, "color": "black", "line": {"width": 2}},
            customdata=event_custom(picked),
            hovertemplate=HOVER_EVENT,
        )
    notes = [f"{plural(facts['events'], 'event')} in {plural(facts['total_lanes'], by + ' lane')}"]
    if facts["total_lanes"] > len(lanes):
        left = facts["events"] - facts["shown_events"]
        notes.append(
            f"the {len(lanes)} busiest shown, {plural(facts['total_lanes'] - len(lanes), 'lane')} "
            f"({plural(left, 'event')}) left out"
        )
    if facts["bucketed"]:
        notes.append(
            f"too many to draw one by one: counted per {_bucket_label(facts['bucket'], x)}"
        )
    if facts["no_time"]:
        notes.append(
            f"{plural(facts['no_time'], 'event')} without a time not drawn (use x='position')"
        )
    layout(
        fig,
        "Timeline of events by " + by + "\n" + "; ".join(notes),
        height=max(260, 110 + 24 * len(lanes)),
        x="time (UTC)" if x == "time" else "global position",
        y=by,
        legend="event type",
    )
    fig.update_yaxes(categoryorder="array", categoryarray=list(reversed(lanes)), type="category")
    return fig


def _density(fig: go.Figure, rows: pd.DataFrame, facts: dict[str, Any], x: str) -> None:
    """Counted events as a heat strip per lane; hover breaks a cell down by type."""
    lanes = facts["lanes"]
    width, start, buckets = facts["bucket"], facts["start"], facts["buckets"]
    index = {lane: i for i, lane in enumerate(lanes)}
    z = np.zeros((len(lanes), buckets))
    parts: list[list[list[str]]] = [[[] for _ in range(buckets)] for _ in lanes]
    first = np.zeros((len(lanes), buckets), dtype=np.int64)
    for row in rows.sort_values("count", ascending=False).itertuples(index=False):
        i, j = index[row.lane], int(row.x)
        z[i, j] += row.count
        parts[i][j].append(f"{row.type}: {row.count:,}")
        first[i, j] = row.position if not first[i, j] else min(first[i, j], row.position)
    centres = start + np.arange(buckets) * width + width // 2
    xs = pd.to_datetime(centres, unit="us", utc=True) if x == "time" else centres
    text = [
        [
            f"{int(z[i, j]):,} events, first at pos {first[i, j]}<br>" + "<br>".join(parts[i][j])
            if z[i, j]
            else "no event"
            for j in range(buckets)
        ]
        for i in range(len(lanes))
    ]
    fig.add_heatmap(
        x=xs,
        y=lanes,
        z=np.where(z > 0, z, np.nan),
        text=text,
        colorscale="Blues",
        colorbar={"title": {"text": "events"}},
        xgap=1,
        ygap=2,
        hovertemplate="<b>%{y}</b> · around %{x}<br>%{text}<extra></extra>",
        name="events per bucket",
    )


def _x_values(rows: pd.DataFrame, x: str) -> pd.Series:
    if x == "time" and len(rows):
        return pd.Series(pd.to_datetime(rows["x"], unit="us", utc=True), index=rows.index)
    return rows["x"]


def _bucket_label(width: int | None, x: str) -> str:
    if width is None:
        return ""
    if x == "position":
        return f"{width:,} positions"
    seconds = width / 1e6
    for size, unit in ((86_400, "day"), (3_600, "hour"), (60, "minute"), (1, "second")):
        if seconds >= size:
            amount = seconds / size
            return f"{amount:.3g} {unit}{'s' if amount != 1 else ''}"
    return f"{seconds:.3g} s"


def event_rate(
    store: Store,
    *,
    every: str | None = None,
    by: str = "type",
    top: int = 8,
    max_buckets: int = 150,
    stream: str | None = None,
    category: str | None = None,
    since: Any = None,
    until: Any = None,
) -> go.Figure:
    """Events per time bucket, stacked by type (or ``by="stream"``/``"category"``).

    Reduction: DuckDB counts events per ``time_bucket`` (``every``, e.g. ``"1 hour"``; by
    default the smallest of second/10 s/minute/10 min/hour/6 h/day/week/30 days/year giving at
    most ``max_buckets`` bars) and per group; the ``top`` busiest groups keep their name, the
    rest are summed as ``other``. The browser gets at most ``max_buckets × (top + 1)`` bars.
    """
    frame, label = rate_data(
        store,
        every=every,
        by=by,
        top=top,
        max_buckets=max_buckets,
        stream=stream,
        category=category,
        since=since,
        until=until,
    )
    fig = go.Figure()
    for name, group in frame.groupby("group", sort=False):
        fig.add_bar(
            x=group["bucket"],
            y=group["count"],
            name=str(name),
            marker={"color": type_colour(str(name)), "line": {"width": 0}},
            hovertemplate=f"<b>{html.escape(str(name))}</b><br>%{{x}}<br>%{{y:,}} events"
            "<extra></extra>",
        )
    total = int(frame["count"].sum()) if len(frame) else 0
    layout(
        fig,
        f"Event rate by {by}\n{total:,} events, counted per {label}",
        x=f"time (UTC), buckets of one {label}",
        y=f"events per {label}",
        legend=by,
    )
    fig.update_layout(barmode="stack", bargap=0.1, legend_traceorder="reversed")
    return fig
