"""Options, output helpers and shared state for every CLI command."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import orjson
import typer
from rich.console import Console
from rich.table import Table

from tracer.jsonvalues import encode_json

if TYPE_CHECKING:
    import pandas as pd

    from tracer.api import Store

console = Console()
console_err = Console(stderr=True)


@dataclass
class _State:
    debug: bool = False


state = _State()

DbOption = typer.Option(
    None, "--db", help="Store file (default: $TRACER_DB or ./tracer.duckdb).", show_default=False
)
JsonOption = typer.Option(False, "--json", help="Print one JSON document to stdout.")
MemoryOption = typer.Option(
    None,
    "--memory-limit",
    help="Cap DuckDB's memory, e.g. 512MB, 4GiB (default 512MiB); the rest spills to disk.",
    show_default=False,
)


def db_path(db: str | None) -> str:
    """The store a command uses: ``--db``, else ``$TRACER_DB``, else ``./tracer.duckdb``."""
    from tracer.store import default_db_path

    return db or default_db_path()


def open_db(db: str | None, *, must_exist: bool = True, memory_limit: str | None = None) -> Store:
    """Open the store named by ``--db`` / ``$TRACER_DB`` / the default."""
    from tracer.api import open as open_store

    path = db_path(db)
    if not must_exist:
        return open_store(path, read_only=False, memory_limit=memory_limit)
    return _existing(path, memory_limit)


def store_exists(path: str) -> bool:
    """Whether a store file (or its write-ahead log) is already at ``path``."""
    from pathlib import Path

    return Path(path).exists() or Path(f"{path}.wal").exists()


def remove_store(path: str) -> None:
    """Remove a store a failed command created (the file and its write-ahead log)."""
    from pathlib import Path

    for name in (path, f"{path}.wal"):
        Path(name).unlink(missing_ok=True)


def _existing(path: str, memory_limit: str | None = None) -> Store:
    from pathlib import Path

    from tracer.api import open as open_store
    from tracer.errors import TracerError

    if not Path(path).exists():
        raise TracerError(f"no store at {path}: load events first with 'tracer load SOURCE'")
    return open_store(path, memory_limit=memory_limit)


def _default(value: Any) -> Any:
    import pandas as pd

    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    if value is pd.NaT:
        return None
    if isinstance(value, set | frozenset):  # (a projection may keep a set in its state)
        return sorted(value, key=repr)
    if isinstance(value, tuple):
        return list(value)
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def print_json(document: Any) -> None:
    """Print one JSON document to stdout (datetimes as ISO-8601, NaN as null)."""
    data = encode_json(
        document,
        default=_default,
        option=orjson.OPT_INDENT_2 | orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_NON_STR_KEYS,
    )
    sys.stdout.write(data.decode() + "\n")
    sys.stdout.flush()


def frame_records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """DataFrame rows as JSON-ready dicts (NaN/NaT become None)."""
    clean = frame.astype(object).where(frame.notna(), None)
    return clean.to_dict(orient="records")


def frame_table(frame: pd.DataFrame, title: str | None = None, max_width: int = 60) -> Table:
    """A rich table of a DataFrame, cells cut at ``max_width`` characters."""
    import pandas as pd

    numeric = {str(c) for c in frame.columns if pd.api.types.is_numeric_dtype(frame[c])}
    return records_table(
        frame_records(frame),
        [str(c) for c in frame.columns],
        title=title,
        max_width=max_width,
        numeric=numeric,
    )


def records_table(
    records: list[dict[str, Any]],
    columns: list[str] | None = None,
    *,
    title: str | None = None,
    max_width: int = 60,
    numeric: set[str] | None = None,
) -> Table:
    """A rich table of rows (dicts), cells cut at ``max_width`` characters; numbers right-aligned
    (``numeric``: the columns to align so, else those holding only numbers)."""
    columns = columns if columns is not None else list(records[0]) if records else []
    if numeric is None:
        numeric = {
            c
            for c in columns
            if any(r.get(c) is not None for r in records)
            and all(is_number(r.get(c)) for r in records if r.get(c) is not None)
        }
    table = Table(title=title, header_style="bold cyan", show_lines=False)
    for column in columns:
        justify = "right" if column in numeric else "left"
        table.add_column(column, justify=justify, overflow="fold")
    for row in records:
        cells = []
        for column in columns:
            value = row.get(column)
            text = "" if value is None else _cell(value)
            cells.append(text if len(text) <= max_width else text[: max_width - 1] + "…")
        table.add_row(*cells)
    return table


def is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _cell(value: Any) -> str:
    if hasattr(value, "strftime"):  # a datetime or a pandas Timestamp
        return value.strftime("%Y-%m-%d %H:%M:%S.%f").rstrip("0").rstrip(".")
    return str(value)
