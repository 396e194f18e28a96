"""Plotly figures of projected states: a field's history, its change between two points, its
and its distribution across streams at a point (the real history against a what-if replay is in
:mod:`tracer.notebook.whatif_figures`).

The replay engine computes the states (from checkpoints); the figures draw one point per change
or per stream, and reduce further where their docstring says so.
"""

from __future__ import annotations

import html
from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from tracer.errors import TracerError
from tracer.notebook.steps import (
    is_number,
    log_end,
    number_text,
    step_trace,
    stream_label,
    thin,
    unit_of,
)
from tracer.notebook.style import DOWN, LINES, REAL, UP, layout, short
from tracer.notebook.values import numeric_change, values_at
from tracer.replay import Replay


def field_history(
    replay: Replay,
    streams: str | Iterable[str] | None,
    path: str,
    *,
    max_points: int = 2000,
    max_streams: int = 12,
) -> go.Figure:
    """The value at ``path`` over time for one or several streams (``None``: a read model's
    state; a key: one key of a keyed read model), as step lines that hold each value until the
    next change, with a marker on every event that changed it (hover names the event).

    Reduction: one point per change (from :meth:`Replay.history`); a stream with more than
    ``max_points`` changes is thinned by :func:`thin` (first, last, min and max of equal runs);
    at most ``max_streams`` streams per figure.
    """
    names: list[str | None]
    names = [streams] if streams is None or isinstance(streams, str) else list(streams)
    if len(names) > max_streams:
        raise TracerError(
            f"field history of {len(names)} streams: draw at most {max_streams} in one figure"
        )
    end = log_end(replay)
    fig = go.Figure()
    numeric = True
    low = 0.0
    thinned = []
    for index, stream in enumerate(names):
        frame = replay.history(stream, path)
        numeric &= all(is_number(v) for v in frame["value"] if v is not None)
        if len(frame) and numeric:
            low = min(low, min(v for v in frame["value"] if v is not None))
        shown = thin(frame, max_points)
        if len(shown) < len(frame):
            thinned.append(f"{stream_label(stream)}: {len(shown)} of {len(frame)} changes")
        colour = LINES[index % len(LINES)]
        step_trace(fig, shown, stream_label(stream), path, end, colour=colour)
    subtitle = f"{replay.name} projection; a marker on every event that changed {path}"
    if thinned:
        subtitle += "; thinned " + ", ".join(thinned)
    layout(
        fig,
        f"History of {path}\n{subtitle}",
        x="time (UTC)",
        y=path,
        legend="stream" if names != [None] else "",
    )
    if numeric and low < 0:
        fig.add_hline(y=0, line={"color": "#888", "width": 1, "dash": "dot"})
    return fig


def diff_bars(
    replay: Replay,
    path: str,
    frm: Any,
    to: Any = "end",
    *,
    top: int = 30,
) -> go.Figure:
    """Which streams changed between two points, and by how much, for a numeric field: one
    horizontal bar per stream (green up, red down), sorted by the change.

    Reduction: :meth:`Replay.diff_all` keeps only streams whose state changed; the ``top``
    largest changes (by absolute size) are drawn and the subtitle counts and sums the rest.
    """
    frame = numeric_change(replay, path, frm, to)
    order = frame.reindex(frame["delta"].abs().sort_values(ascending=False).index)
    shown = order.head(top).sort_values("delta")
    rest = order.iloc[top:]
    fig = go.Figure()
    fig.add_bar(
        x=shown["delta"],
        y=shown["stream"].astype(str),
        orientation="h",
        marker={"color": [UP if d > 0 else DOWN for d in shown["delta"]]},
        customdata=np.column_stack([shown["old"], shown["new"]]) if len(shown) else None,
        hovertemplate=(
            "<b>%{y}</b><br>" + html.escape(path) + ": %{customdata[0]:,} → %{customdata[1]:,}"
            "<br>change %{x:+,}<extra></extra>"
        ),
        text=[number_text(d, sign=True) for d in shown["delta"]],
        textposition="outside",
        cliponaxis=False,
        name=f"change of {path}",
    )
    unit = unit_of(replay)
    subtitle = f"{len(frame)} {unit} changed, net {number_text(frame['delta'].sum(), sign=True)}"
    if len(rest):
        net = number_text(rest["delta"].sum(), sign=True)
        subtitle += f"; the {top} largest changes shown, {len(rest)} more (net {net})"
    layout(
        fig,
        f"Change of {path} from {frm} to {to}\n{subtitle}",
        height=max(260, 120 + 22 * len(shown)),
        x=f"change of {path}",
        y=unit[:-1],
    )
    fig.update_yaxes(type="category")
    fig.add_vline(x=0, line={"color": "#888", "width": 1})
    return fig


