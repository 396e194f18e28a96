"""The bank sample's seal (sample_logs/audit/): the README's walk-through, as an auditor runs it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from samples import BANK, SAMPLES

from tracer.cli import main

SEAL = SAMPLES / "audit" / "bank.seal"
KEY = SAMPLES / "audit" / "bank.seal.pub"


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_the_committed_seal_verifies_against_the_bank_log(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, _ = run(capsys, "verify", str(SEAL), "--source", str(BANK), "--key", str(KEY))
    assert code == 0, out
    assert "the first 1,929 events reproduce the signed root" in out
    assert "tracer.example/bank-auditor" in out


def test_a_tampered_copy_fails_and_names_the_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lines = BANK.read_text().splitlines(keepends=True)
    assert '"amount":410' in lines[797]
    lines[797] = lines[797].replace('"amount":410', '"amount":41')  # hide the double withdrawal
    tampered = tmp_path / "bank.jsonl"
    tampered.write_text("".join(lines))
    code, out, _ = run(capsys, "verify", str(SEAL), "--source", str(tampered), "--key", str(KEY))
    assert code == 1
    assert f"{tampered}:798: position 798 changed" in out


def test_the_seal_proves_the_duplicate_withdrawal(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "prove", "798", "--seal", str(SEAL), "--key", str(KEY), "--json")
    assert code == 0
    doc = json.loads(out)
    assert doc["leaf_index"] == 797 and doc["tree_size"] == 1929 and len(doc["path"]) == 11
