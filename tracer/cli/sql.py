"""``tracer sql``: any DuckDB query over the store, read-only, as a table or JSON."""

from __future__ import annotations

import typer

from tracer.cli import app
from tracer.cli.common import DbOption, JsonOption, console, print_json
from tracer.errors import TracerError, first_line

#: Rows a table shows unless ``--limit`` says otherwise (``--json`` prints every row).
TABLE_ROWS = 100


@app.command()
def sql(
    query: str = typer.Argument(
        ..., help='DuckDB SQL, e.g. "SELECT type, count(*) FROM events GROUP BY ALL".'
    ),
    db: str | None = DbOption,
    limit: int | None = typer.Option(
        None, "--limit", "-n", help=f"Rows to print (table default {TABLE_ROWS}, JSON: all)."
    ),
    json: bool = JsonOption,
) -> None:
    """Run a DuckDB query over the store (read-only): tables events, rejected, loads, and
    replay_checkpoints once a replay saved some."""
    from pathlib import Path

    import duckdb

    from tracer.api import open as open_store
    from tracer.cli.common import frame_records, frame_table
    from tracer.store import default_db_path

    path = db or default_db_path()
    if not Path(path).exists():
        raise TracerError(f"no store at {path}: load events first with 'tracer load SOURCE'")
    cap = limit if limit is not None else (None if json else TABLE_ROWS)
    with open_store(path, read_only=True) as store:
        try:
            relation = store.con.sql(query)
        except duckdb.Error as exc:
            if "read-only mode" in str(exc):
                raise TracerError(
                    "tracer sql is read-only: it runs queries, never changes the store"
                ) from exc
            raise TracerError(f"query failed: {first_line(exc)}") from exc
        if relation is None:  # a statement that returns nothing (SET, PRAGMA, ...)
            raise TracerError("the query returned no rows: tracer sql runs queries (SELECT ...)")
        try:
            frame = (relation if cap is None else relation.limit(cap + 1)).df()
            total = len(frame)
            if cap is not None and total > cap:
                total = relation.aggregate("count(*)").fetchall()[0][0]
                frame = frame.head(cap)
        except duckdb.Error as exc:
            raise TracerError(f"query failed: {first_line(exc)}") from exc
        json_columns = [
            name
            for name, kind in zip(relation.columns, relation.types, strict=True)
            if str(kind) == "JSON"
        ]
    truncated = len(frame) < total
    if json:
        document: dict[str, object] = {
            "columns": list(frame.columns),
            "rows": _decoded(frame_records(frame), json_columns),
            "total": total,
        }
        if truncated:
            document["truncated"] = True
        print_json(document)
        return
    console.print(frame_table(frame, max_width=80))
    if truncated:
        console.print(
            f"{len(frame):,} of {total:,} rows shown (--limit {total} or --json prints them all)",
            highlight=False,
        )
    else:
        console.print(f"{total:,} row{'s' if total != 1 else ''}", highlight=False)


def _decoded(rows: list[dict[str, object]], json_columns: list[str]) -> list[dict[str, object]]:
    """JSON columns (``data``, ``meta``) as the values they hold, not as text."""
    from tracer.jsonvalues import decode_json  # (integers beyond 64 bits stay exact)

    for row in rows:
        for name in json_columns:
            text = row.get(name)
            if isinstance(text, str):
                row[name] = decode_json(text)
    return rows
