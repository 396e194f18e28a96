"""Projections in plain Python: fold events into a JSON-like state.

A projection is a class with ``initial()`` and handlers marked with :func:`on`::

    class Account(Projection):
        def initial(self):
            return {"balance": 0}

        @on("Deposited")
        def deposited(self, state, event):
            state["balance"] += event.data["amount"]

A handler mutates ``state`` in place or returns a new one (a non-None return replaces it).
``@on("*")`` handles every type; ``category = "order"`` limits a projection to the streams
of one category (the others are never read). An **aggregate** projection (the default) keeps
one state per stream; a **read model** (``read_model = True``, or subclass :class:`ReadModel`) keeps one state
for the whole log, or one per key when it defines ``key(event)``.

**Upcasters** turn old event shapes into the current one before handlers see them::

    @upcaster("Deposited", version=1)          # events whose schema version is <= 1
    def cents(self, data):
        return {"amount": data["amount_cents"] / 100}

The schema version of an event is ``data[schema_version_key]`` (default ``"schema_version"``),
else ``meta[schema_version_key]``, else 1. For one type, upcasters run in ascending ``version``
order; those without a version run for every event of the type. ``to="NewType"`` renames the type.
"""

from __future__ import annotations

import hashlib
import inspect
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any, ClassVar

from tracer.replay.events import Event

Handler = Callable[[Any, Any, Event], Any]

_ON = "_tracer_on"
_UPCAST = "_tracer_upcast"


def on(*types: str) -> Callable[[Handler], Handler]:
    """Mark a method as the handler of one or more event types (``"*"`` for every type)."""
    if not types or not all(isinstance(t, str) and t for t in types):
        raise TypeError("@on needs one or more event type names")

    def mark(func: Handler) -> Handler:
        setattr(func, _ON, (*getattr(func, _ON, ()), *types))
        return func

    return mark


def upcaster(type: str, version: int | None = None, to: str | None = None) -> Callable:
    """Mark a method ``(self, data) -> data`` that upgrades old ``data`` of an event type."""

    def mark(func: Callable) -> Callable:
        setattr(func, _UPCAST, (type, version, to))
        return func

    return mark


@dataclass(frozen=True)
class UpcastChain:
    """The upcasters of one stored event type, in the order they run."""

    steps: tuple[tuple[int | None, Callable[[Any], Any]], ...]
    final_type: str
    version_key: str

    def apply(self, data: Any, meta: Callable[[], Any]) -> Any:
        version = data.get(self.version_key) if isinstance(data, dict) else None
        if version is None:
            meta_value = meta()
            if isinstance(meta_value, dict):
                version = meta_value.get(self.version_key)
        if not isinstance(version, int):
            version = 1
        for step_version, func in self.steps:
            if step_version is None or version <= step_version:
                result = func(data)
                if result is not None:
                    data = result
        return data


