"""CSV and TSV files, parsed by DuckDB in bulk; each row keeps the line its record starts on."""

from __future__ import annotations

from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa

from tracer.errors import SourceError
from tracer.fields import ALIASES, quote, sql_string
from tracer.sources.base import ROW, Rejection, Staged, cut, settle, stage_name
from tracer.sources.textio import count_lines, iter_lines

CSV_OPTIONS = "header=true, auto_detect=true, sample_size=20480"
#: CSV columns read as text whatever they look like: identifiers keep leading zeros, types stay
#: names (``T`` is not ``true``).
TEXT_COLUMNS = {
    name.lower()
    for field in ("event_id", "stream", "type", "category", "correlation_id", "causation_id")
    for name in ALIASES[field]
}


def stage_csv(con: duckdb.DuckDBPyConnection, path: Path) -> Staged:
    """CSV with a header line; ``_row`` is the line a record starts on; bad rows are rejected.

    Columns that name events (ids, stream, type, ...) are read as text, so that ``0042`` stays
    ``0042``; integer and date/time columns are read as text and typed after (see below). A
    value the sniffed type cannot hold (``abc`` in a column sniffed as numbers) widens that
    column to text and the file is read again, rather than rejecting a valid event.
    """
    table = stage_name("csv")
    source = sql_string(str(path))
    try:
        header = con.execute(f"DESCRIBE SELECT * FROM read_csv({source}, {CSV_OPTIONS})").fetchall()
    except duckdb.Error as exc:
        raise SourceError(f"cannot read {path} as CSV: {str(exc).splitlines()[0]}") from exc
    sniffed = {name: kind for name, kind, *_ in header}
    types = {c: "VARCHAR" for c in sniffed if c.lower() in TEXT_COLUMNS and sniffed[c] != "VARCHAR"}
    # DuckDB casts a value beyond the sniffed rows into the sniffed type without a word when it
    # can: ``2.5`` into an integer column becomes 3, ``2026-03-01 10:00`` into a date loses its
    # time. Such columns are read as text and typed once every value has been seen.
    numeric = [c for c in sniffed if c not in types and _lossy(sniffed[c]) == "integer"]
    types.update({c: "VARCHAR" for c in sniffed if c not in types and _lossy(sniffed[c])})
    for _attempt in range(len(sniffed) + 1):
        bad, cast = _read_csv(con, table, path, types)
        widen = {c: "VARCHAR" for c in cast if types.get(c) != "VARCHAR"}
        if not widen:
            break
        numeric += [c for c in widen if _numeric(sniffed.get(c, ""))]
        types.update(widen)
        con.execute(f'DROP TABLE "{table}"')
    _type_numbers(con, table, numeric)
    good = con.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0]
    records = good + len(bad)
    lines = count_lines(path)
    if lines != records + 1:
        # Blank lines or quoted values spanning lines: find where each record starts.
        bad = _renumber_csv(con, table, path, good, bad)
    elif bad:
        # One line per record: DuckDB's line numbers are the file's; the good rows are on
        # the other lines, in order.
        rejected = np.fromiter((line for line, _, _ in bad), np.int64, len(bad))
        _set_lines(con, table, np.setdiff1d(np.arange(2, records + 2), rejected))
    rejections = [
        Rejection(int(line), cut(text or ""), f"malformed CSV row: {msg}")
        for line, text, msg in bad
    ]
    return Staged(
        table=table, source=str(path), format="csv", rows_read=records, rejections=rejections
    )


def _numeric(kind: str) -> bool:
    return (
        kind in ("DOUBLE", "FLOAT", "REAL")
        or kind.startswith("DECIMAL")
        or _lossy(kind) == "integer"
    )


def _lossy(kind: str) -> str | None:
    """Whether a sniffed type would silently alter later values: "integer", "temporal" or None."""
    if kind.endswith("INT") or kind in ("HUGEINT", "UHUGEINT"):
        return "integer"
    if kind in ("DATE", "TIME") or kind.startswith("TIMESTAMP"):
        return "temporal"  # (kept as the text it was: ISO text is what the loader reads best)
    return None


def _type_numbers(con: duckdb.DuckDBPyConnection, table: str, columns: list[str]) -> None:
    """Type the columns sniffed as numbers (read as text) by every value they hold: BIGINT when
    all are whole, else JSON with each value as it looks: a number exactly as written (``5``
    stays 5 beside ``2.5``), any other number as a double (``+5``, ``.5``), and text that is no
    number as a string (``n/a`` does not make every amount of the file a string)."""
    staged = con.execute(f'SELECT column_name, column_type FROM (DESCRIBE "{table}")').fetchall()
    columns = [c for c, kind in staged if c in columns and kind == "VARCHAR"]
    whole = _all(
        con,
        table,
        columns,
        r"regexp_full_match({x}, '\s*[-+]?[0-9]+\s*') AND TRY_CAST({x} AS BIGINT) IS NOT NULL",
    )
    for c in columns:
        x = f"trim({quote(c)})"
        if whole[c]:
            kind, cast = "BIGINT", f"CAST({x} AS BIGINT)"
        else:
            number = f"TRY_CAST({x} AS DOUBLE)"
            kind = "JSON"
            cast = (
                f"CASE WHEN {_is_json_number(x)} THEN {x}::JSON WHEN {number} IS NOT NULL "
                f"THEN to_json({number}) ELSE to_json({quote(c)}) END"
            )
        con.execute(f'ALTER TABLE "{table}" ALTER {quote(c)} SET DATA TYPE {kind} USING {cast}')


