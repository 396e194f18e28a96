"""tracer in Jupyter: plotly figures, HTML views of replay results and a time slider.

    import tracer
    from tracer.replay import Replay
    from tracer import notebook as tn

    store = tracer.open()
    store.load("sample_logs/bank.jsonl")
    tn.timeline(store)
    replay = Replay(store, "sample_logs/projections/bank.py:Account")
    tn.field_history(replay, ["account-7"], "balance")
    tn.TimeSlider(replay, "account-7", "balance")

Needs the ``notebook`` extra (plotly, ipywidgets). The core of tracer never imports this package.
"""

from __future__ import annotations

from tracer.notebook.figures import correlation_graph, event_rate, timeline
from tracer.notebook.html import (
    HTML,
    diff_html,
    match_html,
    show_state,
    state_html,
    whatif_html,
)
from tracer.notebook.slider import TimeSlider
from tracer.notebook.state_figures import (
    diff_bars,
    distribution,
    field_history,
    whatif_comparison,
)

__all__ = [
    "HTML",
    "TimeSlider",
    "correlation_graph",
    "diff_bars",
    "diff_html",
    "distribution",
    "event_rate",
    "field_history",
    "match_html",
    "show_state",
    "state_html",
    "timeline",
    "whatif_comparison",
    "whatif_html",
]
