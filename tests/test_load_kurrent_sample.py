"""sample_logs/kurrent_all.jsonl: a KurrentDB ``$all`` dump that loads with no ``--map``, and
the story sample_logs/README.md tells about it (a shipment appended twice)."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import pytest

import tracer
from tracer.cli import main
from tracer.replay import Replay

SAMPLES = Path(__file__).resolve().parent.parent / "sample_logs"
KURRENT = SAMPLES / "kurrent_all.jsonl"
STOCK = f"{SAMPLES / 'projections' / 'inventory.py'}:Stock"


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_the_kurrent_sample_loads_with_no_map_and_tells_its_story(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = str(tmp_path / "k.duckdb")
    code, out, err = run(capsys, "load", str(KURRENT), "--db", db)
    assert code == 0, err
    assert "2,506 loaded, 0 rejected, 0 duplicates, 865 system of 3,371 rows read" in out
    assert "warning" not in out  # the reversed transactions are put back in prepare order
    code, out, err = run(
        capsys, "check", "--db", db, "--invariant", "state['on_hand'] >= 0", "--projection", STOCK,
        "--json",
    )  # fmt: skip
    assert code == 1, err
    (violation,) = json.loads(out)
    assert (violation["stream"], violation["position"], violation["version"]) == (
        "inventory-1024",
        1418,
        18,
    )
    assert violation["state"]["on_hand"] == -1
    assert violation["until"] == 1431
    with tracer.open(db) as store:
        shipped = store.con.execute(
            """SELECT version, event_id, correlation_id, data->>'order_id' FROM events
               WHERE stream = 'inventory-1024' AND version IN (17, 18) ORDER BY version"""
        ).fetchall()
        assert shipped[0][1] != shipped[1][1]  # a new event id ...
        assert shipped[0][2:] == shipped[1][2:] == ("9338aaf7-5681-4b2d-8fa2-32b7da38081d", "5230")
        match = Replay(store, STOCK).find("state['on_hand'] < 0")
        assert match is not None and match.position == 1418


def test_the_kurrent_sample_as_written(tmp_path: Path) -> None:
    """The facts sample_logs/README.md states, read with the standard library."""
    assert KURRENT.stat().st_size < 2_000_000
    lines = [json.loads(line) for line in KURRENT.read_text(encoding="utf-8").splitlines()]
    assert len(lines) == 3371
    system = [r for r in lines if r["streamId"].startswith("$") or r["eventType"].startswith("$")]
    assert len(system) == 865
    assert {r["streamId"] for r in system} >= {"$$$settings", "$stats-127.0.0.1:2113", "$ce-order"}
    assert all(len(r["created"].split(".")[1]) == 8 for r in lines)  # 7 digits and 'Z'
    commits = [r["position"]["commit"] for r in lines]
    assert commits == sorted(commits)
    assert min(r["eventNumber"] for r in lines) == 0
    reversed_ = [
        (a["position"]["commit"], a["streamId"])
        for a, b in itertools.pairwise(lines)
        if a["position"]["commit"] == b["position"]["commit"]
        and a["position"]["prepare"] > b["position"]["prepare"]
    ]
    assert len({c for c, _ in reversed_}) == 3
