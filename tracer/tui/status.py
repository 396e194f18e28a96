"""The status line: where the cursor is in which log, and the debugger's state.

It fits any width: when the parts are too long, the source name, the filter and the search text
are shortened with an ellipsis (the name goes first), never the position or the debugger state
at the end (playback, marks, breakpoints, skipped events).
"""

from __future__ import annotations

from dataclasses import dataclass

from rich.cells import cell_len
from rich.text import Text
from textual.widget import Widget

SEPARATOR = " · "
ELLIPSIS = "…"


@dataclass(frozen=True)
class Part:
    """One piece of the status line.

    ``shrink`` says how it gives way when the line is too long: (order, cells) steps, taken
    across every part by order (lowest first) while the line is too long; 0 cells drops the
    part with its separator. A part without steps always shows whole. ``keep_end`` shortens at
    the start (a path keeps its file name).
    """

    text: str
    style: str = ""
    join: str = SEPARATOR  # what comes before it (not before the first part)
    shrink: tuple[tuple[int, int], ...] = ()
    keep_end: bool = False


def shorten(text: str, width: int, keep_end: bool = False) -> str:
    """``text`` in at most ``width`` cells, an ellipsis marking what was cut."""
    if cell_len(text) <= width:
        return text
    if width <= 1:
        return ELLIPSIS[:width]
    chars = list(text)
    while chars and cell_len("".join(chars)) > width - 1:
        chars.pop(0 if keep_end else -1)
    kept = "".join(chars)
    return ELLIPSIS + kept if keep_end else kept + ELLIPSIS


def widths(parts: list[Part], width: int) -> list[int]:
    """How many cells each part gets (0: left out) for the line to fit ``width``."""
    full = [cell_len(p.text) for p in parts]
    sizes = list(full)
    joins = [cell_len(p.join) if i else 0 for i, p in enumerate(parts)]
    over = sum(sizes) + sum(joins) - width
    steps = sorted((order, i, cells) for i, p in enumerate(parts) for order, cells in p.shrink)
    shrunk: list[int] = []  # parts shortened, in order
    for _, i, cells in steps:
        if over <= 0:
            break
        if sizes[i] == 0 or sizes[i] <= cells:
            continue
        if cells == 0:
            over -= sizes[i] + joins[i]
            sizes[i] = 0
        else:
            cut = min(over, sizes[i] - cells)
            sizes[i] -= cut
            over -= cut
        shrunk.append(i)
    for i in reversed(shrunk):  # a part left out may leave room to give back
        if over >= 0:
            break
        if sizes[i]:
            back = min(-over, full[i] - sizes[i])
            sizes[i] += back
            over += back
    return sizes


def fit(parts: list[Part], width: int) -> Text:
    """The parts joined into one line of at most ``width`` cells when shortening can make it."""
    line = Text(no_wrap=True, overflow="crop", end="")
    first = True
    for part, size in zip(parts, widths(parts, width), strict=True):
        if size == 0 and part.text:
            continue
        if not first:
            line.append(part.join)
        first = False
        line.append(shorten(part.text, size, part.keep_end), style=part.style)
    return line


class StatusLine(Widget):
    """One line at the top of the app, redrawn to fit its width."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.parts: list[Part] = []

    def show(self, parts: list[Part]) -> None:
        self.parts = parts
        self.refresh()

    def render(self) -> Text:
        return fit(self.parts, self.content_size.width or self.size.width)
