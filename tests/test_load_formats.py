"""Every input format loads: JSON Lines, JSON arrays, CSV/TSV, Parquet, compressed, many files,
and tables of SQLite databases (the committed sample and ones written here)."""

from __future__ import annotations

import gzip
import json
import sqlite3
import zlib
from contextlib import closing
from pathlib import Path

import duckdb
import pytest
import zstandard

import tracer
from tracer.errors import SourceError

SAMPLES = Path(__file__).resolve().parent.parent / "sample_logs"

EVENTS = [
    {"id": "e1", "stream": "account-1", "version": 1, "type": "Opened", "data": {"owner": "ann"}},
    {"id": "e2", "stream": "account-1", "version": 2, "type": "Deposited", "data": {"amount": 5}},
    {"id": "e3", "stream": "account-2", "version": 1, "type": "Opened", "data": {"owner": "bob"}},
]
JSONL = "".join(json.dumps(e) + "\n" for e in EVENTS)


def loaded(store: tracer.Store) -> list[tuple]:
    return [
        tuple(r)
        for r in store.sql(
            "SELECT event_id, stream, version, type, data::VARCHAR, source_row FROM events ORDER BY position"
        ).itertuples(index=False)
    ]


EXPECTED = [
    ("e1", "account-1", 1, "Opened", '{"owner":"ann"}', 1),
    ("e2", "account-1", 2, "Deposited", '{"amount":5}', 2),
    ("e3", "account-2", 1, "Opened", '{"owner":"bob"}', 3),
]


