"""The real history of a field against a what-if replay, and their difference."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from tracer.notebook.steps import is_number, log_end, number_text, step_trace, stream_label, thin
from tracer.notebook.style import REAL, WHATIF, layout
from tracer.notebook.values import whatif_history
from tracer.replay import Replay


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
    end = log_end(replay)
    step_trace(fig, thin(real, max_points), "real", path, end, colour=REAL, row=1)
    step_trace(
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
    subtitle = f"at the end: real {number_text(final_real)}, what-if {number_text(final_alt)}"
    if is_number(final_real) and is_number(final_alt):
        subtitle += f" (difference {number_text(final_alt - final_real, sign=True)})"
    layout(
        fig,
        f"What if? {path} of {stream_label(stream)}\n{subtitle}",
        height=520 if panels == 2 else 420,
        legend="replay",
    )
    fig.update_yaxes(title_text=path, row=1, col=1)
    fig.update_xaxes(title_text="time (UTC)", row=panels, col=1)
    numbers = [v for v in [*real["value"], *alternative["value"]] if is_number(v)]
    if numbers and min(numbers) < 0:
        fig.add_hline(y=0, line={"color": "#888", "width": 1, "dash": "dot"}, row=1, col=1)
    return fig


def _difference(real: pd.DataFrame, alternative: pd.DataFrame) -> pd.DataFrame | None:
    """what-if − real at every change of either, when both are numbers (else ``None``)."""
    values = [*real["value"], *alternative["value"]]
    if not values or not all(v is None or is_number(v) for v in values):
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
