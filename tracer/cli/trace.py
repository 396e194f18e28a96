"""``tracer trace``: the causation tree of an event and the rest of its correlation."""

from __future__ import annotations

import typer

from tracer.cli import app
from tracer.cli.common import DbOption, JsonOption, console, open_db, print_json


@app.command()
def trace(
    event: str = typer.Argument(..., help="A position (798) or an event id."),
    db: str | None = DbOption,
    json: bool = JsonOption,
) -> None:
    """What caused an event, up to its first cause, and everything that cause set off."""
    from rich.tree import Tree

    from tracer.causation import Node
    from tracer.causation import trace as trace_event

    with open_db(db) as store:
        trail = trace_event(store, event)
    if json:
        print_json(trail.to_dict())
        return

    def label(node: Node) -> str:
        when = node.time.strftime("%Y-%m-%d %H:%M:%S.%f")[:-3] if node.time else ""
        text = f"#{node.position}  {node.stream}  [bold]{node.type}[/]  [dim]{when}[/]"
        return f"[reverse]{text}[/]" if node.position == trail.event else text

    cause = (
        f"caused by {trail.external_cause} (not an event in the log)"
        if trail.external_cause
        else "first cause in the log"
    )
    tree = Tree(f"{label(trail.root)}  [dim]{cause}[/]")
    branches = {trail.root.position: tree}
    for _, node in trail.root.walk():
        for child in node.children:
            branches[child.position] = branches[node.position].add(label(child))
    console.print(tree)
    size = len(trail)
    console.print(
        f"{size:,} event{'s' if size != 1 else ''} in the causation tree", highlight=False
    )
    if trail.correlated:
        console.print(
            f"\n{len(trail.correlated):,} more of correlation {trail.correlated[0].correlation_id}:",
            highlight=False,
        )
        for node in trail.correlated:
            console.print(f"  {label(node)}  [dim]caused by {node.causation_id}[/]")
    if trail.truncated:
        console.print(
            "[yellow]the trail was cut at 10,000 events (see --json for what is shown)[/]"
        )
