"""The ``tracer`` command: a thin layer over the Python API.

Each command group lives in its own module and registers its commands on ``app``.
Errors the user can fix (:class:`tracer.errors.TracerError`) print one line on stderr and exit
with code 2; ``--debug`` shows the traceback instead.
"""

from __future__ import annotations

import sys

import typer
from rich.markup import escape

from tracer.cli.common import console_err, state
from tracer.errors import TracerError

app = typer.Typer(
    name="tracer",
    help="A time-travel debugger for event-sourced systems.",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode="rich",
    pretty_exceptions_enable=False,
)


@app.callback()
def _root(
    debug: bool = typer.Option(False, "--debug", help="Show tracebacks for errors."),
) -> None:
    state.debug = debug


def _register() -> None:
    # Importing a command module registers its commands on ``app``.
    import importlib

    for name in (
        "store",
        "browse",
        "replay",
        "history",
        "tui",
        "sql",
        "trace",
        "compare",
        "schema",
        "audit",
    ):
        try:
            importlib.import_module(f"tracer.cli.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"tracer.cli.{name}":
                raise


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``tracer`` console script."""
    _register()
    args = sys.argv[1:] if argv is None else argv
    state.debug = "--debug" in args
    try:
        code = app(args=args, standalone_mode=False)
    except TracerError as exc:
        if state.debug:
            raise
        console_err.print(
            f"[bold red]error:[/] {escape(str(exc))}", highlight=False, soft_wrap=True
        )
        return exc.exit_code
    except KeyboardInterrupt:
        console_err.print("interrupted")
        return 130
    except typer.Exit as exc:
        return exc.exit_code
    except typer.Abort:
        return 1
    except Exception as exc:  # usage errors and anything unexpected
        if hasattr(exc, "show") and hasattr(exc, "exit_code"):  # a click usage error
            exc.show()
            return int(exc.exit_code)
        if state.debug:
            raise
        console_err.print(
            f"[bold red]error:[/] {type(exc).__name__}: {escape(str(exc))} "
            "(run with --debug for the traceback)",
            highlight=False,
            soft_wrap=True,
        )
        return 1
    return code if isinstance(code, int) else 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
