"""``tracer tui``: the command's checks before the UI starts (the UI itself is tested with Pilot)."""

from __future__ import annotations

from tracer.cli import main

from .conftest import BANK


def test_without_sources_it_needs_an_existing_store(tmp_path, capsys):
    code = main(["tui", "--db", str(tmp_path / "none.duckdb")])
    assert code == 2
    assert "no store at" in capsys.readouterr().err


def test_follow_needs_a_source(tmp_path, capsys):
    assert main(["tui", "--follow", "--db", str(tmp_path / "s.duckdb")]) == 2
    assert "--follow needs a source" in capsys.readouterr().err


def test_a_projection_that_cannot_load_is_an_error_before_the_ui(tmp_path, capsys):
    code = main(["tui", str(BANK), "--projection", str(tmp_path / "nope.py") + ":Account"])
    assert code == 2
    assert "nope.py" in capsys.readouterr().err


def test_an_unknown_theme_is_an_error_before_the_ui(capsys):
    assert main(["tui", str(BANK), "--theme", "no-such-theme"]) == 2
    assert "unknown theme 'no-such-theme'" in capsys.readouterr().err


def test_help_lists_the_options(capsys):
    assert main(["tui", "--help"]) == 0
    out = capsys.readouterr().out
    for option in ("--db", "--projection", "--follow", "--theme"):
        assert option in out


def test_tui_loads_a_source_with_the_mapping_options_of_load(tmp_path, monkeypatch):
    """``tracer tui shop.csv --map ...`` maps columns exactly as ``tracer load`` does."""
    import tracer
    from tracer.cli import main
    from tracer.tui import TracerApp

    seen = {}

    def run(app, *args, **kwargs):
        app.store.load(*app.sources, **app.load_options)
        seen["streams"] = app.store.count_events("order-1001")

    monkeypatch.setattr(TracerApp, "run", run)
    db = tmp_path / "shop.duckdb"
    shop = str(BANK.parent / "shop.csv")
    code = main(["tui", shop, "--db", str(db), "--map", "stream=order_id", "--map", "version=seq"])
    assert code == 0
    assert seen["streams"] > 0
    with tracer.open(db) as store:
        assert store.count_events("order-1001") == seen["streams"]
