"""``tracer sql``: DuckDB SQL over the store, read-only, every row in JSON unless --limit."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from samples import BANK

import tracer
from tracer.cli import main


@pytest.fixture(scope="module")
def bank_db(tmp_path_factory: pytest.TempPathFactory) -> str:
    path = tmp_path_factory.mktemp("sql") / "bank.duckdb"
    with tracer.open(path) as store:
        store.load(str(BANK))
    return str(path)


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_json_prints_every_row_with_payloads_as_values(
    capsys: pytest.CaptureFixture[str], bank_db: str
) -> None:
    code, out, _ = run(
        capsys,
        "sql",
        "SELECT position, data FROM events WHERE type = 'Withdrawn'",
        "--db",
        bank_db,
        "--json",
    )
    document = json.loads(out)
    assert code == 0
    assert document["total"] == len(document["rows"]) == 780
    assert "truncated" not in document
    assert document["rows"][0]["data"]["amount"] > 0  # an object, not JSON text


def test_a_limit_says_the_output_is_truncated_and_gives_the_total(
    capsys: pytest.CaptureFixture[str], bank_db: str
) -> None:
    code, out, _ = run(capsys, "sql", "SELECT * FROM events", "--db", bank_db, "--json", "-n", "5")
    document = json.loads(out)
    assert (code, len(document["rows"]), document["total"]) == (0, 5, 1929)
    assert document["truncated"] is True

    code, out, _ = run(capsys, "sql", "SELECT position FROM events", "--db", bank_db, "-n", "3")
    assert code == 0 and "3 of 1,929 rows shown" in out


def test_the_table_answers_an_aggregate(capsys: pytest.CaptureFixture[str], bank_db: str) -> None:
    code, out, _ = run(
        capsys,
        "sql",
        "SELECT type, count(*) AS n FROM events GROUP BY type ORDER BY n DESC",
        "--db",
        bank_db,
    )
    assert code == 0
    assert "Withdrawn" in out and "780" in out and "6 rows" in out


def test_it_never_changes_the_store(capsys: pytest.CaptureFixture[str], bank_db: str) -> None:
    code, _, err = run(capsys, "sql", "DELETE FROM events", "--db", bank_db)
    assert code == 2 and "read-only" in err and "Traceback" not in err
    with tracer.open(bank_db, read_only=True) as store:
        assert store.count() == 1929


def test_bad_sql_and_a_missing_store_are_one_line_errors(
    capsys: pytest.CaptureFixture[str], bank_db: str, tmp_path: Path
) -> None:
    code, _, err = run(capsys, "sql", "SELEC 1", "--db", bank_db)
    assert (
        code == 2 and err.startswith("error: query failed:") and len(err.strip().splitlines()) == 1
    )
    code, _, err = run(capsys, "sql", "SELECT 1", "--db", str(tmp_path / "none.duckdb"))
    assert code == 2 and "no store at" in err
