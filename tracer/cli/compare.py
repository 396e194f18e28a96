"""``tracer compare``: two versions of a projection over the whole history, a thin layer over
:func:`tracer.replay.compare.compare_projections`. Exit code 1 when any stream diverges."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import orjson
import typer
from rich.box import SIMPLE_HEAD
from rich.console import Group
from rich.table import Table
from rich.text import Text

from tracer.cli import app
from tracer.cli.common import DbOption, JsonOption, console, open_db, print_json
from tracer.cli.views import WorkersOption
from tracer.jsonvalues import encode_text

if TYPE_CHECKING:  # (the engine and pandas load when the command runs, not for --help)
    from tracer.replay.compare import CompareResult

_OP_STYLE = {"add": "green", "remove": "red", "change": "yellow", "error": "bold red"}
#: Diff rows shown per stream, and streams shown (``--json`` has them all).
_ROWS = 6
_STREAMS = 20


@app.command()
def compare(
    projection: str = typer.Option(
        ..., "--projection", "-p", help="The version in use: FILE.py:Name or module:Name."
    ),
    against: str = typer.Option(..., "--against", help="The changed version: FILE.py:Name."),
    stream: str | None = typer.Option(None, "--stream", help="Only this stream (or key)."),
    category: str | None = typer.Option(None, "--category", "-c", help="Only this category."),
    ignore: list[str] = typer.Option(
        [], "--ignore", help="A state path whose differences do not count (repeatable)."
    ),
    workers: int | None = WorkersOption,
    db: str | None = DbOption,
    json: bool = JsonOption,
) -> None:
    """Replay the whole log through two versions of a projection and show, per stream, where
    their states first diverge; exit code 1 when any does."""
    from tracer.replay.compare import compare_projections

    store = open_db(db)
    try:
        result = compare_projections(
            store,
            projection,
            against,
            stream=stream,
            category=category,
            workers=workers,
            ignore=ignore,
        )
    finally:
        store.close()
    if result.old == result.new:  # (two files' classes of one name: say which is which)
        result.old, result.new = _spec_name(projection), _spec_name(against)
    if json:
        print_json(result.to_dict())
    else:
        _print(result)
    if result.diverged:
        raise typer.Exit(1)


def _spec_name(spec: str) -> str:
    """``shop_fixed.py:Payment`` for ``path/to/shop_fixed.py:Payment``."""
    target, _, name = spec.rpartition(":")
    return f"{target.replace(chr(92), '/').rsplit('/', 1)[-1]}:{name}" if target else spec


def _print(result: CompareResult) -> None:
    what = "key" if result.read_model else "stream"
    if result.divergences.empty:
        console.print(
            f"[green]✓[/] {result.old} and {result.new} agree on {result.streams} {what}(s) "
            "after every event"
        )
        return
    console.print(
        f"[bold red]{result.diverged} of {result.streams} {what}(s) diverge[/] "
        f"({result.old} → {result.new}), first at position {result.divergences['position'][0]}"
    )
    rows = result.divergences.astype(object).to_dict(orient="records")
    for row in rows[:_STREAMS]:
        console.print(_block(result, row))
    if len(rows) > _STREAMS:
        console.print(f"[dim]… {len(rows) - _STREAMS} more (--json lists them all)[/]")


def _block(result: CompareResult, row: dict[str, Any]) -> Any:
    name = row["key"] if result.read_model else row["stream"]
    name = f"({result.old})" if name is None else name
    head = Text()
    head.append(str(name), style="bold")
    where = f" in {row['stream']}" if result.read_model else ""
    head.append(f"  #{row['position']} {row['type']}{where}  {_when(row['time'])}")
    end = "agree at the end" if row["agree_at_end"] else "still differ at the end"
    head.append(f"  ({end})", style="dim")
    if row["kind"] == "error":
        head.append("\n  error ", style=_OP_STYLE["error"])
        head.append(str(row["error"]))
        return head
    table = Table(box=SIMPLE_HEAD, header_style="bold cyan", padding=(0, 1), pad_edge=True)
    table.add_column("path", overflow="fold")
    table.add_column("op", no_wrap=True)
    table.add_column(f"{result.old} (old)", overflow="fold")
    table.add_column(f"{result.new} (new)", overflow="fold")
    changes = row["diff"]
    for change in changes[:_ROWS]:
        table.add_row(
            change["path"] or "(root)",
            Text(change["op"], style=_OP_STYLE[change["op"]]),
            "" if change["op"] == "add" else _compact(change["old"]),
            "" if change["op"] == "remove" else _compact(change["new"]),
        )
    if len(changes) > _ROWS:
        table.add_row(f"… {len(changes) - _ROWS} more", "", "", "")
    return Group(head, table)


def _compact(value: Any, limit: int = 40) -> str:
    text = encode_text(value, option=orjson.OPT_NON_STR_KEYS, default=str, exact=True)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _when(value: Any) -> str:
    import pandas as pd

    if value is None or value is pd.NaT:
        return ""
    return pd.Timestamp(value).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]
