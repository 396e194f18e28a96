"""The one-line prompt for search, filter, go to and breakpoints, with an inline error line."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import Input, Label, Static

MODES: dict[str, tuple[str, str]] = {
    "search": (
        "search /",
        "type:Withdrawn · stream:account-7 · data.amount > 100 · any text or id",
    ),
    "filter": (
        "filter",
        "type:Withdrawn · stream:account-7 · data.amount > 100 · sql: version > 3",
    ),
    "goto": ("go to", "1234 · +10 · -10 · version:3 · 2026-03-04T10:17 · end"),
    "break": ("break on", "a type: Withdrawn  or a state condition: state['balance'] < 0"),
    "export": ("export to", "state.json"),
}


class PromptBar(Vertical):
    """Opened by a key, submitted with Enter, closed with Escape."""

    BINDINGS = [Binding("escape", "close", "Close", show=False)]  # noqa: RUF012

    class Submitted(Message):
        def __init__(self, mode: str, value: str) -> None:
            super().__init__()
            self.mode = mode
            self.value = value

    class Closed(Message):
        pass

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.mode = ""
        self.history: dict[str, list[str]] = {}

    def compose(self) -> ComposeResult:
        with Horizontal(id="prompt-line"):
            yield Label("", id="prompt-label")
            yield Input(id="prompt-input")
        yield Static("", id="prompt-error")

    @property
    def input(self) -> Input:
        return self.query_one("#prompt-input", Input)

    def open(self, mode: str, value: str = "") -> None:
        label, hint = MODES[mode]
        self.mode = mode
        self.query_one("#prompt-label", Label).update(f" {label} ")
        self.input.placeholder = hint
        self.input.value = value
        self.input.cursor_position = len(value)
        self.query_one("#prompt-error", Static).display = False
        self.display = True
        self.input.focus()

    def show_error(self, message: str) -> None:
        error = self.query_one("#prompt-error", Static)
        error.update(message)
        error.display = True

    def close(self) -> None:
        self.display = False
        self.mode = ""

    def action_close(self) -> None:
        self.close()
        self.post_message(self.Closed())

    @on(Input.Submitted, "#prompt-input")
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        value = event.value.strip()
        if value:
            self.history.setdefault(self.mode, []).append(value)
        self.post_message(self.Submitted(self.mode, value))
