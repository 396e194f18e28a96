"""Queries that walk the log event by event: ``history``, ``blame``, ``find`` and ``check``.

Each walks only what it must: one stream's events when a stream is named (aggregates), every
event otherwise, starting from the nearest checkpoint where the query allows it.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import pandas as pd

from tracer.errors import TracerError
from tracer.names import did_you_mean
from tracer.replay.conditions import Condition, GroupBy, conditions
from tracer.replay.diff import clone, diff_states
from tracer.replay.events import Event
from tracer.replay.fold import INITIAL, SKIPPED
from tracer.replay.paths import MISSING, ancestors, get, leaves, parse_path
from tracer.replay.results import Match, records_frame

if TYPE_CHECKING:
    from tracer.replay.engine import Replay

HISTORY_COLUMNS = ["position", "version", "time", "type", "event_id", "op", "value"]
BLAME_COLUMNS = ["path", "value", "position", "event_id", "type", "time"]
CHECK_COLUMNS = [
    "invariant",
    "position",
    "stream",
    "version",
    "type",
    "event_id",
    "time",
    "state",
    "events",
    "until",
]


class _Walk:
    """States folded event by event over ``(lo, hi]``, for one stream or for all; with
    ``before``, a copy of each event's bucket's state just before it, in :attr:`before`."""

    def __init__(
        self, replay: Replay, stream: str | None, lo: int, hi: int, before: bool = False
    ) -> None:
        self.replay = replay
        self.track_before = before
        self.before: Any = MISSING
        self.folder = replay.folder
        self.stream = stream if not replay.is_read_model else None
        if self.stream is not None:
            state, _ = replay.stream_state(self.stream, lo)
            self.states: dict[Any, Any] = {} if state is INITIAL else {self.stream: state}
        else:
            self.states, _ = replay.all_states(lo, build=False) if lo else ({}, {})
        self.lo, self.hi = lo, hi

    def __iter__(self) -> Iterator[tuple[Event, Any]]:
        """``(event, bucket)`` after each event; bucket is ``SKIPPED`` for ignored events."""
        folder, states = self.folder, self.states
        if self.stream is not None and self.lo == 0:
            batches = self.replay.source.stream_batches(self.stream, self.hi)
        else:
            batches = self.replay.source.batches(self.lo, self.hi, stream=self.stream)
        for event in folder.events(batches):
            if self.track_before:
                bucket = folder.bucket(event)
                self.before = MISSING if bucket is SKIPPED else clone(self.view(bucket))
            yield event, folder.apply(states, event)

    def state(self, bucket: Any) -> Any:
        """A bucket's current state (its initial state before its first folded event)."""
        state = self.states.get(bucket, MISSING)
        if state is MISSING:
            state = self.states[bucket] = self.folder.initial_state()
        return state

    def view(self, bucket: Any) -> Any:
        """What paths and conditions see: the state, or all keys of a keyed read model."""
        if self.replay.is_read_model and self.replay.projection.keyed and bucket is None:
            return self.states
        return self.state(bucket)


def _scope(replay: Replay, stream: str | None) -> tuple[str | None, Any]:
    """The stream to walk (aggregates) and the bucket whose state is looked at."""
    if replay.is_read_model:
        return None, None if stream is None else str(stream)
    if stream is None:
        raise TracerError(f"projection {replay.name} keeps one state per stream: name a stream")
    replay.need_stream(stream)
    return stream, stream


def _event_columns(event: Event) -> dict[str, Any]:
    return {
        "position": event.position,
        "version": event.version,
        "time": event.time,
        "type": event.type,
        "event_id": event.id,
    }


def _frame(rows: list[dict[str, Any]], columns: list[str]) -> pd.DataFrame:
    frame = records_frame(rows, columns)
    if "time" in frame:
        frame["time"] = pd.to_datetime(frame["time"], utc=True)
    for column in ("position", "version", "events", "until"):
        if column in frame:
            frame[column] = frame[column].astype("Int64")
    return frame


