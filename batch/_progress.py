"""What the user sees while a batch runs: a tqdm bar on a terminal, plain lines otherwise.

Every display is called from several threads (one per slot, plus the writer); each method
takes the display's lock.
"""

from __future__ import annotations

import sys
import threading
import time
from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:
    from tqdm import tqdm


class Display:
    """Plain lines: one per finished image. Used when the output is not a terminal."""

    def __init__(self, stream: TextIO | None = None, err: TextIO | None = None) -> None:
        self.out = stream or sys.stdout
        self.err = err or sys.stderr
        self.lock = threading.Lock()
        self.total = 0
        self.count = 0

    def start(self, total: int) -> None:
        self.total = total

    def line(self, text: str) -> None:
        """An informational line (start, notes, summary)."""
        with self.lock:
            print(text, file=self.out, flush=True)

    def problem(self, text: str) -> None:
        """A failure or warning: always shown, even with --quiet."""
        with self.lock:
            print(text, file=self.err, flush=True)

    def step(self, slot: str, name: str, done: int, total: int) -> None:
        """A dream step of ``name`` finished on ``slot``."""

    def finished(self, name: str, message: str) -> None:
        """One image is finished (written, or failed)."""
        with self.lock:
            self.count += 1
            width = len(str(self.total))
            print(f"[{self.count:>{width}}/{self.total}] {message}", file=self.out, flush=True)

    def close(self) -> None:
        pass


class QuietDisplay(Display):
    """--quiet: nothing but problems."""

    def line(self, text: str) -> None:
        pass

    def finished(self, name: str, message: str) -> None:
        with self.lock:
            self.count += 1


class BarDisplay(Display):
    """A progress bar: images done / total with ETA, and the current image's steps."""

    def __init__(self, stream: TextIO | None = None, err: TextIO | None = None) -> None:
        super().__init__(stream, err)
        self.bar: tqdm | None = None
        self._last_postfix = 0.0

    def start(self, total: int) -> None:
        from tqdm import tqdm  # only on a terminal: not imported for piped or quiet runs

        self.total = total
        with self.lock:
            self.bar = tqdm(
                total=total,
                unit="img",
                file=self.out,
                dynamic_ncols=True,
                smoothing=0.1,
                bar_format="{l_bar}{bar}| {n_fmt}/{total_fmt} [{elapsed}<{remaining}{postfix}]",
            )

    def line(self, text: str) -> None:
        with self.lock:
            if self.bar is not None:
                self.bar.write(text, file=self.out)
            else:
                print(text, file=self.out, flush=True)

    def problem(self, text: str) -> None:
        # same stream as the bar, so the two do not tangle on the terminal
        self.line(text)

    def step(self, slot: str, name: str, done: int, total: int) -> None:
        now = time.monotonic()
        with self.lock:
            if self.bar is None or (now - self._last_postfix < 0.1 and done != total):
                return
            self._last_postfix = now
            short = name if len(name) <= 32 else "…" + name[-31:]
            self.bar.set_postfix_str(f"{short} step {done}/{total}", refresh=True)

    def finished(self, name: str, message: str) -> None:
        with self.lock:
            self.count += 1
            if self.bar is not None:
                self.bar.update(1)

    def close(self) -> None:
        with self.lock:
            if self.bar is not None:
                self.bar.set_postfix_str("", refresh=False)
                self.bar.close()
                self.bar = None


def make_display(quiet: bool, json_mode: bool, stream: TextIO | None = None) -> Display:
    """The display for these flags: human output goes to stderr when stdout carries JSON."""
    out = stream or (sys.stderr if json_mode else sys.stdout)
    if quiet:
        return QuietDisplay(out)
    if out.isatty():
        return BarDisplay(out)
    return Display(out)
