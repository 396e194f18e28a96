"""Bad input, nothing lost: every row read is loaded, rejected (with its source, row, raw text and
a plain reason) or counted as a duplicate; ``strict`` leaves the store exactly as it was."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import tracer
from tracer.errors import MappingError, StrictLoadError

TABLES = ("events", "rejected", "loads", "cursors", "tracer_meta")


def write_lines(path: Path, rows: list[Any]) -> Path:
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows))
    return path


def counts(store: tracer.Store) -> dict[str, int]:
    return {t: store.con.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in TABLES}


GOOD = {
    "stream": "account-1",
    "type": "Deposited",
    "time": "2026-01-01T00:00:00Z",
    "data": {"amount": 1},
}

BAD_JSONL = [
    ("not json at all", "invalid JSON"),
    (json.dumps({"type": "Deposited"}), "missing stream"),
    (json.dumps({"stream": "account-1", "type": "  "}), "missing type"),
    (
        json.dumps({"stream": "account-1", "type": "T", "time": "yesterday"}),
        "unparseable time: yesterday",
    ),
    (
        json.dumps({"stream": "account-1", "type": "T", "data": "{not json"}),
        "data is not valid JSON",
    ),
]


def test_each_bad_row_is_rejected_with_its_line_raw_text_and_reason(tmp_path: Path) -> None:
    lines: list[Any] = [GOOD]
    for raw, _ in BAD_JSONL:
        lines += [raw, {**GOOD, "data": {"amount": len(lines)}}]
    path = write_lines(tmp_path / "a.jsonl", lines)
    store = tracer.open()
    report = store.load(path)
    assert (report.rows_read, report.loaded, report.rejected, report.duplicates) == (11, 6, 5, 0)
    rejected = store.rejected()
    assert rejected["source"].tolist() == [str(path)] * 5
    assert rejected["source_row"].tolist() == [2, 4, 6, 8, 10]
    assert rejected["reason"].tolist() == [reason for _, reason in BAD_JSONL]
    assert rejected["raw"].tolist() == [raw for raw, _ in BAD_JSONL]
    assert report.first_rejections[0] == {"source": str(path), "row": 2, "reason": "invalid JSON"}
    assert dict(report.reasons)["missing stream"] == 1


def test_times_out_of_range_are_rejected_not_fatal(tmp_path: Path) -> None:
    values = [
        1e30,
        "99999999999999999999999",
        "nan",
        "inf",
        "infinity",
        "2026-02-30T00:00:00Z",
        1767261600,
    ]
    rows = [{"stream": "s-1", "type": "T", "time": v} for v in values]
    store = tracer.open()
    report = store.load(write_lines(tmp_path / "a.jsonl", rows))
    assert (report.loaded, report.rejected) == (1, 6)
    assert all(r.startswith("unparseable time: ") for r in store.rejected()["reason"])


def test_non_integer_versions_are_rejected(tmp_path: Path) -> None:
    rows = [{"stream": "s-1", "type": "T", "version": v} for v in (1, "2", 2.5, "x", "3.0")]
    store = tracer.open()
    report = store.load(write_lines(tmp_path / "a.jsonl", rows))
    assert report.loaded == 3  # 1, "2" and "3.0" are whole numbers
    assert store.rejected()["reason"].tolist() == [
        "version is not an integer: 2.5",
        "version is not an integer: x",
    ]


def test_bad_csv_rows(tmp_path: Path) -> None:
    path = tmp_path / "a.csv"
    path.write_text(
        "stream,type,version,data\n"
        's-1,Opened,1,"{""a"": 1}"\n'
        "s-1,Oops,2\n"  # a column short
        's-1,Paid,two,"{}"\n'
        's-1,Paid,3,"{broken"\n'
        's-1,Shipped,4,"{}"\n'
    )
    store = tracer.open()
    report = store.load(path)
    assert (report.rows_read, report.loaded, report.rejected) == (5, 2, 3)
    rejected = store.rejected()
    assert rejected["source_row"].tolist() == [3, 4, 5]
    reasons = rejected["reason"].tolist()
    # One reason per row, with the count of columns the row has.
    assert reasons[0] == "malformed CSV row: Expected Number of Columns: 4 Found: 3"
    assert rejected["raw"][0] == "s-1,Oops,2"
    assert reasons[1:] == ["version is not an integer: two", "data is not valid JSON"]
    assert '"version":"two"' in rejected["raw"][1]


def test_raw_text_is_cut_at_a_sane_length(tmp_path: Path) -> None:
    path = write_lines(tmp_path / "a.jsonl", ["{" + "x" * 10_000])
    store = tracer.open()
    store.load(path)
    raw = store.rejected()["raw"][0]
    assert raw.startswith("{xxx") and 100 < len(raw) <= 2000


# -- strict --------------------------------------------------------------------------------------
def test_strict_loads_nothing_and_leaves_the_store_as_it_was(tmp_path: Path) -> None:
    db = tmp_path / "t.duckdb"
    good = write_lines(tmp_path / "good.jsonl", [GOOD])
    bad = write_lines(tmp_path / "bad.jsonl", [{**GOOD, "data": {"amount": 2}}, "oops"])
    with tracer.open(db) as store:
        store.load(good)
        store.load(write_lines(tmp_path / "rej.jsonl", ["oops"]))
        before = counts(store)
        with pytest.raises(
            StrictLoadError, match=r"--strict: 1 of 3 rows rejected \(first: invalid JSON\)"
        ) as info:
            store.load(good, bad, strict=True)
        assert info.value.report.rejected == 1
        assert counts(store) == before
        assert store.max_position() == 1
        assert store.load(bad).loaded == 1  # the store still works after the rollback
    with tracer.open(db) as store:
        assert counts(store)["events"] == before["events"] + 1


def test_strict_passes_when_nothing_is_rejected(tmp_path: Path) -> None:
    store = tracer.open()
    assert store.load(write_lines(tmp_path / "a.jsonl", [GOOD]), strict=True).loaded == 1


# -- duplicates and conflicts --------------------------------------------------------------------
def test_the_same_file_twice_is_all_duplicates(tmp_path: Path) -> None:
    sample = Path(__file__).resolve().parent.parent / "sample_logs" / "bank.jsonl"
    store = tracer.open()
    first = store.load(sample)
    again = store.load(sample)
    assert (again.loaded, again.rejected, again.duplicates, again.rows_read) == (
        0,
        0,
        first.loaded,
        first.rows_read,
    )
    assert store.count() == first.loaded
    csv = Path(__file__).resolve().parent.parent / "sample_logs" / "shop.csv"
    once = store.load(csv, mapping=["stream=order_id", "version=seq"])
    twice = store.load(csv, mapping=["stream=order_id", "version=seq"])
    assert twice.duplicates == once.loaded and twice.loaded == 0


def test_same_stream_and_version_with_other_content_is_a_conflict(tmp_path: Path) -> None:
    a = write_lines(
        tmp_path / "a.jsonl", [{"stream": "s-1", "version": 1, "type": "T", "data": {"n": 1}}]
    )
    b = write_lines(
        tmp_path / "b.jsonl",
        [
            {"stream": "s-1", "version": 2, "type": "T", "data": {"n": 2}},
            {"stream": "s-1", "version": 2, "type": "T", "data": {"n": 3}},
            {"stream": "s-1", "version": 1, "type": "T", "data": {"n": 9}},
        ],
    )
    store = tracer.open()
    store.load(a)
    report = store.load(b)
    assert (report.loaded, report.rejected, report.duplicates) == (1, 2, 0)
    reasons = store.rejected().sort_values("source_row")["reason"].tolist()
    assert reasons[0] == (
        f"conflict: stream s-1 version 2 at {b}:2 already appears at {b}:1 with different content"
    )
    assert reasons[1].startswith(
        f"conflict: stream s-1 version 1 at {b}:3 was already loaded from {a}:1"
    )
    assert store.event(1)["data"] == {"n": 1}  # never overwritten


def test_same_event_id_with_other_content_is_a_conflict(tmp_path: Path) -> None:
    store = tracer.open()
    a = write_lines(
        tmp_path / "a.jsonl", [{"id": "e1", "stream": "s-1", "type": "T", "data": {"n": 1}}]
    )
    store.load(a)
    b = write_lines(
        tmp_path / "b.jsonl",
        [
            {"id": "e1", "stream": "s-1", "type": "T", "data": {"n": 1}},  # duplicate
            {"id": "e1", "stream": "s-1", "type": "T", "data": {"n": 2}},  # conflict
            {"id": "e2", "stream": "s-2", "type": "T", "data": {}},
            {"id": "e2", "stream": "s-2", "type": "U", "data": {}},  # conflict within the file
        ],
    )
    report = store.load(b)
    assert (report.loaded, report.rejected, report.duplicates) == (1, 2, 1)
    reasons = store.rejected().sort_values("source_row")["reason"].tolist()
    assert reasons == [
        f"conflict: event id e1 at {b}:2 was already loaded from {a}:1 with different content",
        f"conflict: event id e2 at {b}:4 already appears at {b}:3 with different content",
    ]


# -- property: every row is accounted for --------------------------------------------------------
def _good_line(n: int, stream: int, with_id: bool, version: int | None) -> dict[str, Any]:
    line: dict[str, Any] = {
        "stream": f"account-{stream}",
        "type": "Deposited",
        "data": {"n": n % 4},
    }
    if with_id:
        line["id"] = f"e{n % 6}"
    if version is not None:
        line["version"] = version
    return line


def _parse(line: Any) -> Any:
    if not isinstance(line, str):
        return line
    try:
        return json.loads(line)
    except ValueError:
        return None


LINES = st.one_of(
    st.builds(
        _good_line,
        st.integers(0, 20),
        st.integers(1, 3),
        st.booleans(),
        st.one_of(st.none(), st.integers(1, 4)),
    ),
    st.sampled_from(
        [
            "not json",
            "",
            "[1, 2]",
            '{"type": "Deposited"}',
            '{"stream": "account-1"}',
            '{"stream": "account-1", "type": "T", "time": "never"}',
            '{"stream": "account-1", "type": "T", "time": 1767261600}',
            '{"stream": "account-1", "type": "T", "version": "v1"}',
            '{"stream": "account-1", "type": "T", "data": "{oops"}',
        ]
    ),
)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(batches=st.lists(st.lists(LINES, max_size=12), min_size=1, max_size=3))
def test_every_row_is_accounted_for(
    tmp_path_factory: pytest.TempPathFactory, batches: list[list[Any]]
) -> None:
    folder = tmp_path_factory.mktemp("prop")
    store = tracer.open()
    batches = [*batches, batches[0]]  # and the first file once more: duplicates
    for i, lines in enumerate(batches):
        path = write_lines(folder / f"part-{i}.jsonl", lines)
        before = counts(store)
        try:
            report = store.load(path)
        except MappingError:
            # Only a file where no record has a stream (or no record a type) is refused as a
            # whole, with a hint to --map one; the store is left as it was.
            records = [r for r in map(_parse, lines) if isinstance(r, dict)]
            assert not any("stream" in r for r in records) or not any("type" in r for r in records)
            assert counts(store) == before
            continue
        assert report.loaded + report.rejected + report.duplicates == report.rows_read
        assert report.rows_read == sum(1 for line in lines if line != "")
        after = counts(store)
        assert after["events"] - before["events"] == report.loaded
        assert after["rejected"] - before["rejected"] == report.rejected
        positions = [
            r[0]
            for r in store.con.execute("SELECT position FROM events ORDER BY position").fetchall()
        ]
        assert positions == list(range(1, len(positions) + 1))
    # no two events share an id, nor a (stream, version)
    dupes = store.con.execute(
        """SELECT (SELECT count(*) - count(DISTINCT event_id) FROM events),
                  (SELECT count(*) - count(DISTINCT (stream, version)) FROM events)"""
    ).fetchone()
    assert dupes == (0, 0)


CSV_ROWS = st.one_of(
    st.tuples(
        st.sampled_from(["account-1", "account-2", ""]),
        st.sampled_from(["Deposited", "Paid", ""]),
        st.integers(0, 3),
    ).map(lambda r: f"{r[0]},{r[1]},{r[2]}"),
    st.sampled_from(
        [
            "",  # a blank line
            "account-1,Deposited",  # a column short
            "account-1,Deposited,1,extra",  # a column too many
            'account-1,"Multi\nLine",2',  # a quoted value over two lines
            'account-2,"said ""hi""",3',
            "account-1,Deposited,x",  # not a number, after numbers
        ]
    ),
)


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(rows=st.lists(CSV_ROWS, max_size=15))
def test_every_csv_row_is_accounted_for_at_its_line(
    tmp_path_factory: pytest.TempPathFactory, rows: list[str]
) -> None:
    path = tmp_path_factory.mktemp("csv") / "events.csv"
    path.write_text("stream,type,n\n" + "".join(r + "\n" for r in rows))
    store = tracer.open()
    report = store.load(path)
    assert report.loaded + report.rejected + report.duplicates == report.rows_read
    assert report.rows_read == sum(1 for r in rows if r != "")
    # Every event and every rejected row points at the line its record starts on.
    starts, line = {}, 2
    for r in rows:
        starts[line] = r
        line += r.count("\n") + 1
    where = store.con.execute(
        "SELECT source_row FROM events UNION ALL SELECT source_row FROM rejected ORDER BY 1"
    ).fetchall()
    assert [w for (w,) in where] == [n for n, r in starts.items() if r != ""]


def test_a_log_without_times_loads_with_a_warning_naming_the_fix(tmp_path: Path) -> None:
    path = tmp_path / "untimed.jsonl"
    path.write_text('{"stream": "a-1", "type": "X", "data": {"at": 1767225600000}}\n')
    with tracer.open() as store:
        report = store.load(str(path))
        assert report.loaded == 1
        assert [w for w in report.warnings if "no time field" in w] == [
            f"{path}: no time field, so its events have no time (points such as "
            "time:2026-03-01, figures over time and findings on time need one): map one with "
            "--map time=COLUMN"
        ]
        timed = store.load(str(path), mapping={"time": "data.at"})
        assert not [w for w in timed.warnings if "no time field" in w]
