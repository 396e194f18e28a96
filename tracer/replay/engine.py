"""``Replay``: the state of any stream or read model at any point, and the diffs between points.

The history-walking queries (history, blame, find, check) live in :mod:`tracer.replay.queries`
and what-if replays in :mod:`tracer.replay.whatif`; ``Replay`` is the one object they share.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

import pandas as pd

from tracer.errors import TracerError
from tracer.names import close_names, did_you_mean
from tracer.replay.checkpoints import DEFAULT_EVERY, Book, Checkpoints
from tracer.replay.diff import Diff, diff_states
from tracer.replay.events import Event, us_to_datetime
from tracer.replay.executors import PARALLEL_MIN, PoolUnavailable, fold, fold_size, warm_pool
from tracer.replay.fold import INITIAL, Folder
from tracer.replay.kernel import NeedExtras
from tracer.replay.loader import load_projection
from tracer.replay.partition import plan_for
from tracer.replay.points import parse_point
from tracer.replay.results import (
    Match,
    StateResult,
    WhatIfResult,
    buckets_frame,
    states_frame,
)
from tracer.replay.source import EventSource
from tracer.store import Store


class Replay:
    """Replays a store's events through a projection.

    ``projection``: ``None`` (deep-merge each event's data per stream), a
    :class:`~tracer.replay.projection.Projection` subclass or instance, or
    ``"path/file.py:Name"`` / ``"package.module:Name"``. ``checkpoints`` saves states in the
    store every ``every`` events so that later queries fold only the rest. ``workers`` folds
    on that many cores (default: every core) once a fold spans ``parallel_min`` events or more
    (see :mod:`tracer.replay.partition` for how projections split). ``category`` (default: the
    projection's own ``category``, if it declares one) folds only that category's streams.
    ``cluster`` (``tcp://HOST:PORT``, default ``$TRACER_DASK_SCHEDULER`` unless ``workers`` is
    given) folds on Dask (:mod:`tracer.replay.cluster`; ``exchange``: where its Parquet goes).
    """

    def __init__(
        self,
        store: Store,
        projection: Any = None,
        *,
        checkpoints: bool = True,
        every: int = DEFAULT_EVERY,
        workers: int | None = None,
        parallel_min: int = PARALLEL_MIN,
        category: str | None = None,
        cluster: str | None = None,
        exchange: str | None = None,
    ) -> None:
        self.store = store
        self.projection = load_projection(projection)
        self.category = _scope(self.projection, category)
        self.plan = plan_for(self.projection, projection)
        self.workers = max(1, int(workers if workers is not None else os.cpu_count() or 1))
        self.parallel_min = parallel_min
        if cluster is None and workers is None:
            cluster = os.environ.get("TRACER_DASK_SCHEDULER") or None
        elif cluster is not None and workers is not None:
            raise TracerError(
                "give --cluster or --workers, not both: --workers folds on this machine's cores, "
                "--cluster on the Dask cluster's"
            )
        if exchange is not None and cluster is None:
            raise TracerError("--exchange says where a --cluster's events go: give --cluster too")
        if cluster is not None:
            from tracer.replay.cluster import check_options  # (does not import Dask)

            cluster = check_options(cluster, exchange)
        self.cluster, self.exchange = cluster, exchange
        self._extras = False  # whether workers need event ids and meta (a handler read them)
        #: What a user should know about the last queries (the CLI prints them on stderr).
        self.notes: list[str] = []
        self.source = EventSource(store, self.category)
        self.source.require_scope()
        self.folder = Folder(self.projection, self.source.extras)
        self.checkpoints = Checkpoints(
            self.source,
            self.projection.fingerprint() + ("" if category is None else f"/{category}"),
            self.projection.name,
            every,
            enabled=checkpoints,
        )
        if self.workers > 1 and self.cluster is None and self.plan.parallel:
            end = self.source.max_position()
            if end - self.checkpoints.latest(end) > parallel_min:  # (a long fold is likely)
                warm_pool()

    def __repr__(self) -> str:
        return f"Replay({self.store!r}, {self.projection.name})"

    @property
    def is_read_model(self) -> bool:
        return self.projection.read_model

    @property
    def name(self) -> str:
        return self.projection.name

    @property
    def note(self) -> str | None:
        """Why folds run on one core although more workers were asked for and the log is long
        enough for them (else ``None``)."""
        if (self.workers < 2 and self.cluster is None) or self.plan.parallel:
            return None
        long_enough = fold_size(self, 0, self.source.max_position()) > self.parallel_min
        return self.plan.note if long_enough else None

    def note_once(self, note: str | None) -> None:
        """Keep a note for the user (see :attr:`notes`), once."""
        if note and note not in self.notes:
            self.notes.append(note)

    def position(self, at: Any = "end", stream: str | None = None) -> int:
        """The global position a point stands for."""
        return self.source.resolve(at, stream)

    # -- states -----------------------------------------------------------------------------
    def state(self, stream: str | None = None, at: Any = "end", *, key: Any = None) -> StateResult:
        """One stream's state at a point; for a read model, its state (or one key's)."""
        if self.is_read_model:
            return self._read_model_state(key if key is not None else stream, at)
        if stream is None:
            raise TracerError(f"projection {self.name} keeps one state per stream: name a stream")
        position, late, until = self.point(at, stream)
        state, book = self.stream_state(stream, position, late, until)
        if book is None or self.category is not None:  # is it a stream this replay sees?
            self.need_stream(stream)
        return self._result(stream, state, book)

    def states(self, at: Any = "end") -> pd.DataFrame:
        """Every stream's state at a point (one row per stream; per key for a read model)."""
        states, book = self.states_at(at)
        if self.is_read_model and not self.projection.keyed:
            return states_frame([self._read_model_result(None, states, book, whole=True)])
        return buckets_frame(states, book, self.folder.initial_state, self.is_read_model)

    def state_results(self, at: Any = "end") -> list[StateResult]:
        """Every stream's state at a point, as :class:`StateResult` objects."""
        states, book = self.states_at(at)
        if self.is_read_model and not self.projection.keyed:
            return [self._read_model_result(None, states, book, whole=True)]
        buckets = sorted(set(book) | set(states), key=str)
        return [self._result(b, states.get(b, INITIAL), book.get(b)) for b in buckets]

    def _read_model_state(self, key: Any, at: Any) -> StateResult:
        states, book = self.states_at(at)
        return self._read_model_result(key, states, book, whole=key is None)

    def _read_model_result(
        self, key: Any, states: dict[Any, Any], book: Book, whole: bool
    ) -> StateResult:
        if whole and self.projection.keyed:
            state = {k: states[k] for k in sorted(states, key=str)}
            last = max(book.values(), default=None, key=lambda b: b[0])
            return self._result(None, state, last)
        bucket = None if whole else str(key)
        state = states.get(bucket, INITIAL)
        return self._result(bucket, state, book.get(bucket))

    def _result(self, bucket: Any, state: Any, book: tuple[Any, Any, Any] | None) -> StateResult:
        if state is INITIAL:
            state = self.folder.initial_state()
        position, version, time_us = book if book is not None else (None, None, None)
        return StateResult(
            bucket,
            position,
            None if self.is_read_model else version,
            us_to_datetime(time_us),
            state,
            self.name,
        )

    def need_stream(self, stream: str) -> None:
        if not self.source.stream_exists(stream) and self.category is not None:
            other = self.source.stream_category(stream)
            if other is not None:
                raise TracerError(
                    f"stream {stream!r} is of category {other!r}, not {self.category!r}: "
                    f"{self.name} sees only category {self.category!r} here"
                )
        if not self.source.stream_exists(stream):
            close = did_you_mean(close_names(self.source.con, "stream", stream))
            raise TracerError(f"no stream {stream!r} in the store{close}")

    # -- folding ----------------------------------------------------------------------------
    def point(self, at: Any, stream: str | None = None) -> tuple[int, int | None, datetime | None]:
        """``(position, late, until)`` for a point: the state there folds events up to
        ``position``; for ``time:T`` it leaves out the events later than T, of which ``late``
        is the first (``None`` when times never go back, as in most logs)."""
        point = parse_point(at)
        if point.kind != "time":
            return self.source.resolve(point, stream), None, None
        assert isinstance(point.value, datetime)
        position, late = self.source.time_point(point.value, stream)
        return position, late, None if late is None else point.value

    def stream_state(
        self, stream: str, position: int, late: int | None = None, until: datetime | None = None
    ) -> tuple[Any, tuple | None]:
        """One aggregate stream's state after ``position``, and its last event then; from the
        event at ``late`` on, only events at or before ``until`` are folded."""
        if late is not None:
            state, book = self.stream_state(stream, late - 1)
            states: dict[Any, Any] = {} if state is INITIAL else {stream: state}
            batches = list(self.source.batches(late - 1, position, stream=stream, until=until))
            self.folder.fold(batches, states)
            return states.get(stream, INITIAL), _last_event(batches) or book
        start = self.checkpoints.latest(position)
        state: Any = INITIAL
        book: tuple | None = None
        if start:
            saved = self.checkpoints.load_one(stream, start)
            if saved is not None:
                state, book = saved
            batches = self.source.batches(start, position, stream=stream)
        else:
            batches = self.source.stream_batches(stream, position)
        states = {} if state is INITIAL else {stream: state}
        batches = list(batches)
        self.folder.fold(batches, states)
        return states.get(stream, INITIAL), _last_event(batches) or book

    def states_at(self, at: Any) -> tuple[dict[Any, Any], Book]:
        """Every bucket's state at a point (see :meth:`point` for ``time:T``)."""
        position, late, until = self.point(at)
        if late is None:
            return self.all_states(position)
        states, book = self.all_states(late - 1)
        self.advance(states, book, late - 1, position, until=until)
        return states, book

    def all_states(self, position: int, build: bool = True) -> tuple[dict[Any, Any], Book]:
        """Every bucket's state after ``position``, from the nearest checkpoint (saving the
        checkpoints on the way when ``build``)."""
        while True:
            start = self.checkpoints.latest(position)
            states, book = self.checkpoints.load_all(start) if start else ({}, {})
            every = self.checkpoints.every
            boundaries: list[int] = []
            if build and self.checkpoints.writable:
                boundaries = list(range((start // every + 1) * every, position + 1, every))
            try:
                fold(self, states, book, start, position, boundaries, self._extras)
                return states, book
            except NeedExtras:  # a handler read ids or meta: again, sending them
                self._extras = True
            except PoolUnavailable:  # (nothing was folded yet): one core from now on
                self.workers = 1

    def advance(
        self,
        states: dict[Any, Any],
        book: Book,
        lo: int,
        hi: int,
        dirty: set[Any] | None = None,
        until: datetime | None = None,
    ) -> set[Any]:
        """Fold events ``(lo, hi]`` (none later than ``until``) into ``states``; returns the
        buckets with events there."""
        if hi <= lo:
            return set()
        batches = self.source.batches(lo, hi, types=self.folder.wanted_types(), until=until)
        if self.is_read_model:
            last: dict[Any, tuple[int, int | None, int | None]] = {}
            self.folder.fold(batches, states, dirty, last)
            book.update(last)
            return set(last)
        self.folder.fold(batches, states, dirty)
        seen = self.source.bookkeeping(lo, hi, until=until)
        book.update(seen)
        return set(seen)

    def build_checkpoints(self, at: Any = "end") -> int:
        """Save checkpoints up to a point now; returns the last checkpoint's position."""
        self.all_states(self.source.resolve(at))
        return self.checkpoints.last()

    def drop_checkpoints(self) -> None:
        self.checkpoints.drop()

    def events(self, lo: int, hi: int, stream: str | None = None) -> Iterable[Event]:
        """Every event ``lo < position <= hi`` (of one stream), upcast as handlers see them."""
        return self.folder.events(self.source.batches(lo, hi, stream=stream))

    # -- diffs (see tracer.replay.state_diffs) ----------------------------------------------
    def diff(self, stream: str | None, frm: Any, to: Any = "end") -> Diff:
        """What changed in one stream's state (a read model's, or one key's) between points."""
        old = self.state(stream, frm)
        new = self.state(stream, to)
        return Diff(diff_states(old.state, new.state), stream, old.position, new.position)

    def event_change(self, position: int) -> Diff:
        """What the event at ``position`` changed in its stream's (or the read model's) state."""
        from tracer.replay.state_diffs import event_change

        return event_change(self, position)

    def diff_all(self, frm: Any, to: Any = "end") -> pd.DataFrame:
        """One row per stream (or key) whose state changed between two points."""
        from tracer.replay.state_diffs import diff_all

        return diff_all(self, frm, to)

    # -- history walks (see tracer.replay.queries, tracer.replay.whatif) -------------------
    def history(self, stream: str | None, path: str) -> pd.DataFrame:
        from tracer.replay.queries import history

        return history(self, stream, path)

    def blame(self, stream: str | None = None, at: Any = "end") -> pd.DataFrame:
        from tracer.replay.queries import blame

        return blame(self, stream, at)

    def find(
        self,
        where: str | Callable[..., Any],
        stream: str | None = None,
        start: Any = None,
        backward: bool = False,
    ) -> Match | None:
        from tracer.replay.queries import find

        return find(self, where, stream, start, backward)

    def check(
        self,
        invariants: list[str | Callable[..., Any]] | str,
        stream: str | None = None,
        by: str | Callable[..., Any] | None = None,
    ) -> pd.DataFrame:
        """Every violation of the invariants (see :func:`tracer.replay.queries.check`); ``by``
        adds a ``by`` column, which :func:`tracer.replay.violation_groups` counts."""
        from tracer.replay.queries import check

        return check(self, invariants, stream, by)

    def whatif(
        self,
        skip: Iterable[int] = (),
        edit: dict[int, Any] | None = None,
        insert: list[tuple[int, dict[str, Any]]] | None = None,
        stream: str | None = None,
        at: Any = "end",
    ) -> WhatIfResult:
        """Replay with events skipped, edited (``{position: data}``) or inserted
        (``[(after_position, {"stream", "type", "data", ...})]``); compare states at ``at``."""
        from tracer.replay.whatif import whatif

        return whatif(self, skip, edit, insert, stream, at)


def _scope(projection: Any, given: str | None) -> str | None:
    """The category a replay folds: the one given, else the projection's declared one."""
    declared = getattr(projection, "category", None)
    if declared is not None and not isinstance(declared, str):
        raise TracerError(f"projection {projection.name}: category must be a string")
    if given is not None and declared is not None and given != declared:
        raise TracerError(
            f"projection {projection.name} declares category {declared!r}: "
            f"it cannot replay category {given!r}"
        )
    return given or declared


def _last_event(batches: list[Any]) -> tuple[Any, Any, Any] | None:
    """(position, version, time) of the last event of the batches, if any."""
    for batch in reversed(batches):
        if batch.num_rows:
            row = batch.num_rows - 1
            return tuple(batch.column(i)[row].as_py() for i in (0, 2, 4))
    return None
