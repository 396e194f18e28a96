"""Modal screens: help, result tables (diffs, what-if), breakpoints and the loading progress."""

from __future__ import annotations

from typing import Any

from rich.console import RenderableType
from rich.table import Table
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import DataTable, Footer, Label, OptionList, ProgressBar, Static
from textual.widgets.option_list import Option

from tracer.tui.commands import sections
from tracer.tui.session import Breakpoint


class HelpScreen(ModalScreen[None]):
    """Every key, by section."""

    BINDINGS = [Binding("escape,q,question_mark", "dismiss", "Close")]  # noqa: RUF012

    def compose(self) -> ComposeResult:
        table = Table(box=None, show_header=False, padding=(0, 1), expand=True)
        table.add_column("key", style="bold", width=12, no_wrap=True)
        table.add_column("what", ratio=1)
        for section, actions in sections():
            table.add_row(Text(section, style="bold"), "", end_section=False)
            for action in actions:
                table.add_row(action.display, action.help)
            table.add_row("", "")
        table.add_row(Text("State panel", style="bold"), "")
        table.add_row("enter", "On a field: blame it (jump to the event that set it)")
        with VerticalScroll(id="help-body") as body:
            body.border_title = "tracer keys"
            body.border_subtitle = "escape to close · ctrl+p: command palette"
            yield Static(table, id="help-table")

    def action_dismiss(self) -> None:  # type: ignore[override]
        self.dismiss(None)


class ResultScreen(ModalScreen[Any]):
    """A titled table; Enter returns the chosen row's key (a position or a stream)."""

    BINDINGS = [Binding("escape,q", "close", "Close")]  # noqa: RUF012

    def __init__(
        self,
        title: str,
        columns: list[str],
        rows: list[tuple[Any, list[Any]]],
        *,
        summary: RenderableType = "",
        hint: str = "escape to close",
        empty: str = "nothing differs",
    ) -> None:
        super().__init__()
        self.title_text = title
        self.columns = columns
        self.rows = rows
        self.summary = summary
        self.hint = hint
        self.empty = empty

    def compose(self) -> ComposeResult:
        with Vertical(id="result-body") as body:
            body.border_title = self.title_text
            body.border_subtitle = self.hint
            if self.summary:
                yield Static(self.summary, id="result-summary")
            table: DataTable[Any] = DataTable(id="result-table", cursor_type="row")
            table.add_columns(*self.columns)
            for index, (_, cells) in enumerate(self.rows):
                table.add_row(*cells, key=str(index))
            if not self.rows:
                table.display = False
                yield Static(Text(self.empty, style="dim"), id="result-empty")
            yield table

    @on(DataTable.RowSelected)
    def _selected(self, event: DataTable.RowSelected) -> None:
        self.dismiss(self.rows[int(event.row_key.value or 0)][0])

    def action_close(self) -> None:
        self.dismiss(None)


class BreakpointsScreen(ModalScreen[list[Breakpoint]]):
    """The breakpoints: Enter enables or disables one, Delete removes it."""

    BINDINGS = [  # noqa: RUF012
        Binding("escape,q", "close", "Close"),
        Binding("enter,space", "toggle", "Enable/disable"),
        Binding("delete,backspace,d", "delete", "Delete"),
    ]

    def __init__(self, breakpoints: list[Breakpoint]) -> None:
        super().__init__()
        self.breakpoints = list(breakpoints)

    def compose(self) -> ComposeResult:
        with Vertical(id="breakpoints-body") as body:
            body.border_title = "Breakpoints"
            body.border_subtitle = "enter: enable/disable · delete: remove · escape: close"
            yield OptionList(*self._options(), id="breakpoints-list")
        yield Footer()

    def on_mount(self) -> None:
        options = self.query_one(OptionList)
        if self.breakpoints:
            options.highlighted = 0
        options.focus()

    @on(OptionList.OptionSelected)
    def _selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.action_toggle()

    def _options(self) -> list[Option]:
        if not self.breakpoints:
            return [Option(Text("no breakpoints: press b to add one", "dim"), disabled=True)]
        return [
            Option(f"{'●' if b.enabled else '○'} {b.describe()}", id=str(i))
            for i, b in enumerate(self.breakpoints)
        ]

    def _redraw(self) -> None:
        options = self.query_one(OptionList)
        highlighted = options.highlighted
        options.clear_options()
        options.add_options(self._options())
        if highlighted is not None and self.breakpoints:
            options.highlighted = min(highlighted, len(self.breakpoints) - 1)

    def action_toggle(self) -> None:
        index = self.query_one(OptionList).highlighted
        if index is not None and index < len(self.breakpoints):
            b = self.breakpoints[index]
            self.breakpoints[index] = Breakpoint(b.kind, b.text, b.types, not b.enabled)
            self._redraw()

    def action_delete(self) -> None:
        index = self.query_one(OptionList).highlighted
        if index is not None and index < len(self.breakpoints):
            del self.breakpoints[index]
            self._redraw()

    def action_close(self) -> None:
        self.dismiss(self.breakpoints)


class LoadScreen(Screen[None]):
    """Shown while the sources load, before the timeline."""

    def __init__(self, sources: list[str]) -> None:
        super().__init__()
        self.sources = sources

    def compose(self) -> ComposeResult:
        with Vertical(id="load-body") as body:
            body.border_title = "Loading"
            yield Label(", ".join(self.sources), id="load-sources")
            yield Label("starting…", id="load-stage")
            yield ProgressBar(id="load-progress", show_eta=False)

    def progress(self, stage: str, done: int, total: int | None) -> None:
        self.query_one("#load-stage", Label).update(
            f"{stage}: {done:,}" + (f" / {total:,}" if total else "")
        )
        bar = self.query_one(ProgressBar)
        bar.update(total=total, progress=done)
