"""``tracer state``, ``states``, ``find``, ``whatif``, ``check``, ``checkpoints``: the replay
engine's commands, each a thin layer over :class:`tracer.replay.Replay` (``diff``, ``history``
and ``blame`` are in :mod:`tracer.cli.history`).
"""

from __future__ import annotations

from typing import Any

import orjson
import typer
from rich.markup import escape
from rich.text import Text

from tracer.cli import app
from tracer.cli.common import (
    DbOption,
    JsonOption,
    console,
    console_err,
    frame_records,
    open_db,
    print_json,
)
from tracer.cli.views import (
    AtOption,
    CategoryOption,
    ClusterOption,
    ExchangeOption,
    ProjectionOption,
    WorkersOption,
    compact,
    op_text,
    open_replay,
    rows_table,
    state_panel,
    when,
)
from tracer.errors import TracerError
from tracer.jsonvalues import decode_json


@app.command()
def state(
    stream: str | None = typer.Argument(None, help="Stream (or read-model key)."),
    at: str = AtOption,
    projection: str | None = ProjectionOption,
    db: str | None = DbOption,
    json: bool = JsonOption,
) -> None:
    """The state of one stream (or of a read model) at a point in time."""
    with open_replay(db, projection) as replay:
        result = replay.state(stream, at)
    if json:
        print_json(result.to_dict())
        return
    name = result.stream if result.stream is not None else replay.name
    console.print(state_panel(result, f"[bold]{name}[/] at {at}"))


@app.command()
def states(
    at: str = AtOption,
    projection: str | None = ProjectionOption,
    category: str | None = CategoryOption,
    workers: int | None = WorkersOption,
    cluster: str | None = ClusterOption,
    exchange: str | None = ExchangeOption,
    db: str | None = DbOption,
    json: bool = JsonOption,
) -> None:
    """Every stream's state at a point in time (one row per read-model key)."""
    with open_replay(
        db, projection, workers, category=category, cluster=cluster, exchange=exchange
    ) as replay:
        results = replay.state_results(at)
    if json:
        print_json([r.to_dict() for r in results])
        return
    rows = [
        [
            str(r.stream) if r.stream is not None else f"({replay.name})",
            str(r.position or ""),
            str(r.version or ""),
            when(r.time),
            compact(r.state, 80),
        ]
        for r in results
    ]
    console.print(
        rows_table(
            f"{len(results)} state(s) at {at}",
            ["stream", "position", "version", "time", "state"],
            rows,
        )
    )


@app.command()
def find(
    where: str = typer.Option(..., "--where", help="Python expression over state and event."),
    stream: str | None = typer.Option(None, "--stream", help="Only this stream."),
    frm: str | None = typer.Option(None, "--from", help="Start here (default: start, or end)."),
    backward: bool = typer.Option(False, "--backward", help="The last match at or before --from."),
    projection: str | None = ProjectionOption,
    category: str | None = CategoryOption,
    workers: int | None = WorkersOption,
    cluster: str | None = ClusterOption,
    exchange: str | None = ExchangeOption,
    db: str | None = DbOption,
    json: bool = JsonOption,
) -> None:
    """The first event (or last, --backward) after which a condition holds.

    The condition sees state (after the event), before (just before it), changed('path'),
    event, stream and key: --where "before['balance'] >= 0 and state['balance'] < 0"."""
    with open_replay(
        db, projection, workers, category=category, cluster=cluster, exchange=exchange
    ) as replay:
        match = replay.find(where, stream=stream, start=frm, backward=backward)
    if json:
        print_json(None if match is None else match.to_dict())
        return
    if match is None:
        console.print(f"[yellow]no event matches[/] {where}")
        return
    console.print(state_panel(match, f"[bold]{match.stream}[/] — {where}"))


def _pairs(values: list[str], option: str) -> dict[int, Any]:
    result: dict[int, Any] = {}
    for value in values:
        position, sep, text = value.partition("=")
        try:
            result[int(position)] = decode_json(text)
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
    workers: int | None = WorkersOption,
    cluster: str | None = ClusterOption,
    exchange: str | None = ExchangeOption,
    db: str | None = DbOption,
    json: bool = JsonOption,
) -> None:
    """Replay with events skipped, edited or inserted, and show how the states differ."""
    edits = _pairs(edit, "--edit")
    inserts = list(_pairs(insert, "--insert").items())
    if not (skip or edits or inserts):
        raise TracerError("whatif: give at least one --skip, --edit or --insert")
    with open_replay(db, projection, workers, cluster=cluster, exchange=exchange) as replay:
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
            op_text(r["op"]),
            compact(r["real"]),
            compact(r["whatif"]),
        ]
        for r in frame_records(result.differences)
    ]
    console.print(
        rows_table(f"what if, at {at}", ["stream", "path", "op", "real", "what if"], rows)
    )


