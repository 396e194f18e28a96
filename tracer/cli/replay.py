"""``tracer state``, ``states``, ``diff``, ``history``, ``blame``, ``find``, ``whatif``, ``check``,
``checkpoints``: the replay engine's commands, each a thin layer over :class:`tracer.replay.Replay`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import orjson
import pandas as pd
import typer
from rich.box import SIMPLE_HEAD
from rich.console import Group
from rich.json import JSON
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from tracer.cli import app
from tracer.cli.common import DbOption, JsonOption, console, frame_records, open_db, print_json
from tracer.errors import TracerError
from tracer.replay import Diff, Match, Replay, StateResult

ProjectionOption = typer.Option(
    None,
    "--projection",
    "-p",
    help="FILE.py:Name or package.module:Name (default: deep-merge each event's data).",
    show_default=False,
)
AtOption = typer.Option("end", "--at", help="pos:N, version:N, time:ISO-8601 or end.")

_OP_STYLE = {"add": "green", "remove": "red", "change": "yellow"}


@contextmanager
def _replay(db: str | None, projection: str | None) -> Iterator[Replay]:
    store = open_db(db)
    try:
        yield Replay(store, projection)
    finally:
        store.close()


def _compact(value: Any, limit: int = 60) -> str:
    text = orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS, default=str).decode()
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _when(value: Any) -> str:
    if value is None or value is pd.NaT:
        return ""
    if isinstance(value, pd.Timestamp):
        value = value.to_pydatetime()
    if console.width < 100:  # (milliseconds are the first thing a narrow terminal can spare)
        return value.strftime("%Y-%m-%d %H:%M:%S")
    return value.strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]


def _state_panel(result: StateResult | Match, title: str) -> Panel:
    facts = Text()
    for label, value in (
        ("position", result.position),
        ("version", result.version),
        ("time", _when(result.time)),
    ):
        facts.append(f"{label} ", style="dim")
        facts.append(f"{value if value is not None else '—'}   ", style="bold")
    if isinstance(result, Match):
        facts.append("type ", style="dim")
        facts.append(result.type, style="bold magenta")
    body = JSON(orjson.dumps(result.state, option=orjson.OPT_NON_STR_KEYS, default=str).decode())
    return Panel(Group(facts, body), title=title, title_align="left", border_style="cyan")


#: Columns never wrapped: numbers and times read wrong when cut in the middle.
_WHOLE = {"time", "position", "version", "op", "events", "until", "Δ", "added", "removed"}
#: Columns cut with an ellipsis rather than folded (names whose start says enough).
_CUT = {"type", "event id", "stream"}


#: Columns a narrow terminal leaves out (the others say enough; --json has them all).
_SPARE = {"version", "op", "event id"}


def _table(title: str, columns: list[str], rows: list[list[Any]]) -> Table:
    if console.width < 100:
        spare = _SPARE | ({"type"} if len(set(columns) - _SPARE) > 6 else set())
        keep = [i for i, column in enumerate(columns) if column not in spare]
        columns = [columns[i] for i in keep]
        rows = [[row[i] for i in keep] for row in rows]
    # Rules under the header only: in 80 columns the vertical lines cost a column's worth.
    table = Table(title=title, header_style="bold cyan", title_justify="left", box=SIMPLE_HEAD)
    for column in columns:
        whole = column in _WHOLE
        if whole:
            table.add_column(column, no_wrap=True)
        elif column in _CUT:
            table.add_column(column, overflow="ellipsis", no_wrap=True, max_width=16)
        else:  # the values themselves: never squeezed out of sight
            table.add_column(column, overflow="fold", min_width=8)
    for row in rows:
        table.add_row(*row)
    return table


def _op(op: str) -> Text:
    return Text(op, style=_OP_STYLE.get(op, ""))


def _diff_rows(diff: Diff) -> list[list[Any]]:
    return [
        [
            Text(c.path or "(root)", style="bold"),
            _op(c.op),
            "" if c.op == "add" else _compact(c.old),
            "" if c.op == "remove" else _compact(c.new),
        ]
        for c in diff
    ]


@app.command()
def state(
    stream: str | None = typer.Argument(None, help="Stream (or read-model key)."),
    at: str = AtOption,
    projection: str | None = ProjectionOption,
    db: str | None = DbOption,
    json: bool = JsonOption,
) -> None:
    """The state of one stream (or of a read model) at a point in time."""
    with _replay(db, projection) as replay:
        result = replay.state(stream, at)
    if json:
        print_json(result.to_dict())
        return
    name = result.stream if result.stream is not None else replay.name
    console.print(_state_panel(result, f"[bold]{name}[/] at {at}"))


@app.command()
def states(
    at: str = AtOption,
    projection: str | None = ProjectionOption,
    db: str | None = DbOption,
    json: bool = JsonOption,
) -> None:
    """Every stream's state at a point in time (one row per read-model key)."""
    with _replay(db, projection) as replay:
        results = replay.state_results(at)
    if json:
        print_json([r.to_dict() for r in results])
        return
    rows = [
        [
            str(r.stream) if r.stream is not None else f"({replay.name})",
            str(r.position or ""),
            str(r.version or ""),
            _when(r.time),
            _compact(r.state, 80),
        ]
        for r in results
    ]
    console.print(
        _table(
            f"{len(results)} state(s) at {at}",
            ["stream", "position", "version", "time", "state"],
            rows,
        )
    )


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
    with _replay(db, projection) as replay:
        if event is not None:
            result: Diff | pd.DataFrame = replay.event_change(event)
            title = f"event {event} changed ({result.stream or replay.name})"
        elif stream is None and not replay.is_read_model:
            result = replay.diff_all(frm, to)
            title = f"streams changed from {frm} to {to}"
        else:
            result = replay.diff(stream, frm, to)
            title = f"{stream or replay.name}: {frm} → {to}"
    if isinstance(result, pd.DataFrame):
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
                + (" …" if len(r["changes"]) > 6 else ""),
            ]
            for r in frame_records(result)
        ]
        console.print(_table(title, ["stream", "added", "removed", "changed", "paths"], rows))
        return
    if json:
        print_json(result.to_list())
        return
    if not result:
        console.print(f"{title}: [dim]no change[/]")
        return
    console.print(_table(title, ["path", "op", "old", "new"], _diff_rows(result)))


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
    with _replay(db, projection) as replay:
        frame = replay.history(None if stream == "-" else stream, path)
    if json:
        print_json(frame_records(frame))
        return
    rows, previous = [], None
    for r in frame_records(frame):
        value = r["value"]
        delta: Any = ""
        if _number(value) and _number(previous):
            change = value - previous
            delta = Text(f"{change:+g}", style="green" if change > 0 else "red")
        rows.append(
            [
                str(r["position"]),
                str(r["version"] or ""),
                _when(r["time"]),
                r["type"],
                _op(r["op"]),
                _compact(value),
                delta,
            ]
        )
        previous = value
    columns = ["position", "version", "time", "type", "op", "value", "Δ"]
    console.print(_table(f"{stream} · {path}", columns, rows))


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


