"""The tracer terminal UI: a timeline of events with the state, the change and the event beside
it, and the debugger's keys. The debugger actions live in :mod:`tracer.tui.debugger`."""

from __future__ import annotations

import threading
from collections.abc import Iterable
from functools import partial
from typing import Any

from textual import on, work
from textual.app import App, ComposeResult, SystemCommand
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import Footer
from textual.worker import Worker, WorkerState, get_current_worker

from tracer.api import Store
from tracer.errors import TracerError
from tracer.tui import messages as msg
from tracer.tui.accounting import Accounting, last_load
from tracer.tui.commands import ACTIONS, bindings
from tracer.tui.data import EventFilter, build_view, rate_histogram, scope_filter, text_widths
from tracer.tui.debugger import DebuggerActions
from tracer.tui.examine import EXAMINE_GROUPS, ExamineActions
from tracer.tui.export import ExportActions
from tracer.tui.inspect import Detail, load_detail
from tracer.tui.loading import LoadingActions
from tracer.tui.navigation import NavigationActions
from tracer.tui.panels import ChangePanel, StatePanel
from tracer.tui.prompt import PromptBar
from tracer.tui.screens import HelpScreen, LoadScreen
from tracer.tui.session import Session
from tracer.tui.status import Part, StatusLine
from tracer.tui.streams import StreamsPanel
from tracer.tui.strip import TimeStrip, parse_row_time
from tracer.tui.timeline import Timeline

NARROW = 110  # below this width the streams panel starts hidden
#: worker groups that may take a while, and what the status line says while they run
SLOW_GROUPS = {
    "continue": "finding the next hit",
    "search": "searching",
    "view": "filtering",
    "diff": "diffing",
    "whatif": "replaying without the skipped events",
    "blame": "blaming",
    "break": "checking the breakpoint",
    **EXAMINE_GROUPS,
}


