"""Counting what happened to every image, and the exit code that follows.

Exit codes: 0 every image done (or skipped because its output exists), 1 some image
failed or was left undone, 2 a usage error (nothing processed), 130 interrupted.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any

from ._progress import Display

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


@dataclass
class Outcome:
    source: str
    status: str  # "done", "skipped" or "failed"
    dest: str | None = None
    reason: str | None = None
    seconds: float | None = None
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"source": self.source, "status": self.status}
        for k in ("dest", "reason", "seconds"):
            v = getattr(self, k)
            if v is not None:
                d[k] = round(v, 3) if isinstance(v, float) else v
        if self.notes:
            d["notes"] = self.notes
        return d


class Report:
    """Thread-safe tally of a batch, printing through a :class:`Display`."""

    def __init__(self, display: Display, total: int = 0) -> None:
        self.display = display
        self.total = total
        self.outcomes: list[Outcome] = []
        self.notes: dict[str, int] = {}
        self.interrupted = False
        self.aborted: str | None = None
        self.runner = ""
        self.started = time.monotonic()
        self._lock = threading.Lock()

    # -------------------------------------------------------------------- recording

    def done(self, source: str, dest: str, seconds: float, notes: list[str] | None = None) -> None:
        o = Outcome(source, "done", dest, None, seconds, list(notes or ()))
        with self._lock:
            self.outcomes.append(o)
        for n in o.notes:
            self.note(n, source)
        self.display.finished(source, f"{source} → {dest} ({seconds:.1f} s)")

    def skipped(self, source: str, dest: str) -> None:
        with self._lock:
            self.outcomes.append(Outcome(source, "skipped", dest, "output exists"))

    def failed(self, source: str, reason: str) -> None:
        with self._lock:
            self.outcomes.append(Outcome(source, "failed", None, reason))
        self.display.problem(f"FAILED {source}: {reason}")
        self.display.finished(source, f"{source} failed")

    def note(self, text: str, source: str | None = None) -> None:
        """A remark; each distinct text is printed once, with the first file it concerns."""
        with self._lock:
            first = text not in self.notes
            self.notes[text] = self.notes.get(text, 0) + 1
        if first:
            self.display.line(f"note: {text}" + (f" ({source} …)" if source else ""))

    # -------------------------------------------------------------------- results

    def count(self, status: str) -> int:
        with self._lock:
            return sum(1 for o in self.outcomes if o.status == status)

    @property
    def left(self) -> int:
        """Images neither done, skipped nor failed (interrupted or abandoned)."""
        with self._lock:
            return max(0, self.total - len(self.outcomes))

    @property
    def exit_code(self) -> int:
        if self.interrupted:
            return EXIT_INTERRUPTED
        if self.count("failed") or self.left or self.aborted:
            return EXIT_FAILED
        return EXIT_OK

    def summary_line(self) -> str:
        secs = time.monotonic() - self.started
        parts = [
            f"{self.count('done')} done",
            f"{self.count('skipped')} skipped (output exists)",
            f"{self.count('failed')} failed",
        ]
        if self.left:
            parts.append(f"{self.left} not done")
        return f"dream-batch: {', '.join(parts)} in {secs:.1f} s"

    def summary(self) -> dict[str, Any]:
        with self._lock:
            outcomes = [o.as_dict() for o in self.outcomes]
            notes = dict(self.notes)
        return {
            "runner": self.runner,
            "total": self.total,
            "done": self.count("done"),
            "skipped": self.count("skipped"),
            "failed": self.count("failed"),
            "left": self.left,
            "interrupted": self.interrupted,
            "aborted": self.aborted,
            "exit_code": self.exit_code,
            "seconds": round(time.monotonic() - self.started, 3),
            "notes": notes,
            "images": outcomes,
        }
