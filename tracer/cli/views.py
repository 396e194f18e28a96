"""What the replay commands share: their options, opening a replay, and how values, times,
states and tables are shown (``tracer.cli.replay`` and ``tracer.cli.history`` use it)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import orjson
import typer
from rich.box import SIMPLE_HEAD
from rich.console import Group
from rich.json import JSON
from rich.markup import escape
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from tracer.cli.common import console, console_err, open_db
from tracer.jsonvalues import encode_text

if TYPE_CHECKING:
    from tracer.replay import Match, Replay, StateResult

ProjectionOption = typer.Option(
    None,
    "--projection",
    "-p",
    help="FILE.py:Name or package.module:Name (default: deep-merge each event's data).",
    show_default=False,
)
WorkersOption = typer.Option(
    None,
    "--workers",
    "-w",
    min=1,
    help="Fold on this many cores (default: every core; folds of 50,000 events or fewer use "
    "one). Not with --cluster; given, it keeps folds here whatever $TRACER_DASK_SCHEDULER says.",
    show_default=False,
)
ClusterOption = typer.Option(
    None,
    "--cluster",
    help="Fold on the Dask cluster of this scheduler: tcp://HOST:PORT, or the JSON file "
    "dask scheduler --scheduler-file writes (default: $TRACER_DASK_SCHEDULER, unless --workers "
    "is given; not with --workers; folds of 50,000 events or fewer stay here).",
    show_default=False,
)
ExchangeOption = typer.Option(
    None,
    "--exchange",
    help="With --cluster: where the events go as Parquet, an existing directory every worker "
    "can read or an fsspec URL such as s3://bucket/dir (default: the store's directory); "
    "tracer writes into a directory of its own there and removes it.",
    show_default=False,
)
CategoryOption = typer.Option(
    None,
    "--category",
    "-c",
    help="Only the streams of this category (default: the projection's category, if it names one).",
    show_default=False,
)
AtOption = typer.Option("end", "--at", help="pos:N, version:N, time:ISO-8601 or end.")

_OP_STYLE = {"add": "green", "remove": "red", "change": "yellow"}


@contextmanager
def open_replay(
    db: str | None, projection: str | None, workers: int | None = None, **options: Any
) -> Iterator[Replay]:
    from tracer.replay import Replay

    store = open_db(db)
    try:
        replay = Replay(store, projection, workers=workers, **options)
        note = replay.note
        if note:
            console_err.print(f"[yellow]note:[/] {escape(note)}")
        yield replay
        for note in replay.notes:  # (what the queries found worth saying)
            console_err.print(f"[yellow]note:[/] {escape(note)}", soft_wrap=True)
    finally:
        store.close()


def compact(value: Any, limit: int = 60) -> str:
    text = encode_text(value, option=orjson.OPT_NON_STR_KEYS, default=str, exact=True)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def when(value: Any) -> str:
    if value is None or value != value:  # None or NaT
        return ""
    if hasattr(value, "to_pydatetime"):  # a pandas Timestamp
        value = value.to_pydatetime()
    if console.width < 100:  # (milliseconds are the first thing a narrow terminal can spare)
        return value.strftime("%Y-%m-%d %H:%M:%S")
    return value.strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]


def state_panel(result: StateResult | Match, title: str) -> Panel:
    from tracer.replay import Match

    facts = Text()
    for label, value in (
        ("position", result.position),
        ("version", result.version),
        ("time", when(result.time)),
    ):
        facts.append(f"{label} ", style="dim")
        facts.append(f"{value if value is not None else '—'}   ", style="bold")
    if isinstance(result, Match):
        facts.append("type ", style="dim")
        facts.append(result.type, style="bold magenta")
    body = JSON(encode_text(result.state, option=orjson.OPT_NON_STR_KEYS, default=str, exact=True))
    return Panel(Group(facts, body), title=title, title_align="left", border_style="cyan")


#: Columns never wrapped: numbers and times read wrong when cut in the middle.
_WHOLE = {"time", "position", "version", "op", "events", "until", "Δ", "added", "removed"}
#: Columns cut with an ellipsis rather than folded (names whose start says enough).
_CUT = {"type", "event id", "stream"}


#: Columns a narrow terminal leaves out (the others say enough; --json has them all).
_SPARE = {"version", "op", "event id"}


def rows_table(title: str, columns: list[str], rows: list[list[Any]]) -> Table:
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


def op_text(op: str) -> Text:
    return Text(op, style=_OP_STYLE.get(op, ""))
