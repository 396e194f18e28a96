"""Shared looks of the figures: one colour per event type for the whole session, hover text."""

from __future__ import annotations

from typing import Any

import pandas as pd
import plotly.graph_objects as go

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
