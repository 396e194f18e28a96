"""Executors: fold events ``(lo, hi]`` into states, saving checkpoints, serially or on every core.

The local pool starts ``workers - 1`` processes (``forkserver``: the main process holds a
read-write DuckDB connection, which neither a forked child nor another process may use); the
main process reads the events once, in position order, with each event's partition computed by
DuckDB (:class:`Split`, after :mod:`tracer.replay.partition`), sends every other partition's
Arrow record batches through a pipe to its worker, and folds the first partition itself. Workers
send back the states of each checkpoint as they pass it, then their final states, which
:class:`~tracer.replay.gather.Gather` combines (as it does for the Dask executor,
:mod:`tracer.replay.cluster`). Event ids and meta are sent only once a handler asks for them
(the fold then starts again with them).

Measured on 1M events (2 cores): exporting the partitions as Parquet files with DuckDB's
``COPY ... PARTITION_BY`` took 1.0-3.3 s, longer than folding them; reading, splitting and
serializing the same batches as Arrow IPC took 0.3-0.9 s, while the workers already fold.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import multiprocessing.forkserver
import queue
import sys
import threading
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.compute as pc

from tracer.replay.checkpoints import Book
from tracer.replay.fold import Folder, ProjectionError
from tracer.replay.gather import Gather
from tracer.replay.kernel import Kernel, Segment, Task, main_hidden, send_batches, worker_main
from tracer.replay.partition import KEY, MERGE, STREAM, cut_points, key_part, slot_owners
from tracer.replay.source import COLUMNS, sql_literal

if TYPE_CHECKING:
    from tracer.replay.engine import Replay

#: Folds of up to this many events run in the main process: starting workers costs more.
PARALLEL_MIN = 50_000
#: The main process's share of the fold, against one worker's. Reading and splitting the events
#: cost it about what a worker's start and decoding of its batches cost (measured on 1M events),
#: but saving checkpoints costs a third of a build (profiled), so it folds less then.
MAIN_SHARE = 1.0
MAIN_SHARE_BUILD = 0.5
#: What the note on a fold that stays here although a cluster was given says (once).
LOCAL_NOTE = "here, not on the Dask cluster"


def fold_serial(
    replay: Replay, states: dict[Any, Any], book: Book, lo: int, hi: int, boundaries: list[int]
) -> None:
    """Fold ``(lo, hi]`` in this process, saving a checkpoint at every boundary."""
    start = lo
    for boundary in boundaries:
        dirty: set[Any] = set()
        touched = replay.advance(states, book, start, boundary, dirty)
        replay.checkpoints.save(boundary, states, dirty | touched, book)
        start = boundary
    replay.advance(states, book, start, hi)


def fold(
    replay: Replay,
    states: dict[Any, Any],
    book: Book,
    lo: int,
    hi: int,
    boundaries: list[int],
    extras: bool = False,
) -> None:
    """Fold ``(lo, hi]`` where ``replay`` says: in this process (one worker, a projection that
    does not split, or ``parallel_min`` events or fewer), on its Dask cluster, or in the pool."""
    events = 0
    if (replay.workers > 1 or replay.cluster is not None) and replay.plan.parallel:
        events = fold_size(replay, lo, hi)
    if events <= replay.parallel_min:
        if events and replay.cluster is not None and not _said(replay, LOCAL_NOTE):
            replay.note_once(
                f"folding {events:,} events {LOCAL_NOTE}: folds of "
                f"{replay.parallel_min:,} events or fewer stay on this machine"
            )
        fold_serial(replay, states, book, lo, hi, boundaries)
    elif replay.cluster is not None:
        from tracer.replay.cluster import fold_cluster  # (imports Dask: only when used)

        fold_cluster(
            replay,
            states,
            book,
            lo,
            hi,
            boundaries,
            replay.cluster,
            replay.exchange,
            extras,
            events,
        )
    else:
        fold_parallel(replay, states, book, lo, hi, boundaries, replay.workers, extras)


def _said(replay: Replay, text: str) -> bool:
    return any(text in note for note in replay.notes)


def fold_size(replay: Replay, lo: int, hi: int) -> int:
    """The events a fold of ``(lo, hi]`` reads: the span of positions, or, for a category, its
    events there, counted (DuckDB skips the row groups outside the span)."""
    if hi <= lo:
        return 0
    if replay.category is None or (hi - lo <= replay.parallel_min and replay.cluster is None):
        return hi - lo  # (a fold that stays here anyway needs no count)
    query = (
        f"SELECT count(*) FROM events WHERE position > {int(lo)} AND position <= {int(hi)} "
        f"AND {replay.source.scope}"
    )
    return int(replay.source.con.execute(query).fetchall()[0][0])


def warm_pool() -> None:
    """Start the pool's server process now, in the background: it imports the fold kernel
    (0.4 s here) while this process goes on, so that a pool started soon after finds it ready
    (``Replay`` calls it when a fold of the whole log would run on several cores)."""
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["tracer.replay.kernel"])
    with main_hidden(), contextlib.suppress(Exception):  # (the pool says if it cannot start)
        multiprocessing.forkserver.ensure_running()


class PoolUnavailable(Exception):
    """Worker processes cannot be started here; the fold runs in this process instead."""


def fold_parallel(
    replay: Replay,
    states: dict[Any, Any],
    book: Book,
    lo: int,
    hi: int,
    boundaries: list[int],
    workers: int,
    extras: bool = False,
) -> None:
    """Fold ``(lo, hi]`` in ``workers`` partitions at once (this process folds the first);
    raises :class:`~tracer.replay.kernel.NeedExtras` when a worker's handler read event ids or
    meta not sent."""
    run = _PoolRun(replay, states, book, lo, hi, boundaries, workers, extras)
    try:
        run.start()
    except OSError as exc:  # no worker processes here (a sandbox, no /dev/shm): say so
        for outbox in run.outboxes:
            outbox.put(None)
        run.stop()
        raise PoolUnavailable(f"cannot start replay workers: {exc}") from exc
    try:
        run.fold_own()
        run.finish()
    finally:
        run.stop()


class Split:
    """How a fold of ``(lo, hi]`` splits into ``parts`` partitions: each partition's
    :class:`Task`, its starting states, and the query reading every event with its partition
    (``main_share``: the first partition's share of the slots, against another's)."""

    def __init__(
        self,
        replay: Replay,
        lo: int,
        hi: int,
        boundaries: list[int],
        parts: int,
        main_share: float = 1.0,
    ) -> None:
        self.replay, self.lo, self.hi, self.boundaries = replay, lo, hi, boundaries
        self.mode = replay.plan.mode
        self.ranges = cut_points(lo, hi, parts, []) if self.mode == MERGE else []
        self.parts = len(self.ranges) if self.mode == MERGE else parts
        self.owners = slot_owners(self.parts, main_share)
        self.ends = sorted({*boundaries, hi})

    def task(self, part: int, states: dict[Any, Any], encode: bool) -> Task:
        if self.mode == MERGE:
            start = self.ranges[part - 1] if part else self.lo
            end = self.ranges[part]
            ends = sorted({*(b for b in self.boundaries if start < b < end), end})
        else:
            ends = self.ends
        plan = self.replay.plan
        assert plan.spec is not None
        return Task(
            plan.spec,
            self.replay.projection.fingerprint(),
            self.mode,
            part,
            self.parts,
            ends,
            self.boundaries,
            encode,
            states,
            list(sys.path),
            self.owners,
        )

    def query(self, extras: bool, chunk: int | None = None) -> str:
        """The events to fold, in position order, with their partition as column ``part``;
        with ``chunk``, unordered, with ``(position - lo - 1) // chunk`` as column ``chunk``."""
        if self.mode == STREAM:
            owners = ", ".join(map(str, self.owners))
            part = f"([{owners}])[(hash(stream) % {len(self.owners)})::BIGINT + 1]::INTEGER"
        elif self.mode == KEY:
            part = "0"
        else:
            cases = " ".join(f"WHEN position <= {e} THEN {i}" for i, e in enumerate(self.ranges))
            part = f"CASE {cases} END"
        columns = COLUMNS + (", event_id, meta" if extras else "")
        where = f"position > {int(self.lo)} AND position <= {int(self.hi)}"
        where += f" AND {self.replay.source.scope}"
        types = self.replay.folder.wanted_types()
        if types is not None:
            where += f" AND type IN ({', '.join(sql_literal(t) for t in sorted(types)) or 'NULL'})"
        if chunk is not None:
            chunks = f"(position - {int(self.lo)} - 1) // {int(chunk)} AS chunk"
            return f"SELECT {columns}, {part} AS part, {chunks} FROM events WHERE {where}"
        return f"SELECT {columns}, {part} AS part FROM events WHERE {where} ORDER BY position"

    def starting_states(self, states: dict[Any, Any]) -> list[dict[Any, Any]]:
        """``states`` split by the partition each bucket belongs to."""
        split: list[dict[Any, Any]] = [{} for _ in range(self.parts)]
        if self.mode == MERGE or not states:
            return split
        if self.mode == STREAM:
            owners, slots = self.owners, len(self.owners)
            parts = self.replay.source.stream_parts([str(b) for b in states], slots)
            for bucket, state in states.items():
                split[owners[parts[str(bucket)]]][bucket] = state
        else:
            for bucket, state in states.items():
                split[self.owners[key_part(bucket, len(self.owners))]][bucket] = state
        return split


