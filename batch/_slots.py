"""The dream threads of a batch or a video, one per slot, and the loop that waits for them:
shared by the image pipeline (``_pipeline``) and the video job (``_video_job``)."""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Callable, Sequence

from ._progress import Display
from ._runner import Slot


class SlotThreads:
    """Starts one thread per slot and knows how many still run. ``changed`` is set whenever
    a thread ends (and by whoever else wants the waiting loop to look again)."""

    def __init__(self) -> None:
        self.changed = threading.Event()
        self._ended: list[threading.Event] = []

    def start(self, slots: Sequence[Slot], work: Callable[[Slot], object]) -> None:
        for slot in slots:
            ended = threading.Event()
            t = threading.Thread(
                target=self._run, args=(work, slot, ended), name=f"dream-{slot.name}", daemon=True
            )
            self._ended.append(ended)
            t.start()

    def _run(self, work: Callable[[Slot], object], slot: Slot, ended: threading.Event) -> None:
        try:
            work(slot)
        finally:
            ended.set()
            self.changed.set()

    def running(self) -> int:
        return sum(1 for ended in self._ended if not ended.is_set())

    def wait(self, finished: Callable[[], bool], take_over: Callable[[], bool]) -> None:
        """Until no thread runs and either all is ``finished`` or ``take_over`` (start
        threads on a fallback runner) says it could not. Waits on Events, never
        Thread.join: a KeyboardInterrupt inside join() can leave a running thread marked as
        finished (CPython gh-90882)."""
        while True:
            if self.changed.wait(0.1):
                self.changed.clear()
            if self.running() == 0 and (finished() or not take_over()):
                return

    def drain(self, display: Display) -> None:
        """After a Ctrl-C, once the dreams in flight are told to stop: wait for their
        threads. A second Ctrl-C leaves at once; outputs are still never half-written (an
        unfinished one is a hidden temporary file that the next run removes)."""
        try:
            while self.running():
                self.changed.wait(0.1)
                self.changed.clear()
        except KeyboardInterrupt:
            display.problem("interrupted again: exiting at once")
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(130)
