"""Columns that hold objects where a canonical field wants one value.

A KurrentDB dump's ``position`` is ``{"commit": N, "prepare": N}``; a Parquet export may hold a
STRUCT where tracer expects a stream name. When a column mapped to a scalar field (anything but
``data`` and ``meta``) holds objects in its first rows, :func:`scalar_members` takes the object's
obvious scalar member (``commit``, a member named like the field, or the only scalar member), or
stops the load *before* anything is read in full, with one line naming the ``--map`` that would
work. A position taken from ``commit`` breaks ties with ``prepare`` (events of one transaction
share a commit position); a flat ``prepare_position`` column does the same.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import duckdb

from tracer.errors import MappingError
from tracer.fields import ALIASES, TIE_BREAKS, find_column, quote, sql_string
from tracer.jsonvalues import decode_json
from tracer.load.mapping import Resolved
from tracer.sources.base import Staged

SAMPLE = 200  # non-null values looked at
_COMMIT_PREPARE = re.compile(r"C:-?\d+/P:-?\d+")
OBJECT_FIELDS = frozenset({"data", "meta"})  # fields that take whole objects
#: Members taken first, per field, before the field's own names (``position.commit``).
PREFERRED: dict[str, tuple[str, ...]] = {
    "position": ("commit", "commitPosition", "commit_position"),
    "time": ("$date", "iso", "utc"),
}
#: Times as (whole seconds, nanoseconds) members: protobuf's Timestamp, Jackson's Instant.
SPLIT_TIMES = (("seconds", "nanos"), ("epochSecond", "nano"))
#: Members that break ties between equal positions, next to a commit member.
TIES = ("prepare", "preparePosition", "prepare_position")


def scalar_members(
    con: duckdb.DuckDBPyConnection,
    st: Staged,
    columns: dict[str, str],
    fields: dict[str, Resolved],
) -> dict[str, Resolved]:
    """``fields`` with object-valued scalar fields replaced by their obvious member; a
    :class:`MappingError` naming a working ``--map`` when there is none."""
    out = dict(fields)
    for name, resolved in fields.items():
        if name in OBJECT_FIELDS:
            continue
        column = find_column(resolved.spec, columns)
        if column is None:  # an expression or a path: the user said what they want
            continue
        found = _member(con, st, name, column, columns[column])
        if found is not None:
            out[name] = found
    position = out.get("position")
    if position is not None and position.tie is None:
        head, dot, member = position.spec.partition(".")
        column = find_column(head, columns) if dot else None
        if column is not None and member in PREFERRED["position"] and columns[column] == "JSON":
            # ``--map position=position.commit``: the prepare member still breaks ties.
            out["position"] = replace(position, tie=_json_member(column, TIES[0]))
            return out
        taken = {r.spec for r in out.values()}
        for candidate in TIE_BREAKS:
            column = find_column(candidate, columns)
            if column is not None and column not in taken:
                out["position"] = replace(position, tie=quote(column))
                break
    return out


def _member(
    con: duckdb.DuckDBPyConnection, st: Staged, field: str, column: str, kind: str
) -> Resolved | None:
    """The member of ``column`` (a JSON or STRUCT column) that gives ``field``; ``None`` when
    the column holds no objects (nothing to change)."""
    struct = kind.startswith("STRUCT(")
    if kind == "VARCHAR" and field == "position":
        return _position_text(con, st, column)
    if kind != "JSON" and not struct:
        return None
    col = f"s.{quote(column)}"
    values = [
        decode_json(v)
        for (v,) in con.execute(
            f"SELECT CAST({'to_json(' + col + ')' if struct else col} AS VARCHAR) "
            f'FROM "{st.table}" s WHERE {col} IS NOT NULL LIMIT {SAMPLE}'
        ).fetchall()
    ]
    objects = [v for v in values if isinstance(v, dict)]
    if not objects:
        if any(isinstance(v, list) for v in values):
            raise MappingError(
                f"{field} holds arrays in column {column}: use --map {field}={column}[0] "
                f"(or another --map {field}=SPEC); nothing was loaded"
            )
        return None
    names = list(dict.fromkeys(k for o in objects for k in o))
    scalars = [k for k in names if not any(isinstance(o.get(k), dict | list) for o in objects)]

    def sql(member: str) -> str:
        return f"{quote(column)}.{quote(member)}" if struct else _json_member(column, member)

    split = [(w, f) for w, f in SPLIT_TIMES if w in scalars and f in scalars]
    if field == "time" and split:  # protobuf's Timestamp, Jackson's Instant: microseconds
        micros = ", ".join(
            f"TRY(CAST({sql(w)} AS BIGINT) * 1000000 "
            f"+ coalesce(CAST({sql(f)} AS BIGINT), 0) // 1000)"
            for w, f in split
        )
        spec = f"{column}.{split[0][0]}+{split[0][1]}"
        return Resolved(f"coalesce({micros})", spec, "auto", json=False)
    return _choose(field, column, objects, scalars, sql)


def _position_text(con: duckdb.DuckDBPyConnection, st: Staged, column: str) -> Resolved | None:
    """KurrentDB's ``Position.ToString()``, ``C:1234/P:1230``: the commit, ties by prepare."""
    col = quote(column)
    values = con.execute(
        f'SELECT DISTINCT s.{col} FROM (SELECT {col} FROM "{st.table}" s '
        f"WHERE {col} IS NOT NULL LIMIT {SAMPLE}) s"
    ).fetchall()
    if not values or not all(_COMMIT_PREPARE.fullmatch(v.strip()) for (v,) in values):
        return None
    part = "regexp_extract({}, 'C:(-?[0-9]+)/P:(-?[0-9]+)', {})"
    return Resolved(part.format(col, 1), column, "auto", json=False, tie=part.format(col, 2))