# -- history ----------------------------------------------------------------------------------
def history(replay: Replay, stream: str | None, path: str) -> pd.DataFrame:
    """One row per event that changed the value at ``path`` (op: add, change or remove)."""
    walk_stream, bucket = _scope(replay, stream)
    segments = parse_path(path)
    walk = _Walk(replay, walk_stream, 0, replay.source.max_position())
    previous = get(walk.view(bucket), segments)  # the initial state's value is no change
    seen = previous is not MISSING
    rows: list[dict[str, Any]] = []
    for event, touched in walk:
        if touched is SKIPPED or (bucket is not None and touched != bucket):
            continue
        value = get(walk.view(bucket), segments)
        if value is MISSING and previous is MISSING:
            continue
        seen = True
        if value is MISSING:
            op, shown = "remove", None
        elif previous is MISSING:
            op, shown = "add", value
        elif diff_states(previous, value):
            op, shown = "change", value
        else:
            continue
        value = clone(value) if value is not MISSING else MISSING
        rows.append({**_event_columns(event), "op": op, "value": clone(shown)})
        previous = value
    if not seen:  # a misspelt field is an error, not an empty history
        known = {a for p, _ in leaves(walk.view(bucket)) for a in ancestors(p) if a}
        close = difflib.get_close_matches(path, sorted(known), n=3)
        whose = f"{stream}'s states" if stream is not None else f"the states of {replay.name}"
        raise TracerError(f"no field {path!r} in {whose}{did_you_mean(close)}")
    return _frame(rows, HISTORY_COLUMNS)


# -- blame ------------------------------------------------------------------------------------
def blame(replay: Replay, stream: str | None, at: Any = "end") -> pd.DataFrame:
    """For every leaf of the state at a point, the event that last changed it."""
    walk_stream, bucket = _scope(replay, stream)
    position = replay.source.resolve(at, walk_stream)
    walk = _Walk(replay, walk_stream, 0, position)
    before = clone(walk.view(bucket))
    writers: dict[str, Event] = {}
    for event, touched in walk:
        if touched is SKIPPED or (bucket is not None and touched != bucket):
            continue
        after = walk.view(bucket)
        changes = diff_states(before, after)
        if changes:
            for change in changes:
                writers[change.path] = event
            before = clone(after)
    rows = []
    for path, value in leaves(before):
        writer = None
        for candidate in ancestors(path):
            event = writers.get(candidate)
            if event is not None and (writer is None or event.position > writer.position):
                writer = event
        rows.append(
            {
                "path": path,
                "value": value,
                "position": None if writer is None else writer.position,
                "event_id": None if writer is None else writer.id,
                "type": None if writer is None else writer.type,
                "time": None if writer is None else writer.time,
            }
        )
    return _frame(rows, BLAME_COLUMNS)


# -- find -------------------------------------------------------------------------------------
def find(
    replay: Replay,
    where: str | Callable[..., Any],
    stream: str | None = None,
    start: Any = None,
    backward: bool = False,
) -> Match | None:
    """The first event after ``start`` (or the last at or before it, ``backward``) after which
    the condition holds on its stream's state."""
    condition = Condition(where)
    walk_stream = None
    if stream is not None and not replay.is_read_model:
        replay.need_stream(stream)
        walk_stream = stream
    last = replay.source.max_position()
    keep = condition.uses_before
    if backward:
        hi = last if start is None else replay.source.resolve(start, walk_stream)
        found: tuple[Event, Any] | None = None
        walk = _Walk(replay, walk_stream, 0, hi, keep)
        for event, bucket in walk:
            if _holds(replay, condition, event, bucket, stream, walk):
                found = (event, bucket)
        if found is None:
            if start is None:  # (a part of the log may come before the field exists)
                condition.require_defined()
            replay.note_once(condition.partly_undefined("they counted as no match"))
            return None
        event, bucket = found
        state = _state_at(replay, event, bucket)
        return _match(event, bucket, state)
    lo = 0 if start is None else replay.source.resolve(start, walk_stream)
    walk = _Walk(replay, walk_stream, lo, last, keep)
    for event, bucket in walk:
        if _holds(replay, condition, event, bucket, stream, walk):
            return _match(event, bucket, clone(walk.view(bucket)))
    if start is None:
        condition.require_defined()
    replay.note_once(condition.partly_undefined("they counted as no match"))
    return None


def require_defined(replay: Replay, where: str | Callable[..., Any]) -> None:
    """Raise :class:`ConditionError` where ``find`` and ``check`` would: a condition that is
    undefined on every event of the log (a misspelt field), or that raises. Walks the log only
    until the condition is defined on one event (the TUI checks a breakpoint with it)."""
    condition = Condition(where)
    walk = _Walk(replay, None, 0, replay.source.max_position(), condition.uses_before)
    for event, bucket in walk:
        _holds(replay, condition, event, bucket, None, walk)
        if condition.defined:
            return
    condition.require_defined()