class _PoolRun:
    def __init__(
        self,
        replay: Replay,
        states: dict[Any, Any],
        book: Book,
        lo: int,
        hi: int,
        boundaries: list[int],
        parts: int,
        extras: bool,
    ) -> None:
        self.replay, self.states, self.extras = replay, states, extras
        self.mode = replay.plan.mode
        # The main process also reads, splits and saves: it takes a smaller share of the fold.
        share = MAIN_SHARE_BUILD if boundaries else MAIN_SHARE
        self.split = Split(replay, lo, hi, boundaries, parts, share)
        self.parts = self.split.parts
        self.gather = Gather(replay, states, book, lo, hi, boundaries, self.parts)
        self.inbox: queue.Queue[tuple[int, tuple[Any, ...]]] = queue.Queue()
        self.failures: list[tuple[int, str]] = []
        self.need_extras = False
        self.finished = 0  # workers that sent their last message
        self.finals: dict[Any, Any] = {}
        self.procs: list[Any] = []
        self.outboxes: list[queue.Queue[pa.RecordBatch | None]] = []

    # -- running ---------------------------------------------------------------------------
    def start(self) -> None:
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(["tracer.replay.kernel"])
        split = self.split.starting_states(self.states)
        for part in range(1, self.parts):
            parent, child = context.Pipe()
            proc = context.Process(target=worker_main, args=(child,), daemon=True)
            with main_hidden():
                proc.start()
            child.close()
            self.procs.append(proc)
            parent.send(self.split.task(part, split[part], self.gather.encode))
            outbox: queue.Queue[pa.RecordBatch | None] = queue.Queue(maxsize=4)
            self.outboxes.append(outbox)
            sender = threading.Thread(target=send_batches, args=(parent, outbox), daemon=True)
            sender.start()
            receiver = threading.Thread(target=self._receive, args=(part, parent), daemon=True)
            receiver.start()

    def fold_own(self) -> None:
        replay = self.replay
        folder = Folder(replay.projection, replay.source.extras)
        own = self.states if self.mode != MERGE else {}
        kernel = Kernel(folder, self.split.task(0, own, self.gather.encode), self._own_segment)
        batches = self._dispatch()
        try:
            kernel.run(batches, own)
        except ProjectionError as exc:
            self.failures.append((exc.event.position if exc.event is not None else 0, str(exc)))
        finally:
            batches.close()  # (closes the read of the store)
            for outbox in self.outboxes:
                outbox.put(None)

    def _dispatch(self) -> Iterator[pa.RecordBatch]:
        index = 8 if self.extras else 6
        for batch in self.replay.source.read(self.split.query(self.extras)):
            if self.mode == KEY:
                for outbox in self.outboxes:
                    outbox.put(batch)
                yield batch
                continue
            column = batch.column(index)
            for part, outbox in enumerate(self.outboxes, start=1):
                piece = batch.filter(pc.equal(column, part))
                if piece.num_rows:
                    outbox.put(piece)
            own = batch.filter(pc.equal(column, 0))
            if own.num_rows:
                yield own

    def _receive(self, part: int, conn: Any) -> None:
        while True:
            try:
                message = conn.recv()
            except (EOFError, OSError):
                self.inbox.put((part, ("died",)))
                return
            self.inbox.put((part, message))
            if message[0] == "done":
                conn.close()
                return

    def _own_segment(self, segment: Segment) -> None:
        self.gather.take(segment)
        self._drain(block=False)

    def _drain(self, block: bool) -> None:
        """Handle workers' messages (``block``: wait for one)."""
        while True:
            try:
                part, message = self.inbox.get(block=block)
            except queue.Empty:
                return
            kind = message[0]
            if kind == "segment":
                self.gather.take(message[1])
            elif kind == "died":
                code = self.procs[part - 1].exitcode
                self.failures.append((0, f"replay worker {part} died (exit code {code})"))
                self.finished += 1
            else:
                _, changed, failure, need_extras = message
                self.finals.update(changed)
                if failure is not None:
                    self.failures.append(failure)
                self.need_extras = self.need_extras or need_extras
                self.finished += 1
            if block:
                return

    def finish(self) -> None:
        while self.finished < len(self.procs):
            self._drain(block=True)
        self.gather.finish(self.finals, self.failures, self.need_extras)

    def stop(self) -> None:
        for proc in self.procs:
            proc.join(timeout=5)
            if proc.is_alive():
                proc.terminate()
                proc.join()
