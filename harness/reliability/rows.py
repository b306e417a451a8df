"""What a scenario returns: one :class:`Row` per thing tried, a line of the table."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class Row:
    """One line of the table: what was tried, how many times, what held."""

    what: str
    times: int
    held: str
    ok: bool
    skipped: str | None = None
    numbers: dict[str, Any] = field(default_factory=dict)

    def __str__(self) -> str:
        mark = "SKIP" if self.skipped else ("ok" if self.ok else "FAILED")
        held = self.skipped or self.held
        return f"[{mark}] {self.what} ×{self.times}: {held}"


def skipped(what: str, why: str) -> Row:
    return Row(what, 0, "", True, skipped=why)