def _choose(
    field: str,
    column: str,
    objects: list[dict[str, Any]],
    scalars: list[str],
    sql: Callable[[str], str],
) -> Resolved:
    names = list(dict.fromkeys(k for o in objects for k in o))
    wanted = (*PREFERRED.get(field, ()), field, *ALIASES[field], "value")
    lowered = {s.lower(): s for s in scalars}
    pick = next((lowered[w.lower()] for w in wanted if w.lower() in lowered), None)
    if pick is None and len(scalars) == 1:
        pick = scalars[0]
    if pick is None:
        shown = "{" + ", ".join(names[:8]) + (", …" if len(names) > 8 else "") + "}"
        hint = f"{column}.{scalars[0]}" if scalars else _deep_path(column, objects[0])
        raise MappingError(
            f"{field} holds objects {shown} in column {column}: use --map {field}={hint}; "
            "nothing was loaded"
        )
    tie = None
    if field == "position":
        tie_name = next((lowered[t.lower()] for t in TIES if t.lower() in lowered), None)
        tie = sql(tie_name) if tie_name and tie_name != pick else None
    return Resolved(sql(pick), f"{column}.{pick}", "auto", json=False, tie=tie)


def _deep_path(column: str, value: Any) -> str:
    """``column.a.b``: the dotted path to the first scalar inside nested objects."""
    path = column
    while isinstance(value, dict) and value:
        key, value = next(iter(value.items()))
        path += f".{key}"
    return path + ("[0]" if isinstance(value, list) else "")


def _json_member(column: str, member: str) -> str:
    col = quote(column)
    path = sql_string('$."' + member.replace('"', '\\"') + '"')
    # Rows whose value is a plain scalar (a mixed column) keep it as it is.
    return (
        f"TRY(CASE WHEN json_type({col}) = 'OBJECT' THEN json_extract_string({col}, {path}) "
        f"ELSE json_extract_string({col}, '$') END)"
    )
