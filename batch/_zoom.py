"""Zoom animations, as the original notebook made them: dream a photo, zoom into the dream
around its centre (``--zoom-scale``, optionally turning by ``--zoom-rotate`` degrees), dream
that, and so on: ``--zoom N`` frames at ``--fps``, written as ``out/photo.mp4`` (or PNG frames
with ``--frames``). Each frame is kept in the working folder as it is dreamed, so a stopped
animation resumes from its last frame.
"""

from __future__ import annotations

import json
import random
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np

from ._errors import DreamFailed, ImageError, Interrupted, RunnerLost
from ._imageio import Limits, params_text, read_image
from ._progress import Display
from ._report import Report
from ._runner import Runner
from ._video_progress import FrameProgress
from ._video_work import WorkFolder, hidden_folder
from ._video_write import encoder_for, resolve_codec, write_video

DEFAULT_SCALE = 1.05
DEFAULT_FPS = 25.0


@dataclass(frozen=True)
class ZoomOptions:
    frames: int  # --zoom N
    scale: float = DEFAULT_SCALE
    rotate: float = 0.0  # degrees per frame, counter-clockwise
    fps: float = DEFAULT_FPS
    codec: str | None = None
    crf: int | None = None
    as_frames: bool = False  # --frames
    seed: int | None = None
    limits: Limits = field(default_factory=Limits)
    overwrite: bool = False
    record: dict[str, Any] = field(default_factory=dict)
    state: dict[str, Any] = field(default_factory=dict)


def zoom(frame: np.ndarray, scale: float, rotate: float) -> np.ndarray:
    """``frame`` (uint8 RGB) magnified ``scale`` times around its centre and turned ``rotate``
    degrees counter-clockwise, same size; corners a turn uncovers are mirrored in."""
    import cv2

    h, w = frame.shape[:2]
    m = cv2.getRotationMatrix2D(((w - 1) / 2.0, (h - 1) / 2.0), rotate, scale)
    out = cv2.warpAffine(
        frame, m, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT_101
    )
    return np.asarray(out)


def _rgb(pixels: np.ndarray) -> tuple[np.ndarray, list[str]]:
    c = pixels.shape[2]
    notes = ["the animation is RGB: the photo's alpha is dropped"] if c in (2, 4) else []
    rgb = np.repeat(pixels[:, :, :1], 3, axis=2) if c in (1, 2) else pixels[:, :, :3]
    return np.rint(np.clip(rgb, 0.0, 1.0) * 255.0).astype(np.uint8), notes


class ZoomJob:
    """One photo → one zoom animation."""

    def __init__(
        self,
        name: str,
        source: Path,
        dest: Path,
        runner: Runner,
        options: ZoomOptions,
        report: Report,
        display: Display,
    ) -> None:
        self.name, self.source, self.dest = name, source, dest
        self.runner = runner
        self.opt = options
        self.report = report
        self.display = display
        self.cancel = threading.Event()
        self.progress: FrameProgress | None = None
        self.lost: set[str] = set()

    def run(self) -> Runner:
        """Make the animation, reporting the outcome; returns the runner to go on with.
        Raises KeyboardInterrupt (after cancelling the dream in flight)."""
        started = time.perf_counter()
        try:
            self._run(started)
        except ImageError as exc:
            self.report.failed(self.name, exc.reason)
        except DreamFailed as exc:
            self.report.failed(self.name, f"dream failed: {exc}")
        except KeyboardInterrupt:
            self.cancel.set()
            self.report.interrupted = True
            raise
        finally:
            if self.progress is not None:
                self.progress.close()
        return self.runner

    def _run(self, started: float) -> None:
        opt = self.opt
        photo, notes = _rgb(read_image(self.source, opt.limits).pixels)
        h, w = photo.shape[:2]
        encoder = None
        if not opt.as_frames:
            codec = resolve_codec(opt.codec, self.dest.suffix)
            encoder = encoder_for(codec, opt.crf, w, h, self.name)
            notes += list(encoder.notes)
        st = self.source.stat()
        state = {**opt.state, "source": {"size": st.st_size, "mtime_ns": st.st_mtime_ns}}
        folder = self.dest if opt.as_frames else hidden_folder(self.dest)
        work = WorkFolder(folder, state, keep=opt.as_frames)
        # --overwrite redoes a finished result; an unfinished one (this command stopped
        # half-way) is taken up again
        note = work.open(fresh=opt.overwrite and opt.as_frames and WorkFolder.complete(self.dest))
        if note:
            notes.append(note)
        seed = opt.seed if opt.seed is not None else work.remember("seed", _new_seed())
        first = 0
        while first < opt.frames and work.done(first):
            first += 1
        self.progress = FrameProgress(self.display, self.name, opt.frames, first)
        frame = photo if first == 0 else zoom(work.read(first - 1), opt.scale, opt.rotate)
        meta: dict[str, Any] = {}
        for k in range(first, opt.frames):
            out, meta = self._dream(frame, seed)
            meta = {**meta, "zoom": {"scale": opt.scale, "rotate": opt.rotate, "fps": opt.fps}}
            work.write(k, out, text=params_text({**meta, "frame": k + 1}))
            self.progress.advance()
            frame = zoom(out, opt.scale, opt.rotate)
        if encoder is not None:
            self.progress.phase("encoding")
            comment = json.dumps({**meta, "frames": opt.frames}) if meta else None
            write_video(
                self._frames(work), self.dest, encoder, rate=_rate(opt.fps), comment=comment
            )
        work.finish()
        self.report.done(self.name, str(self.dest), time.perf_counter() - started, notes)

    def _frames(self, work: WorkFolder) -> Iterator[np.ndarray]:
        for k in range(self.opt.frames):
            yield work.read(k)

    def _dream(self, frame: np.ndarray, seed: int) -> tuple[np.ndarray, dict[str, Any]]:
        """Dream one frame on the first slot that answers, the fallback runner last."""
        while True:
            for slot in self.runner.slots(per_group=1):
                if slot.group in self.lost:
                    continue
                try:
                    out = slot.dream(
                        frame.astype(np.float32) / 255.0,
                        self._progress(slot.name),
                        self.cancel,
                        bits=8,
                        overrides={"seed": seed},
                    )
                except RunnerLost as exc:
                    self.lost.add(slot.group)
                    self.display.problem(f"warning: {slot.group} lost ({exc})")
                    continue
                except Interrupted:
                    raise KeyboardInterrupt from None
                rgb = np.rint(np.clip(out.image[:, :, :3], 0, 1) * 255).astype(np.uint8)
                meta = {"tool": "dream-batch", **self.opt.record, "source": self.name,
                        "runner": self.runner.kind, **out.metadata}  # fmt: skip
                return rgb, meta
            fallback = self.runner.fallback()
            if fallback is None:
                raise DreamFailed("no dream runner left")
            self.display.line(f"continuing with {fallback.description}")
            self.runner = fallback

    def _progress(self, slot: str) -> Callable[[int, int, int, int], None]:
        def progress(done: int, total: int, octave: int, step: int) -> None:
            self.display.step(slot, self.name, done, total)

        return progress


def _rate(fps: float) -> Fraction:
    return Fraction(fps).limit_denominator(1001)


def _new_seed() -> int:
    return random.SystemRandom().randrange(2**32)