@app.command()
def blame(
    stream: str | None = typer.Argument(None, help="Stream (or read-model key)."),
    at: str = AtOption,
    projection: str | None = ProjectionOption,
    db: str | None = DbOption,
    json: bool = JsonOption,
) -> None:
    """For every field of a state, the event that last changed it."""
    with _replay(db, projection) as replay:
        frame = replay.blame(stream, at)
    if json:
        print_json(frame_records(frame))
        return
    rows = [
        [
            Text(r["path"] or "(root)", style="bold"),
            _compact(r["value"]),
            str(r["position"] if r["position"] is not None else "initial"),
            r["type"] or "",
            _when(r["time"]),
            r["event_id"] or "",
        ]
        for r in frame_records(frame)
    ]
    title = f"{stream or replay.name} at {at}"
    console.print(_table(title, ["path", "value", "position", "type", "time", "event id"], rows))


@app.command()
def find(
    where: str = typer.Option(..., "--where", help="Python expression over state and event."),
    stream: str | None = typer.Option(None, "--stream", help="Only this stream."),
    frm: str | None = typer.Option(None, "--from", help="Start here (default: start, or end)."),
    backward: bool = typer.Option(False, "--backward", help="The last match at or before --from."),
    projection: str | None = ProjectionOption,
    db: str | None = DbOption,
    json: bool = JsonOption,
) -> None:
    """The first event (or last, --backward) after which a condition holds."""
    with _replay(db, projection) as replay:
        match = replay.find(where, stream=stream, start=frm, backward=backward)
    if json:
        print_json(None if match is None else match.to_dict())
        return
    if match is None:
        console.print(f"[yellow]no event matches[/] {where}")
        return
    console.print(_state_panel(match, f"[bold]{match.stream}[/] — {where}"))


