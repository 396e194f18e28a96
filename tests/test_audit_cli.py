"""``tracer keygen / seal / verify / prove``, run in-process as an auditor runs them."""

from __future__ import annotations

import base64
import hashlib
import json
import re
import shutil
from pathlib import Path

import duckdb
import pytest
import rfc8785
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from samples import BANK
from test_audit_merkle import consistent, mth, root_from_path
from test_audit_note import independent_open

from tracer.cli import main

LINES = BANK.read_text().splitlines(keepends=True)
SIZE = 300


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    capsys.readouterr()  # what earlier set-up commands printed
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="module")
def sealed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store of the bank's first 300 events, sealed; tests copy what they alter."""
    root = tmp_path_factory.mktemp("sealed")
    log = root / "bank.jsonl"
    log.write_text("".join(LINES[:SIZE]))
    db = root / "bank.duckdb"
    assert main(["load", str(log), "--db", str(db), "--quiet"]) == 0
    assert main(["keygen", "--name", "audit.example/bank", "--out", str(root / "auditor.key")]) == 0
    code = main(["seal", "--key", str(root / "auditor.key"), "--out", str(root / "bank.seal"),
                 "--origin", "audit.example/bank", "--db", str(db)])  # fmt: skip
    assert code == 0
    return root


def copy(sealed: Path, tmp_path: Path) -> Path:
    for f in sealed.iterdir():
        shutil.copy(f, tmp_path / f.name)
    return tmp_path


def independent_leaves(db: Path) -> list[bytes]:
    """The leaves by the definition, with the rfc8785 package (no tracer code)."""
    con = duckdb.connect(str(db), read_only=True)
    rows = con.execute(
        """SELECT position, event_id, stream, version, type,
                  strftime(timezone('UTC', time), '%Y-%m-%dT%H:%M:%S.%fZ'), data::VARCHAR,
                  meta::VARCHAR FROM events ORDER BY position"""
    ).fetchall()
    con.close()
    keys = ("position", "event_id", "stream", "version", "type", "time", "data", "meta")
    out = []
    for row in rows:
        record = dict(zip(keys, row, strict=True))
        for k in ("data", "meta"):
            record[k] = None if record[k] is None else json.loads(record[k])
        out.append(rfc8785.dumps(record))
    return out


def test_keygen_writes_a_secret_key_and_a_verifier_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, "keygen", "--name", "audit.example/x", "--out", str(tmp_path / "k"))
    assert code == 0
    public = (tmp_path / "k.pub").read_text().strip()
    assert re.fullmatch(r"audit\.example/x\+[0-9a-f]{8}\+[A-Za-z0-9+/]{44}", public)
    assert public in out
    assert (tmp_path / "k").read_text().startswith("PRIVATE+KEY+audit.example/x+")
    assert (tmp_path / "k").stat().st_mode & 0o777 == 0o600
    code, _, err = run(capsys, "keygen", "--name", "audit.example/x", "--out", str(tmp_path / "k"))
    assert code == 2 and "exists" in err


def test_the_seal_is_a_checkpoint_an_independent_implementation_accepts(sealed: Path) -> None:
    note = (sealed / "bank.seal").read_text()
    text = independent_open(note, (sealed / "auditor.key.pub").read_text().strip())
    origin, size, root_b64, end = text.split("\n")
    assert (origin, size, end) == ("audit.example/bank", str(SIZE), "")
    assert base64.b64decode(root_b64) == mth(independent_leaves(sealed / "bank.duckdb"))


