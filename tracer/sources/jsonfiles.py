"""JSON event files: JSON Lines, a JSON array, or JSON objects one after another.

JSON Lines take a fast path (DuckDB's own NDJSON reader, as a view the loader reads once) when
every line of the file is one record, which is checked by counting newlines; otherwise (blank
lines, compressed files, a follower's tail) lines are read in batches and parsed in DuckDB, so
that each event keeps the exact line number it came from.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import duckdb
import orjson
import pyarrow as pa

from tracer.errors import SourceError
from tracer.fields import ALIASES, quote, sql_string
from tracer.jsonvalues import decode_json
from tracer.sources.base import ROW, Staged, stage_arrow, stage_name
from tracer.sources.textio import BOM, compression_of, count_lines, head, iter_lines

SAMPLE_ROWS = 10_000
LINE_BATCH = 50_000
ENVELOPE_JSON = {n.lower() for n in (*ALIASES["data"], *ALIASES["meta"])}  # payload, metadata
CANONICAL_NAMES = {n.lower() for names in ALIASES.values() for n in names}
RECORD = "_record"  # staged column: the whole record as JSON


# -- JSON Lines ---------------------------------------------------------------------------------
# Columns come from the keys of the first records (a sample). Keys that would name a canonical
# field but are not in the sample (``meta`` first appearing after the sample) are staged too, as
# "late" columns the loader checks: when any row has one, the file is staged again with it.
Columns = dict[str, str]  # key -> JSON or VARCHAR


def stage_jsonl(con: duckdb.DuckDBPyConnection, path: Path, known: Columns | None = None) -> Staged:
    """JSON Lines: a view over DuckDB's NDJSON reader when each line is one record."""
    table = stage_name("jsonl")
    reader = f"read_json_objects({sql_string(str(path))}, format='newline_delimited', ignore_errors=true)"
    columns = _sample_columns(con, reader) if known is None else known
    late = _late_keys(columns) if known is None else {}
    lines = count_lines(path) if compression_of(path) is None else -1
    if lines < 0:
        return _stage_lines(con, table, path, "jsonl", columns, late)
    con.execute(
        f'CREATE TEMP VIEW "{table}" AS SELECT {_transform_select("json", columns, late)} '
        f"FROM {reader}"
    )
    staged = _staged_json(
        table,
        path,
        "jsonl",
        columns,
        late,
        rows=lines,
        fallback=lambda: _stage_lines(con, stage_name("jsonl"), path, "jsonl", columns, late),
        widen=lambda found: stage_jsonl(con, path, columns | _pick(late, found)),
    )
    if columns and not _needs_record(columns):
        staged.typed_table = _typed_view(con, f"{table}_typed", path, columns | late)
    return staged


def _typed_view(con: duckdb.DuckDBPyConnection, name: str, path: Path, columns: Columns) -> str:
    """The same columns read in one pass by DuckDB's JSON reader with their types given (no
    sniffing, no second parse), in the order read. A line that is not a record
    reads as a row of NULLs, like a record with none of the keys: both flag ``_invalid``, and
    the loader takes the exact path for them."""
    types = ", ".join(f"{sql_string(k)}: {sql_string(v)}" for k, v in columns.items())
    nothing = " AND ".join(f"{quote(k)} IS NULL" for k in columns)
    con.execute(
        f'CREATE TEMP VIEW "{name}" AS SELECT *, ({nothing}) AS _invalid '
        f"FROM read_json({sql_string(str(path))}, format='newline_delimited', "
        f"columns={{{types}}}, ignore_errors=true)"
    )
    return name


def stage_tail(con: duckdb.DuckDBPyConnection, path: Path, window: dict[str, Any]) -> Staged:
    """Only the lines a follower has not loaded yet (bytes ``start_offset``..``end_offset``),
    numbered from ``start_line + 1`` so every event keeps its line in the whole file."""
    reader = f"read_json_objects({sql_string(str(path))}, format='newline_delimited', ignore_errors=true)"
    columns = _sample_columns(con, reader)

    def lines() -> Iterator[pa.RecordBatch]:
        return _line_batches(
            path,
            first=int(window.get("start_line", 0)) + 1,
            start=int(window.get("start_offset", 0)),
            end=int(window["end_offset"]),
        )

    return _stage_lines(con, stage_name("tail"), path, "jsonl", columns, _late_keys(columns), lines)


