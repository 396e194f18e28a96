"""``tracer load / info / streams / events / rejected``, run in-process as a user runs them."""

from __future__ import annotations

import gzip
import json
import sqlite3
from contextlib import closing
from pathlib import Path

import pytest

from tracer.cli import main

SAMPLES = Path(__file__).resolve().parent.parent / "sample_logs"


@pytest.fixture
def log(tmp_path: Path) -> Path:
    path = tmp_path / "bank.jsonl"
    rows = [
        {
            "stream": "account-1",
            "type": "Opened",
            "time": "2026-01-01T10:00:00Z",
            "data": {"owner": "ann"},
        },
        {
            "stream": "account-1",
            "type": "Deposited",
            "time": "2026-01-01T10:01:00Z",
            "data": {"amount": 500},
        },
        {
            "stream": "account-2",
            "type": "Opened",
            "time": "2026-01-01T10:02:00Z",
            "data": {"owner": "bob"},
        },
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows) + "{broken\n")
    return path


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_load_prints_a_table_and_the_accounting_line(
    tmp_path: Path, log: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(capsys, "load", str(log), "--db", str(tmp_path / "t.duckdb"))
    assert code == 0, err
    assert "rows read" in out and "jsonl" in out
    assert "3 loaded, 1 rejected, 0 duplicates of 4 rows read" in out
    assert "invalid JSON" in out  # the reasons, and where
    assert err == ""


def test_load_json_is_one_document(
    tmp_path: Path, log: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = str(tmp_path / "t.duckdb")
    code, out, _ = run(capsys, "load", str(log), "--db", db, "--json")
    assert code == 0
    doc = json.loads(out)
    assert (doc["loaded"], doc["rejected"], doc["duplicates"], doc["rows_read"]) == (3, 1, 0, 4)
    assert doc["reasons"] == [{"reason": "invalid JSON", "rows": 1}]
    code, out, _ = run(capsys, "load", str(log), "--db", db, "--json")
    again = json.loads(out)
    assert (again["loaded"], again["rejected"], again["duplicates"]) == (0, 1, 3)


def test_load_samples_with_options(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = str(tmp_path / "t.duckdb")
    code, out, _ = run(
        capsys,
        "load",
        str(SAMPLES / "shop.csv"),
        "--db",
        db,
        "--map",
        "stream=order_id",
        "--map",
        "version=seq",
        "--json",
    )
    assert code == 0 and json.loads(out)["loaded"] == 4518
    code, out, _ = run(
        capsys,
        "load",
        str(SAMPLES / "eventstore.sqlite"),
        "--table",
        "stored_events",
        "--db",
        db,
        "--json",
    )
    assert code == 0 and json.loads(out)["loaded"] == 286
    code, out, _ = run(capsys, "info", "--db", db, "--json")
    assert json.loads(out)["events"] == 4518 + 286


def test_info_streams_events_rejected(
    tmp_path: Path, log: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = str(tmp_path / "t.duckdb")
    assert run(capsys, "load", str(log), "--db", db, "-q")[0] == 0

    code, out, _ = run(capsys, "info", "--db", db, "--json")
    info = json.loads(out)
    assert code == 0 and (info["events"], info["streams"], info["rejected"]) == (3, 2, 1)
    code, out, _ = run(capsys, "info", "--db", db)
    assert code == 0 and "events" in out and "Deposited" in out

    code, out, _ = run(capsys, "streams", "--db", db, "--json")
    streams = json.loads(out)
    assert [(s["stream"], s["events"], s["last_version"]) for s in streams] == [
        ("account-1", 2, 2),
        ("account-2", 1, 1),
    ]
    code, out, _ = run(capsys, "streams", "--db", db)
    assert code == 0 and "account-1" in out and "account-2" in out

    code, out, _ = run(capsys, "events", "account-1", "--db", db, "--json")
    events = json.loads(out)
    assert [(e["position"], e["type"]) for e in events] == [(1, "Opened"), (2, "Deposited")]
    assert events[1]["data"] == {"amount": 500}  # decoded, not a string
    code, out, _ = run(capsys, "events", "--db", db, "--where", "data.amount > 100", "--json")
    assert [e["position"] for e in json.loads(out)] == [2]
    code, out, _ = run(capsys, "events", "--db", db, "-t", "Opened", "--from", "2", "--json")
    assert [e["position"] for e in json.loads(out)] == [3]
    code, out, _ = run(
        capsys, "events", "--db", db, "--since", "2026-01-01T10:01:00Z", "--limit", "1", "--json"
    )
    doc = json.loads(out)  # with --limit: the rows, the total and whether they were cut
    assert ([e["position"] for e in doc["rows"]], doc["total"], doc["truncated"]) == ([2], 2, True)
    code, out, _ = run(capsys, "events", "--db", db)
    assert code == 0 and "Deposited" in out and "account-2" in out

    code, out, _ = run(capsys, "rejected", "--db", db, "--json")
    rejected = json.loads(out)
    assert [(r["source_row"], r["raw"], r["reason"]) for r in rejected] == [
        (4, "{broken", "invalid JSON")
    ]
    code, out, _ = run(capsys, "rejected", "--db", db)
    assert code == 0 and "invalid JSON" in out


def test_tracer_db_environment_variable(
    tmp_path: Path, log: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    db = tmp_path / "env.duckdb"
    monkeypatch.setenv("TRACER_DB", str(db))
    assert run(capsys, "load", str(log), "--json")[0] == 0
    assert db.exists()
    assert json.loads(run(capsys, "info", "--json")[1])["events"] == 3
    other = tmp_path / "other.duckdb"  # --db wins over the variable
    assert run(capsys, "load", str(log), "--db", str(other), "--json")[0] == 0
    assert json.loads(run(capsys, "info", "--db", str(other), "--json")[1])["events"] == 3


def test_default_store_in_the_working_directory(
    tmp_path: Path, log: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("TRACER_DB", raising=False)
    monkeypatch.chdir(tmp_path)
    assert run(capsys, "load", str(log), "-q")[0] == 0
    assert (tmp_path / "tracer.duckdb").exists()


def test_strict_fails_and_loads_nothing(
    tmp_path: Path, log: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = str(tmp_path / "t.duckdb")
    code, out, err = run(capsys, "load", str(log), "--db", db, "--strict")
    assert code != 0 and out == ""
    assert "--strict" in err and "nothing was loaded" in err and "Traceback" not in err
    assert not Path(db).exists() and not Path(f"{db}.wal").exists()  # no store left behind


def _not_sqlite(tmp_path: Path) -> str:
    path = tmp_path / "data.sqlite"
    path.write_bytes(b"this is not a database, just bytes" * 10)
    return str(path)


def _empty_dir(tmp_path: Path) -> str:
    folder = tmp_path / "empty"
    folder.mkdir()
    (folder / "notes.txt").write_text("hello")
    return str(folder)


def _two_tables(tmp_path: Path) -> str:
    path = tmp_path / "two.db"
    with closing(sqlite3.connect(path)) as db:
        db.execute("CREATE TABLE a (stream, type)")
        db.execute("CREATE TABLE b (stream, type)")
    return str(path)


def _corrupt(name: str, blob: bytes):
    def make(tmp_path: Path) -> str:
        path = tmp_path / name
        path.write_bytes(blob)
        return str(path)

    return make


@pytest.mark.parametrize(
    ("make", "extra", "message"),
    [
        (lambda p: str(p / "missing.jsonl"), [], "no such file"),
        (lambda p: str(p / "missing" / "dir" / "*.jsonl"), [], "no files match"),
        (lambda p: str(p / "*.nothing"), [], "no files match"),
        (_empty_dir, [], "no event files"),
        (_not_sqlite, [], "is not a SQLite database"),
        (_two_tables, [], "choose one with --table"),
        (_two_tables, ["--table", "c"], "no table 'c'"),
        (lambda p: str(p / "x.txt"), [], "no such file"),
        (_corrupt("a.jsonl.gz", b"not gzip at all"), [], "cannot load"),
        (
            _corrupt("a.jsonl.gz", gzip.compress(b'{"stream": "s", "type": "T"}\n' * 50)[:40]),
            [],
            "cannot load",
        ),
        (_corrupt("a.jsonl.zst", b"not zstd"), [], "cannot load"),
        (_corrupt("a.json.gz", b"not gzip"), [], "cannot read"),
        (_corrupt("a.csv.gz", b"not gzip"), [], "cannot read"),
        (_corrupt("a.parquet", b"PAR1 but no more"), [], "cannot read"),
        (None, ["--format", "xml"], "unknown format 'xml'"),
        (None, ["--tz", "Mars/Olympus"], "unknown time zone 'Mars/Olympus'"),
        (None, ["--map", "stream"], "malformed --map"),
    ],
)
def test_errors_are_one_line_exit_2(
    tmp_path: Path,
    log: Path,
    capsys: pytest.CaptureFixture[str],
    make,
    extra: list[str],
    message: str,
) -> None:
    source = make(tmp_path) if make else str(log)
    code, out, err = run(capsys, "load", source, "--db", str(tmp_path / "t.duckdb"), *extra)
    assert code == 2
    assert err.startswith("error: ") and message in err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert out == ""


def test_unknown_suffix_asks_for_a_format(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "events.txt"
    path.write_text('{"stream": "s", "type": "T"}\n')
    code, _, err = run(capsys, "load", str(path), "--db", str(tmp_path / "t.duckdb"))
    assert code == 2 and "unknown format" in err and "--format" in err
    code, out, _ = run(
        capsys, "load", str(path), "--format", "jsonl", "--db", str(tmp_path / "t.duckdb"), "--json"
    )
    assert code == 0 and json.loads(out)["loaded"] == 1


def test_commands_on_a_missing_store(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for command in ("info", "streams", "events", "rejected"):
        code, _, err = run(capsys, command, "--db", str(tmp_path / "none.duckdb"))
        assert code == 2 and "no store at" in err and err.count("\n") == 1
    assert not (tmp_path / "none.duckdb").exists()
