"""Protobuf payloads, decoded from a descriptor set, and files of length-delimited messages.

``--proto FILE.desc`` names a descriptor set (``protoc --include_imports --descriptor_set_out``;
a ``.proto`` file is compiled at run time when ``protoc`` or ``grpcio-tools`` is installed) and
``--proto-message full.Name`` the envelope message (by default the one message whose name ends
in ``Envelope``). Each top-level field of the envelope becomes a staged column with the field's
own name, so ``id``, ``timestamp``, ``type`` and ``payload`` map like any other columns; fields
that no message sets are left out (proto3 cannot tell an unset field from 0 or ""). The payload (a ``bytes`` field named ``payload``, ``data`` or ``body``) is
decoded as JSON when it parses, else as the protobuf message its type names: ``--type-map
Deposited=bank.Deposited`` or, without a map, the message whose full or short name is the type.
A message that cannot be decoded is rejected with its row and the reason, never dropped.

As a source, this module reads files of length-delimited envelopes (each message preceded by its
size as a varint, as ``writeDelimitedTo`` / ``protodelim`` write them), suffix ``.binpb``.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from tracer.errors import SourceError
from tracer.jsonvalues import decode_json, encode_text
from tracer.sources.base import ROW, Rejection, Staged, cut, stage_arrow, stage_name
from tracer.sources.protodesc import (
    load_descriptors,
    load_pool,
    parse_type_map,
    protobuf_modules,
)

__all__ = ["DecodeFailure", "Decoder", "load_pool", "read_delimited", "stage", "write_delimited"]

PAYLOAD_NAMES = ("payload", "data", "body")
TYPE_NAMES = ("type", "event_type", "message_type")


class DecodeFailure(Exception):
    """A message (or its payload) that does not decode; the text is the rejection reason."""


class Decoder:
    """Decodes envelopes of one message type into staged columns."""

    def __init__(self, proto: str | Path, message: str | None, type_map: object = None):
        _, _, message_factory = protobuf_modules()
        self.pool, names = load_descriptors(proto)
        envelopes = [n for n in names if n.rsplit(".", 1)[-1].endswith("Envelope")]
        if message is None and len(envelopes) == 1:
            message = envelopes[0]
        if message is None:
            if len(names) != 1:
                raise SourceError(
                    f"name the envelope message with --proto-message (one of: {', '.join(names)})"
                )
            message = names[0]
        try:
            self.descriptor = self.pool.FindMessageTypeByName(message)
        except KeyError:
            raise SourceError(
                f"no message {message} in {proto} (messages: {', '.join(names)})"
            ) from None
        self.message_class = message_factory.GetMessageClass(self.descriptor)
        self.type_map = parse_type_map(type_map)
        for etype, name in self.type_map.items():
            try:
                self.pool.FindMessageTypeByName(name)
            except KeyError:
                raise SourceError(
                    f"--type-map {etype}={name}: no such message in {proto}"
                ) from None
        self._classes: dict[str, Any] = {}
        self._short = {}
        for full in names:
            self._short.setdefault(full.rsplit(".", 1)[-1], []).append(full)
        fields = list(self.descriptor.fields)
        bytes_fields = [f.name for f in fields if f.type == f.TYPE_BYTES and not _repeated(f)]
        self.payload = next((n for n in PAYLOAD_NAMES if n in bytes_fields), None)
        if self.payload is None and len(bytes_fields) == 1:
            self.payload = bytes_fields[0]
        field_names = [f.name for f in fields]
        self.type_field = next((n for n in TYPE_NAMES if n in field_names), None)
        self.fields = fields
        self.arrow_fields = [pa.field(f.name, _arrow_type(f)) for f in fields]
        self.json_columns = frozenset(
            f.name for f in fields if f.name == self.payload or _json_kind(f)
        )

    # -- decoding ----------------------------------------------------------------------------
    def decode(self, raw: bytes, type_hint: str | None = None) -> list[Any]:
        """One envelope as a list of column values, in the order of :attr:`arrow_fields`."""
        try:
            msg = self.message_class.FromString(raw)
        except Exception as exc:
            raise DecodeFailure(f"not a {self.descriptor.full_name} message: {exc}") from None
        etype = getattr(msg, self.type_field) if self.type_field else None
        etype = etype or type_hint
        values = []
        for f in self.fields:
            if f.name == self.payload:
                values.append(self.payload_json(getattr(msg, f.name), etype))
            else:
                values.append(_column_value(msg, f))
        return values

    def payload_json(self, payload: bytes, etype: str | None) -> str | None:
        """The payload as JSON text: JSON bytes as they are, protobuf through the type's message."""
        if payload:
            try:
                decode_json(payload)
                return payload.decode()
            except ValueError:  # (not JSON, or not UTF-8)
                pass
        cls = self.payload_class(etype) if etype else None
        if cls is None:
            if not payload:
                return None
            raise DecodeFailure(
                f"payload of type {etype or '(none)'} is neither JSON nor a known protobuf "
                f"message (map it with --type-map {etype or 'TYPE'}=package.Message)"
            )
        try:
            inner = cls.FromString(payload)
        except Exception as exc:
            raise DecodeFailure(
                f"payload is not a {cls.DESCRIPTOR.full_name} message: {exc}"
            ) from None
        return encode_text(to_python(inner), exact=True)

    def payload_class(self, etype: str) -> Any:
        if etype in self._classes:
            return self._classes[etype]
        _, _, message_factory = protobuf_modules()
        name = self.type_map.get(etype)
        if name is None:
            candidates = self._short.get(etype.rsplit(".", 1)[-1], [])
            name = (
                etype if etype in candidates else (candidates[0] if len(candidates) == 1 else None)
            )
        cls = None
        if name is not None:
            try:
                cls = message_factory.GetMessageClass(self.pool.FindMessageTypeByName(name))
            except KeyError:
                raise SourceError(f"--type-map {etype}={name}: no such message") from None
        self._classes[etype] = cls
        return cls

    def batch(self, rows: list[int], values: list[list[Any]]) -> pa.RecordBatch:
        columns = [pa.array(rows, type=pa.int64())]
        for i, field in enumerate(self.arrow_fields):
            columns.append(pa.array([v[i] for v in values], type=field.type))
        return pa.RecordBatch.from_arrays(columns, schema=self.schema())

    def schema(self) -> pa.Schema:
        return pa.schema([pa.field(ROW, pa.int64()), *self.arrow_fields])


