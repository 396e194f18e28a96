"""The replay commands, run in-process on the bank sample: JSON shapes and exit codes."""

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
    path = tmp_path_factory.mktemp("cli") / "bank.duckdb"
    with tracer.open(path) as store:
        store.load(str(ROOT / "sample_logs" / "bank.jsonl"))
    return str(path)


def run(capsys, *args: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def run_json(capsys, *args: str):
    code, out, err = run(capsys, *args, "--json")
    assert code in (0, 1), err
    return json.loads(out)


def test_state_prints_stream_position_version_time_state(capsys, db):
    doc = run_json(capsys, "state", "account-7", "--at", "version:33", "--db", db, "-p", ACCOUNT)
    assert list(doc) == ["stream", "position", "version", "time", "state"]
    assert (doc["stream"], doc["position"], doc["version"]) == ("account-7", 798, 33)
    assert doc["time"] == "2026-03-04T10:17:10.285000+00:00"
    assert doc["state"]["balance"] == -132


def test_states_prints_one_object_per_stream(capsys, db):
    doc = run_json(capsys, "states", "--at", "pos:798", "--db", db, "-p", ACCOUNT)
    assert len(doc) == 26
    assert all(list(d) == ["stream", "position", "version", "time", "state"] for d in doc)
    assert {d["stream"]: d["state"]["balance"] for d in doc}["account-7"] == -132


def test_states_without_a_projection_merges_data(capsys, db):
    doc = run_json(capsys, "states", "--at", "pos:50", "--db", db)
    assert doc[0]["state"]["currency"] == "EUR"


def test_find_prints_the_match_or_null(capsys, db):
    doc = run_json(capsys, "find", "--where", "state['balance'] < 0", "--db", db, "-p", ACCOUNT)
    assert {k: doc[k] for k in ("position", "stream", "version", "type")} == {
        "position": 798,
        "stream": "account-7",
        "version": 33,
        "type": "Withdrawn",
    }
    assert doc["state"]["balance"] == -132
    none = run_json(
        capsys, "find", "--where", "state['balance'] < -1000", "--db", db, "-p", ACCOUNT
    )
    assert none is None
    back = run_json(
        capsys,
        "find",
        "--where",
        "state['balance'] < 0",
        "--from",
        "end",
        "--backward",
        "--stream",
        "account-7",
        "--db",
        db,
        "-p",
        ACCOUNT,
    )
    assert back["position"] == 798


def test_diff_prints_path_op_old_new(capsys, db):
    doc = run_json(
        capsys,
        "diff",
        "account-7",
        "--from",
        "pos:797",
        "--to",
        "pos:798",
        "--db",
        db,
        "-p",
        ACCOUNT,
    )
    assert doc[0] == {"path": "balance", "op": "change", "old": 278, "new": -132}
    event = run_json(capsys, "diff", "--event", "798", "--db", db, "-p", ACCOUNT)
    assert event == [
        {"path": "balance", "op": "change", "old": 278, "new": -132},
        {"path": "withdrawals", "op": "change", "old": 9, "new": 10},
    ]
    across = run_json(
        capsys, "diff", "--from", "pos:797", "--to", "pos:798", "--db", db, "-p", ACCOUNT
    )
    assert [row["stream"] for row in across] == ["account-7"]


def test_history_and_blame(capsys, db):
    rows = run_json(capsys, "history", "account-7", "balance", "--db", db, "-p", ACCOUNT)
    assert [r["value"] for r in rows if r["position"] in (797, 798, 916)] == [278, -132, 208]
    blame = run_json(capsys, "blame", "account-7", "--at", "pos:798", "--db", db, "-p", ACCOUNT)
    balance = next(r for r in blame if r["path"] == "balance")
    assert {"path", "position", "event_id", "type", "time"} <= set(balance)
    assert balance["event_id"] == "8cc82b16-d5cd-4e36-bcb8-7a2d524217ff"


def test_whatif_shows_the_balance_without_an_event(capsys, db):
    doc = run_json(capsys, "whatif", "account-7", "--skip", "798", "--db", db, "-p", ACCOUNT)
    balance = next(d for d in doc["differences"] if d["path"] == "balance")
    assert (balance["real"], balance["whatif"]) == (3251, 3661)
    edited = run_json(capsys, "whatif", "--edit", '798={"amount": 10}', "--db", db, "-p", ACCOUNT)
    assert edited["streams"][0]["whatif"]["balance"] == 3251 + 400


def test_check_exits_1_on_violations_and_0_when_all_hold(capsys, db):
    code, out, _ = run(
        capsys, "check", "--invariant", "state['balance'] >= 0", "--db", db, "-p", ACCOUNT, "--json"
    )
    assert code == 1
    assert [(r["stream"], r["position"]) for r in json.loads(out)] == [("account-7", 798)]
    code, out, _ = run(capsys, "check", "-i", "state['balance'] > -1000", "--db", db, "-p", ACCOUNT)
    assert code == 0 and "hold" in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["state", "account-7", "--at", "pos:99999"], "log ends at 1929"),
        (["state", "account-7", "--at", "someday"], "bad point"),
        (["find", "--where", "state['balance'] <"], "does not parse"),
        (["state", "account-99"], "no stream 'account-99'"),
        (["whatif", "--edit", "798=not json"], "POSITION=JSON"),
        # A misspelt field must not pass as "no match" or "holds".
        (["find", "--where", "state['balanse'] < 0"], "KeyError: 'balanse'"),
        (["check", "-i", "state['balanse'] >= 0"], "could not be evaluated on any of the 1,929"),
    ],
)
def test_bad_input_is_one_line_and_exit_code_2(capsys, db, args, message):
    code, _, err = run(capsys, *args, "--db", db, "-p", ACCOUNT)
    assert code == 2
    assert message in err
    assert "Traceback" not in err


