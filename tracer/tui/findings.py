"""Integrity findings in the terminal UI (:func:`tracer.audit.findings`).

The findings are computed once, in a worker, once the first event is on screen; the timeline then
marks ``!`` beside every event a finding sits on (a version gap, a repeat, time going back, a
duplicate id, a retried write). ``a`` lists the findings of the selected event's stream, with a
count of the others in the log; Enter jumps to a finding's event. Payload shapes, which the
audit lists too, are shapes rather than problems: ``p`` shows them
(:mod:`tracer.tui.shape`). A mixin of :class:`tracer.tui.app.TracerApp`.
"""

from __future__ import annotations

import re
from collections import Counter
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from rich.text import Text
from textual import work

from tracer.audit import findings
from tracer.tui import messages as msg
from tracer.tui.panels import ChangePanel
from tracer.tui.screens import ResultScreen
from tracer.tui.timeline import Timeline

if TYPE_CHECKING:
    from tracer.tui.app import TracerApp

    _Base = TracerApp
else:
    _Base = object

SHAPE = "payload_shape"  # findings of this kind describe the log, they mark no problem
MAX_ROWS = 1000  # findings a screen lists at most
_UUID = re.compile(
    r"\b([0-9a-fA-F]{8})-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\b"
)


def short_ids(text: str) -> str:
    """``text`` with each UUID cut to its first 8 digits (``ac76cb2d…``), to fit a screen."""
    return _UUID.sub(lambda m: m.group(1) + "…", text)


def problem_positions(frame: pd.DataFrame) -> np.ndarray:
    """The sorted positions of the events that findings (other than shapes) sit on."""
    positions = frame.loc[frame["finding"] != SHAPE, "position"].dropna()
    return np.unique(positions.astype("int64").to_numpy())


def findings_by_position(frame: pd.DataFrame) -> dict[int, list[tuple[str, str]]]:
    """The findings (kind, detail) that sit on each event, for the event panel."""
    problems = frame[(frame["finding"] != SHAPE) & frame["position"].notna()]
    by_position: dict[int, list[tuple[str, str]]] = {}
    for kind, position, detail in zip(
        problems["finding"], problems["position"], problems["detail"], strict=True
    ):
        by_position.setdefault(int(position), []).append((str(kind), short_ids(str(detail))))
    return by_position


def finding_rows(frame: pd.DataFrame, stream: str) -> list[tuple[Any, list[Any]]]:
    """The rows of the findings screen: the stream's findings, by position (ids cut short and
    the stream, which the title names, left out of the details: one line each on a screen)."""
    mine = frame[(frame["finding"] != SHAPE) & (frame["stream"] == stream)]
    mine = mine.sort_values("position", kind="stable")
    rows: list[tuple[Any, list[Any]]] = []
    for record in mine.head(MAX_ROWS).to_dict(orient="records"):
        position = record["position"]
        known = position is not None and not pd.isna(position)
        rows.append(
            (
                int(position) if known else None,
                [
                    Text(str(record["finding"]), style="bold"),
                    str(int(position)) if known else "",
                    "" if pd.isna(record["version"]) else str(int(record["version"])),
                    str(record["type"] or ""),
                    short_ids(str(record["detail"] or "")).replace(f" in {stream})", ")"),
                ],
            )
        )
    return rows


def findings_summary(frame: pd.DataFrame, stream: str, shown: int) -> str:
    """How many findings the stream has, and what the rest of the log has, by kind."""
    problems = frame[frame["finding"] != SHAPE]
    here = int((problems["stream"] == stream).sum())
    others = Counter(problems.loc[problems["stream"] != stream, "finding"])
    text = f"{here:,} finding{'' if here == 1 else 's'} in {stream}"
    if shown < here:
        text += f" (the first {shown:,} listed)"
    if others:
        kinds = ", ".join(f"{n:,} {kind}" for kind, n in sorted(others.items()))
        text += f"; elsewhere in the log: {kinds}"
    else:
        text += "; none elsewhere in the log"
    return text


class FindingsActions(_Base):
    audit: pd.DataFrame | None = None  # every finding of the log, once computed
    findings_at: dict[int, list[tuple[str, str]]] = {}  # noqa: RUF012 (replaced, never changed)
    _auditing = False

    def on_detail_shown(self, message: msg.DetailShown) -> None:
        """Once the first event is on screen (it comes first), the audit starts; the event
        panel says which findings sit on the event it shows."""
        if not self._auditing:
            self._auditing = True
            self._audit()
        self._show_findings_at(message.position)

    @work(thread=True, group="findings", exclusive=True, exit_on_error=False)
    def _audit(self) -> None:
        frame = findings(self.store)  # (on a cursor of its own: stepping goes on meanwhile)
        positions, at = problem_positions(frame), findings_by_position(frame)
        self.call_from_thread(self.show_findings, frame, positions, at)

    def show_findings(
        self, frame: pd.DataFrame, positions: np.ndarray, at: dict[int, list[tuple[str, str]]]
    ) -> None:
        self.audit, self.findings_at = frame, at
        for timeline in self.query(Timeline):  # (none while the app closes)
            timeline.findings = positions
            timeline.refresh()
        if self.detail is not None:
            self._show_findings_at(self.detail.position)

    def _show_findings_at(self, position: int) -> None:
        for panel in self.query(ChangePanel):
            panel.show_findings(self.findings_at.get(position, []))

    def action_findings(self) -> None:
        if self.audit is None:
            self.notify("still auditing the log: try again in a moment", timeout=3)
            return
        stream = self.cursor_stream()
        if stream is None:
            self.notify("no event selected", timeout=3)
            return
        rows = finding_rows(self.audit, stream)
        self.push_screen(
            ResultScreen(
                f"Integrity findings · {stream}",
                ["finding", "#", "v", "type", "detail"],
                rows,
                summary=findings_summary(self.audit, stream, len(rows)),
                hint="enter: go to the event · escape: close",
                empty=f"no finding in {stream}",
            ),
            callback=self._finding_chosen,
        )

    def _finding_chosen(self, position: Any) -> None:
        if position is not None:
            self.post_message(msg.Jump(int(position)))
