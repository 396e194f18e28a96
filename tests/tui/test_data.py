"""The timeline's data layer, without any UI: filters, windows of rows, jumps, aggregates."""

from __future__ import annotations

import pytest

from tracer.api import Store
from tracer.errors import TracerError
from tracer.tui.data import (
    EventFilter,
    TextWidths,
    build_view,
    fetch_rows,
    parse_filter,
    rate_histogram,
    scope_filter,
    stream_entries,
    stream_neighbour,
    summarize,
    type_hit,
)
from tracer.tui.goto import resolve_point
from tracer.tui.timeline import Columns, cut_middle


def positions(store: Store, where: str, params: list | None = None) -> list[int]:
    rows = store.con.execute(
        f"SELECT position FROM events WHERE {where} ORDER BY position", params or []
    ).fetchall()
    return [p for (p,) in rows]


def test_unfiltered_view_holds_no_positions_and_maps_rows_to_positions(synthetic_store):
    view = build_view(synthetic_store.cursor(), EventFilter())
    assert view.count == 300 and view.positions is None
    assert view.position_at(0) == 1 and view.position_at(299) == 300
    assert view.row_of(150) == 149


def test_filter_by_type_keeps_exactly_the_events_of_that_type(synthetic_store):
    view = build_view(synthetic_store.cursor(), parse_filter("type:Withdrawn"))
    assert list(view.positions) == positions(synthetic_store, "type = 'Withdrawn'")


def test_filter_prefixes_combine_with_a_data_condition(synthetic_store):
    flt = parse_filter("stream:account-2 type:Deposited data.amount > 100")
    view = build_view(synthetic_store.cursor(), flt)
    expected = positions(
        synthetic_store,
        "stream = 'account-2' AND type = 'Deposited' AND CAST(data->>'amount' AS DOUBLE) > 100",
    )
    assert expected and list(view.positions) == expected


def test_wildcards_text_and_sql_filters(synthetic_store):
    cur = synthetic_store.cursor()
    assert build_view(cur, parse_filter("type:*Sent")).count == len(
        positions(synthetic_store, "type = 'TransferSent'")
    )
    assert list(build_view(cur, parse_filter("ACCOUNT-3")).positions) == positions(
        synthetic_store, "stream = 'account-3' OR CAST(data AS VARCHAR) ILIKE '%account-3%'"
    )
    assert build_view(cur, parse_filter("sql: version <= 2")).count == 12


def test_a_bad_filter_is_one_clear_error(synthetic_store):
    with pytest.raises(TracerError, match="bad condition"):
        parse_filter("data.amount >>> 3")
    with pytest.raises(TracerError, match="bad filter"):
        build_view(synthetic_store.cursor(), parse_filter("sql: no_such_column > 1"))


def test_rows_of_a_window_are_fetched_in_order_under_the_filter(synthetic_store):
    cur = synthetic_store.cursor()
    view = build_view(cur, parse_filter("stream:account-4"))
    rows = fetch_rows(cur, view, 2, 5)
    assert [r.position for r in rows] == list(view.positions[2:7])
    assert {r.stream for r in rows} == {"account-4"}
    assert fetch_rows(cur, view, view.count, 10) == []


def test_summary_is_one_line_of_key_value_pairs():
    assert summarize('{"amount": 5, "to": "account-2", "tags": [1, 2]}') == (
        "amount=5 to=account-2 tags=[2]"
    )
    assert summarize('{"note": "two words"}') == 'note="two words"'
    assert summarize(None) == ""


def test_go_to_positions_offsets_versions_and_times(synthetic_store):
    cur = synthetic_store.cursor()
    assert resolve_point(cur, "42", 1, None) == 42
    assert resolve_point(cur, "#42", 1, None) == 42
    assert resolve_point(cur, "+10", 42, None) == 52
    assert resolve_point(cur, "end", 1, None) == 300
    third = positions(synthetic_store, "stream = 'account-2' AND version = 3")[0]
    assert resolve_point(cur, "version:3", 1, "account-2") == third
    time = synthetic_store.con.execute("SELECT time FROM events WHERE position = 77").fetchone()[0]
    assert resolve_point(cur, time.isoformat(), 1, None) == 77
    with pytest.raises(TracerError, match="stream 'account-2' has no version 999: its last"):
        resolve_point(cur, "version:999", 1, "account-2")  # not the stream's last event
    with pytest.raises(TracerError, match="no event at position 301"):
        resolve_point(cur, "301", 1, None)
    with pytest.raises(TracerError, match="cannot read"):
        resolve_point(cur, "yesterday", 1, None)


def test_neighbours_in_a_stream_and_type_hits(synthetic_store):
    cur = synthetic_store.cursor()
    own = positions(synthetic_store, "stream = 'account-5'")
    assert stream_neighbour(cur, "account-5", own[3], True) == own[4]
    assert stream_neighbour(cur, "account-5", own[3], False) == own[2]
    assert stream_neighbour(cur, "account-5", own[-1], True) is None
    withdrawn = positions(synthetic_store, "type = 'Withdrawn'")
    assert type_hit(cur, ["Withdrawn"], withdrawn[0], True) == withdrawn[1]
    assert type_hit(cur, ["Withdrawn"], withdrawn[1], False) == withdrawn[0]


def test_rate_histogram_counts_every_event_once(synthetic_store):
    hist = rate_histogram(synthetic_store.cursor(), EventFilter(), buckets=50)
    assert hist.counts.sum() == 300 and len(hist.counts) == 50
    scoped = rate_histogram(synthetic_store.cursor(), scope_filter(stream="account-1"))
    assert scoped.counts.sum() == len(positions(synthetic_store, "stream = 'account-1'"))
    assert hist.bucket_of(hist.start) == 0.0 and hist.bucket_of(hist.end) == 1.0


def test_stream_entries_list_all_categories_and_matching_streams(synthetic_store):
    entries, total = stream_entries(synthetic_store.cursor(), "")
    assert entries[0].kind == "all" and entries[0].events == 300 and entries[0].streams == 6
    assert [e.name for e in entries if e.kind == "stream"] == [f"account-{i}" for i in range(1, 7)]
    assert total == 6
    entries, total = stream_entries(synthetic_store.cursor(), "nt-5")
    assert [e.name for e in entries if e.kind == "stream"] == ["account-5"] and total == 1


def test_text_search_covers_meta_and_ids_and_stream_is_a_name_or_a_prefix(synthetic_store):
    cur = synthetic_store.cursor()
    synthetic_store.con.execute(
        """UPDATE events SET meta = '{"user": "auditor-zed"}', correlation_id = 'corr-42'
           WHERE position = 7"""
    )
    assert list(build_view(cur, parse_filter("auditor-zed")).positions) == [7]
    assert list(build_view(cur, parse_filter("CORR-42")).positions) == [7]
    every = build_view(cur, parse_filter("stream:account-")).count
    assert every == 300  # a prefix of every stream name
    own = positions(synthetic_store, "stream = 'account-1'")
    assert list(build_view(cur, parse_filter("stream:account-1")).positions) == own


def test_names_are_cut_so_that_they_still_say_which_and_types_keep_their_room():
    assert cut_middle("inventory-warehouse-0040", 15) == "inventory-…0040"
    assert cut_middle("order-7", 10) == "order-7   "
    widths = TextWidths(stream=30, type=25, version=1, days=True)
    columns = Columns.fit(77, 1000, widths)
    assert columns.type == 25 and columns.stream == 15 and columns.time == 14
    assert columns.summary >= 8
    assert Columns.fit(77, 1000, widths._replace(days=False)).time == 8
