"""Examining the selected event beyond its state: the log's integrity findings
(:mod:`tracer.tui.findings`), its payload shape (:mod:`tracer.tui.shape`), its causes and
effects (:mod:`tracer.tui.trace`). One mixin of :class:`tracer.tui.app.TracerApp`."""

from __future__ import annotations

from tracer.tui.findings import FindingsActions
from tracer.tui.shape import ShapeActions
from tracer.tui.trace import TraceActions

#: their worker groups, and what the status line says while they run
EXAMINE_GROUPS = {
    "findings": "auditing",
    "shape": "reading payload shapes",
    "cause": "following causes",
    "trace": "tracing causes",
}


class ExamineActions(FindingsActions, ShapeActions, TraceActions):
    """Findings, shapes, causes and effects."""
