"""Every action of the app, once: its key, footer label and help text.

The app's bindings, the help screen and the command palette are all built from ``ACTIONS``, so
they cannot disagree.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from textual.binding import Binding


@dataclass(frozen=True)
class Action:
    keys: str  # Textual key names, comma separated
    action: str  # the app action, with arguments
    label: str  # short, for the footer
    help: str  # one line, for the help screen and the palette
    section: str
    footer: bool = False
    shown_keys: str = ""  # how the help screen writes the keys
    bind: bool = True  # False: bound by the focused widget (the timeline), listed here for help

    @property
    def display(self) -> str:
        return self.shown_keys or self.keys


ACTIONS: tuple[Action, ...] = (
    # moving through time (bound in the timeline itself)
    Action("down,j", "step(1)", "Next", "Next event", "Move", shown_keys="↓ j", bind=False),
    Action("up,k", "step(-1)", "Previous", "Previous event", "Move", shown_keys="↑ k", bind=False),
    Action("pagedown", "page(1)", "Page down", "One screen later", "Move", shown_keys="PgDn", bind=False),
    Action("pageup", "page(-1)", "Page up", "One screen earlier", "Move", shown_keys="PgUp", bind=False),
    Action("home,g", "first", "First", "First event", "Move", shown_keys="Home g", bind=False),
    Action("end,G", "last", "Last", "Last event", "Move", shown_keys="End G", bind=False),
    Action("left_square_bracket", "stream_step(-1)", "Prev in stream", "Previous event of the same stream", "Move", shown_keys="["),
    Action("right_square_bracket", "stream_step(1)", "Next in stream", "Next event of the same stream", "Move", shown_keys="]"),
    Action("colon", "prompt('goto')", "Go", "Jump to a position, +N/-N, version:N or a time", "Move", footer=True, shown_keys=":"),
    # finding
    Action("slash", "prompt('search')", "Search", "Search events (type:, stream: prefix, data.x > 1, text, ids in meta)", "Find", footer=True, shown_keys="/"),
    Action("n", "match(1)", "Next match", "Next search match", "Find"),
    Action("N", "match(-1)", "Prev match", "Previous search match", "Find"),
    Action("f", "prompt('filter')", "Filter", "Show only the events matching a filter", "Find", footer=True),
    Action("F", "clear_filter", "Clear filter", "Show every event of the stream scope again", "Find"),
    Action("s", "toggle_streams", "Streams", "Show or hide the streams panel", "Find"),
    # debugging
    Action("space", "play", "Play", "Play / pause: step forward on a timer, stop at breakpoints", "Debug", footer=True, shown_keys="space"),
    Action("plus,equals_sign", "speed(1)", "Faster", "Play faster", "Debug", shown_keys="+"),
    Action("minus", "speed(-1)", "Slower", "Play slower", "Debug", shown_keys="-"),
    Action("b", "prompt('break')", "Break", "Add a breakpoint: a type (Withdrawn) or a condition on state", "Debug", footer=True),
    Action("B", "breakpoints", "Breakpoints", "List, enable or delete breakpoints", "Debug"),
    Action("c", "continue(1)", "Cont.", "Continue to the next breakpoint hit", "Debug", footer=True),
    Action("C", "continue(-1)", "Reverse", "Reverse-continue to the previous breakpoint hit", "Debug"),
    Action("m", "mark('A')", "Mark", "Set mark A at the cursor", "Debug", footer=True),
    Action("M", "mark('B')", "Mark B", "Set mark B at the cursor", "Debug"),
    Action("d", "diff(0)", "Diff", "Diff the cursor's stream between marks A and B", "Debug", footer=True),
    Action("D", "diff(1)", "Diff all", "Diff every stream between marks A and B", "Debug"),
    Action("x", "skip", "Skip", "Skip / unskip the event in the what-if replay", "Debug"),
    Action("w", "whatif", "What-if", "Show how the states diverge without the skipped events", "Debug"),
    Action("o", "blame", "Blame", "Jump to the event that set the selected state field", "Debug"),
    Action("y", "copy_state", "Copy", "Copy the state as JSON to the clipboard", "State"),
    Action("e", "prompt('export')", "Export", "Export the state as a JSON file", "State"),
    # examining: the log's integrity, payload shapes, causes and effects
    Action("a", "findings", "Findings", "Integrity findings of the event's stream (marked ! in the timeline)", "Examine"),
    Action("p", "shape", "Shape", "The event's payload shape, and where its type's shape changes", "Examine"),
    Action("less_than_sign", "cause", "Cause", "Jump to the event that caused this one (its causation id)", "Examine", shown_keys="<"),
    Action("greater_than_sign", "effects", "Effects", "Step through the events this one caused", "Examine", shown_keys=">"),
    Action("t", "trace", "Trace", "The causation tree of the event (enter jumps to an event)", "Examine"),
    Action("R", "rejected", "Rejected", "List the rows the load rejected, with line numbers and reasons", "App"),
    Action("question_mark", "help", "Help", "Show every key", "App", footer=True, shown_keys="?"),
    Action("ctrl+p", "command_palette", "Palette", "Command palette: every action by name", "App", shown_keys="ctrl+p", bind=False),
    Action("q", "quit", "Quit", "Quit tracer", "App", footer=True),
)  # fmt: skip


def bindings() -> list[Binding]:
    """The app's key bindings, with ids so users can remap them."""
    return [
        Binding(a.keys, a.action, a.label, show=a.footer, id=a.action, tooltip=a.help)
        for a in ACTIONS
        if a.bind
    ]


def sections() -> Iterator[tuple[str, list[Action]]]:
    order: dict[str, list[Action]] = {}
    for action in ACTIONS:
        order.setdefault(action.section, []).append(action)
    yield from order.items()
