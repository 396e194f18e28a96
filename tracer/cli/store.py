"""``tracer load``: sources into the store, every row accounted for.

``tracer.cli.browse`` has the commands that read the store (``info``, ``streams``, ``events``,
``rejected``).
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

import typer
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from tracer.cli import app
from tracer.cli.common import (
    DbOption,
    JsonOption,
    MemoryOption,
    console,
    console_err,
    db_path,
    print_json,
    remove_store,
    store_exists,
)
from tracer.cli.hints import load_hints

if TYPE_CHECKING:
    from tracer.api import Store


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
    include_system: bool = typer.Option(
        False, "--include-system", help="Also load system events ($ streams and types)."
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
    memory_limit: str | None = MemoryOption,
    json: bool = JsonOption,
) -> None:
    """Load event logs into the store, accounting for every row."""
    options: dict[str, Any] = {
        "format": format,
        "table": table,
        "mapping": map,
        "strict": strict,
        "tz": tz,
        "include_system": include_system,
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
    from tracer.api import open as open_store

    path = db_path(db)
    fresh = not store_exists(path)  # a load that fails leaves no new store behind
    try:
        with open_store(path, memory_limit=memory_limit) as store:
            if follow:  # the first round loads what is there, later rounds what arrives
                _follow(store, sources, options, json=json)
                return
            report = _load_with_progress(store, sources, options, quiet=quiet or json)
            # Every row rejected (none loaded, none already there): the load failed.
            failed = bool(report.rejected) and not report.loaded and not report.duplicates
            hints = load_hints(store, report) if report.rejected else []
            _show_report(store, report, json=json, hints=hints, failed=failed, fresh=fresh)
    except BaseException:
        if fresh:
            remove_store(path)
        raise
    if failed:
        if fresh:
            remove_store(path)
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


def _show_report(
    store: Store,
    report: Any,
    *,
    json: bool,
    hints: list[str] = (),  # type: ignore[assignment]
    failed: bool = False,
    fresh: bool = False,
) -> None:
    if json:
        print_json({**report.to_dict(), "failed": failed, "hints": list(hints)})
        return
    table = Table(title="Load", header_style="bold cyan")
    system = ("system",) if report.system else ()  # (KurrentDB's $ streams, left out)
    for column in ("source", "format", "rows read", "loaded", "rejected", "duplicates", *system):
        table.add_column(column, justify="left" if column in ("source", "format") else "right")
    for part in report.sources:
        table.add_row(
            part.source,
            part.format,
            f"{part.rows_read:,}",
            f"[green]{part.loaded:,}[/]",
            f"[red]{part.rejected:,}[/]" if part.rejected else "0",
            f"{part.duplicates:,}",
            *([f"{part.system:,}"] if system else []),
        )
    console.print(table)
    console.print(
        f"{report.loaded:,} loaded, {report.rejected:,} rejected, {report.duplicates:,} duplicates"
        + (f", {report.system:,} system" if system else "")
        + f" of {report.rows_read:,} rows read in {report.seconds:.2f}s"
        + ("" if failed and fresh else f" into {store.path}"),
        highlight=False,
    )
    if system:
        console.print(
            f"{report.system:,} system events ($ streams and types) left out: "
            "--include-system loads them",
            highlight=False,
        )
    for warning in report.warnings:
        console.print(f"[yellow]warning:[/] {warning}", highlight=False)
    if report.reasons:
        where = (
            "no store was written"
            if failed and fresh
            else f"see [cyan]tracer rejected --load {report.load_id}[/]"
        )
        console.print(f"[bold]Rejected rows[/] ({where}):")
        for reason, count in report.reasons:
            console.print(f"  {count:>6,}  {reason}", highlight=False)
        for item in report.first_rejections:
            console.print(
                f"  [dim]{item['source']}:{item['row']}[/] {item['reason']}", highlight=False
            )
    for hint in hints:
        console.print(f"[bold]hint:[/] {hint}", highlight=False, soft_wrap=True)
    if failed:
        console_err.print(
            f"[bold red]error:[/] every row was rejected ({report.rejected:,} of "
            f"{report.rows_read:,}); nothing was loaded",
            highlight=False,
            soft_wrap=True,
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
