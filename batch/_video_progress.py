"""Progress of one video, in frames: a second bar under the batch's on a terminal (frames
done/total, frames per second, ETA), a plain line every few seconds otherwise, nothing with
--quiet."""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING

from ._progress import BarDisplay, Display, QuietDisplay

if TYPE_CHECKING:
    from tqdm import tqdm

#: Seconds between plain progress lines.
LINE_EVERY = 10.0


class FrameProgress:
    def __init__(self, display: Display, name: str, total: int, done: int) -> None:
        self.display = display
        self.name = name
        self.total = total
        self.done = done
        self.started = time.monotonic()
        self.first = done  # frames done before this run: not counted in the rate
        self.last_line = self.started
        self._lock = threading.Lock()
        self.bar: tqdm | None = None
        if isinstance(display, BarDisplay):
            from tqdm import tqdm  # only on a terminal, as the batch's own bar

            short = name if len(name) <= 24 else "…" + name[-23:]
            self.bar = tqdm(
                total=total,
                initial=done,
                desc=short,
                unit="frame",
                file=display.out,
                dynamic_ncols=True,
                smoothing=0.2,
                leave=False,
                position=1,
            )

    def advance(self, n: int = 1) -> None:
        with self._lock:
            self.done += n
            if self.bar is not None:
                self.bar.update(n)
                return
            now = time.monotonic()
            if isinstance(self.display, QuietDisplay) or now - self.last_line < LINE_EVERY:
                return
            self.last_line = now
            line = self.summary(now)
        self.display.line(line)

    def summary(self, now: float | None = None) -> str:
        elapsed = (now or time.monotonic()) - self.started
        new = self.done - self.first
        fps = new / elapsed if elapsed > 0 else 0.0
        left = self.total - self.done
        eta = _clock(left / fps) if fps > 0 else "?"
        return f"{self.name}: frame {self.done}/{self.total}, {fps:.2f} frames/s, ETA {eta}"

    def phase(self, text: str) -> None:
        """Say what happens now (encoding, …) on the bar, or as a line."""
        if self.bar is not None:
            with self._lock:
                self.bar.set_postfix_str(text)
        else:
            self.display.line(f"{self.name}: {text}")

    def close(self) -> None:
        with self._lock:
            if self.bar is not None:
                self.bar.close()
                self.bar = None


def _clock(seconds: float) -> str:
    s = round(seconds)
    h, rest = divmod(s, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"
