"""What-if replays: skip, edit or insert events, and compare with the real replay.

For an aggregate projection only the streams the changes touch are replayed (the others cannot
differ); a read model is replayed whole.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import TYPE_CHECKING, Any

from tracer.errors import TracerError
from tracer.replay.diff import diff_states
from tracer.replay.events import Event
from tracer.replay.fold import INITIAL, SKIPPED
from tracer.replay.points import parse_point
from tracer.replay.results import WhatIfResult, records_frame

if TYPE_CHECKING:
    from tracer.replay.engine import Replay

DIFFERENCE_COLUMNS = ["stream", "path", "op", "real", "whatif"]


class WhatIfError(TracerError):
    """A what-if change that names no event or is malformed."""


def whatif(
    replay: Replay,
    skip: Iterable[int] = (),
    edit: dict[int, Any] | None = None,
    insert: list[tuple[int, dict[str, Any]]] | None = None,
    stream: str | None = None,
    at: Any = "end",
) -> WhatIfResult:
    """States at ``at`` (default: the end) with and without the changes, and how they differ."""
    hi = replay.source.resolve(at)
    skipped = sorted({_position(p) for p in skip})
    edits = {_position(p): data for p, data in (edit or {}).items()}
    inserts = sorted(
        ((_position(after), index, spec) for index, (after, spec) in enumerate(insert or [])),
        key=lambda item: (item[0], item[1]),
    )
    streams_of = {}
    for position in [*skipped, *edits]:
        row = replay.source.event_row(position)
        if row is None:
            raise WhatIfError(f"what-if: no event at position {position}")
        streams_of[position] = row["stream"]
    added = [_inserted(replay, after, index, spec) for after, index, spec in inserts]

    if replay.is_read_model:
        real, _ = replay.all_states(hi)
        alternative = _replay(replay, None, set(skipped), edits, added, hi)
        buckets = set(real) | set(alternative)
        if stream is not None:
            buckets &= {str(stream)}
    else:
        affected = set(streams_of.values()) | {event.stream for _, event in added}
        if stream is not None:
            replay.need_stream(stream)
            affected &= {stream}
        real, alternative = {}, {}
        for name in sorted(affected):
            state, _ = replay.stream_state(name, hi)
            if state is not INITIAL:
                real[name] = state
            alternative.update(_replay(replay, name, set(skipped), edits, added, hi))
        buckets = affected
    rows = []
    initial = replay.folder.initial_state
    for bucket in sorted(buckets, key=str):
        old = real.get(bucket, INITIAL)
        new = alternative.get(bucket, INITIAL)
        old = initial() if old is INITIAL else old
        new = initial() if new is INITIAL else new
        for change in diff_states(old, new):
            rows.append(
                {
                    "stream": bucket,
                    "path": change.path,
                    "op": change.op,
                    "real": change.old,
                    "whatif": change.new,
                }
            )
    differences = records_frame(rows, DIFFERENCE_COLUMNS)
    changed = set(differences["stream"])
    return WhatIfResult(
        differences,
        {b: real.get(b) for b in changed},
        {b: alternative.get(b) for b in changed},
        skipped,
        sorted(edits),
        len(added),
        replay.is_read_model,
    )


def _replay(
    replay: Replay,
    stream: str | None,
    skipped: set[int],
    edits: dict[int, Any],
    added: list[tuple[int, Event]],
    last: int,
) -> dict[Any, Any]:
    """States after folding the modified log up to ``last`` (one stream's events, or all)."""
    states: dict[Any, Any] = {}
    folder = replay.folder
    if stream is not None:
        events: Iterator[Event] = folder.events(replay.source.stream_batches(stream, last))
        extra = [(a, e) for a, e in added if e.stream == stream and a <= last]
    else:
        events = replay.events(0, last)
        extra = [(a, e) for a, e in added if a <= last]
    for event in _merged(events, extra):
        if event.position in skipped and not isinstance(event, _Inserted):
            continue
        if event.position in edits and not isinstance(event, _Inserted):
            event = event.with_data(edits[event.position])
        if folder.apply(states, event) is SKIPPED:
            continue
    return states


class _Inserted(Event):
    """An event that exists only in the what-if replay."""

    __slots__ = ()


def _merged(events: Iterator[Event], extra: list[tuple[int, Event]]) -> Iterator[Event]:
    pending = list(extra)
    for event in events:
        while pending and pending[0][0] < event.position:
            yield pending.pop(0)[1]
        yield event
    for _, event in pending:
        yield event


def _inserted(replay: Replay, after: int, index: int, spec: dict[str, Any]) -> tuple[int, Event]:
    if not isinstance(spec, dict) or not spec.get("stream") or not spec.get("type"):
        raise WhatIfError(f"what-if insert after {after}: give at least a stream and a type")
    last = replay.source.max_position()
    if after > last:
        raise WhatIfError(f"what-if insert after {after}: the log ends at {last}")
    time = spec.get("time")
    if isinstance(time, str):
        time = parse_point(f"time:{time}").value
    time_us = replay.source.time_of(after) if time is None and after > 0 else None
    folder = replay.folder
    stored_type = str(spec["type"])
    chain = folder.upcasts.get(stored_type)
    event = _Inserted.make(
        position=after,
        stream=str(spec["stream"]),
        type=chain.final_type if chain is not None else stored_type,
        data=spec.get("data"),
        version=spec.get("version"),
        time=time if isinstance(time, datetime) else None,
        id=spec.get("id") or f"whatif-{index + 1}",
        meta=spec.get("meta"),
        up=chain,
    )
    if time_us is not None:
        event._t = time_us
    return after, event


def _position(value: Any) -> int:
    try:
        position = int(value)
    except (TypeError, ValueError) as exc:
        raise WhatIfError(f"what-if: {value!r} is not an event position") from exc
    if position < 0:
        raise WhatIfError(f"what-if: {value!r} is not an event position")
    return position
