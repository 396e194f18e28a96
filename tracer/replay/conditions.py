"""Conditions for ``find`` and ``check``: a Python expression over ``state`` and ``event``.

Names available in an expression: ``state`` (the state of the event's stream, or of the read
model / the event's key, after the event), ``before`` (that state just before the event),
``changed('path')`` (whether the event changed the value at a path: ``changed('balance')``,
``changed('items[0].qty')``), ``event`` (``event.type``, ``event.data[...]``, ...), ``stream``,
``key``, and Python's builtins. A condition that looks up a field the state does not have
(``KeyError``, ``IndexError``) is *undefined* for that state: ``find`` does not stop there and
``check`` reports no violation. A condition undefined on every event of the log (a field name
spelled wrong, most likely) is an error, not a silent "no match" or "holds". Any other error
stops the replay with a clear message.

A callable takes ``(state, event)``, and ``before`` too when it names a parameter so.
"""

from __future__ import annotations

import builtins
import inspect
from collections.abc import Callable
from functools import lru_cache
from types import CodeType
from typing import Any

from tracer.errors import TracerError
from tracer.replay.diff import diff_states
from tracer.replay.events import Event
from tracer.replay.paths import MISSING, get, parse_path

#: The names that need the state before each event (the walk then keeps a copy of it).
BEFORE_NAMES = frozenset({"before", "changed"})


class ConditionError(TracerError):
    """A condition that does not parse, or that raised on an event."""


class Expression:
    """A compiled expression over ``state``, ``before``, ``event``, ``stream`` and ``key``."""

    what = "expression"  # (what error messages call it)

    def __init__(self, where: str | Callable[..., Any], label: str | None = None) -> None:
        self.source = where if isinstance(where, str) else getattr(where, "__name__", repr(where))
        self.label = label or self.source
        self._func: Callable[..., Any] | None = None
        self._code: CodeType | None = None
        if isinstance(where, str):
            text = where.strip()
            if not text:
                raise ConditionError(
                    f"empty {self.what}: write a Python expression over state and event"
                )
            try:
                self._code = compile(text, f"<{self.what}>", "eval")
            except SyntaxError as exc:
                raise ConditionError(
                    f"{self.what} {where!r} does not parse: {exc.msg}"
                    + (f" (column {exc.offset})" if exc.offset else "")
                ) from exc
            self.uses_before = bool(_names(self._code) & BEFORE_NAMES)
        elif callable(where):
            self._func = where
            self.uses_before = _takes_before(where)
        else:
            raise ConditionError(f"a {self.what} is an expression or a callable, not {where!r}")
        self._globals: dict[str, Any] = {"__builtins__": builtins}

    def evaluate(self, state: Any, event: Event, key: Any = None, before: Any = MISSING) -> Any:
        """The expression's value (raises what the expression raises)."""
        if self._func is not None:
            if self.uses_before:
                return self._func(state, event, before=before)
            return self._func(state, event)

        scope = {"state": state, "event": event, "stream": event.stream, "key": key}
        if self.uses_before:  # (only then: this runs after every event)

            def changed(*paths: Any, **named: Any) -> bool:
                if len(paths) != 1 or named:
                    raise ConditionError("changed() takes one path, e.g. changed('balance')")
                return _changed(before, state, paths[0])

            scope["before"] = None if before is MISSING else before
            scope["changed"] = changed
        return eval(self._code, self._globals, scope)  # type: ignore[arg-type]

    def failure(self, event: Event, exc: Exception) -> ConditionError:
        return ConditionError(
            f"{self.what} {self.source!r} failed on event at position {event.position} "
            f"(stream {event.stream}, type {event.type}): {type(exc).__name__}: {exc}"
        )


class Condition(Expression):
    """A compiled condition; ``condition(state, event)`` is True, False or None (undefined)."""

    def __init__(
        self, where: str | Callable[..., Any], label: str | None = None, what: str = "condition"
    ) -> None:
        self.what = what
        super().__init__(where, label)
        self.defined = 0  # events on which it was true or false
        self.undefined = 0  # events on which it looked up a missing field
        self._missing: str | None = None  # the first such lookup

    def require_defined(self) -> None:
        """Raise when the condition was undefined on every event it was tried on."""
        if self.defined or not self.undefined:
            return
        raise ConditionError(
            f"{self.what} {self.source!r} could not be evaluated on any of the "
            f"{self.undefined:,} events it was tried on ({self._missing}): is the field spelled "
            "right? (state.get('name') gives None for a field a state may lack)"
        )

    def partly_undefined(self, meaning: str) -> str | None:
        """A note when the condition was undefined on some of the events it was tried on
        (``meaning``: what that counted as), else ``None``."""
        if not (self.defined and self.undefined):
            return None
        tried = self.defined + self.undefined
        return (
            f"{self.what} {self.source!r} could not be evaluated on {self.undefined:,} of "
            f"{tried:,} events ({self._missing}): {meaning} there"
        )

    def __call__(
        self, state: Any, event: Event, key: Any = None, before: Any = MISSING
    ) -> bool | None:
        try:
            result = self.evaluate(state, event, key, before)
        except ConditionError:
            raise
        except (KeyError, IndexError) as exc:
            self.undefined += 1
            if self._missing is None:
                self._missing = f"{type(exc).__name__}: {exc}"
            return None
        except Exception as exc:
            raise self.failure(event, exc) from exc
        self.defined += 1
        return bool(result)


class GroupBy(Condition):
    """``check --by``: a value of the event (or state) that groups violations; ``None`` where
    it looks up a missing field (an error when it does on every violation: a misspelt field)."""

    def __init__(self, where: str | Callable[..., Any]) -> None:
        super().__init__(where, what="--by expression")

    def __call__(self, state: Any, event: Event, key: Any = None, before: Any = MISSING) -> Any:  # type: ignore[override]
        try:
            value = self.evaluate(state, event, key, before)
        except (KeyError, IndexError) as exc:
            self.undefined += 1
            if self._missing is None:
                self._missing = f"{type(exc).__name__}: {exc}"
            return None
        except ConditionError:
            raise
        except Exception as exc:
            raise self.failure(event, exc) from exc
        self.defined += 1
        return value


def conditions(
    items: list[str | Callable[..., Any]] | str | Callable[..., Any], what: str = "condition"
) -> list[Condition]:
    if isinstance(items, str) or callable(items):
        items = [items]
    return [Condition(item, what=what) for item in items]


def _changed(before: Any, after: Any, path: str) -> bool:
    if not isinstance(path, str):
        raise ConditionError(f"changed() takes a path such as 'balance', not {path!r}")
    segments = _parsed(path)
    old = MISSING if before is MISSING else get(before, segments)
    new = get(after, segments)
    if old is MISSING and new is MISSING:  # (undefined: a misspelt path is an error, not False)
        raise KeyError(path)
    if old is MISSING or new is MISSING:
        return True
    return bool(diff_states(old, new))


@lru_cache(maxsize=256)
def _parsed(path: str) -> Any:
    try:
        return parse_path(path)
    except (TracerError, ValueError) as exc:
        raise ConditionError(f"changed({path!r}): {exc}") from exc


def _names(code: CodeType) -> set[str]:
    """Every name an expression uses, in comprehensions and lambdas too."""
    names = set(code.co_names)
    for const in code.co_consts:
        if isinstance(const, CodeType):
            names |= _names(const) | set(const.co_freevars)
    return names


def _takes_before(func: Callable[..., Any]) -> bool:
    try:
        parameters = inspect.signature(func).parameters
    except (TypeError, ValueError):
        return False
    return "before" in parameters
