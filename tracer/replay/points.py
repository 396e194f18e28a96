"""Points in time, one syntax everywhere: ``pos:N``, ``version:N``, ``time:ISO-8601``, ``end``.

A point means "after" an event, inclusively: ``pos:N`` is the state after the event at global
position N (``pos:0`` is before any event); ``version:N`` after the stream's event whose version
is N, whether the stream counts from 0 or from 1 (``version:0`` of a stream counted from 1 is its
state before its first event; a version the stream does not have is an error, see
:func:`resolve_version`);
``time:T`` after every event whose time is at or before T; ``end`` after the last event. The API
also takes ints (positions) and datetimes.

Where times go back in the log (sources merged, clocks skewed), states at ``time:T`` leave out
the events later than T that come before the last one at or before T. Walks over one stream's
history (history, blame, find, what-if) stop after the stream's last event at or before T.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal

from tracer.errors import TracerError
from tracer.names import close_names, did_you_mean

if TYPE_CHECKING:
    import duckdb

PointKind = Literal["pos", "version", "time", "end"]


class PointError(TracerError):
    """A point in time that does not parse or does not exist."""


@dataclass(frozen=True)
class Point:
    kind: PointKind
    value: int | datetime | None = None

    def __str__(self) -> str:
        if self.kind == "end":
            return "end"
        if isinstance(self.value, datetime):
            return f"time:{self.value.isoformat()}"
        return f"{self.kind}:{self.value}"


END = Point("end")


def parse_point(spec: Any) -> Point:
    """Parse ``"pos:N" | "version:N" | "time:ISO" | "end"``, an int or a datetime."""
    if isinstance(spec, Point):
        return spec
    if spec is None:
        return END
    if isinstance(spec, bool):
        raise PointError(f"bad point {spec!r}: use pos:N, version:N, time:ISO-8601 or end")
    if isinstance(spec, int):
        return _position(spec, str(spec))
    if hasattr(spec, "to_pydatetime"):  # pandas Timestamp
        spec = spec.to_pydatetime()
    if isinstance(spec, datetime):
        return Point("time", _aware(spec))
    if not isinstance(spec, str):
        raise PointError(f"bad point {spec!r}: use pos:N, version:N, time:ISO-8601 or end")
    text = spec.strip()
    if text.lower() in ("end", "last", ""):
        return END
    kind, sep, rest = text.partition(":")
    kind = kind.strip().lower()
    if not sep:
        if text.lstrip("-").isdigit():
            return _position(int(text), spec)
        raise PointError(f"bad point {spec!r}: use pos:N, version:N, time:ISO-8601 or end")
    rest = rest.strip()
    if kind in ("pos", "position"):
        return _position(_int(rest, spec), spec)
    if kind in ("version", "v"):
        number = _int(rest, spec)
        if number < 0:
            raise PointError(f"bad point {spec!r}: a version is 0 or more")
        return Point("version", number)
    if kind in ("time", "t"):
        try:
            value = datetime.fromisoformat(rest.replace("Z", "+00:00").replace("z", "+00:00"))
        except ValueError as exc:
            raise PointError(f"bad point {spec!r}: {rest!r} is not an ISO-8601 time") from exc
        return Point("time", _aware(value))
    raise PointError(f"bad point {spec!r}: use pos:N, version:N, time:ISO-8601 or end")


def resolve_version(con: duckdb.DuckDBPyConnection, stream: str, version: int) -> int:
    """The global position ``version:N`` of ``stream`` stands for (the CLI, the API, the TUI).

    It is the position of the stream's event whose version is ``version``, whatever the stream's
    first version is: on a stream counted from 0, ``version:0`` is its first event. On a stream
    counted from 1 (or more), ``version:0`` is the state before its first event: the position
    just before that event (which may belong to another stream). Any other version the stream
    does not have, and a stream that does not exist, raise :class:`PointError` (one line).
    """
    if isinstance(version, bool) or not isinstance(version, int) or version < 0:
        raise PointError(f"bad version {version!r}: a version is a whole number, 0 or more")
    literal = "'" + stream.replace("'", "''") + "'"  # (a literal can use an index on stream)
    first, low, high, count, at = con.execute(
        "SELECT min(position), min(version), max(version), count(*), "
        f"max(position) FILTER (WHERE version = ?) FROM events WHERE stream = {literal}",
        [version],
    ).fetchall()[0]
    if first is None:
        close = did_you_mean(close_names(con, "stream", stream))
        raise PointError(f"no stream {stream!r} in the store{close}")
    if at is not None:
        return int(at)
    if version == 0 and low > 0:
        return int(first) - 1
    gaps = " with gaps" if count != high - low + 1 else ""
    where = (
        f"its last version is {high}"
        if version > high
        else f"its versions run from {low} to {high}{gaps}"
    )
    raise PointError(f"stream {stream!r} has no version {version}: {where}")


def _int(text: str, spec: Any) -> int:
    try:
        return int(text)
    except ValueError as exc:
        raise PointError(f"bad point {spec!r}: {text!r} is not a whole number") from exc


def _position(number: int, spec: Any) -> Point:
    if number < 0:
        raise PointError(f"bad point {spec!r}: a position is 0 or more")
    return Point("pos", number)


def _aware(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
