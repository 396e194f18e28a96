"""What the state figures share: one step line per stream, thinning, numbers and labels."""

from __future__ import annotations

import html
import numbers
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from tracer.notebook.style import short, when
from tracer.replay import Replay

HOVER_CHANGE = (
    "<b>%{customdata[0]}</b> · pos %{customdata[1]} · v%{customdata[2]}<br>"
    "%{customdata[3]} at %{customdata[4]}<br>%{customdata[5]} = <b>%{customdata[6]}</b>"
    "<extra></extra>"
)


def is_number(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def log_end(replay: Replay) -> pd.Timestamp | None:
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


def step_trace(
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


def unit_of(replay: Replay) -> str:
    """What a figure counts: streams, or the keys of a read model."""
    return "keys" if replay.is_read_model else "streams"


def stream_label(stream: str | None) -> str:
    return "read model" if stream is None else str(stream)


def number_text(value: Any, sign: bool = False) -> str:
    """A number as people write it (float noise rounded away); anything else shortened."""
    if not is_number(value):
        return short(value)
    value = round(float(value), 6) if isinstance(value, float) else value
    return f"{value:+,}" if sign else f"{value:,}"
