"""The evidence report: one self-contained HTML file, opened in a real browser with no network."""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from samples import BANK, ROOT

import tracer
from tracer.replay import Replay
from tracer.report import write_report
from tracer.report.evidence import mask

ACCOUNT = "sample_logs/projections/bank.py:Account"
AT = "time:2026-03-31T23:59:59Z"
INVARIANT = "state['balance'] >= 0"
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


@pytest.fixture(scope="module")
def bank(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[tracer.Store, Replay]]:
    cwd = Path.cwd()
    os.chdir(ROOT)  # load by the checkout-relative path, as the README does
    try:
        store = tracer.open(tmp_path_factory.mktemp("report") / "bank.duckdb")
        store.load(str(BANK.relative_to(ROOT)))
    finally:
        os.chdir(cwd)
    yield store, Replay(store, str(ROOT / ACCOUNT))
    store.close()


def chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        if IN_CI:
            pytest.fail("CI needs chromium (scripts/services.sh installs it)", pytrace=False)
        pytest.skip("chromium is not installed")
    return found


def offline(argv: list[str]) -> list[str]:
    """Run without a network: in a new network namespace where we may, else with DNS refused."""
    blocked = [*argv, "--host-resolver-rules=MAP * ~NOTFOUND"]
    can_unshare = (
        shutil.which("unshare")
        and subprocess.run(["unshare", "-n", "true"], capture_output=True, check=False).returncode
        == 0
    )
    return ["unshare", "-n", *blocked] if can_unshare else blocked


def test_the_html_report_opens_offline_with_its_figures_drawn(
    bank: tuple[tracer.Store, Replay], tmp_path: Path
) -> None:
    store, replay = bank
    out = tmp_path / "report.html"
    write_report(store, replay, at=AT, invariants=[INVARIANT], out=out)
    text = out.read_text()
    # nothing is loaded from elsewhere: no external scripts, styles, images or frames
    assert not re.findall(r"<(?:script|link|img|iframe)[^>]*\b(?:src|href)\s*=", text)

    browser = [chromium(), "--headless", "--no-sandbox", "--disable-gpu"]
    dom = subprocess.run(
        offline([*browser, "--virtual-time-budget=10000", "--dump-dom", out.as_uri()]),
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    ).stdout
    figures = re.findall(
        r'<section class="figure" data-figure="([\w-]+)">(.*?)</section>', dom, re.S
    )
    assert [name for name, _ in figures] == ["violation-1", "event-rate"]
    for name, body in figures:
        assert 'class="main-svg"' in body, f"plotly did not draw {name}"
    assert "History of balance" in dom
    assert "account-7" in dom and "Greta Lindqvist" in dom
    assert hashlib.sha256(BANK.read_bytes()).hexdigest() in dom

    shot = tmp_path / "report.png"
    subprocess.run(
        offline([*browser, "--window-size=1200,2400", f"--screenshot={shot}", out.as_uri()]),
        capture_output=True,
        timeout=120,
        check=True,
    )
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 50_000


def test_the_json_report_holds_what_an_auditor_must_defend(
    bank: tuple[tracer.Store, Replay], tmp_path: Path
) -> None:
    store, replay = bank
    out = tmp_path / "report.json"
    write_report(
        store,
        replay,
        at=AT,
        invariants=[INVARIANT],
        out=out,
        format="json",
        command=["audit", "--at", AT, "--projection", ACCOUNT, "--invariant", INVARIANT],
    )
    document = json.loads(out.read_text())
    source = document["provenance"]["sources"][0]["files"][0]
    assert source["source"] == "sample_logs/bank.jsonl"
    assert source["sha256"] == hashlib.sha256(BANK.read_bytes()).hexdigest()
    assert document["accounting"][0] | {"top_reasons": []} == {
        "load_id": 1,
        "source": "sample_logs/bank.jsonl",
        "rows_read": 1929,
        "loaded": 1929,
        "rejected": 0,
        "duplicates": 0,
        "top_reasons": [],
    }
    assert document["provenance"]["projection"]["fingerprint"] == replay.projection.fingerprint()
    reproduce = document["provenance"]["reproduce"]
    assert reproduce[0].startswith("tracer load sample_logs/bank.jsonl --db ")
    assert reproduce[-1].startswith("tracer audit --at time:2026-03-31T23:59:59Z")
    # the point: every event up to the end of March
    last = store.sql(f"SELECT max(position) FROM events WHERE time <= '{AT[5:]}'").iloc[0, 0]
    assert document["point"]["position"] == last
    assert len(document["states"]) == 26
    by_stream = {s["stream"]: s for s in document["states"]}
    assert by_stream["account-7"]["state"] == replay.state("account-7", at=AT).state
    [violation] = document["violations"]
    assert (violation["stream"], violation["position"], violation["until"]) == (
        "account-7",
        798,
        916,
    )


def test_a_report_never_shows_a_connection_password() -> None:
    assert mask("postgresql://ann:s3cret@db.internal:5432/shop") == (
        "postgresql://ann:***@db.internal:5432/shop"
    )
    assert mask("nats://127.0.0.1:4222") == "nats://127.0.0.1:4222"
    assert mask("sample_logs/bank.jsonl") == "sample_logs/bank.jsonl"


def test_tracer_audit_writes_the_report_and_exits_1_on_a_violation(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from tracer.cli import main

    db, seal = str(tmp_path / "bank.duckdb"), str(ROOT / "sample_logs" / "audit" / "bank.seal")
    assert main(["load", str(BANK), "--db", db, "-q"]) == 0
    capsys.readouterr()
    out = tmp_path / "evidence.json"
    argv = ["audit", "--db", db, "--at", AT, "-p", str(ROOT / ACCOUNT), "--seal", seal]
    code = main([*argv, "-i", INVARIANT, "--out", str(out), "--format", "json"])
    assert code == 1
    assert "1 invariant violation, seal verified" in capsys.readouterr().out
    document = json.loads(out.read_text())
    assert document["seal"]["verified"] is True and document["seal"]["size"] == 1929
    assert [f["finding"] for f in document["findings"]] == ["retried_write"]  # 797 and 798
    assert {s["type"] for s in document["shapes"]} >= {"Withdrawn", "Deposited"}

    html = tmp_path / "evidence.html"
    assert main([*argv, "--out", str(html)]) == 0  # no invariant given: nothing violated
    text = html.read_text()
    assert re.search(r"data-figure=.shapes.", text) and "seal verified" not in text
    assert "<span class='ok'>verified</span>" in text

    with tracer.open(db) as store:  # an auditor's worst case: one amount changed afterwards
        store.con.execute("UPDATE events SET data = '{\"amount\": 41}' WHERE position = 798")
    assert main([*argv, "--out", str(out), "--format", "json"]) == 1
    seal_part = json.loads(out.read_text())["seal"]
    assert seal_part["verified"] is False and "798" in seal_part["result"]
