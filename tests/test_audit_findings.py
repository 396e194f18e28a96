"""Integrity findings (``tracer audit``): what an auditor must explain before trusting a log."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import tracer
from tracer.audit import findings
from tracer.cli import main


def event(
    eid: str, stream: str, version: int, time: str, type_: str = "Deposited", **meta: str
) -> str:
    return json.dumps(
        {"id": eid, "stream": stream, "version": version, "type": type_,
         "time": f"2026-01-01T{time}Z", "data": {"amount": 1}, "meta": meta}
    ) + "\n"  # fmt: skip


@pytest.fixture
def log(tmp_path: Path) -> Path:
    path = tmp_path / "log.jsonl"
    path.write_text(
        event("e1", "a", 1, "10:00:00")
        + event("e2", "a", 2, "10:01:00")
        + event("e3", "a", 4, "10:02:00")  # gap: 3 missing
        + event("e4", "b", 1, "09:59:00")  # 180 s back
        + event("e5", "b", 2, "10:03:00", "Withdrawn", causation_id="req-1")
        + event("e6", "b", 3, "10:03:05", "Withdrawn", causation_id="req-1")  # retried
        + event("e1", "c", 1, "10:04:00")  # the id of line 1, other content
        + "{broken\n"
        + event("e7", "a", 3, "10:05:00")  # back: 3 after 4
    )
    return path


def test_findings_name_each_problem_and_where(log: Path) -> None:
    store = tracer.open()
    store.load(str(log))
    frame = findings(store)
    got = {(r["finding"], r["position"] if r["position"] == r["position"] else None)
           for r in frame.to_dict(orient="records")}  # fmt: skip
    assert ("version_gap", 3) in got
    assert ("version_back", 7) in got
    assert ("time_back", 4) in got
    assert ("retried_write", 6) in got
    kinds = list(frame["finding"])
    assert "conflicting_id" in kinds and "rejected" in kinds
    time_back = frame[frame["finding"] == "time_back"].iloc[0]
    assert time_back["seconds"] == pytest.approx(180.0)
    retried = frame[frame["finding"] == "retried_write"].iloc[0]
    assert "req-1" in retried["detail"] and "position 5" in retried["detail"]
    conflict = frame[frame["finding"] == "conflicting_id"].iloc[0]
    assert f"{log}:7" in conflict["detail"]
    assert set(findings(store, "b")["finding"]) == {"time_back", "retried_write"}


def test_streams_numbered_from_0_are_no_gap_but_one_missing_its_first_event_is(
    tmp_path: Path,
) -> None:
    path = tmp_path / "kurrent.jsonl"  # KurrentDB numbers each stream's events from 0
    path.write_text(
        event("k1", "a", 0, "10:00:00")
        + event("k2", "a", 1, "10:01:00")
        + event("k3", "b", 0, "10:02:00")
        + event("k4", "c", 1, "10:03:00")  # c's event 0 is missing
    )
    store = tracer.open()
    store.load(str(path))
    frame = findings(store)
    gaps = frame[frame["finding"] == "version_gap"]
    assert list(gaps["stream"]) == ["c"]
    assert "starts at version 1 (the log's streams start at 0)" in gaps.iloc[0]["detail"]


def test_a_clean_log_has_no_findings(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "clean.jsonl"
    path.write_text(event("e1", "a", 1, "10:00:00") + event("e2", "a", 2, "10:01:00"))
    db = str(tmp_path / "t.duckdb")
    assert main(["load", str(path), "--db", db, "--quiet"]) == 0
    capsys.readouterr()
    assert main(["audit", "--db", db]) == 0
    assert "no integrity findings" in capsys.readouterr().out


def test_the_cli_prints_findings_as_tables_or_json(
    log: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = str(tmp_path / "t.duckdb")
    main(["load", str(log), "--db", db, "--quiet"])
    capsys.readouterr()
    assert main(["audit", "--db", db]) == 0
    out = capsys.readouterr().out
    assert "version_gap (1)" in out and "retried_write (1)" in out
    assert main(["audit", "--db", db, "--json"]) == 0
    records = json.loads(capsys.readouterr().out)
    assert {r["finding"] for r in records} >= {"version_gap", "time_back", "retried_write"}
