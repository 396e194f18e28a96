"""Moving and finding: steps, the same stream, go to, search with next/previous match and
filters. A mixin of :class:`tracer.tui.app.TracerApp`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
from textual import work

from tracer.errors import TracerError
from tracer.tui import messages as msg
from tracer.tui.data import EventFilter, matching_positions, parse_filter, stream_neighbour
from tracer.tui.goto import resolve_point
from tracer.tui.panels import StateTree
from tracer.tui.prompt import PromptBar

if TYPE_CHECKING:
    from tracer.tui.app import TracerApp

    _Base = TracerApp
else:
    _Base = object


class NavigationActions(_Base):
    # (named handlers, not @on: Textual collects @on only in MessagePump subclasses)
    def on_tree_node_selected(self, event: StateTree.NodeSelected[Any]) -> None:
        if isinstance(event.control, StateTree) and not event.node.allow_expand:
            # enter on a field: blame it
            self.action_blame()

    # -- moving -------------------------------------------------------------------------------
    def action_step(self, delta: int) -> None:
        self.timeline.cursor += delta

    def action_page(self, direction: int) -> None:
        if direction > 0:
            self.timeline.action_page_down()
        else:
            self.timeline.action_page_up()

    def action_first(self) -> None:
        self.timeline.action_first()

    def action_last(self) -> None:
        self.timeline.action_last()

    def cursor_stream(self) -> str | None:
        row = self.timeline.row(self.timeline.cursor)
        if row is not None:
            return row.stream
        if self.detail is not None and self.detail.event is not None:
            return self.detail.event["stream"]
        return None

    def action_stream_step(self, direction: int) -> None:
        position, stream = self.timeline.position, self.cursor_stream()
        if position is None or stream is None:
            return
        self._neighbour(stream, position, direction > 0)

    @work(thread=True, group="jump", exclusive=True, exit_on_error=False)
    def _neighbour(self, stream: str, position: int, forward: bool) -> None:
        cur = self.store.cursor()
        try:
            found = stream_neighbour(cur, stream, position, forward)
        finally:
            cur.close()
        word = "next" if forward else "previous"
        self.post_message(msg.Jump(found, missing=f"no {word} event in {stream}"))

    def on_jump(self, message: msg.Jump) -> None:
        if message.position is None:
            self.notify(message.missing or "nothing found", timeout=4)
            self.prompt.close()
            return
        if self.prompt.mode == "goto":
            self.prompt.close()
            self.timeline.focus()
        if not self.timeline.view.contains(message.position) and not self.view_filter().empty:
            self.scope, self.filter = EventFilter(), EventFilter()
            self.notify(f"#{message.position} was hidden by the filter: showing every event")
            self.apply_view("scope", message.position)
        else:
            self.timeline.go_to_position(message.position)
        if message.reason:
            self.notify(message.reason, timeout=4)

    # -- prompts: search, filter, go to, breakpoints, export ---------------------------------
    def action_prompt(self, mode: str) -> None:
        self.stop_playing()
        preset = {"filter": self.filter.label, "search": self.search.label}.get(mode, "")
        if mode == "export":
            preset = self.default_export_name()
        self.prompt.open(mode, preset)

    def on_prompt_bar_closed(self, message: PromptBar.Closed) -> None:
        self.timeline.focus()

    def on_prompt_bar_submitted(self, message: PromptBar.Submitted) -> None:
        mode, value = message.mode, message.value
        try:
            if mode == "filter":
                self.filter = parse_filter(value) if value else EventFilter()
                self.apply_view("filter")
            elif mode == "search":
                self.search = parse_filter(value)
                self._search(self.view_filter().and_(self.search), self.search.label)
            elif mode == "goto":
                self._goto(value)
            else:
                self.submit_debugger_prompt(mode, value)
        except TracerError as exc:
            self.prompt.show_error(str(exc))

    @work(thread=True, group="search", exclusive=True, exit_on_error=False)
    def _search(self, flt: EventFilter, label: str) -> None:
        cur = self.store.cursor()
        try:
            matches = matching_positions(cur, flt)
        except TracerError as exc:
            self.post_message(msg.Failed("search", str(exc)))
            return
        finally:
            cur.close()
        self.post_message(msg.SearchReady(label, matches))

    def on_search_ready(self, message: msg.SearchReady) -> None:
        self.matches = message.matches
        self.timeline.matches = message.matches
        self.timeline.refresh()
        if len(message.matches) == 0:
            self.prompt.show_error(f"no event matches {message.label!r}")
            return
        self.prompt.close()
        self.timeline.focus()
        self.action_match(0)

    def action_match(self, direction: int) -> None:
        """Jump to the next (1), previous (-1) or nearest following (0) search match."""
        matches = self.matches
        position = self.timeline.position
        if matches is None or len(matches) == 0 or position is None:
            self.notify("no search: press / to search", timeout=3)
            return
        if direction >= 0:
            side = "left" if direction == 0 else "right"
            index = int(np.searchsorted(matches, position, side=side))
            if index >= len(matches):
                index = 0
                self.notify("search wrapped to the first match", timeout=2)
        else:
            index = int(np.searchsorted(matches, position, side="left")) - 1
            if index < 0:
                index = len(matches) - 1
                self.notify("search wrapped to the last match", timeout=2)
        self.timeline.go_to_position(int(matches[index]))

    def action_clear_filter(self) -> None:
        if self.filter.empty:
            return
        self.filter = EventFilter()
        self.apply_view("scope")

    @work(thread=True, group="jump", exclusive=True, exit_on_error=False)
    def _goto(self, text: str) -> None:
        cur = self.store.cursor()
        try:
            position = resolve_point(
                cur, text, self.timeline.position or 1, self.cursor_stream(), self.view_filter()
            )
        except TracerError as exc:
            self.post_message(msg.Failed("goto", str(exc)))
            return
        finally:
            cur.close()
        self.post_message(msg.Jump(position))
