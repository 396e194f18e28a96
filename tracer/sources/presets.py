"""Layouts of widely used event stores' tables, recognised from their column names.

A preset maps canonical fields to SPECs over a table's own columns, the same SPECs a user writes
with ``--map FIELD=SPEC``: a column name, a dotted path into a JSON column (``state.a.b``), or a
DuckDB SQL expression over the columns. Both the PostgreSQL and the SQLite sources use
:func:`detect` and hand the result to the loader as ``Staged.preset``.

Besides canonical fields, a preset may carry one reserved key, ``_exclude``: a SQL condition over
the columns; matching rows are not events (Marten's tombstones), and the loader records them in
``rejected`` instead of inserting them. :func:`order_column` names the column that gives a
layout's global order (sources read the table in that order and resume after its last value).

Layouts (see ``shared/REFERENCE.md``):

- ``marten``: Marten's ``mt_events`` (``seq_id`` order, ``tombstone`` rows excluded);
- ``eventsourcing``: the Python ``eventsourcing`` library's ``stored_events`` (SQLite) and
  ``{app}_events`` (PostgreSQL), ``topic`` ``module:Aggregate.Event`` giving type and category,
  ``state`` (JSON bytes, maybe zlib-compressed) giving data and time;
- ``eventuous``: Eventuous' ``messages`` (``global_position`` order; its integer ``stream_id``
  names a row of the ``streams`` table, see :data:`EVENTUOUS_STREAMS`);
- ``generic``: anything else; the loader's automatic detection of common names does the work.
"""

from __future__ import annotations

from collections.abc import Iterable

EXCLUDE = "_exclude"
RESERVED = frozenset({EXCLUDE})

NAMES = ("marten", "eventsourcing", "eventuous", "generic")

#: Eventuous keeps stream names in a separate table: (table, key column, name column). A source
#: that reads ``messages`` joins it when it exists and stages the name as ``stream_name``.
EVENTUOUS_STREAMS = ("streams", "stream_id", "stream_name")

_MARTEN = {"seq_id", "stream_id", "version", "type", "data"}
_EVENTSOURCING = {"originator_id", "originator_version", "topic", "state"}
_EVENTUOUS = {"message_type", "stream_id", "stream_position", "global_position", "json_data"}

# ``bank:Account.Deposited`` -> ``Deposited``; ``bank:Account.Deposited`` -> ``account``.
_TOPIC_TYPE = r"""regexp_extract("topic", '[^.:]+$')"""
_TOPIC_CATEGORY = r"""nullif(lower(regexp_extract("topic", '([^.:]+)\.[^.:]+$', 1)), '')"""


def detect(columns: Iterable[str], table: str | None = None) -> tuple[str, dict[str, str]]:
    """The preset whose layout ``columns`` match: ``(name, {field or reserved key: SPEC})``.

    Column names are compared case-insensitively; SPECs use the names as given. ``table`` breaks
    ties (a table named ``mt_events`` is Marten's even with a few columns missing).
    """
    names = {c.lower(): c for c in columns}
    lower = set(names)
    base = (table or "").rsplit(".", 1)[-1].strip('"').lower()
    if lower >= _MARTEN or (base == "mt_events" and {"seq_id", "data"} <= lower):
        return "marten", _marten(names)
    if lower >= _EVENTSOURCING:
        return "eventsourcing", _eventsourcing(names)
    if lower >= _EVENTUOUS:
        return "eventuous", _eventuous(names)
    return "generic", {}


def preset(name: str, columns: Iterable[str]) -> dict[str, str]:
    """The mapping of the preset called ``name`` over ``columns`` (for a forced ``--preset``)."""
    names = {c.lower(): c for c in columns}
    builders = {
        "marten": _marten,
        "eventsourcing": _eventsourcing,
        "eventuous": _eventuous,
        "generic": lambda _names: {},
    }
    if name.lower() not in builders:
        from tracer.errors import MappingError

        raise MappingError(f"unknown preset '{name}' (known: {', '.join(NAMES)})")
    return builders[name.lower()](names)


#: The column holding each layout's global order.
ORDER_COLUMNS = {
    "marten": "seq_id",
    "eventsourcing": "notification_id",
    "eventuous": "global_position",
}


def order_column(name: str, columns: Iterable[str]) -> str | None:
    """The column (as named in ``columns``) giving the global order of a ``name`` layout."""
    names = {c.lower(): c for c in columns}
    wanted = ORDER_COLUMNS.get(name)
    return names.get(wanted) if wanted else None


def mapping_only(spec: dict[str, str]) -> dict[str, str]:
    """The canonical-field part of a preset, without its reserved keys."""
    return {k: v for k, v in spec.items() if k not in RESERVED}


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _pick(names: dict[str, str], fields: dict[str, str]) -> dict[str, str]:
    """``{canonical: column}`` for the columns present, each column given by its own name."""
    return {field: names[col] for field, col in fields.items() if col in names}


def _marten(names: dict[str, str]) -> dict[str, str]:
    spec = _pick(
        names,
        {
            "position": "seq_id",
            "event_id": "id",
            "stream": "stream_id",
            "version": "version",
            "type": "type",
            "time": "timestamp",
            "data": "data",
            "meta": "headers",
            "correlation_id": "correlation_id",
            "causation_id": "causation_id",
        },
    )
    if "type" in names:  # placeholders for failed transactions' sequence numbers
        spec[EXCLUDE] = f"{_q(names['type'])} = 'tombstone'"
    return spec


def _eventsourcing(names: dict[str, str]) -> dict[str, str]:
    spec = _pick(
        names,
        {
            "position": "notification_id",
            "stream": "originator_id",
            "version": "originator_version",
            "data": "state",
        },
    )
    topic = _q(names["topic"])
    spec["type"] = _TOPIC_TYPE.replace('"topic"', topic)
    spec["category"] = _TOPIC_CATEGORY.replace('"topic"', topic)
    spec["time"] = f"{names['state']}.timestamp._data_"
    return spec


def _eventuous(names: dict[str, str]) -> dict[str, str]:
    spec = _pick(
        names,
        {
            "position": "global_position",
            "event_id": "message_id",
            "version": "stream_position",
            "type": "message_type",
            "time": "created",
            "data": "json_data",
            "meta": "json_metadata",
        },
    )
    if "stream_name" in names:
        spec["stream"] = (
            f"coalesce({_q(names['stream_name'])}, CAST({_q(names['stream_id'])} AS VARCHAR))"
        )
    else:
        spec["stream"] = names["stream_id"]
    if "json_metadata" in names:
        meta = _q(names["json_metadata"])
        spec["correlation_id"] = f"""json_extract_string({meta}, '$."$correlationId"')"""
        spec["causation_id"] = f"""json_extract_string({meta}, '$."$causationId"')"""
    return spec