def test_verify_passes_on_the_sealed_store_and_its_source(
    sealed: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(
        capsys, "verify", str(sealed / "bank.seal"), "--db", str(sealed / "bank.duckdb")
    )
    assert code == 0 and "verified" in out and "authentic" in out
    key = str(sealed / "auditor.key.pub")
    args = ["verify", str(sealed / "bank.seal"), "--source", str(sealed / "bank.jsonl")]
    code, out, _ = run(capsys, *args, "--key", key, "--json")
    doc = json.loads(out)
    assert code == 0 and doc["ok"] and doc["size"] == SIZE and doc["key"].startswith("audit.")


def tamper_store(db: Path, how: str, p: int) -> None:
    con = duckdb.connect(str(db))
    if how == "changed":
        con.execute(
            "UPDATE events SET data = json_merge_patch(data, '{\"amount\": 1}') WHERE position = ?",
            [p],
        )
    elif how == "missing":
        con.execute("DELETE FROM events WHERE position = ?", [p])
    elif how == "missing-renumbered":
        con.execute("DELETE FROM events WHERE position = ?", [p])
        con.execute("UPDATE events SET position = position - 1 WHERE position > ?", [p])
    elif how == "inserted":
        con.execute("UPDATE events SET position = position + 1 WHERE position >= ?", [p])
        con.execute(
            "INSERT INTO events SELECT * REPLACE (? AS position, event_id || '-forged' AS event_id) "
            "FROM events WHERE position = ?",
            [p, p + 1],
        )
    elif how == "reordered":
        con.execute(
            "UPDATE events SET position = CASE position WHEN ? THEN ? ELSE ? END "
            "WHERE position IN (?, ?)",
            [p, p + 1, p, p, p + 1],
        )
    con.close()


@pytest.mark.parametrize(
    "how", ["changed", "missing", "missing-renumbered", "inserted", "reordered"]
)
@pytest.mark.parametrize("p", [1, 150, SIZE - 1])
def test_a_single_altered_event_in_the_store_is_named(
    sealed: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], how: str, p: int
) -> None:
    work = copy(sealed, tmp_path)
    tamper_store(work / "bank.duckdb", how, p)
    code, out, _ = run(capsys, "verify", str(work / "bank.seal"), "--db", str(work / "bank.duckdb"))
    assert code == 1
    assert f"position {p} {how.split('-')[0]}" in out, out


def write_lines(path: Path, lines: list[str]) -> Path:
    path.write_text("".join(lines))
    return path


@settings(
    max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    p=st.integers(min_value=1, max_value=SIZE - 1),
    how=st.sampled_from(["changed", "missing", "reordered"]),
)
def test_a_single_altered_line_of_the_source_is_named(
    sealed: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], p: int, how: str
) -> None:
    lines = LINES[:SIZE]
    if how == "changed":
        event = json.loads(lines[p - 1])
        event["meta"] = {**event.get("meta", {}), "user": "mallory"}
        lines = [*lines[: p - 1], json.dumps(event) + "\n", *lines[p:]]
    elif how == "missing":
        lines = [*lines[: p - 1], *lines[p:]]
    else:
        lines = [*lines[: p - 1], lines[p], lines[p - 1], *lines[p + 1 :]]
    source = write_lines(tmp_path / f"export-{how}-{p}.jsonl", lines)
    code, out, _ = run(capsys, "verify", str(sealed / "bank.seal"), "--source", str(source))
    assert code == 1
    assert f"{source}:{p}: position {p} {how}" in out, out


