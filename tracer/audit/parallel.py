"""The leaf hashes of a store on every core: position ranges hashed in worker processes.

A store kept in a file and large enough is split into as many position ranges as there are cores;
this process hashes the first and a worker process each of the others, opening the file read-only
(:func:`tracer.audit.leaf.leaf_hashes`), and the parts are joined in order. Anything else (an
in-memory store, a small log, one core) is hashed in this process, and so is a range whose worker
failed (say, another connection holds the file for writing).
"""

from __future__ import annotations

import os
from concurrent.futures import ProcessPoolExecutor
from itertools import pairwise
from multiprocessing import get_context
from typing import TYPE_CHECKING

import duckdb

from tracer.audit.leaf import leaf_hashes

if TYPE_CHECKING:
    from tracer.store import Store

#: Below this many events, starting worker processes costs more than it saves.
MIN_EVENTS = 400_000


def serial_leaves(con: duckdb.DuckDBPyConnection, limit: int | None = None) -> bytes:
    """The concatenated leaf hashes of the first ``limit`` events, in this process."""
    return b"".join(b"".join(hashes) for _, hashes in leaf_hashes(con, limit))


def store_leaves(
    store: Store,
    limit: int | None = None,
    *,
    workers: int | None = None,
    min_events: int = MIN_EVENTS,
) -> bytes:
    """The concatenated leaf hashes of the store's first ``limit`` events (all by default),
    hashed by ``workers`` processes (``None``: one per core) when the store allows it."""
    done = _parallel(store, limit, workers or os.cpu_count() or 1, min_events)
    if done is not None:
        return done
    cur = store.cursor()
    try:
        return serial_leaves(cur, limit)
    finally:
        cur.close()


def _parallel(store: Store, limit: int | None, workers: int, min_events: int) -> bytes | None:
    if workers < 2 or store.path is None:
        return None
    with store.lock:
        count = store.con.execute("SELECT count(*) FROM events").fetchall()[0][0]
    size = count if limit is None else min(count, limit)
    if size < max(min_events, workers):
        return None
    starts = [size * k // workers for k in range(workers)] + [size - 1]
    with store.lock:
        rows = store.con.execute(
            """SELECT i, position FROM (
                   SELECT position, row_number() OVER (ORDER BY position) - 1 AS i FROM events)
               WHERE i IN (SELECT unnest(?)) ORDER BY i""",
            [starts],
        ).fetchall()
    at = dict(rows)
    bounds = [at[i] for i in starts[:-1]] + [at[size - 1] + 1]
    spans = list(pairwise(bounds))
    # This process hashes the first range meanwhile: one process fewer to start.
    try:
        pool = ProcessPoolExecutor(len(spans) - 1, mp_context=get_context("spawn"))
    except (OSError, ValueError):
        return None
    with pool:
        futures = [pool.submit(_span_leaves, (store.path, lo, hi)) for lo, hi in spans[1:]]
        parts = [_local(store, spans[0])]
        for future, span in zip(futures, spans[1:], strict=True):
            try:
                parts.append(future.result())
            except Exception:  # e.g. the file is held for writing by another connection:
                parts.append(_local(store, span))  # (a real problem shows again, plainly, here)
    leaves = b"".join(parts)
    # Equal positions (only in an altered store) could straddle ranges: then read in one pass.
    return leaves if len(leaves) == size * 32 else None


def _local(store: Store, span: tuple[int, int]) -> bytes:
    cur = store.cursor()
    try:
        return b"".join(b"".join(hashes) for _, hashes in leaf_hashes(cur, span=span))
    finally:
        cur.close()


def _span_leaves(job: tuple[str, int, int]) -> bytes:
    path, lo, hi = job
    # One DuckDB thread: the worker is itself one of the processes sharing the cores.
    con = duckdb.connect(path, read_only=True, config={"threads": 1})
    try:
        return b"".join(b"".join(hashes) for _, hashes in leaf_hashes(con, span=(lo, hi)))
    finally:
        con.close()
