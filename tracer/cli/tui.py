"""``tracer tui``: open the terminal UI on a store, loading sources into it first if given."""

from __future__ import annotations

import typer

from tracer.cli import app
from tracer.cli.common import DbOption, MemoryOption, open_db
from tracer.errors import TracerError


@app.command()
def tui(
    sources: list[str] = typer.Argument(
        None, help="Event logs to load first (into --db, or a temporary store)."
    ),
    db: str | None = DbOption,
    projection: str | None = typer.Option(
        None, "--projection", help="FILE.py:Name or package.module:Name (default: merge data)."
    ),
    against: str | None = typer.Option(
        None, "--against", help="Another version of the projection: mark where they diverge."
    ),
    follow: bool = typer.Option(
        False, "--follow", help="Keep loading new events from the sources while the UI is open."
    ),
    theme: str | None = typer.Option(None, "--theme", help="A Textual theme, e.g. nord, gruvbox."),
    map: list[str] = typer.Option([], "--map", help="FIELD=SPEC for loading, as in tracer load."),
    format: str | None = typer.Option(None, "--format", help="Source format, as in tracer load."),
    table: str | None = typer.Option(None, "--table", help="Database table, as in tracer load."),
    tz: str | None = typer.Option(None, "--tz", help="Time zone of times without an offset."),
    include_system: bool = typer.Option(
        False, "--include-system", help="Also load system events ($ streams and types)."
    ),
    memory_limit: str | None = MemoryOption,
) -> None:
    """Step through events like a debugger: state, changes, search, breakpoints, what-if."""
    from tracer.api import open as open_store
    from tracer.replay import Replay
    from tracer.tui import TracerApp

    sources = list(sources or [])
    if follow and not sources:
        raise TracerError("--follow needs a source to follow")
    # sources go into --db when named, else into a temporary (in-memory) store
    store = (
        open_store(db or None, memory_limit=memory_limit)
        if sources
        else open_db(db, memory_limit=memory_limit)
    )
    try:
        replay = Replay(store, projection)
        options = {
            "mapping": map,
            "format": format,
            "table": table,
            "tz": tz,
            "include_system": include_system,
        }
        if against is None:
            tui_app = TracerApp(
                store, replay=replay, sources=sources, follow=follow, load_options=options
            )
        else:  # (the other version loads now: a bad one is an error before the UI opens)
            from tracer.replay import load_projection
            from tracer.tui.compare import CompareApp

            tui_app = CompareApp(
                store,
                against=load_projection(against),
                replay=replay,
                sources=sources,
                follow=follow,
                load_options=options,
            )
        if theme is not None:
            if theme not in tui_app.available_themes:
                names = ", ".join(sorted(tui_app.available_themes))
                raise TracerError(f"unknown theme {theme!r}: one of {names}")
            tui_app.theme = theme
        tui_app.run()
    finally:
        store.close()
    if tui_app.load_error is not None:
        raise TracerError(tui_app.load_error)