def stage_json_array(
    con: duckdb.DuckDBPyConnection, path: Path, known: Columns | None = None, shape: str = "array"
) -> Staged:
    """A JSON array of events, or JSON objects one after another (``shape='values'``); the row
    number is the element's index (1-based)."""
    table = stage_name("json")
    json_format = "array" if shape == "array" else "unstructured"
    reader = f"read_json_objects({sql_string(str(path))}, format='{json_format}')"
    try:
        columns = _sample_columns(con, reader) if known is None else known
        late = _late_keys(columns) if known is None else {}
        select = _transform_select("json", columns, late)
        con.execute(f'CREATE TEMP TABLE "{table}" AS SELECT {select} FROM {reader}')
    except duckdb.Error as exc:
        raise SourceError(
            f"{path} is not a JSON array of events, nor JSON objects one after another: "
            f"{str(exc).splitlines()[0]}"
        ) from exc
    rows = con.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0]
    staged = _staged_json(
        table,
        path,
        "json",
        columns,
        late,
        rows=rows,
        widen=lambda found: stage_json_array(con, path, columns | _pick(late, found), shape),
    )
    staged.is_view = False
    staged.raw_lookup = None
    return staged


def _stage_lines(
    con: duckdb.DuckDBPyConnection,
    table: str,
    path: Path,
    fmt: str,
    columns: Columns,
    late: Columns,
    batches: Callable[[], Iterator[pa.RecordBatch]] | None = None,
) -> Staged:
    """Exact path: read lines in Python (true line numbers), parse them in DuckDB in batches."""
    lines_table = f"{table}_lines"
    stage_arrow(
        con,
        lines_table,
        _line_batches(path) if batches is None else batches(),
        pa.schema([(ROW, pa.int64()), ("line", pa.string())]),
    )
    select = _transform_select("json", columns, late)
    con.execute(
        f"""CREATE TEMP TABLE "{table}" AS
            SELECT {ROW}, {select}, line AS _line
            FROM (SELECT {ROW}, line, CASE WHEN json_valid(line) THEN json(line) END AS json
                  FROM "{lines_table}" WHERE trim(line) <> '')"""
    )
    rows = con.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0]
    con.execute(f'DROP TABLE "{lines_table}"')
    staged = _staged_json(
        table,
        path,
        fmt,
        columns,
        late,
        rows=rows,
        widen=lambda found: _stage_lines(
            con, stage_name(fmt), path, fmt, columns | _pick(late, found), {}, batches
        ),
    )
    staged.is_view = False
    staged.row_expr = ROW
    staged.raw_column = "_line"
    staged.raw_lookup = None
    return staged


def _staged_json(
    table: str,
    path: Path,
    fmt: str,
    columns: Columns,
    late: Columns,
    *,
    rows: int,
    fallback: Callable[[], Staged] | None = None,
    widen: Callable[[set[str]], Staged] | None = None,
) -> Staged:
    record = _needs_record(columns)
    json_columns = {name for name, kind in (columns | late).items() if kind == "JSON"}
    if record:
        json_columns.add(RECORD)
    return Staged(
        table=table,
        source=str(path),
        format=fmt,
        rows_read=rows,
        record_column=RECORD if record else None,
        json_columns=frozenset(json_columns),
        row_expr=None,
        invalid="_invalid",
        hidden=frozenset({"_invalid", "_line", RECORD, ROW, *late}),
        is_view=True,
        raw_lookup=lambda wanted: _raw_lines(path, wanted),
        fallback=fallback,
        late=frozenset(late),
        widen=widen if late else None,
    )


def _needs_record(columns: Columns) -> bool:
    """Whether the whole record is staged too (as JSON, its values' types intact): when it has
    no payload key (flat records: the record is the payload), or keys beside the payload that
    name no canonical field (kept in ``meta``)."""
    keys = {c.lower() for c in columns}
    return not keys & ENVELOPE_JSON or bool(keys - CANONICAL_NAMES)


def _late_keys(columns: Columns) -> Columns:
    """The usual names of the canonical fields that no sampled key gives."""
    present = {c.lower() for c in columns}
    late: Columns = {}
    for names in ALIASES.values():
        if not any(n.lower() in present for n in names):
            late.update({n: "JSON" if n.lower() in ENVELOPE_JSON else "VARCHAR" for n in names})
    return late


