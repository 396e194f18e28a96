"""What the panels ask of the replay engine, as plain functions (no Textual).

Each runs in a thread worker with its own DuckDB cursor; errors the user can fix come back as
:class:`tracer.errors.TracerError` with one clear line.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import duckdb

from tracer.errors import TracerError
from tracer.replay import StateResult, diff_states
from tracer.replay.diff import clone
from tracer.tui.data import event_row, type_hit
from tracer.tui.paths import as_path
from tracer.tui.session import Session


@dataclass
class Detail:
    """Everything the side panels show for one position."""

    position: int
    event: dict[str, Any] | None = None
    state: Any = None
    title: str = ""
    changes: list[Any] = field(default_factory=list)
    error: str | None = None
    skipped: list[int] = field(default_factory=list)  # skipped events of this stream, so far
    whatif: list[Any] = field(default_factory=list)  # real state → state without them


def load_detail(
    cur: duckdb.DuckDBPyConnection,
    replay: Any,
    position: int,
    skipped: frozenset[int] = frozenset(),
) -> Detail:
    """The event at ``position``, its stream's state right after it, and what it changed; with
    ``skipped`` events, how the state without them differs from the real one at this point."""
    event = event_row(cur, position)
    if event is None:
        return Detail(position, error=f"no event at position {position}")
    detail = Detail(position, event)
    if replay is None:
        detail.error = "no replay engine"
        return detail
    try:
        if replay.is_read_model:
            result = replay.state(None, at=position)
            detail.state, detail.changes = result.state, list(replay.event_change(position))
        else:
            result, detail.changes = _step(replay, event["stream"], position)
            detail.state = result.state
            if skipped:
                detail.skipped, detail.whatif = _diverged(
                    replay, event["stream"], position, skipped, result.state
                )
    except TracerError as exc:
        detail.error = str(exc)
        return detail
    owner = result.stream if result.stream is not None else "read model"
    detail.title = f"State · {owner} @ #{position}"
    if result.version is not None:
        detail.title += f" v{result.version}"
    return detail


def _step(replay: Any, stream: str, position: int) -> tuple[StateResult, list[Any]]:
    """The stream's state after ``position`` and what that event changed, from one fold: the
    state before it, then the event applied (what ``Replay.event_change`` does, keeping both)."""
    before = replay.state(stream, at=position - 1) if position > 1 else None
    old = before.state if before is not None and before.position is not None else None
    states: dict[Any, Any] = {} if old is None else {stream: clone(old)}
    last = None
    for event in replay.events(position - 1, position):
        replay.folder.apply(states, event)
        last = event
    initial = replay.folder.initial_state()
    base = initial if old is None else old
    after = states.get(stream, base)
    version = None if last is None else last.version
    time = None if last is None else last.time
    result = StateResult(stream, position, version, time, after, replay.name)
    return result, diff_states(base, after)


def _diverged(
    replay: Any, stream: str, position: int, skipped: frozenset[int], real: Any
) -> tuple[list[int], list[Any]]:
    """Fold the stream up to ``position`` without the skipped events; what differs."""
    if not any(p <= position for p in skipped):
        return [], []
    states: dict[Any, Any] = {}
    dropped: list[int] = []
    for event in replay.events(0, position, stream=stream):
        if event.position in skipped:
            dropped.append(event.position)
            continue
        replay.folder.apply(states, event)
    if not dropped:
        return [], []
    alternative = states.get(stream, replay.folder.initial_state())
    return dropped, diff_states(real, alternative)


@dataclass(frozen=True)
class Hit:
    position: int
    reason: str


@dataclass
class HitSearch:
    """The nearest hit, and the state conditions that raised on the way (text, error)."""

    hit: Hit | None = None
    failed: list[tuple[str, str]] = field(default_factory=list)


def next_hit(
    cur: duckdb.DuckDBPyConnection,
    replay: Any,
    session: Session,
    position: int,
    forward: bool,
    stream: str | None = None,
) -> HitSearch:
    """The nearest breakpoint hit strictly after (or before) ``position``.

    Type breakpoints are one SQL query; state conditions are the replay engine's ``find``
    (a watchpoint: the first event after which the condition holds, or the last one before).
    A condition that raises is left out and reported in ``failed``: the others still count.
    """
    hits: list[Hit] = []
    failed: list[tuple[str, str]] = []
    types = sorted(session.break_types)
    found = type_hit(cur, types, position, forward)
    if found is not None:
        hits.append(Hit(found, "type " + ", ".join(types)))
    for condition in session.state_conditions:
        # find() looks strictly after ``start`` forward, at or before it backward
        try:
            if forward:
                match = replay.find(condition, stream=stream, start=position)
            elif position > 1:
                match = replay.find(condition, stream=stream, start=position - 1, backward=True)
            else:
                match = None
        except TracerError as exc:
            failed.append((condition, str(exc)))
            continue
        if match is not None:
            hits.append(Hit(int(match.position), condition))
    if not hits:
        return HitSearch(None, failed)
    pick = min if forward else max
    return HitSearch(pick(hits, key=lambda h: h.position), failed)


def blame_position(replay: Any, stream: str, at: int, path: Any) -> tuple[int, str] | None:
    """The event that last set ``path`` in the state of ``stream`` at ``at`` (or a parent of it,
    for a container path): its position and a description."""
    frame = replay.blame(None if replay.is_read_model else stream, at=at)
    if frame.empty:
        return None
    wanted = as_path(path)
    best: tuple[int, str] | None = None
    for row in frame.itertuples(index=False):
        leaf = as_path(row.path)
        if row.position is not None and (leaf == wanted or leaf[: len(wanted)] == wanted):
            position = int(row.position)
            if best is None or position > best[0]:
                best = (position, f"{row.type} set {row.path}")
    return best
