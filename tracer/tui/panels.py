"""The state panel (a collapsible tree of the state, changed paths highlighted) and the change
panel (what the selected event changed, and the event itself)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from rich.console import Group, RenderableType
from rich.json import JSON
from rich.style import Style
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical, VerticalScroll
from textual.widgets import Static, Tree
from textual.widgets.tree import TreeNode

from tracer.jsonvalues import encode_text
from tracer.tui.paths import Path, as_path, show_path, with_ancestors
from tracer.tui.styles import background, foreground

MAX_NODES = 1500


def short_json(value: Any, limit: int = 80) -> str:
    text = encode_text(value, default=str, exact=True)
    return text if len(text) <= limit else text[: limit - 1] + "…"


class StateTree(Tree[Path]):
    """The state as a tree; each node's data is its path."""

    ALLOW_MAXIMIZE = True


class StatePanel(Vertical):
    """The state of the cursor's stream right after the cursor's event."""

    COMPONENT_CLASSES = {  # noqa: RUF012
        "state--changed",
        "state--key",
        "state--string",
        "state--number",
        "state--literal",
    }

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.state: Any = None
        self.changed: set[Path] = set()

    def compose(self) -> ComposeResult:
        tree = StateTree("state", id="state-tree")
        tree.show_root = False
        tree.guide_depth = 2
        yield tree
        yield Static("", id="state-message")

    @property
    def tree(self) -> StateTree:
        return self.query_one(StateTree)

    @property
    def selected_path(self) -> Path | None:
        node = self.tree.cursor_node
        return None if node is None else node.data

    def show_message(self, text: str | Text, *, error: bool = False) -> None:
        message = self.query_one("#state-message", Static)
        message.update(text)
        message.set_class(error, "-error")
        message.display = True
        self.tree.display = False
        self.set_class(error, "-error")

    def show_state(self, title: str, state: Any, changed: Iterable[Any] = ()) -> None:
        self.state = state
        self.changed = {as_path(p) for p in changed}
        self.border_title = title
        self.set_class(False, "-error")
        self.query_one("#state-message", Static).display = False
        tree = self.tree
        tree.display = True
        cursor_path = self.selected_path
        tree.clear()
        expand = with_ancestors(self.changed)
        budget = [MAX_NODES]
        self._add(tree.root, (), state, expand, budget)
        tree.root.expand()
        if cursor_path is not None:
            self.select(cursor_path)

    def _add(
        self, node: TreeNode[Path], path: Path, value: Any, expand: set[Path], budget: list[int]
    ) -> None:
        items: Iterable[tuple[str | int, Any]]
        if isinstance(value, dict):
            items = value.items()
        elif isinstance(value, list):
            items = enumerate(value)
        else:
            node.add_leaf(self._label("value", value, path), data=path)
            return
        for count, (key, item) in enumerate(items):
            if budget[0] <= 0:
                rest = len(value) - count
                node.add_leaf(Text(f"… {rest} more", style="dim"), data=path)
                return
            budget[0] -= 1
            child_path = (*path, key)
            label = self._label(key, item, child_path)
            if isinstance(item, dict | list) and item:
                child = node.add(label, data=child_path)
                self._add(child, child_path, item, expand, budget)
                if len(path) == 0 or child_path in expand:
                    child.expand()
            else:
                node.add_leaf(label, data=child_path)

    def _part(self, name: str) -> Style:
        return foreground(self, name)

    def _label(self, key: str | int, value: Any, path: Path) -> Text:
        get = self._part
        key_text = f"[{key}]" if isinstance(key, int) else str(key)
        if isinstance(value, dict):
            shown, style = f"{{{len(value)}}}" if value else "{}", Style(dim=True)
        elif isinstance(value, list):
            shown, style = f"[{len(value)}]" if value else "[]", Style(dim=True)
        elif isinstance(value, str):
            shown, style = short_json(value), get("state--string")
        elif isinstance(value, bool) or value is None:
            shown, style = short_json(value), get("state--literal")
        else:
            shown, style = short_json(value), get("state--number")
        label = Text.assemble((key_text, get("state--key")), ": ", (shown, style))
        if path in self.changed:
            marked = background(self, "state--changed")
            label.stylize(marked)
            label.append(" ◀", Style(color=marked.bgcolor, bold=True))
        return label

    def select(self, path: Path) -> bool:
        """Put the tree's cursor on ``path`` (if it is shown); True if it is there."""
        tree = self.tree

        def walk(node: TreeNode[Path]) -> TreeNode[Path] | None:
            for child in node.children:
                if child.data == path:
                    return child
                if child.data is not None and path[: len(child.data)] == child.data:
                    found = walk(child)
                    if found is not None:
                        return found
            return None

        found = walk(tree.root)
        if found is None or found.line < 0:
            return False
        tree.move_cursor(found)
        return True


