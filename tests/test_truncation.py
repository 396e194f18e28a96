"""No silent truncation, no silent emptiness: ``--json`` prints every row unless ``--limit`` is
given, tables say "50 of 1,929 shown", and a name that does not exist says so (did you mean)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import tracer
from tracer.cli import main

ROOT = Path(__file__).resolve().parent.parent
ACCOUNT = f"{ROOT / 'sample_logs' / 'projections' / 'bank.py'}:Account"


@pytest.fixture(scope="module")
def db(tmp_path_factory) -> str:
    folder = tmp_path_factory.mktemp("trunc")
    bad = folder / "bad.jsonl"  # 120 rejected rows, 1 loaded
    bad.write_text("{oops\n" * 120 + '{"stream": "x-1", "type": "T"}\n')
    path = folder / "bank.duckdb"
    with tracer.open(path) as store:
        store.load(str(ROOT / "sample_logs" / "bank.jsonl"), str(bad))
    return str(path)


def run(capsys, *args: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def doc(capsys, *args: str):
    code, out, err = run(capsys, *args, "--json")
    assert code == 0, err
    return json.loads(out)


def test_events_json_prints_every_row_without_limit(capsys, db):
    rows = doc(capsys, "events", "--db", db)
    assert isinstance(rows, list) and len(rows) == 1930


def test_events_json_with_a_limit_says_it_is_cut_and_the_total(capsys, db):
    page = doc(capsys, "events", "--db", db, "--limit", "10")
    assert (len(page["rows"]), page["total"], page["truncated"]) == (10, 1930, True)
    whole = doc(capsys, "events", "account-7", "--db", db, "--limit", "1000")
    assert whole["truncated"] is False and len(whole["rows"]) == whole["total"] == 70


def test_events_table_says_how_many_of_how_many(capsys, db):
    code, out, _ = run(capsys, "events", "--db", db)
    assert code == 0
    assert "Events (50 of 1,930 shown)" in out
    assert "1,880 more; use --limit 0 (or --json) for all" in out
    _, out, _ = run(capsys, "events", "--db", db, "--limit", "0")
    assert "Events (1,930)" in out and "more" not in out


def test_rejected_json_prints_every_row_and_tables_say_the_total(capsys, db):
    assert len(doc(capsys, "rejected", "--db", db)) == 120
    page = doc(capsys, "rejected", "--db", db, "--limit", "5")
    assert (len(page["rows"]), page["total"], page["truncated"]) == (5, 120, True)
    _, out, _ = run(capsys, "rejected", "--db", db)
    assert "50 of 120 shown" in out


def test_streams_json_with_a_limit(capsys, db):
    assert len(doc(capsys, "streams", "--db", db)) == 27
    page = doc(capsys, "streams", "--db", db, "--limit", "5")
    assert (len(page["rows"]), page["total"], page["truncated"]) == (5, 27, True)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["events", "account-77"], "no stream 'account-77' in the store, did you mean account-7"),
        (["events", "--type", "Withdrawen"], "no type 'Withdrawen' in the store, did you mean Withdrawn?"),
        (["events", "--where", "data.amuont > 3"], "no event has data.amuont, did you mean data.amount?"),
        (["events", "--where", "amount > 3"], "did you mean data.amount?"),
        (["state", "account-77"], "no stream 'account-77' in the store, did you mean account-7"),
        (["history", "account-7", "balanse", "-p", ACCOUNT], "no field 'balanse' in account-7's states, did you mean balance?"),
        (["state", "acount-7", "--at", "version:3"], "did you mean account-7"),
    ],
)  # fmt: skip
def test_a_name_that_does_not_exist_says_so_with_did_you_mean(capsys, db, args, message):
    code, out, err = run(capsys, *args, "--db", db)
    assert code == 2
    assert out == ""
    assert message in err and err.count("\n") == 1


def test_an_empty_answer_for_names_that_exist_is_not_an_error(capsys, db):
    code, out, err = run(capsys, "events", "account-7", "--type", "AccountClosed", "--db", db)
    assert code == 0 and err == "" and "Events (0)" in out
    assert doc(capsys, "events", "--where", "data.amount > 1000000", "--db", db) == []
