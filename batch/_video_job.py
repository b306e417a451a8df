"""One video, dreamed frame by frame and written back: ``-s clip.mp4 -d out`` → ``out/clip.mp4``
(or ``out/clip/000001.png``… with ``--frames``).

1. The video is looked at once (every frame decoded, nothing kept): a truncated or broken
   file, or one without a video stream, is refused by name before anything is written.
2. Its frames are dreamed in lanes (``_video_lanes``) on the runner's slots, each dreamed frame
   kept losslessly in the working folder (``_video_work``) as soon as it is done; with ``-b``
   each frame starts from the previous dreamed one, blended in (or, with ``--flow``, its dream
   detail carried along the optical flow, ``_flow``).
3. When every frame is there, the video is encoded to a temporary file with the source's
   timestamps and audio (``_video_write``), renamed, and the working folder removed.

Stopped anywhere (Ctrl-C, a crash, a lost daemon), the same command resumes at step 2 with
the frames already dreamed.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from ._chain import Chain
from ._errors import BatchError, DreamFailed, ImageError, Interrupted, RunnerLost
from ._imageio import params_text
from ._progress import Display
from ._report import Report
from ._runner import Runner, Slot
from ._slots import SlotThreads
from ._video_io import VideoInfo, probe
from ._video_lanes import FrameLane, Item, plan_lanes
from ._video_progress import FrameProgress
from ._video_work import WorkFolder, hidden_folder
from ._video_write import encoder_for, resolve_codec, write_video

#: Frames dreamed before a lane's first frame so that its blend starts warm.
WARMUP_FRAMES = 3
#: Frames decoded (and their flow computed) ahead of the dreams, per lane.
READ_AHEAD = 3


@dataclass(frozen=True)
class VideoOptions:
    """The flags that shape how videos are dreamed and written."""

    codec: str | None = None  # --video-codec
    crf: int | None = None
    frames: bool = False  # --frames: PNG frames instead of a video
    chain: Chain | None = None  # -b (and --flow): each frame starts from the previous one
    seed: int | None = None  # --seed; None: one seed drawn per video, for all its frames
    warmup: int = WARMUP_FRAMES
    max_pixels: int = 100_000_000
    overwrite: bool = False
    record: Mapping[str, Any] = field(default_factory=dict)  # recorded in every output
    state: Mapping[str, Any] = field(default_factory=dict)  # what must match to resume


def to_float(rgb: np.ndarray) -> np.ndarray:
    return rgb.astype(np.float32) * np.float32(1 / 255)


def to_u8(image: np.ndarray) -> np.ndarray:
    """A dreamed float image as the uint8 RGB frame that is kept (and chained: a resumed run
    then continues from exactly what an uninterrupted one would have)."""
    rgb = image[:, :, :3] if image.shape[2] >= 3 else np.repeat(image[:, :, :1], 3, axis=2)
    return np.rint(np.clip(rgb, 0.0, 1.0) * 255.0).astype(np.uint8)


class VideoJob:
    """Dream one video into ``dest`` (a file, or with --frames a folder)."""

    def __init__(
        self,
        name: str,
        source: Path,
        dest: Path,
        runner: Runner,
        options: VideoOptions,
        report: Report,
        display: Display,
    ) -> None:
        self.name = name
        self.source = source
        self.dest = dest
        self.runner = runner
        self.opt = options
        self.report = report
        self.display = display
        self.cancel = threading.Event()
        self.failure: str | None = None
        self.lost: list[str] = []
        self.lost_groups: set[str] = set()
        self.lanes: list[FrameLane] = []
        self.threads = SlotThreads()
        self._lock = threading.Lock()
        self.progress: FrameProgress | None = None
        self.meta: dict[str, Any] | None = None
        self.work: WorkFolder | None = None
        self.info: VideoInfo | None = None
        self.seed = 0
        self.chain: Chain | None = options.chain

    # ------------------------------------------------------------------ the job

    def run(self) -> Runner:
        """Do the whole job, reporting its outcome; returns the runner to go on with (a
        fallback when every daemon was lost). Raises KeyboardInterrupt after cancelling."""
        started = time.perf_counter()
        try:
            self._run(started)
        except ImageError as exc:
            self.report.failed(self.name, exc.reason)
        finally:
            if self.progress is not None:
                self.progress.close()
        return self.runner

    def _run(self, started: float) -> None:
        opt = self.opt
        info = self.info = probe(self.source, opt.max_pixels)
        codec = None if opt.frames else resolve_codec(opt.codec, self.dest.suffix)
        encoder = (
            None
            if codec is None
            else encoder_for(codec, opt.crf, info.width, info.height, self.name)
        )
        state = {**opt.state, "source": info.fingerprint()}
        folder = self.dest if opt.frames else hidden_folder(self.dest)
        work = self.work = WorkFolder(folder, state, keep=opt.frames)
        # --overwrite redoes a finished result; an unfinished one (this command stopped
        # half-way) is taken up again
        note = work.open(fresh=opt.overwrite and opt.frames and WorkFolder.complete(self.dest))
        self.seed = opt.seed if opt.seed is not None else work.remember("seed", _new_seed())
        self.chain = opt.chain
        if self.chain is not None and opt.seed is None:  # the same blend factors on resume
            blend = self.chain.blend
            seed = work.remember("blend_seed", blend.seed)
            self.chain = replace(self.chain, blend=replace(blend, seed=seed))
        notes = [*info.notes, *(encoder.notes if encoder else ())] + ([note] if note else [])
        self.progress = FrameProgress(self.display, self.name, info.frames, work.count)
        if work.count < info.frames:
            if work.count:
                self.display.line(
                    f"{self.name}: resuming, {work.count} of {info.frames} frames dreamed before"
                )
            self._dream_frames()
            if self.failure is not None:
                self.report.failed(self.name, self.failure)
                return
            if work.count < info.frames:
                left = info.frames - work.count
                self.report.failed(
                    self.name, f"{left} frame(s) not dreamed ({'; '.join(self.lost)})"
                )
                return
        if encoder is not None:
            self.progress.phase("encoding")
            write_video(
                self._frames_back(), self.dest, encoder, source=info, comment=self._comment()
            )
        work.finish()
        self.report.done(self.name, str(self.dest), time.perf_counter() - started, notes)

    def _comment(self) -> str:
        """What made the video, for its comment tag: the first frame's record."""
        first = _recorded(self.work.frame_path(0)) if self.work is not None else None
        meta = dict(first or self.meta or {})
        meta.pop("frame", None)
        meta["frames"] = self.info.frames if self.info else None
        return json.dumps(meta, ensure_ascii=False)

    def _frames_back(self) -> Iterator[np.ndarray]:
        """The dreamed frames in order, turned back to the stored orientation."""
        assert self.work is not None and self.info is not None
        turns = self.info.rotation
        for i in range(self.info.frames):
            rgb = self.work.read(i)
            yield np.ascontiguousarray(np.rot90(rgb, -turns)) if turns else rgb

    # ------------------------------------------------------------------ dreaming

    def _dream_frames(self) -> None:
        assert self.work is not None and self.info is not None
        chained = self.opt.chain is not None
        flow = self.opt.chain.flow if self.opt.chain is not None else None
        slots = self.runner.slots(per_group=1 if chained else None)
        groups = len({s.group for s in slots})
        spans = plan_lanes(self.info.frames, self.work, groups, chained, self.opt.warmup)
        depth = READ_AHEAD + (0 if chained else len(slots))
        self.lanes = [
            FrameLane(
                self.info, self.work, span, chained=chained, flow=flow, depth=depth,
                cancel=self.cancel,
            )
            for span in spans
        ]  # fmt: skip
        for lane in self.lanes:
            lane.begin()
        try:
            self.threads.start(slots, self._work)
            self.threads.wait(self._all_finished, self._take_over)
        except KeyboardInterrupt:
            self.cancel.set()
            self.report.interrupted = True
            self.display.problem(
                f"interrupted: {self.name}: cancelling the dreams in flight "
                "(dreamed frames are kept)"
            )
            self.threads.drain(self.display)
            raise
        finally:
            self.cancel.set()  # stops the decoders

    def _all_finished(self) -> bool:
        return self.failure is not None or all(lane.finished for lane in self.lanes)

    def _take_over(self) -> bool:
        fallback = self.runner.fallback()
        if fallback is None or self.failure is not None:
            return False
        self.display.line(f"continuing with {fallback.description}")
        self.runner = fallback
        self.report.runner = fallback.description
        slots = fallback.slots(per_group=1 if self.opt.chain is not None else None)
        self.threads.start(slots, self._work)
        return True

    def _claim(self) -> FrameLane | None:
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

    def _fail(self, reason: str) -> None:
        with self._lock:
            if self.failure is None:
                self.failure = reason
        self.cancel.set()
        self.threads.changed.set()

    def _work(self, slot: Slot) -> None:
        while not self.cancel.is_set():
            lane = self._claim()
            if lane is None:
                if self._all_finished():
                    return
                time.sleep(0.05)
                continue
            try:
                if not self._work_lane(slot, lane):
                    return
            finally:
                with self._lock:
                    lane.claimed = False

    def _work_lane(self, slot: Slot, lane: FrameLane) -> bool:
        """Dream the lane's frames; False when this slot must stop."""
        while not self.cancel.is_set():
            if slot.group in self.lost_groups:
                return False
            try:
                item = lane.next()
            except BatchError as exc:
                self._fail(getattr(exc, "reason", None) or str(exc))
                return False
            if item is None:
                return True
            try:
                self._one(slot, lane, item)
            except RunnerLost as exc:
                lane.push_front(item)
                with self._lock:
                    first = slot.group not in self.lost_groups
                    self.lost_groups.add(slot.group)
                    if first:
                        self.lost.append(f"{slot.group}: {exc}")
                if first:
                    self.display.problem(
                        f"warning: {slot.group} lost ({exc}); its frames go elsewhere"
                    )
                return False
            except Interrupted:
                lane.done()
                return False
            except (DreamFailed, ImageError) as exc:
                lane.done()
                self._fail(f"frame {item.index + 1}: {getattr(exc, 'reason', None) or exc}")
                return False
            except Exception as exc:  # a bug must not hang the batch
                lane.done()
                self._fail(f"frame {item.index + 1}: internal error: {exc!r}")
                return False
            else:
                lane.done()
        return False

    def _one(self, slot: Slot, lane: FrameLane, item: Item) -> None:
        assert self.work is not None
        if item.done:
            lane.prev, lane.prev_dreamed = item, None  # read from its file when needed
            return
        x = to_float(item.raw)
        bits, overrides, chain = 8, {"seed": self.seed}, None
        refs: dict[str, np.ndarray] = {}
        prev = lane.prev if lane.prev is not None and lane.prev.index == item.index - 1 else None
        if self.chain is not None and prev is not None:
            if lane.prev_dreamed is None:
                lane.prev_dreamed = self.work.read(prev.index)
            x, more, chain, refs = self.chain.start(
                item.index, x, to_float(prev.raw), to_float(lane.prev_dreamed), item.motion
            )
            overrides.update(more or {})
            bits = 16

        def progress(done: int, total: int, octave: int, step: int) -> None:
            self.display.step(slot.name, self.name, done, total)

        out = slot.dream(x, progress, self.cancel, bits=bits, overrides=overrides, frame=refs)
        dreamed = to_u8(out.image)
        lane.prev, lane.prev_dreamed = item, dreamed
        if item.warmup:
            return
        meta = {"tool": "dream-batch", **self.opt.record, "source": self.name,
                "runner": self.runner.kind, **out.metadata}  # fmt: skip
        if chain is not None:
            meta["blend"] = chain
        if self.meta is None or item.index == 0:
            self.meta = meta
        self.work.write(item.index, dreamed, text=params_text({**meta, "frame": item.index + 1}))
        if self.progress is not None:
            self.progress.advance()


def _new_seed() -> int:
    import random

    return random.SystemRandom().randrange(2**32)


def _recorded(path: Path) -> dict[str, Any] | None:
    from PIL import Image

    try:
        with Image.open(path) as im:
            text = im.info.get("dream-batch")
        value = json.loads(text) if isinstance(text, str) else None
    except (OSError, ValueError):
        return None
    return value if isinstance(value, dict) else None