class ChangePanel(VerticalScroll):
    """What the cursor's event changed (old → new), then the event's data and metadata."""

    COMPONENT_CLASSES = {  # noqa: RUF012
        "change--add",
        "change--remove",
        "change--change",
        "change--heading",
        "change--dim",
        "change--finding",
    }

    def compose(self) -> ComposeResult:
        yield Static("", id="change-finding")
        yield Static("", id="change-whatif")
        yield Static("", id="change-body")

    def on_mount(self) -> None:
        self.query_one("#change-whatif").display = False
        self.query_one("#change-finding").display = False

    def show_findings(self, findings: list[tuple[str, str]]) -> None:
        """The integrity findings (kind, detail) that sit on the event shown."""
        box = self.query_one("#change-finding", Static)
        box.display = bool(findings)
        mark = self._part("change--finding")
        lines = [Text.assemble(("! ", mark), (kind, mark), f": {d}") for kind, d in findings]
        box.update(Group(*lines))

    def show_whatif(self, skipped: list[int], changes: list[Any]) -> None:
        """How the state without the skipped events differs from the real one, here."""
        box = self.query_one("#change-whatif", Static)
        box.display = bool(skipped)
        if not skipped:
            return
        get = self._part
        without = ", ".join(f"#{p}" for p in skipped)
        lines = [Text.assemble(("what-if ", get("change--heading")), f"without {without}")]
        if not changes:
            lines.append(Text("  the same state here", style=get("change--dim")))
        for change in changes:
            path = show_path(as_path(change.path))
            old = "—" if change.op == "add" else short_json(change.old, 30)
            new = "—" if change.op == "remove" else short_json(change.new, 30)
            lines.append(
                Text.assemble(
                    ("  ≠ ", get("change--change")),
                    path,
                    ": ",
                    (old, get("change--dim")),
                    " → ",
                    (new, get("change--change")),
                )
            )
        box.update(Group(*lines))

    def show(self, event: dict[str, Any] | None, changes: list[Any] | None) -> None:
        body = self.query_one("#change-body", Static)
        if event is None:
            body.update("")
            return
        self.border_title = f"Event #{event['position']} · {event['type']}"
        body.update(self._body(event, changes))

    def show_message(self, text: str) -> None:
        self.query_one("#change-body", Static).update(text)

    def _body(self, event: dict[str, Any], changes: list[Any] | None) -> RenderableType:
        get = self._part
        heading, dim = get("change--heading"), get("change--dim")
        parts: list[RenderableType] = []
        time = event["time"]
        when = time.strftime("%Y-%m-%d %H:%M:%S.%f")[:-3] if time is not None else "no time"
        parts.append(
            Text.assemble((f"{event['stream']}", heading), f" v{event['version']}\n", (when, dim))
        )
        parts.append(Text("changes", style=heading))
        if changes is None:
            parts.append(Text("  …", style=dim))
        elif not changes:
            parts.append(Text("  no change to the state", style=dim))
        for change in changes or ():
            parts.append(self._change_line(change))
        parts.append(Text("data", style=heading))
        parts.append(_json(event["data"]))
        if event.get("meta"):
            parts.append(Text("meta", style=heading))
            parts.append(_json(event["meta"]))
        ids = [("id", event.get("event_id"))]
        ids += [
            ("correlation", event.get("correlation_id")),
            ("causation", event.get("causation_id")),
        ]
        if event.get("source"):
            ids.append(("source", f"{event['source']}:{event.get('source_row') or '?'}"))
        for name, value in ids:
            if value:
                parts.append(Text.assemble((f"{name}: ", dim), str(value)))
        return Group(*parts)

    def _part(self, name: str) -> Style:
        return foreground(self, name)

    def _change_line(self, change: Any) -> Text:
        get = self._part
        path = show_path(as_path(change.path))
        if change.op == "add":
            return Text.assemble(("  + ", get("change--add")), path, " = ", short_json(change.new))
        if change.op == "remove":
            return Text.assemble(
                ("  - ", get("change--remove")), path, (f" (was {short_json(change.old)})", "dim")
            )
        return Text.assemble(
            ("  ~ ", get("change--change")),
            path,
            ": ",
            (short_json(change.old, 40), get("change--remove")),
            " → ",
            (short_json(change.new, 40), get("change--add")),
        )


def _json(value: Any) -> RenderableType:
    if value is None:
        return Text("  null", style="dim")
    return JSON(encode_text(value, default=str, exact=True), indent=2)
