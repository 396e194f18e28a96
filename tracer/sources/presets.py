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
- ``axon``: Axon Framework's ``domain_event_entry`` (``global_index`` order, 0-based
  ``sequence_number``; the type is the event class's simple name, the full ``payload_type`` and
  ``payload_revision`` are kept in ``meta``; the aggregate ``type`` is the category; Axon's
  ``traceId`` and ``correlationId`` meta-data are the correlation and causation ids; XStream XML
  payloads are converted by the sources, see :mod:`tracer.sources.axon`);
- ``generic``: anything else; the loader's automatic detection of common names does the work.
"""

from __future__ import annotations

from collections.abc import Iterable

EXCLUDE = "_exclude"
RESERVED = frozenset({EXCLUDE})

NAMES = ("marten", "eventsourcing", "eventuous", "axon", "generic")

#: Eventuous keeps stream names in a separate table: (table, key column, name column). A source
#: that reads ``messages`` joins it when it exists and stages the name as ``stream_name``.
EVENTUOUS_STREAMS = ("streams", "stream_id", "stream_name")

_MARTEN = {"seq_id", "stream_id", "version", "type", "data"}
_EVENTSOURCING = {"originator_id", "originator_version", "topic", "state"}
_EVENTUOUS = {"message_type", "stream_id", "stream_position", "global_position", "json_data"}
_AXON = {"global_index", "event_identifier", "aggregate_identifier", "sequence_number"}
_AXON_PAYLOAD = {"payload_type", "payload"}

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
    if lower >= _AXON | _AXON_PAYLOAD:
        return "axon", _axon(names)
    return "generic", {}


def preset(name: str, columns: Iterable[str]) -> dict[str, str]:
    """The mapping of the preset called ``name`` over ``columns`` (for a forced ``--preset``)."""
    names = {c.lower(): c for c in columns}
    builders = {
        "marten": _marten,
        "eventsourcing": _eventsourcing,
        "eventuous": _eventuous,
        "axon": _axon,
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
    "axon": "global_index",
}


def order_column(name: str, columns: Iterable[str]) -> str | None:
    """The column (as named in ``columns``) giving the global order of a ``name`` layout."""
    names = {c.lower(): c for c in columns}
    wanted = ORDER_COLUMNS.get(name)
    return names.get(wanted) if wanted else None


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


def _axon(names: dict[str, str]) -> dict[str, str]:
    spec = _pick(
        names,
        {
            "position": "global_index",
            "event_id": "event_identifier",
            "stream": "aggregate_identifier",
            "version": "sequence_number",
            "time": "time_stamp",
            "data": "payload",
        },
    )
    if "type" in names:  # the aggregate's type (NULL for events not applied by an aggregate)
        spec["category"] = f"NULLIF({_q(names['type'])}, '')"
    # ``io.axoniq.giftcard.api.CardIssuedEvent`` (or ``…Events$CardIssued``) -> its simple name.
    spec["type"] = rf"""regexp_extract({_q(names["payload_type"])}, '[^.$]+$')"""
    meta = f"CAST({_q(names['meta_data'])} AS VARCHAR)" if "meta_data" in names else "NULL"
    revision = _q(names["payload_revision"]) if "payload_revision" in names else "NULL"
    payload_type = _q(names["payload_type"])
    known = f"json_object('payload_type', {payload_type}, 'payload_revision', {revision})"
    # Meta-data that is not JSON stays as it is, for the loader to reject with its reason.
    spec["meta"] = (
        f"CASE WHEN {meta} IS NULL OR json_valid({meta}) THEN "
        f"json_merge_patch(coalesce(json({meta}), '{{}}'), {known}) ELSE {meta} END"
    )
    # Axon's MessageOriginProvider: traceId is the root message, correlationId the parent one.
    for field_name, key in (("correlation_id", "traceId"), ("causation_id", "correlationId")):
        spec[field_name] = (
            f"CASE WHEN json_valid({meta}) THEN json_extract_string({meta}, '$.{key}') END"
        )
    return spec
