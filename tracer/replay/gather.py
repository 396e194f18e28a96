"""Gathering partitions' results: the :class:`~tracer.replay.kernel.Segment` each partition
reports, combined into the states, bookkeeping and checkpoints the serial fold gives.

Both the local process pool (:mod:`tracer.replay.executors`) and the Dask executor
(:mod:`tracer.replay.cluster`) feed a :class:`Gather`, in whatever order segments arrive:

- aggregates and keyed read models: once every partition has reported the segment ending at a
  checkpoint boundary, the boundary's bookkeeping is updated and its checkpoint saved from the
  encoded states the partitions sent; the partitions' final states are concatenated;
- read models with ``merge(a, b)``: the partial states of consecutive ranges are merged in
  position order, saving a checkpoint at every boundary on the way.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tracer.errors import TracerError
from tracer.replay.checkpoints import Book, encode_state
from tracer.replay.fold import ProjectionError
from tracer.replay.kernel import NeedExtras, Segment
from tracer.replay.partition import MERGE

if TYPE_CHECKING:
    from tracer.replay.engine import Replay


class Gather:
    """Combines the segments of ``parts`` partitions folding ``(lo, hi]`` into ``states`` and
    ``book`` (saving the checkpoints at ``boundaries``)."""

    def __init__(
        self,
        replay: Replay,
        states: dict[Any, Any],
        book: Book,
        lo: int,
        hi: int,
        boundaries: list[int],
        parts: int,
    ) -> None:
        self.replay, self.states, self.book = replay, states, book
        self.boundaries, self.parts = boundaries, parts
        self.mode = replay.plan.mode
        writable = replay.checkpoints.writable and bool(boundaries)
        #: Whether partitions send the encoded states of each checkpoint they pass.
        self.encode = writable and self.mode != MERGE
        self.encoded: dict[Any, str | None] = {}
        if self.encode:
            try:
                self.encoded = {b: encode_state(s) for b, s in states.items()}
            except TypeError as exc:
                replay.checkpoints.disable(f"states are not JSON ({exc}): no checkpoints")
                self.encode = False
        self.pending: dict[int, list[Segment]] = {}
        self.ends = sorted({*boundaries, hi})
        self.flushed = 0
        self.previous = lo
        self.merged: list[Segment] = []

    def take(self, segment: Segment) -> None:
        """One partition's segment (any partition, any order)."""
        if self.mode == MERGE:
            self.merged.append(segment)
            return
        self.pending.setdefault(segment.end, []).append(segment)
        while self.flushed < len(self.ends):
            end = self.ends[self.flushed]
            segments = self.pending.get(end, [])
            if len(segments) < self.parts:
                return
            del self.pending[end]
            self._close(end, segments)
            self.flushed += 1

    def finish(
        self, finals: dict[Any, Any], failures: list[tuple[int, str]], need_extras: bool
    ) -> None:
        """Every partition is done: raise the first failure (by position), ask for event ids
        and meta when a handler read them, else complete the states."""
        if failures:
            raise ProjectionError(min(failures)[1])
        if need_extras:
            raise NeedExtras()
        if self.mode == MERGE:
            self._merge_all()
        else:
            self.states.update(finals)

    def _close(self, end: int, segments: list[Segment]) -> None:
        replay, book = self.replay, self.book
        if replay.is_read_model:
            touched: set[Any] = set()
            for segment in segments:
                book.update(segment.last)
                touched.update(segment.last)
        else:
            seen = replay.source.bookkeeping(self.previous, end)
            book.update(seen)
            touched = set(seen)
        self.previous = end
        checkpoints = replay.checkpoints
        if end not in self.boundaries or not checkpoints.writable:
            return
        notes = [s.note for s in segments if s.note]
        if notes or not self.encode:
            checkpoints.disable(notes[0] if notes else "states are not JSON: no checkpoints")
            return
        blobs: dict[Any, str | None] = {}
        for segment in segments:
            blobs.update(segment.blobs or {})
        self.encoded.update(blobs)
        buckets = set(blobs) | touched
        if checkpoints.is_full(end):
            buckets = set(book) | set(self.encoded)
        checkpoints.save_encoded(end, {b: self.encoded.get(b) for b in buckets}, book)

    def _merge_all(self) -> None:
        projection, states = self.replay.projection, self.states
        touched: set[Any] = set()  # since the last checkpoint
        for segment in sorted(self.merged, key=lambda s: s.end):
            partial = segment.partial or {}
            if None in partial:
                if None in states:
                    try:
                        states[None] = projection.merge(states[None], partial[None])  # type: ignore[attr-defined]
                    except Exception as exc:
                        raise TracerError(
                            f"projection {projection.name}: merge() failed: "
                            f"{type(exc).__name__}: {exc}"
                        ) from exc
                else:
                    states[None] = partial[None]
            self.book.update(segment.last)
            touched.update(segment.last)
            if segment.end in self.boundaries:
                self.replay.checkpoints.save(segment.end, states, touched, self.book)
                touched = set()
