"""What :func:`tracer.replay.compare.compare_projections` returns, and its HTML view for
Jupyter: per diverging stream, the event where the two versions part and the differing paths
side by side."""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from tracer.replay.html import OP_LABEL, STYLE, value_text
from tracer.replay.results import iso


@dataclass
class CompareResult:
    """Where two versions of a projection diverge, per stream (or read-model key).

    ``divergences`` has one row per diverging stream, sorted by the position of the event after
    which the versions first differ: that event's ``position``, ``version``, ``type``, ``time``
    and ``event_id``, ``kind`` (``state`` or ``error``), the ``error`` message, whether the states
    ``agree_at_end`` after all, and the ``diff`` there (``path``, ``op``, ``old``, ``new``:
    ``old`` is the old version's value). ``end`` holds both final states of each diverging one.
    """

    divergences: pd.DataFrame
    streams: int
    old: str
    new: str
    read_model: bool = False
    end: dict[Any, tuple[Any, Any]] = field(default_factory=dict)

    @property
    def diverged(self) -> int:
        return len(self.divergences)

    def __bool__(self) -> bool:
        """True when the versions agree on every stream after every event."""
        return self.divergences.empty

    def to_dict(self) -> dict[str, Any]:
        first = []
        for row in self.divergences.astype(object).to_dict(orient="records"):
            entry = {k: (None if _na(v) else v) for k, v in row.items()}
            entry["time"] = iso(entry["time"])
            if not self.read_model:
                entry.pop("key", None)
            first.append(entry)
        return {"streams": self.streams, "diverged": self.diverged, "first": first}

    def _repr_html_(self) -> str:
        return compare_html(self)


def _na(value: Any) -> bool:
    return value is None or value is pd.NaT or value is pd.NA or value != value


def compare_html(result: CompareResult, limit: int = 50) -> str:
    """The divergences as HTML: per stream, the event where the versions part and the differing
    paths with the old and the new version's values side by side."""
    title = f"{html.escape(result.old)} → {html.escape(result.new)}"
    facts = f"{result.diverged} of {result.streams} diverge"
    if result.divergences.empty:
        body = "<div class='facts'>the versions agree after every event</div>"
    else:
        blocks = []
        for row in result.divergences.head(limit).to_dict(orient="records"):
            name = row.get("key") if result.read_model else row["stream"]
            head = (
                f"<b>{html.escape(str(name))}</b> <span class='facts'>after {row['type']} at "
                f"position {row['position']} · {html.escape(str(row['time']))}"
                f"{'' if row['agree_at_end'] else ' · still differ at the end'}</span>"
            )
            if row["kind"] == "error":
                blocks.append(f"<div>{head}<pre>{html.escape(str(row['error']))}</pre></div>")
                continue
            cells = "".join(
                f"<tr class='{c['op']}'><td><code>{html.escape(c['path'] or '(root)')}</code></td>"
                f"<td class='op'>{OP_LABEL[c['op']]}</td>"
                f"<td><code>{value_text(c['old']) if c['op'] != 'add' else ''}</code></td>"
                f"<td><code>{value_text(c['new']) if c['op'] != 'remove' else ''}</code></td></tr>"
                for c in row["diff"]
            )
            blocks.append(
                f"<div style='margin-top:6px'>{head}<table><tr><th>path</th><th>op</th>"
                f"<th>{html.escape(result.old)} (old)</th>"
                f"<th>{html.escape(result.new)} (new)</th></tr>{cells}</table></div>"
            )
        body = "".join(blocks)
        if result.diverged > limit:
            body += f"<div class='facts'>… {result.diverged - limit} more</div>"
    return (
        f"{STYLE}<div class='tracer-view'><b>compare {title}</b>"
        f"<span class='facts'>{html.escape(facts)}</span>{body}</div>"
    )
