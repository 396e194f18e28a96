"""The correlation graph: events linked by causation and correlation ids around a seed."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from tracer.errors import TracerError
from tracer.notebook.data import graph_edges, graph_events
from tracer.notebook.style import HOVER_EVENT, event_custom, layout, plural, type_colour
from tracer.store import Store


def correlation_graph(
    store: Store,
    *,
    event: int | str | None = None,
    correlation_id: str | None = None,
    stream: str | None = None,
    start: int | None = None,
    end: int | None = None,
    depth: int = 3,
    limit: int = 150,
    x: str = "order",
) -> go.Figure:
    """Events linked by causation and correlation ids, around a seed: one event (position or
    id), every event of a correlation id, or a stream's events between two positions.

    Nodes are events (x: their order in the log, labelled by position, or ``x="time"``;
    y: stream; colour: type); solid arrows go from a cause to the
    events it caused (a cause id that is no event of the log, such as a request id, is a grey
    diamond in the lane ``outside the log``); dotted lines join consecutive events sharing a
    correlation id. Reduction: DuckDB follows the links ``depth`` hops out from the seed and
    stops at ``limit`` events (the earliest kept; the subtitle says when it cut).
    """
    nodes, cut = graph_events(
        store,
        event=event,
        correlation_id=correlation_id,
        stream=stream,
        start=start,
        end=end,
        depth=depth,
        limit=limit,
    )
    if x not in ("order", "time"):
        raise TracerError(f"correlation graph x {x!r}: use 'order' or 'time'")
    edges, external = graph_edges(nodes)
    outside = "outside the log"
    nodes["x"] = nodes["time"] if x == "time" else np.arange(len(nodes))
    where: dict[Any, tuple[Any, str]] = {
        int(r.position): (r.x, str(r.stream)) for r in nodes.itertuples(index=False)
    }
    first_x = dict(zip(nodes["position"].astype(int), nodes["x"], strict=True))
    step = pd.Timedelta(milliseconds=1) if x == "time" else 0.35
    for row in external.itertuples(index=False):
        where[f"ext:{row.id}"] = (first_x[row.first] - step, outside)
    fig = go.Figure()
    for kind, dash in (("correlation", "dot"), ("causation", "solid")):
        part = edges[edges["kind"] == kind]
        if part.empty:
            continue
        xs: list[Any] = []
        ys: list[Any] = []
        for edge in part.itertuples(index=False):
            (x0, y0), (x1, y1) = where[edge.source], where[edge.target]
            xs += [x0, x1, None]
            ys += [y0, y1, None]
        fig.add_scatter(
            x=xs,
            y=ys,
            mode="lines",
            name=f"{kind} link",
            line={"color": "#555" if kind == "causation" else "#999", "dash": dash, "width": 1.5},
            hoverinfo="skip",
        )
        if kind == "causation":
            for edge in part.itertuples(index=False):
                (x0, y0), (x1, y1) = where[edge.source], where[edge.target]
                fig.add_annotation(
                    x=x1, y=y1, ax=x0, ay=y0, xref="x", yref="y", axref="x", ayref="y",
                    showarrow=True, arrowhead=3, arrowsize=1.4, arrowwidth=1.2,
                    arrowcolor="#555", standoff=7, text="",
                )  # fmt: skip
    if len(external):
        effects = edges[edges["source"].astype(str).str.startswith("ext:")]
        counts = effects.groupby("source").size()
        fig.add_scatter(
            x=[where[f"ext:{i}"][0] for i in external["id"]],
            y=[outside] * len(external),
            mode="markers+text" if len(external) <= 12 else "markers",
            text=[str(i)[:8] + "…" for i in external["id"]],
            textposition="top center",
            textfont={"size": 10, "color": "#555"},
            name="cause outside the log",
            marker={"symbol": "diamond", "size": 11, "color": "#888"},
            customdata=np.column_stack(
                [external["id"], [int(counts.get(f"ext:{i}", 0)) for i in external["id"]]]
            ),
            hovertemplate="<b>cause outside the log</b><br>id %{customdata[0]}<br>"
            "caused %{customdata[1]} event(s)<extra></extra>",
        )
    seeds = _seed_positions(nodes, event, correlation_id, stream, start, end)
    for name, group in nodes.groupby("type", sort=False):
        ring = group["position"].isin(seeds)
        fig.add_scatter(
            x=group["x"],
            y=group["stream"],
            mode="markers+text" if len(nodes) <= 40 else "markers",
            text=[f"pos {p}" for p in group["position"]],
            textposition="bottom center",
            textfont={"size": 10},
            name=str(name),
            marker={
                "size": 12,
                "color": type_colour(str(name)),
                "line": {"width": np.where(ring, 2.5, 0.5), "color": "black"},
            },
            customdata=event_custom(group),
            hovertemplate=HOVER_EVENT,
        )
    lanes = list(dict.fromkeys(nodes.sort_values("position")["stream"].astype(str)))
    if len(external):
        lanes = [outside, *lanes]
    note = (
        f"{plural(len(nodes), 'event')}, {int((edges['kind'] == 'causation').sum())} causation and "
    )
    note += f"{int((edges['kind'] == 'correlation').sum())} correlation links; seed ringed in black"
    if cut:
        note += f"; cut at {limit} events"
    layout(
        fig,
        "Causation and correlation\n" + note,
        height=max(320, 150 + 50 * len(lanes)),
        x="time (UTC)" if x == "time" else "events in log order",
        y="stream",
    )
    fig.update_yaxes(categoryorder="array", categoryarray=list(reversed(lanes)), type="category")
    if x == "order":
        every = max(1, len(nodes) // 20)
        fig.update_xaxes(
            tickmode="array",
            tickvals=nodes["x"].iloc[::every].tolist(),
            ticktext=[f"pos {p}" for p in nodes["position"].iloc[::every]],
            zeroline=False,
        )
    return fig


def _seed_positions(
    nodes: pd.DataFrame,
    event: int | str | None,
    correlation_id: str | None,
    stream: str | None,
    start: int | None,
    end: int | None,
) -> set[int]:
    if event is not None:
        column = "position" if isinstance(event, int) else "event_id"
        return set(nodes.loc[nodes[column] == event, "position"].astype(int))
    if correlation_id is not None:
        return set(nodes.loc[nodes["correlation_id"] == correlation_id, "position"].astype(int))
    mask = nodes["stream"] == stream
    if start is not None:
        mask &= nodes["position"] >= start
    if end is not None:
        mask &= nodes["position"] <= end
    return set(nodes.loc[mask, "position"].astype(int))
