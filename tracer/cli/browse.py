"""``tracer info``, ``streams``, ``events``, ``rejected``: what the store holds.

Nothing is cut silently: ``--json`` prints every row unless ``--limit`` is given, and then prints
``{"rows": [...], "total": N, "truncated": bool}``; tables say "50 of 900 shown". An empty
answer because a stream, a type or a payload field does not exist is an error that names the
closest names (did you mean).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

import typer
from rich.table import Table

from tracer.cli import app
from tracer.cli.common import (
    DbOption,
    JsonOption,
    console,
    frame_records,
    frame_table,
    open_db,
    print_json,
    records_table,
)
from tracer.errors import TracerError
from tracer.jsonvalues import decode_json
from tracer.names import close_names, did_you_mean, exists

if TYPE_CHECKING:
    from tracer.api import Store

#: Rows a table shows when no ``--limit`` is given (``--json`` then prints them all).
TABLE_ROWS = 50
LimitOption = typer.Option(
    None,
    "--limit",
    "-n",
    help=f"Rows to show (0 = all; default: {TABLE_ROWS} in a table, all with --json).",
    show_default=False,
)
_PAYLOAD_KEY = re.compile(r"^\s*(?P<column>data|meta)\.(?P<key>[A-Za-z_][\w-]*)")
#: Columns shown whole on one line (names and numbers); the others are cut with an ellipsis.
_WHOLE = {"position", "stream", "version", "type", "time", "category", "events", "last_version"}


def _cap(limit: int | None, json: bool) -> int | None:
    """How many rows to fetch: ``None`` for all."""
    if limit == 0 or (limit is None and json):
        return None
    return TABLE_ROWS if limit is None else limit


def _print_rows(records: list[dict[str, Any]], total: int, limit: int | None) -> None:
    """The ``--json`` document: the rows, or with ``--limit`` the rows, total and whether cut."""
    if limit is None:
        print_json(records)
    else:
        print_json({"rows": records, "total": total, "truncated": total > len(records)})


def _shown(title: str, shown: int, total: int) -> str:
    return f"{title} ({shown:,} of {total:,} shown)" if shown < total else f"{title} ({total:,})"


def _more(shown: int, total: int) -> None:
    if shown < total:
        console.print(f"[dim]{total - shown:,} more; use --limit 0 (or --json) for all[/]")


@app.command()
def info(db: str | None = DbOption, json: bool = JsonOption) -> None:
    """What the store holds: events, streams, types, time range, and each load's accounting."""
    with open_db(db) as store:
        summary = store.info()
        if json:
            print_json(summary)
            return
        table = Table(show_header=False, title=f"tracer store {summary['path']}")
        table.add_column(style="bold cyan")
        table.add_column(justify="right")
        for key, value in summary.items():
            if key in ("path", "last_load", "recent_loads", "rejected"):
                continue
            text = f"{value:,}" if isinstance(value, int) else str(value)
            table.add_row(key.replace("_", " "), text)
        console.print(table)
        _show_loads(summary)
        types = store.type_counts()
        if types:
            shown = [{"type": name, "events": count} for name, count in types[:20]]
            console.print(records_table(shown, title=_shown("Event types", len(shown), len(types))))


_LOAD_KEYS = {"load_id", "rows_read", "loaded", "rejected", "duplicates"}


def _show_loads(summary: dict[str, Any]) -> None:
    recent = summary["recent_loads"]
    if not recent:
        console.print("[dim]no load yet[/]")
        return
    last = recent[-1]
    extra = [k for k, v in last.items() if isinstance(v, int) and k not in _LOAD_KEYS and v]
    counted = ["loaded", "rejected", "duplicates", *extra]  # (and any count added since)
    console.print(
        f"last load #{last['load_id']} ({last['source']}): "
        + ", ".join(f"{last[k]:,} {k}" for k in counted)
        + f" of {last['rows_read']:,} rows read",
        highlight=False,
        soft_wrap=True,
    )
    if len(recent) > 1:
        columns = [c for c in recent[0] if c not in ("finished", "format")]
        title = _shown("Loads", len(recent), summary["loads"])
        console.print(records_table(recent, columns, title=title, max_width=40))


@app.command()
def streams(
    db: str | None = DbOption,
    category: str | None = typer.Option(None, "--category", "-c", help="Only this category."),
    like: str | None = typer.Option(None, "--like", help="Only streams whose name contains this."),
    limit: int | None = LimitOption,
    json: bool = JsonOption,
) -> None:
    """Streams with their event counts, versions and time ranges."""
    with open_db(db) as store:
        frame = store.streams(category=category, like=like)
        cap = _cap(limit, json)
        shown = frame if cap is None else frame.head(cap)
        if json:
            _print_rows(frame_records(shown), len(frame), limit)
            return
        console.print(
            _unfolded(frame_table(shown, title=_shown("Streams", len(shown), len(frame))))
        )
        _more(len(shown), len(frame))