def _holds(
    replay: Replay,
    condition: Condition,
    event: Event,
    bucket: Any,
    stream: str | None,
    walk: _Walk,
) -> bool:
    if bucket is SKIPPED:
        return False
    if replay.is_read_model and stream is not None and bucket != str(stream):
        return False
    state = walk.view(bucket)
    return bool(condition(state, event, bucket, walk.before))


def _state_at(replay: Replay, event: Event, bucket: Any) -> Any:
    if replay.is_read_model:
        result = replay.state(key=bucket, at=event.position)
        return result.state
    return replay.state(event.stream, event.position).state


def _match(event: Event, bucket: Any, state: Any) -> Match:
    return Match(
        event.position,
        event.stream,
        event.version,
        event.type,
        event.time,
        event.id,
        state,
        bucket if isinstance(bucket, str) and bucket != event.stream else None,
    )


# -- check ------------------------------------------------------------------------------------
def check(
    replay: Replay,
    invariants: list[str | Callable[..., Any]] | str,
    stream: str | None = None,
    by: str | Callable[..., Any] | None = None,
) -> pd.DataFrame:
    """Every violation of every invariant: the event after which it stopped holding, how many
    events it stayed broken (``events``) and the event that restored it (``until``); with
    ``by``, the value of that expression at the violating event, in a ``by`` column."""
    checks = conditions(invariants, what="invariant")
    if not checks:
        raise TracerError("no invariant to check: give one or more expressions")
    group = GroupBy(by) if by is not None else None
    walk_stream = None
    if stream is not None and not replay.is_read_model:
        replay.need_stream(stream)
        walk_stream = stream
    keep = any(c.uses_before for c in checks) or (group is not None and group.uses_before)
    walk = _Walk(replay, walk_stream, 0, replay.source.max_position(), keep)
    open_rows: dict[tuple[int, Any], dict[str, Any]] = {}
    rows: list[dict[str, Any]] = []
    for event, bucket in walk:
        if bucket is SKIPPED:
            continue
        if replay.is_read_model and stream is not None and bucket != str(stream):
            continue
        state = walk.view(bucket)
        for index, invariant in enumerate(checks):
            holds = invariant(state, event, bucket, walk.before)
            key = (index, bucket)
            row = open_rows.get(key)
            if holds is False:
                if row is None:
                    row = {
                        "invariant": invariant.label,
                        **_event_columns(event),
                        "stream": event.stream if not replay.is_read_model else bucket,
                        "state": clone(state),
                        "events": 0,
                        "until": None,
                    }
                    if group is not None:
                        row["by"] = clone(group(state, event, bucket, walk.before))
                    open_rows[key] = row
                    rows.append(row)
                row["events"] += 1
            elif holds and row is not None:
                row["until"] = event.position
                del open_rows[key]
    for invariant in checks:
        invariant.require_defined()
        replay.note_once(invariant.partly_undefined("it counted as holding"))
    if group is not None and rows:
        group.require_defined()
        replay.note_once(group.partly_undefined("those violations are in the group None"))
    return _frame(rows, [*CHECK_COLUMNS, "by"] if group is not None else CHECK_COLUMNS)


def violation_groups(violations: pd.DataFrame) -> pd.DataFrame:
    """Violations counted per value of ``check(..., by=...)``'s ``by`` column and invariant:
    columns ``by``, ``invariant``, ``violations``, ``streams``, ``first``, largest first."""
    columns = ["by", "invariant", "violations", "streams", "first"]
    if violations.empty or "by" not in violations:
        return records_frame([], columns)
    groups: dict[tuple[str, str], dict[str, Any]] = {}
    streams: dict[tuple[str, str], set[Any]] = {}
    for value, label, stream, position in zip(
        violations["by"],
        violations["invariant"],
        violations["stream"],
        violations["position"],
        strict=True,
    ):
        key = (repr(value), label)  # (values may be dicts, lists or big integers)
        row = groups.setdefault(
            key, {"by": value, "invariant": label, "violations": 0, "first": int(position)}
        )
        row["violations"] += 1
        row["first"] = min(row["first"], int(position))
        streams.setdefault(key, set()).add(stream)
    rows = [{**row, "streams": len(streams[key])} for key, row in groups.items()]
    rows.sort(key=lambda r: (-r["violations"], r["first"]))
    return records_frame(rows, columns)
