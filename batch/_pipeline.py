"""The batch itself: read ahead, dream, write behind, and lose nothing on the way.

Jobs are grouped into *lanes*. Without --blend there is one lane that every slot draws
from, so all devices stay busy. With --blend each lane is a contiguous run of frames that
one slot dreams in order (each frame needs the previous dreamed one); several daemons get
one lane each, every lane after the first starting a few *warm-up* frames early (dreamed,
not written) so its first real frame blends like any other.

Decoding runs on a small reader pool, a bounded number of images ahead of the dreams;
encoding runs on a writer pool behind them, so the device never waits for the disk.
Outputs are atomic (see :func:`batch._imageio.write_image`), so stopping at any moment
leaves only complete files, and running the same command again resumes.

Longer than this project's ~400 lines: the reader pool, the lanes and the writer pool share
one stop/cancel state whose order of shutdown is what keeps Ctrl-C from leaving anything
half-written; they are kept together so that order can be read in one place (splitting the
lanes out is the next step if it grows).
"""

from __future__ import annotations

import collections
import errno
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import CancelledError, Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from . import _blend
from ._blend import Blend
from ._chain import Chain, RawFrames
from ._errors import DreamFailed, ImageError, Interrupted, RunnerLost, WriteFailed
from ._imageio import Limits, LoadedImage, read_image, write_image
from ._report import Report
from ._runner import Runner, Slot
from ._slots import SlotThreads
from ._sources import Source

#: Frames dreamed before a lane's first frame so that its blend starts warm.
WARMUP_FRAMES = 3
#: Write errors that no later image can escape: the batch stops instead of dreaming every
#: remaining image only to fail writing it.
DISK_FULL = frozenset({errno.ENOSPC, errno.EDQUOT})


@dataclass(frozen=True)
class Job:
    index: int  # position in the whole sorted sequence (blend factors, previous frame)
    source: Source
    dest: Path
    warmup: bool = False

    @property
    def name(self) -> str:
        return self.source.rel.as_posix()


@dataclass
class Settings:
    limits: Limits = field(default_factory=Limits)
    quality: int | None = None
    blend: Blend | None = None
    prefetch: int = 2
    io_threads: int = 2
    pending_writes: int = 4
    warmup: int = WARMUP_FRAMES
    record: Mapping[str, Any] = field(default_factory=dict)  # extra metadata for every file
    chain: Chain | None = None  # how -b (and --flow) start a frame from the previous one


Item = tuple[Job, "Future[LoadedImage]"]


class Lane:
    """Jobs in order with a bounded read-ahead; thread-safe."""

    def __init__(
        self,
        jobs: list[Job],
        read: Callable[[Job], Future[LoadedImage]],
        depth: int,
        exclusive: bool,
    ) -> None:
        self.queue = collections.deque(jobs)
        self.ahead: collections.deque[Item] = collections.deque()
        self.read = read
        self.depth = max(1, depth)
        self.exclusive = exclusive
        self.claimed = False
        self.in_progress = 0
        self.prev_index = -1
        self.prev: np.ndarray | None = None
        self.raws = RawFrames()  # --flow: the raw frame before the next
        self.lock = threading.Lock()

    def next(self) -> Item | None:
        with self.lock:
            self._fill()
            if not self.ahead:
                return None
            item = self.ahead.popleft()
            self.in_progress += 1
            self._fill()
            return item

    def _fill(self) -> None:
        while self.queue and len(self.ahead) < self.depth:
            job = self.queue.popleft()
            self.ahead.append((job, self.read(job)))

    def done(self) -> None:
        with self.lock:
            self.in_progress -= 1

    def push_front(self, item: Item) -> None:
        with self.lock:
            self.ahead.appendleft(item)
            self.in_progress -= 1

    @property
    def has_work(self) -> bool:
        with self.lock:
            return bool(self.ahead or self.queue)

    @property
    def finished(self) -> bool:
        with self.lock:
            return not self.ahead and not self.queue and self.in_progress == 0

    def cancel(self) -> int:
        """Drop what is not started; returns how many jobs that was."""
        with self.lock:
            n = len(self.ahead) + len(self.queue)
            for _, fut in self.ahead:
                fut.cancel()
            self.ahead.clear()
            self.queue.clear()
            return n


def plan_lanes(
    todo: list[Job],
    everything: list[Job],
    lanes: int,
    blend: bool,
    warmup: int,
) -> list[list[Job]]:
    """Split ``todo`` into job lists, one per lane (see the module's docstring)."""
    if not todo:
        return []
    if not blend or lanes <= 1:
        return [todo]
    lanes = min(lanes, len(todo))
    bounds = np.linspace(0, len(todo), lanes + 1).round().astype(int)
    plans: list[list[Job]] = []
    for k in range(lanes):
        chunk = todo[bounds[k] : bounds[k + 1]]
        if not chunk:
            continue
        first = chunk[0].index
        if k > 0 and first > 0 and not everything[first - 1].dest.exists():
            start = max(0, first - warmup)
            chunk = [replace(j, warmup=True) for j in everything[start:first]] + chunk
        plans.append(chunk)
    return plans


