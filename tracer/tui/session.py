"""What a debugging session remembers: breakpoints, marks, skipped events and playback speed.

Plain data, no Textual: the app holds one ``Session`` and the widgets draw from it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from tracer.errors import TracerError

SPEEDS = (1, 2, 5, 10, 20, 50, 100, 200, 500)
_TYPE_BREAK = re.compile(r"^\s*type\s*[:=]\s*(?P<types>[\w.:\-$/> ,]+?)\s*$")
#: what a bare type name (or several, with commas) looks like: ``Deposited``, ``bank.Opened``
_TYPE_NAME = r"(?:\$>|[\w.:\-$/]+)"
_BARE_TYPES = re.compile(rf"^\s*(?P<types>{_TYPE_NAME}(?:\s*,\s*{_TYPE_NAME})*)\s*$")
#: bare names that are conditions, not types
_PYTHON_NAMES = frozenset({"state", "event", "stream", "key", "True", "False", "None"})


@dataclass(frozen=True)
class Breakpoint:
    """Stop on events of some types, or after events where a condition on the state holds."""

    kind: str  # "type" or "state"
    text: str
    types: tuple[str, ...] = ()
    enabled: bool = True

    @classmethod
    def parse(cls, text: str) -> Breakpoint:
        """``type:Withdrawn`` (several with commas), a bare type name (``Withdrawn``: whether
        the log has it is checked against the log), or a Python expression over ``state`` and
        ``event``, such as ``state['balance'] < 0``."""
        spec = text.strip()
        if not spec:
            raise TracerError("type a breakpoint: type:Withdrawn or state['balance'] < 0")
        match = _TYPE_BREAK.match(spec)
        if match is not None:
            types = tuple(t.strip() for t in match["types"].split(",") if t.strip())
            return cls("type", spec, types)
        match = _BARE_TYPES.match(spec)
        if match is not None and re.split(r"[.,\s]", spec)[0] not in _PYTHON_NAMES:
            types = tuple(t.strip() for t in match["types"].split(","))
            return cls("type", spec, types)
        try:
            compile(spec, "<breakpoint>", "eval")
        except SyntaxError as exc:
            raise TracerError(f"not a Python expression: {exc.msg} in {spec!r}") from None
        return cls("state", spec)

    @property
    def bare(self) -> bool:
        """Type names typed without ``type:`` (a misspelt condition may look like one)."""
        return self.kind == "type" and _TYPE_BREAK.match(self.text) is None

    def disabled(self) -> Breakpoint:
        return Breakpoint(self.kind, self.text, self.types, False)

    def describe(self) -> str:
        return f"type {', '.join(self.types)}" if self.kind == "type" else self.text


@dataclass
class Session:
    breakpoints: list[Breakpoint] = field(default_factory=list)
    marks: dict[str, int] = field(default_factory=dict)  # "A"/"B" -> position
    skipped: set[int] = field(default_factory=set)
    speed_index: int = 3

    @property
    def speed(self) -> int:
        """Playback speed in events per second."""
        return SPEEDS[self.speed_index]

    def faster(self) -> int:
        self.speed_index = min(self.speed_index + 1, len(SPEEDS) - 1)
        return self.speed

    def slower(self) -> int:
        self.speed_index = max(self.speed_index - 1, 0)
        return self.speed

    def add_breakpoint(self, breakpoint: Breakpoint) -> None:
        if all(b.text != breakpoint.text for b in self.breakpoints):
            self.breakpoints.append(breakpoint)

    @property
    def active(self) -> list[Breakpoint]:
        return [b for b in self.breakpoints if b.enabled]

    @property
    def break_types(self) -> set[str]:
        return {t for b in self.active if b.kind == "type" for t in b.types}

    @property
    def state_conditions(self) -> list[str]:
        return [b.text for b in self.active if b.kind == "state"]

    def toggle_skip(self, position: int) -> bool:
        """Skip the event in the what-if replay, or stop skipping it; True if now skipped."""
        if position in self.skipped:
            self.skipped.discard(position)
            return False
        self.skipped.add(position)
        return True

    def mark_rows(self) -> dict[int, str]:
        """Position -> gutter label ("A", "B" or "AB")."""
        rows: dict[int, str] = {}
        for name, position in sorted(self.marks.items()):
            rows[position] = rows.get(position, "") + name
        return rows