# -- protobuf values -> Python / Arrow --------------------------------------------------------------
def _repeated(f: Any) -> bool:
    return bool(f.is_repeated)


def _json_kind(f: Any) -> bool:
    return _repeated(f) or (f.type == f.TYPE_MESSAGE and not _is_timestamp(f))


def _is_timestamp(f: Any) -> bool:
    return f.type == f.TYPE_MESSAGE and f.message_type.full_name == "google.protobuf.Timestamp"


_INTS = {3, 5, 15, 16, 17, 18}  # int64, int32, sfixed32, sfixed64, sint32, sint64
_UINTS = {4, 6, 7, 13}  # uint64, fixed64, fixed32, uint32


def _arrow_type(f: Any) -> pa.DataType:
    if _repeated(f) or f.type in (f.TYPE_STRING, f.TYPE_BYTES, f.TYPE_ENUM):
        return pa.string()
    if _is_timestamp(f):
        return pa.timestamp("us", tz="UTC")
    if f.type == f.TYPE_MESSAGE:
        return pa.string()
    if f.type in _INTS:
        return pa.int64()
    if f.type in _UINTS:
        return pa.uint64()
    if f.type == f.TYPE_BOOL:
        return pa.bool_()
    return pa.float64()


def _column_value(msg: Any, f: Any) -> Any:
    if _repeated(f):
        return encode_text(_field_python(msg, f), exact=True)
    if f.type == f.TYPE_MESSAGE:
        if not msg.HasField(f.name):
            return None
        inner = getattr(msg, f.name)
        if _is_timestamp(f):
            return inner.seconds * 1_000_000 + inner.nanos // 1000
        return encode_text(to_python(inner), exact=True)
    if f.type == f.TYPE_ENUM:
        return _enum_name(f, getattr(msg, f.name))
    if f.type == f.TYPE_BYTES:
        return base64.b64encode(getattr(msg, f.name)).decode()
    value = getattr(msg, f.name)
    if not f.has_presence and f.type != f.TYPE_BOOL and not value:
        return None  # proto3 cannot tell 0 or "" from unset: both mean absent in an envelope
    return value


def _enum_name(f: Any, number: int) -> str:
    value = f.enum_type.values_by_number.get(number)
    return value.name if value is not None else str(number)


def to_python(msg: Any) -> Any:
    """A message as JSON-ready Python values: every field (defaults included), int64 as numbers."""
    full = msg.DESCRIPTOR.full_name
    if full.startswith("google.protobuf."):
        return _well_known(msg, full)
    result = {}
    for f in msg.DESCRIPTOR.fields:
        if f.type == f.TYPE_MESSAGE and not _repeated(f) and not msg.HasField(f.name):
            continue
        result[f.name] = _field_python(msg, f)
    return result


def _field_python(msg: Any, f: Any) -> Any:
    value = getattr(msg, f.name)
    if f.message_type is not None and f.message_type.GetOptions().map_entry:
        value_field = f.message_type.fields_by_name["value"]
        return {str(k): _scalar(value_field, v) for k, v in value.items()}
    if _repeated(f):
        return [_scalar(f, v) for v in value]
    return _scalar(f, value)


