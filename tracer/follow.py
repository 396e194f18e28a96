"""Follow mode: keep loading new events from sources as they arrive, until told to stop.

``tracer load SOURCE --follow`` and ``tracer tui SOURCE --follow`` call :func:`follow`. Each round
loads every source once through :meth:`tracer.store.Store.load`, so each round is one transaction
with the loader's usual accounting, and then waits ``interval`` seconds:

- a JetStream stream or a PostgreSQL table resumes from the cursor its last load committed, so a
  round reads only what arrived since;
- a file is loaded again when it has grown and ends with a complete line (a line still being
  written waits for the next round); lines already in the store count as duplicates, never twice.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tracer.errors import TracerError
from tracer.sources import kind_of

if TYPE_CHECKING:
    from tracer.store import Store

Report = Any  # tracer.ingest.LoadReport
LINE_SUFFIXES = {".jsonl", ".ndjson", ".csv", ".log", ".txt"}  # appended to line by line


@dataclass
class _FileState:
    size: int = -1
    mtime_ns: int = -1


def follow(
    store: Store,
    sources: Iterable[str],
    *,
    options: dict[str, Any] | None = None,
    interval: float = 1.0,
    stop: threading.Event | None = None,
    on_report: Callable[[Report], None] | None = None,
    on_error: Callable[[str, TracerError], None] | None = None,
    on_round: Callable[[int], None] | None = None,
) -> None:
    """Load new events from ``sources`` every ``interval`` seconds until ``stop`` is set.

    ``options`` are :meth:`Store.load`'s keyword arguments (``format``, ``table``, ``mapping``,
    ``stream``, ``subject``, ``proto``, ...). ``on_report(report)`` is called after each load
    that loaded or rejected something. A source that fails (a server gone away) raises its
    :class:`TracerError`, unless ``on_error(source, error)`` is given: then the error is handed
    to it and the source is tried again next round. ``on_round(n)`` is called after each round
    (1, 2, ...), whether it found anything or not. Returns when ``stop`` is set.
    """
    specs = [str(s) for s in sources]
    if not specs:
        raise TracerError("nothing to follow: give at least one source")
    if interval <= 0:
        raise TracerError(f"the follow interval must be positive, not {interval}")
    opts = dict(options or {})
    stop = stop or threading.Event()
    files = {spec: _FileState() for spec in specs if _is_file(spec, opts.get("format"))}
    # --from-seq / --since say where to start: after a source's first load, its cursor says it.
    per_source = {spec: dict(opts) for spec in specs}
    rounds = 0
    while not stop.is_set():
        for spec in specs:
            if stop.is_set():
                break
            if spec in files and not _grown(Path(spec), files[spec]):
                continue
            try:
                report = store.load(spec, **per_source[spec])
            except TracerError as exc:
                if on_error is None:
                    raise
                on_error(spec, exc)
                if spec in files:
                    files[spec] = _FileState()  # read it again next round
                continue
            for start in ("from_seq", "since"):
                per_source[spec].pop(start, None)
            if on_report is not None and (report.loaded or report.rejected):
                on_report(report)
        rounds += 1
        if on_round is not None:
            on_round(rounds)
        stop.wait(interval)


def follow_in_thread(
    store: Store, sources: Iterable[str], **kwargs: Any
) -> tuple[threading.Thread, threading.Event]:
    """Start :func:`follow` in a daemon thread; set the returned event to stop it."""
    stop = kwargs.pop("stop", None) or threading.Event()
    thread = threading.Thread(
        target=follow,
        args=(store, list(sources)),
        kwargs={**kwargs, "stop": stop},
        daemon=True,
        name="tracer-follow",
    )
    thread.start()
    return thread, stop


def _is_file(spec: str, format: str | None) -> bool:
    try:
        return kind_of(spec, format) == "files" and Path(spec).is_file()
    except TracerError:
        return False


def _grown(path: Path, state: _FileState) -> bool:
    """Whether ``path`` changed since last round and ends with a complete line."""
    try:
        info = path.stat()
    except OSError:
        return False  # rotated away for a moment: try again next round
    if info.st_size == state.size and info.st_mtime_ns == state.mtime_ns:
        return False
    if info.st_size > 0 and path.suffix.lower() in LINE_SUFFIXES:
        with path.open("rb") as handle:
            handle.seek(info.st_size - 1)
            if handle.read(1) != b"\n":
                return False  # a writer is in the middle of a line
    state.size, state.mtime_ns = info.st_size, info.st_mtime_ns
    return True
