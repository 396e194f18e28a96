"""Exact values: whatever Python's ``json`` writes either loads and reads back exactly, or is
rejected with a reason; nothing that loads makes a later read fail.

The law is checked with Hypothesis against JSON Lines, an ``eventsourcing``-style SQLite
``stored_events`` table (state bytes, plain, zlib or gzip) and CSV with a JSON payload column,
then read back through the API (``store.event``, ``store.events``), ``tracer events --json`` and a
projection's replay.
"""

from __future__ import annotations

import csv
import gzip
import json
import math
import sqlite3
import tempfile
import zlib
from collections.abc import Callable
from contextlib import closing
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import tracer
from tracer.cli import main
from tracer.jsonvalues import decode_json, encode_json

BIG = 1180591620717411303424  # 2**70: beyond 64 bits


# -- what Python's json can write ------------------------------------------------------------
def _edges() -> st.SearchStrategy[Any]:
    return st.sampled_from(
        [
            2**63 - 1,
            2**63,
            2**64 - 1,
            2**64,
            -(2**63),
            -(2**63) - 1,
            BIG,
            -BIG,
            10**40,
            -0.0,
            1e308,
            -1e308,
            5e-324,
            2.2250738585072014e-308,
            0.1,
            float("nan"),
            float("inf"),
            float("-inf"),
            "",
            "NaN",
            "Infinity",
            "\ud800",
            "\udfff",
            "\ud83d\ude00",
            "\x00",
            '"\\',
        ]
    )


SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(alphabet=st.characters(exclude_categories=()), max_size=12),
    _edges(),
)
KEYS = st.one_of(
    st.text(alphabet=st.characters(exclude_categories=()), max_size=8),
    st.sampled_from(["", "NaN", "a", "$type", "\ud800"]),
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(KEYS, inner, max_size=4),
    max_leaves=12,
)
PAYLOADS = st.dictionaries(KEYS, VALUES, max_size=5)  # an event's data: a JSON object


def _nested(depth: int) -> dict[str, Any]:
    value: Any = BIG
    for level in range(depth):
        value = {"k": value} if level % 2 else [value]
    return {"deep": value}


def _strict_equal(a: Any, b: Any) -> bool:
    """Equal, and of the same types: ``1`` is not ``1.0`` nor ``True``, ``-0.0`` is not ``0.0``.
    (A loop, not recursion: values nest deeper than Python's recursion limit allows.)"""
    pairs = [(a, b)]
    while pairs:
        x, y = pairs.pop()
        if type(x) is not type(y):
            return False
        if isinstance(x, float):
            if math.isnan(x) != math.isnan(y):
                return False
            if not math.isnan(x) and (x != y or math.copysign(1, x) != math.copysign(1, y)):
                return False
        elif isinstance(x, dict):
            if x.keys() != y.keys():
                return False
            pairs.extend((x[k], y[k]) for k in x)
        elif isinstance(x, list):
            if len(x) != len(y):
                return False
            pairs.extend(zip(x, y, strict=True))
        elif x != y:
            return False
    return True


def _leaves(value: Any) -> list[Any]:
    """Every scalar and key in ``value``."""
    found, todo = [], [value]
    while todo:
        item = todo.pop()
        if isinstance(item, dict):
            found.extend(item)
            todo.extend(item.values())
        elif isinstance(item, list):
            todo.extend(item)
        else:
            found.append(item)
    return found


def _lone_surrogates(value: Any) -> bool:
    return any(
        isinstance(x, str) and any("\ud800" <= ch <= "\udfff" for ch in x) for x in _leaves(value)
    )


def _unrepresentable(value: Any) -> bool:
    """What JSON has no value for: NaN, infinities, lone surrogates (in keys or strings)."""
    non_finite = any(isinstance(x, float) and not math.isfinite(x) for x in _leaves(value))
    return non_finite or _lone_surrogates(value)


# -- writing the sources ---------------------------------------------------------------------
def _envelope(number: int, text: str) -> str:
    return f'{{"stream": "s-{number}", "type": "T", "version": 1, "data": {text}}}'


def _write_jsonl(folder: Path, texts: list[str]) -> Path:
    path = folder / "events.jsonl"
    path.write_text("".join(_envelope(i, t) + "\n" for i, t in enumerate(texts, start=1)))
    return path


def _write_jsonl_meta(folder: Path, texts: list[str]) -> Path:
    """Each value as the metadata, beside the same small payload."""
    path = folder / "events.jsonl"
    lines = [
        f'{{"stream": "s-{i}", "type": "T", "version": 1, "data": {{"n": 1}}, "metadata": {t}}}'
        for i, t in enumerate(texts, start=1)
    ]
    path.write_text("".join(line + "\n" for line in lines))
    return path