def test_a_log_that_only_grew_still_verifies(
    sealed: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    work = copy(sealed, tmp_path)
    more = write_lines(tmp_path / "more.jsonl", LINES[SIZE : SIZE + 25])
    assert main(["load", str(more), "--db", str(work / "bank.duckdb"), "--quiet"]) == 0
    code, out, _ = run(capsys, "verify", str(work / "bank.seal"), "--db", str(work / "bank.duckdb"))
    assert code == 0 and "25 events were added since" in out
    grown = write_lines(tmp_path / "grown.jsonl", LINES[: SIZE + 25])
    code, _, _ = run(capsys, "verify", str(work / "bank.seal"), "--source", str(grown))
    assert code == 0


def test_a_tampered_seal_or_a_wrong_key_fails(
    sealed: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    work = copy(sealed, tmp_path)
    db = str(work / "bank.duckdb")
    note = (work / "bank.seal").read_text()
    (work / "bank.seal").write_text(note.replace(f"\n{SIZE}\n", f"\n{SIZE - 1}\n"))
    code, _, err = run(capsys, "verify", str(work / "bank.seal"), "--db", db)
    assert code == 1 and "does not verify" in err and "Traceback" not in err
    (work / "bank.seal").write_text(note)
    assert main(["keygen", "--name", "someone.else", "--out", str(work / "other.key")]) == 0
    code, _, err = run(
        capsys, "verify", str(work / "bank.seal"), "--db", db, "--key", str(work / "other.key.pub")
    )
    assert code == 1 and "not signed by someone.else" in err


def test_altered_hashes_beside_the_seal_are_detected(
    sealed: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    work = copy(sealed, tmp_path)
    side = work / "bank.seal.leaves"
    raw = bytearray(side.read_bytes())
    raw[-40] ^= 1  # inside the last leaf hash
    side.write_bytes(bytes(raw))
    db = str(work / "bank.duckdb")
    code, out, _ = run(capsys, "verify", str(work / "bank.seal"), "--db", db)
    assert code == 0 and "does not match the signed root" in out  # the store is fine
    tamper_store(work / "bank.duckdb", "changed", 10)
    code, out, _ = run(capsys, "verify", str(work / "bank.seal"), "--db", db)
    assert code == 1 and "cannot be named" in out
    code, _, err = run(capsys, "prove", "10", "--seal", str(work / "bank.seal"), "--json")
    assert code == 1 and "were altered" in err


def test_inclusion_proofs_verify_independently(
    sealed: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    leaves = independent_leaves(sealed / "bank.duckdb")
    root = mth(leaves)
    for position in (1, 2, 150, SIZE):
        code, out, _ = run(
            capsys, "prove", str(position), "--seal", str(sealed / "bank.seal"), "--json"
        )
        assert code == 0
        doc = json.loads(out)
        assert set(doc) == {"leaf_index", "tree_size", "leaf_hash", "path", "root"}
        assert doc["leaf_index"] == position - 1 and doc["tree_size"] == SIZE
        leaf_hash = hashlib.sha256(b"\x00" + leaves[position - 1]).digest()
        assert doc["leaf_hash"] == leaf_hash.hex() and doc["root"] == root.hex()
        path = [bytes.fromhex(x) for x in doc["path"]]
        assert root_from_path(position - 1, SIZE, leaf_hash, path) == root
    code, _, err = run(capsys, "prove", str(SIZE + 1), "--seal", str(sealed / "bank.seal"))
    assert code == 1 and "not in the seal" in err


def test_consistency_proofs_between_two_seals(
    sealed: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    work = copy(sealed, tmp_path)
    db = str(work / "bank.duckdb")
    more = write_lines(tmp_path / "more.jsonl", LINES[SIZE : SIZE + 77])
    assert main(["load", str(more), "--db", db, "--quiet"]) == 0
    key = str(work / "auditor.key")
    assert main(["seal", "--key", key, "--out", str(work / "later.seal"), "--db", db]) == 0
    code, out, _ = run(
        capsys,
        "prove",
        "--from",
        str(work / "bank.seal"),
        "--to",
        str(work / "later.seal"),
        "--json",
    )
    assert code == 0
    doc = json.loads(out)
    assert (doc["old_size"], doc["new_size"]) == (SIZE, SIZE + 77)
    leaves = independent_leaves(work / "bank.duckdb")
    path = [bytes.fromhex(x) for x in doc["path"]]
    assert consistent(SIZE, SIZE + 77, mth(leaves[:SIZE]), mth(leaves), path)
    # A log that was rewritten does not extend the old one.
    tamper_store(work / "bank.duckdb", "changed", 42)
    assert main(["seal", "--key", key, "--out", str(work / "forged.seal"), "--db", db]) == 0
    code, _, err = run(
        capsys, "prove", "--from", str(work / "bank.seal"), "--to", str(work / "forged.seal")
    )
    assert code == 1 and "does not extend" in err and "position 42" in err


def test_bad_input_is_one_line_with_exit_code_2(
    sealed: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(
        capsys, "verify", str(tmp_path / "nope.seal"), "--db", str(sealed / "bank.duckdb")
    )
    assert code == 2 and len(err.strip().splitlines()) == 1
    (tmp_path / "bad.key").write_text("PRIVATE+KEY+x+00000000+AAAA\n")
    code, _, err = run(
        capsys,
        "seal",
        "--key",
        str(tmp_path / "bad.key"),
        "--out",
        str(tmp_path / "s"),
        "--db",
        str(sealed / "bank.duckdb"),
    )
    assert code == 2 and "signer key" in err and "Traceback" not in err
    code, _, err = run(capsys, "prove", "--seal", str(sealed / "bank.seal"))
    assert code == 2


def test_several_processes_hash_a_store_file_as_one_does(
    sealed: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import tracer
    from tracer.audit.parallel import serial_leaves, store_leaves

    with tracer.open(sealed / "bank.duckdb", read_only=True) as store:
        one = serial_leaves(store.cursor())
        assert store_leaves(store, workers=2, min_events=0) == one
        assert store_leaves(store, 123, workers=3, min_events=0) == one[: 123 * 32]
    with tracer.open(copy(sealed, tmp_path) / "bank.duckdb") as store:  # held for writing
        assert store_leaves(store, workers=2, min_events=0) == one
    db = str(sealed / "bank.duckdb")
    code, out, _ = run(capsys, "verify", str(sealed / "bank.seal"), "--db", db, "--jobs", "2")
    assert code == 0 and "verified" in out