class TracerApp(
    NavigationActions, DebuggerActions, ExportActions, LoadingActions, ExamineActions, App[None]
):
    """Step through an event log like a debugger steps through code."""

    CSS_PATH = "tracer.tcss"
    TITLE = "tracer"
    BINDINGS = bindings()

    def __init__(
        self,
        store: Store,
        *,
        replay: Any = None,
        sources: Iterable[str] = (),
        follow: bool = False,
        name: str | None = None,
        load_options: dict[str, Any] | None = None,
    ) -> None:
        super().__init__()
        self.store = store
        self.replay = replay
        self.sources = list(sources)
        self.load_options = {k: v for k, v in (load_options or {}).items() if v}
        self.follow = follow
        self.source_name = name or (", ".join(self.sources) or store.path or "memory")
        self.session = Session()
        self.scope = EventFilter()
        self.filter = EventFilter()
        self.search = EventFilter()
        self.matches: Any = None
        self.detail: Detail | None = None
        self.load_error: str | None = None
        self.accounting: Accounting | None = None  # what the load did with the rows it read
        self.playing = False
        self.total_events = 0
        self.ready = False  # the first view is on screen
        self.followed = 0  # events loaded by --follow since the start
        self.running: dict[str, int] = {}  # slow worker groups -> how many run
        self._detail_busy = False
        self._detail_next: int | None = None
        self._stop = threading.Event()
        self._play_timer: Any = None
        self._play_stop_at: int | None = None

    # -- layout -------------------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        yield StatusLine(id="status")
        yield TimeStrip(id="strip")
        with Horizontal(id="body"):
            yield StreamsPanel(self.store, id="streams")
            with Vertical(id="main"):
                yield Timeline(self.store, id="timeline")
                with Horizontal(id="details"):
                    yield StatePanel(id="state")
                    yield ChangePanel(id="change")
        yield PromptBar(id="prompt")
        yield Footer(compact=True, show_command_palette=False)

    @property
    def timeline(self) -> Timeline:
        return self.query_one(Timeline)

    @property
    def state_panel(self) -> StatePanel:
        return self.query_one(StatePanel)

    @property
    def prompt(self) -> PromptBar:
        return self.query_one(PromptBar)

    def on_mount(self) -> None:
        self.query_one("#prompt").display = False
        self.query_one("#streams").display = self.size.width >= NARROW
        self.query_one("#timeline").border_title = "Events"
        self.query_one("#state").border_title = "State"
        self.query_one("#change").border_title = "Event"
        self.timeline.focus()
        if self.sources:
            self.push_screen(LoadScreen(self.sources))
            self._load_sources()
        else:
            self._start()

    def _start(self) -> None:
        self._build_view(EventFilter(), None, "start")
        self._histogram(EventFilter())
        self.query_one(StreamsPanel).reload()
        if self.follow:
            self._follow()
        self.update_status()

    # -- the view -----------------------------------------------------------------------------
    @work(thread=True, group="view", exclusive=True, exit_on_error=False)
    def _build_view(self, flt: EventFilter, position: int | None, origin: str) -> None:
        cur = self.store.cursor()
        widths, accounting = None, None
        try:
            view = build_view(cur, flt)
            if origin == "start":
                (self.total_events,) = cur.execute("SELECT count(*) FROM events").fetchone()
                widths = text_widths(cur)
                # loaded here: that load's report; else the store's last load
                accounting = self.accounting if self.sources else last_load(cur)
        except TracerError as exc:
            self.post_message(msg.Failed(origin, str(exc)))
            return
        finally:
            cur.close()
        if not get_current_worker().is_cancelled:
            self.post_message(msg.ViewReady(view, position, origin, widths, accounting))

    @work(thread=True, group="follow-view", exclusive=True, exit_on_error=False)
    def _recount(self, flt: EventFilter) -> None:
        cur = self.store.cursor()
        try:
            view = build_view(cur, flt)
            (self.total_events,) = cur.execute("SELECT count(*) FROM events").fetchone()
            widths = text_widths(cur)
        finally:
            cur.close()
        self.post_message(msg.ViewReady(view, None, "follow", widths))

    def on_view_ready(self, message: msg.ViewReady) -> None:
        if message.view.filter != self.view_filter() or not self.query(Timeline):
            return  # the filter changed while this view was counted (or the app closes)
        timeline = self.timeline
        if message.widths is not None:
            timeline.widths = message.widths
        if message.origin == "follow":
            timeline.grow(message.view)
        else:
            timeline.set_view(message.view, message.position)
        if message.origin == "start":
            self.show_accounting(message.accounting)
            if message.view.count == 0:
                self.state_panel.show_message(self.empty_reason())
        if message.origin == "filter":
            self.prompt.close()
            timeline.focus()
        if message.origin in ("filter", "scope"):
            self._histogram(message.view.filter)
            if message.view.count == 0:
                self.state_panel.show_message("no event matches this view")
                self.query_one(ChangePanel).show(None, None)
        self.ready = True
        self.update_status()

    def empty_reason(self) -> str:
        """Why the log shows no event: what the load did with the rows it read."""
        accounting = self.accounting
        if accounting is None or not (accounting.rejected or accounting.system):
            return "the store has no events"
        lines = ["no event loaded"]
        if accounting.system:
            lines.append(f"{accounting.system:,} system events kept out of replays")
        if accounting.rejected:
            lines.append(accounting.notice())
        return "\n".join(lines)

    def view_filter(self) -> EventFilter:
        return self.scope.and_(self.filter)

    def apply_view(self, origin: str, position: int | None = None) -> None:
        self._build_view(self.view_filter(), position, origin)

    @work(thread=True, group="histogram", exclusive=True, exit_on_error=False)
    def _histogram(self, flt: EventFilter) -> None:
        cur = self.store.cursor()
        try:
            histogram = rate_histogram(cur, flt)
        finally:
            cur.close()
        self.post_message(msg.HistogramReady(histogram))

    def on_histogram_ready(self, message: msg.HistogramReady) -> None:
        for strip in self.query(TimeStrip):  # (none while the app closes)
            strip.set_histogram(message.histogram)

    @on(TimeStrip.Clicked)
    def _strip_clicked(self, message: TimeStrip.Clicked) -> None:
        self._goto(message.when.isoformat())

    @on(StreamsPanel.ScopeChosen)
    def _scope_chosen(self, message: StreamsPanel.ScopeChosen) -> None:
        if message.kind == "stream":
            self.scope = scope_filter(stream=message.name)
        elif message.kind == "category":
            self.scope = scope_filter(category=message.name)
        else:
            self.scope = EventFilter()
        self.apply_view("scope")
        self.timeline.focus()

    # -- the cursor and the panels ------------------------------------------------------------
    def on_timeline_cursor_moved(self, message: Timeline.CursorMoved) -> None:
        position = message.position
        row = self.timeline.row(message.row)
        if row is not None:
            self.query_one(TimeStrip).set_cursor(parse_row_time(row.time))
        if position is not None:
            self._request_detail(position)
        self.update_status()

    def _request_detail(self, position: int) -> None:
        """At most one detail worker runs; the latest request waits for it (holding a key
        down does not pile up threads) and results for an old position are dropped."""
        if self._detail_busy:
            self._detail_next = position
            return
        self._detail_busy = True
        self._load_detail(position)

    @work(thread=True, group="detail", exit_on_error=False)
    def _load_detail(self, position: int) -> None:
        cur = self.store.cursor()
        try:
            skipped = frozenset(self.session.skipped)
            detail = load_detail(cur, self.replay, position, skipped)
        finally:
            cur.close()
        self.post_message(msg.DetailReady(detail))

    def on_detail_ready(self, message: msg.DetailReady) -> None:
        self._detail_done()
        detail: Detail = message.detail
        if detail.position != self.timeline.position:
            return  # the cursor moved on
        self.show_detail(detail)

    def _detail_done(self) -> None:
        self._detail_busy = False
        pending, self._detail_next = self._detail_next, None
        if pending is not None:
            self._request_detail(pending)

    def show_detail(self, detail: Detail) -> None:
        self.detail = detail
        change = self.query_one(ChangePanel)
        change.show(detail.event, detail.changes if detail.error is None else [])
        change.show_whatif(detail.skipped, detail.whatif)
        if detail.event is not None:
            self.query_one(TimeStrip).set_cursor(detail.event["time"])
        if detail.error is not None:
            self.state_panel.border_title = "State · error"
            self.state_panel.show_message(detail.error, error=True)
        else:
            paths = [c.path for c in detail.changes]
            title = detail.title
            if detail.skipped:
                title += " · what-if differs" if detail.whatif else " · what-if: same"
            self.state_panel.show_state(title, detail.state, paths)
        self.post_message(msg.DetailShown(detail.position))

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """Long queries show in the status line while they run; unexpected worker errors land
        here, in one place, and the app keeps running."""
        worker = event.worker
        if worker.group in SLOW_GROUPS:
            if event.state == WorkerState.RUNNING:
                self.running[worker.group] = self.running.get(worker.group, 0) + 1
            elif event.state in (WorkerState.SUCCESS, WorkerState.ERROR, WorkerState.CANCELLED):
                self.running[worker.group] = max(self.running.get(worker.group, 1) - 1, 0)
            self.update_status()
        if event.state != WorkerState.ERROR:
            return
        error = worker.error
        text = str(error) if isinstance(error, TracerError) else f"{type(error).__name__}: {error}"
        if worker.group == "detail":
            self._detail_done()
            self.state_panel.show_message(text, error=True)
        elif worker.group == "load":
            self.on_failed(msg.Failed("load", text))
        else:
            self.notify(text, title=worker.group, severity="error", timeout=8)

    def on_failed(self, message: msg.Failed) -> None:
        if message.where == "load":
            self.load_error = message.message
            self.exit(return_code=2)
            return
        self.stop_playing()
        if self.prompt.display and message.where in ("filter", "search", "goto", "break", "export"):
            self.prompt.show_error(message.message)
        else:
            self.notify(message.message, severity="error", timeout=8)
        self.bell()

    # -- panels, help, palette ----------------------------------------------------------------
    def action_toggle_streams(self) -> None:
        panel = self.query_one(StreamsPanel)
        panel.display = not panel.display
        if panel.display:
            panel.query_one("#streams-filter").focus()
        else:
            self.timeline.focus()

    def action_help(self) -> None:
        self.push_screen(HelpScreen())

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        for action in ACTIONS:
            if action.action == "command_palette":
                continue
            yield SystemCommand(
                f"{action.label}  ({action.display})",
                action.help,
                partial(self.run_action, action.action),
            )
        yield from super().get_system_commands(screen)

    def update_status(self) -> None:
        if not self.is_mounted or not self.query(StatusLine):
            return
        # when the line is too long: the name shortens, then the filter, "tracer" goes, then
        # the name; the search and busy texts shorten after that
        parts = [
            Part("tracer", "bold", shrink=((3, 0),)),
            Part(self.source_name, join=" ", shrink=((1, 12), (4, 0)), keep_end=True),
        ]
        timeline = self.timeline
        view = timeline.view
        total = max(self.total_events, view.count)
        flt = self.view_filter()
        if flt.empty:
            parts.append(Part(f"{total:,} events"))
        else:
            parts.append(Part(f"{view.count:,} of {total:,}"))
            parts.append(Part(flt.label, "bold", shrink=((2, 12), (5, 1))))
        position = timeline.position
        parts.extend(self.accounting_parts())
        if position is not None:
            parts.append(Part(f"#{position}"))
        if self.matches is not None and len(self.matches):
            parts.append(Part(f"/{self.search.label}", shrink=((6, 2),)))
            parts.append(Part(f"({len(self.matches):,})", join=" "))
        parts.extend(Part(text) for text in self.debugger_status())
        busy = [SLOW_GROUPS[group] for group, n in self.running.items() if n]
        if busy:
            parts.append(Part(", ".join(busy) + "…", "italic", shrink=((7, 1),)))
        if self.follow:
            parts.append(Part(f"following (+{self.followed:,})" if self.followed else "following"))
        self.query_one(StatusLine).show(parts)

    def on_unmount(self) -> None:
        self._stop.set()
