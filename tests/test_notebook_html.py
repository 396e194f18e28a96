"""HTML views of replay results (changed fields highlighted, values escaped) and the time
slider that scrubs through a stream's events."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

pytest.importorskip("ipywidgets")

from samples import ACCOUNT, BALANCES, REVENUE, ROOT

import tracer
from tracer import notebook as tn
from tracer.replay import Change, Replay, StateResult
from tracer.replay.html import last_change, state_table


@pytest.fixture(scope="module")
def store(bank_store):
    return bank_store


@pytest.fixture(scope="module")
def replay(store):
    return Replay(store, ACCOUNT)


def rows(markup: str) -> dict[str, str]:
    """``path -> css class`` of every row of a state table."""
    found = re.findall(r"<tr(?: class='(\w+)')?><td><code>([^<]*)</code>", markup)
    return {path: css for css, path in found}


def test_show_state_highlights_what_the_last_event_changed(replay):
    markup = tn.show_state(replay, "account-7", at=798)._repr_html_()
    assert rows(markup) == {
        "owner": "",
        "balance": "change",
        "status": "",
        "withdrawals": "change",
        "currency": "",
        "overdraft_limit": "",
        "last_request": "",
    }
    assert "<del><code>278</code></del> → <code>-132</code>" in markup
    assert "position 798 · version 33 · 2026-03-04T10:17:10.285000+00:00" in markup
    assert "account-7" in repr(tn.show_state(replay, "account-7", at=798))


def test_state_table_marks_added_and_removed_fields_and_escapes_values():
    state = {"name": "<script>alert(1)</script>", "lines": [{"sku": "a"}], "new": 1}
    changes = [
        Change("new", "add", None, 1),
        Change("lines[0]", "change", {"sku": "b"}, {"sku": "a"}),
        Change("gone", "remove", 5, None),
    ]
    markup = state_table(state, changes)
    assert rows(markup) == {"name": "", "lines[0].sku": "change", "new": "add", "gone": "remove"}
    assert "<script>" not in markup and "&lt;script&gt;" in markup
    assert "<del><code>5</code></del>" in markup


def test_state_html_of_an_empty_stream_and_a_long_state():
    empty = StateResult("s", None, None, None, {"n": 0}, "P")
    assert "no event yet" in tn.state_html(empty)
    big = StateResult(None, 9, None, None, {f"k{i}": i for i in range(250)}, "P")
    markup = tn.state_html(big)
    assert "read model" in markup and "… 50 more fields" in markup
    assert len(rows(markup)) == 200


def test_diff_html_colours_each_operation(replay):
    markup = tn.diff_html(replay.diff("account-7", 797, 798))
    assert "2 changes in account-7" in markup
    assert "<tr class='change'><td><code>balance</code></td>" in markup
    assert "<code>278</code></td><td><code>-132</code>" in markup
    same = tn.diff_html(replay.diff("account-7", 798, 800))
    assert "0 changes" in same and "the states are equal" in same


def test_match_and_whatif_views(replay):
    match = replay.find("state['balance'] < 0")
    markup = tn.match_html(match, replay.event_change(match.position))
    assert "match: Withdrawn in account-7" in markup
    assert rows(markup)["balance"] == "change"
    whatif = tn.whatif_html(replay.whatif(skip=[798]))
    assert "what-if: 1 state differ" in whatif and "skipped 798" in whatif
    assert re.search(r"balance</code></td><td><code>3251</code></td><td><code>3661", whatif)
    nothing = tn.whatif_html(replay.whatif(skip=[]))
    assert "no state differs" in nothing


def test_last_change_of_a_keyed_read_model_is_relative_to_the_key():
    store = tracer.open()
    store.load(
        str(ROOT / "sample_logs" / "shop.csv"), mapping={"stream": "order_id", "version": "seq"}
    )
    revenue = Replay(store, REVENUE)
    result = revenue.state("2026-03-29")
    assert store.event(result.position)["type"] == "OrderPaid"
    changes = last_change(revenue, result)
    assert {c.path for c in changes} == {"orders", "paid", "net"}
    markup = tn.show_state(revenue, "2026-03-29")._repr_html_()
    assert rows(markup) == {"orders": "change", "paid": "change", "refunded": "", "net": "change"}


def test_time_slider_scrubs_through_a_stream(replay, store):
    slider = tn.TimeSlider(replay, "account-7", "balance")
    versions = store.streams().set_index("stream").loc["account-7", "last_version"]
    assert slider.slider.max == versions and slider.slider.value == versions
    slider.slider.value = 33
    assert slider.position == 798
    assert "Withdrawn</b> in account-7 · position 798 · version 33" in slider.event.value
    assert rows(slider.state.value)["balance"] == "change"
    assert "<code>-132</code>" in slider.state.value
    marker = slider.figure.layout.shapes[-1]
    assert str(marker.x0).startswith("2026-03-04 10:17:10.285")
    zero = [s for s in slider.figure.layout.shapes if s.y0 == 0 and s.y1 == 0]
    assert len(zero) == 1  # the figure's own shapes survive the moves
    slider.step(-1)
    assert slider.position == 797 and "<code>278</code>" in slider.state.value
    slider.slider.value = 1
    slider.step(-1)
    assert slider.slider.value == 1 and rows(slider.state.value)["owner"] == "change"


def test_time_slider_picks_a_numeric_field_and_works_on_read_models(store):
    balances = Replay(store, BALANCES)
    slider = tn.TimeSlider(balances, start=798)
    assert slider.path == "total"
    assert slider.position == 798
    assert rows(slider.state.value)["accounts.account-7"] == "change"
    with pytest.raises(tracer.TracerError):
        tn.TimeSlider(Replay(store, ACCOUNT), "account-999")


def test_the_html_views_need_neither_plotly_nor_ipywidgets():
    code = (
        "import sys, tracer.replay.html\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in "
        "('plotly', 'ipywidgets', 'IPython')))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"
    assert all(callable(getattr(tn, name)) for name in tn.__all__)
