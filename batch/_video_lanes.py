"""A video's frames in *lanes*: runs of frames decoded in order on a thread of their own, a
few ahead of the dreams, with the optical flow between consecutive raw frames computed there
too, so that neither decoding nor flow waits for the device nor the device for them.

Without ``-b`` there is one lane that every slot draws from. With ``-b`` (and ``--flow``)
every frame needs the previous dreamed one, so each daemon gets one contiguous lane, as
frame folders do: lanes after the first start a few warm-up frames early (dreamed, not kept)
so that their first frame is blended like any other; a lane that starts right after a frame
already dreamed (a resumed run) starts from that frame instead.
"""

from __future__ import annotations

import collections
import queue
import threading
from dataclasses import dataclass

import numpy as np

from ._errors import BatchError
from ._flow import FlowEstimator, Motion
from ._video_io import FrameReader, VideoInfo
from ._video_work import WorkFolder

_END = object()


@dataclass
class Item:
    """One decoded frame for a slot to dream (or, ``done``, already dreamed: its raw frame
    and dreamed file start the chain of the frame after it)."""

    index: int
    raw: np.ndarray  # uint8 RGB, upright
    motion: Motion | None  # from the lane's previous raw frame to this one
    warmup: bool = False
    done: bool = False


def upright(stored: np.ndarray, quarter_turns: int) -> np.ndarray:
    return np.ascontiguousarray(np.rot90(stored, quarter_turns)) if quarter_turns else stored


def plan_lanes(
    frames: int, work: WorkFolder, lanes: int, chained: bool, warmup: int
) -> list[tuple[int, int, int]]:
    """(start, first, stop) per lane: frames [first, stop) are its own, [start, first) are
    decoded before them: warm-ups, or the frame just before, dreamed already."""
    todo = [i for i in range(frames) if not work.done(i)]
    if not todo:
        return []
    if not chained or lanes <= 1:
        bounds = [(todo[0], todo[-1] + 1)]
    else:
        lanes = min(lanes, len(todo))
        cuts = np.linspace(0, len(todo), lanes + 1).round().astype(int)
        bounds = [(todo[cuts[k]], todo[cuts[k + 1] - 1] + 1) for k in range(lanes)]
    plans = []
    for first, stop in bounds:
        start = first
        if chained and first > 0:
            start = first - 1 if work.done(first - 1) else max(0, first - warmup)
        plans.append((start, first, stop))
    return plans


class FrameLane:
    """Frames [start, stop) of one video, decoded ahead on a producer thread; thread-safe."""

    def __init__(
        self,
        info: VideoInfo,
        work: WorkFolder,
        span: tuple[int, int, int],
        *,
        chained: bool,
        flow: str | None,
        depth: int,
        cancel: threading.Event,
    ) -> None:
        self.info = info
        self.work = work
        self.start, self.first, self.stop = span
        self.chained = chained
        self.flow = flow
        self.cancel = cancel
        self.exclusive = chained
        self.claimed = False
        self.prev: Item | None = None  # the last frame dreamed (or found dreamed) here
        self.prev_dreamed: np.ndarray | None = None
        self._queue: queue.Queue[object] = queue.Queue(maxsize=max(1, depth))
        self._returned: collections.deque[Item] = collections.deque()
        self._exhausted = False
        self._in_progress = 0
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._produce, name="dream-decode", daemon=True)

    def begin(self) -> None:
        self._thread.start()

    # ---------------------------------------------------------------- producer thread

    def _produce(self) -> None:
        try:
            est = FlowEstimator(self.flow) if self.flow else None
            turns = self.info.rotation
            prev_raw: np.ndarray | None = None
            for i, stored in FrameReader(self.info, self.start):
                if i >= self.stop or self.cancel.is_set():
                    break
                raw = upright(stored, turns)
                item = self._item(i, raw, prev_raw, est)
                prev_raw = raw
                if item is not None and not self._put(item):
                    return
        except BatchError as exc:
            self._put(exc)
        except Exception as exc:  # a bug must not hang the lane's consumers
            self._put(RuntimeError(f"decoding failed: {exc!r}"))
        finally:
            self._put(_END)

    def _item(
        self, i: int, raw: np.ndarray, prev_raw: np.ndarray | None, est: FlowEstimator | None
    ) -> Item | None:
        done = self.work.done(i)
        if done:
            # a dreamed frame matters only to the frame after it, when that one is to do
            wanted = self.chained and i + 1 < self.stop and not self.work.done(i + 1)
            return Item(i, raw, None, done=True) if wanted else None
        motion = None
        if est is not None and prev_raw is not None:
            motion = est.motion(prev_raw, raw)
        return Item(i, raw, motion, warmup=i < self.first)

    def _put(self, obj: object) -> bool:
        while not self.cancel.is_set():
            try:
                self._queue.put(obj, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    # ---------------------------------------------------------------- consumers

    def next(self) -> Item | None:
        """The next frame, or None when the lane has no more (or the run is cancelled).

        Raises:
            BatchError: the video could not be decoded further.
        """
        with self._lock:
            if self._returned:
                self._in_progress += 1
                return self._returned.popleft()
            if self._exhausted:
                return None
        while not self.cancel.is_set():
            try:
                obj = self._queue.get(timeout=0.1)
            except queue.Empty:
                continue
            if obj is _END:
                with self._lock:
                    self._exhausted = True
                self._queue.put(_END)  # for the other slots drawing from this lane
                return None
            if isinstance(obj, BaseException):
                with self._lock:
                    self._exhausted = True
                raise obj
            assert isinstance(obj, Item)
            with self._lock:
                self._in_progress += 1
            return obj
        return None

    def done(self) -> None:
        with self._lock:
            self._in_progress -= 1

    def push_front(self, item: Item) -> None:
        """Give back a frame a lost slot could not dream."""
        with self._lock:
            self._returned.appendleft(item)
            self._in_progress -= 1

    @property
    def finished(self) -> bool:
        with self._lock:
            return self._exhausted and not self._returned and self._in_progress == 0

    @property
    def has_work(self) -> bool:
        with self._lock:
            return not self._exhausted or bool(self._returned)
