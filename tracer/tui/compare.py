"""The debugger with two versions of a projection: ``tracer tui --projection OLD --against NEW``.

Once the log is on screen, both versions are compared over the whole history in a worker
(:func:`tracer.replay.compare.compare_projections`). The events after which a stream's states
first differ are marked ``≠`` in the timeline's gutter; ``n`` / ``N`` step between them (while
no search is active: a search keeps its own ``n`` / ``N``); ``v`` lists them, each differing
path with the old and the new version's values side by side, and Enter jumps to the event. The
state panels show the old version (the ``--projection``).
"""

from __future__ import annotations

import bisect
from typing import Any

import orjson
from rich.text import Text
from textual.binding import Binding

from tracer.api import Store
from tracer.replay.compare import CompareResult, compare_projections
from tracer.tui import messages as msg
from tracer.tui.app import TracerApp
from tracer.tui.screens import ResultScreen

MARK = "≠"


class CompareApp(TracerApp):
    """:class:`TracerApp` plus where the ``against`` version diverges from the replay's."""

    BINDINGS = [  # noqa: RUF012
        *TracerApp.BINDINGS,
        Binding("v", "divergences", "Diverge", id="divergences", tooltip="List divergences"),
    ]

    def __init__(self, store: Store, *, against: Any, **kwargs: Any) -> None:
        super().__init__(store, **kwargs)
        self.against = against
        self.comparison: CompareResult | None = None
        self.divergences: list[int] = []  # positions, ascending
        self._comparing = False

    # -- the comparison, once the log is on screen (after a load, if there is one) -----------
    def on_view_ready(self, message: msg.ViewReady) -> None:  # (TracerApp's runs too)
        if self._comparing:
            return
        self._comparing = True
        self.notify("comparing the two versions over the whole log…", timeout=3)
        self.run_worker(self._compare, thread=True, group="compare", exit_on_error=False)

    def _compare(self) -> None:
        result = compare_projections(self.store, self.replay.projection, self.against)
        self.call_from_thread(self.show_comparison, result)

    def show_comparison(self, result: CompareResult) -> None:
        self.comparison = result
        self.divergences = sorted({int(p) for p in result.divergences["position"]})
        self._mark()
        if not self.divergences:
            self.notify(f"{result.old} and {result.new} agree after every event", timeout=5)
            return
        self.notify(
            f"{result.diverged} of {result.streams} diverge, first at #{self.divergences[0]}: "
            "n / N step, v lists them",
            timeout=6,
        )

    def _mark(self) -> None:
        self.timeline.marks.update(dict.fromkeys(self.divergences, MARK))
        self.timeline.refresh()

    def action_mark(self, name: str) -> None:
        super().action_mark(name)  # (resets the gutter to marks A and B)
        self._mark()

    # -- stepping and listing -----------------------------------------------------------------
    def action_match(self, direction: int) -> None:
        if self.matches is not None and len(self.matches):
            super().action_match(direction)
            return
        self.step_divergence(direction)

    def step_divergence(self, direction: int) -> None:
        """Go to the next (1) or previous (-1) divergence, wrapping around."""
        if self.comparison is None:
            self.notify("still comparing the two versions", timeout=2)
            return
        if not self.divergences:
            self.notify("the versions agree after every event", timeout=3)
            return
        position = self.timeline.position or 0
        if direction >= 0:
            index = bisect.bisect_right(self.divergences, position)
            target = self.divergences[index % len(self.divergences)]
        else:
            index = bisect.bisect_left(self.divergences, position) - 1
            target = self.divergences[index]  # (-1: the last one)
        self.timeline.go_to_position(target)

    def action_divergences(self) -> None:
        result = self.comparison
        if result is None:
            self.notify("still comparing the two versions", timeout=2)
            return
        rows: list[tuple[Any, list[Any]]] = []
        for row in result.divergences.to_dict(orient="records"):
            name = row.get("key") if result.read_model else row["stream"]
            head = [Text(str(name), style="bold"), str(row["position"]), str(row["type"])]
            if row["kind"] == "error":
                error = Text(str(row["error"]), style="red")
                rows.append((row["position"], [*head, "error", error, ""]))
                continue
            for index, change in enumerate(row["diff"]):
                cells = head if index == 0 else ["", "", ""]
                old = "" if change["op"] == "add" else _short(change["old"])
                new = "" if change["op"] == "remove" else _short(change["new"])
                rows.append((row["position"], [*cells, change["path"] or "(root)", old, new]))
        columns = ["stream", "position", "type", "path", f"{result.old} (old)"]
        columns.append(f"{result.new} (new)")
        title = f"{result.diverged} of {result.streams} diverge"
        self.push_screen(
            ResultScreen(title, columns, rows, hint="enter: go to the event · escape: close"),
            callback=self._chosen,
        )

    def _chosen(self, position: Any) -> None:
        if position is not None:
            self.timeline.go_to_position(int(position))


def _short(value: Any, limit: int = 40) -> str:
    text = orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS, default=str).decode()
    return text if len(text) <= limit else text[: limit - 1] + "…"
