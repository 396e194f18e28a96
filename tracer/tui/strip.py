"""The time strip: the event rate over the log's time range, with a marker at the cursor."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
from rich.style import Style
from rich.text import Text
from textual import events
from textual.message import Message
from textual.widget import Widget

from tracer.tui.data import RateHistogram
from tracer.tui.styles import background, foreground

BLOCKS = " ▁▂▃▄▅▆▇█"


def resample(counts: np.ndarray, width: int) -> np.ndarray:
    """Sum ``counts`` into ``width`` columns."""
    if width <= 0 or len(counts) == 0:
        return np.zeros(max(width, 0), dtype=np.int64)
    if width >= len(counts):
        return counts[(np.arange(width) * len(counts)) // width]
    edges = np.linspace(0, len(counts), width + 1).astype(int)[:-1]
    return np.add.reduceat(counts, edges)


def parse_row_time(text: str) -> datetime | None:
    """The time column of a timeline row (``YYYY-MM-DD HH:MM:SS.mmm``, UTC)."""
    if not text:
        return None
    try:
        return datetime.strptime(text, "%Y-%m-%d %H:%M:%S.%f").replace(tzinfo=UTC)
    except ValueError:
        return None


class TimeStrip(Widget):
    """Two lines: a sparkline of events per unit of time, then the range with the cursor.
    A click jumps to the last event at or before the time under the mouse."""

    class Clicked(Message):
        def __init__(self, when: datetime) -> None:
            super().__init__()
            self.when = when

    COMPONENT_CLASSES = {"timestrip--bar", "timestrip--cursor", "timestrip--label"}  # noqa: RUF012

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.histogram = RateHistogram()
        self.cursor_time: datetime | None = None

    def set_histogram(self, histogram: RateHistogram) -> None:
        self.histogram = histogram
        self.refresh()

    def set_cursor(self, when: datetime | None) -> None:
        if when != self.cursor_time:
            self.cursor_time = when
            self.refresh()

    def time_at(self, column: int) -> datetime | None:
        """The time at the end of a column's slice of the range."""
        hist, width = self.histogram, self.size.width
        if hist.start is None or hist.end is None or width <= 0:
            return None
        fraction = min(max((column + 1) / width, 0.0), 1.0)
        return hist.start + (hist.end - hist.start) * fraction

    def on_click(self, event: events.Click) -> None:
        offset = event.get_content_offset(self)
        when = None if offset is None else self.time_at(offset.x)
        if when is not None:
            self.post_message(self.Clicked(when))

    @property
    def cursor_column(self) -> int | None:
        fraction = self.histogram.bucket_of(self.cursor_time)
        width = self.size.width
        if fraction is None or width <= 0:
            return None
        return min(int(fraction * width), width - 1)

    def _part(self, name: str) -> Style:
        return foreground(self, name)

    def render(self) -> Text:
        width = self.size.width
        get = self._part
        hist = self.histogram
        if hist.start is None or width <= 0:
            return Text("no event times", style=get("timestrip--label"))
        columns = resample(hist.counts, width)
        peak = max(int(columns.max()), 1)
        marker = self.cursor_column
        cursor = get("timestrip--cursor") + background(self, "timestrip--cursor")
        bar = get("timestrip--bar")
        bars = Text()
        for i, n in enumerate(columns):
            level = 0 if n == 0 else max(1, round(int(n) / peak * 8))
            style = cursor if i == marker else bar
            bars.append(BLOCKS[level] if i != marker or level else "│", style)
        start = hist.start.strftime("%Y-%m-%d %H:%M")
        end = hist.end.strftime("%Y-%m-%d %H:%M") if hist.end else ""
        middle = ""
        if self.cursor_time is not None:
            middle = "▲ " + self.cursor_time.strftime("%Y-%m-%d %H:%M:%S")
        label = _spread(start, middle, end, width, marker)
        return Text.assemble(bars, "\n", (label, get("timestrip--label")))


def _spread(left: str, middle: str, right: str, width: int, at: int | None) -> str:
    """``left`` and ``right`` at the edges, ``middle`` starting under column ``at``; an edge
    label that the middle one would overlap is left out."""
    line = [" "] * width
    span = range(0)
    if middle and at is not None:
        start = min(max(at, 0), max(width - len(middle), 0))
        span = range(start, min(start + len(middle), width))
        for i, ch in zip(span, middle, strict=False):
            line[i] = ch
    if len(left) < width and not any(i in span for i in range(len(left) + 1)):
        line[: len(left)] = left
    first = width - len(right)
    if first > 0 and not any(i in span for i in range(first - 1, width)):
        line[first:] = right
    return "".join(line)
