"""Sources: one module per kind of input, each staging rows for the loader.

Every source module exposes ``stage(con, spec, options) -> list[Staged]``; :func:`stage_source`
picks the module from the spec (a URL scheme, a file's suffix, or ``format=``).
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

import duckdb

from tracer.errors import SourceError
from tracer.sources.base import Staged

#: URL schemes and the module that reads them.
SCHEMES = {
    "nats": "nats",
    "postgresql": "postgres",
    "postgres": "postgres",
    "sqlite": "sqlite",
}

#: Formats ``--format`` accepts and the module that reads them.
FORMATS = {
    "jsonl": "files",
    "ndjson": "files",
    "json": "files",
    "csv": "files",
    "tsv": "files",
    "parquet": "files",
    "sqlite": "sqlite",
    "postgres": "postgres",
    "nats": "nats",
    "protobuf": "protobuf",
}

#: Files of length-delimited protobuf messages (read with ``--proto``).
PROTOBUF_SUFFIXES = {".binpb", ".pbdelim"}

SQLITE_SUFFIXES = {".sqlite", ".sqlite3", ".db", ".db3"}
SQLITE_MAGIC = b"SQLite format 3\x00"


def kind_of(spec: str, format: str | None = None) -> str:
    """Which source module reads ``spec``."""
    if format is not None:
        key = format.lower()
        if key not in FORMATS:
            known = ", ".join(sorted(FORMATS))
            raise SourceError(f"unknown format '{format}' (known: {known})")
        return FORMATS[key]
    scheme, sep, _ = spec.partition("://")
    if sep:
        if scheme.lower() not in SCHEMES:
            raise SourceError(f"unknown source scheme '{scheme}://' in {spec}")
        return SCHEMES[scheme.lower()]
    path = Path(spec).expanduser()
    if path.is_file() and (path.suffix.lower() in SQLITE_SUFFIXES or _is_sqlite(path)):
        return "sqlite"
    if path.suffix.lower() in PROTOBUF_SUFFIXES:
        return "protobuf"
    return "files"


def stage_source(
    con: duckdb.DuckDBPyConnection, spec: str, format: str | None, options: dict[str, Any]
) -> list[Staged]:
    """Read one source spec into staging tables."""
    module = importlib.import_module(f"tracer.sources.{kind_of(spec, format)}")
    return module.stage(con, spec, {**options, "format": format})


def _is_sqlite(path: Path) -> bool:
    try:
        with path.open("rb") as handle:
            return handle.read(16) == SQLITE_MAGIC
    except OSError:
        return False
