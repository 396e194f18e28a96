"""Values of projected states for the state figures: a field across streams at a point, its
change between two points, and its history in a what-if replay."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import Any

import pandas as pd

from tracer.errors import TracerError
from tracer.notebook.steps import is_number
from tracer.replay import Replay
from tracer.replay.events import Event
from tracer.replay.fold import SKIPPED
from tracer.replay.paths import MISSING, get, parse_path
from tracer.replay.points import parse_point


# -- values of states -------------------------------------------------------------------------
def values_at(replay: Replay, path: str, at: Any = "end") -> pd.DataFrame:
    """The value at ``path`` of every stream's (or read-model key's) state at a point: one row
    per stream holding the path, with ``stream``, ``value``, ``position``, ``time``."""
    segments = parse_path(path)
    rows = []
    for result in replay.state_results(at):
        value = get(result.state, segments)
        if value is not MISSING:
            rows.append(
                {
                    "stream": result.stream,
                    "value": value,
                    "position": result.position,
                    "time": result.time,
                }
            )
    frame = pd.DataFrame(rows, columns=["stream", "value", "position", "time"])
    frame["time"] = pd.to_datetime(frame["time"], utc=True)
    return frame


def numeric_change(replay: Replay, path: str, frm: Any, to: Any) -> pd.DataFrame:
    """Per stream whose state changed between two points, the value at ``path`` before and
    after (0 where the path did not exist yet or any more) and the change; only numbers.
    Read from the changes :meth:`Replay.diff_all` lists, without replaying stream by stream."""
    segments = parse_path(path)
    changed = replay.diff_all(frm, to)
    rows = []
    for stream, changes in zip(changed["stream"], changed["changes"], strict=True):
        found = _path_change(changes, segments)
        if found is None:
            continue
        old, new = (0 if v is MISSING else v for v in found)
        if not all(is_number(v) for v in (old, new)) or old == new:
            continue
        rows.append({"stream": stream, "old": old, "new": new, "delta": new - old})
    return pd.DataFrame(rows, columns=["stream", "old", "new", "delta"])


def _path_change(changes: list[dict[str, Any]], segments: list[Any]) -> tuple[Any, Any] | None:
    """The old and new value at a path from a list of changes (``None``: the path kept its
    value); a change of an ancestor (a whole sub-state added or removed) counts too."""
    for change in changes:
        prefix = parse_path(change["path"])
        if segments[: len(prefix)] != prefix:
            continue
        rest = segments[len(prefix) :]
        old = MISSING if change["op"] == "add" else get(change["old"], rest)
        new = MISSING if change["op"] == "remove" else get(change["new"], rest)
        return old, new
    return None


# -- what-if history --------------------------------------------------------------------------
def whatif_history(
    replay: Replay,
    stream: str | None,
    path: str,
    *,
    skip: Iterable[int] = (),
    edit: dict[int, Any] | None = None,
    insert: list[tuple[int, dict[str, Any]]] | None = None,
) -> pd.DataFrame:
    """The history of ``path`` in one stream (or a read model, or one of its keys) when the
    log is replayed with events skipped, edited (new data) or inserted (after a position);
    the same columns as :meth:`Replay.history`. With no change it equals the real history."""
    if not replay.is_read_model:
        if stream is None:
            raise TracerError(f"projection {replay.name} keeps one state per stream: name a stream")
        replay.need_stream(stream)
    bucket = stream if not replay.is_read_model else (None if stream is None else str(stream))
    walk_stream = None if replay.is_read_model else stream
    skipped = {int(p) for p in skip}
    edits = {int(p): d for p, d in (edit or {}).items()}
    added = sorted(
        (
            (int(after), i, _inserted(replay, int(after), i, spec))
            for i, (after, spec) in enumerate(insert or [])
        ),
        key=lambda item: (item[0], item[1]),
    )
    if walk_stream is not None:
        added = [a for a in added if a[2].stream == walk_stream]
    events = replay.events(0, replay.source.max_position(), stream=walk_stream)
    segments = parse_path(path)
    folder = replay.folder
    keyed_whole = replay.is_read_model and replay.projection.keyed and bucket is None
    states: dict[Any, Any] = {}
    # Like Replay.history: values are compared with the initial state's, not with nothing.
    previous: Any = MISSING if keyed_whole else get(folder.initial_state(), segments)
    rows: list[dict[str, Any]] = []
    for event in _merged(events, added):
        inserted = isinstance(event, _Inserted)
        if not inserted and event.position in skipped:
            continue
        if not inserted and event.position in edits:
            event = event.with_data(edits[event.position])
        touched = folder.apply(states, event)
        if touched is SKIPPED or (bucket is not None and touched != bucket):
            continue
        view = states if keyed_whole else states.get(bucket, MISSING)
        value = get(view, segments) if view is not MISSING else MISSING
        if value is MISSING and previous is MISSING:
            continue
        if value is MISSING:
            op, shown = "remove", None
        elif previous is MISSING:
            op, shown = "add", value
        elif value != previous:
            op, shown = "change", value
        else:
            continue
        rows.append(
            {
                "position": event.position,
                "version": event.version,
                "time": event.time,
                "type": event.type,
                "event_id": event.id,
                "op": op,
                "value": _copy(shown),
            }
        )
        previous = _copy(value)
    frame = pd.DataFrame(
        rows, columns=["position", "version", "time", "type", "event_id", "op", "value"]
    )
    frame["time"] = pd.to_datetime(frame["time"], utc=True)
    for column in ("position", "version"):
        frame[column] = frame[column].astype("Int64")
    return frame


def _copy(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_copy(v) for v in value]
    return value


def _merged(events: Iterable[Event], added: list[tuple[int, int, Event]]) -> Iterator[Event]:
    pending = list(added)
    for event in events:
        while pending and pending[0][0] < event.position:
            yield pending.pop(0)[2]
        yield event
    for _, _, event in pending:
        yield event


class _Inserted(Event):
    """An event that exists only in the what-if replay."""

    __slots__ = ()


def _inserted(replay: Replay, after: int, index: int, spec: dict[str, Any]) -> Event:
    if not isinstance(spec, dict) or not spec.get("stream") or not spec.get("type"):
        raise TracerError(f"what-if insert after {after}: give at least a stream and a type")
    time = spec.get("time")
    if isinstance(time, str):
        time = parse_point(f"time:{time}").value
    if time is None and after > 0:
        row = replay.source.event_row(after)
        if row is None:
            raise TracerError(f"what-if insert after {after}: no event at that position")
        time = pd.Timestamp(row["time_us"], unit="us", tz="UTC").to_pydatetime()
    return _Inserted.make(
        position=after,
        stream=str(spec["stream"]),
        type=str(spec["type"]),
        data=spec.get("data"),
        version=spec.get("version"),
        time=time if isinstance(time, datetime) else None,
        id=f"whatif-{index + 1}",
        meta=spec.get("meta"),
    )
