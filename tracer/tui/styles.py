"""Component styles as Rich styles that keep the theme's colours but not its backgrounds."""

from __future__ import annotations

from rich.style import Style
from textual.widget import Widget


def foreground(widget: Widget, name: str) -> Style:
    """A component class's colour and text style, without its background.

    Textual resolves ``$text-muted`` and other translucent colours against the background only
    in the full style, so take that and drop the background (which the row or line decides).
    """
    full = widget.get_component_rich_style(name)
    return Style(
        color=full.color,
        bold=full.bold,
        dim=full.dim,
        italic=full.italic,
        underline=full.underline,
        strike=full.strike,
        reverse=full.reverse,
    )


def background(widget: Widget, name: str) -> Style:
    """Only a component class's background and weight (for highlighted rows and fields)."""
    full = widget.get_component_rich_style(name)
    return Style(bgcolor=full.bgcolor, bold=full.bold)
