"""Bounded memory: DuckDB's memory is capped (``--memory-limit``, ``memory_limit=``), work beyond
the cap spills to disk, and sources staged in many batches account for every row."""

from __future__ import annotations

import json
import os
import sqlite3
import tempfile
from contextlib import closing
from pathlib import Path

import pytest

import tracer
from tracer.cli import main
from tracer.synthetic import write_jsonl


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def setting(store: tracer.Store, name: str) -> str:
    return store.con.execute(f"SELECT current_setting('{name}')").fetchone()[0]


def small_log(path: Path) -> Path:
    rows = [{"stream": f"account-{i % 3}", "type": "Deposited", "data": {"n": i}} for i in range(5)]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def test_the_memory_limit_is_applied_and_spills_beside_the_store(tmp_path: Path) -> None:
    db = tmp_path / "t.duckdb"
    with tracer.open(db, memory_limit="300MB") as store:
        assert setting(store, "memory_limit") == "286.1 MiB"
        assert setting(store, "temp_directory") == f"{db}.tmp"
    with tracer.open(db) as store:  # the default: 512 MiB, not 80% of the machine's memory
        assert setting(store, "memory_limit") == "512.0 MiB"
    with tracer.open(None) as store:  # in memory: spills to a temporary directory, not ./.tmp
        spill = setting(store, "temp_directory")
        assert spill.startswith(tempfile.gettempdir()) and spill != ".tmp"


def test_a_bad_memory_limit_is_a_one_line_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "t.duckdb"
    log = small_log(tmp_path / "a.jsonl")
    code, _, err = run(capsys, "load", str(log), "--db", str(db), "--memory-limit", "lots")
    assert code != 0
    assert "--memory-limit 'lots'" in err and "1GiB" in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert not db.exists()
    with pytest.raises(tracer.TracerError, match="memory-limit"):
        tracer.open(None, memory_limit="-5")


def test_the_cli_option_reaches_duckdb(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A limit too small for DuckDB's JSON reader fails the load (a one-line error, no store);
    a sane one loads."""
    db = tmp_path / "t.duckdb"
    log = small_log(tmp_path / "a.jsonl")
    code, _, err = run(capsys, "load", str(log), "--db", str(db), "--memory-limit", "1MB")
    assert code != 0 and "Out of Memory" in err and "Traceback" not in err
    assert not db.exists()
    code, out, err = run(
        capsys, "load", str(log), "--db", str(db), "--memory-limit", "256MB", "--json"
    )
    assert code == 0, err
    assert json.loads(out)["loaded"] == 5


def test_a_load_larger_than_the_limit_spills_instead_of_failing(tmp_path: Path) -> None:
    """200k events (70 MB of JSON, more once typed and de-duplicated) under a 128 MB cap."""
    log = write_jsonl(tmp_path / "big.jsonl", events=200_000, streams=50)
    db = tmp_path / "t.duckdb"
    with tracer.open(db, memory_limit="128MB") as store:
        report = store.load(log)
        assert (report.rows_read, report.loaded, report.rejected) == (200_000, 200_000, 0)
        assert Path(f"{db}.tmp").is_dir()  # DuckDB spilled to the directory beside the store
        again = store.load(log)  # de-duplication against 200k stored events spills too
        assert (again.loaded, again.duplicates) == (0, 200_000)
        assert store.count() == 200_000
    assert not Path(f"{db}.tmp").exists()  # and leaves nothing behind


def test_a_source_read_in_many_batches_accounts_for_every_row(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A SQLite table read three rows at a time: a column holding integers in the first
    batches and text later widens, a bad row is rejected with its row number, nothing is lost."""
    import tracer.sources.sqlite as sqlite_source

    monkeypatch.setattr(sqlite_source, "BATCH", 3)
    path = tmp_path / "events.db"
    rows = [(f"account-{i % 4}", "Deposited", json.dumps({"n": i}), i) for i in range(1, 21)]
    rows[13] = ("account-1", "", json.dumps({"n": 14}), 14)  # no type: rejected
    rows[16] = (*rows[16][:3], "seventeen")  # text after integers
    with closing(sqlite3.connect(path)) as db:
        db.execute("CREATE TABLE events (stream TEXT, type TEXT, data TEXT, extra)")
        db.executemany("INSERT INTO events VALUES (?, ?, ?, ?)", rows)
        db.commit()
    with tracer.open(tmp_path / "t.duckdb") as store:
        report = store.load(path)
        assert (report.rows_read, report.loaded, report.rejected) == (20, 19, 1)
        assert report.loaded + report.rejected + report.duplicates + report.system == 20
        rejected = store.con.execute("SELECT source_row, reason FROM rejected").fetchall()
        assert rejected == [(14, "missing type")]
        found = store.con.execute(
            "SELECT source_row, data ->> 'n', meta ->> 'extra' FROM events ORDER BY position"
        ).fetchall()
    assert [r[0] for r in found] == [n for n in range(1, 21) if n != 14]
    assert all(int(n) == row for row, n, _ in found)
    assert dict((row, extra) for row, _, extra in found)[17] == "seventeen"
    assert dict((row, extra) for row, _, extra in found)[5] == "5"


def test_temporary_staging_files_are_removed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TMPDIR", str(tmp_path / "tmp"))
    os.makedirs(tmp_path / "tmp")
    tempfile.tempdir = None  # (read TMPDIR again)
    try:
        path = tmp_path / "events.db"
        with closing(sqlite3.connect(path)) as db:
            db.execute("CREATE TABLE events (stream TEXT, type TEXT, data TEXT)")
            db.execute("INSERT INTO events VALUES ('a-1', 'T', '{}')")
            db.commit()
        with tracer.open(tmp_path / "t.duckdb") as store:
            assert store.load(path).loaded == 1
        assert list((tmp_path / "tmp").iterdir()) == []
    finally:
        tempfile.tempdir = None


def test_tui_takes_the_memory_limit_too(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "t.duckdb"
    with tracer.open(db) as store:
        store.load(small_log(tmp_path / "a.jsonl"))
    code, _, err = run(capsys, "tui", "--db", str(db), "--memory-limit", "lots")
    assert code != 0 and "--memory-limit 'lots'" in err and "Traceback" not in err
