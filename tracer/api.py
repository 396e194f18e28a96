"""The Python API's entry point: a store that loads as well as reads.

``tracer.open(path)`` returns a :class:`Store`: the reading side of :class:`tracer.store.Store`
plus :meth:`Store.load`, which runs the load pipeline (:mod:`tracer.load`). The CLI, the terminal
UI and the notebooks all open one of these.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tracer import store as _store
from tracer.errors import TracerError

if TYPE_CHECKING:
    from tracer.load import LoadReport


class Store(_store.Store):
    """An event store on DuckDB that sources can be loaded into. ``path=None``: in memory.

    ``memory_limit`` caps DuckDB's memory (default 512MiB, e.g. ``"4GB"``); work beyond it
    spills to ``PATH.tmp`` (or a temporary directory for an in-memory store)."""

    def __init__(
        self,
        path: str | os.PathLike[str] | None = None,
        *,
        read_only: bool = False,
        memory_limit: str | None = None,
    ):
        from tracer.memory import cap_memory, check_memory_limit

        limit = check_memory_limit(memory_limit)  # (before opening: a bad value opens nothing)
        super().__init__(path, read_only=read_only)
        cap_memory(self.con, limit, self.path)

    def load(self, *sources: str | os.PathLike[str], **options: Any) -> LoadReport:
        """Load sources; see :func:`tracer.load.load` for the options."""
        from tracer.load import load  # (reading a store never pays for the load pipeline)

        return load(self, *sources, **options)


def open(
    path: str | os.PathLike[str] | None = None,
    *,
    read_only: bool = False,
    memory_limit: str | None = None,
) -> Store:
    """Open (or create) a tracer store. ``None`` gives an in-memory store; ``memory_limit``
    caps DuckDB's memory (see :class:`Store`)."""
    if path is not None and read_only and not Path(path).exists():
        raise TracerError(f"no store at {path}: load some events first (tracer load SOURCE)")
    return Store(path, read_only=read_only, memory_limit=memory_limit)
