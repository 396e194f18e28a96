"""What each figure draws: traces, point counts, axis titles, hover text, and how it reduces a
large log (lanes, buckets, bars) instead of sending every event to the browser."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("plotly")

from samples import ACCOUNT, BALANCES, ROOT

import tracer
from tracer import ReadModel, TracerError, on
from tracer import notebook as tn
from tracer.notebook.steps import thin
from tracer.notebook.values import whatif_history
from tracer.replay import Replay
from tracer.synthetic import fill_store

REQUEST = "ac76cb2d-e775-41f5-a5a4-a0768876b900"


@pytest.fixture(scope="module")
def store(bank_store):
    return bank_store


@pytest.fixture(scope="module")
def replay(store):
    return Replay(store, ACCOUNT)


@pytest.fixture(scope="module")
def big():
    """A synthetic log too large to draw event by event: 60,000 events, 600 streams."""
    store = tracer.open()
    fill_store(store, 60_000, 600)
    yield store
    store.close()


def lane_counts(store) -> pd.Series:
    return store.sql("SELECT stream, count(*) AS n FROM events GROUP BY stream").set_index(
        "stream"
    )["n"]


def points(fig, name: str) -> int:
    return sum(len(t.x) for t in fig.data if t.name == name)


def subtitle(fig) -> str:
    return fig.layout.title.text


# -- timeline ---------------------------------------------------------------------------------
def test_timeline_draws_every_event_in_its_lane_coloured_by_type(store):
    fig = tn.timeline(store)
    types = set(store.types()["type"])
    assert {t.name for t in fig.data} == types
    assert sum(len(t.x) for t in fig.data) == 1929
    assert set(fig.layout.yaxis.categoryarray) == set(lane_counts(store).index)
    assert fig.layout.xaxis.title.text == "time (UTC)"
    assert fig.layout.yaxis.title.text == "stream"
    colours = {t.name: t.marker.color for t in fig.data}
    assert len(set(colours.values())) == len(types)
    withdrawn = next(t for t in fig.data if t.name == "Withdrawn")
    row = next(r for r in withdrawn.customdata if int(r[1]) == 798)
    assert row[3] == "account-7" and row[2] == "33"
    assert REQUEST in row[5] and row[4].startswith("2026-03-04 10:17:10.285")


def test_timeline_rings_highlighted_events(store):
    fig = tn.timeline(store, highlight=[797, 798])
    ring = next(t for t in fig.data if t.name == "highlighted")
    assert sorted(int(r[1]) for r in ring.customdata) == [797, 798]
    assert list(ring.y) == ["account-7", "account-7"]


def test_timeline_keeps_the_busiest_lanes_and_says_how_many_are_left_out(store):
    fig = tn.timeline(store, max_lanes=5)
    counts = lane_counts(store).sort_values(ascending=False)
    lanes = set(fig.layout.yaxis.categoryarray)
    assert len(lanes) == 5
    assert min(counts[list(lanes)]) >= counts.iloc[5]
    assert sum(len(t.x) for t in fig.data) == counts[list(lanes)].sum()
    left = 1929 - counts[list(lanes)].sum()
    assert f"21 lanes ({left:,} events) left out" in subtitle(fig)


def test_timeline_of_a_large_log_counts_events_per_bucket(big):
    fig = tn.timeline(big, max_lanes=40, max_points=2000)
    (heat,) = fig.data
    assert heat.type == "heatmap"
    z = np.nan_to_num(np.array(heat.z, dtype=float))
    assert z.shape == (40, 50)  # lanes x buckets <= max_points
    busiest = lane_counts(big).sort_values(ascending=False).head(40)
    assert z.sum() == busiest.sum()
    assert list(heat.y) == list(fig.layout.yaxis.categoryarray)[::-1]
    assert "counted per" in subtitle(fig)
    assert "Withdrawn: " in heat.text[0][int(np.argmax(z[0]))]


def test_timeline_by_category_and_of_events_without_a_time():
    store = tracer.open()
    store.con.execute(
        """INSERT INTO events (position, event_id, stream, category, version, type, time, data)
           VALUES (1, 'a', 'cart-1', 'cart', 1, 'Opened', '2026-01-01 10:00:00+00', '{}'),
                  (2, 'b', 'cart-1', 'cart', 2, 'Closed', NULL, '{}'),
                  (3, 'c', 'user-1', 'user', 1, 'Joined', '2026-01-02 10:00:00+00', '{}')"""
    )
    fig = tn.timeline(store, by="category")
    assert list(fig.layout.yaxis.categoryarray) == ["user", "cart"]
    assert sum(len(t.x) for t in fig.data) == 2
    assert "1 event without a time not drawn" in subtitle(fig)
    by_position = tn.timeline(store, x="position")
    assert sum(len(t.x) for t in by_position.data) == 3
    assert by_position.layout.xaxis.title.text == "global position"
    with pytest.raises(TracerError):
        tn.timeline(store, by="type")


# -- event rate -------------------------------------------------------------------------------
def test_event_rate_counts_events_per_day_by_type(store):
    fig = tn.event_rate(store)
    assert sum(sum(t.y) for t in fig.data) == 1929
    assert fig.layout.yaxis.title.text == "events per day"
    assert fig.layout.barmode == "stack"
    deposits = next(t for t in fig.data if t.name == "Deposited")
    days = store.sql(
        """SELECT time_bucket(INTERVAL '1 day', time) AS day, count(*) AS n FROM events
           WHERE type = 'Deposited' GROUP BY day"""
    )
    assert sorted(deposits.y) == sorted(days["n"])


def test_event_rate_names_the_top_types_and_sums_the_rest(store):
    fig = tn.event_rate(store, top=2, every="1 hour")
    counts = store.types().set_index("type")["events"]
    named = [t.name for t in fig.data]
    assert len(named) == 3 and named[2] == "other"
    assert min(counts[named[:2]]) >= counts.drop(named[:2]).max()
    assert sum(fig.data[2].y) == counts.drop(named[:2]).sum()
    assert fig.layout.yaxis.title.text == "events per 1 hour"
    with pytest.raises(TracerError, match="bad bucket width"):
        tn.event_rate(store, every="1 hour'; DROP TABLE events; --")


def test_event_rate_of_a_large_log_stays_within_its_bucket_budget(big):
    fig = tn.event_rate(big, max_buckets=50)
    assert max(len(t.x) for t in fig.data) <= 50
    assert sum(sum(t.y) for t in fig.data) == 60_000


# -- correlation graph ------------------------------------------------------------------------
def test_correlation_graph_shows_one_request_causing_two_withdrawals(store):
    fig = tn.correlation_graph(store, event=798)
    (withdrawn,) = [t for t in fig.data if t.name == "Withdrawn"]
    assert sorted(int(r[1]) for r in withdrawn.customdata) == [797, 798]
    assert list(withdrawn.marker.line.width) == [0.5, 2.5]  # the seed is ringed
    outside = next(t for t in fig.data if t.name == "cause outside the log")
    assert [(r[0], int(r[1])) for r in outside.customdata] == [(REQUEST, 2)]
    causation = next(t for t in fig.data if t.name == "causation link")
    assert len(causation.x) == 2 * 3  # two edges, each x0, x1, None
    assert len([a for a in fig.layout.annotations if a.showarrow]) == 2
    correlation = next(t for t in fig.data if t.name == "correlation link")
    assert len(correlation.x) == 3


def test_correlation_graph_links_both_legs_of_a_transfer(store):
    fig = tn.correlation_graph(store, event=793)
    nodes = {int(r[1]): r[3] for t in fig.data if t.customdata is not None for r in t.customdata
             if t.name not in ("cause outside the log",)}  # fmt: skip
    assert nodes == {792: "account-5", 793: "account-7"}
    arrows = [(a.ax, a.x) for a in fig.layout.annotations if a.showarrow]
    assert len(arrows) == 2  # the request -> sent leg, sent leg -> received leg
    assert "2 events, 2 causation and 0 correlation links" in subtitle(fig)


def test_correlation_graph_stops_at_its_limit_and_needs_a_seed(store):
    fig = tn.correlation_graph(store, stream="account-7", limit=10)
    drawn = sum(len(t.x) for t in fig.data if t.customdata is not None and t.mode != "lines")
    assert drawn - len(next(t for t in fig.data if t.name == "cause outside the log").x) == 10
    assert "cut at 10 events" in subtitle(fig)
    with pytest.raises(TracerError, match="name an event"):
        tn.correlation_graph(store)
    with pytest.raises(TracerError, match="no event"):
        tn.correlation_graph(store, correlation_id="nope")


# -- field history ----------------------------------------------------------------------------
def test_field_history_marks_every_change_and_names_the_event(replay):
    fig = tn.field_history(replay, ["account-7", "account-3"], "balance")
    assert [t.name for t in fig.data] == [
        "account-7",
        "account-7 changes",
        "account-3",
        "account-3 changes",
    ]
    history = replay.history("account-7", "balance")
    markers = fig.data[1]
    assert len(markers.x) == len(history)
    index = [int(p) for p in markers.customdata[:, 1]].index(798)
    assert markers.y[index] == -132
    assert "Withdrawn" in markers.customdata[index][3]
    assert fig.data[0].line.shape == "hv"
    assert fig.data[0].line.color == markers.marker.color
    assert fig.data[0].line.color != fig.data[2].line.color
    assert fig.layout.yaxis.title.text == "balance"
    assert any(s.y0 == 0 and s.y1 == 0 for s in fig.layout.shapes)  # the zero line
    assert len(fig.data[0].x) == len(history) + 1  # held until the log's last event


def test_field_history_of_a_read_model_and_its_limits(store):
    balances = Replay(store, BALANCES)
    fig = tn.field_history(balances, None, "total")
    assert fig.data[0].name == "read model"
    assert len(fig.data[1].x) == len(balances.history(None, "total"))
    with pytest.raises(TracerError, match="at most 2"):
        tn.field_history(balances, ["a", "b", "c"], "total", max_streams=2)


def test_thin_keeps_the_envelope_of_a_long_history():
    values = np.sin(np.arange(10_000) / 50) * 100
    values[4321] = 500
    frame = pd.DataFrame({"value": values})
    kept = thin(frame, 400)
    assert len(kept) <= 400
    assert {0, 9_999, 4321} <= set(kept.index)
    assert kept["value"].min() == values.min()


# -- diff across streams ----------------------------------------------------------------------
def test_diff_bars_show_how_much_each_stream_changed(replay):
    march = ("time:2026-02-28T23:59:59Z", "time:2026-03-31T23:59:59Z")
    fig = tn.diff_bars(replay, "balance", *march)
    (bars,) = fig.data
    expected = {}
    for stream in replay.store.streams()["stream"]:
        old = replay.state(stream, march[0]).state["balance"]
        new = replay.state(stream, march[1]).state["balance"]
        if old != new:
            expected[stream] = new - old
    assert dict(zip(bars.y, bars.x, strict=True)) == expected
    assert list(bars.x) == sorted(bars.x)  # the largest increase on top
    assert {c for x, c in zip(bars.x, bars.marker.color, strict=True) if x < 0} == {"#CF222E"}
    assert fig.layout.xaxis.title.text == "change of balance"
    assert f"{len(expected)} streams changed" in subtitle(fig)


def test_diff_bars_keep_the_largest_changes(big):
    fig = tn.diff_bars(Replay(big), "amount", 30_000, "end", top=12)
    assert len(fig.data[0].y) == 12
    assert "the 12 largest changes shown" in subtitle(fig)


# -- distribution -----------------------------------------------------------------------------
def test_distribution_separates_values_below_a_threshold(replay):
    at = "time:2026-03-05T00:00:00Z"
    fig = tn.distribution(replay, "balance", at, below=0)
    below = next(t for t in fig.data if t.name == "< 0")
    above = next(t for t in fig.data if t.name == "≥ 0")
    assert sum(below.y) == 1 and "account-7" in "".join(r[2] for r in below.customdata)
    assert sum(above.y) + sum(below.y) == len(replay.states(at))
    assert len(above.x) <= 31
    assert fig.layout.yaxis.title.text == "streams"
    assert "1 below 0" in subtitle(fig)


def test_distribution_of_a_non_numeric_field_counts_values(replay):
    fig = tn.distribution(replay, "status")
    (bars,) = fig.data
    assert dict(zip(bars.x, bars.y, strict=True)) == {"open": 24, "closed": 2}
    assert fig.layout.xaxis.title.text == "status (value)"


# -- what-if ----------------------------------------------------------------------------------
def test_whatif_comparison_draws_real_and_counterfactual_histories(replay):
    fig = tn.whatif_comparison(replay, "account-7", "balance", skip=[798])
    names = [t.name for t in fig.data]
    assert names[:4] == ["real", "real changes", "what-if", "what-if changes"]
    real, alternative = fig.data[1], fig.data[3]
    assert real.y[-1] == 3251 and alternative.y[-1] == 3661
    assert 798 not in {int(p) for p in alternative.customdata[:, 1]}
    difference = next(t for t in fig.data if t.name == "what-if − real")
    assert difference.y[-1] == 410 and min(difference.y) == 0
    assert [a.text for a in fig.layout.annotations if "pos" in (a.text or "")] == [
        "skipped pos 798"
    ]
    assert "(difference +410)" in subtitle(fig)
    assert fig.layout.yaxis.title.text == "balance"


def test_whatif_history_without_changes_is_the_real_history(replay, store):
    for target, name, path in ((replay, "account-7", "balance"), (Replay(store, BALANCES), None,
                               "total")):  # fmt: skip
        real = target.history(name, path)
        same = whatif_history(target, name, path)
        pd.testing.assert_frame_equal(real.reset_index(drop=True), same, check_dtype=False)


def test_whatif_history_with_an_edit_and_an_insert(replay):
    edited = whatif_history(replay, "account-7", "balance", edit={798: {"amount": 10}})
    assert edited["value"].iloc[-1] == 3251 + 400
    added = whatif_history(
        replay,
        "account-7",
        "balance",
        insert=[(800, {"stream": "account-7", "type": "Deposited", "data": {"amount": 1000}})],
    )
    assert added["value"].iloc[-1] == 3251 + 1000
    assert added.loc[added["event_id"] == "whatif-1", "value"].item() == -132 + 1000


def test_whatif_comparison_of_a_read_model_with_many_skipped_events():
    store = tracer.open()
    store.load(str(ROOT / "sample_logs" / "shop.csv"), mapping={"stream": "order_id",
               "version": "seq"})  # fmt: skip

    class Revenue(ReadModel):
        def initial(self):
            return {"net": 0}

        @on("OrderPaid")
        def paid(self, state, event):
            state["net"] = round(state["net"] + event.data["amount"], 2)

        @on("OrderRefunded")
        def refunded(self, state, event):
            state["net"] = round(state["net"] - event.data["amount"], 2)

    refunds = store.events(type="OrderRefunded")["position"].tolist()
    fig = tn.whatif_comparison(Replay(store, Revenue), None, "net", skip=refunds)
    assert "(difference +2,165.1)" in subtitle(fig)
    ticks = next(t for t in fig.data if t.name == "modified events")
    assert len(ticks.x) == len(refunds) == 56
    assert not [s for s in fig.layout.shapes if s.type == "line" and s.x0 == s.x1 and s.x0]
