"""tracer's terminal UI (Textual). Import :class:`TracerApp` from here; the core never imports
this package."""

from __future__ import annotations

from tracer.tui.app import TracerApp

__all__ = ["TracerApp"]
