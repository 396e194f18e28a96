"""``tracer diff``, ``history``, ``blame``: what changed, every value a field took, and the
event that last changed each field."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import typer
from rich.text import Text

from tracer.cli import app
from tracer.cli.common import (
    DbOption,
    JsonOption,
    console,
    frame_records,
    is_number,
    print_json,
)
from tracer.cli.views import (
    AtOption,
    ProjectionOption,
    compact,
    op_text,
    open_replay,
    rows_table,
    when,
)

if TYPE_CHECKING:
    import pandas as pd

    from tracer.replay import Diff


def _diff_rows(diff: Diff) -> list[list[Any]]:
    return [
        [
            Text(c.path or "(root)", style="bold"),
            op_text(c.op),
            "" if c.op == "add" else compact(c.old),
            "" if c.op == "remove" else compact(c.new),
        ]
        for c in diff
    ]


@app.command()
def diff(
    stream: str | None = typer.Argument(None, help="Stream (or read-model key); omit for all."),
    frm: str = typer.Option("pos:0", "--from", help="Point to compare from."),
    to: str = typer.Option("end", "--to", help="Point to compare to."),
    event: int | None = typer.Option(None, "--event", help="Show what this one event changed."),
    projection: str | None = ProjectionOption,
    db: str | None = DbOption,
    json: bool = JsonOption,
) -> None:
    """What changed between two points: in one stream, across all streams, or by one event."""
    with open_replay(db, projection) as replay:
        if event is not None:
            result: Diff | pd.DataFrame = replay.event_change(event)
            title = f"event {event} changed ({result.stream or replay.name})"
        elif stream is None and not replay.is_read_model:
            result = replay.diff_all(frm, to)
            title = f"streams changed from {frm} to {to}"
        else:
            result = replay.diff(stream, frm, to)
            title = f"{stream or replay.name}: {frm} → {to}"
    from tracer.replay import Diff

    if not isinstance(result, Diff):  # across all streams: a DataFrame
        if json:
            print_json(frame_records(result))
            return
        rows = [
            [
                Text(str(r["stream"]), style="bold"),
                Text(f"+{r['added']}", style="green"),
                Text(f"-{r['removed']}", style="red"),
                Text(f"~{r['changed']}", style="yellow"),
                ", ".join(c["path"] or "(root)" for c in r["changes"][:6])
                + (f" … (+{len(r['changes']) - 6} more)" if len(r["changes"]) > 6 else ""),
            ]
            for r in frame_records(result)
        ]
        console.print(rows_table(title, ["stream", "added", "removed", "changed", "paths"], rows))
        return
    if json:
        print_json(result.to_list())
        return
    if not result:
        console.print(f"{title}: [dim]no change[/]")
        return
    console.print(rows_table(title, ["path", "op", "old", "new"], _diff_rows(result)))


@app.command()
def history(
    stream: str = typer.Argument(..., help="Stream (or read-model key; '-' for the whole model)."),
    path: str = typer.Argument(
        ..., help="Path in the state: balance, items.sku-1.quantity, lines[2]."
    ),
    projection: str | None = ProjectionOption,
    db: str | None = DbOption,
    json: bool = JsonOption,
) -> None:
    """Every value a field took, with the event that set it."""
    with open_replay(db, projection) as replay:
        frame = replay.history(None if stream == "-" else stream, path)
    if json:
        print_json(frame_records(frame))
        return
    rows, previous = [], None
    for r in frame_records(frame):
        value = r["value"]
        delta: Any = ""
        if is_number(value) and is_number(previous):
            change = value - previous
            delta = Text(f"{change:+g}", style="green" if change > 0 else "red")
        rows.append(
            [
                str(r["position"]),
                str(r["version"] or ""),
                when(r["time"]),
                r["type"],
                op_text(r["op"]),
                compact(value),
                delta,
            ]
        )
        previous = value
    columns = ["position", "version", "time", "type", "op", "value", "Δ"]
    console.print(rows_table(f"{stream} · {path}", columns, rows))


@app.command()
def blame(
    stream: str | None = typer.Argument(None, help="Stream (or read-model key)."),
    at: str = AtOption,
    projection: str | None = ProjectionOption,
    db: str | None = DbOption,
    json: bool = JsonOption,
) -> None:
    """For every field of a state, the event that last changed it."""
    with open_replay(db, projection) as replay:
        frame = replay.blame(stream, at)
    if json:
        print_json(frame_records(frame))
        return
    rows = [
        [
            Text(r["path"] or "(root)", style="bold"),
            compact(r["value"]),
            str(r["position"] if r["position"] is not None else "initial"),
            r["type"] or "",
            when(r["time"]),
            r["event_id"] or "",
        ]
        for r in frame_records(frame)
    ]
    title = f"{stream or replay.name} at {at}"
    console.print(
        rows_table(title, ["path", "value", "position", "type", "time", "event id"], rows)
    )