@app.command()
def check(
    invariant: list[str] = typer.Option(
        ..., "--invariant", "-i", help="Expression that must hold."
    ),
    stream: str | None = typer.Option(None, "--stream", help="Only this stream."),
    by: str | None = typer.Option(
        None, "--by", help="Group violations by this expression, e.g. event.meta['appVersion']."
    ),
    projection: str | None = ProjectionOption,
    category: str | None = CategoryOption,
    workers: int | None = WorkersOption,
    cluster: str | None = ClusterOption,
    exchange: str | None = ExchangeOption,
    db: str | None = DbOption,
    json: bool = JsonOption,
) -> None:
    """Evaluate invariants after every event; exit code 1 when any is violated.

    Invariants see state, before, changed('path'), event, stream and key."""
    with open_replay(
        db, projection, workers, category=category, cluster=cluster, exchange=exchange
    ) as replay:
        frame = replay.check(invariant, stream=stream, by=by)
    if json:
        records = frame_records(frame)
        if by is None:
            print_json(records)
        else:
            from tracer.replay import violation_groups

            print_json({"groups": frame_records(violation_groups(frame)), "violations": records})
    elif frame.empty:
        console.print(f"[green]✓[/] {len(invariant)} invariant(s) hold after every event")
    else:
        if by is not None:
            _print_groups(frame, by)
        _print_violations(frame, by)
    if not frame.empty:
        raise typer.Exit(1)


def _print_violations(frame: Any, by: str | None = None) -> None:
    records = frame_records(frame)
    labels = sorted({r["invariant"] for r in records})
    one = len(labels) == 1  # (then the title names it, not every row)
    columns = [*([] if one else ["invariant"]), "stream", "position", "type", "time"]
    columns += [*(["by"] if by is not None else []), "events", "until"]
    # In a narrow terminal several invariants go by number, with a legend: their text would
    # wrap every row to several lines.
    numbered = not one and console.width < 100
    number = {label: str(i) for i, label in enumerate(labels, start=1)}
    rows = []
    for r in records:
        cells = {
            "invariant": number[r["invariant"]] if numbered else r["invariant"],
            "stream": Text(str(r["stream"]), style="bold"),
            "position": str(r["position"]),
            "type": r["type"],
            "time": when(r["time"]),
            "by": compact(r.get("by"), 24),
            "events": str(r["events"]),
            "until": "open" if r["until"] is None else str(r["until"]),
        }
        rows.append([cells[c] for c in columns])
    title = f"[red]{len(frame)} violation(s)[/]"
    if one:
        title += f" of {escape(labels[0])}"
    console.print(rows_table(title, columns, rows))
    if numbered:
        for label, index in number.items():
            console.print(f"  [bold]{index}[/] {escape(label)}", soft_wrap=True)
    if any(r["until"] is None for r in records):
        console.print("[dim]until: the event after which it held again (open: still broken)[/]")


def _print_groups(frame: Any, by: str) -> None:
    from tracer.replay import violation_groups

    groups = frame_records(violation_groups(frame))
    rows = [
        [
            compact(g["by"], 40),
            g["invariant"],
            f"{g['violations']:,}",
            f"{g['streams']:,}",
            str(g["first"]),
        ]
        for g in groups
    ]
    console.print(
        rows_table(
            f"violations by {by}",
            ["by", "invariant", "violations", "streams", "first"],
            rows,
        )
    )


@app.command()
def checkpoints(
    projection: str | None = ProjectionOption,
    every: int = typer.Option(
        100_000, "--every", min=1, help="Save states every this many events."
    ),
    drop: bool = typer.Option(False, "--drop", help="Forget this projection's checkpoints."),
    workers: int | None = WorkersOption,
    cluster: str | None = ClusterOption,
    exchange: str | None = ExchangeOption,
    db: str | None = DbOption,
    json: bool = JsonOption,
) -> None:
    """Save (or drop) a projection's checkpoints so later queries fold only a few events."""
    store = open_db(db)
    try:
        from tracer.replay import Replay

        replay = Replay(
            store, projection, every=every, workers=workers, cluster=cluster, exchange=exchange
        )
        if drop:
            replay.drop_checkpoints()
            last = 0
        else:
            note = replay.note
            if note:
                console_err.print(f"[yellow]note:[/] {note}")
            last = replay.build_checkpoints()
            for text in replay.notes:  # (where the folds ran, with --cluster)
                console_err.print(f"[yellow]note:[/] {escape(text)}", soft_wrap=True)
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
