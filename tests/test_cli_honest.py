"""Honest failure: a load that loads nothing says so and fails; ``--db`` must be a tracer store;
a failed load leaves no store behind; ``info`` and ``rejected`` report per load."""

from __future__ import annotations

import json
import sqlite3
from contextlib import closing
from pathlib import Path

import duckdb
import pytest

import tracer
from tracer.cli import main
from tracer.errors import TracerError

SAMPLES = Path(__file__).resolve().parent.parent / "sample_logs"


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def bad_versions(tmp_path: Path) -> Path:
    rows = [{"stream": "s", "type": "T", "version": v, "data": {}} for v in ("abc", "def")]
    return jsonl(tmp_path / "bad.jsonl", rows)


def good(tmp_path: Path) -> Path:
    rows = [{"stream": "s", "type": "T", "version": v, "data": {}} for v in (1, 2)]
    return jsonl(tmp_path / "good.jsonl", rows)


def left_behind(db: Path) -> list[str]:
    return [p.name for p in (db, Path(f"{db}.wal")) if p.exists()]


# -- every row rejected ------------------------------------------------------------------------
def test_a_load_that_rejects_every_row_exits_1_with_reasons_and_a_fix(tmp_path, capsys):
    db = tmp_path / "t.duckdb"
    code, out, err = run(capsys, "load", str(bad_versions(tmp_path)), "--db", str(db))
    assert code == 1
    assert "0 loaded, 2 rejected, 0 duplicates of 2 rows read" in out
    assert "version is not an integer" in out  # the top reason
    assert 'hint: version is read from version (first value: "abc")' in out
    assert "every row was rejected (2 of 2); nothing was loaded" in err
    assert left_behind(db) == []  # and no empty store


def test_the_fix_names_a_close_column_for_a_field_the_rows_lack(tmp_path, capsys):
    rows = [{"stream": None, "type": "T", "stream_name": f"acc-{i}"} for i in range(3)]
    source = jsonl(tmp_path / "s.jsonl", rows)
    code, out, _ = run(capsys, "load", str(source), "--db", str(tmp_path / "t.duckdb"))
    assert code == 1
    assert "missing stream" in out
    assert "try --map stream=stream_name" in out


def test_a_misnamed_field_names_the_map_that_would_work(tmp_path, capsys):
    source = jsonl(tmp_path / "m.jsonl", [{"strem": "a", "typ": "T", "data": {}}])
    db = tmp_path / "t.duckdb"
    code, out, err = run(capsys, "load", str(source), "--db", str(db))
    assert code == 2 and out == ""
    assert "no column for stream and type" in err
    assert "--map stream=strem --map type=typ" in err
    assert left_behind(db) == []


def test_every_row_rejected_json_says_failed_with_hints(tmp_path, capsys):
    db = tmp_path / "t.duckdb"
    code, out, _ = run(capsys, "load", str(bad_versions(tmp_path)), "--db", str(db), "--json")
    doc = json.loads(out)
    assert code == 1
    assert (doc["loaded"], doc["rejected"], doc["failed"]) == (0, 2, True)
    assert doc["hints"] and "--map version=" in doc["hints"][0]
    assert left_behind(db) == []


def test_partial_rejection_keeps_exit_0_and_the_report(tmp_path, capsys):
    rows = [{"stream": "s", "type": "T", "version": v} for v in (1, "two", 3)]
    db = tmp_path / "t.duckdb"
    code, out, err = run(capsys, "load", str(jsonl(tmp_path / "p.jsonl", rows)), "--db", str(db))
    assert code == 0, err
    assert "2 loaded, 1 rejected" in out and "tracer rejected --load 1" in out
    assert db.exists()


def test_every_row_rejected_into_an_existing_store_keeps_it(tmp_path, capsys):
    db = tmp_path / "t.duckdb"
    assert run(capsys, "load", str(good(tmp_path)), "--db", str(db), "-q")[0] == 0
    code, _, _ = run(capsys, "load", str(bad_versions(tmp_path)), "--db", str(db), "-q")
    assert code == 1
    info = json.loads(run(capsys, "info", "--db", str(db), "--json")[1])
    assert (info["events"], info["loads"], info["rejected"]) == (2, 2, 2)


# -- no store left behind ------------------------------------------------------------------------
@pytest.mark.parametrize(
    "args",
    [
        ["missing.jsonl"],  # bad source
        ["GOOD", "--map", "stream=nope"],  # mapping error
        ["BAD", "--strict"],  # everything rejected with --strict
        ["BAD"],  # every row rejected
    ],
)
def test_a_load_that_fails_leaves_no_new_store(tmp_path, capsys, args):
    sources = {"GOOD": str(good(tmp_path)), "BAD": str(bad_versions(tmp_path))}
    db = tmp_path / "new.duckdb"
    args = [sources.get(a, str(tmp_path / a) if a.endswith(".jsonl") else a) for a in args]
    code, _, err = run(capsys, "load", *args, "--db", str(db))
    assert code != 0
    assert "Traceback" not in err
    assert left_behind(db) == []


