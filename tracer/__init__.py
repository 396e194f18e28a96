"""tracer: a time-travel debugger for event-sourced systems."""

from __future__ import annotations

from tracer.errors import TracerError
from tracer.store import Store, open

__all__ = ["Store", "TracerError", "open"]
__version__ = "0.1.0"
