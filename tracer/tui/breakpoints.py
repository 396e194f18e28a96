"""Checking a breakpoint against the log before it is added, as ``tracer find`` would.

A type breakpoint must name types the log has (a typo would never stop); a condition on the
state must be defined on some event (``state['balanse'] < 0`` is undefined on every one, and
``find`` and ``check`` refuse it the same way). No Textual here: the breakpoint worker calls
:func:`check_breakpoint` with its own DuckDB cursor.
"""

from __future__ import annotations

import difflib
from typing import Any

import duckdb

from tracer.errors import TracerError
from tracer.replay.queries import require_defined
from tracer.tui.session import Breakpoint


def known_types(cur: duckdb.DuckDBPyConnection) -> list[str]:
    rows = cur.execute("SELECT DISTINCT type FROM events ORDER BY type").fetchall()
    return [t for (t,) in rows if t is not None]


def check_breakpoint(cur: duckdb.DuckDBPyConnection, replay: Any, breakpoint: Breakpoint) -> None:
    """Raise a one-line :class:`TracerError` when the breakpoint could never stop."""
    if breakpoint.kind == "type":
        problem = unknown_types(breakpoint.types, known_types(cur))
        if problem:
            if breakpoint.bare:
                problem += "; a condition on the state reads state['balance'] < 0"
            raise TracerError(problem)
        return
    if replay is not None:
        require_defined(replay, breakpoint.text)


def unknown_types(wanted: tuple[str, ...], known: list[str], listed: int = 20) -> str:
    """An error naming the ``wanted`` types no event has and listing the ``known`` ones; ""
    when every wanted type is known."""
    missing = [t for t in wanted if t not in set(known)]
    if not missing:
        return ""
    guesses = {g for t in missing for g in difflib.get_close_matches(t, known, n=1)}
    hint = f" (did you mean {', '.join(sorted(guesses))}?)" if guesses else ""
    shown = ", ".join(known[:listed]) + (
        f" … +{len(known) - listed}" if len(known) > listed else ""
    )
    word = "type" if len(missing) == 1 else "types"
    return f"no event has {word} {', '.join(missing)}{hint}; known types: {shown or 'none'}"