@pytest.mark.parametrize("name", ["events.jsonl", "events.ndjson", "events.json", "events.JSONL"])
def test_json_lines_by_suffix(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    path.write_text(JSONL)
    store = tracer.open()
    report = store.load(path)
    assert (report.loaded, report.rejected, report.duplicates, report.rows_read) == (3, 0, 0, 3)
    assert report.sources[0].format == "jsonl"
    assert loaded(store) == EXPECTED


def test_json_array(tmp_path: Path) -> None:
    path = tmp_path / "events.json"
    path.write_text(json.dumps(EVENTS, indent=2))
    store = tracer.open()
    report = store.load(path)
    assert (report.loaded, report.rows_read) == (3, 3)
    assert report.sources[0].format == "json"
    assert loaded(store) == EXPECTED  # source_row: the element's index, 1-based


def test_json_objects_one_after_another(tmp_path: Path) -> None:
    """A ``.json`` file of pretty-printed objects (``jq .`` output), or a single object."""
    path = tmp_path / "events.json"
    path.write_text("".join(json.dumps(e, indent=2) + "\n" for e in EVENTS))
    store = tracer.open()
    report = store.load(path)
    assert (report.loaded, report.rejected) == (3, 0)
    assert loaded(store) == EXPECTED
    single = tmp_path / "one.json"
    single.write_text(json.dumps(EVENTS[0], indent=2))
    assert tracer.open().load(single).loaded == 1


def test_not_json(tmp_path: Path) -> None:
    path = tmp_path / "events.json"
    path.write_text("hello")
    with pytest.raises(SourceError, match="is not a JSON array of events"):
        tracer.open().load(path)


@pytest.mark.parametrize("compress", ["gzip", "zstd"])
@pytest.mark.parametrize("suffix", [".jsonl", ".json"])
def test_compressed_json(tmp_path: Path, compress: str, suffix: str) -> None:
    text = JSONL if suffix == ".jsonl" else json.dumps(EVENTS)
    raw = text.encode()
    if compress == "gzip":
        path, blob = tmp_path / f"events{suffix}.gz", gzip.compress(raw)
    else:
        path, blob = tmp_path / f"events{suffix}.zst", zstandard.ZstdCompressor().compress(raw)
    path.write_bytes(blob)
    store = tracer.open()
    assert store.load(path).loaded == 3
    assert loaded(store) == EXPECTED


def _csv(sep: str = ",") -> str:
    rows = [
        "event_id,stream,version,type,amount",
        "e1,account-1,1,Opened,",
        "e2,account-1,2,Deposited,5",
    ]
    rows.append("e3,account-2,1,Opened,")
    return "\n".join(r.replace(",", sep) for r in rows) + "\n"


@pytest.mark.parametrize(("name", "sep"), [("events.csv", ","), ("events.tsv", "\t")])
def test_csv_and_tsv(tmp_path: Path, name: str, sep: str) -> None:
    path = tmp_path / name
    path.write_text(_csv(sep))
    store = tracer.open()
    report = store.load(path)
    assert (report.loaded, report.rows_read) == (3, 3)
    rows = loaded(store)
    # Flat rows: the columns no canonical field took are the payload; a line is row header + 1.
    assert rows == [
        ("e1", "account-1", 1, "Opened", "{}", 2),
        ("e2", "account-1", 2, "Deposited", '{"amount":5}', 3),
        ("e3", "account-2", 1, "Opened", "{}", 4),
    ]


@pytest.mark.parametrize("compress", ["gzip", "zstd"])
def test_compressed_csv(tmp_path: Path, compress: str) -> None:
    raw = _csv().encode()
    if compress == "gzip":
        path, blob = tmp_path / "events.csv.gz", gzip.compress(raw)
    else:
        path, blob = tmp_path / "events.csv.zst", zstandard.ZstdCompressor().compress(raw)
    path.write_bytes(blob)
    store = tracer.open()
    assert store.load(path).loaded == 3
    assert [r[5] for r in loaded(store)] == [2, 3, 4]


def test_csv_identifiers_stay_text(tmp_path: Path) -> None:
    """Ids with leading zeros and one-letter types are names, not numbers or booleans."""
    path = tmp_path / "events.csv"
    path.write_text("event_id,stream,type,n\n0042,007,T,1\n0043,007,F,2\n")
    store = tracer.open()
    store.load(path)
    assert store.sql(
        "SELECT event_id, stream, type FROM events ORDER BY position"
    ).values.tolist() == [
        ["0042", "007", "T"],
        ["0043", "007", "F"],
    ]


def test_csv_value_of_another_type_later_in_the_file_is_kept(tmp_path: Path) -> None:
    """DuckDB sniffs types from the first rows; a later value that does not fit is no reason
    to reject a valid event."""
    lines = ["stream,type,day"] + [f"s-1,T,2026-01-{1 + i % 28:02d}" for i in range(25_000)]
    lines.append("s-1,T,soon")
    path = tmp_path / "events.csv"
    path.write_text("\n".join(lines) + "\n")
    store = tracer.open()
    report = store.load(path)
    assert (report.loaded, report.rejected) == (25_001, 0)
    last = store.event(25_001)
    assert last is not None and last["data"] == {"day": "soon"} and last["source_row"] == 25_002


def test_csv_values_beyond_the_sniffed_rows_are_not_altered(tmp_path: Path) -> None:
    """DuckDB would round a later ``2.5`` in a column of whole numbers to 3, and cut the time off
    a later date-time in a column of dates: the values must arrive as they were written."""
    lines = ["stream,type,amount,day,count"]
    lines += [f"s-{i},T,{i},2026-01-{1 + i % 28:02d},{i}" for i in range(1, 25_001)]
    lines += ["s-x,T,2.5,2026-03-01 10:30:00,+7", "s-y,T,-3,2026-03-02,8"]
    path = tmp_path / "events.csv"
    path.write_text("\n".join(lines) + "\n")
    store = tracer.open()
    assert store.load(path).loaded == 25_002
    data = dict(
        store.sql(
            "SELECT stream, data FROM events WHERE stream IN ('s-5', 's-x', 's-y')"
        ).values.tolist()
    )
    assert {s: json.loads(d) for s, d in data.items()} == {
        "s-5": {"amount": 5, "day": "2026-01-06", "count": 5},
        "s-x": {"amount": 2.5, "day": "2026-03-01 10:30:00", "count": 7},
        "s-y": {"amount": -3, "day": "2026-03-02", "count": 8},
    }


def test_csv_numbers_stay_numbers_beside_a_value_that_is_not_one(tmp_path: Path) -> None:
    lines = ["stream,type,amount,price"] + [f"s-{i},T,{i},{i}.5" for i in range(1, 25_001)]
    lines.append("s-x,T,n/a,unknown")
    path = tmp_path / "events.csv"
    path.write_text("\n".join(lines) + "\n")
    store = tracer.open()
    assert store.load(path).loaded == 25_001
    rows = store.sql("SELECT stream, data FROM events WHERE stream IN ('s-5', 's-x')").values
    assert {s: json.loads(d) for s, d in rows.tolist()} == {
        "s-5": {"amount": 5, "price": 5.5},
        "s-x": {"amount": "n/a", "price": "unknown"},
    }


def test_parquet(tmp_path: Path) -> None:
    path = tmp_path / "events.parquet"
    con = duckdb.connect()
    con.execute(
        f"""COPY (SELECT * FROM (VALUES ('e1', 'account-1', 1, 'Opened', '{{"owner":"ann"}}'),
                                      ('e2', 'account-1', 2, 'Deposited', '{{"amount":5}}'),
                                      ('e3', 'account-2', 1, 'Opened', '{{"owner":"bob"}}'))
                 t(event_id, stream, version, type, data)) TO '{path}' (FORMAT parquet)"""
    )
    store = tracer.open()
    report = store.load(path)
    assert (report.loaded, report.rows_read) == (3, 3)
    assert report.sources[0].format == "parquet"
    assert loaded(store) == EXPECTED


def test_format_option_overrides_the_suffix(tmp_path: Path) -> None:
    path = tmp_path / "events.log"
    path.write_text(JSONL)
    store = tracer.open()
    assert store.load(path, format="jsonl").loaded == 3
    tsv = tmp_path / "events.txt"
    tsv.write_text(_csv("\t"))
    assert tracer.open().load(tsv, format="tsv").loaded == 3


def test_several_files_a_glob_and_a_directory(tmp_path: Path) -> None:
    logs = tmp_path / "logs"
    (logs / "2026" / "02").mkdir(parents=True)
    for i, event in enumerate(EVENTS):
        (logs / "2026" / ("02" if i else "") / f"part-{i}.jsonl").write_text(
            json.dumps(event) + "\n"
        )
    (logs / "README.txt").write_text("not events")

    store = tracer.open()
    report = store.load(logs / "2026" / "part-0.jsonl", logs / "2026" / "02" / "part-1.jsonl")
    assert (report.loaded, len(report.sources)) == (2, 2)

    store = tracer.open()
    assert store.load(str(logs / "**" / "*.jsonl")).loaded == 3

    store = tracer.open()
    report = store.load(logs)  # recursive; the README is not an event file
    assert report.loaded == 3 and len(report.sources) == 3
    assert sorted(store.sql("SELECT DISTINCT source FROM events")["source"]) == sorted(
        str(p) for p in logs.rglob("*.jsonl")
    )


# -- SQLite --------------------------------------------------------------------------------------
def _eventsourcing_db(path: Path, *, without_rowid: bool = False) -> list[dict]:
    """A ``stored_events`` table as the eventsourcing library writes it: JSON state bytes,
    zlib-compressed when its application compresses (here: every other row)."""
    suffix = " WITHOUT ROWID" if without_rowid else ""
    states = []
    with closing(sqlite3.connect(path)) as db:
        db.execute(
            "CREATE TABLE stored_events (originator_id TEXT, originator_version INTEGER, topic TEXT, "
            f"state BLOB, PRIMARY KEY (originator_id, originator_version)){suffix}"
        )
        rows = []
        for n, (oid, version) in enumerate([("aaa1", 1), ("aaa1", 2), ("bbb2", 1)]):
            state = {
                "timestamp": {
                    "_type_": "datetime_iso",
                    "_data_": f"2026-01-0{n + 1}T10:00:00+00:00",
                },
                "amount": 10 * (n + 1),
            }
            states.append(state)
            blob = json.dumps(state).encode()
            rows.append(
                (
                    oid,
                    version,
                    "bank.domain:Account.Deposited",
                    zlib.compress(blob) if n % 2 else blob,
                )
            )
        db.executemany("INSERT INTO stored_events VALUES (?, ?, ?, ?)", rows)
        db.commit()
    return states


@pytest.mark.parametrize("without_rowid", [False, True])
def test_sqlite_eventsourcing_table(tmp_path: Path, without_rowid: bool) -> None:
    path = tmp_path / "app.sqlite"
    states = _eventsourcing_db(path, without_rowid=without_rowid)
    store = tracer.open()
    report = store.load(path)  # the only table: no --table needed
    assert (report.loaded, report.rejected) == (3, 0)
    frame = store.sql(
        "SELECT stream, category, version, type, time::VARCHAR t, data::VARCHAR d, source, source_row FROM events ORDER BY position"
    )
    assert frame["stream"].tolist() == ["aaa1", "aaa1", "bbb2"]
    assert frame["version"].tolist() == [1, 2, 1]
    assert set(frame["type"]) == {"Deposited"} and set(frame["category"]) == {"account"}
    assert frame["t"].tolist() == [f"2026-01-0{d} 10:00:00+00" for d in (1, 2, 3)]
    assert [json.loads(d) for d in frame["d"]] == states  # plain and zlib-compressed bytes
    assert set(frame["source"]) == {f"{path}:stored_events"}
    assert frame["source_row"].tolist() == [1, 2, 3]


def test_sqlite_generic_table(tmp_path: Path) -> None:
    path = tmp_path / "events.db"
    with closing(sqlite3.connect(path)) as db:
        db.execute(
            "CREATE TABLE log (event_id TEXT, stream_name TEXT, event_type TEXT, created_at TEXT, payload TEXT)"
        )
        db.executemany(
            "INSERT INTO log VALUES (?, ?, ?, ?, ?)",
            [
                ("x1", "order-9", "Placed", "2026-02-01T08:00:00Z", '{"total": 12}'),
                ("x2", "order-9", "Paid", "2026-02-01T08:05:00Z", '{"total": 12}'),
            ],
        )
        db.execute("DELETE FROM log WHERE event_id = 'none'")
        db.commit()
    store = tracer.open()
    report = store.load(path, table="log")
    assert report.loaded == 2 and report.sources[0].source == f"{path}:log"
    assert store.event(2) is not None
    event = store.event(2)
    assert (
        event["event_id"],
        event["stream"],
        event["category"],
        event["version"],
        event["type"],
    ) == ("x2", "order-9", "order", 2, "Paid")
    assert event["data"] == {"total": 12} and event["source_row"] == 2


def test_sqlite_url_and_format(tmp_path: Path) -> None:
    path = tmp_path / "events.bin"  # no SQLite suffix: recognised from its header
    _eventsourcing_db(path)
    assert tracer.open().load(path).loaded == 3
    assert tracer.open().load(f"sqlite://{path}").loaded == 3


def test_sample_eventstore_both_tables() -> None:
    store = tracer.open()
    es = store.load(SAMPLES / "eventstore.sqlite", table="stored_events")
    assert (es.loaded, es.rejected, es.duplicates) == (286, 0, 0)
    assert es.sources[0].format == "sqlite (eventsourcing)"
    marten = store.load(SAMPLES / "eventstore.sqlite", table="mt_events")
    # Marten's two tombstone rows are not events: rejected with a plain reason, not dropped.
    assert (marten.loaded, marten.rejected, marten.rows_read) == (317, 2, 319)
    assert marten.sources[0].format == "sqlite (marten)"
    assert store.count() == 286 + 317
    assert store.sql("SELECT count(*) n FROM events WHERE time IS NULL")["n"][0] == 0
    assert store.sql("SELECT max(position) p FROM events")["p"][0] == 603


def test_sqlite_several_event_tables_need_table(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match=r"--table.*mt_events, stored_events"):
        tracer.open().load(SAMPLES / "eventstore.sqlite")
    with pytest.raises(SourceError, match=r"no table 'nope'.*tables: "):
        tracer.open().load(SAMPLES / "eventstore.sqlite", table="nope")


def test_sqlite_column_changing_type_between_batches(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SQLite columns hold any type per row; a text value after a batch of numbers loads."""
    import tracer.sources.sqlite as sqlite_source

    monkeypatch.setattr(sqlite_source, "BATCH", 2)
    path = tmp_path / "events.sqlite"
    with closing(sqlite3.connect(path)) as db:
        db.execute("CREATE TABLE ev (stream, type, version, amount)")
        db.executemany(
            "INSERT INTO ev VALUES (?, ?, ?, ?)",
            [
                ("a-1", "T", 1, 5),
                ("a-1", "T", 2, 6),
                ("a-1", "T", "three", "seven"),
                ("a-1", "T", 4, 1.5),
            ],
        )
        db.commit()
    store = tracer.open()
    report = store.load(path)
    assert (report.loaded, report.rejected) == (3, 1)
    assert store.rejected()["reason"].tolist() == ["version is not an integer: three"]
    assert store.rejected()["source_row"].tolist() == [3]


@pytest.mark.parametrize("name", ["events.jsonl", "events.json", "events.csv"])
@pytest.mark.parametrize("blank_line", [False, True])
def test_byte_order_mark_and_crlf(tmp_path: Path, name: str, blank_line: bool) -> None:
    """Files saved by Windows tools: a UTF-8 BOM and CRLF line ends."""
    if name.endswith(".csv"):
        lines = ["stream,type", "account-1,Opened", "account-1,Deposited"]
    else:
        lines = [json.dumps({"stream": "account-1", "type": t}) for t in ("Opened", "Deposited")]
    if blank_line:
        lines.insert(len(lines) - 1, "")
    path = tmp_path / name
    path.write_bytes(b"\xef\xbb\xbf" + "\r\n".join(lines).encode() + b"\r\n")
    store = tracer.open()
    report = store.load(path)
    assert (report.loaded, report.rejected) == (2, 0), report.first_rejections
    rows = store.con.execute("SELECT type, source_row FROM events ORDER BY position").fetchall()
    first = 2 if name.endswith(".csv") else 1
    assert rows == [("Opened", first), ("Deposited", first + 1 + blank_line)]


def test_file_names_with_glob_characters_and_home(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "events[1].jsonl"
    path.write_text(JSONL)
    assert tracer.open().load(path).loaded == 3
    monkeypatch.setenv("HOME", str(tmp_path))
    assert tracer.open().load("~/events[1].jsonl").loaded == 3
    _eventsourcing_db(tmp_path / "app.sqlite")
    assert tracer.open().load("~/app.sqlite").loaded == 3


def test_sqlite_file_name_with_uri_characters(tmp_path: Path) -> None:
    path = tmp_path / "app #1 ?50%.sqlite"
    _eventsourcing_db(path)
    assert tracer.open().load(path).loaded == 3
