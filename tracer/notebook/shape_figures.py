"""Payload shapes over time: when each event type's payload took each of its shapes."""

from __future__ import annotations

from typing import Any

import pandas as pd
import plotly.graph_objects as go

from tracer.notebook.style import PALETTE, layout


def shape_timeline(shapes: pd.DataFrame, *, max_types: int = 30) -> go.Figure:
    """One row per event type, one bar per payload shape from its first to its last event.

    ``shapes`` is the frame of :func:`tracer.shapes.payload_shapes` (``type``, ``shape``,
    ``count``, ``first_time``, ``last_time``, positions). A type whose payload never changed is
    one bar; a drifted type shows its shapes one after another (or overlapping, while producers
    of both shapes ran). Reduction: the shapes are already grouped in DuckDB; at most
    ``max_types`` types (the most frequent) are drawn, and the subtitle says when it cut.
    """
    frame = shapes.copy()
    totals = frame.groupby("type")["count"].sum().sort_values(ascending=False)
    kept = list(totals.index[:max_types])
    frame = frame[frame["type"].isin(kept)]
    fig = go.Figure()
    named: set[int] = set()
    for event_type, group in frame.groupby("type", sort=False):
        ordered = group.sort_values("first_position")
        for index, row in enumerate(ordered.itertuples(index=False), start=1):
            start, end = _time(row.first_time), _time(row.last_time)
            fig.add_scatter(
                x=[start, end],
                y=[event_type, event_type],
                mode="lines+markers",
                line={"width": 10, "color": PALETTE[(index - 1) % len(PALETTE)]},
                marker={"size": 10},
                name=f"shape {index}",
                legendgroup=f"shape {index}",
                showlegend=index not in named,
                hovertext=_hover(event_type, index, row),
                hoverinfo="text",
            )
            named.add(index)
    cut = len(totals) - len(kept)
    title = "Payload shapes per event type over time"
    subtitle = f"{len(shapes):,} shapes of {len(totals):,} types" + (
        f"; the {cut:,} least frequent types are left out" if cut else ""
    )
    return layout(
        fig,
        f"{title}\n{subtitle}",
        height=max(260, 60 + 34 * len(kept)),
        x="time",
        y="event type",
    )


def _time(value: Any) -> Any:
    return pd.Timestamp(value) if value is not None else None


def _hover(event_type: str, index: int, row: Any) -> str:
    shape = row.shape if isinstance(row.shape, dict) else {}
    fields = "<br>".join(f"{path}: {kind}" for path, kind in list(shape.items())[:20])
    more = f"<br>… {len(shape) - 20} more" if len(shape) > 20 else ""
    return (
        f"<b>{event_type}</b> shape {index}: {int(row.count):,} events<br>"
        f"positions {row.first_position}–{row.last_position}<br>{fields}{more}"
    )
