"""Options, output helpers and shared state for every CLI command."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import Any

import orjson
import pandas as pd
import typer
from rich.console import Console
from rich.table import Table

from tracer.api import Store
from tracer.api import open as open_store
from tracer.store import default_db_path

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


def open_db(db: str | None, *, must_exist: bool = True) -> Store:
    """Open the store named by ``--db`` / ``$TRACER_DB`` / the default."""
    path = db or default_db_path()
    return open_store(path, read_only=False) if not must_exist else _existing(path)


def _existing(path: str) -> Store:
    from pathlib import Path

    from tracer.errors import TracerError

    if not Path(path).exists():
        raise TracerError(f"no store at {path}: load events first with 'tracer load SOURCE'")
    return open_store(path)


def _default(value: Any) -> Any:
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
    data = orjson.dumps(
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
    table = Table(title=title, header_style="bold cyan", show_lines=False)
    for column in frame.columns:
        numeric = pd.api.types.is_numeric_dtype(frame[column])
        table.add_column(str(column), justify="right" if numeric else "left", overflow="fold")
    for row in frame_records(frame):
        cells = []
        for value in row.values():
            text = "" if value is None else _cell(value)
            cells.append(text if len(text) <= max_width else text[: max_width - 1] + "…")
        table.add_row(*cells)
    return table


def _cell(value: Any) -> str:
    if isinstance(value, pd.Timestamp):
        return value.strftime("%Y-%m-%d %H:%M:%S.%f").rstrip("0").rstrip(".")
    return str(value)