def test_a_failing_handler_is_named_with_its_event(capsys, db, tmp_path):
    broken = tmp_path / "broken.py"
    broken.write_text(
        "from tracer import Projection, on\n"
        "class Broken(Projection):\n"
        "    @on('Withdrawn')\n"
        "    def withdrawn(self, state, event):\n"
        "        return event.data['nope']\n"
    )
    code, _, err = run(capsys, "state", "account-7", "--db", db, "-p", f"{broken}:Broken")
    assert code == 2
    assert "projection Broken: handler withdrawn failed on event at position" in err
    assert "(stream account-7, type Withdrawn): KeyError: 'nope'" in " ".join(err.split())


def test_human_output_is_readable(capsys, db):
    code, out, _ = run(capsys, "history", "account-7", "balance", "--db", db, "-p", ACCOUNT)
    assert code == 0 and "-132" in out and "798" in out
    code, out, _ = run(capsys, "state", "account-7", "--db", db, "-p", ACCOUNT)
    assert code == 0 and "Greta Lindqvist" in out


@pytest.mark.parametrize("width", [80, 120])
def test_tables_fit_the_terminal_without_cutting_names_or_numbers(capsys, db, monkeypatch, width):
    from tracer.cli.common import console

    monkeypatch.setattr(console, "width", width)
    code, out, _ = run(capsys, "history", "account-7", "balance", "--db", db, "-p", ACCOUNT)
    lines = out.splitlines()
    assert code == 0 and all(len(line.rstrip()) <= width for line in lines)
    overdraft = next(line for line in lines if line.split()[:1] == ["798"])
    # the row reads whole: position, time, type, the new balance and the change
    assert "Withdrawn" in overdraft and "-132" in overdraft and "-410" in overdraft
    code, out, _ = run(capsys, "blame", "account-7", "--db", db, "-p", ACCOUNT)
    assert code == 0 and '"Greta' in out and "TransferRecei" in out


def test_an_unknown_projection_name_lists_the_ones_the_file_has(capsys, db):
    spec = ACCOUNT.rpartition(":")[0] + ":Acount"
    code, _, err = run(capsys, "state", "account-7", "--db", db, "-p", spec)
    assert code == 2 and "no 'Acount'" in err and "(projections: Account, Balances)" in err


def test_json_output_takes_sets_in_a_state(capsys, db, tmp_path):
    tags = tmp_path / "tags.py"
    tags.write_text(
        "from tracer import Projection, on\n"
        "class Channels(Projection):\n"
        "    def initial(self):\n"
        "        return {'channels': set()}\n"
        "    @on('Withdrawn')\n"
        "    def withdrawn(self, state, event):\n"
        "        state['channels'].add(event.data['channel'])\n"
    )
    doc = run_json(capsys, "state", "account-7", "--db", db, "-p", f"{tags}:Channels")
    assert doc["state"]["channels"] == sorted(doc["state"]["channels"], key=repr)
    assert doc["state"]["channels"]
