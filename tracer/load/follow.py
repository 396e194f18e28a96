"""Follow mode: keep loading new events from sources as they arrive, until told to stop.

``tracer load SOURCE --follow`` and ``tracer tui SOURCE --follow`` call :func:`follow`. Each round
loads every source once through :func:`tracer.load.load`, so each round is one transaction
with the loader's usual accounting, and then waits ``interval`` seconds:

- a JetStream stream or a PostgreSQL table resumes from the cursor its last load committed, so a
  round reads only what arrived since;
- a file is loaded again when lines were appended to it and it ends with a complete line (a line
  still being written waits for the next round). For JSON Lines the load is told where the new lines are:
  ``start_line`` and ``start_offset`` (complete lines and bytes already loaded) and ``end_offset``
  (the byte just after the last complete line), and the files source reads only that range, so a
  round costs only the new lines. Lines loaded again would be duplicates, never inserted twice.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tracer.errors import TracerError
from tracer.load.ingest import LoadReport, load
from tracer.sources import kind_of

if TYPE_CHECKING:
    from tracer.store import Store

LINE_SUFFIXES = {".jsonl", ".ndjson", ".csv", ".log", ".txt"}  # appended to line by line
TAIL_SUFFIXES = {".jsonl", ".ndjson"}  # one event per line, no header: new lines load alone


@dataclass
class _FileState:
    size: int = -1
    mtime_ns: int = -1
    lines: int = 0  # complete lines loaded so far
    offset: int = 0  # the byte just after them


class _Followed:
    """One source being followed: what to pass to its next load, and what it has read."""

    def __init__(self, spec: str, options: dict[str, Any]):
        self.spec = spec
        self.options = dict(options)
        self.file = _FileState() if _is_file(spec, options.get("format")) else None

    def load_new(self, store: Store) -> LoadReport | None:
        """Load what arrived since the last round; None when a file has nothing complete yet."""
        extra: dict[str, int] = {}
        lines = 0
        if self.file is not None:
            grown = _grown(Path(self.spec), self.file)
            if grown is None:
                return None
            extra, lines = grown
        try:
            report = load(store, self.spec, **self.options, **extra)
        except TracerError:
            if self.file is not None:
                self.file = _FileState()  # read it again next round
            raise
        # --from-seq / --since say where to start: after the first load, the cursor says it.
        self.options.pop("from_seq", None)
        self.options.pop("since", None)
        if self.file is not None and "end_offset" in extra:
            self.file.lines, self.file.offset = lines, extra["end_offset"]
        return report


def follow(
    store: Store,
    sources: Iterable[str],
    *,
    options: dict[str, Any] | None = None,
    interval: float = 1.0,
    stop: threading.Event | None = None,
    on_report: Callable[[LoadReport], None] | None = None,
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
    followed = [_Followed(str(spec), options or {}) for spec in sources]
    if not followed:
        raise TracerError("nothing to follow: give at least one source")
    if interval <= 0:
        raise TracerError(f"the follow interval must be positive, not {interval}")
    stop = stop or threading.Event()
    rounds = 0
    while not stop.is_set():
        for source in followed:
            if stop.is_set():
                break
            try:
                report = source.load_new(store)
            except TracerError as exc:
                if on_error is None:
                    raise
                on_error(source.spec, exc)
                continue
            if report is not None and on_report is not None and (report.loaded or report.rejected):
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


def _grown(path: Path, state: _FileState) -> tuple[dict[str, int], int] | None:
    """Load options for what was appended to ``path`` and the complete lines it then has.

    None when nothing complete was added since the last round.
    """
    try:
        info = path.stat()
    except OSError:
        return None  # rotated away for a moment: try again next round
    if info.st_size == state.size and info.st_mtime_ns == state.mtime_ns:
        return None
    if info.st_size < state.offset:  # truncated or replaced: start over
        state.lines, state.offset = 0, 0
    suffix = path.suffix.lower()
    if suffix not in LINE_SUFFIXES:
        state.size, state.mtime_ns = info.st_size, info.st_mtime_ns
        return {}, 0
    with path.open("rb") as handle:
        handle.seek(state.offset)
        added = handle.read(info.st_size - state.offset)
    if not added:  # touched, not grown
        state.size, state.mtime_ns = info.st_size, info.st_mtime_ns
        return None
    last = added.rfind(b"\n")
    if last != len(added) - 1:
        return None  # a writer is in the middle of a line: wait until it is complete
    state.size, state.mtime_ns = info.st_size, info.st_mtime_ns
    if suffix not in TAIL_SUFFIXES:  # a header line: the whole file is loaded again
        state.offset = info.st_size
        return {}, 0
    lines = state.lines + added.count(b"\n", 0, last + 1)
    window = {
        "start_line": state.lines,
        "start_offset": state.offset,
        "end_offset": state.offset + last + 1,
    }
    return window, lines
