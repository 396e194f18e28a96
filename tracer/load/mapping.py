"""Mapping source columns to the canonical event fields.

A mapping says, for each canonical field, a SPEC: a source column name, a dotted path whose first
segment is a column holding JSON (``state.timestamp._data_``), or a DuckDB SQL expression over the
source columns (``regexp_extract(topic, '\\.(\\w+)$', 1)``). Fields not given explicitly are found
by the names popular event stores and exports use.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from tracer.errors import MappingError
from tracer.fields import ALIASES, FIELDS, find_column, quote, sql_string

_FIELD_SYNONYMS = {"id": "event_id", "metadata": "meta", "timestamp": "time", "payload": "data"}
_IDENT = re.compile(r"^[A-Za-z_][\w$]*$")
_DOTTED = re.compile(r"^[A-Za-z_][\w$]*(\.[A-Za-z_$][\w$-]*|\[\d+\])+$")


@dataclass(frozen=True)
class Resolved:
    """The SQL expression for one canonical field, and where it came from."""

    sql: str
    spec: str
    origin: str  # 'map' (user), 'preset', 'auto'
    json: bool = False  # the expression yields JSON text
    tie: str | None = None  # position only: SQL breaking ties between equal positions


def parse_mapping(items: Mapping[str, str] | Iterable[str] | None) -> dict[str, str]:
    """Parse ``FIELD=SPEC`` items (or a dict) into ``{canonical field: SPEC}``."""
    if items is None:
        return {}
    pairs: list[tuple[str, str]] = []
    if isinstance(items, Mapping):
        pairs = [(str(k), str(v)) for k, v in items.items()]
    else:
        for item in items:
            field_name, sep, spec = str(item).partition("=")
            if not sep:
                raise MappingError(
                    f"malformed --map '{item}': expected FIELD=SPEC, e.g. stream=order_id"
                )
            pairs.append((field_name, spec))
    mapping: dict[str, str] = {}
    for raw_field, raw_spec in pairs:
        name = _FIELD_SYNONYMS.get(raw_field.strip(), raw_field.strip())
        spec = raw_spec.strip()
        if name not in ALIASES:
            raise MappingError(
                f"unknown field '{raw_field}' in --map (fields: {', '.join(FIELDS)})"
            )
        if not spec:
            raise MappingError(f"malformed --map '{raw_field}=': the SPEC after '=' is empty")
        mapping[name] = spec
    return mapping


def spec_sql(
    spec: str, columns: Mapping[str, str], json_columns: Iterable[str], *, as_json: bool
) -> Resolved:
    """SQL for one SPEC over the staged ``columns`` (name -> DuckDB type)."""
    json_cols = set(json_columns)
    column = find_column(spec, columns)
    if column is not None:
        return Resolved(quote(column), spec, "map", json=column in json_cols)
    if _DOTTED.match(spec):
        head, _, rest = spec.partition(".")
        if "[" in head:
            head, _, tail = head.partition("[")
            rest = f"[{tail}" + (f".{rest}" if rest else "")
        column = find_column(head, columns)
        if column is not None:
            path = "$" + ("" if rest.startswith("[") else ".") + rest
            source = _as_json_text(column, columns)
            fn = "json_extract" if as_json else "json_extract_string"
            # TRY: one malformed value makes this row's field NULL, not the whole load fail.
            sql = f"TRY({fn}({source}, {sql_string(path)}))"
            return Resolved(sql, spec, "map", json=as_json)
    return Resolved(f"({spec})", spec, "map", json=False)


def _as_json_text(column: str, columns: Mapping[str, str]) -> str:
    kind = columns.get(column, "VARCHAR").upper()
    if kind == "BLOB":
        return f"decode({quote(column)})"
    if kind in ("JSON", "VARCHAR"):
        return quote(column)
    return f"to_json({quote(column)})"
