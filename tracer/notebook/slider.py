"""A time slider for Jupyter: scrub through a stream's events and watch its state change.

    TimeSlider(replay, "account-7", "balance")

shows a play button, a slider over the stream's events (by version), the state after the
selected event with the fields it changed highlighted, and the history of one field with a line
at the selected event: the notebook counterpart of the terminal debugger.
"""

from __future__ import annotations

import html
from typing import Any

import ipywidgets as widgets
import numpy as np
import plotly.graph_objects as go
from IPython import get_ipython
from IPython.display import clear_output, display

from tracer.errors import TracerError
from tracer.notebook.state_figures import field_history
from tracer.notebook.style import when
from tracer.replay import Replay
from tracer.replay.html import last_change, state_html
from tracer.replay.paths import leaves


class TimeSlider:
    """Scrubs through one stream's events (a read model: through every event of the log).

    ``path``: the field plotted under the state (default: the first numeric field of the final
    state; none is plotted when the state has no number). ``start``: the event shown first, as
    an index from 1 (default: the last event).
    """

    def __init__(
        self,
        replay: Replay,
        stream: str | None = None,
        path: str | None = None,
        *,
        start: int | None = None,
        interval: int = 600,
    ) -> None:
        self.replay = replay
        self.stream = stream
        if replay.is_read_model:
            self.positions = np.arange(1, replay.source.max_position() + 1)
            self.key = stream
        else:
            if stream is None:
                raise TracerError(f"projection {replay.name} keeps one state per stream: name one")
            replay.need_stream(stream)
            with replay.store.lock:
                rows = replay.store.con.execute(
                    "SELECT position FROM events WHERE stream = ? ORDER BY position", [stream]
                ).fetchall()
            self.positions = np.array([r[0] for r in rows], dtype=np.int64)
            self.key = stream
        if not len(self.positions):
            raise TracerError("the time slider needs at least one event")
        self.path = path if path is not None else self._numeric_path()
        count = len(self.positions)
        first = count if start is None else min(max(int(start), 1), count)
        self.slider = widgets.IntSlider(
            value=first,
            min=1,
            max=count,
            description="event",
            continuous_update=False,
            layout=widgets.Layout(width="60%"),
        )
        self.play = widgets.Play(value=first, min=1, max=count, interval=interval)
        widgets.jslink((self.play, "value"), (self.slider, "value"))
        self.back = widgets.Button(icon="step-backward", tooltip="previous event")
        self.forward = widgets.Button(icon="step-forward", tooltip="next event")
        for button in (self.back, self.forward):
            button.layout = widgets.Layout(width="40px")
        self.back.on_click(lambda _: self.step(-1))
        self.forward.on_click(lambda _: self.step(1))
        self.event = widgets.HTML()
        self.state = widgets.HTML(layout=widgets.Layout(min_width="360px"))
        self.plot = widgets.Output(layout=widgets.Layout(flex="1 1 auto"))
        self.figure: go.Figure | None = None
        if self.path is not None:
            self.figure = field_history(replay, self.key, self.path)
            self.figure.update_layout(height=360)
            self._shapes = self.figure.layout.shapes
        self.widget = widgets.VBox(
            [
                widgets.HBox([self.play, self.back, self.slider, self.forward]),
                self.event,
                widgets.HBox([self.state, self.plot]),
            ]
        )
        self.slider.observe(lambda change: self.show(change["new"]), names="value")
        self.show(first)

    def _numeric_path(self) -> str | None:
        state = self.replay.state(self.key, int(self.positions[-1])).state
        for path, value in leaves(state):
            if path and isinstance(value, int | float) and not isinstance(value, bool):
                return path
        return None

    def step(self, delta: int) -> None:
        """Move the slider by ``delta`` events (stays within the stream)."""
        self.slider.value = min(max(self.slider.value + delta, 1), self.slider.max)

    @property
    def position(self) -> int:
        """The global position of the event shown."""
        return int(self.positions[self.slider.value - 1])

    def show(self, index: int) -> None:
        """Show the state after the ``index``-th event (from 1)."""
        position = int(self.positions[index - 1])
        result = self.replay.state(self.key, position)
        row = self.replay.store.event(position)
        assert row is not None
        self.event.value = (
            f"<b>{html.escape(str(row['type']))}</b> in {html.escape(str(row['stream']))} · "
            f"position {position} · version {row['version']} · {html.escape(when(row['time']))}"
        )
        self.state.value = state_html(result, last_change(self.replay, result))
        if self.figure is not None:
            self._mark(row["time"])

    def _mark(self, time: Any) -> None:
        self.figure.layout.shapes = self._shapes
        if time is not None:
            self.figure.add_vline(x=time, line={"color": "#CF222E", "width": 1.5, "dash": "dot"})
        if get_ipython() is not None:
            with self.plot:
                clear_output(wait=True)
                display(self.figure)

    def _ipython_display_(self) -> None:
        display(self.widget)
