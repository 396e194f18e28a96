"""Payload shapes in the terminal UI: ``p`` shows the shape of the selected event's payload (its
field paths with JSON types, :func:`tracer.shapes.flatten` of DuckDB's ``json_structure``) and
every shape its type takes over the log (:func:`tracer.shapes.payload_shapes`), in order of
first appearance: where the shape changes, and how (fields added, removed, retyped). Enter jumps
to the first event of a shape. A mixin of :class:`tracer.tui.app.TracerApp`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import orjson
import pandas as pd
from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text
from textual import work

from tracer.errors import TracerError
from tracer.shapes import flatten, payload_shapes
from tracer.tui import messages as msg
from tracer.tui.screens import ResultScreen

if TYPE_CHECKING:
    from tracer.tui.app import TracerApp

    _Base = TracerApp
else:
    _Base = object

MAX_PATHS = 12  # paths of the event's shape shown above the table of shapes


@dataclass
class ShapeReport:
    """The selected event's payload shape, and every shape of its type."""

    position: int
    type: str
    shape: dict[str, str]
    shapes: pd.DataFrame  # tracer.shapes.payload_shapes(store, type=...)


def shape_report(store: Any, position: int) -> ShapeReport:
    with store.lock:
        cur = store.cursor()
    try:
        row = cur.execute(
            "SELECT type, json_structure(data) FROM events WHERE position = ?", [position]
        ).fetchone()
    finally:
        cur.close()
    if row is None:
        raise TracerError(f"no event at position {position}")
    event_type, structure = row
    shape = flatten(None if structure is None else orjson.loads(structure))
    return ShapeReport(position, event_type, shape, payload_shapes(store, type=event_type))


def shape_changes(before: dict[str, str] | None, after: dict[str, str]) -> str:
    """How ``after`` differs from ``before``: ``+note: string, -memo, amount: integer→number``."""
    if before is None:
        return "(the first shape)"
    parts = [f"+{p or '(root)'}: {t}" for p, t in after.items() if p not in before]
    parts += [f"-{p or '(root)'}" for p in before if p not in after]
    parts += [
        f"{p or '(root)'}: {before[p]}→{t}"
        for p, t in after.items()
        if p in before and before[p] != t
    ]
    return ", ".join(parts)


def shape_rows(report: ShapeReport) -> list[tuple[Any, list[Any]]]:
    """One row per shape of the type, by first position; ▶ marks the selected event's."""
    rows: list[tuple[Any, list[Any]]] = []
    before: dict[str, str] | None = None
    for record in report.shapes.to_dict(orient="records"):
        shape = dict(record["shape"])
        this = "▶" if shape == report.shape else ""
        first, last = int(record["first_position"]), int(record["last_position"])
        cells = [this, str(first), str(last), f"{int(record['count']):,}"]
        rows.append((first, [*cells, shape_changes(before, shape)]))
        before = shape
    return rows


def shape_table(report: ShapeReport) -> RenderableType:
    """The selected event's shape: its paths and types, and how many shapes its type has."""
    table = Table(box=None, show_header=False, padding=(0, 1))
    table.add_column("path", style="bold")
    table.add_column("type", style="italic")
    shape = list(report.shape.items())
    for path, kind in shape[:MAX_PATHS]:
        table.add_row(path or "(root)", kind)
    if len(shape) > MAX_PATHS:
        table.add_row(Text(f"… {len(shape) - MAX_PATHS:,} more", style="dim"), "")
    count = len(report.shapes)
    head = Text(
        f"#{report.position} {report.type}: one of {count:,} shape{'' if count == 1 else 's'}"
        f" of {report.type}"
    )
    return Group(head, table)


class ShapeActions(_Base):
    def action_shape(self) -> None:
        position = self.timeline.position
        if position is not None:
            self._shape(position)

    @work(thread=True, group="shape", exclusive=True, exit_on_error=False)
    def _shape(self, position: int) -> None:
        report = shape_report(self.store, position)
        self.call_from_thread(self._show_shape, report)

    def _show_shape(self, report: ShapeReport) -> None:
        screen = ResultScreen(
            f"Payload shape · #{report.position} {report.type}",
            ["this", "first", "last", "count", "changes from the shape before"],
            shape_rows(report),
            summary=shape_table(report),
            hint="enter: go to the first event of a shape · escape: close",
            empty="no payload",
        )
        self.push_screen(screen, callback=self._shape_chosen)

    def _shape_chosen(self, position: Any) -> None:
        if position is not None:
            self.post_message(msg.Jump(int(position)))
