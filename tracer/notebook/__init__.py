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
first use; the HTML views live in the core (:mod:`tracer.replay.html`) and need neither. The core of
tracer never imports this package.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "timeline": "figures",
    "event_rate": "figures",
    "correlation_graph": "graph_figures",
    "field_history": "state_figures",
    "diff_bars": "state_figures",
    "distribution": "state_figures",
    "whatif_comparison": "whatif_figures",
    "shape_timeline": "shape_figures",
    "divergence_timeline": "compare_figures",
    "HTML": "tracer.replay.html",
    "state_html": "tracer.replay.html",
    "diff_html": "tracer.replay.html",
    "match_html": "tracer.replay.html",
    "whatif_html": "tracer.replay.html",
    "show_state": "tracer.replay.html",
    "TimeSlider": "slider",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'tracer.notebook' has no attribute {name!r}")
    path = module if "." in module else f"tracer.notebook.{module}"
    value = getattr(importlib.import_module(path), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
