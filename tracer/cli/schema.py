"""``tracer schema``: the payload shapes of each event type over the log (a thin layer over
:func:`tracer.shapes.payload_shapes`) and, with ``--projection``, how its handlers take each
one (:func:`tracer.replay.reach.handler_reach`); ``--strict`` exits 1 when a handler cannot."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import typer
from rich.box import SIMPLE_HEAD
from rich.table import Table
from rich.text import Text

from tracer.cli import app
from tracer.cli.common import DbOption, JsonOption, console, open_db, print_json
from tracer.errors import TracerError

if TYPE_CHECKING:  # (pandas and DuckDB load when the command runs, not for --help)
    import pandas as pd

#: Shapes shown per type (every one a handler cannot take is shown; --json has them all).
_SHAPES = 20
_STATUS_STYLE = {"handled": "green", "ignored": "dim", "missing": "bold red", "fails": "bold red"}


@app.command()
def schema(
    type: str | None = typer.Option(None, "--type", "-t", help="Only this event type."),
    projection: str | None = typer.Option(
        None, "--projection", "-p", help="Also show how this projection's handlers take each."
    ),
    strict: bool = typer.Option(
        False, "--strict", help="Exit 1 when a handler cannot take a shape (needs --projection)."
    ),
    db: str | None = DbOption,
    json: bool = JsonOption,
) -> None:
    """The distinct payload shapes of each event type, with counts and first and last events."""
    if strict and projection is None:
        raise TracerError("schema --strict needs --projection: it checks the handlers")
    from tracer.shapes import payload_shapes

    store = open_db(db)
    try:
        shapes = payload_shapes(store, type)
        if type is not None and shapes.empty:
            raise TracerError(f"no event of type {type!r} in the store")
        reach = None
        if projection is not None:
            from tracer.replay.reach import UNHANDLED, handler_reach

            reach = handler_reach(store, projection, shapes)
    finally:
        store.close()
    failing = 0 if reach is None else int(reach["status"].isin(UNHANDLED).sum())
    if json:
        print_json(_documents(shapes, reach))
    else:
        _print(shapes, reach, failing)
    if strict and failing:
        raise typer.Exit(1)


def _documents(shapes: pd.DataFrame, reach: pd.DataFrame | None) -> list[dict[str, Any]]:
    documents = []
    for index, row in enumerate(shapes.to_dict(orient="records")):
        document = {
            "type": row["type"],
            "shape": row["shape"],
            "count": int(row["count"]),
            "first_position": int(row["first_position"]),
            "last_position": int(row["last_position"]),
            "first_time": _iso(row["first_time"]),
            "last_time": _iso(row["last_time"]),
        }
        if reach is not None:
            found = reach.iloc[index]
            document["projection"] = {
                k: found[k]
                for k in ("handled_as", "handler", "status", "missing", "optional", "error")
            }
            document["projection"]["upcast_shape"] = found["upcast_shape"]
        documents.append(document)
    return documents


def _iso(value: Any) -> str | None:
    import pandas as pd

    return None if value is None or value is pd.NaT else pd.Timestamp(value).isoformat()


def _when(value: Any) -> str:
    import pandas as pd

    if value is None or value is pd.NaT:
        return "?"
    stamp = pd.Timestamp(value)
    return stamp.strftime("%Y-%m-%d %H:%M:%S" if console.width >= 120 else "%Y-%m-%d")


def _print(shapes: pd.DataFrame, reach: pd.DataFrame | None, failing: int) -> None:
    from tracer.shapes import shape_text

    if shapes.empty:
        console.print("no events in the store")
        return
    types = shapes["type"].nunique()
    title = f"{len(shapes)} shape(s) of {types} event type(s)"
    if reach is not None:
        title += f"; [red]{failing} its handler cannot take[/]" if failing else "; all handled"
    table = Table(
        title=title, title_justify="left", header_style="bold cyan", box=SIMPLE_HEAD, expand=True
    )
    table.add_column("type", no_wrap=True, overflow="ellipsis", max_width=18)
    table.add_column(
        "shape" if reach is None else "shape / handler", overflow="fold", ratio=1, min_width=34
    )
    table.add_column("events", justify="right", no_wrap=True)
    table.add_column("positions", no_wrap=True)
    narrow = console.width < 100
    table.add_column(
        "first → last", overflow="fold", no_wrap=not narrow, max_width=12 if narrow else None
    )
    previous, shown, hidden = None, 0, [0, 0]
    rows = shapes.to_dict(orient="records")
    for index, row in enumerate(rows):
        if row["type"] != previous:
            previous, shown = row["type"], 0
            first = True
        failing = reach is not None and reach["status"].iloc[index] in ("missing", "fails")
        if shown < _SHAPES or failing:
            shape = Text("\n".join(shape_text({p: k}) for p, k in row["shape"].items()))
            if reach is not None:
                shape.append("\n")
                shape.append_text(_verdict(reach.iloc[index]))
            table.add_row(
                Text(row["type"], style="bold") if first else "",
                shape,
                f"{row['count']:,}",
                f"{row['first_position']}–{row['last_position']}",
                f"{_when(row['first_time'])} → {_when(row['last_time'])}",
            )
            shown, first = shown + 1, False
        else:
            hidden[0], hidden[1] = hidden[0] + 1, hidden[1] + row["count"]
        last = index + 1 == len(rows) or rows[index + 1]["type"] != row["type"]
        if last and hidden[0]:
            more = f"… {hidden[0]:,} more (--json lists all)"
            table.add_row("", Text(more, style="dim"), f"{hidden[1]:,}", "", "")
            hidden = [0, 0]
    console.print(table)


def _verdict(found: pd.Series) -> Text:
    """``handled by withdrawn``, ``shipped lacks carrier``, ``placed fails: …``, ``ignored``."""
    status, handler = found["status"], found["handler"]
    style = _STATUS_STYLE.get(status, "")
    if status == "handled":
        text = Text(f"handled by {handler}", style=style)
    elif status == "missing":
        text = Text(f"{handler} lacks " + ", ".join(found["missing"]), style=style)
    elif status == "fails":
        text = Text(f"{handler} fails: " + str(found["error"]).split("): ", 1)[-1], style=style)
    else:
        text = Text("ignored (no handler)", style=style)
    if found["handled_as"] != found["type"]:
        text.append(f" (as {found['handled_as']})", style="dim")
    if found["optional"]:
        text.append("\nabsent, read with a default: " + ", ".join(found["optional"]), style="dim")
    return text
