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
from collections.abc import Iterable, Sequence
from typing import Any

import pyarrow as pa

from tracer.errors import TracerError
from tracer.replay.compare_pool import compare_in_pool
from tracer.replay.compare_result import CompareResult
from tracer.replay.compare_run import CompareRun, Side, same_state, wanted_types
from tracer.replay.executors import PARALLEL_MIN, PoolUnavailable
from tracer.replay.loader import load_projection
from tracer.replay.partition import projection_spec
from tracer.replay.paths import PathError, format_path, parse_path
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
    ignore: Sequence[str] = (),
) -> CompareResult:
    """Fold every event (of one stream or category) through both versions at once and report
    where each stream's (or key's) states first differ; see :class:`CompareResult`.

    Aggregates compare on ``workers`` cores (default: every core) once the log has
    ``parallel_min`` events, each worker taking the streams that hash to it, when both versions
    can be imported by name (``FILE.py:Name``); read models compare on one core. Differences at
    the ``ignore`` paths (and inside them) do not count: a field the new version adds, say."""
    left, right = load_projection(old), load_projection(new)
    _comparable(left, right)
    read_model = left.read_model
    if stream is not None and read_model and not left.keyed:
        raise TracerError(f"{left.name} keeps one state for the whole log: --stream does not apply")
    if stream is not None and category is not None:
        raise TracerError("compare: give --stream or --category, not both")
    category = _category(left, right, category)
    ignore = tuple(_checked_path(p) for p in ignore)
    source = EventSource(store, category)
    hi = source.max_position()
    source.require_scope()

    def new_run() -> CompareRun:
        sides = (Side("old", left, source.extras), Side("new", right, source.extras))
        return CompareRun(sides, source.extras, ignore=ignore)

    run = new_run()
    only = None if stream is None or not read_model else str(stream)
    if stream is not None and not read_model:
        if not source.stream_exists(stream):
            other = source.stream_category(stream) if category is not None else None
            if other is not None:
                raise TracerError(
                    f"stream {stream!r} is of category {other!r}: {left.name} sees only "
                    f"category {category!r}"
                )
            raise TracerError(f"no stream {stream!r} in the store")
        batches: Iterable[pa.RecordBatch] = source.stream_batches(stream, hi)
    else:
        specs = (projection_spec(left, old), projection_spec(right, new))
        parts = max(1, int(workers if workers is not None else os.cpu_count() or 1))
        if not read_model and parts > 1 and None not in specs and hi > parallel_min:
            try:
                pooled = compare_in_pool(source, new_run, specs, hi, parts)  # type: ignore[arg-type]
                return _something(pooled.result(read_model, only), category)
            except PoolUnavailable:  # (nothing was folded yet): one core
                pass
        batches = source.batches(0, hi, types=wanted_types(run.sides))
    for batch in batches:
        run.batch(batch)
    return _something(run.result(read_model, only), category)


def _something(result: CompareResult, category: str | None) -> CompareResult:
    """The result, unless neither version folded any event: comparing nothing is no pass."""
    if result.streams:
        return result
    where = f" of category {category!r}" if category is not None else ""
    raise TracerError(
        f"nothing to compare: neither {result.old} nor {result.new} folds any event"
        f"{where} (do they handle these event types?)"
    )


def _checked_path(path: str) -> str:
    """A path to ignore, written as diffs write paths (``a.b``, ``a[0]``, ``a["x.y"]``)."""
    try:
        return format_path(parse_path(path))
    except PathError as exc:
        raise TracerError(f"--ignore {path!r}: {exc}") from exc


def _comparable(left: Projection, right: Projection) -> None:
    def kind(p: Projection) -> str:
        if not p.read_model:
            return "keeps one state per stream"
        return "is a keyed read model" if p.keyed else "is a read model with one state"

    if kind(left) != kind(right):
        raise TracerError(
            f"cannot compare: {left.name} {kind(left)} and {right.name} {kind(right)}"
        )


def _category(left: Projection, right: Projection, given: str | None) -> str | None:
    """The category compared: the one given, else the one both versions declare; a version
    that declares a category sees nothing else."""
    declared = {p.name + (" (old)" if p is left else " (new)"): p.category for p in (left, right)}
    named = {c for c in declared.values() if c is not None}
    if len(named) > 1:
        sides = " and ".join(f"{name} declares {c!r}" for name, c in declared.items())
        raise TracerError(f"cannot compare: {sides}; they fold different streams")
    if given is not None and named and given not in named:
        raise TracerError(
            f"cannot compare category {given!r}: the projections declare category "
            f"{next(iter(named))!r}"
        )
    return given if given is not None else (next(iter(named)) if named else None)