class Pipeline:
    """Runs ``todo`` on ``runner``'s slots, reporting every outcome to ``report``."""

    def __init__(
        self,
        runner: Runner,
        todo: list[Job],
        everything: list[Job],
        settings: Settings,
        report: Report,
    ) -> None:
        self.runner = runner
        self.todo = todo
        self.everything = everything
        self.settings = settings
        self.report = report
        self.stop = threading.Event()
        self.reader = ThreadPoolExecutor(settings.io_threads, thread_name_prefix="dream-read")
        self.writer = ThreadPoolExecutor(settings.io_threads, thread_name_prefix="dream-write")
        self.write_room = threading.BoundedSemaphore(settings.pending_writes)
        self.lanes: list[Lane] = []
        self.threads = SlotThreads()
        self.lost: list[str] = []
        self.lost_groups: set[str] = set()
        self._lock = threading.Lock()

    # ------------------------------------------------------------------ orchestration

    def run(self) -> None:
        """Process everything; on KeyboardInterrupt cancel in-flight dreams and re-raise."""
        blend = self.settings.blend is not None
        slots = self.runner.slots(per_group=1 if blend else None)
        groups = len({s.group for s in slots})
        plans = plan_lanes(self.todo, self.everything, groups, blend, self.settings.warmup)
        depth = self.settings.prefetch + (0 if blend else len(slots))
        self.lanes = [Lane(p, self._read, depth, exclusive=blend) for p in plans]
        try:
            self.threads.start(slots, self._work_lanes)
            self.threads.wait(self._all_finished, self._take_over)
        except KeyboardInterrupt:
            self.stop.set()
            self.report.interrupted = True
            self.report.display.problem(
                "interrupted: cancelling the dreams in flight (finished images are kept)"
            )
            self._cancel_lanes()
            self.threads.drain(self.report.display)
            raise
        finally:
            self._cancel_lanes()
            self.reader.shutdown(wait=True, cancel_futures=True)
            self.writer.shutdown(wait=True)

    def _take_over(self) -> bool:
        """Every slot is lost and work remains: switch to the fallback runner, if any."""
        fallback = self.runner.fallback()
        if fallback is None:
            left = sum(lane.cancel() for lane in self.lanes)
            self.report.aborted = (
                f"no dream runner left ({'; '.join(self.lost) or 'all slots lost'}); "
                f"{left} image(s) not done"
            )
            self.report.display.problem(f"error: {self.report.aborted}")
            return False
        self.report.display.line(f"continuing with {fallback.description}")
        self.runner = fallback
        self.report.runner = fallback.description
        slots = fallback.slots(per_group=1 if self.settings.blend else None)
        self.threads.start(slots, self._work_lanes)
        return True

    def _cancel_lanes(self) -> None:
        for lane in self.lanes:
            lane.cancel()

    def _read(self, job: Job) -> Future[LoadedImage]:
        return self.reader.submit(read_image, job.source.path, self.settings.limits)

    def _claim(self) -> Lane | None:
        with self._lock:
            for lane in self.lanes:
                if not lane.has_work:
                    continue
                if not lane.exclusive:
                    return lane
                if not lane.claimed:
                    lane.claimed = True
                    return lane
        return None

    def _all_finished(self) -> bool:
        return all(lane.finished for lane in self.lanes)

    # ------------------------------------------------------------------ one slot

    def _work_lanes(self, slot: Slot) -> None:
        while not self.stop.is_set():
            lane = self._claim()
            if lane is None:
                if self._all_finished():
                    return
                time.sleep(0.05)
                continue
            try:
                while not self.stop.is_set():
                    if slot.group in self.lost_groups:
                        return  # another slot found its daemon gone: take no more work
                    item = lane.next()
                    if item is None:
                        break
                    try:
                        self._one(slot, lane, *item)
                    except RunnerLost as exc:
                        lane.push_front(item)
                        with self._lock:
                            first = slot.group not in self.lost_groups
                            self.lost_groups.add(slot.group)
                            if first:
                                self.lost.append(f"{slot.group}: {exc}")
                        if first:
                            self.report.display.problem(
                                f"warning: {slot.group} lost ({exc}); its images go elsewhere"
                            )
                        return
                    except Interrupted:
                        lane.done()
                        return
                    except BaseException as exc:  # a bug must not hang the batch
                        lane.done()
                        self.report.failed(item[0].name, f"internal error: {exc!r}")
                    else:
                        lane.done()
            finally:
                with self._lock:
                    lane.claimed = False

    def _one(self, slot: Slot, lane: Lane, job: Job, fut: Future[LoadedImage]) -> None:
        try:
            loaded = fut.result()
        except CancelledError:
            raise Interrupted("cancelled") from None
        except ImageError as exc:
            if not job.warmup:
                self.report.failed(job.name, exc.reason)
            return
        pixels = raw = loaded.pixels
        blend_info: dict[str, Any] | None = None
        overrides: dict[str, Any] | None = None
        refs: dict[str, Any] = {}  # a styled frame's content, previous and previous_weight
        b, chain = self.settings.blend, self.settings.chain
        if b is not None:
            previous, prev_name = self._previous(lane, job)
            if previous is not None and _blend.compatible(pixels, previous):
                if chain is not None:
                    # the flow runs from raw frame index − 1: its dream, not an older one
                    adjacent = job.index > 0 and prev_name == self.everything[job.index - 1].name
                    pixels, overrides, info, refs = lane.raws.start(
                        chain, job.index, raw, previous, self._raw if adjacent else _none
                    )
                    blend_info = {**info, "previous": prev_name}
                else:
                    pixels, f = b.apply(pixels, previous, job.index)
                    blend_info = {**b.as_dict(), "factor": round(f, 6), "previous": prev_name}
            elif previous is not None:
                self.report.note("frame size or channels changed: not blended", job.name)
        started = time.perf_counter()

        def progress(done: int, total: int, octave: int, step: int) -> None:
            self.report.display.step(slot.name, job.name, done, total)

        try:
            bits = 16 if blend_info is not None else loaded.info.depth
            more: dict[str, Any] = {"overrides": overrides} if overrides else {}
            if refs:
                more["frame"] = refs
            out = slot.dream(pixels, progress, self.stop, bits=bits, **more)
        except DreamFailed as exc:
            if not job.warmup:
                self.report.failed(job.name, f"dream failed: {exc}")
            return
        lane.prev_index, lane.prev = job.index, out.image
        lane.raws.keep(chain, job.index, raw)
        if job.warmup:
            return
        meta: dict[str, Any] = {
            "tool": "dream-batch",
            **self.settings.record,
            "source": job.name,
            "runner": self.runner.kind,
            **out.metadata,
        }
        if blend_info is not None:
            meta["blend"] = blend_info
        notes = [*loaded.info.notes, *out.notes]
        self._write(job, out.image, loaded, meta, notes, started)

    def _raw(self, index: int) -> np.ndarray | None:
        """Raw frame ``index`` read again (the flow to the next frame needs it)."""
        try:
            return read_image(self.everything[index].source.path, self.settings.limits).pixels
        except (ImageError, IndexError):
            return None

    def _previous(self, lane: Lane, job: Job) -> tuple[np.ndarray | None, str | None]:
        """The dreamed frame before ``job``: in memory, else its output on disk (resume)."""
        if lane.prev_index == job.index - 1 and lane.prev is not None:
            return lane.prev, self.everything[job.index - 1].name
        if job.index > 0:
            before = self.everything[job.index - 1]
            if before.dest.exists():
                try:
                    return read_image(before.dest, self.settings.limits).pixels, before.name
                except ImageError:
                    pass
        if lane.prev is not None:
            return lane.prev, self.everything[lane.prev_index].name
        return None, None

    def _write(
        self,
        job: Job,
        image: np.ndarray,
        loaded: LoadedImage,
        meta: dict[str, Any],
        notes: list[str],
        started: float,
    ) -> None:
        self.write_room.acquire()
        fut = self.writer.submit(
            write_image, image, loaded.info, job.dest, params=meta, quality=self.settings.quality
        )

        def finished(f: Future[list[str]]) -> None:
            self.write_room.release()
            try:
                more = f.result()
            except WriteFailed as exc:
                self.report.failed(job.name, exc.reason)
                if exc.errno in DISK_FULL:
                    self._disk_full(job, exc)
            except ImageError as exc:
                self.report.failed(job.name, exc.reason)
            except CancelledError:
                self.report.failed(job.name, "write cancelled")
            except Exception as exc:
                self.report.failed(job.name, f"cannot write {job.dest}: {exc!r}")
            else:
                self.report.done(
                    job.name, _shown(job.dest), time.perf_counter() - started, notes + more
                )

        fut.add_done_callback(finished)

    def _disk_full(self, job: Job, exc: WriteFailed) -> None:
        """Stop the batch once: cancel the dreams in flight and drop what is not started.
        Outputs already written are complete (writes are atomic), so the same command
        resumes once there is room (found by the reliability tests: before, every remaining
        image was dreamed and then failed with the same error)."""
        with self._lock:
            if self.report.aborted is not None:
                return
            self.report.aborted = (
                f"the disk is full ({job.dest}: {exc.reason}), stopping. Outputs written so "
                "far are complete; free some space and run the same command again to do the "
                "rest"
            )
        self.report.display.problem(f"error: {self.report.aborted}")
        self.stop.set()
        self._cancel_lanes()
        self.threads.changed.set()


def _none(index: int) -> None:
    return None


def _shown(path: Path) -> str:
    return str(path)
