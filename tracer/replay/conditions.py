"""Conditions for ``find`` and ``check``: a Python expression over ``state`` and ``event``.

Names available in an expression: ``state`` (the state of the event's stream, or of the read
model / the event's key), ``event`` (``event.type``, ``event.data[...]``, ...), ``stream``,
``key``, and Python's builtins. A condition that looks up a field the state does not have
(``KeyError``, ``IndexError``) is *undefined* for that state: ``find`` does not stop there and
``check`` reports no violation. A condition undefined on every event of the log (a field name
spelled wrong, most likely) is an error, not a silent "no match" or "holds". Any other error
stops the replay with a clear message.
"""

from __future__ import annotations

import builtins
from collections.abc import Callable
from typing import Any

from tracer.errors import TracerError
from tracer.replay.events import Event


class ConditionError(TracerError):
    """A condition that does not parse, or that raised on an event."""


class Condition:
    """A compiled condition; ``condition(state, event)`` is True, False or None (undefined)."""

    def __init__(self, where: str | Callable[..., Any], label: str | None = None) -> None:
        self.source = where if isinstance(where, str) else getattr(where, "__name__", repr(where))
        self.label = label or self.source
        if isinstance(where, str):
            text = where.strip()
            if not text:
                raise ConditionError(
                    "empty condition: write a Python expression over state and event"
                )
            try:
                self._code = compile(text, "<condition>", "eval")
            except SyntaxError as exc:
                raise ConditionError(
                    f"condition {where!r} does not parse: {exc.msg}"
                    + (f" (column {exc.offset})" if exc.offset else "")
                ) from exc
            self._func: Callable[..., Any] | None = None
        elif callable(where):
            self._code = None
            self._func = where
        else:
            raise ConditionError(f"a condition is an expression or a callable, not {where!r}")
        self._globals: dict[str, Any] = {"__builtins__": builtins}
        self.defined = 0  # events on which it was true or false
        self.undefined = 0  # events on which it looked up a missing field
        self._missing: str | None = None  # the first such lookup

    def require_defined(self, what: str = "condition") -> None:
        """Raise when the condition was undefined on every event it was tried on."""
        if self.defined or not self.undefined:
            return
        raise ConditionError(
            f"{what} {self.source!r} could not be evaluated on any of the {self.undefined:,} "
            f"events it was tried on ({self._missing}): is the field spelled right? "
            "(state.get('name') gives None for a field a state may lack)"
        )

    def __call__(self, state: Any, event: Event, key: Any = None) -> bool | None:
        try:
            if self._func is not None:
                result = self._func(state, event)
            else:
                scope = {"state": state, "event": event, "stream": event.stream, "key": key}
                result = eval(self._code, self._globals, scope)
        except (KeyError, IndexError) as exc:
            self.undefined += 1
            if self._missing is None:
                self._missing = f"{type(exc).__name__}: {exc}"
            return None
        except Exception as exc:
            raise ConditionError(
                f"condition {self.source!r} failed on event at position {event.position} "
                f"(stream {event.stream}, type {event.type}): {type(exc).__name__}: {exc}"
            ) from exc
        self.defined += 1
        return bool(result)


def conditions(items: list[str | Callable[..., Any]] | str | Callable[..., Any]) -> list[Condition]:
    if isinstance(items, str) or callable(items):
        items = [items]
    return [Condition(item) for item in items]
