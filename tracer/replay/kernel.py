"""The fold kernel: folds one partition's ordered batches into states, cut at checkpoints.

It runs the same in the main process (the serial fold and a pool's first partition) and in a
worker process (:func:`worker_main`, fed Arrow record batches through a pipe by
:mod:`tracer.replay.executors`). At every end of a segment it reports a :class:`Segment`: the
states of the buckets folded there, encoded as checkpoints store them (aggregates, keyed read
models), or the segment's partial state (read models with ``merge``).
"""

from __future__ import annotations

import queue
import sys
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from typing import Any

import pyarrow as pa

from tracer.errors import TracerError
from tracer.replay.checkpoints import encode_state
from tracer.replay.fold import Folder, ProjectionError
from tracer.replay.loader import load_projection
from tracer.replay.partition import MERGE, key_part


class NeedExtras(BaseException):  # (BaseException: a handler's ``except Exception`` lets it by)
    """A handler read event ids or meta, which were not sent to the worker: send them."""


@dataclass
class Segment:
    """What one partition folded in ``(previous end, end]``."""

    end: int
    part: int
    blobs: dict[Any, str] | None = None  # encoded states of the buckets folded there
    last: dict[Any, tuple[Any, Any, Any]] = field(default_factory=dict)  # read models
    partial: dict[Any, Any] | None = None  # merge: the segment's own fold from initial()
    note: str | None = None  # why states cannot be saved (not JSON)


@dataclass
class Task:
    """What a worker needs: the projection's spec (never a pickled class), the partition, the
    ends of segments, the states it starts from."""

    spec: str
    fingerprint: str
    mode: str
    part: int
    parts: int
    ends: list[int]
    boundaries: list[int]
    encode: bool
    states: dict[Any, Any]
    path: list[str]
    owners: list[int]  # the partition of each slot a stream or key hashes to


class Kernel:
    """Folds ordered batches of one partition; ``report`` receives each :class:`Segment`."""

    def __init__(
        self,
        folder: Folder,
        task: Task,
        report: Callable[[Segment], None],
    ) -> None:
        self.folder = folder
        self.task = task
        self.report = report
        self.encode = task.encode
        self.boundaries = set(task.boundaries)
        self.changed: set[Any] = set()
        if task.mode != MERGE and folder.keyed and task.parts > 1:
            part, owners, slots = task.part, task.owners, len(task.owners)
            folder.keep = lambda bucket: owners[key_part(bucket, slots)] == part

    def run(self, batches: Iterable[pa.RecordBatch], states: dict[Any, Any]) -> None:
        ends, index = self.task.ends, 0
        dirty: set[Any] = set()
        last: dict[Any, Any] | None = {} if self.folder.read_model else None
        for batch in batches:
            while batch.num_rows:
                end = ends[index]
                positions = batch.column(0)
                if positions[batch.num_rows - 1].as_py() <= end:
                    cut = batch.num_rows
                else:
                    cut = int(positions.to_numpy().searchsorted(end, side="right"))
                if cut:
                    self.folder.fold([batch.slice(0, cut)], states, dirty, last)
                if cut == batch.num_rows:
                    break
                self._close(ends[index], states, dirty, last)
                index, dirty, last = index + 1, set(), {} if last is not None else None
                batch = batch.slice(cut)
        while index < len(ends):
            self._close(ends[index], states, dirty, last)
            index, dirty, last = index + 1, set(), {} if last is not None else None

    def _close(
        self, end: int, states: dict[Any, Any], dirty: set[Any], last: dict[Any, Any] | None
    ) -> None:
        segment = Segment(end, self.task.part, last=last or {})
        if self.task.mode == MERGE:
            segment.partial = dict(states)
            states.clear()
        else:
            self.changed |= dirty
            if self.encode and end in self.boundaries:
                try:
                    segment.blobs = {b: encode_state(states[b]) for b in dirty if b in states}
                except TypeError as exc:
                    self.encode = False
                    segment.note = f"states are not JSON ({exc}): no checkpoints"
        self.report(segment)


