"""Payload shapes: for each event type, the distinct shapes its ``data`` takes over the log.

A shape maps the path of every leaf of a payload to its JSON type name (``string``, ``integer``,
``number``, ``boolean``, ``null``, ``object``, ``array``): ``{"amount": "integer", "items[].sku":
"string"}``. Paths use tracer's notation (``customer.name``, ``labels["a.b"]``) with ``[]`` for
the elements of an array; a leaf is a scalar, an empty object or an empty array; the root of a
payload that is not an object is the path ``""``.

Computed in DuckDB in one aggregate: every payload's ``json_structure`` (its keys and types,
nested), grouped with the count, the first and last position and the time of both. Payloads
whose keys only come in another order are the same shape (merged here, exactly). Arrays follow
``json_structure``: the elements' shapes are merged into one (``items[].sku`` when any element
has a ``sku``), an array with no element but nulls is ``array``, and elements of different types
are ``mixed``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import orjson
import pandas as pd

from tracer.replay.paths import join

if TYPE_CHECKING:
    from tracer.store import Store

COLUMNS = ["type", "shape", "count", "first_position", "last_position", "first_time", "last_time"]
#: JSON type names of DuckDB's ``json_structure`` type names.
JSON_TYPES = {
    "VARCHAR": "string",
    "UBIGINT": "integer",
    "BIGINT": "integer",
    "HUGEINT": "integer",
    "UHUGEINT": "integer",
    "DOUBLE": "number",
    "BOOLEAN": "boolean",
    "NULL": "null",
}

_EMPTY = "{}"  # (what an empty object is in a structure built here)
_QUERY = """
SELECT type, json_structure(data) AS structure, count(*) AS n,
       min(position) AS first_position, max(position) AS last_position,
       arg_min(time, position) AS first_time, arg_max(time, position) AS last_time
FROM events {where}
GROUP BY ALL
"""


def payload_shapes(store: Store, type: str | None = None) -> pd.DataFrame:
    """One row per event type and payload shape, by type then first position: ``type``,
    ``shape`` (path -> JSON type name), ``count``, ``first_position``, ``last_position``,
    ``first_time``, ``last_time`` (the times of the first and the last event of that shape)."""
    where, params = ("WHERE type = ?", [type]) if type is not None else ("", [])
    with store.lock:
        cursor = store.cursor()
    try:
        cursor.execute("SET enable_progress_bar = false")
        rows = cursor.execute(_QUERY.format(where=where), params).fetchall()
    finally:
        cursor.close()
    merged: dict[tuple[str, tuple[tuple[str, str], ...]], dict[str, Any]] = {}
    for event_type, structure, count, first, last, first_time, last_time in sorted(
        rows, key=lambda r: (r[0], r[3])
    ):
        shape = flatten(None if structure is None else orjson.loads(structure))
        key = (event_type, tuple(sorted(shape.items())))
        entry = merged.get(key)
        if entry is None:
            merged[key] = {
                "type": event_type,
                "shape": shape,
                "count": count,
                "first_position": first,
                "last_position": last,
                "first_time": first_time,
                "last_time": last_time,
            }
            continue
        entry["count"] += count
        if last > entry["last_position"]:  # (rows come by first position: the first stays)
            entry["last_position"], entry["last_time"] = last, last_time
    records = sorted(merged.values(), key=lambda e: (e["type"], e["first_position"]))
    frame = pd.DataFrame(
        {c: pd.Series([r[c] for r in records], dtype=object) for c in COLUMNS}, columns=COLUMNS
    )
    for column in ("count", "first_position", "last_position"):
        frame[column] = frame[column].astype("int64")
    for column in ("first_time", "last_time"):
        frame[column] = pd.to_datetime(frame[column], utc=True)
    return frame


def flatten(structure: Any, path: str = "", in_array: bool = False) -> dict[str, str]:
    """A ``json_structure`` value as ``{path: JSON type name}`` of its leaves."""
    out: dict[str, str] = {}
    _flatten(structure, path, in_array, out)
    return out


def _flatten(structure: Any, path: str, in_array: bool, out: dict[str, str]) -> None:
    if isinstance(structure, dict):
        if not structure:
            out[path] = "object"
        for key, value in structure.items():
            _flatten(value, join(path, str(key)), in_array, out)
    elif isinstance(structure, list):
        element = structure[0] if structure else "NULL"
        if element == "NULL":
            out[path] = "array"
        else:
            _flatten(element, f"{path}[]", True, out)
    elif structure is None:
        out[path] = "null"
    elif structure in ("JSON", _EMPTY):  # an empty object; in an array, mixed elements too
        out[path] = "mixed" if in_array else "object"
    else:
        out[path] = JSON_TYPES.get(str(structure), str(structure).lower())


def shape_text(shape: dict[str, str]) -> str:
    """``amount: integer, items[].sku: string`` (the root as ``(root)``)."""
    return ", ".join(f"{path or '(root)'}: {kind}" for path, kind in shape.items())


def shape_of(value: Any) -> dict[str, str]:
    """The shape of one payload (a Python value), as :func:`payload_shapes` reports shapes."""
    return flatten(_structure(value))


def _structure(value: Any) -> Any:
    """What ``json_structure`` gives for a value (an empty object is ``_EMPTY``, which it
    writes as ``"JSON"`` but merges with an object into that object)."""
    if isinstance(value, dict):
        return {str(k): _structure(v) for k, v in value.items()} if value else _EMPTY
    if isinstance(value, list):
        merged: Any = "NULL"
        for item in value:
            merged = _merge(merged, _structure(item))
        return [merged]
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "BOOLEAN"
    if isinstance(value, int):
        return "UBIGINT"
    if isinstance(value, float):
        return "DOUBLE"
    return "VARCHAR" if isinstance(value, str) else "JSON"


def _merge(a: Any, b: Any) -> Any:
    if a == "NULL" or a == b:
        return b
    if b == "NULL" or (b == _EMPTY and isinstance(a, dict)):
        return a
    if a == _EMPTY and isinstance(b, dict):
        return b
    if isinstance(a, dict) and isinstance(b, dict):
        return {k: _merge(a.get(k, "NULL"), b.get(k, "NULL")) for k in {**a, **b}}
    if isinstance(a, list) and isinstance(b, list):
        return [_merge(a[0], b[0])]
    if isinstance(a, str) and isinstance(b, str) and {a, b} == {"UBIGINT", "DOUBLE"}:
        return "DOUBLE"
    return "JSON"
