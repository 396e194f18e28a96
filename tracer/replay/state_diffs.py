"""What changed between two points of a replay: one event's change, and every stream's.

``Replay.event_change`` and ``Replay.diff_all`` (:mod:`tracer.replay.engine`) call these; they
use the replay's public folding methods only.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pandas as pd

from tracer.errors import TracerError
from tracer.replay.diff import Diff, clone, diff_states
from tracer.replay.fold import INITIAL, SKIPPED
from tracer.replay.results import records_frame

if TYPE_CHECKING:
    from tracer.replay.engine import Replay


def event_change(replay: Replay, position: int) -> Diff:
    """What the event at ``position`` changed in its stream's (or the read model's) state."""
    row = replay.source.event_row(position)
    if row is None:
        raise TracerError(f"no event at position {position}")
    if replay.is_read_model:
        states, _ = replay.all_states(position - 1, build=False)
        before = clone(states)
        event = next(iter(replay.events(position - 1, position)))
        bucket = replay.folder.apply(states, event)
        if bucket is SKIPPED:
            return Diff([], None, position - 1, position)
        if replay.projection.keyed:
            old = {bucket: before[bucket]} if bucket in before else {}
            changes = diff_states(old, {bucket: states[bucket]})
        else:
            changes = diff_states(before.get(None, replay.folder.initial_state()), states[None])
        return Diff(changes, None, position - 1, position)
    stream = row["stream"]
    state, _ = replay.stream_state(stream, position - 1)
    if state is INITIAL:
        state = replay.folder.initial_state()
    before = clone(state)
    states = {stream: state}
    event = next(iter(replay.events(position - 1, position)))
    replay.folder.apply(states, event)
    return Diff(diff_states(before, states[stream]), stream, position - 1, position)


def diff_all(replay: Replay, frm: Any, to: Any = "end") -> pd.DataFrame:
    """One row per stream (or key) whose state changed between two points."""
    (lo, lo_late, _), (hi, hi_late, _) = replay.point(frm), replay.point(to)
    if hi < lo:
        raise TracerError(f"--to ({to}) is before --from ({frm})")
    if lo_late is None and hi_late is None:
        states, book = replay.all_states(lo)
        if replay.is_read_model:
            before = clone(states)
        else:
            candidates = set(replay.source.bookkeeping(lo, hi))
            before = {b: clone(states[b]) for b in candidates if b in states}
        replay.advance(states, book, lo, hi)
    else:  # events out of time order near a time:T end: both ends in full
        before = clone(replay.states_at(frm)[0])
        states = replay.states_at(to)[0]
        candidates = set(before) | set(states)
    rows = []
    for bucket in sorted(set(before) | set(states), key=str):
        if not replay.is_read_model and bucket not in before and bucket not in candidates:
            continue
        old = before.get(bucket, replay.folder.initial_state())
        new = states.get(bucket, replay.folder.initial_state())
        changes = diff_states(old, new)
        if changes:
            rows.append(
                {
                    "stream": bucket,
                    "added": sum(c.op == "add" for c in changes),
                    "removed": sum(c.op == "remove" for c in changes),
                    "changed": sum(c.op == "change" for c in changes),
                    "changes": [c.to_dict() for c in changes],
                }
            )
    return records_frame(rows, ["stream", "added", "removed", "changed", "changes"])