# -- in a worker process ----------------------------------------------------------------------
def worker_main(conn: Connection) -> None:
    """A worker: read a :class:`Task`, then batches until an empty message; send back segments
    as they close and finally ``("done", changed states, failure, needs extras)``."""
    task: Task = conn.recv()
    for entry in reversed(task.path):
        if entry not in sys.path:
            sys.path.insert(0, entry)
    failure: tuple[int, str] | None = None
    need_extras = False
    stream = Received(conn)
    states = task.states
    kernel: Kernel | None = None
    try:
        projection = load_projection(None if task.spec == "default" else task.spec)
        if projection.fingerprint() != task.fingerprint:
            raise TracerError(f"projection {projection.name} changed on disk during the replay")
        folder = Folder(projection, stream.extras)
        kernel = Kernel(folder, task, lambda segment: conn.send(("segment", segment)))
        kernel.run(stream, states)
    except NeedExtras:
        need_extras = True
    except ProjectionError as exc:
        if isinstance(exc.__cause__, NeedExtras):
            need_extras = True
        else:
            failure = (exc.event.position if exc.event is not None else 0, str(exc))
    except TracerError as exc:
        failure = (0, str(exc))
    except Exception as exc:  # anything else still ends the worker with a message
        failure = (0, f"replay worker failed: {type(exc).__name__}: {exc}")
    for _ in stream:  # drain: the main process is still sending
        pass
    changed = {} if kernel is None or failure or need_extras else kernel.changed
    conn.send(("done", {b: states[b] for b in changed if b in states}, failure, need_extras))
    conn.close()


class Received:
    """Batches arriving through the pipe: the schema, then one record batch per message."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.schema: pa.Schema | None = None
        self.done = False
        self.current: pa.RecordBatch | None = None

    def __iter__(self) -> Iterator[pa.RecordBatch]:
        while not self.done:
            data = self.conn.recv_bytes()
            if not data:
                self.done = True
                return
            if self.schema is None:
                self.schema = pa.ipc.read_schema(pa.py_buffer(data))
                continue
            self.current = pa.ipc.read_record_batch(pa.py_buffer(data), self.schema)
            yield self.current

    def extras(self, positions: list[int]) -> dict[int, tuple[Any, Any]]:
        """Event ids and meta of the batch being folded, when they were sent."""
        batch = self.current
        if batch is None or batch.num_columns < 8 or batch.schema.names[6] != "event_id":
            raise NeedExtras()
        return dict(
            zip(
                batch.column(0).to_pylist(),
                zip(batch.column(6).to_pylist(), batch.column(7).to_pylist(), strict=True),
                strict=True,
            )
        )


# -- in the main process ----------------------------------------------------------------------
def send_batches(conn: Connection, outbox: queue.Queue[pa.RecordBatch | None]) -> None:
    """Send a worker its batches (``None``: the end) in the form :class:`Received` reads."""
    broken = False
    schema_sent = False
    while True:
        batch = outbox.get()
        if broken:
            if batch is None:
                return
            continue
        try:
            if batch is None:
                conn.send_bytes(b"")
                return
            if not schema_sent:
                conn.send_bytes(batch.schema.serialize())
                schema_sent = True
            conn.send_bytes(batch.serialize())
        except OSError:  # the worker died: its receiver reports it
            broken = True


@contextmanager
def main_hidden() -> Iterator[None]:
    """Start a worker without it running ``__main__`` again (the ``tracer`` command, pytest, a
    script without a ``__name__`` guard): workers need only :mod:`tracer.replay.kernel`."""
    main = sys.modules.get("__main__")
    if main is None:
        yield
        return
    saved = {k: main.__dict__[k] for k in ("__file__", "__spec__") if k in main.__dict__}
    main.__dict__.pop("__file__", None)
    main.__dict__["__spec__"] = None
    try:
        yield
    finally:
        main.__dict__.pop("__spec__", None)
        main.__dict__.update(saved)
