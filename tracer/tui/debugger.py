"""The debugger's actions: playback, breakpoints and (reverse-)continue, marks and diffs,
what-if, blame. A mixin of :class:`tracer.tui.app.TracerApp`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from textual import work
from textual.actions import ActionParseResult
from textual.actions import parse as parse_action
from textual.dom import DOMNode

from tracer.errors import TracerError
from tracer.tui import messages as msg
from tracer.tui.breakpoints import check_breakpoint
from tracer.tui.inspect import blame_position, next_hit
from tracer.tui.panels import short_json
from tracer.tui.paths import show_path
from tracer.tui.screens import BreakpointsScreen, ResultScreen
from tracer.tui.session import Breakpoint

if TYPE_CHECKING:
    from tracer.tui.app import TracerApp

    _Base = TracerApp
else:
    _Base = object


#: actions that leave playback running: play itself (it pauses) and the speed keys
PLAYBACK_ACTIONS = frozenset({"play", "speed"})


class DebuggerActions(_Base):
    # -- playback -----------------------------------------------------------------------------
    async def run_action(
        self,
        action: str | ActionParseResult,
        default_namespace: DOMNode | None = None,
        namespaces: Mapping[str, DOMNode] | None = None,
    ) -> bool:
        """Any key action but play and speed pauses playback first (a step, a prompt, a diff
        of the stream under the cursor): nothing moves under the user's hands."""
        name = parse_action(action)[1] if isinstance(action, str) else action[1]
        if name not in PLAYBACK_ACTIONS:
            self.stop_playing()
        return await super().run_action(action, default_namespace, namespaces)

    def push_screen(self, screen: Any, *args: Any, **kwargs: Any) -> Any:
        """A dialog (help, diff, what-if, breakpoints, the palette) pauses playback: the cursor
        does not move behind it."""
        self.stop_playing()
        return super().push_screen(screen, *args, **kwargs)

    def action_play(self) -> None:
        if self.playing:
            self.stop_playing()
            return
        position = self.timeline.position
        if position is None:
            return
        self.playing = True
        self._play_stop_at = None
        if self.session.active:  # the timer starts once the next hit is known
            self._find_hit(position, True, "play")
        else:
            self._restart_timer()
        self.update_status()

    def _restart_timer(self) -> None:
        if self._play_timer is not None:
            self._play_timer.stop()
        self._play_timer = self.set_interval(1 / self.session.speed, self._play_tick)

    def stop_playing(self, reason: str = "") -> None:
        if not self.playing:
            return
        self.playing = False
        if self._play_timer is not None:
            self._play_timer.stop()
            self._play_timer = None
        if reason:
            self.notify(reason, timeout=4)
        self.update_status()

    def _play_tick(self) -> None:
        timeline = self.timeline
        if not self.playing:
            return
        if timeline.cursor >= timeline.row_count - 1:
            self.stop_playing("end of the log")
            return
        timeline.cursor += 1
        # checked here, not when the cursor message arrives: ticks may come faster than that
        position = timeline.position
        if position is not None and position == self._play_stop_at:
            self.stop_playing(f"breakpoint at #{position}")

    def action_speed(self, direction: int) -> None:
        speed = self.session.faster() if direction > 0 else self.session.slower()
        if self.playing:
            self._restart_timer()
        self.notify(f"playback: {speed} events/s", timeout=2)
        self.update_status()

    # -- breakpoints --------------------------------------------------------------------------
    def submit_debugger_prompt(self, mode: str, value: str) -> None:
        if mode == "break":
            self._check_breakpoint(Breakpoint.parse(value))  # the prompt stays open meanwhile
        elif mode == "export":
            self.export_state(value)

    @work(thread=True, group="break", exclusive=True, exit_on_error=False)
    def _check_breakpoint(self, breakpoint: Breakpoint) -> None:
        """Refuse a breakpoint that could never stop, as ``find`` refuses its condition."""
        cur = self.store.cursor()
        try:
            check_breakpoint(cur, self.replay, breakpoint)
        except TracerError as exc:
            self.post_message(msg.Failed("break", str(exc)))
            return
        finally:
            cur.close()
        self.post_message(msg.BreakpointChecked(breakpoint))

    def on_breakpoint_checked(self, message: msg.BreakpointChecked) -> None:
        self._add_breakpoint(message.breakpoint)

    def _add_breakpoint(self, breakpoint: Breakpoint) -> None:
        self.session.add_breakpoint(breakpoint)
        if self.prompt.mode == "break":  # not another prompt opened since
            self.prompt.close()
            self.timeline.focus()
        self._breakpoints_changed()
        self.notify(f"breakpoint: {breakpoint.describe()} (c: continue, C: reverse)", timeout=4)

    def _breakpoints_changed(self) -> None:
        self.timeline.breakpoint_types = self.session.break_types
        self.timeline.refresh()
        self.update_status()

    def action_breakpoints(self) -> None:
        def done(result: list[Breakpoint] | None) -> None:
            if result is not None:
                self.session.breakpoints = result
                self._breakpoints_changed()

        self.push_screen(BreakpointsScreen(self.session.breakpoints), done)

    def on_breakpoints_failed(self, message: msg.BreakpointsFailed) -> None:
        """A condition that raises would raise on every continue: disable it, say so once."""
        errors = dict(message.failed)
        self.session.breakpoints = [
            b.disabled() if b.kind == "state" and b.text in errors else b
            for b in self.session.breakpoints
        ]
        self._breakpoints_changed()
        for text, error in errors.items():
            self.notify(
                f"breakpoint {text!r} disabled (B to see it): {error}",
                title="breakpoint disabled",
                severity="warning",
                timeout=10,
            )

    def action_continue(self, direction: int) -> None:
        self.stop_playing()
        position = self.timeline.position
        if position is None:
            return
        if not self.session.active:
            self.notify("no breakpoint: press b to add one", timeout=3)
            return
        self.notify("continuing…" if direction > 0 else "reverse-continuing…", timeout=1)
        self._find_hit(position, direction > 0, "continue")

    @work(thread=True, group="continue", exclusive=True, exit_on_error=False)
    def _find_hit(self, position: int, forward: bool, purpose: str) -> None:
        cur = self.store.cursor()
        scoped = self.scope.sql == "stream = ?" and not self.replay.is_read_model
        stream = self.scope.params[0] if scoped else None
        try:
            search = next_hit(cur, self.replay, self.session, position, forward, stream)
        except TracerError as exc:
            self.post_message(msg.Failed("continue", str(exc)))
            return
        finally:
            cur.close()
        if search.failed:  # handled first: the breakpoints are off before the cursor moves
            self.post_message(msg.BreakpointsFailed(search.failed))
        hit = search.hit
        if purpose == "play":
            self.post_message(
                msg.ResultReady("play-stop", "", None if hit is None else hit.position)
            )
            return
        word = "after" if forward else "before"
        if hit is None:
            self.post_message(msg.Jump(None, missing=f"no breakpoint hit {word} #{position}"))
        else:
            self.post_message(
                msg.Jump(hit.position, reason=f"breakpoint: {hit.reason} at #{hit.position}")
            )

    # -- marks and diffs ----------------------------------------------------------------------
    def action_mark(self, name: str) -> None:
        position = self.timeline.position
        if position is None:
            return
        self.session.marks[name] = position
        self.timeline.marks = self.session.mark_rows()
        self.timeline.refresh()
        self.notify(f"mark {name} at #{position}", timeout=2)
        self.update_status()

    def action_diff(self, every: int) -> None:
        marks = self.session.marks
        if "A" not in marks or "B" not in marks:
            self.notify("set marks A (m) and B (M) first", timeout=3)
            return
        a, b = sorted((marks["A"], marks["B"]))
        if every:
            self._diff(None, a, b, every=True)
        elif self.replay.is_read_model:
            self._diff(None, a, b)  # the read model's whole state
        elif (stream := self.cursor_stream()) is not None:
            self._diff(stream, a, b)

    @work(thread=True, group="diff", exclusive=True, exit_on_error=False)
    def _diff(self, stream: str | None, a: int, b: int, every: bool = False) -> None:
        try:
            if every:
                frame = self.replay.diff_all(a, b)
                rows = [
                    (
                        r.stream,
                        [r.stream, r.added, r.removed, r.changed, _summary(r.changes)],
                    )
                    for r in frame.itertuples(index=False)
                ]
                result: Any = (["stream", "added", "removed", "changed", "changes"], rows)
                title = f"Every stream: #{a} → #{b}"
            else:
                diff = self.replay.diff(stream, a, b)
                rows = [
                    (None, [c.path or "(root)", c.op, _cell(c, "old"), _cell(c, "new")])
                    for c in diff.changes
                ]
                result = (["path", "op", f"at #{a}", f"at #{b}"], rows)
                title = f"{stream or 'read model'}: #{a} → #{b}"
        except TracerError as exc:
            self.post_message(msg.Failed("diff", str(exc)))
            return
        self.post_message(msg.ResultReady("diff", title, result))

    def on_result_ready(self, message: msg.ResultReady) -> None:
        if message.kind == "play-stop":
            if self.playing:
                self._play_stop_at = message.result
                self._restart_timer()
            return
        columns, rows = message.result[:2]
        summary = message.result[2] if len(message.result) > 2 else ""
        if message.kind == "diff" and columns[0] == "stream":
            hint = "enter: diff this stream · escape: close"
        elif message.kind == "whatif":
            hint = "enter: go to the stream's last event · escape: close"
        else:
            hint = "escape: close"
        screen = ResultScreen(message.title, columns, rows, summary=summary, hint=hint)

        def chosen(key: Any) -> None:
            if key is None:
                return
            if message.kind == "diff":
                a, b = sorted((self.session.marks["A"], self.session.marks["B"]))
                self._diff(str(key), a, b)
            elif message.kind == "whatif":
                self._neighbour(str(key), self.max_position() + 1, False)

        self.push_screen(screen, chosen)

    def max_position(self) -> int:
        return self.timeline.max_position

    # -- what-if ------------------------------------------------------------------------------
    def action_skip(self) -> None:
        position = self.timeline.position
        if position is None:
            return
        skipped = self.session.toggle_skip(position)
        self.timeline.skipped = self.session.skipped
        self.timeline.refresh()
        word = "skipping" if skipped else "no longer skipping"
        self.notify(f"{word} #{position} · w: what-if", timeout=3)
        self._request_detail(position)  # the panels compare with the what-if state
        self.update_status()

    def action_whatif(self) -> None:
        if not self.session.skipped:
            self.notify("no skipped event: press x on an event to skip it", timeout=3)
            return
        self._whatif(sorted(self.session.skipped))

    @work(thread=True, group="whatif", exclusive=True, exit_on_error=False)
    def _whatif(self, skipped: list[int]) -> None:
        try:
            result = self.replay.whatif(skip=skipped)
        except TracerError as exc:
            self.post_message(msg.Failed("whatif", str(exc)))
            return
        frame = result.differences
        rows = []
        for r in frame.itertuples(index=False):
            record = r._asdict()
            rows.append(
                (
                    record.get("stream"),
                    [
                        record.get("stream"),
                        record.get("path") or "(root)",
                        short_json(record.get("real"), 30),
                        short_json(record.get("whatif"), 30),
                    ],
                )
            )
        streams = len(dict.fromkeys(frame["stream"].tolist())) if len(frame) else 0
        skipped_text = ", ".join(f"#{p}" for p in skipped)
        summary = (
            f"Without {skipped_text}: {streams} stream(s) end in a different state."
            if streams
            else f"Without {skipped_text}: every state ends the same."
        )
        columns = ["stream", "path", "real", "what-if"]
        self.post_message(msg.ResultReady("whatif", "What-if", (columns, rows, summary)))

    # -- blame --------------------------------------------------------------------------------
    def action_blame(self) -> None:
        path = self.state_panel.selected_path
        position, stream = self.timeline.position, self.cursor_stream()
        if path is None or position is None or stream is None:
            self.notify("select a field in the state panel first (tab to it)", timeout=3)
            return
        self._blame(stream, position, path)

    @work(thread=True, group="blame", exclusive=True, exit_on_error=False)
    def _blame(self, stream: str, position: int, path: Any) -> None:
        try:
            found = blame_position(self.replay, stream, position, path)
        except TracerError as exc:
            self.post_message(msg.Failed("blame", str(exc)))
            return
        if found is None:
            self.post_message(msg.Jump(None, missing=f"no event set {show_path(path)}"))
        else:
            self.post_message(msg.Jump(found[0], reason=f"#{found[0]}: {found[1]}"))

    def debugger_status(self) -> list[str]:
        session = self.session
        parts = []
        if self.playing:
            parts.append(f"▶ {session.speed}/s")
        for name in ("A", "B"):
            if name in session.marks:
                parts.append(f"{name} #{session.marks[name]}")
        if session.active:
            parts.append(f"● {len(session.active)}")
        if session.skipped:
            parts.append(f"✗ {len(session.skipped)}")
        return parts


def _cell(change: Any, side: str) -> str:
    if (change.op == "add" and side == "old") or (change.op == "remove" and side == "new"):
        return ""
    return short_json(getattr(change, side), 40)


def _summary(changes: Any) -> str:
    if not changes:
        return ""
    items = list(changes)
    paths = [
        getattr(c, "path", None) or (c.get("path") if isinstance(c, dict) else str(c))
        for c in items[:3]
    ]
    more = f" +{len(items) - 3}" if len(items) > 3 else ""
    return ", ".join(p or "(root)" for p in paths) + more
