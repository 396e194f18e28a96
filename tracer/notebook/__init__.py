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

Figures need plotly and the slider ipywidgets (the ``notebook`` extra). Names are imported on
first use, so :mod:`tracer.notebook.html` (the HTML views) works without either. The core of
tracer never imports this package.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "timeline": "figures",
    "event_rate": "figures",
    "correlation_graph": "figures",
    "field_history": "state_figures",
    "diff_bars": "state_figures",
    "distribution": "state_figures",
    "whatif_comparison": "state_figures",
    "HTML": "html",
    "state_html": "html",
    "diff_html": "html",
    "match_html": "html",
    "whatif_html": "html",
    "show_state": "html",
    "TimeSlider": "slider",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'tracer.notebook' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"tracer.notebook.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
