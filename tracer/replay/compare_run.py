"""The one pass of ``compare``: both versions of a projection fold the same events, and after
every event the stream (or key) it touched is compared in both; see :mod:`tracer.replay.compare`.

:class:`CompareRun` runs the same in the main process and in a worker of the pool
(:mod:`tracer.replay.compare_pool`), each over its own streams; :meth:`CompareRun.absorb`
combines runs over disjoint streams.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import orjson
import pandas as pd
import pyarrow as pa

from tracer.replay.compare_result import CompareResult
from tracer.replay.diff import Change, clone, diff_states
from tracer.replay.events import Event, Extras, ExtrasFetch, event_class, us_to_datetime
from tracer.replay.fold import SKIPPED, Folder, ProjectionError
from tracer.replay.projection import Projection
from tracer.replay.results import records_frame

COLUMNS = ["stream", "key", "position", "version", "type", "time", "event_id", "kind", "error"]
COLUMNS += ["agree_at_end", "diff"]
_MISSING: Any = object()
_SORTED = orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS


def same_state(old: Any, new: Any) -> bool:
    """Whether two states are equal as :func:`diff_states` sees them (no change between them).

    ``==`` first (in C): unequal states always have a change; equal ones may still differ in a
    way ``==`` hides (``True`` against ``1``), which their JSON text shows (plain orjson: what
    it cannot write, an integer beyond 64 bits or a set, is left to the diff).
    """
    if old != new:
        return False
    try:
        if orjson.dumps(old, option=_SORTED) == orjson.dumps(new, option=_SORTED):
            return True
    except TypeError:  # (orjson.JSONEncodeError is one)
        pass
    return not diff_states(old, new)


class Side:
    """One version of the projection: its folder and its states."""

    def __init__(self, label: str, projection: Projection, extras: ExtrasFetch) -> None:
        self.label = label
        self.folder = Folder(projection, extras)
        self.handlers = self.folder.handlers
        self.star = self.folder.star
        self.upcasts = self.folder.upcasts
        self.states: dict[Any, Any] = {}

    def state(self, bucket: Any) -> Any:
        state = self.states.get(bucket, _MISSING)
        return self.folder.initial_state() if state is _MISSING else state


def wanted_types(sides: tuple[Side, Side]) -> set[str] | None:
    wanted = [side.folder.wanted_types() for side in sides]
    if any(w is None for w in wanted):
        return None
    return set().union(*wanted)  # type: ignore[arg-type]


class CompareRun:
    """The one pass: both versions' states and the divergences found so far."""

    def __init__(
        self,
        sides: tuple[Side, Side],
        extras: ExtrasFetch,
        ids: bool = True,
        ignore: Sequence[str] = (),
    ) -> None:
        self.sides = sides
        self.extras = extras
        #: Paths whose differences do not count (a field the new version adds, say).
        self.ignore = tuple(ignore)
        #: Whether divergences look up their event's id (a pool's worker leaves it to the main
        #: process, which fills them in with :meth:`fill_ids`: ids are not sent to workers).
        self.ids = ids
        self.diverged: dict[Any, dict[str, Any]] = {}
        self.broken: set[Any] = set()
        self.read_model = sides[0].folder.read_model
        self.plans: dict[str, tuple[Any, ...]] = {}

    def batch(self, batch: pa.RecordBatch) -> None:
        columns = [batch.column(i).to_pylist() for i in range(6)]
        if not columns[0]:
            return
        extras = Extras(self.extras, columns[0])
        make = event_class(batch.column(5))  # (orjson alone reads a batch without big ints)
        if not self.read_model:
            self._streams(columns, extras, make)
            return
        diverged, broken = self.diverged, self.broken
        old, new = self.sides
        for row in zip(*columns, strict=True):
            touched: list[Any] = []
            failures: list[tuple[Side, Any, Event, ProjectionError]] = []
            for side in (old, new):
                bucket = self._apply(side, row, extras, failures, make)
                if bucket is not SKIPPED and (not touched or touched[0] != bucket):
                    touched.append(bucket)
            if failures:
                self._failed(failures, touched)
            for bucket in touched:
                if bucket in diverged or bucket in broken:
                    continue
                a = old.states.get(bucket, _MISSING)
                b = new.states.get(bucket, _MISSING)
                if a is _MISSING or b is _MISSING or not same_state(a, b):
                    self._compare(bucket, row, extras)

    def _streams(self, columns: list[list[Any]], extras: Extras, make: type[Event] = Event) -> None:
        """The hot loop of aggregates (the bucket is the stream): both versions, one check."""
        old, new = self.sides
        plans, diverged, broken = self.plans, self.diverged, self.broken
        old_states, new_states = old.states, new.states
        old_initial, new_initial = old.folder.initial, new.folder.initial
        dumps = orjson.dumps
        for position, stream, version, event_type, time_us, raw in zip(*columns, strict=True):
            plan = plans.get(event_type)
            if plan is None:
                plan = plans[event_type] = (
                    *self._plan(old, event_type),
                    *self._plan(new, event_type),
                )
            old_handler, old_up, old_type, new_handler, new_up, new_type = plan
            if (old_handler is None and new_handler is None) or stream in broken:
                continue
            failures: list[tuple[Side, Any, Event, ProjectionError]] = []
            a = old_states.get(stream, _MISSING)
            if old_handler is not None:
                event = make(position, stream, version, old_type, time_us, raw, extras, old_up)
                try:
                    if a is _MISSING:
                        a = old_states[stream] = old_initial()
                    result = old_handler(a, event)
                    if result is not None:
                        a = old_states[stream] = result
                except Exception as exc:
                    failures.append((old, stream, event, old.folder.failure(exc, event)))
            b = new_states.get(stream, _MISSING)
            if new_handler is not None:
                event = make(position, stream, version, new_type, time_us, raw, extras, new_up)
                try:
                    if b is _MISSING:
                        b = new_states[stream] = new_initial()
                    result = new_handler(b, event)
                    if result is not None:
                        b = new_states[stream] = result
                except Exception as exc:
                    failures.append((new, stream, event, new.folder.failure(exc, event)))
            if failures:
                self._failed(failures, [stream])
                continue
            if stream in diverged:
                continue
            if a is not _MISSING and b is not _MISSING and a == b:
                try:  # (same_state, inlined: this runs after every event)
                    if dumps(a, option=_SORTED) == dumps(b, option=_SORTED):
                        continue
                except TypeError:
                    pass
            row = (position, stream, version, event_type, time_us, raw)
            self._compare(stream, row, extras)

    @staticmethod
    def _plan(side: Side, stored_type: str) -> tuple[Any, Any, str]:
        """``(handler or None, upcast chain or None, type as handlers see it)``."""
        up = side.upcasts.get(stored_type) if side.upcasts else None
        final = up.final_type if up is not None else stored_type
        return side.handlers.get(final, side.star), up, final

    def _apply(
        self,
        side: Side,
        row: tuple[Any, ...],
        extras: Extras,
        failures: list[tuple[Side, Any, Event, ProjectionError]],
        make: type[Event] = Event,
    ) -> Any:
        """Fold one event into one version; returns the bucket it touched, or ``SKIPPED``."""
        position, stream, version, event_type, time_us, raw = row
        up = side.upcasts.get(event_type) if side.upcasts else None
        if up is not None:
            event_type = up.final_type
        handler = side.handlers.get(event_type, side.star)
        if handler is None:
            return SKIPPED
        event = make(position, stream, version, event_type, time_us, raw, extras, up)
        try:
            bucket = side.folder.bucket(event)
        except ProjectionError as exc:
            failures.append((side, SKIPPED, event, exc))
            return SKIPPED
        if bucket is SKIPPED or bucket in self.broken:
            return SKIPPED
        state = side.states.get(bucket, _MISSING)
        try:
            if state is _MISSING:
                state = side.folder.initial_state(event)
            result = handler(state, event)
        except Exception as exc:
            failures.append((side, bucket, event, side.folder.failure(exc, event)))
            return SKIPPED
        side.states[bucket] = state if result is None else result
        return bucket

    def _failed(
        self, failures: list[tuple[Side, Any, Event, ProjectionError]], touched: list[Any]
    ) -> None:
        for side, bucket, event, exc in failures:
            if bucket is SKIPPED:  # the key function raised: the other version's key, if any
                bucket = touched[0] if touched else None
            message = f"{side.label}: {exc}"
            entry = self.diverged.get(bucket)
            if entry is None:
                self.diverged[bucket] = divergence_entry(event, "error", [], message, self.ids)
            elif entry["error"] is None:
                entry["error"] = message
            elif bucket not in self.broken:
                entry["error"] += f"; {message}"
            self.broken.add(bucket)
            while bucket in touched:
                touched.remove(bucket)

    def _compare(self, bucket: Any, row: tuple[Any, ...], extras: Extras) -> None:
        old, new = self.sides
        try:
            a, b = old.state(bucket), new.state(bucket)
        except ProjectionError as exc:  # initial() raised
            event = Event(*row, extras)
            self.diverged[bucket] = divergence_entry(event, "error", [], str(exc), self.ids)
            self.broken.add(bucket)
            return
        changes = self.differences(a, b)
        if not changes:
            return
        event = Event(*row, extras)
        # (a snapshot: later events go on changing the states the changes point into)
        self.diverged[bucket] = divergence_entry(event, "state", changes, None, self.ids)

    def differences(self, a: Any, b: Any) -> list[Change]:
        """How two states differ, leaving out the ignored paths."""
        if not self.ignore:
            return [] if same_state(a, b) else diff_states(a, b)
        return [c for c in diff_states(a, b) if not _under(c.path, self.ignore)]

    def absorb(self, diverged: dict[Any, Any], broken: set[Any], states: tuple[dict, dict]) -> None:
        """Take in what a run over other streams found (the pool's workers)."""
        self.diverged.update(diverged)
        self.broken |= broken
        for side, side_states in zip(self.sides, states, strict=True):
            side.states.update(side_states)

    def fill_ids(self, lookup: Callable[[list[int]], dict[int, Any]]) -> None:
        """Fill in the event ids that runs without them left out (``lookup``: position -> id)."""
        missing = [e for e in self.diverged.values() if e["event_id"] is None]
        if missing:
            ids = lookup([e["position"] for e in missing])
            for entry in missing:
                entry["event_id"] = ids.get(entry["position"])

    def result(self, read_model: bool, only: str | None) -> CompareResult:
        old, new = self.sides
        buckets = set(old.states) | set(new.states) | self.broken
        if only is not None:
            buckets &= {only}
        rows = []
        end: dict[Any, tuple[Any, Any]] = {}
        for bucket, entry in self.diverged.items():
            if bucket not in buckets:
                continue
            pair = (old.states.get(bucket), new.states.get(bucket))
            end[bucket] = pair
            agree = bucket not in self.broken and not self.differences(
                old.state(bucket), new.state(bucket)
            )
            event_stream = entry.pop("event_stream")
            rows.append(
                {
                    **entry,
                    "stream": event_stream if read_model else bucket,
                    "key": bucket if read_model else None,
                    "agree_at_end": agree,
                }
            )
        rows.sort(key=lambda r: (r["position"], str(r["key"] or r["stream"])))
        frame = records_frame(rows, COLUMNS)
        frame["time"] = pd.to_datetime(frame["time"], utc=True)
        for column in ("position", "version"):
            frame[column] = frame[column].astype("Int64")
        frame["agree_at_end"] = frame["agree_at_end"].astype(bool)
        if not read_model:
            frame = frame.drop(columns=["key"])
        return CompareResult(
            frame,
            len(buckets),
            old.folder.projection.name,
            new.folder.projection.name,
            read_model,
            end,
        )


def divergence_entry(
    event: Event, kind: str, diff: list[Change], error: str | None, with_id: bool = True
) -> dict[str, Any]:
    return {
        "event_stream": event.stream,
        "position": event.position,
        "version": event.version,
        "type": event.type,
        "time": us_to_datetime(event.time_us),
        "event_id": event.id if with_id else None,
        "kind": kind,
        "error": error,
        "diff": [clone(c.to_dict()) for c in diff],
    }


def _under(path: str, prefixes: tuple[str, ...]) -> bool:
    """Whether ``path`` is one of ``prefixes`` or inside one (``a`` holds ``a.b`` and ``a[0]``)."""
    return any(path == p or path.startswith(p + ".") or path.startswith(p + "[") for p in prefixes)