def distribution(
    replay: Replay,
    path: str,
    at: Any = "end",
    *,
    bins: int = 30,
    below: float | None = None,
    top: int = 20,
) -> go.Figure:
    """The value at ``path`` across every stream's state at a point: a histogram for numbers
    (streams at or under ``below``, e.g. ``0`` for negative balances, stacked in red), a bar per
    value for anything else.

    Reduction: the histogram is counted in Python from one value per stream and drawn as at
    most ``bins`` bars (hover lists a few streams of each bar); other values keep the ``top``
    most frequent and sum the rest as ``other``.
    """
    frame = values_at(replay, path, at)
    unit = unit_of(replay)
    numbers = frame[[is_number(v) for v in frame["value"]]]
    fig = go.Figure()
    if len(frame) and len(numbers) == len(frame):
        values = numbers["value"].astype(float).to_numpy()
        edges = np.histogram_bin_edges(values, bins=bins)
        if below is not None and values.min() < below < values.max() and below not in edges:
            edges = np.sort(np.append(edges, below))
        split = below if below is not None else -np.inf
        for name, mask, colour in (
            (f"< {below:g}" if below is not None else unit, values >= split, REAL),
            (f"< {below:g}" if below is not None else "", values < split, DOWN),
        ):
            if not mask.any():
                continue
            if below is not None and colour == REAL:
                name = f"≥ {below:g}"
            counts, _ = np.histogram(values[mask], bins=edges)
            bucket = np.digitize(values[mask], edges[1:-1])
            names = numbers["stream"].to_numpy()[mask]
            examples = [", ".join(map(str, names[bucket == i][:5])) for i in range(len(counts))]
            fig.add_bar(
                x=(edges[:-1] + edges[1:]) / 2,
                y=counts,
                width=np.diff(edges),
                name=name,
                marker={"color": colour, "line": {"width": 0.5, "color": "white"}},
                customdata=np.column_stack([edges[:-1], edges[1:], examples]),
                hovertemplate="%{customdata[0]:,.4g} – %{customdata[1]:,.4g}<br>"
                f"<b>%{{y}}</b> {unit}<br>e.g. %{{customdata[2]}}<extra></extra>",
            )
        fig.update_layout(barmode="stack", showlegend=below is not None)
        xtitle = path
    else:
        text = frame["value"].map(lambda v: short(v, 40))
        counts = text.value_counts()
        shown = counts.head(top)
        if len(counts) > top:
            shown = pd.concat([shown, pd.Series({"other": counts.iloc[top:].sum()})])
        fig.add_bar(
            x=shown.index.astype(str),
            y=shown.to_numpy(),
            marker={"color": REAL},
            hovertemplate=f"%{{x}}<br><b>%{{y}}</b> {unit}<extra></extra>",
            name=path,
        )
        xtitle = f"{path} (value)"
    missing = replay_states_count(replay, at) - len(frame)
    subtitle = f"{len(frame)} {unit} at {at}"
    if missing > 0:
        subtitle += f"; {missing} without {path}"
    if below is not None and len(numbers):
        subtitle += f"; {int((numbers['value'].astype(float) < below).sum())} below {below:g}"
    layout(fig, f"Distribution of {path}\n{subtitle}", x=xtitle, y=unit, legend=path)
    fig.update_yaxes(rangemode="tozero", tickformat=",d", dtick=_count_tick(fig))
    return fig


def _count_tick(fig: go.Figure) -> int | None:
    """Whole-number ticks on a count axis (plotly would label 0.5 streams)."""
    heights = [sum(y) for y in zip(*(t.y for t in fig.data), strict=False)] if fig.data else []
    return 1 if heights and max(heights) <= 10 else None


def replay_states_count(replay: Replay, at: Any) -> int:
    """How many streams (or read-model keys) have a state at a point."""
    return len(replay.state_results(at))
