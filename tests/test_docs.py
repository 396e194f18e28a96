"""The README documents every command a user can run."""

from __future__ import annotations

from pathlib import Path

import typer.main

from tracer.cli import _register, app

README = (Path(__file__).resolve().parents[1] / "README.md").read_text()


def commands() -> list[str]:
    _register()
    group = typer.main.get_command(app)
    return sorted(group.commands)


def test_every_cli_command_appears_in_the_readme() -> None:
    names = commands()
    assert {"load", "info", "streams", "events", "state", "find", "tui"} <= set(names)
    missing = [name for name in names if f"tracer {name}" not in README]
    assert missing == [], f"commands missing from README.md: {missing}"


def test_the_readme_gives_the_two_setup_commands() -> None:
    assert ".venv/bin/tracer tui sample_logs/bank.jsonl" in README
    assert "bash scripts/test" in README
    ci = (Path(__file__).resolve().parents[1] / ".ci" / "run").read_text()
    assert "bash scripts/test" in ci
