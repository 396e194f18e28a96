"""Axon Framework payloads: XStream XML converted to JSON, only for the rows that hold XML.

Axon serialises ``payload`` and ``meta_data`` with XStream (XML) by default, or with Jackson
(JSON). After a source staged an Axon ``domain_event_entry`` table, :func:`convert_xml` finds the
values that are XML (one SQL filter: JSON rows are left alone) and converts them with
``xmltodict``:

- the root element (the event class, ``<io.axoniq.giftcard.api.CardIssuedEvent>``) is unwrapped:
  its children are the event's fields;
- XML has no types: text that is a plain integer or decimal becomes a number, ``true`` and
  ``false`` booleans, anything else stays text (``"007"`` stays a string: a leading zero);
- XStream's maps (``<meta-data><entry><string>traceId</string><string>…</string></entry>…``) become
  objects; its ``class``, ``reference`` and ``resolves-to`` attributes are dropped.

A value that is not well-formed XML (or ``xmltodict`` missing) leaves its row out of the staged
table, returned as a rejection whose reason says "XML payload".
"""

from __future__ import annotations

import re
from typing import Any

import duckdb
import orjson
import pyarrow as pa

from tracer.sources.base import ROW, Rejection, cut, settle

#: The columns of ``domain_event_entry`` that may hold XML.
XML_COLUMNS = ("payload", "meta_data")
_NUMBER = re.compile(r"-?(0|[1-9]\d{0,17})(\.\d+)?")
_DROPPED = {"@class", "@reference", "@resolves-to", "@serialization"}


def convert_xml(con: duckdb.DuckDBPyConnection, table: str, columns: list[str]) -> list[Rejection]:
    """Convert the XML values of ``columns`` (the Axon ones present) in the staged ``table``
    to JSON text; rows whose XML cannot be converted are deleted and returned as rejections."""
    names = {c.lower(): c for c in columns}
    bad: dict[int, Rejection] = {}
    for wanted in XML_COLUMNS:
        column = names.get(wanted)
        if column is None:
            continue
        col = '"' + column.replace('"', '""') + '"'
        rows = con.execute(
            f"""SELECT rowid, {ROW}, CAST({col} AS VARCHAR) FROM "{table}"
                WHERE starts_with(ltrim(CAST({col} AS VARCHAR)), '<')"""
        ).fetchall()
        rids, texts = [], []
        for rid, row, text in rows:
            try:
                texts.append(orjson.dumps(xml_to_json(text, meta=wanted == "meta_data")).decode())
                rids.append(rid)
            except ValueError as exc:
                where = "" if wanted == "payload" else f" in {column}"
                reason = f"XML payload{where} could not be converted to JSON: {exc}"
                bad.setdefault(rid, Rejection(row, cut(text), reason))
        if rids:
            _update(con, table, col, rids, texts)
    if bad:
        listed = ", ".join(str(r) for r in bad)
        con.execute(f'DELETE FROM "{table}" WHERE rowid IN ({listed})')
    return sorted(bad.values(), key=lambda r: r.row)


def xml_to_json(text: str, *, meta: bool = False) -> Any:
    """The JSON value of one XStream document (see the module's rules); ``ValueError`` when it
    is not well-formed XML or ``xmltodict`` is not installed."""
    try:
        from xml.parsers.expat import ExpatError

        import xmltodict
    except ImportError as exc:  # pragma: no cover - a dependency of the package
        raise ValueError("xmltodict is not installed (pip install xmltodict)") from exc
    try:
        document = xmltodict.parse(text, disable_entities=True)
    except (ExpatError, ValueError) as exc:
        raise ValueError(f"not well-formed XML ({exc})") from None
    (root, body), *_ = document.items()
    value = _value(body)
    if meta or root in ("meta-data", "map"):
        value = _entries(value)
    return {} if value is None else value


def _value(node: Any) -> Any:
    if isinstance(node, list):
        return [_value(n) for n in node]
    if isinstance(node, dict):
        kept = {k: v for k, v in node.items() if k not in _DROPPED}
        if set(kept) == {"#text"}:
            return _scalar(kept["#text"])
        return {k.removeprefix("@"): _value(v) for k, v in kept.items()}
    return _scalar(node)


def _scalar(text: Any) -> Any:
    if not isinstance(text, str):
        return text
    if _NUMBER.fullmatch(text):
        return orjson.loads(text)
    return {"true": True, "false": False}.get(text, text)


def _entries(value: Any) -> Any:
    """XStream's map ``{"entry": [{"string": [k, v]}, …]}`` as ``{k: v, …}``."""
    if not isinstance(value, dict) or set(value) != {"entry"}:
        return value
    entries = value["entry"] if isinstance(value["entry"], list) else [value["entry"]]
    out: dict[str, Any] = {}
    for entry in entries:
        if not isinstance(entry, dict):
            return value
        items = [x for v in entry.values() for x in (v if isinstance(v, list) else [v])]
        if len(items) != 2:
            return value
        out[str(items[0])] = items[1]
    return out


def _update(
    con: duckdb.DuckDBPyConnection, table: str, col: str, rids: list[int], texts: list[str]
) -> None:
    view = f"{table}_xml"
    settle(con)
    con.register(view, pa.table({"rid": pa.array(rids, pa.int64()), "text": pa.array(texts)}))
    try:
        con.execute(
            f'UPDATE "{table}" SET {col} = x.text FROM "{view}" x WHERE "{table}".rowid = x.rid'
        )
    finally:
        con.unregister(view)
