"""One worker thread per device, each with its own resident model.

Workers never touch a socket. They take jobs from their inbox and put events
(:class:`Ready`, :class:`Progress`, :class:`Finished`, :class:`Failed`) into the shared
:class:`Outbox`, which wakes the server's poll loop through a socket pair.
"""

from __future__ import annotations

import contextlib
import queue
import socket
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from dreamd import engine, protocol

from . import _errors
from ._errors import JobError
from ._log import log
from ._queue import Job

#: Turns a float32 result into reply frames: (image descriptor, pixel frame).
EncodeFn = Callable[[np.ndarray, Any], tuple[dict[str, Any], bytes]]
#: Turns a wire image into float32 pixels and notes.
DecodeFn = Callable[[Any, str], tuple[np.ndarray, list[str]]]


@dataclass
class Ready:
    worker: Worker
    model: engine.DreamModel
    seconds: float


@dataclass
class LoadFailed:
    worker: Worker
    error: BaseException


@dataclass
class Progress:
    job: Job
    done: int
    total: int
    octave: int
    step: int


@dataclass
class PreviewReady:
    """A picture of the dream as it stands, for a job that asked (8-bit RGB)."""

    job: Job
    data: bytes
    width: int
    height: int


@dataclass
class Finished:
    job: Job
    descriptor: dict[str, Any]
    frame: bytes
    metadata: dict[str, Any]
    dream_seconds: float
    notes: list[str] = field(default_factory=list)
    #: (steps, pixel-steps) the dream ran, for the daemon's speed; None for a style
    #: transfer, whose steps cost differently.
    work: tuple[int, int] | None = None


@dataclass
class Calibrated:
    """The worker's speed on a few tiny dreams: (steps, pixel-steps, seconds) each."""

    worker: Worker
    samples: list[tuple[int, int, float]]


@dataclass
class Failed:
    job: Job
    code: protocol.ErrorCode
    message: str
    field: str | None = None


Event = Ready | LoadFailed | Progress | PreviewReady | Finished | Failed | Calibrated

#: Put in a worker's inbox: measure its speed (:class:`Calibrated`) before the next job.
CALIBRATE = "calibrate"


class Outbox:
    """A thread-safe event queue whose ``fileno()`` becomes readable when it has events."""

    def __init__(self) -> None:
        self._events: queue.SimpleQueue[Event] = queue.SimpleQueue()
        self._reader, self._writer = socket.socketpair()
        self._reader.setblocking(False)
        self._writer.setblocking(False)

    def put(self, event: Event) -> None:
        self._events.put(event)
        self.wake()

    def wake(self) -> None:
        """Make the poll loop run (a full pipe already means it will)."""
        with contextlib.suppress(BlockingIOError, OSError):
            self._writer.send(b"\0")

    def fileno(self) -> int:
        return self._reader.fileno()

    def drain(self) -> list[Event]:
        with contextlib.suppress(BlockingIOError, OSError):
            while self._reader.recv(4096):
                pass
        events: list[Event] = []
        while True:
            try:
                events.append(self._events.get_nowait())
            except queue.Empty:
                return events

    def close(self) -> None:
        self._reader.close()
        self._writer.close()


