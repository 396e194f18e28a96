"""The event a handler sees, decoded lazily: ``data`` is parsed only when a handler reads it."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import orjson
import pyarrow as pa
import pyarrow.compute as pc

from tracer.jsonvalues import decode_json, encode_json

if TYPE_CHECKING:
    from tracer.replay.projection import UpcastChain

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_UNSET: Any = object()


def us_to_datetime(us: int | None) -> datetime | None:
    """Microseconds since the epoch to an aware UTC datetime."""
    return None if us is None else _EPOCH + timedelta(microseconds=us)


def datetime_to_us(value: datetime) -> int:
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    delta = value - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


ExtrasFetch = Callable[[list[int]], dict[int, tuple[Any, Any]]]


class Extras:
    """What handlers rarely read (event ids, meta) for the events of one batch, fetched on the
    first access by one query for the whole batch: a fold that never reads them never pays."""

    __slots__ = ("_fetch", "_positions", "_rows")

    def __init__(self, fetch: ExtrasFetch | None, positions: list[int]) -> None:
        self._fetch = fetch
        self._positions = positions
        self._rows: dict[int, tuple[Any, Any]] | None = None

    @classmethod
    def fixed(cls, position: int, event_id: Any, meta: Any) -> Extras:
        extras = cls(None, [position])
        extras._rows = {position: (event_id, meta)}
        return extras

    def row(self, position: int) -> tuple[Any, Any]:
        """``(event_id, raw meta)`` of one event of the batch."""
        rows = self._rows
        if rows is None:
            assert self._fetch is not None
            rows = self._rows = self._fetch(self._positions)
        return rows.get(position, (None, None))


class Event:
    """One event: ``position``, ``stream``, ``version``, ``type``, ``time``, ``id``, ``data``,
    ``meta``. ``data`` has been through the projection's upcasters."""

    __slots__ = (
        "_data",
        "_extras",
        "_meta",
        "_raw",
        "_row",
        "_t",
        "_up",
        "position",
        "stream",
        "type",
        "version",
    )

    def __init__(
        self,
        position: int,
        stream: str,
        version: int | None,
        type: str,
        time_us: int | None,
        raw: str | bytes | None,
        extras: Extras | None = None,
        up: UpcastChain | None = None,
    ) -> None:
        self.position = position
        self.stream = stream
        self.version = version
        self.type = type
        self._t = time_us
        self._raw = raw
        self._extras = extras
        self._up = up
        self._data = _UNSET
        self._meta = _UNSET

    @classmethod
    def make(
        cls,
        *,
        position: int,
        stream: str,
        type: str,
        data: Any = None,
        version: int | None = None,
        time: datetime | None = None,
        id: str | None = None,
        meta: Any = None,
        up: UpcastChain | None = None,
    ) -> Event:
        """An event built from Python values (what-if insertions, tests)."""
        event = cls(
            position,
            stream,
            version,
            type,
            None if time is None else datetime_to_us(time),
            None if data is None else encode_json(data),
            Extras.fixed(position, id, None if meta is None else encode_json(meta)),
            up,
        )
        return event

    @property
    def data(self) -> Any:
        data = self._data
        if data is _UNSET:
            raw = self._raw
            data = None if raw is None else decode_json(raw)
            if self._up is not None:
                data = self._up.apply(data, lambda: self.meta)
            self._data = data
        return data

    @property
    def meta(self) -> Any:
        meta = self._meta
        if meta is _UNSET:
            raw = None if self._extras is None else self._extras.row(self.position)[1]
            meta = self._meta = None if raw is None else decode_json(raw)
        return meta

    @property
    def id(self) -> str | None:
        return None if self._extras is None else self._extras.row(self.position)[0]

    @property
    def time(self) -> datetime | None:
        return us_to_datetime(self._t)

    @property
    def time_us(self) -> int | None:
        return self._t

    def with_data(self, data: Any) -> Event:
        """A copy of this event carrying other (stored-shape) data."""
        copy = Event(
            self.position,
            self.stream,
            self.version,
            self.type,
            self._t,
            None if data is None else encode_json(data),
            self._extras,
            self._up,
        )
        return copy

    def to_dict(self) -> dict[str, Any]:
        time = self.time
        return {
            "position": self.position,
            "stream": self.stream,
            "version": self.version,
            "type": self.type,
            "time": None if time is None else time.isoformat(),
            "id": self.id,
            "data": self.data,
            "meta": self.meta,
        }

    def __repr__(self) -> str:
        return f"Event(position={self.position}, stream={self.stream!r}, type={self.type!r})"


class PlainEvent(Event):
    """An event of a batch in which no payload has a run of 19 digits, so none holds an integer
    beyond 64 bits, which orjson would read as a float: its data is read by orjson alone, without
    :func:`~tracer.jsonvalues.decode_json`'s per-event check (half the cost of a simple fold)."""

    __slots__ = ()

    @property
    def data(self) -> Any:
        data = self._data
        if data is _UNSET:
            raw = self._raw
            if raw is None:
                data = None
            else:
                try:
                    data = _loads(raw)
                except orjson.JSONDecodeError:  # NaN/Infinity tokens of an older store
                    data = decode_json(raw)
            if self._up is not None:
                data = self._up.apply(data, lambda: self.meta)
            self._data = data
        return data


_loads = orjson.loads
_LONG_DIGITS = "[0-9]{19}"


def event_class(raws: pa.Array | pa.ChunkedArray) -> type[Event]:
    """The class for a batch's events: :class:`PlainEvent` unless a payload of the batch has a
    run of 19 digits (one vectorised scan of the batch instead of a check per event)."""
    if not (pa.types.is_string(raws.type) or pa.types.is_large_string(raws.type)):
        return Event
    return Event if pc.any(pc.match_substring_regex(raws, _LONG_DIGITS)).as_py() else PlainEvent
