"""``tracer load``, ``info``, ``streams``, ``events``, ``rejected``: the store's commands."""

from __future__ import annotations

import threading
from typing import Any

import orjson
import typer
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from tracer.api import Store
from tracer.api import open as open_store
from tracer.cli import app
from tracer.cli.common import (
    DbOption,
    JsonOption,
    console,
    console_err,
    frame_records,
    frame_table,
    open_db,
    print_json,
)
from tracer.store import default_db_path


@app.command()
def load(
    sources: list[str] = typer.Argument(
        ..., help="Files, globs, directories, SQLite files or URLs."
    ),
    db: str | None = DbOption,
    table: str | None = typer.Option(None, "--table", help="Table to read from a database."),
    format: str | None = typer.Option(
        None, "--format", help="jsonl, json, csv, tsv, parquet, sqlite, postgres, nats, protobuf."
    ),
    map: list[str] = typer.Option([], "--map", help="FIELD=SPEC: column, col.json.path or SQL."),
    strict: bool = typer.Option(
        False, "--strict", help="Fail, loading nothing, if any row is rejected."
    ),
    tz: str | None = typer.Option(
        None, "--tz", help="Time zone of times without an offset (default UTC)."
    ),
    stream: str | None = typer.Option(None, "--stream", help="JetStream stream to read."),
    subject: str | None = typer.Option(None, "--subject", help="JetStream subject filter."),
    from_seq: int | None = typer.Option(None, "--from-seq", help="JetStream sequence to start at."),
    since: str | None = typer.Option(None, "--since", help="Read messages since this time."),
    proto: str | None = typer.Option(None, "--proto", help="Protobuf descriptor set (.desc)."),
    proto_message: str | None = typer.Option(
        None, "--proto-message", help="Envelope message name."
    ),
    type_map: list[str] = typer.Option(
        [], "--type-map", help="TYPE=pkg.Message: protobuf message of a payload type (repeatable)."
    ),
    subject_pattern: str | None = typer.Option(
        None, "--subject-pattern", help="How subjects name streams, e.g. events.{category}.{id}."
    ),
    batch_size: int | None = typer.Option(None, "--batch-size", help="Rows or messages per read."),
    follow: bool = typer.Option(False, "--follow", help="Keep loading new events as they arrive."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress display."),
    json: bool = JsonOption,
) -> None:
    """Load event logs into the store, accounting for every row."""
    options: dict[str, Any] = {
        "format": format,
        "table": table,
        "mapping": map,
        "strict": strict,
        "tz": tz,
        "stream": stream,
        "subject": subject,
        "from_seq": from_seq,
        "since": since,
        "proto": proto,
        "proto_message": proto_message,
        "type_map": type_map or None,
        "subject_pattern": subject_pattern,
        "batch_size": batch_size,
    }
    store = open_store(db or default_db_path())
    with store:
        if follow:  # the first round loads what is there, later rounds what arrives
            _follow(store, sources, options, json=json)
            return
        report = _load_with_progress(store, sources, options, quiet=quiet or json)
        _show_report(store, report, json=json)
    if report.rejected and strict:
        raise typer.Exit(1)


def _load_with_progress(
    store: Store, sources: list[str], options: dict[str, Any], *, quiet: bool
) -> Any:
    if quiet or not console_err.is_terminal:
        # No terminal to draw on (a pipe, a test): a progress bar would only leave blank lines.
        return store.load(*sources, **options)
    columns = (
        SpinnerColumn(),
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        TextColumn("{task.percentage:>3.0f}%"),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console_err, transient=True) as bar:
        task = bar.add_task("loading", total=100)
        done = threading.Event()

        def poll() -> None:
            # DuckDB reports how far its running query is; show it while the load runs.
            while not done.wait(0.2):
                try:
                    percent = store.con.query_progress()
                except Exception:
                    continue
                if percent >= 0:
                    bar.update(task, completed=percent)

        def step(stage: str, _done: int, _total: int | None) -> None:
            bar.update(task, description=stage)

        watcher = threading.Thread(target=poll, daemon=True)
        watcher.start()
        try:
            return store.load(*sources, progress=step, **options)
        finally:
            done.set()
            watcher.join()


def _show_report(store: Store, report: Any, *, json: bool) -> None:
    if json:
        print_json(report.to_dict())
        return
    table = Table(title="Load", header_style="bold cyan")
    for column in ("source", "format", "rows read", "loaded", "rejected", "duplicates"):
        table.add_column(column, justify="left" if column in ("source", "format") else "right")
    for part in report.sources:
        table.add_row(
            part.source,
            part.format,
            f"{part.rows_read:,}",
            f"[green]{part.loaded:,}[/]",
            f"[red]{part.rejected:,}[/]" if part.rejected else "0",
            f"{part.duplicates:,}",
        )
    console.print(table)
    console.print(
        f"{report.loaded:,} loaded, {report.rejected:,} rejected, {report.duplicates:,} duplicates "
        f"of {report.rows_read:,} rows read in {report.seconds:.2f}s into {store.path}",
        highlight=False,
    )
    for warning in report.warnings:
        console.print(f"[yellow]warning:[/] {warning}", highlight=False)
    if report.reasons:
        console.print("[bold]Rejected rows[/] (see [cyan]tracer rejected[/]):")
        for reason, count in report.reasons:
            console.print(f"  {count:>6,}  {reason}", highlight=False)
        for item in report.first_rejections:
            console.print(
                f"  [dim]{item['source']}:{item['row']}[/] {item['reason']}", highlight=False
            )


def _follow(store: Store, sources: list[str], options: dict[str, Any], *, json: bool) -> None:
    from tracer.load import follow

    stop = threading.Event()

    rounds = 0

    def on_report(report: Any) -> None:
        nonlocal rounds
        rounds += 1
        if json:
            print_json(report.to_dict())
        elif rounds == 1:
            _show_report(store, report, json=False)
        elif report.loaded or report.rejected:
            console.print(
                f"+{report.loaded:,} loaded, {report.rejected:,} rejected "
                f"(positions {report.first_position}..{report.last_position})",
                highlight=False,
            )

    console_err.print("following: new events are loaded as they arrive (Ctrl-C to stop)")
    try:
        follow(store, sources, options=options, stop=stop, on_report=on_report)
    except KeyboardInterrupt:
        stop.set()


@app.command()
def info(db: str | None = DbOption, json: bool = JsonOption) -> None:
    """What the store holds: events, streams, categories, types, time range."""
    with open_db(db) as store:
        summary = store.info()
        if json:
            print_json(summary)
            return
        table = Table(show_header=False, title=f"tracer store {summary['path']}")
        table.add_column(style="bold cyan")
        table.add_column(justify="right")
        for key, value in summary.items():
            if key != "path":
                table.add_row(
                    key.replace("_", " "), f"{value:,}" if isinstance(value, int) else str(value)
                )
        console.print(table)
        types = store.types()
        if len(types):
            console.print(frame_table(types.head(20), title="Event types"))


@app.command()
def streams(
    db: str | None = DbOption,
    category: str | None = typer.Option(None, "--category", "-c", help="Only this category."),
    like: str | None = typer.Option(None, "--like", help="Only streams whose name contains this."),
    limit: int = typer.Option(50, "--limit", "-n", help="Rows to show (0 = all)."),
    json: bool = JsonOption,
) -> None:
    """Streams with their event counts, versions and time ranges."""
    with open_db(db) as store:
        frame = store.streams(category=category, like=like)
        if json:
            print_json(frame_records(frame))
            return
        shown = frame if limit == 0 else frame.head(limit)
        console.print(_unfolded(frame_table(shown, title=f"Streams ({len(frame):,})")))
        if len(shown) < len(frame):
            console.print(f"[dim]{len(frame) - len(shown):,} more; use --limit 0 for all[/]")


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
    limit: int = typer.Option(50, "--limit", "-n", help="Rows to show (0 = all)."),
    json: bool = JsonOption,
) -> None:
    """Events in global order, filtered."""
    with open_db(db) as store:
        frame = store.events(
            stream,
            category=category,
            type=type or None,
            since=since,
            until=until,
            start=start,
            end=end,
            where=where,
            limit=None if limit == 0 else limit,
        )
        if json:
            records = frame_records(frame)
            for record in records:
                for key in ("data", "meta"):
                    if record[key] is not None:
                        record[key] = orjson.loads(record[key])
            print_json(records)
            return
        shown = frame[["position", "time", "stream", "version", "type", "data"]]
        console.print(_unfolded(frame_table(shown, title=f"Events ({len(frame):,} shown)")))


#: Columns shown whole on one line (names and numbers); the others are cut with an ellipsis.
_WHOLE = {"position", "stream", "version", "type", "time", "category", "events", "last_version"}


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
    limit: int = typer.Option(50, "--limit", "-n", help="Rows to show (0 = all)."),
    json: bool = JsonOption,
) -> None:
    """Rows that could not be loaded, with their source, row number and reason."""
    with open_db(db) as store:
        frame = store.rejected(load_id, limit=None if limit == 0 else limit)
        if json:
            print_json(frame_records(frame))
            return
        console.print(
            frame_table(frame, title=f"Rejected rows ({len(frame):,} shown)", max_width=80)
        )
