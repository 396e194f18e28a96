"""The streams panel: categories and streams with their counts, filterable; choosing one
narrows the timeline."""

from __future__ import annotations

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import Input, OptionList
from textual.widgets.option_list import Option

from tracer.store import Store
from tracer.tui.data import StreamEntry, stream_entries

LIMIT = 300


class StreamsPanel(Vertical):
    """A filter box over a list of "all", categories and streams."""

    class ScopeChosen(Message):
        """The user chose what the timeline shows: everything, a category or a stream."""

        def __init__(self, kind: str, name: str | None) -> None:
            super().__init__()
            self.kind = kind
            self.name = name

    class Loaded(Message):
        def __init__(self, like: str, entries: list[StreamEntry], total: int) -> None:
            super().__init__()
            self.like = like
            self.entries = entries
            self.total = total

    def __init__(self, store: Store, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.store = store
        self.entries: list[StreamEntry] = []
        self.like = ""

    def compose(self) -> ComposeResult:
        yield Input(placeholder="filter streams", id="streams-filter")
        yield OptionList(id="streams-list")

    def reload(self) -> None:
        self._load(self.like)

    @on(Input.Changed, "#streams-filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        event.stop()
        self.like = event.value.strip()
        self._load(self.like)

    @on(Input.Submitted, "#streams-filter")
    def _filter_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.query_one(OptionList).focus()

    @work(thread=True, group="streams", exclusive=True, exit_on_error=False)
    def _load(self, like: str) -> None:
        cur = self.store.cursor()
        try:
            entries, total = stream_entries(cur, like, LIMIT)
        finally:
            cur.close()
        self.post_message(self.Loaded(like, entries, total))

    def on_streams_panel_loaded(self, message: StreamsPanel.Loaded) -> None:
        message.stop()
        if message.like != self.like:
            return
        self.entries = message.entries
        options = self.query_one(OptionList)
        highlighted = options.highlighted
        options.clear_options()
        options.add_options([self._option(e) for e in message.entries])
        shown = sum(e.kind == "stream" for e in message.entries)
        if message.total > shown:
            options.add_option(
                Option(
                    Text(f"… {message.total - shown} more: type to filter", "dim"), disabled=True
                )
            )
        if highlighted is not None and highlighted < options.option_count:
            options.highlighted = highlighted
        streams = message.entries[0].streams if message.entries else 0
        self.border_title = f"Streams ({streams})"

    def _option(self, entry: StreamEntry) -> Option:
        if entry.kind == "all":
            label = Text.assemble(("All events", "bold"), f"  {entry.events:,}")
            return Option(label, id="all")
        if entry.kind == "category":
            label = Text.assemble(("▸ ", "dim"), (str(entry.name), "bold"), f"  {entry.events:,}")
            return Option(label, id=f"category:{entry.name}")
        label = Text.assemble(str(entry.name), (f"  {entry.events:,}", "dim"))
        return Option(label, id=f"stream:{entry.name}")

    @on(OptionList.OptionSelected, "#streams-list")
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        entry = self.entries[event.option_index] if event.option_index < len(self.entries) else None
        if entry is not None:
            self.post_message(self.ScopeChosen(entry.kind, entry.name))