class Projection:
    """Base class of every projection; see the module documentation."""

    #: True for a read model (one state for the log, or one per ``key``).
    read_model: ClassVar[bool] = False
    #: Where an event's data (or meta) carries its schema version, for upcasters.
    schema_version_key: ClassVar[str] = "schema_version"
    #: The one category of streams this projection sees (``None``: every stream).
    category: ClassVar[str | None] = None

    _handler_names: ClassVar[dict[str, str]] = {}
    _upcaster_names: ClassVar[list[tuple[str, int | None, str | None, str]]] = []

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        handlers: dict[str, str] = {}
        upcasters: dict[str, tuple[str, int | None, str | None, str]] = {}
        for klass in reversed(cls.__mro__):
            for attr, value in vars(klass).items():
                for event_type in getattr(value, _ON, ()):
                    handlers[event_type] = attr
                if hasattr(value, _UPCAST):
                    upcasters[attr] = (*getattr(value, _UPCAST), attr)
        cls._handler_names = handlers
        cls._upcaster_names = list(upcasters.values())

    # -- what users override --------------------------------------------------------------
    def initial(self) -> Any:
        """The state before any event (of a stream, or of a read model's key)."""
        return {}

    def key(self, event: Event) -> Hashable | None:
        """For a keyed read model: the key an event folds into (None: the event is ignored)."""
        return None

    # -- introspection used by the engine ---------------------------------------------------
    @property
    def name(self) -> str:
        return type(self).__name__

    @property
    def keyed(self) -> bool:
        return self.read_model and type(self).key is not Projection.key

    def handlers(self) -> dict[str, Callable[[Any, Event], Any]]:
        """Bound handlers by event type (``"*"`` for the catch-all)."""
        return {t: getattr(self, attr) for t, attr in self._handler_names.items()}

    def handler_name(self, event_type: str) -> str:
        names = self._handler_names
        return names.get(event_type) or names.get("*") or "?"

    def upcasts(self) -> dict[str, UpcastChain]:
        """Upcast chains by stored event type."""
        by_type: dict[str, list[tuple[int | None, str | None, str]]] = {}
        for event_type, version, to, attr in self._upcaster_names:
            by_type.setdefault(event_type, []).append((version, to, attr))
        chains: dict[str, UpcastChain] = {}
        for event_type, steps in by_type.items():
            steps.sort(key=lambda s: (s[0] is None, s[0] or 0))
            final = event_type
            for _, to, _attr in steps:
                final = to or final
            chains[event_type] = UpcastChain(
                tuple((v, getattr(self, attr)) for v, _, attr in steps),
                final,
                self.schema_version_key,
            )
        return chains

    def fingerprint(self) -> str:
        """A digest of the projection's code and parameters: a change means new checkpoints."""
        digest = hashlib.sha256()
        for klass in type(self).__mro__:
            if klass in (Projection, ReadModel, object):
                continue
            digest.update(f"{klass.__module__}.{klass.__qualname__}\n".encode())
            digest.update(_code_text(klass).encode())
        params = {k: repr(v) for k, v in sorted(vars(self).items())}
        digest.update(repr(params).encode())
        return digest.hexdigest()[:32]

    def __repr__(self) -> str:
        return f"<projection {self.name}>"


class ReadModel(Projection):
    """A read model: one state for the whole log, or one per ``key(event)`` when defined."""

    read_model: ClassVar[bool] = True


def _code_text(klass: type) -> str:
    """The source of a class's module (helpers count too), or its bytecode when unavailable."""
    try:
        module = inspect.getmodule(klass)
        if module is not None and getattr(module, "__file__", None):
            return inspect.getsource(module)
        return inspect.getsource(klass)
    except (OSError, TypeError):
        parts = []
        for attr, value in sorted(vars(klass).items()):
            code = getattr(value, "__code__", None)
            if code is not None:
                parts.append(f"{attr}:{_code_repr(code)}")
        return "\n".join(parts)


def _code_repr(code: Any) -> str:
    consts = [(_code_repr(c) if inspect.iscode(c) else repr(c)) for c in code.co_consts]
    return f"{code.co_code.hex()}|{consts}|{code.co_names}"


def deep_merge(state: Any, data: Any) -> Any:
    """Merge ``data`` into ``state``: dicts recursively, anything else replaces."""
    if not isinstance(state, dict) or not isinstance(data, dict):
        return _copy(data)
    for key, value in data.items():
        current = state.get(key)
        if isinstance(current, dict) and isinstance(value, dict):
            deep_merge(current, value)
        else:
            state[key] = _copy(value)
    return state


def _copy(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_copy(v) for v in value]
    return value


class DefaultProjection(Projection):
    """Needs no code: deep-merges each event's ``data`` into its stream's state."""

    @on("*")
    def merge(self, state: Any, event: Event) -> Any:
        data = event.data
        if data is None:
            return None
        return deep_merge(state, data)
