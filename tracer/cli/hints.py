"""What to try when a load rejected rows: a ``--map`` derived from the reasons and a sample row.

A reason names the canonical field it is about (``position is not an integer``, ``missing
type``, ``unparseable time: …``). The first rejected row with that reason shows what the source
holds there: an object whose scalar member is the value (``--map position=position.commit``), or
a column whose name is close to the field's (``--map type=kind``).
"""

from __future__ import annotations

import difflib
import re
from typing import TYPE_CHECKING, Any

import orjson

from tracer.jsonvalues import decode_json, encode_text

if TYPE_CHECKING:
    from tracer.store import Store

#: Reason -> the field it is about.
_FIELD = re.compile(r"^(?:missing (?P<missing>\w+)|(?P<field>\w+) is not |unparseable (?P<t>time))")
#: Fields whose values are whole numbers (an object's integer member is the obvious one).
_INTEGER = {"position", "version"}
_TOP = 3
_ABSENT = object()


def load_hints(store: Store, report: Any) -> list[str]:
    """Suggested fixes for the most frequent reasons rows of ``report``'s load were rejected."""
    mapping: dict[str, str] = {}
    for part in report.sources:
        for name, spec in part.mapping.items():
            mapping.setdefault(name, spec)
    hints: list[str] = []
    for reason, count in report.reasons[:_TOP]:
        if reason == "invalid JSON" and count < report.rows_read:
            continue  # (a few broken lines: the rows say enough)
        hint = _hint(store, report.load_id, reason, mapping)
        if hint and hint not in hints:
            hints.append(hint)
    return hints


def _hint(store: Store, load_id: int, reason: str, mapping: dict[str, str]) -> str | None:
    if reason == "invalid JSON":
        return "is the file JSON Lines? name its format with --format (json, csv, …)"
    match = _FIELD.match(reason)
    if match is None:
        return None
    field = match["missing"] or match["field"] or match["t"]
    row = _sample(store, load_id, reason)
    spec = mapping.get(field)
    value = _lookup(row, spec)
    if isinstance(value, dict):
        member = _member(value, field)
        if member is not None:
            return f"{spec} holds objects: use --map {field}={spec}.{member}"
    used = {str(s).split(".", 1)[0] for s in mapping.values()}
    columns = [k for k in (row or {}) if k not in used]
    guess = difflib.get_close_matches(field, columns, n=1, cutoff=0.3)
    fix = f"--map {field}={guess[0]}" if guess else f"--map {field}=COLUMN"
    if spec is not None and value is not _ABSENT:
        return f"{field} is read from {spec} (first value: {_short(value)}): try {fix}"
    if spec is not None:
        return f"{field} is read from {spec}, which these rows lack: try {fix}"
    listed = f" (unused columns: {', '.join(columns[:8])})" if columns and not guess else ""
    return f"no column was taken for {field}: try {fix}{listed}"


def _lookup(row: dict[str, Any] | None, spec: str | None) -> Any:
    """The value a column or dotted path names in a row (``_ABSENT`` when it has none)."""
    if row is None or spec is None:
        return _ABSENT
    if spec in row:
        return row[spec]
    value: Any = row
    for key in spec.split("."):
        if not isinstance(value, dict) or key not in value:
            return _ABSENT
        value = value[key]
    return value


def _sample(store: Store, load_id: int, reason: str) -> dict[str, Any] | None:
    """The first rejected row of this load with this reason, as a JSON object if it is one."""
    with store.lock:
        found = store.con.execute(
            "SELECT raw FROM rejected WHERE load_id = ? AND starts_with(reason, ?) "
            "ORDER BY source, source_row LIMIT 1",
            [load_id, reason],
        ).fetchall()
    if not found or not found[0][0]:
        return None
    try:
        row = decode_json(found[0][0])
    except orjson.JSONDecodeError:
        return None
    return row if isinstance(row, dict) else None


def _member(value: dict[str, Any], field: str) -> str | None:
    """The obvious scalar member of an object: the first integer one for a numeric field."""
    scalars = [k for k, v in value.items() if isinstance(v, str | int | float) and v is not True]
    if field in _INTEGER:
        integers = [k for k in scalars if isinstance(value[k], int) and value[k] is not False]
        return integers[0] if integers else None
    close = difflib.get_close_matches(field, scalars, n=1, cutoff=0.3)
    return close[0] if close else (scalars[0] if len(scalars) == 1 else None)


def _short(value: Any) -> str:
    text = encode_text(value, default=str)
    return text if len(text) <= 40 else text[:39] + "…"