def _write_jsonl_flat(folder: Path, texts: list[str]) -> Path:
    """Flat records: each value's keys beside the envelope's (``x_`` before each, so that
    none names a field); the record without the envelope is the payload."""
    path = folder / "events.jsonl"
    lines = []
    for i, text in enumerate(texts, start=1):
        members = text[1:-1].strip()  # (the object's members, as Python's json wrote them)
        head = f'{{"stream": "s-{i}", "type": "T", "version": 1'
        lines.append(head + (", " + members if members else "") + "}")
    path.write_text("".join(line + "\n" for line in lines))
    return path


def _write_sqlite(folder: Path, texts: list[str]) -> Path:
    """``stored_events`` as the eventsourcing library writes it; states plain, zlib or gzip."""
    path = folder / "app.sqlite"
    with closing(sqlite3.connect(path)) as db:
        db.execute(
            "CREATE TABLE stored_events (originator_id TEXT, originator_version INTEGER, "
            "topic TEXT, state BLOB, PRIMARY KEY (originator_id, originator_version))"
        )
        packers: list[Callable[[bytes], bytes]] = [bytes, zlib.compress, gzip.compress]
        db.executemany(
            "INSERT INTO stored_events VALUES (?, ?, ?, ?)",
            [
                (f"s-{i}", 1, "app:Thing.T", packers[i % 3](t.encode()))
                for i, t in enumerate(texts, start=1)
            ],
        )
        db.commit()
    return path


def _write_csv(folder: Path, texts: list[str]) -> Path:
    path = folder / "events.csv"
    with path.open("w", newline="") as handle:
        out = csv.writer(handle)
        out.writerow(["stream", "type", "version", "data"])
        out.writerows([f"s-{i}", "T", 1, t] for i, t in enumerate(texts, start=1))
    return path


WRITERS = {
    "jsonl": _write_jsonl,
    "jsonl-meta": _write_jsonl_meta,
    "jsonl-flat": _write_jsonl_flat,
    "sqlite": _write_sqlite,
    "csv": _write_csv,
}


def _texts(kind: str, values: list[dict[str, Any]], ensure_ascii: bool = True) -> list[str]:
    # (Python's json writes a lone surrogate as is without ensure_ascii: no UTF-8 file holds it)
    if not ensure_ascii:
        values = [v for v in values if not _lone_surrogates(v)]
    if kind == "jsonl-flat":
        values = [{f"x_{k}": v for k, v in value.items()} for value in values]
    return [json.dumps(v, ensure_ascii=ensure_ascii) for v in values]


