"""Exact values from PostgreSQL: the ``eventsourcing`` library's tables (state bytes, gzip
compressed or encrypted) and generic tables with ``jsonb`` and ``numeric`` columns."""

from __future__ import annotations

import math
from typing import Any

import pytest

import tracer
from tracer.jsonvalues import decode_json

pytestmark = pytest.mark.services

BIG = 1180591620717411303424  # 2**70 (as a float, exactly 2.0**70)
ENCRYPTED = "data looks encrypted (binary, not JSON/zlib/gzip): decrypt before loading"


def _bank(pg_db: str, **env: str) -> Any:
    from tests.services.es_bank import Bank

    dbname = pg_db.rsplit("/", 1)[1]
    port = pg_db.rsplit(":", 1)[1].split("/")[0]
    return Bank(
        env={
            "PERSISTENCE_MODULE": "eventsourcing.postgres",
            "POSTGRES_DBNAME": dbname,
            "POSTGRES_HOST": "127.0.0.1",
            "POSTGRES_PORT": port,
            "POSTGRES_USER": "postgres",
            "POSTGRES_PASSWORD": "unused",
            **env,
        }
    )


def test_eventsourcing_gzip_state_keeps_big_integers_and_rejects_nan(pg_db: str) -> None:
    app = _bank(pg_db, COMPRESSOR_TOPIC="gzip")
    ada = app.open_account("Ada")
    for amount in (BIG, float("nan"), float("inf"), -0.0, 5):
        app.deposit(ada, amount)
    app.close()

    store = tracer.open()
    report = store.load(pg_db, table="bank_events")
    assert (report.rows_read, report.loaded, report.rejected) == (6, 4, 2)
    assert dict(report.reasons) == {
        "data holds NaN, which JSON cannot represent": 1,
        "data holds Infinity, which JSON cannot represent": 1,
    }
    amounts = [
        decode_json(d).get("amount") for d in store.events(type="Deposited")["data"].tolist()
    ]
    assert amounts == [BIG, -0.0, 5] and isinstance(amounts[0], int)
    assert math.copysign(1, amounts[1]) == -1


def test_eventsourcing_encrypted_state_is_rejected_as_encrypted(pg_db: str) -> None:
    cryptography = pytest.importorskip("eventsourcing.cryptography")
    key = cryptography.AESCipher.create_key(16)
    app = _bank(
        pg_db,
        CIPHER_TOPIC="eventsourcing.cryptography:AESCipher",
        CIPHER_KEY=key,
        COMPRESSOR_TOPIC="eventsourcing.compressor:ZlibCompressor",
    )
    ada = app.open_account("Ada")
    app.deposit(ada, 10)
    app.close()

    store = tracer.open()
    report = store.load(pg_db, table="bank_events")
    assert (report.rows_read, report.loaded, report.rejected) == (2, 0, 2)
    assert set(store.rejected()["reason"]) == {ENCRYPTED}


def test_generic_table_jsonb_and_numeric_columns_stay_exact(pg: Any, pg_db: str) -> None:
    pg.execute(
        """CREATE TABLE ledger (id bigint PRIMARY KEY, stream text, type text, version int,
                                amount numeric, payload jsonb)"""
    )
    pg.execute(
        """INSERT INTO ledger VALUES
               (1, 'acct-1', 'Deposited', 1, 1180591620717411303425, '{"n": 1180591620717411303425}'),
               (2, 'acct-1', 'Deposited', 2, 12.50, '{"n": -9223372036854775809}'),
               (3, 'acct-1', 'Deposited', 3, 'NaN', '{"n": 1}')"""
    )
    store = tracer.open()
    report = store.load(pg_db, table="ledger")
    assert (report.rows_read, report.loaded, report.rejected) == (3, 2, 1)
    assert dict(report.reasons) == {"meta holds NaN, which JSON cannot represent": 1}
    first, second = store.event(1), store.event(2)
    odd = BIG + 1  # (no float holds it: a float would read back as BIG)
    assert first["data"] == {"n": odd} and first["meta"]["amount"] == odd
    assert second["data"] == {"n": -(2**63) - 1} and second["meta"]["amount"] == 12.5
