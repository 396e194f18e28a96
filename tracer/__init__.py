"""tracer: a time-travel debugger for event-sourced systems."""

from __future__ import annotations

from tracer.api import Store, open
from tracer.errors import TracerError

__all__ = ["Store", "TracerError", "open"]
__version__ = "0.1.0"

# Projections (the replay engine's user-facing API): ``from tracer import Projection, on``.
from tracer.replay.projection import Projection, ReadModel, on, upcaster

__all__ += ["Projection", "ReadModel", "on", "upcaster"]