# -- the law -----------------------------------------------------------------------------------
def _check_round_trip(kind: str, texts: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    """Every row is loaded and reads back exactly, or is rejected with a reason; rows with no
    value JSON lacks always load; the store stays readable (API, CLI) afterwards."""
    expected = {f"s-{i}": json.loads(t) for i, t in enumerate(texts, start=1)}
    with tempfile.TemporaryDirectory() as folder:
        source = WRITERS[kind](Path(folder), texts)
        db = str(Path(folder) / "t.duckdb")
        code = main(["load", str(source), "--db", db, "--json"])
        out, err = capsys.readouterr()
        report = json.loads(out)
        assert report["rows_read"] == len(texts), err
        assert report["loaded"] + report["rejected"] + report["duplicates"] == len(texts)
        assert code == (1 if report["loaded"] == 0 and report["rejected"] else 0), err

        with tracer.open(db) as store:
            rejected = store.rejected()
            loaded = store.events()
            for row in rejected.itertuples():
                assert row.reason, f"no reason for row {row.source_row}"
            rejected_streams = {
                f"s-{n - (1 if kind == 'csv' else 0)}" for n in rejected["source_row"]
            }
            for stream, value in expected.items():
                if not _unrepresentable(value):
                    assert stream not in rejected_streams, (stream, value, rejected.to_dict())
            assert set(loaded["stream"]) | rejected_streams == set(expected)
            for position, stream, text in zip(
                loaded["position"], loaded["stream"], loaded["data"], strict=True
            ):
                value = expected[stream]
                assert not _unrepresentable(value)
                event = store.event(int(position))
                if kind == "jsonl-meta":
                    assert _strict_equal(event["meta"], value), (stream, event["meta"], value)
                    value = {"n": 1}
                assert _strict_equal(json.loads(text), value), (stream, text, value)
                assert _strict_equal(event["data"], value)

        assert main(["events", "--json", "--db", db]) == 0
        printed = json.loads(capsys.readouterr().out)
        for record in printed:
            value = expected[record["stream"]]
            if kind == "jsonl-meta":
                assert _strict_equal(record["meta"], value)
                value = {"n": 1}
            assert _strict_equal(record["data"], value)


@pytest.mark.parametrize("kind", sorted(WRITERS))
@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(values=st.lists(PAYLOADS, min_size=1, max_size=12), ensure_ascii=st.booleans())
def test_every_json_value_loads_exactly_or_is_rejected_with_a_reason(
    kind: str, values: list[dict[str, Any]], ensure_ascii: bool, capsys: pytest.CaptureFixture[str]
) -> None:
    texts = _texts(kind, values, ensure_ascii)
    # (one row that always loads: a load that rejects every row fails as a whole, see
    # test_load_bad_input; here each row is judged beside others)
    _check_round_trip(kind, [*texts, '{"sentinel": 1}'], capsys)


@pytest.mark.parametrize("kind", sorted(WRITERS))
def test_deep_nesting_and_edge_numbers_read_back_exactly(
    kind: str, capsys: pytest.CaptureFixture[str]
) -> None:
    values = [
        _nested(900),
        {"big": BIG, "neg": -BIG, "u64": 2**64 - 1, "over": 2**64, "i64": -(2**63) - 1},
        {"floats": [-0.0, 1e308, 5e-324, 0.1, 1.0], "": {"": []}},
        {"huge": 10**400, "text": "NaN, Infinity and 1e400 in a string"},
    ]
    _check_round_trip(kind, _texts(kind, values), capsys)


# -- user-visible behaviour ------------------------------------------------------------------
def _run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


PROJECTION = """
from tracer import Projection, on

class Account(Projection):
    def initial(self):
        return {"balance": 0, "kinds": []}

    @on("Deposited")
    def deposited(self, state, event):
        state["balance"] += event.data["amount"]
        state["kinds"].append(type(event.data["amount"]).__name__)
"""


def _bank(tmp_path: Path) -> tuple[Path, str]:
    """Deposits of 2**70, NaN, Infinity and 5 into one account, as Python's json writes them."""
    rows = [
        {"stream": "acct-1", "type": "Deposited", "version": v, "data": {"amount": a}}
        for v, a in enumerate([BIG, float("nan"), float("inf"), 5], start=1)
    ]
    path = tmp_path / "bank.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    projection = tmp_path / "bank.py"
    projection.write_text(PROJECTION)
    return path, f"{projection}:Account"


def test_nan_lines_are_rejected_with_a_reason_and_the_rest_loads(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path, _ = _bank(tmp_path)
    db = str(tmp_path / "t.duckdb")
    code, out, err = _run(capsys, "load", str(path), "--db", db)
    assert code == 0, err
    assert "2 loaded, 2 rejected" in out
    assert "data holds NaN, which JSON cannot represent" in out
    assert "data holds Infinity, which JSON cannot represent" in out
    code, out, _ = _run(capsys, "rejected", "--json", "--db", db)
    reasons = {r["source_row"]: r["reason"] for r in json.loads(out)}
    assert reasons == {
        2: "data holds NaN, which JSON cannot represent",
        3: "data holds Infinity, which JSON cannot represent",
    }


def test_big_integers_stay_exact_in_events_states_diffs_and_find(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path, projection = _bank(tmp_path)
    db = str(tmp_path / "t.duckdb")
    assert _run(capsys, "load", str(path), "--db", db)[0] == 0

    code, out, _ = _run(capsys, "events", "--json", "--db", db)
    assert code == 0 and '"amount": 1180591620717411303424' in out
    assert [e["data"]["amount"] for e in json.loads(out)] == [BIG, 5]

    code, out, _ = _run(capsys, "state", "acct-1", "--projection", projection, "--db", db, "--json")
    assert code == 0
    state = json.loads(out)["state"]
    assert state == {"balance": BIG + 5, "kinds": ["int", "int"]}  # the projection saw ints

    code, out, _ = _run(capsys, "diff", "--event", "1", "--projection", projection, "--db", db)
    assert code == 0 and "1180591620717411303424" in out
    code, out, _ = _run(
        capsys, "diff", "--event", "1", "--projection", projection, "--db", db, "--json"
    )
    assert code == 0 and '"new": 1180591620717411303424' in out

    where = f"state['balance'] == {BIG + 5}"
    code, out, _ = _run(capsys, "find", "--where", where, "--projection", projection, "--db", db)
    assert code == 0 and "1180591620717411303429" in out

    edit = f'1={{"amount": {BIG + 1}}}'
    code, out, _ = _run(
        capsys, "whatif", "acct-1", "--edit", edit, "--projection", projection, "--db", db, "--json"
    )
    assert code == 0
    assert json.loads(out)["differences"][0]["whatif"] == BIG + 6

    with tracer.open(db) as store:
        assert store.event(1)["data"] == {"amount": BIG}
        assert isinstance(store.event(1)["data"]["amount"], int)
        assert decode_json(store.events()["data"][0]) == {"amount": BIG}


def test_a_store_holding_nan_from_an_older_load_stays_readable(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A store written before NaN was rejected (or by hand): every read still works."""
    path, projection = _bank(tmp_path)
    db = str(tmp_path / "t.duckdb")
    assert _run(capsys, "load", str(path), "--db", db)[0] == 0
    with tracer.open(db) as store:
        store.con.execute(
            """INSERT INTO events SELECT 3, 'e3', 'acct-1', 'acct', 3, 'Deposited', NULL,
                   '{"amount": NaN}', '{"note": Infinity}', NULL, NULL, 'hand', 3, 1"""
        )
        event = store.event(3)
        assert math.isnan(event["data"]["amount"]) and event["meta"] == {"note": math.inf}
    code, out, err = _run(capsys, "events", "--json", "--db", db)
    assert code == 0, err
    assert len(json.loads(out)) == 3
    for command in (
        ["state", "acct-1"],
        ["find", "--where", "state['balance'] > 10"],
        ["check", "--invariant", "state['balance'] >= 0"],
        ["history", "acct-1", "balance"],
    ):
        code, out, err = _run(capsys, *command, "--projection", projection, "--db", db)
        assert code in (0, 1) and "error" not in err, (command, err)


def test_checkpoints_keep_big_integers_and_non_finite_floats(tmp_path: Path) -> None:
    """States saved at checkpoints come back as they were (not as floats, not as null)."""
    rows = [
        {"stream": f"s-{i % 3}", "type": "T", "version": i // 3 + 1, "data": {"n": i}}
        for i in range(60)
    ]
    path = tmp_path / "log.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    projection = tmp_path / "p.py"
    projection.write_text(
        "from tracer import Projection, on\n\n"
        "class P(Projection):\n"
        "    def initial(self):\n"
        "        return {'big': 2**70, 'low': float('inf'), 'never': float('inf'), 'sum': 0}\n\n"
        "    @on('T')\n"
        "    def t(self, state, event):\n"
        "        state['big'] += event.data['n']\n"
        "        state['low'] = min(state['low'], float(event.data['n']))\n"
        "        state['sum'] += event.data['n']\n"
    )
    from tracer.replay import Replay

    store = tracer.open(tmp_path / "t.duckdb")
    store.load(path)
    replay = Replay(store, f"{projection}:P", every=10)
    assert replay.build_checkpoints() == 60
    assert replay.checkpoints.reason is None  # (the states are JSON: checkpoints were saved)
    saved, _ = replay.checkpoints.load_one("s-2", 40)
    assert saved == {"big": 2**70 + 260, "low": 2.0, "never": math.inf, "sum": 260}
    assert isinstance(saved["big"], int)
    untouched = Replay(store, f"{projection}:P", checkpoints=False)
    for stream in ("s-0", "s-1", "s-2"):
        for at in ("pos:1", "pos:45", "end"):
            assert replay.state(stream, at=at).state == untouched.state(stream, at=at).state
    store.close()


# -- encrypted and compressed payloads -----------------------------------------------------------
def _stored_events(path: Path, states: list[bytes]) -> None:
    with closing(sqlite3.connect(path)) as db:
        db.execute(
            "CREATE TABLE stored_events (originator_id TEXT, originator_version INTEGER, "
            "topic TEXT, state BLOB, PRIMARY KEY (originator_id, originator_version))"
        )
        db.executemany(
            "INSERT INTO stored_events VALUES (?, ?, ?, ?)",
            [("acct-1", v, "bank:Account.Deposited", s) for v, s in enumerate(states, start=1)],
        )
        db.commit()


ENCRYPTED = "data looks encrypted (binary, not JSON/zlib/gzip): decrypt before loading"


def test_random_bytes_are_rejected_as_encrypted(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import os

    path = tmp_path / "app.sqlite"
    plain = json.dumps({"amount": 5}).encode()
    _stored_events(path, [plain, os.urandom(64), b"\x78\x9c" + os.urandom(40)])
    db = str(tmp_path / "t.duckdb")
    code, out, err = _run(capsys, "load", str(path), "--db", db, "--json")
    assert code == 0, err
    report = json.loads(out)
    assert (report["loaded"], report["rejected"]) == (1, 2)
    with tracer.open(db) as store:
        assert set(store.rejected()["reason"]) == {ENCRYPTED}


def test_real_eventsourcing_cipher_rows_are_rejected_as_encrypted(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cryptography = pytest.importorskip("eventsourcing.cryptography")
    from eventsourcing.compressor import ZlibCompressor
    from eventsourcing.utils import Environment

    key = cryptography.AESCipher.create_key(16)
    cipher = cryptography.AESCipher(Environment(env={"CIPHER_KEY": key}))
    state = json.dumps({"amount": BIG}).encode()
    path = tmp_path / "app.sqlite"
    _stored_events(
        path, [cipher.encrypt(state), cipher.encrypt(ZlibCompressor().compress(state)), state]
    )
    db = str(tmp_path / "t.duckdb")
    code, out, err = _run(capsys, "load", str(path), "--db", db)
    assert code == 0, err
    assert "1 loaded, 2 rejected" in out and "data looks encrypted" in out
    with tracer.open(db) as store:
        assert store.rejected()["reason"].tolist() == [ENCRYPTED, ENCRYPTED]
        assert store.event(1)["data"] == {"amount": BIG}


def test_gzip_and_zlib_states_are_decoded(tmp_path: Path) -> None:
    states = [{"amount": BIG}, {"amount": 2}, {"amount": 3}]
    blobs = [json.dumps(s).encode() for s in states]
    path = tmp_path / "app.sqlite"
    _stored_events(path, [gzip.compress(blobs[0]), zlib.compress(blobs[1]), blobs[2]])
    store = tracer.open()
    report = store.load(path)
    assert (report.loaded, report.rejected) == (3, 0)
    assert [store.event(p)["data"] for p in (1, 2, 3)] == states


def test_real_eventsourcing_application_with_gzip(tmp_path: Path) -> None:
    """The library's own application, its states gzip-compressed (``COMPRESSOR_TOPIC=gzip``),
    holding a big integer, a NaN and an infinity."""
    application = pytest.importorskip("eventsourcing.application")
    domain = pytest.importorskip("eventsourcing.domain")

    class Account(domain.Aggregate):
        @domain.event("Opened")
        def __init__(self, owner: str) -> None:
            self.owner = owner

        @domain.event("Deposited")
        def deposit(self, amount: float) -> None:
            pass

    path = tmp_path / "app.sqlite"
    env = {
        "PERSISTENCE_MODULE": "eventsourcing.sqlite",
        "SQLITE_DBNAME": str(path),
        "COMPRESSOR_TOPIC": "gzip",
    }
    app = application.Application(env=env)
    account = Account("ann")
    for amount in (BIG, float("nan"), float("-inf"), -0.0):
        account.deposit(amount)
    app.save(account)
    app.close()

    store = tracer.open()
    report = store.load(path)
    assert (report.loaded, report.rejected) == (3, 2)
    assert dict(report.reasons) == {
        "data holds NaN, which JSON cannot represent": 1,
        "data holds -Infinity, which JSON cannot represent": 1,
    }
    amounts = [e["amount"] for e in map(decode_json, store.events()["data"]) if "amount" in e]
    assert amounts == [BIG, -0.0] and math.copysign(1, amounts[1]) == -1


# -- the shared decoder and encoder ----------------------------------------------------------------
@given(value=VALUES)
def test_encode_then_decode_is_exact(value: Any) -> None:
    assume(not _lone_surrogates(value))
    text = encode_json(value, exact=True)
    assert _strict_equal(decode_json(text), value)
    assert _strict_equal(decode_json(text.decode()), value)


def test_decode_json_reads_what_orjson_would_get_wrong() -> None:
    assert decode_json(b'{"n": 1180591620717411303424}') == {"n": BIG}
    assert decode_json("[-9223372036854775809, 18446744073709551616]") == [-(2**63) - 1, 2**64]
    assert math.isnan(decode_json('{"n": NaN}')["n"])
    assert decode_json("[Infinity, -Infinity]") == [math.inf, -math.inf]
    assert decode_json("[" + "7" * 5000 + "]") == [int("7" * 4000) * 10**1000 + int("7" * 1000)]
    with pytest.raises(ValueError):
        decode_json("{broken")
    deep = {"big": BIG, "deep": _nested(600)}  # (deeper than orjson writes, a big int first)
    assert decode_json(encode_json(deep)) == deep
    assert decode_json(encode_json(deep, option=orjson.OPT_INDENT_2)) == deep
    assert encode_json({"n": float("nan")}) == b'{"n":null}'  # orjson's choice, unless exact
    assert encode_json({"n": float("nan")}, exact=True) == b'{"n":NaN}'