def _scalar(f: Any, value: Any) -> Any:
    if f.type == f.TYPE_MESSAGE:
        return to_python(value)
    if f.type == f.TYPE_ENUM:
        return _enum_name(f, value)
    if f.type == f.TYPE_BYTES:
        return base64.b64encode(value).decode()
    return value


def _well_known(msg: Any, full: str) -> Any:
    from google.protobuf import json_format

    if full in ("google.protobuf.Timestamp", "google.protobuf.Duration"):
        return msg.ToJsonString()
    if full.endswith("Value") and "value" in msg.DESCRIPTOR.fields_by_name:  # wrappers
        return msg.value
    try:
        return json_format.MessageToDict(msg, preserving_proto_field_name=True)
    except Exception:
        return base64.b64encode(msg.SerializeToString()).decode()


def drop_empty_columns(con: duckdb.DuckDBPyConnection, table: str, columns: list[str]) -> list[str]:
    """Drop the envelope columns no staged message set (proto3 cannot say "absent" otherwise).

    An envelope field nobody fills (a ``version`` the publisher leaves at 0) must not map to a
    canonical field and make every row "missing" it. Returns the columns kept.
    """
    if not columns:
        return []
    counts = con.execute(
        "SELECT count(*), " + ", ".join(f'count("{c}")' for c in columns) + f' FROM "{table}"'
    ).fetchall()[0]
    if counts[0] == 0:
        return list(columns)
    kept = []
    for column, count in zip(columns, counts[1:], strict=True):
        if count:
            kept.append(column)
        else:
            con.execute(f'ALTER TABLE "{table}" DROP COLUMN "{column}"')
    return kept


# -- length-delimited files ----------------------------------------------------------------------
def read_delimited(data: bytes) -> Iterator[tuple[int, bytes | None, str | None]]:
    """``(row, message bytes, None)`` per message; ``(row, None, reason)`` for a broken tail."""
    pos, row, size = 0, 0, len(data)
    while pos < size:
        row += 1
        length, shift, start = 0, 0, pos
        while True:
            if pos >= size or shift > 63:
                yield row, None, f"truncated or corrupt length prefix at byte {start}"
                return
            byte = data[pos]
            pos += 1
            length |= (byte & 0x7F) << shift
            shift += 7
            if not byte & 0x80:
                break
        if pos + length > size:
            yield row, None, f"message at byte {start} claims {length} bytes, file ends first"
            return
        yield row, data[pos : pos + length], None
        pos += length


def write_delimited(messages: list[bytes]) -> bytes:
    """Messages with their varint size before each (the format :func:`read_delimited` reads)."""
    out = bytearray()
    for message in messages:
        n = len(message)
        while True:
            byte = n & 0x7F
            n >>= 7
            out.append(byte | (0x80 if n else 0))
            if not n:
                break
        out += message
    return bytes(out)


def stage(con: duckdb.DuckDBPyConnection, spec: str, options: dict[str, Any]) -> list[Staged]:
    """Stage a file of length-delimited envelopes, one row per message (``_row`` 1, 2, ...)."""
    path = Path(spec)
    if not path.is_file():
        raise SourceError(f"no such file: {spec}")
    proto = options.get("proto")
    if not proto:
        raise SourceError(f"{spec}: protobuf messages need --proto FILE.desc (a descriptor set)")
    decoder = Decoder(proto, options.get("proto_message"), options.get("type_map"))
    batch_size = int(options.get("batch_size") or 10_000)
    rejections: list[Rejection] = []
    counted = 0

    def batches() -> Iterator[pa.RecordBatch]:
        nonlocal counted
        rows: list[int] = []
        values: list[list[Any]] = []
        for row, message, problem in read_delimited(path.read_bytes()):
            counted = row
            if message is None:
                rejections.append(Rejection(row, "", problem or "unreadable"))
                continue
            try:
                values.append(decoder.decode(message))
                rows.append(row)
            except DecodeFailure as exc:
                rejections.append(Rejection(row, cut(message.hex()), str(exc)))
            if len(rows) >= batch_size:
                yield decoder.batch(rows, values)
                rows, values = [], []
        yield decoder.batch(rows, values)

    table = stage_name("proto")
    stage_arrow(con, table, batches(), decoder.schema())
    kept = drop_empty_columns(con, table, [f.name for f in decoder.arrow_fields])
    return [
        Staged(
            table,
            source=str(path),
            format="protobuf",
            rows_read=counted,
            json_columns=decoder.json_columns & set(kept),
            rejections=rejections,
        )
    ]
