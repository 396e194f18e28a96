"""Two versions of a projection over the whole history: where their states first diverge.

Both versions fold the same events in one pass: each batch is read once from DuckDB and each
event handed to the old version, then to the new one (each with its own upcasters and its own
lazily decoded copy of the data, so neither sees what the other's handler did to it). After
every event the stream (or read-model key) it touched is compared in both versions; the first
event after which they differ is that stream's divergence, with the diff between the two states
there. A handler (or upcaster, key function, ``initial()``) that raises in either version is a
divergence of kind ``error`` carrying the message; that stream is left out from then on and the
comparison goes on with the others: ``compare_projections(store, OLD, NEW).divergences``.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import Any

import pyarrow as pa

from tracer.errors import TracerError
from tracer.replay.compare_pool import compare_in_pool
from tracer.replay.compare_result import CompareResult
from tracer.replay.compare_run import CompareRun, Side, same_state, wanted_types
from tracer.replay.executors import PARALLEL_MIN, PoolUnavailable
from tracer.replay.loader import load_projection
from tracer.replay.partition import projection_spec
from tracer.replay.projection import Projection
from tracer.replay.source import EventSource
from tracer.store import Store

__all__ = ["CompareResult", "compare_projections", "same_state"]


def compare_projections(
    store: Store,
    old: Any,
    new: Any,
    *,
    stream: str | None = None,
    category: str | None = None,
    workers: int | None = None,
    parallel_min: int = PARALLEL_MIN,
) -> CompareResult:
    """Fold every event (of one stream or category) through both versions at once and report
    where each stream's (or key's) states first differ; see :class:`CompareResult`.

    Aggregates compare on ``workers`` cores (default: every core) once the log has
    ``parallel_min`` events, each worker taking the streams that hash to it, when both versions
    can be imported by name (``FILE.py:Name``); read models compare on one core."""
    left, right = load_projection(old), load_projection(new)
    _comparable(left, right)
    read_model = left.read_model
    if stream is not None and read_model and not left.keyed:
        raise TracerError(f"{left.name} keeps one state for the whole log: --stream does not apply")
    if stream is not None and category is not None:
        raise TracerError("compare: give --stream or --category, not both")
    category = category or _declared_category(left, right)
    source = EventSource(store, category)
    hi = source.max_position()
    source.require_scope()

    def new_run() -> CompareRun:
        sides = (Side("old", left, source.extras), Side("new", right, source.extras))
        return CompareRun(sides, source.extras)

    run = new_run()
    only = None if stream is None or not read_model else str(stream)
    if stream is not None and not read_model:
        if not source.stream_exists(stream):
            raise TracerError(f"no stream {stream!r} in the store")
        batches: Iterable[pa.RecordBatch] = source.stream_batches(stream, hi)
    else:
        specs = (projection_spec(left, old), projection_spec(right, new))
        parts = max(1, int(workers if workers is not None else os.cpu_count() or 1))
        if not read_model and parts > 1 and None not in specs and hi > parallel_min:
            try:
                pooled = compare_in_pool(source, new_run, specs, hi, parts)  # type: ignore[arg-type]
                return pooled.result(read_model, only)
            except PoolUnavailable:  # (nothing was folded yet): one core
                pass
        batches = source.batches(0, hi, types=wanted_types(run.sides))
    for batch in batches:
        run.batch(batch)
    return run.result(read_model, only)


def _comparable(left: Projection, right: Projection) -> None:
    def kind(p: Projection) -> str:
        if not p.read_model:
            return "keeps one state per stream"
        return "is a keyed read model" if p.keyed else "is a read model with one state"

    if kind(left) != kind(right):
        raise TracerError(
            f"cannot compare: {left.name} {kind(left)} and {right.name} {kind(right)}"
        )


def _declared_category(left: Projection, right: Projection) -> str | None:
    """The category both versions declare (``category = "order"``), if any."""
    declared = {getattr(p, "category", None) for p in (left, right)}
    if len(declared) > 1:
        raise TracerError(
            f"cannot compare: the versions declare different categories ({declared}); "
            "give --category"
        )
    found = declared.pop()
    return found if isinstance(found, str) else None