class Worker:
    """A device, its model and the thread that runs jobs on it."""

    def __init__(
        self,
        device: str,
        model_name: str,
        weights: str | None,
        outbox: Outbox,
        decode: DecodeFn,
        encode: EncodeFn,
        progress_interval: float = 0.25,
        allow_download: bool = True,
    ) -> None:
        self.device = device
        self.model_name = model_name
        self.weights = weights
        self.outbox = outbox
        self.decode = decode
        self.encode = encode
        self.progress_interval = progress_interval
        self.allow_download = allow_download
        self.model: engine.DreamModel | None = None
        self.job: Job | None = None  # set by the server thread only
        self.jobs_done = 0
        self._calibration: tuple[tuple[int, ...], int] = ((), 0)
        self._inbox: queue.SimpleQueue[Job | str | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name=f"dreamd-{device}", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def submit(self, job: Job) -> None:
        self.job = job
        self._inbox.put(job)

    def stop(self) -> None:
        self._inbox.put(None)

    def calibrate(self, sides: tuple[int, ...], steps: int) -> None:
        """Time a dream of each square side (``steps`` steps, one octave) before the next
        job; reported as :class:`Calibrated`."""
        self._calibration = (sides, steps)
        self._inbox.put(CALIBRATE)

    def join(self, timeout: float | None = None) -> bool:
        self._thread.join(timeout)
        return not self._thread.is_alive()

    # -- the thread ------------------------------------------------------------------------

    def _run(self) -> None:
        started = time.perf_counter()
        try:
            model = engine.load_model(
                self.model_name, self.device, self.weights, self.allow_download
            )
        except BaseException as exc:
            self.outbox.put(LoadFailed(self, exc))
            return
        self.model = model
        self.outbox.put(Ready(self, model, time.perf_counter() - started))
        # Warmed after saying ready: a job sent meanwhile waits in the inbox for the
        # warm-up, as it would have waited for the start, and everything else (status,
        # layers, systemd's READY) answers a second or more sooner.
        try:
            self._warm(model)
        except Exception as exc:  # a real job will meet it again and report it
            log.warning("warm-up dream on %s failed: %s", self.device, exc)
        while True:
            job = self._inbox.get()
            if job is None:
                return
            if isinstance(job, str):
                self.outbox.put(Calibrated(self, self._calibrate(model, *self._calibration)))
                continue
            self.outbox.put(self._dream(model, job))

    @staticmethod
    def _warm(model: engine.DreamModel) -> None:
        """One tiny dream, so the first real job does not pay for lazy initialisation."""
        image = np.full((64, 64, 3), 0.5, dtype=np.float32)
        engine.dream(model, image, engine.DreamParams(octave_count=1, steps_per_octave=1, seed=0))

    @staticmethod
    def _calibrate(
        model: engine.DreamModel, sides: tuple[int, ...], steps: int
    ) -> list[tuple[int, int, float]]:
        samples = []
        rng = np.random.default_rng(0)
        for side in sides:
            image = rng.random((side, side, 3), dtype=np.float32)
            params = engine.DreamParams(octave_count=1, steps_per_octave=steps, seed=0)
            result = engine.dream(model, image, params)
            samples.append((steps, steps * side * side, result.seconds))
        return samples

    def _dream(self, model: engine.DreamModel, job: Job) -> Finished | Failed:
        last = 0.0

        def on_progress(done: int, total: int, octave: int, step: int) -> None:
            nonlocal last
            now = time.monotonic()
            job.progress = (done, total, octave, step)
            if now - last >= self.progress_interval and done < total:
                last = now
                self.outbox.put(Progress(job, done, total, octave, step))

        try:
            if job.cancel.is_set():
                raise engine.Cancelled("cancelled before it started")
            image, notes = self.decode(job.image, "image")
            guide = self.decode(job.guide, "guide")[0] if job.guide is not None else None
            styles = _styles(job.style)
            style = [self.decode(s, where)[0] for where, s in styles] or None
            for (where, _), pixels in zip(styles, style or (), strict=True):
                if not np.isfinite(pixels).all():
                    raise JobError(
                        protocol.ErrorCode.BAD_IMAGE,
                        "the style image contains NaN or infinite values",
                        where,
                    )
            # a styled video frame's pictures (protocol 1.2); the engine checks their sizes
            pictures = {name: self.decode(i, name)[0] for name, i in job.frame.items()}
            previews: dict[str, Any] = {}
            if job.preview is not None:
                previews = {
                    "on_preview": lambda picture: self._preview(job, picture),
                    "preview_side": job.preview.max_side,
                    "preview_every": job.preview.interval,
                }
            result = engine.dream(
                model,
                image,
                job.params,
                guide=guide,
                style=style,
                on_progress=on_progress,
                should_cancel=job.cancel.is_set,
                content=pictures.get("content"),
                previous=pictures.get("previous"),
                previous_weight=pictures.get("previous_weight"),
                **previews,
            )
            descriptor, frame = self.encode(result.image, job.reply_form)
            work = None
            if style is None:
                plan = engine.plan_params(model.catalogue, image.shape[:2], job.params)
                work = (plan.steps, plan.pixel_steps)
        except BaseException as exc:
            return self._failure(job, exc)
        finally:
            # The job's input is no longer needed: let its memory go before the reply.
            job.image = job.guide = job.style = None
            job.frame = {}
        return Finished(
            job,
            descriptor,
            frame,
            result.metadata(),
            result.seconds,
            [*notes, *result.notes],
            work,
        )

    def _preview(self, job: Job, picture: np.ndarray) -> None:
        rgb = np.clip(np.rint(picture[..., :3] * 255.0), 0, 255).astype(np.uint8)
        height, width = rgb.shape[:2]
        self.outbox.put(PreviewReady(job, rgb.tobytes(), width, height))

    def _failure(self, job: Job, exc: BaseException) -> Failed:
        # engine.dream turns the device's out-of-memory errors into engine.OutOfMemory
        # (and frees the device's cached memory), so none of torch is needed here.
        code, message, fld = _errors.classify(exc)
        if code == protocol.ErrorCode.CANCELLED and job.cancel_code is not None:
            code, message = job.cancel_code, job.cancel_reason
        if code == protocol.ErrorCode.INTERNAL:
            log.error(
                "job %s failed with an unexpected error:\n%s",
                job.id,
                "".join(traceback.format_exception(type(exc), exc, exc.__traceback__)).rstrip(),
            )
        if isinstance(exc, (KeyboardInterrupt, SystemExit)):
            raise exc
        return Failed(job, code, message, fld)


def _styles(style: Any) -> list[tuple[str, Any]]:
    """A job's style images with the field each one's errors name: ``style`` for one,
    ``style[i]`` for the entries of an array (protocol 1.1)."""
    if style is None:
        return []
    if isinstance(style, tuple):
        return [(f"style[{i}]", s) for i, s in enumerate(style)]
    return [("style", style)]
