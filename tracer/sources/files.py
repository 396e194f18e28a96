"""Event files: which files a spec names, and which reader stages each of them.

JSON files are staged by :mod:`tracer.sources.jsonfiles`, CSV by :mod:`tracer.sources.delimited`,
Parquet here; all are parsed by DuckDB in bulk, plain or compressed.
"""

from __future__ import annotations

import glob
import os
from pathlib import Path
from typing import Any

import duckdb

from tracer.errors import SourceError
from tracer.fields import quote, sql_string
from tracer.sources.base import ROW, Staged, stage_name
from tracer.sources.delimited import stage_csv
from tracer.sources.jsonfiles import json_shape, stage_json_array, stage_jsonl, stage_tail
from tracer.sources.textio import COMPRESSIONS, compression_of

SUFFIX_FORMATS = {
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "json",
    ".csv": "csv",
    ".tsv": "csv",
    ".parquet": "parquet",
    ".pq": "parquet",
}


def stage(con: duckdb.DuckDBPyConnection, spec: str, options: dict[str, Any]) -> list[Staged]:
    """Stage every file that ``spec`` names (a file, a glob or a directory)."""
    staged = []
    for path in expand(spec):
        fmt = options.get("format") or format_of(path)
        fmt = {"ndjson": "jsonl", "tsv": "csv"}.get(fmt, fmt)
        shape = json_shape(path) if fmt == "json" else None
        if fmt == "jsonl" and "end_offset" in options and compression_of(path) is None:
            staged.append(stage_tail(con, path, options))
        elif fmt == "jsonl" or shape == "lines":
            staged.append(stage_jsonl(con, path))
        elif fmt == "json":
            staged.append(stage_json_array(con, path, shape=shape or "array"))
        elif fmt == "csv":
            staged.append(stage_csv(con, path))
        elif fmt == "parquet":
            staged.append(_stage_parquet(con, path))
        else:
            raise SourceError(f"cannot read {path} as '{fmt}'")
    return staged


def expand(spec: str) -> list[Path]:
    """The files a spec names, sorted; a clear error when there are none."""
    spec = os.path.expanduser(spec)
    if any(ch in spec for ch in "*?[") and not Path(spec).exists():
        paths = sorted(Path(p) for p in glob.glob(spec, recursive=True) if Path(p).is_file())
        if not paths:
            raise SourceError(f"no files match {spec}")
        return paths
    path = Path(spec)
    if path.is_dir():
        paths = sorted(p for p in path.rglob("*") if p.is_file() and _known(p))
        if not paths:
            raise SourceError(f"no event files (.jsonl, .json, .csv, .parquet) in directory {spec}")
        return paths
    if not path.exists():
        raise SourceError(f"no such file: {spec}")
    if not path.is_file():
        raise SourceError(f"not a file: {spec}")
    return [path]


def format_of(path: Path) -> str:
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes and suffixes[-1] in COMPRESSIONS:
        suffixes = suffixes[:-1]
    if suffixes and suffixes[-1] in SUFFIX_FORMATS:
        return SUFFIX_FORMATS[suffixes[-1]]
    raise SourceError(f"unknown format for {path} (use --format jsonl|json|csv|tsv|parquet|sqlite)")


def _known(path: Path) -> bool:
    try:
        format_of(path)
    except SourceError:
        return False
    return True


# -- Parquet ------------------------------------------------------------------------------------
def _stage_parquet(con: duckdb.DuckDBPyConnection, path: Path) -> Staged:
    table = stage_name("parquet")
    try:
        con.execute(
            f"""CREATE TEMP TABLE "{table}" AS SELECT * EXCLUDE (file_row_number),
                    file_row_number + 1 AS {ROW}
                FROM read_parquet({sql_string(str(path))}, file_row_number=true)"""
        )
    except duckdb.Error as exc:
        raise SourceError(f"cannot read {path} as Parquet: {str(exc).splitlines()[0]}") from exc
    rows = con.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0]
    return Staged(table=table, source=str(path), format="parquet", rows_read=rows)


__all__ = ["compression_of", "expand", "format_of", "quote", "stage"]
