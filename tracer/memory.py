"""DuckDB's memory cap and where work beyond it spills: settings of every store's connection.

A load types, de-duplicates and sorts the whole log in DuckDB; left to itself DuckDB takes up to
80% of the machine's memory for that. The store caps it (:data:`DEFAULT_MEMORY_LIMIT`, or
``--memory-limit`` / ``memory_limit=``) and lets what does not fit spill to disk, so that peak
memory does not grow with the log.
"""

from __future__ import annotations

import os
import re
import tempfile

import duckdb

from tracer.errors import TracerError

#: DuckDB's memory cap when none is given: large sorts, joins and de-duplication spill to disk.
DEFAULT_MEMORY_LIMIT = "512MiB"
_SIZE = re.compile(r"^\s*\d+(\.\d+)?\s*(B|[KMGT]i?B|[KMGT])?\s*$", re.IGNORECASE)


def check_memory_limit(limit: str | None) -> str:
    """A DuckDB memory limit such as ``1GiB`` or ``512MB`` (default :data:`DEFAULT_MEMORY_LIMIT`);
    a clear error for anything else."""
    if limit is None:
        return DEFAULT_MEMORY_LIMIT
    if not _SIZE.match(str(limit)):
        raise TracerError(f"--memory-limit {limit!r}: give a size such as 1GiB, 512MB or 4GB")
    return str(limit).strip().replace(" ", "")


def spill_directory(path: str | None) -> str:
    """Where DuckDB spills: ``STORE.tmp`` beside a store file (DuckDB's own choice), a directory
    of its own in the system's temporary directory for an in-memory store (not ``./.tmp``)."""
    if path is not None:
        return f"{path}.tmp"
    return os.path.join(tempfile.gettempdir(), f"tracer-spill-{os.getpid()}")


def cap_memory(con: duckdb.DuckDBPyConnection, limit: str | None, path: str | None) -> None:
    """Cap the connection's memory at ``limit`` (checked; None: the default) and set where
    it spills."""
    spill = spill_directory(path).replace("'", "''")
    con.execute(f"SET memory_limit = '{check_memory_limit(limit)}'")
    con.execute(f"SET temp_directory = '{spill}'")
