"""Shared looks of the figures: one colour per event type for the whole session, hover text."""

from __future__ import annotations

import html
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from tracer.notebook.data import short_json

#: Distinct, colour-blind-aware colours (Okabe–Ito first, then Tableau), assigned to event
#: types in the order they are first drawn, so one type keeps its colour across figures.
PALETTE = (
    "#0072B2",
    "#E69F00",
    "#009E73",
    "#CC79A7",
    "#56B4E9",
    "#D55E00",
    "#4E79A7",
    "#59A14F",
    "#B07AA1",
    "#9C755F",
    "#76B7B2",
    "#F28E2B",
    "#FF9DA7",
    "#000000",
    "#EDC948",
    "#BCBD22",
)
OTHER = "#BAB0AC"
#: Colours of lines, one per stream in a figure.
LINES = PALETTE[:12]
REAL = "#0072B2"
WHATIF = "#D55E00"
UP = "#1A7F37"
DOWN = "#CF222E"
_colours: dict[str, str] = {}


def type_colour(name: str) -> str:
    """The colour of an event type (``other`` is grey)."""
    if name == "other":
        return OTHER
    colour = _colours.get(name)
    if colour is None:
        colour = _colours[name] = PALETTE[len(_colours) % len(PALETTE)]
    return colour


def layout(fig: go.Figure, title: str, *, height: int = 420, **axes: Any) -> go.Figure:
    """A white template, a title (with an optional subtitle after a newline), axis titles."""
    main, _, sub = title.partition("\n")
    text = f"{main}<br><sup>{sub}</sup>" if sub else main
    fig.update_layout(
        template="plotly_white",
        title={"text": text, "x": 0.01, "xanchor": "left"},
        height=height,
        margin={"l": 10, "r": 10, "t": 80 if sub else 60, "b": 10},
        hoverlabel={"align": "left"},
        legend={"title": {"text": axes.pop("legend", "")}},
    )
    if "x" in axes:
        fig.update_xaxes(title_text=axes["x"], automargin=True)
    if "y" in axes:
        fig.update_yaxes(title_text=axes["y"], automargin=True)
    return fig


def when(value: Any) -> str:
    """A time for hover text: ``2026-03-04 10:17:10.285 UTC``."""
    if value is None or value is pd.NaT or (isinstance(value, float) and value != value):
        return "no time"
    stamp = pd.Timestamp(value)
    text = stamp.strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]
    return f"{text} UTC"


def short(value: Any, limit: int = 60) -> str:
    text = str(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


HOVER_EVENT = (
    "<b>%{customdata[0]}</b> · pos %{customdata[1]} · v%{customdata[2]}<br>"
    "%{customdata[3]}<br>%{customdata[4]}<br>%{customdata[5]}<extra></extra>"
)


def event_custom(rows: pd.DataFrame) -> np.ndarray:
    """Hover columns of raw events: type, position, version, stream, time, data (cut)."""
    return np.column_stack(
        [
            rows["type"].astype(str),
            rows["position"].astype(int),
            rows["version"].astype("Int64").astype(str),
            rows["stream"].astype(str),
            [when(t) for t in rows["time"]],
            [html.escape(short_json(d, 160)) for d in rows["data"]],
        ]
    )


def plural(count: int, noun: str) -> str:
    return f"{count:,} {noun}{'' if count == 1 else 's'}"