@app.command()
def events(
    stream: str | None = typer.Argument(None, help="Only this stream."),
    db: str | None = DbOption,
    category: str | None = typer.Option(None, "--category", "-c"),
    type: list[str] = typer.Option([], "--type", "-t", help="Only these types (repeatable)."),
    since: str | None = typer.Option(None, "--since", help="From this time (ISO-8601)."),
    until: str | None = typer.Option(None, "--until", help="Up to this time (ISO-8601)."),
    start: int | None = typer.Option(None, "--from", help="From this position."),
    end: int | None = typer.Option(None, "--to", help="Up to this position."),
    where: str | None = typer.Option(None, "--where", help='e.g. "data.amount > 100".'),
    limit: int | None = LimitOption,
    json: bool = JsonOption,
) -> None:
    """Events in global order, filtered."""
    filters: dict[str, Any] = {
        "category": category,
        "type": type or None,
        "since": since,
        "until": until,
        "start": start,
        "end": end,
        "where": where,
    }
    with open_db(db) as store:
        cap = _cap(limit, json)
        frame = store.events(stream, limit=cap, **filters)
        if cap is None or len(frame) < cap:
            total = len(frame)
        else:
            total = store.count_events(stream, **filters)
        if frame.empty:
            _explain_empty(store, stream, type, category, where)
        if json:
            records = frame_records(frame)
            for record in records:
                for key in ("data", "meta"):
                    if record[key] is not None:
                        record[key] = decode_json(record[key])
            _print_rows(records, total, limit)
            return
        shown = frame[["position", "time", "stream", "version", "type", "data"]]
        console.print(_unfolded(frame_table(shown, title=_shown("Events", len(frame), total))))
        _more(len(frame), total)


def _explain_empty(
    store: Store, stream: str | None, types: list[str], category: str | None, where: str | None
) -> None:
    """Raise when nothing matched because a name the filters use is not in the store."""
    with store.lock:
        con = store.con
        if not store.count():
            return
        named = [("stream", stream)] if stream is not None else []
        named += [("type", t) for t in types]
        for kind, name in named:
            if not exists(con, kind, name):
                hint = did_you_mean(close_names(con, kind, name))
                raise TracerError(f"no {kind} {name!r} in the store{hint}")
        if (
            category is not None
            and not con.execute(
                "SELECT 1 FROM events WHERE category = ? LIMIT 1", [category]
            ).fetchall()
        ):
            raise TracerError(f"no category {category!r} in the store")
        path = _payload_key(where)
        if path is not None and not exists(con, *path):
            column, key = path
            hint = did_you_mean(close_names(con, column, key), prefix=f"{column}.")
            raise TracerError(f"no event has {column}.{key}{hint}")


def _payload_key(where: str | None) -> tuple[str, str] | None:
    """``("data", "amount")`` for ``data.amount > 3`` (the top-level key a condition reads)."""
    if not where:
        return None
    from tracer.store import compile_condition

    sql, _ = compile_condition(where)
    found = _PAYLOAD_KEY.match(where)
    if sql == where or found is None:  # (a SQL expression: DuckDB has checked its names)
        return None
    return found["column"], found["key"]


def _unfolded(table: Table) -> Table:
    """Keep stream names, types and times on one line instead of folding them mid-word."""
    flexible = [c for c in table.columns if str(c.header) not in _WHOLE]
    for column in table.columns:
        column.no_wrap = True
        if column in flexible:
            column.overflow = "ellipsis"
            column.ratio = 1  # the payload takes the width left
    table.expand = bool(flexible)
    return table


@app.command()
def rejected(
    db: str | None = DbOption,
    load_id: int | None = typer.Option(None, "--load", help="Only rows of this load."),
    every: bool = typer.Option(False, "--all", help="Rows of every load (default: the latest)."),
    limit: int | None = LimitOption,
    json: bool = JsonOption,
) -> None:
    """Rows the latest load (or --load N, --all) could not load, with source, row and reason."""
    with open_db(db) as store:
        if load_id is None and not every:
            load_id = store.last_load_id()  # (None before any load: every load, none)
        cap = _cap(limit, json)
        frame = store.rejected(load_id, limit=cap)
        total = store.count_rejected(load_id)
        if json:
            _print_rows(frame_records(frame), total, limit)
            return
        if frame.empty:
            scope = "any load" if load_id is None else f"load #{load_id}"
            console.print(f"no row was rejected by {scope}")
        else:
            scope = "every load" if load_id is None else f"load #{load_id}"
            title = _shown(f"Rejected rows of {scope}", len(frame), total)
            console.print(frame_table(frame, title=title, max_width=80))
            _more(len(frame), total)
        earlier = store.count_rejected() - total
        if load_id is not None and earlier:
            console.print(f"[dim]{earlier:,} more rejected by other loads: --all shows them[/]")