def _pick(late: Columns, found: set[str]) -> Columns:
    return {k: v for k, v in late.items() if k in found}


def _sample_columns(con: duckdb.DuckDBPyConnection, reader: str) -> dict[str, str]:
    """Top-level keys of the first records, each staged as JSON (objects, arrays) or VARCHAR.

    Column names are case-insensitive in DuckDB: of keys differing only in case (``id`` and
    ``ID``) the first seen is staged (the others stay in a flat record's payload).
    """
    rows = con.execute(
        f"SELECT json FROM {reader} WHERE json IS NOT NULL LIMIT {SAMPLE_ROWS}"
    ).fetchall()
    kinds: dict[str, str] = {}
    spelled: dict[str, str] = {}  # lower-case key -> the spelling staged
    for (text,) in rows:
        try:
            record = decode_json(text)
        except ValueError:  # (DuckDB reads what Python does not: the row is judged later)
            continue
        if not isinstance(record, dict):
            continue
        for key, value in record.items():
            if spelled.setdefault(key.lower(), key) != key:
                continue
            if isinstance(value, dict | list) or key.lower() in ENVELOPE_JSON:
                kinds[key] = "JSON"
            else:
                kinds.setdefault(key, "VARCHAR")
    return kinds


def _transform_select(json_col: str, columns: Columns, late: Columns) -> str:
    """Columns for each sampled (and late) key, ``_invalid`` for unparsable lines, the record
    if needed."""
    record = _needs_record(columns)
    columns = columns | late
    schema = orjson.dumps(
        {k: ("JSON" if v == "JSON" else "VARCHAR") for k, v in columns.items()}
    ).decode()
    parts = [f"{json_col} IS NULL OR json_type({json_col}) <> 'OBJECT' AS _invalid"]
    if columns:
        parts.insert(0, f"unnest(json_transform({json_col}, {sql_string(schema)}))")
    if record:
        parts.append(f"{json_col} AS {RECORD}")
    return ", ".join(parts)


def _line_batches(
    path: Path, *, first: int = 1, start: int = 0, end: int | None = None
) -> Iterator[pa.RecordBatch]:
    """Lines as Arrow batches of (number, text); ``start``/``end`` bound a plain file's bytes."""
    rows: list[int] = []
    lines: list[str] = []
    source = iter_lines(path) if start == 0 and end is None else _byte_range_lines(path, start, end)
    try:
        for number, line in enumerate(source, start=first):
            if number == 1:
                line = line.removeprefix(BOM)
            rows.append(number)
            lines.append(line.rstrip(b"\r\n").decode("utf-8", errors="replace"))
            if len(lines) >= LINE_BATCH:
                yield pa.RecordBatch.from_arrays(
                    [pa.array(rows, pa.int64()), pa.array(lines, pa.string())], names=[ROW, "line"]
                )
                rows, lines = [], []
    except (OSError, EOFError) as exc:
        raise SourceError(f"cannot read {path}: {exc}") from exc
    if lines:
        yield pa.RecordBatch.from_arrays(
            [pa.array(rows, pa.int64()), pa.array(lines, pa.string())], names=[ROW, "line"]
        )


def _byte_range_lines(path: Path, start: int, end: int | None) -> Iterator[bytes]:
    with path.open("rb") as handle:
        handle.seek(start)
        data = handle.read(-1 if end is None else end - start)
    yield from data.splitlines(keepends=True)


def _raw_lines(path: Path, wanted: set[int]) -> dict[int, str]:
    """The text of a few lines, by 1-based line number (for rejected rows)."""
    found: dict[int, str] = {}
    last = max(wanted)
    for number, line in enumerate(iter_lines(path), start=1):
        if number in wanted:
            found[number] = line.rstrip(b"\r\n").decode("utf-8", errors="replace")
        if number >= last:
            break
    return found


def json_shape(path: Path) -> str:
    """What a ``.json`` file holds: ``lines`` (one object per line), ``array`` (one array), or
    ``values`` (objects one after another, pretty-printed over several lines each)."""
    start = head(path).removeprefix(BOM).lstrip()
    if start[:1] != b"{":
        return "array"
    first = start.split(b"\n", 1)[0]
    try:
        return "lines" if isinstance(decode_json(first), dict) else "values"
    except ValueError:
        return "values"