def _pairs(values: list[str], option: str) -> dict[int, Any]:
    result: dict[int, Any] = {}
    for value in values:
        position, sep, text = value.partition("=")
        try:
            result[int(position)] = orjson.loads(text)
        except (ValueError, orjson.JSONDecodeError) as exc:
            raise TracerError(
                f"{option} {value!r}: write POSITION=JSON, e.g. 42='{{\"amount\": 5}}'"
            ) from exc
        if not sep:
            raise TracerError(f"{option} {value!r}: write POSITION=JSON")
    return result


@app.command()
def whatif(
    stream: str | None = typer.Argument(None, help="Only report this stream (or key)."),
    skip: list[int] = typer.Option([], "--skip", help="Position of an event to leave out."),
    edit: list[str] = typer.Option([], "--edit", help="POS=JSON: replay the event with this data."),
    insert: list[str] = typer.Option(
        [], "--insert", help='AFTER=JSON: insert {"stream", "type", "data"} after a position.'
    ),
    at: str = typer.Option("end", "--at", help="Compare the states at this point."),
    projection: str | None = ProjectionOption,
    db: str | None = DbOption,
    json: bool = JsonOption,
) -> None:
    """Replay with events skipped, edited or inserted, and show how the states differ."""
    edits = _pairs(edit, "--edit")
    inserts = list(_pairs(insert, "--insert").items())
    if not (skip or edits or inserts):
        raise TracerError("whatif: give at least one --skip, --edit or --insert")
    with _replay(db, projection) as replay:
        result = replay.whatif(skip=skip, edit=edits, insert=inserts, stream=stream, at=at)
    if json:
        print_json(result.to_dict())
        return
    if result.differences.empty:
        console.print("[green]no state differs[/] from the real replay")
        return
    rows = [
        [
            Text(str(r["stream"]), style="bold"),
            r["path"] or "(root)",
            _op(r["op"]),
            _compact(r["real"]),
            _compact(r["whatif"]),
        ]
        for r in frame_records(result.differences)
    ]
    console.print(_table(f"what if, at {at}", ["stream", "path", "op", "real", "what if"], rows))


@app.command()
def check(
    invariant: list[str] = typer.Option(
        ..., "--invariant", "-i", help="Expression that must hold."
    ),
    stream: str | None = typer.Option(None, "--stream", help="Only this stream."),
    projection: str | None = ProjectionOption,
    db: str | None = DbOption,
    json: bool = JsonOption,
) -> None:
    """Evaluate invariants after every event; exit code 1 when any is violated."""
    with _replay(db, projection) as replay:
        frame = replay.check(invariant, stream=stream)
    if json:
        print_json(frame_records(frame))
    elif frame.empty:
        console.print(f"[green]✓[/] {len(invariant)} invariant(s) hold after every event")
    else:
        rows = [
            [
                r["invariant"],
                Text(str(r["stream"]), style="bold"),
                str(r["position"]),
                r["type"],
                _when(r["time"]),
                str(r["events"]),
                "still broken" if r["until"] is None else str(r["until"]),
            ]
            for r in frame_records(frame)
        ]
        console.print(
            _table(
                f"[red]{len(frame)} violation(s)[/]",
                ["invariant", "stream", "position", "type", "time", "events", "until"],
                rows,
            )
        )
    if not frame.empty:
        raise typer.Exit(1)


@app.command()
def checkpoints(
    projection: str | None = ProjectionOption,
    every: int = typer.Option(
        100_000, "--every", min=1, help="Save states every this many events."
    ),
    drop: bool = typer.Option(False, "--drop", help="Forget this projection's checkpoints."),
    db: str | None = DbOption,
    json: bool = JsonOption,
) -> None:
    """Save (or drop) a projection's checkpoints so later queries fold only a few events."""
    store = open_db(db)
    try:
        replay = Replay(store, projection, every=every)
        if drop:
            replay.drop_checkpoints()
            last = 0
        else:
            last = replay.build_checkpoints()
        reason = replay.checkpoints.reason
    finally:
        store.close()
    if json:
        print_json({"projection": replay.name, "every": every, "last": last, "note": reason})
        return
    if drop:
        console.print(f"dropped the checkpoints of {replay.name}")
    else:
        console.print(f"{replay.name}: checkpoints every {every:,} events, the last at {last:,}")
    if reason:
        console.print(f"[yellow]{reason}[/]")
