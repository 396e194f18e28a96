"""Folding events into states: the one place where projection code runs.

States live in a dict ``bucket -> state``: the bucket is the stream for an aggregate projection,
the key for a keyed read model, and ``None`` for a read model with one state.
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import pyarrow as pa

from tracer.errors import TracerError
from tracer.replay.events import Event, Extras, ExtrasFetch, event_class
from tracer.replay.projection import Projection, UpcastChain

_MISSING: Any = object()
#: Marks "no event folded yet": the projection's ``initial()`` is the state.
INITIAL: Any = type("Initial", (), {"__repr__": lambda self: "<initial>"})()
#: What :meth:`Folder.apply` returns for an event the projection does not fold.
SKIPPED: Any = type("Skipped", (), {"__repr__": lambda self: "<skipped>"})()


class ProjectionError(TracerError):
    """A handler, key function or upcaster raised: names the projection, handler and event."""

    def __init__(self, message: str, event: Event | None = None) -> None:
        super().__init__(message)
        self.event = event


class Folder:
    """Applies events to states with one projection's handlers, upcasters and key function."""

    def __init__(self, projection: Projection, extras: ExtrasFetch | None = None) -> None:
        self.projection = projection
        self.fetch_extras = extras
        self.handlers = projection.handlers()
        self.star = self.handlers.pop("*", None)
        self.upcasts: dict[str, UpcastChain] = projection.upcasts()
        self.read_model = projection.read_model
        self.keyed = projection.keyed
        self.initial: Callable[[], Any] = projection.initial
        #: Keyed read models folded in partitions: only the buckets this returns True for.
        self.keep: Callable[[Any], bool] | None = None

    def wanted_types(self) -> set[str] | None:
        """Stored event types the projection folds (``None``: every type)."""
        if self.star is not None:
            return None
        types = set(self.handlers)
        types.update(t for t, chain in self.upcasts.items() if chain.final_type in self.handlers)
        return types

    def bucket(self, event: Event) -> Any:
        """The bucket an event folds into, or ``SKIPPED``."""
        if not self.read_model:
            return event.stream
        if not self.keyed:
            return None
        try:
            key = self.projection.key(event)
        except Exception as exc:
            raise self._error(exc, event, "key") from exc
        return SKIPPED if key is None else (key if isinstance(key, str) else str(key))

    def initial_state(self, event: Event | None = None) -> Any:
        try:
            return self.initial()
        except Exception as exc:
            raise self._error(exc, event, "initial") from exc

    # -- the fast path ----------------------------------------------------------------------
    def fold(
        self,
        batches: Iterable[pa.RecordBatch],
        states: dict[Any, Any],
        dirty: set[Any] | None = None,
        last: dict[Any, tuple[int, int | None, int | None]] | None = None,
    ) -> None:
        """Fold every batch into ``states``.

        ``dirty`` collects the buckets with folded events; ``last`` the last folded event per
        bucket (position, version, time).
        """
        simple = not self.read_model and not self.upcasts and last is None
        # The cyclic garbage collector would scan every state again and again while millions
        # of short-lived events and payloads are created: pause it for the fold.
        paused = gc.isenabled()
        gc.disable()
        try:
            self._fold_batches(batches, states, dirty, last, simple)
        finally:
            if paused:
                gc.enable()

    def _fold_batches(
        self,
        batches: Iterable[pa.RecordBatch],
        states: dict[Any, Any],
        dirty: set[Any] | None,
        last: dict[Any, tuple[int, int | None, int | None]] | None,
        simple: bool,
    ) -> None:
        for batch in batches:
            columns = [batch.column(i).to_pylist() for i in range(6)]
            if not columns[0]:
                continue
            extras = Extras(self.fetch_extras, columns[0])
            make = event_class(batch.column(5))
            if simple:
                self._fold_aggregate(columns, extras, states, make)
                if dirty is not None:
                    dirty.update(columns[1])
            else:
                self._fold_any(columns, extras, states, dirty, last, make)

    def _fold_aggregate(
        self, columns: list[list[Any]], extras: Extras, states: dict, make: type[Event] = Event
    ) -> None:
        """The hot loop: one state per stream, no upcaster. Keep it lean."""
        get_handler, star, initial = self.handlers.get, self.star, self.initial
        get_state = states.get
        event: Event | None = None
        try:
            for position, stream, version, event_type, time_us, raw in zip(*columns, strict=True):
                handler = get_handler(event_type, star)
                if handler is None:
                    continue
                event = make(position, stream, version, event_type, time_us, raw, extras, None)
                state = get_state(stream, _MISSING)
                if state is _MISSING:
                    state = states[stream] = initial()
                result = handler(state, event)
                if result is not None:
                    states[stream] = result
        except Exception as exc:
            raise self._error(exc, event, None) from exc

    def _fold_any(
        self,
        columns: list[list[Any]],
        extras: Extras,
        states: dict[Any, Any],
        dirty: set[Any] | None,
        last: dict[Any, tuple[int, int | None, int | None]] | None,
        make: type[Event] = Event,
    ) -> None:
        handlers, star, upcasts = self.handlers, self.star, self.upcasts
        aggregate = not self.read_model
        keep = self.keep
        event: Event | None = None
        try:
            for position, stream, version, event_type, time_us, raw in zip(*columns, strict=True):
                up = upcasts.get(event_type) if upcasts else None
                if up is not None:
                    event_type = up.final_type
                handler = handlers.get(event_type, star)
                if handler is None:
                    continue
                event = make(position, stream, version, event_type, time_us, raw, extras, up)
                if aggregate:
                    bucket = stream
                else:
                    bucket = self.bucket(event)
                    if bucket is SKIPPED or (keep is not None and not keep(bucket)):
                        continue
                state = states.get(bucket, _MISSING)
                if state is _MISSING:
                    state = self.initial()
                result = handler(state, event)
                states[bucket] = state if result is None else result
                if dirty is not None:
                    dirty.add(bucket)
                if last is not None:
                    last[bucket] = (position, version, time_us)
        except ProjectionError:
            raise
        except Exception as exc:
            raise self._error(exc, event, None) from exc

    # -- one event at a time ----------------------------------------------------------------
    def events(self, batches: Iterable[pa.RecordBatch]) -> Iterator[Event]:
        """Every event of the batches (folded or not), upcast, in order."""
        upcasts = self.upcasts
        for batch in batches:
            positions, streams, versions, types, times, raws = (
                batch.column(i).to_pylist() for i in range(6)
            )
            if not positions:
                continue
            extras = Extras(self.fetch_extras, positions)
            make = event_class(batch.column(5))
            for row, event_type in enumerate(types):
                up = upcasts.get(event_type) if upcasts else None
                yield make(
                    positions[row],
                    streams[row],
                    versions[row],
                    up.final_type if up is not None else event_type,
                    times[row],
                    raws[row],
                    extras,
                    up,
                )

    def apply(self, states: dict[Any, Any], event: Event) -> Any:
        """Apply one event; returns its bucket, or ``SKIPPED`` when the projection ignores it."""
        handler = self.handlers.get(event.type, self.star)
        if handler is None:
            return event.stream if not self.read_model else SKIPPED
        bucket = self.bucket(event)
        if bucket is SKIPPED:
            return SKIPPED
        state = states.get(bucket, _MISSING)
        if state is _MISSING:
            state = self.initial_state(event)
        try:
            result = handler(state, event)
        except Exception as exc:
            raise self._error(exc, event, None) from exc
        states[bucket] = state if result is None else result
        return bucket

    def failure(self, exc: Exception, event: Event | None) -> ProjectionError:
        """The error for projection code that raised on ``event`` (names handler or upcaster)."""
        return exc if isinstance(exc, ProjectionError) else self._error(exc, event, None)

    def _error(self, exc: Exception, event: Event | None, step: str | None) -> ProjectionError:
        name = self.projection.name
        if step == "key":
            where = "key function"
        elif step == "initial":
            where = "initial()"
        else:
            where = self._culprit(exc, event)
        if event is None:
            return ProjectionError(f"projection {name}: {where} failed: {_describe(exc)}")
        return ProjectionError(
            f"projection {name}: {where} failed on event at position {event.position} "
            f"(stream {event.stream}, type {event.type}): {_describe(exc)}",
            event,
        )

    def _culprit(self, exc: Exception, event: Event | None) -> str:
        """``handler NAME`` or ``upcaster NAME``: the innermost projection code that raised."""
        codes: dict[Any, str] = {}
        for attr in self.projection._handler_names.values():
            codes[_code(getattr(self.projection, attr))] = f"handler {attr}"
        for *_, attr in self.projection._upcaster_names:
            codes[_code(getattr(self.projection, attr))] = f"upcaster {attr}"
        found = None
        tb = exc.__traceback__
        while tb is not None:
            found = codes.get(tb.tb_frame.f_code, found)
            tb = tb.tb_next
        if found is None and event is not None:
            found = "handler " + self.projection.handler_name(event.type)
        return found or "handler"


def _code(func: Any) -> Any:
    return getattr(getattr(func, "__func__", func), "__code__", None)


def _describe(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__
