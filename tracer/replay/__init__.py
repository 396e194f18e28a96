"""The replay engine: states of streams and read models at any point, diffs, blame, find,
what-if and invariants, over a tracer store.

    from tracer import Projection, on
    from tracer.replay import Replay

    replay = Replay(store, "projections/bank.py:Account")
    replay.state("account-42", at="time:2026-03-31T23:59:59Z")
"""

from __future__ import annotations

from tracer.replay.compare import CompareResult, compare_projections
from tracer.replay.conditions import Condition, ConditionError
from tracer.replay.diff import Change, Diff, apply_changes, diff_states
from tracer.replay.engine import Replay
from tracer.replay.events import Event
from tracer.replay.fold import ProjectionError
from tracer.replay.loader import ProjectionLoadError, load_projection
from tracer.replay.paths import PathError, format_path, parse_path
from tracer.replay.points import Point, PointError, parse_point
from tracer.replay.projection import DefaultProjection, Projection, ReadModel, on, upcaster
from tracer.replay.queries import violation_groups
from tracer.replay.results import Match, StateResult, WhatIfResult

__all__ = [
    "Change",
    "CompareResult",
    "Condition",
    "ConditionError",
    "DefaultProjection",
    "Diff",
    "Event",
    "Match",
    "PathError",
    "Point",
    "PointError",
    "Projection",
    "ProjectionError",
    "ProjectionLoadError",
    "ReadModel",
    "Replay",
    "StateResult",
    "WhatIfResult",
    "apply_changes",
    "compare_projections",
    "diff_states",
    "format_path",
    "load_projection",
    "on",
    "parse_path",
    "parse_point",
    "upcaster",
    "violation_groups",
]
