"""Messages that thread workers post back to the app (never touching widgets themselves)."""

from __future__ import annotations

from typing import Any

import numpy as np
from textual.message import Message

from tracer.tui.accounting import Accounting
from tracer.tui.data import RateHistogram, TextWidths, TimelineView
from tracer.tui.session import Breakpoint


class ViewReady(Message):
    """A new timeline view was counted; show it with the cursor near ``position``."""

    def __init__(
        self,
        view: TimelineView,
        position: int | None,
        origin: str,
        widths: TextWidths | None = None,
        accounting: Accounting | None = None,
    ) -> None:
        super().__init__()
        self.view = view
        self.position = position
        self.origin = origin  # "start", "filter", "scope", "follow"
        self.widths = widths  # the log's longest names (at the start and as it grows)
        self.accounting = accounting  # the load's (at the start)


class DetailReady(Message):
    """The event, state and change for the cursor's position."""

    def __init__(self, detail: Any) -> None:
        super().__init__()
        self.detail = detail


class SearchReady(Message):
    def __init__(self, label: str, matches: np.ndarray) -> None:
        super().__init__()
        self.label = label
        self.matches = matches


class Jump(Message):
    """Move the cursor to ``position`` (from go to, [ ], continue, blame)."""

    def __init__(self, position: int | None, reason: str = "", missing: str = "") -> None:
        super().__init__()
        self.position = position
        self.reason = reason
        self.missing = missing  # what to say when position is None


class HistogramReady(Message):
    def __init__(self, histogram: RateHistogram) -> None:
        super().__init__()
        self.histogram = histogram


class ResultReady(Message):
    """A diff, what-if or breakpoint hit to show in a screen."""

    def __init__(self, kind: str, title: str, result: Any) -> None:
        super().__init__()
        self.kind = kind
        self.title = title
        self.result = result


class Failed(Message):
    """A worker hit a user-fixable error; ``where`` says which prompt or panel shows it."""

    def __init__(self, where: str, message: str) -> None:
        super().__init__()
        self.where = where
        self.message = message


class BreakpointChecked(Message):
    """A breakpoint the log can hit (its types exist): add it."""

    def __init__(self, breakpoint: Breakpoint) -> None:
        super().__init__()
        self.breakpoint = breakpoint


class BreakpointsFailed(Message):
    """State conditions that raised while looking for a hit: (condition text, error)."""

    def __init__(self, failed: list[tuple[str, str]]) -> None:
        super().__init__()
        self.failed = failed


class LoadProgress(Message):
    def __init__(
        self, stage: str, done: int, total: int | None, accounting: Accounting | None = None
    ) -> None:
        super().__init__()
        self.stage = stage
        self.done = done
        self.total = total
        self.accounting = accounting  # when done


class FollowReport(Message):
    def __init__(self, report: Any) -> None:
        super().__init__()
        self.report = report


class DetailShown(Message):
    """The state and change panels now show ``position`` (tests and benchmarks wait on it)."""

    def __init__(self, position: int) -> None:
        super().__init__()
        self.position = position
