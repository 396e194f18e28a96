"""Causes and effects in the terminal UI: ``<`` jumps to the selected event's cause (the event
whose id is its causation id), ``>`` steps through the events it caused (again and again: the
next one, wrapping around; ``<`` on one of them climbs back), ``t`` opens its causation tree
(:func:`tracer.causation.trace`) with Enter jumping to an event. A mixin of
:class:`tracer.tui.app.TracerApp`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import duckdb
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Static, Tree
from textual.widgets.tree import TreeNode

from tracer.causation import Node, Trail, trace
from tracer.tui import messages as msg

if TYPE_CHECKING:
    from tracer.tui.app import TracerApp

    _Base = TracerApp
else:
    _Base = object

MAX_SHOWN = 2000  # events the tree screen shows at most


def cause_of(cur: duckdb.DuckDBPyConnection, position: int) -> tuple[int | None, str]:
    """The position of the event that caused the one at ``position``, or None and why not."""
    row = cur.execute("SELECT causation_id FROM events WHERE position = ?", [position]).fetchone()
    if row is None or not row[0]:
        return None, f"#{position} names no cause (no causation id)"
    found = cur.execute(
        "SELECT position FROM events WHERE event_id = ? AND position <> ? ORDER BY position LIMIT 1",
        [row[0], position],
    ).fetchone()
    if found is None:
        return None, f"the cause of #{position} ({row[0]}) is not in the log"
    return int(found[0]), ""


def effects_of(cur: duckdb.DuckDBPyConnection, position: int) -> list[int]:
    """The positions of the events that the one at ``position`` caused, in log order."""
    rows = cur.execute(
        "SELECT e.position FROM events AS e, (SELECT event_id FROM events WHERE position = ?) "
        "AS c WHERE e.causation_id = c.event_id AND e.position <> ? ORDER BY e.position",
        [position, position],
    ).fetchall()
    return [int(p) for (p,) in rows]


def node_label(node: Node, traced: int) -> Text:
    when = "" if node.time is None else node.time.strftime("%Y-%m-%d %H:%M:%S")
    label = Text.assemble(
        (f"#{node.position}", "bold"), " ", node.type, " ", (node.stream, "dim"), " ", (when, "dim")
    )
    if node.position == traced:
        label.stylize("reverse")
        label.append(" ◀ this event", style="bold")
    return label


class TraceScreen(ModalScreen[Any]):
    """A causation trail as a tree; Enter returns the chosen event's position."""

    BINDINGS = [Binding("escape,q", "close", "Close")]  # noqa: RUF012

    def __init__(self, trail: Trail) -> None:
        super().__init__()
        self.trail = trail
        self.traced: TreeNode[int | None] | None = None

    def compose(self) -> ComposeResult:
        trail = self.trail
        with Vertical(id="result-body") as body:
            body.border_title = f"Causation of #{trail.event}"
            body.border_subtitle = "enter: go to the event · escape: close"
            yield Static(self._summary(), id="result-summary")
            tree: Tree[int | None] = Tree("trail", id="trace-tree")
            tree.show_root = False
            tree.auto_expand = False
            tree.guide_depth = 2
            self._fill(tree)
            yield tree

    def _summary(self) -> str:
        trail = self.trail
        size = len(trail)
        text = f"{size:,} event{'' if size == 1 else 's'} in the tree"
        if trail.external_cause:
            text += f"; its root was caused by {trail.external_cause}, not in the log"
        if trail.correlated:
            text += f"; {len(trail.correlated):,} more of the same correlation"
        if trail.truncated:
            text += " (cut short: too many events)"
        return text

    def _fill(self, tree: Tree[int | None]) -> None:
        traced, budget = self.trail.event, MAX_SHOWN
        parents: list[TreeNode[int | None]] = [tree.root]
        for depth, node in self.trail.root.walk():
            if budget <= 0:
                parents[depth].add_leaf(Text("…", style="dim"))
                break
            budget -= 1
            del parents[depth + 1 :]
            label = node_label(node, traced)
            added = parents[depth].add(label, data=node.position, expand=True)
            if not node.children:
                added.allow_expand = False
            if node.position == traced:
                self.traced = added
            parents.append(added)
        if self.trail.correlated:
            group = tree.root.add(
                Text("same correlation, outside the tree", style="bold"), data=None, expand=True
            )
            for node in self.trail.correlated[:budget]:
                added = group.add_leaf(node_label(node, traced), data=node.position)
                if node.position == traced:
                    self.traced = added
        tree.root.expand()

    def on_mount(self) -> None:
        tree = self.query_one(Tree)
        tree.focus()
        if self.traced is not None:
            self.call_after_refresh(tree.move_cursor, self.traced)

    @on(Tree.NodeSelected)
    def _selected(self, event: Tree.NodeSelected[int | None]) -> None:
        event.stop()
        if event.node.data is not None:
            self.dismiss(event.node.data)

    def action_close(self) -> None:
        self.dismiss(None)


class TraceActions(_Base):
    _effects: tuple[int, list[int]] | None = None  # the event stepped from, what it caused

    def action_cause(self) -> None:
        position = self.timeline.position
        if position is not None:
            self._find_cause(position)

    @work(thread=True, group="cause", exclusive=True, exit_on_error=False)
    def _find_cause(self, position: int) -> None:
        self.store.ensure_index("event_id")
        cur = self.store.cursor()
        try:
            found, why = cause_of(cur, position)
        finally:
            cur.close()
        reason = "" if found is None else f"#{found} caused #{position}"
        self.post_message(msg.Jump(found, reason=reason, missing=why))

    def action_effects(self) -> None:
        position = self.timeline.position
        if position is None:
            return
        if self._effects is not None and position in self._effects[1]:
            anchor, effects = self._effects
            index = (effects.index(position) + 1) % len(effects)
            self._go_to_effect(anchor, effects, index)
            return
        self._find_effects(position)

    @work(thread=True, group="cause", exclusive=True, exit_on_error=False)
    def _find_effects(self, position: int) -> None:
        self.store.ensure_index("causation_id")
        cur = self.store.cursor()
        try:
            effects = effects_of(cur, position)
        finally:
            cur.close()
        self.call_from_thread(self._effects_found, position, effects)

    def _effects_found(self, anchor: int, effects: list[int]) -> None:
        if not effects:
            self.notify(f"#{anchor} caused no event in the log", timeout=4)
            return
        self._effects = (anchor, effects)
        self._go_to_effect(anchor, effects, 0)

    def _go_to_effect(self, anchor: int, effects: list[int], index: int) -> None:
        reason = f"#{anchor} caused {len(effects):,}: {index + 1} of {len(effects):,}"
        if index == 0 and len(effects) > 1 and self.timeline.position in effects:
            reason += " (wrapped)"
        self.post_message(msg.Jump(effects[index], reason=reason))

    def action_trace(self) -> None:
        position = self.timeline.position
        if position is not None:
            self._trace(position)

    @work(thread=True, group="trace", exclusive=True, exit_on_error=False)
    def _trace(self, position: int) -> None:
        trail = trace(self.store, position)
        self.call_from_thread(self.push_screen, TraceScreen(trail), self._trace_chosen)

    def _trace_chosen(self, position: Any) -> None:
        if position is not None:
            self.post_message(msg.Jump(int(position)))
