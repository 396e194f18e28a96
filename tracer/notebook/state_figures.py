"""Plotly figures of projected states: a field's history, its change between two points, its
distribution across streams at a point, and the real history against a what-if replay.

The replay engine computes the states (from checkpoints); the figures draw one point per change
or per stream, and reduce further where their docstring says so.
"""

from __future__ import annotations

import html
import numbers
from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from tracer.errors import TracerError
from tracer.notebook.style import DOWN, LINES, REAL, UP, WHATIF, layout, short, when
from tracer.notebook.values import numeric_change, values_at, whatif_history
from tracer.replay import Replay

HOVER_CHANGE = (
    "<b>%{customdata[0]}</b> · pos %{customdata[1]} · v%{customdata[2]}<br>"
    "%{customdata[3]} at %{customdata[4]}<br>%{customdata[5]} = <b>%{customdata[6]}</b>"
    "<extra></extra>"
)


def _is_number(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _log_end(replay: Replay) -> pd.Timestamp | None:
    with replay.store.lock:
        row = replay.store.con.execute("SELECT max(time) FROM events").fetchone()
    return None if row[0] is None else pd.Timestamp(row[0])


def thin(frame: pd.DataFrame, max_points: int) -> pd.DataFrame:
    """At most about ``max_points`` rows: the rows are cut into equal runs and each run keeps
    its first and last row and those with its smallest and largest value (numbers), so the
    envelope of the curve and every extreme survive."""
    if len(frame) <= max_points:
        return frame
    runs = max(1, max_points // 4)
    run = np.arange(len(frame)) * runs // len(frame)
    numeric = pd.to_numeric(frame["value"], errors="coerce")
    keep = set()
    for _, index in pd.Series(frame.index).groupby(run):
        keep.update((index.iloc[0], index.iloc[-1]))
        values = numeric.loc[index]
        if values.notna().any():
            keep.update((values.idxmin(), values.idxmax()))
    return frame.loc[sorted(keep)]


def _custom(label: str, frame: pd.DataFrame, path: str) -> np.ndarray:
    return np.column_stack(
        [
            [label] * len(frame),
            frame["position"].astype(str),
            frame["version"].astype(str),
            frame["type"].astype(str),
            [when(t) for t in frame["time"]],
            [path] * len(frame),
            [html.escape(short(v)) for v in frame["value"]],
        ]
    )


def _step_trace(
    fig: go.Figure,
    frame: pd.DataFrame,
    label: str,
    path: str,
    end: pd.Timestamp | None,
    *,
    colour: str,
    dash: str = "solid",
    group: str | None = None,
    row: int | None = None,
) -> None:
    """A step line holding each value until the next change (and to the log's end), with
    markers on the changing events only."""
    group = group or label
    values = frame["value"].where(frame["op"] != "remove", None)
    line_x = list(frame["time"])
    line_y = list(values)
    if end is not None and len(frame) and frame["time"].iloc[-1] < end:
        line_x.append(end)
        line_y.append(line_y[-1])
    line = {"shape": "hv", "dash": dash, "width": 2, "color": colour}
    fig.add_scatter(
        x=line_x,
        y=line_y,
        mode="lines",
        name=label,
        legendgroup=group,
        line=line,
        hoverinfo="skip",
        row=row,
        col=None if row is None else 1,
    )
    marker = {"size": 7 if len(frame) <= 300 else 4, "color": colour}
    fig.add_scatter(
        x=frame["time"],
        y=values,
        mode="markers",
        name=f"{label} changes",
        legendgroup=group,
        showlegend=False,
        marker=marker,
        customdata=_custom(label, frame, path),
        hovertemplate=HOVER_CHANGE,
        row=row,
        col=None if row is None else 1,
    )


def _unit(replay: Replay) -> str:
    """What a figure counts: streams, or the keys of a read model."""
    return "keys" if replay.is_read_model else "streams"


def _label(stream: str | None) -> str:
    return "read model" if stream is None else str(stream)


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
    end = _log_end(replay)
    fig = go.Figure()
    numeric = True
    low = 0.0
    thinned = []
    for index, stream in enumerate(names):
        frame = replay.history(stream, path)
        numeric &= all(_is_number(v) for v in frame["value"] if v is not None)
        if len(frame) and numeric:
            low = min(low, min(v for v in frame["value"] if v is not None))
        shown = thin(frame, max_points)
        if len(shown) < len(frame):
            thinned.append(f"{_label(stream)}: {len(shown)} of {len(frame)} changes")
        colour = LINES[index % len(LINES)]
        _step_trace(fig, shown, _label(stream), path, end, colour=colour)
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
        text=[_number(d, sign=True) for d in shown["delta"]],
        textposition="outside",
        cliponaxis=False,
        name=f"change of {path}",
    )
    unit = _unit(replay)
    subtitle = f"{len(frame)} {unit} changed, net {_number(frame['delta'].sum(), sign=True)}"
    if len(rest):
        net = _number(rest["delta"].sum(), sign=True)
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
    unit = _unit(replay)
    numbers = frame[[_is_number(v) for v in frame["value"]]]
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


def whatif_comparison(
    replay: Replay,
    stream: str | None,
    path: str,
    *,
    skip: Iterable[int] = (),
    edit: dict[int, Any] | None = None,
    insert: list[tuple[int, dict[str, Any]]] | None = None,
    max_points: int = 2000,
) -> go.Figure:
    """The real history of ``path`` in one stream (or a read model's state, or one key) against
    its history when the log is replayed with events skipped, edited or inserted: a solid and a
    dashed step line with markers on changing events, a dotted vertical line at each modified
    event, and (for numbers) a lower panel with the difference what-if − real over time.

    Reduction: one point per change on each line, thinned like :func:`field_history` beyond
    ``max_points``; beyond 40 modified events their lines give way to ticks on the difference
    panel.
    """
    real = replay.history(stream, path)
    alternative = whatif_history(replay, stream, path, skip=skip, edit=edit, insert=insert)
    difference = _difference(real, alternative)
    panels = 2 if difference is not None else 1
    fig = make_subplots(
        rows=panels,
        cols=1,
        shared_xaxes=True,
        row_heights=[0.7, 0.3][:panels],
        vertical_spacing=0.06,
    )
    end = _log_end(replay)
    _step_trace(fig, thin(real, max_points), "real", path, end, colour=REAL, row=1)
    _step_trace(
        fig, thin(alternative, max_points), "what-if", path, end, colour=WHATIF, dash="dash", row=1
    )
    if difference is not None:
        shown = thin(difference, max_points)
        fig.add_scatter(
            x=[*shown["time"], *([end] if end is not None and len(shown) else [])],
            y=[*shown["value"], *(list(shown["value"].iloc[-1:]) if end is not None else [])],
            mode="lines",
            line={"shape": "hv", "color": "#555", "width": 1.5},
            fill="tozeroy",
            fillcolor="rgba(213,94,0,0.15)",
            name="what-if − real",
            hovertemplate="%{x}<br>what-if − real: %{y:+,}<extra></extra>",
            row=2,
            col=1,
        )
        fig.update_yaxes(title_text="what-if − real", row=2, col=1)
    _mark_modified(fig, replay, skip, edit, insert, panels)
    final_real = real["value"].iloc[-1] if len(real) else None
    final_alt = alternative["value"].iloc[-1] if len(alternative) else None
    subtitle = f"at the end: real {_number(final_real)}, what-if {_number(final_alt)}"
    if _is_number(final_real) and _is_number(final_alt):
        subtitle += f" (difference {_number(final_alt - final_real, sign=True)})"
    layout(
        fig,
        f"What if? {path} of {_label(stream)}\n{subtitle}",
        height=520 if panels == 2 else 420,
        legend="replay",
    )
    fig.update_yaxes(title_text=path, row=1, col=1)
    fig.update_xaxes(title_text="time (UTC)", row=panels, col=1)
    numbers = [v for v in [*real["value"], *alternative["value"]] if _is_number(v)]
    if numbers and min(numbers) < 0:
        fig.add_hline(y=0, line={"color": "#888", "width": 1, "dash": "dot"}, row=1, col=1)
    return fig


def _number(value: Any, sign: bool = False) -> str:
    """A number as people write it (float noise rounded away); anything else shortened."""
    if not _is_number(value):
        return short(value)
    value = round(float(value), 6) if isinstance(value, float) else value
    return f"{value:+,}" if sign else f"{value:,}"


def _difference(real: pd.DataFrame, alternative: pd.DataFrame) -> pd.DataFrame | None:
    """what-if − real at every change of either, when both are numbers (else ``None``)."""
    values = [*real["value"], *alternative["value"]]
    if not values or not all(v is None or _is_number(v) for v in values):
        return None
    times = pd.DataFrame({"time": sorted(set(real["time"]) | set(alternative["time"]))})

    def at(frame: pd.DataFrame) -> pd.Series:
        side = frame[["time", "value"]].astype({"value": float}).sort_values("time", kind="stable")
        merged = pd.merge_asof(times, side.drop_duplicates("time", keep="last"), on="time")
        return merged["value"].fillna(0.0)

    delta = (at(alternative) - at(real)).round(6)
    return pd.DataFrame({"time": times["time"], "value": delta})


def _mark_modified(
    fig: go.Figure,
    replay: Replay,
    skip: Iterable[int],
    edit: dict[int, Any] | None,
    insert: list[tuple[int, dict[str, Any]]] | None,
    panels: int,
) -> None:
    """Dotted lines (labelled when few) at the modified events, or ticks when there are many."""
    marks = [(int(p), "skipped") for p in skip] + [(int(p), "edited") for p in (edit or {})]
    marks += [(int(after), "inserted after") for after, _ in insert or []]
    positions = sorted({p for p, _ in marks if p > 0})
    if not positions:
        return
    with replay.store.lock:
        times = dict(
            replay.store.con.execute(
                "SELECT position, time FROM events WHERE position IN (SELECT unnest(?::BIGINT[]))",
                [positions],
            ).fetchall()
        )
    found = [(p, what, times.get(p)) for p, what in marks if times.get(p) is not None]
    if len(found) <= 40:
        for position, what, time in found:
            fig.add_vline(
                x=time, line={"color": "#888", "dash": "dot", "width": 1}, row="all", col=1
            )
            if len(found) <= 4:
                fig.add_annotation(
                    x=time, y=1, yref="paper", text=f"{what} pos {position}", showarrow=False,
                    xanchor="left", yanchor="top", font={"size": 11, "color": "#555"},
                )  # fmt: skip
        return
    fig.add_scatter(
        x=[t for _, _, t in found],
        y=[0] * len(found),
        mode="markers",
        marker={"symbol": "line-ns-open", "size": 10, "color": "#555"},
        name="modified events",
        customdata=[[p, w] for p, w, _ in found],
        hovertemplate="%{customdata[1]} pos %{customdata[0]}<extra></extra>",
        row=panels,
        col=1,
    )
