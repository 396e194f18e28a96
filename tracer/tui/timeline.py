"""The event timeline: a Line API widget that fetches only the rows on screen.

Like Toolong's log view, it renders line by line (``render_line``) from a small page cache;
pages it lacks are fetched by a thread worker, and a placeholder shows until they arrive. A log
of ten million events costs no more than one of a hundred.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

import numpy as np
from rich.cells import cell_len, set_cell_size
from rich.segment import Segment
from rich.style import Style
from textual import events, work
from textual.binding import Binding
from textual.geometry import Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

from tracer.store import Store
from tracer.tui.data import Row, TextWidths, TimelineView, fetch_rows
from tracer.tui.styles import background, foreground

PAGE = 64
MAX_PAGES = 48


MIN_SUMMARY = 16  # cells the data column keeps before the names give way
LEAST_SUMMARY = 8  # ... and before a type is cut
MIN_STREAM = 15  # a stream name cut in the middle keeps its kind and id: inventory-…0040
MIN_TYPE = 10
MAX_STREAM = 32
MAX_TYPE = 36


@dataclass(frozen=True)
class Columns:
    """Column widths for a given width of the timeline."""

    gutter: int
    position: int
    time: int
    stream: int
    type: int
    version: int
    summary: int

    @classmethod
    def fit(cls, width: int, max_position: int, text: TextWidths | None = None) -> Columns:
        """Widths for the timeline's width and this log: the stream and type columns as wide
        as the longest name (up to a cap); when that leaves the data column too little room,
        the stream name gives way first (cut in the middle), then the data column, then the
        type. The time column keeps the date when the log spans days."""
        text = text or TextWidths()
        position = max(len(str(max_position)), 3)
        if width >= 170:
            time = 23  # 2026-03-04 10:17:10.285
        elif width >= 100:
            time = 19  # 2026-03-04 10:17:10
        else:
            time = 14 if text.days else 8  # 03-04 10:17:10, or 10:17:10
        fallback = min(max(width // 6, 10), 28)
        stream = max(min(text.stream, MAX_STREAM), 6) if text.stream else fallback
        type_ = max(min(text.type, MAX_TYPE), 4) if text.type else fallback
        version = max(text.version, 2) if text.version else 4
        fixed = 2 + position + time + version + 5
        over = fixed + stream + type_ + MIN_SUMMARY - width
        cut = min(max(stream - MIN_STREAM, 0), max(over, 0))  # the stream name gives way,
        stream, over = stream - cut, over - cut
        over -= MIN_SUMMARY - LEAST_SUMMARY  # then the data column,
        cut = min(max(type_ - MIN_TYPE, 0), max(over, 0))  # then the type,
        type_, over = type_ - cut, over - cut
        stream -= min(max(stream - 6, 0), max(over, 0))  # then the stream name again
        summary = max(width - fixed - stream - type_, 0)
        return cls(2, position, time, stream, type_, version, summary)


def cut_middle(text: str, width: int) -> str:
    """``text`` in exactly ``width`` cells: cut in the middle when too long, so that both the
    kind and the id of a stream name show (``inventory-…0040``)."""
    if cell_len(text) <= width:
        return set_cell_size(text, width)
    if width < 5:
        return set_cell_size(text, width)
    tail = (width - 1) // 3
    head = width - 1 - tail
    return set_cell_size(text, head) + "…" + set_cell_size(text[-tail:], tail)


def cut_end(text: str, width: int) -> str:
    """``text`` in exactly ``width`` cells, an ellipsis marking a cut."""
    if cell_len(text) <= width or width < 2:
        return set_cell_size(text, width)
    return set_cell_size(text, width - 1) + "…"


def time_cell(time: str, width: int) -> str:
    """The time column of a row (``YYYY-MM-DD HH:MM:SS.mmm``) in ``width`` cells."""
    if width >= 19:
        return time[:width]
    if width >= 14:
        return time[5:19]  # MM-DD HH:MM:SS
    return time[11:19]


class Timeline(ScrollView, can_focus=True):
    """Every event of the current view, one per line, with a cursor."""

    BINDINGS = [  # noqa: RUF012
        Binding("up,k", "cursor_up", "Up", show=False),
        Binding("down,j", "cursor_down", "Down", show=False),
        Binding("pageup", "page_up", "Page up", show=False),
        Binding("pagedown", "page_down", "Page down", show=False),
        Binding("home,g", "first", "First", show=False),
        Binding("end,G", "last", "Last", show=False),
    ]

    COMPONENT_CLASSES = {  # noqa: RUF012
        "timeline--header",
        "timeline--cursor",
        "timeline--position",
        "timeline--time",
        "timeline--stream",
        "timeline--type",
        "timeline--version",
        "timeline--summary",
        "timeline--match",
        "timeline--mark",
        "timeline--skipped",
        "timeline--breakpoint",
        "timeline--finding",
        "timeline--pending",
    }

    cursor: reactive[int] = reactive(0, always_update=True, init=False)

    class CursorMoved(Message):
        """The cursor is on another event (``position`` is None when the view is empty)."""

        def __init__(self, position: int | None, row: int) -> None:
            super().__init__()
            self.position = position
            self.row = row

    class PagesLoaded(Message):
        def __init__(self, generation: int, pages: dict[int, list[Row]]) -> None:
            super().__init__()
            self.generation = generation
            self.pages = pages

    def __init__(self, store: Store, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.store = store
        self.view = TimelineView()
        self.max_position = 0
        self.marks: dict[int, str] = {}
        self.skipped: set[int] = set()
        self.breakpoint_types: set[str] = set()
        self.widths = TextWidths()  # the log's longest names (the app sets them)
        self.matches: np.ndarray | None = None
        self.findings: np.ndarray | None = None  # positions with an integrity finding (sorted)
        self._pages: OrderedDict[int, list[Row]] = OrderedDict()
        self._wanted: set[int] = set()
        self._in_flight: set[int] = set()
        self._generation = 0
        self._fetch_scheduled = False
        self._posted: int | None = -1

    # -- the model ----------------------------------------------------------------------------
    @property
    def row_count(self) -> int:
        return self.view.count

    @property
    def position(self) -> int | None:
        """The position of the event under the cursor."""
        if self.view.count == 0:
            return None
        return self.view.position_at(min(self.cursor, self.view.count - 1))

    def row(self, index: int) -> Row | None:
        """A row if it is in the page cache (the one under the cursor always is, once shown)."""
        rows = self._pages.get(index // PAGE)
        if rows is None or index % PAGE >= len(rows):
            return None
        return rows[index % PAGE]

    def set_view(self, view: TimelineView, position: int | None = None) -> None:
        """Show another view, keeping the cursor on ``position`` (or the nearest row before)."""
        keep = self.position if position is None else position
        self.view = view
        self.max_position = max(
            self.max_position, view.position_at(view.count - 1) if view.count else 0
        )
        self._reset_cache()
        self._posted = -1
        self.virtual_size = Size(self.size.width, view.count + 1)
        self.cursor = view.row_of(keep) if keep is not None else 0
        self.refresh()

    def grow(self, view: TimelineView) -> None:
        """More events arrived (follow mode): same filter, more rows, the cursor stays put."""
        old = self.view
        self.view = view
        if view.count:
            self.max_position = max(self.max_position, view.position_at(view.count - 1))
        last_page = max(old.count - 1, 0) // PAGE
        self._pages.pop(last_page, None)  # the old last page may be partial
        self.virtual_size = Size(self.size.width, view.count + 1)
        if old.count == 0 and view.count:
            self.cursor = 0
        self.refresh()

    def go_to_position(self, position: int) -> None:
        self.cursor = self.view.row_of(position)

    def _reset_cache(self) -> None:
        self._generation += 1
        self._pages.clear()
        self._wanted.clear()
        self._in_flight.clear()

    def refresh_rows(self) -> None:
        """Forget cached rows (e.g. new events replaced the tail) and redraw."""
        self._reset_cache()
        self.refresh()

    # -- moving -------------------------------------------------------------------------------
    def validate_cursor(self, value: int) -> int:
        return min(max(value, 0), max(self.view.count - 1, 0))

    def watch_cursor(self, old: int, new: int) -> None:
        body = max(self.size.height - 1, 1)
        top = round(self.scroll_y)
        if new < top:
            self.scroll_to(y=new, animate=False, immediate=True)
        elif new >= top + body:
            self.scroll_to(y=new - body + 1, animate=False, immediate=True)
        self.refresh()
        position = self.position
        if position != self._posted:
            self._posted = position
            self.post_message(self.CursorMoved(position, new))

    def action_cursor_up(self) -> None:
        self.cursor -= 1

    def action_cursor_down(self) -> None:
        self.cursor += 1

    def action_page_up(self) -> None:
        self.cursor -= max(self.size.height - 2, 1)

    def action_page_down(self) -> None:
        self.cursor += max(self.size.height - 2, 1)

    def action_first(self) -> None:
        self.cursor = 0

    def action_last(self) -> None:
        self.cursor = self.view.count - 1

    def on_click(self, event: events.Click) -> None:
        offset = event.get_content_offset(self)
        if offset is not None and offset.y >= 1:
            self.cursor = round(self.scroll_y) + offset.y - 1

    def on_resize(self, event: events.Resize) -> None:
        self.virtual_size = Size(event.size.width, self.view.count + 1)

    # -- fetching -----------------------------------------------------------------------------
    def _want(self, page: int) -> None:
        if page in self._in_flight:
            return
        self._wanted.add(page)
        if not self._fetch_scheduled:
            self._fetch_scheduled = True
            self.call_later(self._start_fetch)

    def _start_fetch(self) -> None:
        self._fetch_scheduled = False
        pages = sorted(self._wanted - self._in_flight)
        self._wanted.clear()
        if pages:
            self._in_flight.update(pages)
            self._fetch(self.view, pages, self._generation)

    @work(thread=True, group="timeline-rows", exit_on_error=False)
    def _fetch(self, view: TimelineView, pages: list[int], generation: int) -> None:
        cur = self.store.cursor()
        try:
            loaded = {page: fetch_rows(cur, view, page * PAGE, PAGE) for page in pages}
        finally:
            cur.close()
        self.post_message(self.PagesLoaded(generation, loaded))

    def on_timeline_pages_loaded(self, message: Timeline.PagesLoaded) -> None:
        message.stop()
        if message.generation != self._generation:
            return
        for page, rows in message.pages.items():
            self._in_flight.discard(page)
            self._pages[page] = rows
            self._pages.move_to_end(page)
        while len(self._pages) > MAX_PAGES:
            self._pages.popitem(last=False)
        self.refresh()

    # -- drawing ------------------------------------------------------------------------------
    def render_line(self, y: int) -> Strip:
        width = self.size.width
        columns = Columns.fit(width, self.max_position, self.widths)
        if y == 0:
            return self._header(columns, width)
        index = round(self.scroll_y) + y - 1
        base = self.rich_style
        if index >= self.view.count:
            return Strip.blank(width, base)
        page = index // PAGE
        rows = self._pages.get(page)
        if rows is None or index % PAGE >= len(rows):
            self._want(page)
            pending = self.get_component_rich_style("timeline--pending")
            text = set_cell_size(f"  {self.view.position_at(index)} …", width)
            return Strip([Segment(text, base + pending)], width)
        self._pages.move_to_end(page)
        return self._row_strip(rows[index % PAGE], index, columns, width)

    def _header(self, c: Columns, width: int) -> Strip:
        style = self.get_component_rich_style("timeline--header")
        cells = [
            " " * c.gutter,
            "#".rjust(c.position),
            "time".ljust(c.time),
            "stream".ljust(c.stream),
            "type".ljust(c.type),
            "v".rjust(c.version),
            "data",
        ]
        return Strip([Segment(set_cell_size(" ".join(cells), width), style)], width)

    def _row_strip(self, row: Row, index: int, c: Columns, width: int) -> Strip:
        get = self._part
        base = self.rich_style
        cursor = index == self.cursor
        if cursor:
            base = base + self.get_component_rich_style("timeline--cursor")
        elif self._is_match(row.position):
            base = base + background(self, "timeline--match")
        gutter, gutter_style = self._gutter(row)
        time = time_cell(row.time, c.time)
        summary_style = get("timeline--summary")
        if row.position in self.skipped:
            summary_style = summary_style + get("timeline--skipped")
        flag = "!" if _holds(self.findings, row.position) else gutter[1:2]
        segments = [
            Segment(gutter[:1], base + gutter_style),
            Segment(flag, base + (get("timeline--finding") if flag == "!" else gutter_style)),
            Segment(str(row.position).rjust(c.position) + " ", base + get("timeline--position")),
            Segment(set_cell_size(time, c.time) + " ", base + get("timeline--time")),
            Segment(cut_middle(row.stream, c.stream) + " ", base + get("timeline--stream")),
            Segment(cut_end(row.type, c.type) + " ", base + get("timeline--type")),
            Segment(str(row.version).rjust(c.version) + " ", base + get("timeline--version")),
            Segment(set_cell_size(row.summary, c.summary), base + summary_style),
        ]
        if cursor:  # the theme's cursor colours win over the columns'
            segments = [Segment(seg.text, seg.style + base) for seg in segments]
        return Strip(segments, width).crop_extend(0, width, base)

    def _part(self, name: str) -> Style:
        return foreground(self, name)

    def _gutter(self, row: Row) -> tuple[str, Style]:
        get = self._part
        if row.position in self.marks:
            return self.marks[row.position].ljust(2), get("timeline--mark")
        if row.position in self.skipped:
            return "✗ ", get("timeline--skipped")
        if row.type in self.breakpoint_types:
            return "● ", get("timeline--breakpoint")
        return "  ", Style()

    def _is_match(self, position: int) -> bool:
        return _holds(self.matches, position)


def _holds(positions: np.ndarray | None, position: int) -> bool:
    """Whether the sorted ``positions`` hold ``position``."""
    if positions is None or len(positions) == 0:
        return False
    i = int(np.searchsorted(positions, position))
    return i < len(positions) and int(positions[i]) == position