def test_a_failed_load_leaves_an_existing_store_as_it_was(tmp_path, capsys):
    db = tmp_path / "t.duckdb"
    assert run(capsys, "load", str(good(tmp_path)), "--db", str(db), "-q")[0] == 0
    assert run(capsys, "load", str(tmp_path / "missing.jsonl"), "--db", str(db))[0] == 2
    assert json.loads(run(capsys, "info", "--db", str(db), "--json")[1])["events"] == 2


# -- --db must be a tracer store -------------------------------------------------------------------
def _jsonl(path: Path) -> Path:
    path.write_bytes((SAMPLES / "bank.jsonl").read_bytes()[:2000])
    return path


def _text(path: Path) -> Path:
    path.write_text("just some notes\n")
    return path


def _sqlite(path: Path) -> Path:
    with closing(sqlite3.connect(path)) as con:
        con.execute("CREATE TABLE stored_events (x)")
        con.commit()
    return path


def _duckdb(path: Path) -> Path:
    with closing(duckdb.connect(str(path))) as con:
        con.execute("CREATE TABLE orders (id INTEGER)")
    return path


def _empty(path: Path) -> Path:
    path.write_bytes(b"")
    return path


FOREIGN = [
    ("copy.jsonl", _jsonl, "is not a tracer store (a text file)"),
    ("notes.txt", _text, "is not a tracer store (a text file)"),
    ("events.sqlite", _sqlite, "is not a tracer store (a SQLite database)"),
    ("shop.duckdb", _duckdb, "is a DuckDB database but not a tracer store (its tables: orders)"),
    ("empty.duckdb", _empty, "is not a tracer store (an empty file)"),
]


@pytest.mark.parametrize(("name", "make", "message"), FOREIGN)
@pytest.mark.parametrize(
    "command",
    [
        ["load", str(SAMPLES / "bank.jsonl")],
        ["info"],
        ["streams"],
        ["events"],
        ["rejected"],
        ["state", "account-7"],
        ["history", "account-7", "balance"],
        ["find", "--where", "True"],
    ],
)
def test_db_that_is_not_a_tracer_store_is_refused_in_one_line(
    tmp_path, capsys, name, make, message, command
):
    path = make(tmp_path / name)
    before = path.read_bytes()
    code, out, err = run(capsys, *command, "--db", str(path))
    assert code == 2
    assert err.startswith("error: ") and message in err and err.count("\n") == 1
    assert "loaded" not in out
    assert path.read_bytes() == before  # not written to
    assert not Path(f"{path}.wal").exists()


@pytest.mark.parametrize(("name", "make", "message"), FOREIGN)
def test_the_api_refuses_a_file_that_is_not_a_store(tmp_path, name, make, message):
    path = make(tmp_path / name)
    with pytest.raises(TracerError, match="not a tracer store"):
        tracer.open(path)


# -- info and rejected per load ----------------------------------------------------------------------
def test_after_a_failed_load_and_a_good_reload_info_shows_the_latest_load(tmp_path, capsys):
    db = str(tmp_path / "t.duckdb")
    assert run(capsys, "load", str(good(tmp_path)), "--db", db, "-q")[0] == 0
    assert run(capsys, "load", str(bad_versions(tmp_path)), "--db", db, "-q")[0] == 1
    rows = [{"stream": "s", "type": "T", "version": v, "data": {}} for v in (3, 4)]
    assert run(capsys, "load", str(jsonl(tmp_path / "fixed.jsonl", rows)), "--db", db)[0] == 0

    info = json.loads(run(capsys, "info", "--db", db, "--json")[1])
    assert info["rejected"] == 0  # the current accounting, not the failed load's
    assert info["rejected_all_loads"] == 2
    assert info["last_load"]["load_id"] == 3
    assert (info["last_load"]["loaded"], info["last_load"]["rejected"]) == (2, 0)
    history = [(d["load_id"], d["loaded"], d["rejected"]) for d in info["recent_loads"]]
    assert history == [(1, 2, 0), (2, 0, 2), (3, 2, 0)]
    code, out, _ = run(capsys, "info", "--db", db)
    assert "last load #3" in out and "2 loaded, 0 rejected" in out

    code, out, _ = run(capsys, "rejected", "--db", db)
    assert code == 0
    assert "no row was rejected by load #3" in out
    assert "2 more rejected by other loads: --all shows them" in out
    assert json.loads(run(capsys, "rejected", "--db", db, "--json")[1]) == []
    every = json.loads(run(capsys, "rejected", "--db", db, "--all", "--json")[1])
    assert [(r["load_id"], r["source_row"]) for r in every] == [(2, 1), (2, 2)]
    by_load = json.loads(run(capsys, "rejected", "--db", db, "--load", "2", "--json")[1])
    assert len(by_load) == 2
