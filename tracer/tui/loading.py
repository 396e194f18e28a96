"""Loading the sources, following them, and the load's accounting: the header's counts, the
notice when rows were rejected and the screen that lists them. A mixin of
:class:`tracer.tui.app.TracerApp`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from textual import work

from tracer.errors import TracerError
from tracer.tui import messages as msg
from tracer.tui.accounting import Accounting, rejected_rows
from tracer.tui.screens import LoadScreen
from tracer.tui.status import Part
from tracer.tui.streams import StreamsPanel

if TYPE_CHECKING:
    from tracer.tui.app import TracerApp

    _Base = TracerApp
else:
    _Base = object

FOLLOW_INTERVAL = 0.5  # seconds between two rounds of --follow


class LoadingActions(_Base):
    # -- loading ------------------------------------------------------------------------------
    @work(thread=True, group="load", exit_on_error=False)
    def _load_sources(self) -> None:
        def progress(stage: str, done: int, total: int | None) -> None:
            self.post_message(msg.LoadProgress(stage, done, total))

        try:
            report = self.store.load(*self.sources, progress=progress, **self.load_options)
        except TracerError as exc:
            self.post_message(msg.Failed("load", str(exc)))
            return
        self.post_message(msg.LoadProgress("done", 1, 1, Accounting.of_report(report)))

    def on_load_progress(self, message: msg.LoadProgress) -> None:
        screen = self.screen
        if message.stage == "done":
            if isinstance(screen, LoadScreen):
                self.pop_screen()
            self.accounting = message.accounting
            self._start()
        elif isinstance(screen, LoadScreen):
            screen.progress(message.stage, message.done, message.total)

    def show_accounting(self, accounting: Accounting | None) -> None:
        """The accounting in the header, and a notice with the top reasons for rejections."""
        self.accounting = accounting
        if accounting is not None and accounting.rejected:
            self.notify(accounting.notice(), title="rejected rows", severity="warning", timeout=20)
        self.update_status()

    def accounting_parts(self) -> list[Part]:
        """The header's counts: the loaded, duplicate and system counts give way first; the
        rejected count stays."""
        accounting = self.accounting
        if accounting is None:
            return []
        parts = [Part(accounting.summary(), shrink=((0, 0),))]
        if accounting.rejected:
            parts.append(Part(f"{accounting.rejected:,} rejected (R)", "bold"))
        return parts

    # -- the rejected rows --------------------------------------------------------------------
    def action_rejected(self) -> None:
        accounting = self.accounting
        if accounting is None or not accounting.rejected:
            self.notify("no rejected rows: every row read was accounted for", timeout=3)
            return
        self.clear_notifications()  # the notice that says to press R
        self._list_rejected(accounting.load_ids)

    @work(thread=True, group="rejected", exclusive=True, exit_on_error=False)
    def _list_rejected(self, load_ids: tuple[int, ...]) -> None:
        cur = self.store.cursor()
        try:
            rows, total = rejected_rows(cur, load_ids)
        finally:
            cur.close()
        shown = f"the first {len(rows):,} of {total:,}" if total > len(rows) else f"{total:,}"
        reasons = self.accounting.reasons if self.accounting is not None else ()
        top = "; ".join(f"{n:,} × {r}" for r, n in reasons[:3])
        summary = f"{shown} rejected rows" + (f": {top}" if top else "")
        columns = ["source", "line", "reason", "raw"]
        result = (columns, [(None, row) for row in rows], summary)
        self.post_message(msg.ResultReady("rejected", "Rejected rows", result))

    # -- follow mode --------------------------------------------------------------------------
    @work(thread=True, group="follow", exit_on_error=False)
    def _follow(self) -> None:
        from tracer.load import follow

        def report(result: Any) -> None:
            self.post_message(msg.FollowReport(result))

        def error(source: str, exc: TracerError) -> None:
            self.post_message(msg.Failed("follow", f"{source}: {exc}"))

        follow(
            self.store,
            self.sources,
            options=self.load_options,
            interval=FOLLOW_INTERVAL,
            stop=self._stop,
            on_report=report,
            on_error=error,
        )

    def on_follow_report(self, message: msg.FollowReport) -> None:
        """New events: recount the view (the cursor stays), refresh the strip and the streams,
        and add the round to the accounting."""
        report = message.report
        if not self.query(StreamsPanel):
            return  # the app closes
        self.followed += int(getattr(report, "loaded", 0) or 0)
        if hasattr(report, "load_id"):
            more = Accounting.of_report(report)
            self.accounting = more if self.accounting is None else self.accounting.plus(more)
            if more.rejected:
                self.notify(more.notice(), title="rejected rows", severity="warning", timeout=10)
            self.update_status()
        self._recount(self.view_filter())
        self._histogram(self.view_filter())
        self.query_one(StreamsPanel).reload()
