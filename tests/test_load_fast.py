"""The fast path of a JSON Lines load (``tracer.load.fast``): clean files with ids and versions
are read once and appended; anything else takes the full path, with the same result.

The law: a JSON Lines file loads exactly as the same lines gzipped (which always take the exact,
line-by-line path): the same events, the same rejected rows with their lines, raw text and
reasons, the same accounting. Beside it, the cases a fast path could get wrong: a row unlike the
sampled ones after the sample, duplicates and conflicts within one file, reloading a file,
blank and broken lines, system events, ``--strict``, a store that already holds events.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import tracer
from tracer.errors import StrictLoadError
from tracer.jsonvalues import decode_json
from tracer.load.fast import eligible, load_clean
from tracer.load.ingest import _resolve
from tracer.sources.jsonfiles import SAMPLE_ROWS, stage_jsonl

BIG = 2**70


def _event(n: int, **extra: Any) -> dict[str, Any]:
    record = {
        "id": f"e-{n}",
        "stream": f"account-{n % 7}",
        "version": n // 7 + 1,
        "type": "Deposited",
        "time": f"2026-01-01T00:{n // 60 % 60:02d}:{n % 60:02d}Z",
        "data": {"amount": n, "big": BIG + n, "nested": [{"x": [n, None, True]}]},
        "meta": {"correlation_id": f"c-{n}", "user": "u"},
    }
    record.update(extra)
    return record


def _write(path: Path, lines: list[str]) -> Path:
    text = "".join(line + "\n" for line in lines)
    if path.suffix == ".gz":
        path.write_bytes(gzip.compress(text.encode()))
    else:
        path.write_text(text)
    return path


def _lines(records: list[dict[str, Any]]) -> list[str]:
    return [json.dumps(r) for r in records]


def _snapshot(store: tracer.Store) -> tuple[list[Any], list[Any]]:
    events = store.con.execute(
        "SELECT * EXCLUDE (source, load_id) FROM events ORDER BY position"
    ).fetchall()
    rejected = store.con.execute(
        "SELECT source_row, raw, regexp_replace(reason, '\\S+\\.jsonl(\\.gz)?', 'F', 'g') "
        "FROM rejected ORDER BY source_row, reason"
    ).fetchall()
    return events, rejected


def _load_both(tmp_path: Path, lines: list[str], **options: Any) -> tuple[Any, Any, Any, Any]:
    """Load the lines as plain JSON Lines and gzipped, each into a fresh store."""
    results = []
    folder = tmp_path / f"run-{len(list(tmp_path.glob('run-*')))}"
    folder.mkdir()
    for name in ("plain.jsonl", "zipped.jsonl.gz"):
        with tracer.open(str(folder / f"{name}.duckdb")) as store:
            report = store.load(str(_write(folder / name, lines)), **options)
            results.append((report, _snapshot(store)))
    (fast, fast_rows), (exact, exact_rows) = results
    return fast, fast_rows, exact, exact_rows


def _same_accounting(a: Any, b: Any) -> None:
    assert (a.rows_read, a.loaded, a.rejected, a.duplicates, a.system) == (
        b.rows_read,
        b.loaded,
        b.rejected,
        b.duplicates,
        b.system,
    )
    assert a.balanced and b.balanced


# -- the law -----------------------------------------------------------------------------------
JSON_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**80), max_value=2**80),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=8),
)
JSON_VALUES = st.recursive(
    JSON_SCALARS,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=8,
)
ODD_LINES = st.sampled_from(
    [
        "",
        "not json",
        "[1, 2]",
        "{}",
        '{"id": "dup", "stream": "s-1", "version": 1, "type": "T", "data": {}}',
        '{"id": "e-1", "stream": "account-9", "version": 99, "type": "T", "data": {"other": 1}}',
        '{"id": "x-1", "stream": "account-1", "version": 1, "type": "T", "data": {"n": 1e400}}',
        '{"id": "x-2", "stream": "$stats", "version": 1, "type": "T", "data": {}}',
        '{"id": "x-3", "stream": "s-3", "version": "two", "type": "T", "data": {}}',
        '{"id": "x-4", "stream": "s-4", "version": 1, "type": "T", "data": {"v": NaN}}',
        '{"id": "x-5", "stream": "s-5", "version": {"n": 1}, "type": "T", "data": {}}',
        '{"id": "x-6", "stream": "s-6", "version": 1, "type": "T", "time": "soon", "data": {}}',
        '{"id": "x-7", "stream": "s-7", "version": 1.5, "type": "T", "data": {}}',
        '{"id": "", "stream": "s-8", "version": 1, "type": "T", "data": {}}',
        '{"id": "x-9", "id": "x-10", "stream": "s-9", "stream": "s-10", "version": 1, "type": "T"}',
        '{"ID": "x-11", "stream": "s-11", "version": "3", "type": "T", "time": 1767225600}',
        '{"id": " x-12 ", "stream": "s-12", "version": 2, "type": "T", "data": "{\\"a\\": 1}"}',
        '{"id": "x-13", "stream": "s-13", "version": 1, "type": "T", "data": "eyJhIjogMX0="}',
        '{"id": "x-14", "stream": "s-14", "version": 1, "type": "T", "meta": [1, {"b": null}]}',
    ]
)


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    payloads=st.lists(JSON_VALUES, min_size=1, max_size=8),
    odd=st.lists(st.tuples(st.integers(min_value=0, max_value=10), ODD_LINES), max_size=3),
    repeat=st.booleans(),
)
def test_jsonl_loads_as_the_exact_line_by_line_path_does(
    tmp_path_factory: pytest.TempPathFactory,
    payloads: list[Any],
    odd: list[tuple[int, str]],
    repeat: bool,
) -> None:
    tmp_path = tmp_path_factory.mktemp("law")
    records = [_event(n, data=value) for n, value in enumerate(payloads, start=1)]
    lines = _lines(records)
    if repeat:
        lines.append(lines[0])  # an exact duplicate within the file
    for where, line in odd:
        lines.insert(min(where, len(lines)), line)
    fast, fast_rows, exact, exact_rows = _load_both(tmp_path, lines)
    _same_accounting(fast, exact)
    assert fast_rows == exact_rows


def test_clean_file_takes_the_fast_path_and_reads_back_exactly(tmp_path: Path) -> None:
    records = [_event(n) for n in range(1, 201)]
    path = _write(tmp_path / "clean.jsonl", _lines(records))
    with tracer.open(str(tmp_path / "s.duckdb")) as store:
        con = store.con
        staged = stage_jsonl(con, path)
        columns = dict(
            con.execute(
                f'SELECT column_name, column_type FROM (DESCRIBE "{staged.table}")'
            ).fetchall()
        )
        visible = {c: t for c, t in columns.items() if c not in staged.hidden}
        fields = _resolve(con, staged, columns, visible, {})
        assert eligible(staged, fields)
        con.execute("BEGIN")
        assert load_clean(con, staged, visible, fields, 1, False) == 200
        con.execute("ROLLBACK")
        staged.drop(con)

        report = store.load(str(path))
        assert (report.loaded, report.rejected, report.duplicates) == (200, 0, 0)
        rows = store.con.execute(
            "SELECT position, source_row, event_id, data, meta, correlation_id, category, version "
            "FROM events ORDER BY position"
        ).fetchall()
    for (position, line, event_id, data, meta, correlation, category, version), record in zip(
        rows, records, strict=True
    ):
        assert position == line
        assert event_id == record["id"] and version == record["version"]
        assert decode_json(data) == record["data"]  # (2**70 + n: exact)
        assert decode_json(meta) == record["meta"]
        assert correlation == record["meta"]["correlation_id"]
        assert category == "account"


def test_a_row_unlike_the_sample_after_it_is_rejected_with_its_line(tmp_path: Path) -> None:
    records = [_event(n) for n in range(1, SAMPLE_ROWS + 51)]
    records[SAMPLE_ROWS + 9]["version"] = {"major": 1}  # line SAMPLE_ROWS + 10
    records[SAMPLE_ROWS + 19]["data"] = "not an object, a plain string"
    records[SAMPLE_ROWS + 29]["category"] = "late"  # a canonical key the sample never showed
    fast, fast_rows, exact, exact_rows = _load_both(tmp_path, _lines(records))
    _same_accounting(fast, exact)
    assert fast_rows == exact_rows
    assert fast.rejected == 1
    (row, raw, reason) = fast_rows[1][0]
    assert row == SAMPLE_ROWS + 10 and '"major": 1' in raw
    assert reason.startswith("version is not an integer")
    events = {e[1]: e for e in fast_rows[0]}  # by event id
    assert events[f"e-{SAMPLE_ROWS + 30}"][3] == "late"  # (category)


def test_duplicates_and_conflicts_within_one_file(tmp_path: Path) -> None:
    lines = _lines([_event(n) for n in range(1, 11)])
    lines.insert(5, lines[2])  # line 6: line 3 again
    lines.append(json.dumps(_event(4, data={"other": True})))  # line 12: id e-4, other content
    fast, fast_rows, exact, exact_rows = _load_both(tmp_path, lines)
    _same_accounting(fast, exact)
    assert fast_rows == exact_rows
    assert (fast.loaded, fast.duplicates, fast.rejected) == (10, 1, 1)
    (row, _, reason) = fast_rows[1][0]
    assert row == 12 and reason.startswith("conflict: event id e-4")


def test_loading_the_same_file_twice_loads_nothing_the_second_time(tmp_path: Path) -> None:
    path = _write(tmp_path / "log.jsonl", _lines([_event(n) for n in range(1, 101)]))
    with tracer.open(str(tmp_path / "s.duckdb")) as store:
        first = store.load(str(path))
        second = store.load(str(path))
        assert (first.loaded, first.duplicates) == (100, 0)
        assert (second.loaded, second.duplicates, second.rejected) == (0, 100, 0)
        assert store.count() == 100


def test_a_store_with_events_takes_new_events_after_them(tmp_path: Path) -> None:
    old = _write(tmp_path / "old.jsonl", _lines([_event(n) for n in range(1, 51)]))
    new = _write(tmp_path / "new.jsonl", _lines([_event(n) for n in range(51, 101)]))
    clash = _write(
        tmp_path / "clash.jsonl",
        _lines([_event(n) for n in range(101, 104)] + [_event(200, stream="account-1", version=1)]),
    )
    with tracer.open(str(tmp_path / "s.duckdb")) as store:
        store.load(str(old))
        report = store.load(str(new))
        assert (report.loaded, report.first_position, report.last_position) == (50, 51, 100)
        rows = store.con.execute(
            "SELECT position, source_row FROM events WHERE load_id = 2 ORDER BY position"
        ).fetchall()
        assert rows == [(50 + n, n) for n in range(1, 51)]
        report = store.load(str(clash))  # stream account-1 version 1 is e-7's
        assert (report.loaded, report.rejected) == (3, 1)
        assert "conflict: stream account-1 version 1" in store.rejected(report.load_id)["reason"][0]


def test_blank_and_broken_lines_keep_every_line_number(tmp_path: Path) -> None:
    lines = _lines([_event(n) for n in range(1, 9)])
    lines[2:2] = ["", "{not json"]  # lines 3 and 4
    fast, fast_rows, exact, exact_rows = _load_both(tmp_path, lines)
    _same_accounting(fast, exact)
    assert fast_rows == exact_rows
    assert [r[:1] for r in fast_rows[1]] == [(4,)]
    assert [e[11] for e in fast_rows[0]] == [1, 2, 5, 6, 7, 8, 9, 10]  # (source_row)


def test_system_events_are_counted_apart(tmp_path: Path) -> None:
    lines = _lines([_event(n) for n in range(1, 6)] + [_event(6, stream="$stats-1")])
    fast, fast_rows, exact, exact_rows = _load_both(tmp_path, lines)
    _same_accounting(fast, exact)
    assert (fast.loaded, fast.system) == (5, 1)
    fast, fast_rows, exact, exact_rows = _load_both(tmp_path, lines, include_system=True)
    assert fast_rows == exact_rows and fast.loaded == 6


def test_strict_load_with_a_bad_row_loads_nothing(tmp_path: Path) -> None:
    lines = [*_lines([_event(n) for n in range(1, 6)]), "{broken"]
    path = _write(tmp_path / "log.jsonl", lines)
    with tracer.open(str(tmp_path / "s.duckdb")) as store:
        with pytest.raises(StrictLoadError):
            store.load(str(path), strict=True)
        assert store.count() == 0
        assert store.count_rejected() == 0
        report = store.load(str(_write(tmp_path / "ok.jsonl", lines[:5])), strict=True)
        assert report.loaded == 5


def test_mapping_and_time_zone_apply_as_on_the_exact_path(tmp_path: Path) -> None:
    records = [
        _event(n, time=f"2026-03-29T0{n % 4}:30:00", data={"account": f"acct-{n % 3}", "n": n})
        for n in range(1, 41)
    ]
    options = {"mapping": {"stream": "data.account"}, "tz": "Europe/Paris"}
    fast, fast_rows, exact, exact_rows = _load_both(tmp_path, _lines(records), **options)
    _same_accounting(fast, exact)
    assert fast_rows == exact_rows
    assert {e[2] for e in fast_rows[0]} == {"acct-0", "acct-1", "acct-2"}  # (stream)


def test_two_files_in_one_load_share_an_event(tmp_path: Path) -> None:
    folder = tmp_path / "logs"
    folder.mkdir()
    _write(folder / "a.jsonl", _lines([_event(n) for n in range(1, 21)]))
    _write(folder / "b.jsonl", _lines([_event(n) for n in range(20, 41)]))  # e-20 again
    with tracer.open(str(tmp_path / "s.duckdb")) as store:
        report = store.load(str(folder))
        assert (report.rows_read, report.loaded, report.duplicates) == (41, 40, 1)
        positions = store.con.execute(
            "SELECT min(position), max(position), count(DISTINCT position) FROM events"
        ).fetchone()
        assert positions == (1, 40, 40)
