"""tracer: a time-travel debugger for event-sourced systems.

The names below load on first use (PEP 562), so ``tracer --help`` does not pay for DuckDB,
pandas or the replay engine: ``tracer.open``, ``tracer.Store`` (the Python API's store) and the
projection API ``from tracer import Projection, on``.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from tracer.errors import TracerError

if TYPE_CHECKING:
    from tracer.api import Store, open
    from tracer.replay.projection import Projection, ReadModel, on, upcaster

__version__ = "0.1.0"
__all__ = ["Projection", "ReadModel", "Store", "TracerError", "on", "open", "upcaster"]

_LAZY = {
    "Store": "tracer.api",
    "open": "tracer.api",
    "Projection": "tracer.replay.projection",
    "ReadModel": "tracer.replay.projection",
    "on": "tracer.replay.projection",
    "upcaster": "tracer.replay.projection",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'tracer' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *_LAZY])
