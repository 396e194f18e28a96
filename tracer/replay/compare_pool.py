"""``compare`` on every core: the streams of an aggregate split across worker processes.

As in the replay pool (:mod:`tracer.replay.executors`), the main process reads the events once,
in position order, with each event's partition computed by DuckDB from a hash of its stream,
sends each worker its partition's Arrow record batches through a pipe, and compares the first
partition itself. Each worker runs the same :class:`~tracer.replay.compare_run.CompareRun` over
its streams and sends back what it found and both versions' final states; streams never span
two partitions, so the runs combine by union. Both versions reach the workers by their specs
(``FILE.py:Name``).

Event ids and meta triple what goes through the pipes (303 against 113 bytes per event on the
synthetic log) and double the read: they are sent only once a handler reads them (the
comparison then starts again with them, as the replay pool does); the main process looks up
the event ids of the divergences at the end.
"""

from __future__ import annotations

import multiprocessing
import queue
import sys
import threading
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from tracer.errors import TracerError
from tracer.replay.compare_run import CompareRun, Side, wanted_types
from tracer.replay.executors import PoolUnavailable
from tracer.replay.kernel import NeedExtras, Received, main_hidden, send_batches
from tracer.replay.loader import load_projection
from tracer.replay.partition import slot_owners
from tracer.replay.source import COLUMNS, EventSource, sql_literal

__all__ = ["compare_in_pool", "worker_main"]


def compare_in_pool(
    source: EventSource,
    new_run: Callable[[], CompareRun],
    specs: tuple[str, str],
    hi: int,
    parts: int,
) -> CompareRun:
    """Compare events ``(0, hi]`` in ``parts`` partitions; the run of this process (the first
    partition, made by ``new_run``) absorbs the other partitions' findings and states."""
    extras = False
    while True:
        run = new_run()
        try:
            _compare(source, run, specs, hi, parts, extras)
        except NeedExtras:  # a handler read event ids or meta: again, sending them
            extras = True
            continue
        run.fill_ids(lambda positions: {p: e[0] for p, e in source.extras(positions).items()})
        return run


def _compare(
    source: EventSource,
    run: CompareRun,
    specs: tuple[str, str],
    hi: int,
    parts: int,
    extras: bool,
) -> None:
    owners = slot_owners(parts, 1.0)
    index = 8 if extras else 6  # (the partition column: after event_id and meta, if sent)
    fingerprints = tuple(side.folder.projection.fingerprint() for side in run.sides)
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["tracer.replay.compare_pool"])
    procs: list[Any] = []
    outboxes: list[queue.Queue[pa.RecordBatch | None]] = []
    results: queue.Queue[tuple[int, Any]] = queue.Queue()
    try:
        for part in range(1, parts):
            parent, child = context.Pipe()
            proc = context.Process(target=worker_main, args=(child,), daemon=True)
            with main_hidden():
                proc.start()
            child.close()
            procs.append(proc)
            parent.send((specs, fingerprints, run.ignore, list(sys.path)))
            outbox: queue.Queue[pa.RecordBatch | None] = queue.Queue(maxsize=4)
            outboxes.append(outbox)
            threading.Thread(target=send_batches, args=(parent, outbox), daemon=True).start()
            threading.Thread(target=_receive, args=(part, parent, results), daemon=True).start()
    except OSError as exc:  # no worker processes here (a sandbox, no /dev/shm): one core
        for box in outboxes:
            box.put(None)
        _stop(procs)
        raise PoolUnavailable(f"cannot start compare workers: {exc}") from exc
    try:
        try:
            for batch in source.read(_query(source, run, owners, hi, extras)):
                column = batch.column(index)
                for part, box in enumerate(outboxes, start=1):
                    piece = batch.filter(pc.equal(column, part))
                    if piece.num_rows:
                        box.put(piece)
                own = batch.filter(pc.equal(column, 0))
                if own.num_rows:
                    run.batch(own)
        finally:
            for box in outboxes:
                box.put(None)
        failures, need_extras = [], False
        for _ in procs:
            part, message = results.get()
            if message[0] == "done":
                run.absorb(*message[1:])
            elif message[0] == "extras":
                need_extras = True
            else:
                failures.append(f"compare worker {part}: {message[1]}")
        if failures:
            raise TracerError(failures[0])
        if need_extras:
            raise NeedExtras()
    finally:
        _stop(procs)


def _query(source: EventSource, run: CompareRun, owners: list[int], hi: int, extras: bool) -> str:
    slots = ", ".join(map(str, owners))
    part = f"([{slots}])[(hash(stream) % {len(owners)})::BIGINT + 1]::INTEGER"
    where = f"position <= {int(hi)} AND {source.scope}"
    types = wanted_types(run.sides)
    if types is not None:
        where += f" AND type IN ({', '.join(sql_literal(t) for t in sorted(types)) or 'NULL'})"
    columns = COLUMNS + (", event_id, meta" if extras else "")
    return f"SELECT {columns}, {part} AS part FROM events WHERE {where} ORDER BY position"


def _receive(part: int, conn: Connection, results: queue.Queue[tuple[int, Any]]) -> None:
    try:
        message = conn.recv()
    except (EOFError, OSError):
        message = ("failed", "the worker process died")
    results.put((part, message))
    conn.close()


def _stop(procs: list[Any]) -> None:
    for proc in procs:
        proc.join(timeout=5)
        if proc.is_alive():
            proc.terminate()
            proc.join()


# -- in a worker process ----------------------------------------------------------------------
def worker_main(conn: Connection) -> None:
    """A worker: read the specs, then batches until an empty message; send back
    ``("done", diverged, broken, (old states, new states))``, ``("extras",)`` (a handler read
    event ids or meta, which were not sent) or ``("failed", message)``."""
    specs, fingerprints, ignore, path = conn.recv()
    for entry in reversed(path):
        if entry not in sys.path:
            sys.path.insert(0, entry)
    stream = Received(conn)
    message: tuple[Any, ...]
    try:
        projections = [load_projection(None if s == "default" else s) for s in specs]
        for projection, fingerprint in zip(projections, fingerprints, strict=True):
            if projection.fingerprint() != fingerprint:
                raise TracerError(f"projection {projection.name} changed on disk during compare")
        sides = (
            Side("old", projections[0], stream.extras),
            Side("new", projections[1], stream.extras),
        )
        run = CompareRun(sides, stream.extras, ids=False, ignore=ignore)
        for batch in stream:
            run.batch(batch)
        message = ("done", run.diverged, run.broken, (sides[0].states, sides[1].states))
    except NeedExtras:
        message = ("extras",)
    except TracerError as exc:
        message = ("failed", str(exc))
    except Exception as exc:  # anything else still ends the worker with a message
        message = ("failed", f"{type(exc).__name__}: {exc}")
    for _ in stream:  # drain: the main process may still be sending
        pass
    conn.send(message)
    conn.close()
