"""Copying the state to the clipboard and exporting it to a file. A mixin of
:class:`tracer.tui.app.TracerApp`."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import orjson
from textual import work

from tracer.errors import TracerError
from tracer.jsonvalues import encode_text
from tracer.tui.clipboard import PROGRAMS, copy_with_program

if TYPE_CHECKING:
    from tracer.tui.app import TracerApp

    _Base = TracerApp
else:
    _Base = object


class ExportActions(_Base):
    def state_json(self) -> str | None:
        detail = self.detail
        if detail is None or detail.error is not None:
            return None
        return encode_text(detail.state, option=orjson.OPT_INDENT_2, default=str)

    def action_copy_state(self) -> None:
        text = self.state_json()
        if text is None:
            self.notify("no state to copy", timeout=3)
            return
        self._copy(text)

    @work(thread=True, group="copy", exclusive=True, exit_on_error=False)
    def _copy(self, text: str) -> None:
        """A clipboard program first; else OSC 52 to the terminal; else say it failed."""
        tool = copy_with_program(text)
        self.call_from_thread(self._copied, text, tool)

    def _copied(self, text: str, tool: str | None) -> None:
        self.copy_to_clipboard(text)  # the app's own clipboard, and OSC 52 in a terminal
        if tool is not None:
            self.notify(f"state copied to the clipboard ({tool})", timeout=3)
        elif not self.is_headless:
            self.notify(
                "state sent to the terminal's clipboard (OSC 52; no clipboard program): "
                "if your terminal ignores it, e exports it to a file",
                timeout=6,
            )
        else:
            self.notify(
                f"could not copy the state: no clipboard program ({', '.join(PROGRAMS)}) "
                "and no terminal; e exports it to a file",
                severity="warning",
                timeout=8,
            )

    def export_state(self, name: str) -> None:
        text = self.state_json()
        if text is None:
            raise TracerError("no state to export")
        path = Path(name or self.default_export_name()).expanduser()
        try:
            path.write_text(text + "\n")
        except OSError as exc:
            raise TracerError(f"cannot write {path}: {exc.strerror}") from exc
        self.prompt.close()
        self.timeline.focus()
        self.notify(f"state written to {path}", timeout=4)

    def default_export_name(self) -> str:
        stream = self.cursor_stream() or "state"
        safe = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in stream)
        return str(Path(f"{safe}-{self.timeline.position or 0}.json"))