def _is_json_number(x: str) -> str:
    # (a CASE: json_type raises on text that is not JSON, and AND does not short-circuit)
    return (
        f"CASE WHEN json_valid({x}) THEN json_type({x}) IN ('UBIGINT', 'BIGINT', 'DOUBLE') "
        "ELSE false END"
    )


def _all(
    con: duckdb.DuckDBPyConnection, table: str, columns: list[str], test: str
) -> dict[str, bool]:
    """Whether ``test`` (SQL over ``{x}``) holds on every value (nulls aside) of each column,
    in one scan."""
    if not columns:
        return {}
    checks = ", ".join(
        f"bool_and({test.format(x=quote(c))}) FILTER (WHERE {quote(c)} IS NOT NULL)"
        for c in columns
    )
    found = con.execute(f'SELECT {checks} FROM "{table}"').fetchone()
    return {c: found[i] is not False for i, c in enumerate(columns)}


def _read_csv(
    con: duckdb.DuckDBPyConnection, table: str, path: Path, types: dict[str, str]
) -> tuple[list[tuple[int, str, str]], set[str]]:
    """Read the CSV into ``table``; return its rejected lines and the columns that failed a cast.

    A rejected line is ``(DuckDB's line number, its text, the reasons)``, one per line.
    """
    rejects, scans = f"{table}_rejects", f"{table}_scans"
    typed = ""
    if types:
        members = ", ".join(f"{sql_string(c)}: {sql_string(t)}" for c, t in types.items())
        typed = f", types={{{members}}}"
    try:
        con.execute(
            f"""CREATE TEMP TABLE "{table}" AS SELECT *, row_number() OVER () + 1 AS {ROW}
                FROM read_csv({sql_string(str(path))}, {CSV_OPTIONS}{typed}, ignore_errors=true,
                              store_rejects=true, rejects_table='{rejects}', rejects_scan='{scans}')"""
        )
        bad = con.execute(
            # DuckDB reports a short (long) row once per missing (extra) column: the first
            # (last) of those messages gives the count the row has.
            f"""SELECT line, ltrim(any_value(csv_line), chr(13) || chr(10)), CASE
                    WHEN bool_or(error_type = 'MISSING COLUMNS') THEN arg_min(error_message,
                        column_idx) FILTER (WHERE error_type = 'MISSING COLUMNS')
                    WHEN bool_or(error_type = 'TOO MANY COLUMNS') THEN arg_max(error_message,
                        column_idx) FILTER (WHERE error_type = 'TOO MANY COLUMNS')
                    ELSE string_agg(DISTINCT error_message, '; ' ORDER BY error_message) END
                FROM "{rejects}" GROUP BY line ORDER BY line"""
        ).fetchall()
        cast = {
            r[0]
            for r in con.execute(
                # Only lines whose sole problem is a value of the wrong type: a line with the
                # wrong number of columns is malformed whatever its types.
                f"""SELECT DISTINCT column_name FROM "{rejects}" WHERE line IN (
                        SELECT line FROM "{rejects}" GROUP BY line
                        HAVING bool_and(error_type = 'CAST')) AND column_name IS NOT NULL"""
            ).fetchall()
        }
    except duckdb.Error as exc:
        raise SourceError(f"cannot read {path} as CSV: {str(exc).splitlines()[0]}") from exc
    finally:
        con.execute(f'DROP TABLE IF EXISTS "{rejects}"; DROP TABLE IF EXISTS "{scans}"')
    return bad, cast


def _renumber_csv(
    con: duckdb.DuckDBPyConnection,
    table: str,
    path: Path,
    good: int,
    bad: list[tuple[int, str, str]],
) -> list[tuple[int, str, str]]:
    """Give rows (and rejected lines) the line their record starts on, when records and lines
    differ (blank lines, quoted values with newlines). DuckDB numbers a record, or a blank line,
    one "line" each; the file is scanned once for where each record starts."""
    starts = _csv_record_starts(path)  # DuckDB line number -> physical line, records only
    rejected = {line for line, _, _ in bad}
    lines = [start for number, start in starts.items() if number > 1 and number not in rejected]
    if len(lines) != good or not rejected <= starts.keys():
        return bad  # the scan disagrees with DuckDB's parser: keep record numbers
    _set_lines(con, table, np.array(lines, np.int64))
    return [(starts[line], text, msg) for line, text, msg in bad]


def _set_lines(con: duckdb.DuckDBPyConnection, table: str, lines: np.ndarray) -> None:
    """Number the staged rows (``_row`` 2, 3, ... in file order) with ``lines``, in bulk."""
    mapping = pa.table({"_i": pa.array(np.arange(2, len(lines) + 2)), "_line": pa.array(lines)})
    view = f"{table}_lines"
    settle(con)
    con.register(view, mapping)
    try:
        con.execute(
            f'UPDATE "{table}" SET {ROW} = m._line FROM "{view}" m WHERE m._i = "{table}".{ROW}'
        )
    finally:
        con.unregister(view)


def _csv_record_starts(path: Path, quote: bytes = b'"') -> dict[int, int]:
    """``{DuckDB line number: physical line}`` of each record (the header is number 1).

    A line ends a record unless it leaves a quoted value open (an odd count of quotes so far);
    an empty line outside quotes is no record but counts as a line, as DuckDB counts it.
    """
    starts: dict[int, int] = {}
    number = 0
    open_quote = False
    for physical, line in enumerate(iter_lines(path), start=1):
        if not open_quote:
            number += 1
            if line.strip(b"\r\n"):
                starts[number] = physical
        if line.count(quote) % 2:
            open_quote = not open_quote
    return starts
