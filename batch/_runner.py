"""Where dreams run: the engine in this process, or one or more dreamd daemons.

Both sit behind :class:`Runner`: a runner offers *slots*, each able to dream one image at
a time (``Slot.dream`` blocks). The embedded runner has one slot (the model on one device);
a daemon runner has several per daemon, so that a daemon always has the next image queued
while it dreams the current one.
"""

from __future__ import annotations

import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ._errors import DreamFailed, Interrupted, UsageError

ProgressFn = Callable[[int, int, int, int], None]


@dataclass
class DreamOutput:
    """A dreamed image, what made it (model, layers, parameters, seed …) and notes."""

    image: np.ndarray
    metadata: dict[str, Any]
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0


class Slot(ABC):
    """Dreams one image at a time on one device."""

    #: what to call it in messages ("embedded", "ipc:///run/dreamd.sock #2" …)
    name: str = "slot"
    #: slots with the same group share a device (one per group is used with --blend)
    group: str = "embedded"

    @abstractmethod
    def dream(
        self,
        image: np.ndarray,
        on_progress: ProgressFn | None,
        cancel: threading.Event,
        bits: int = 16,
        overrides: Mapping[str, Any] | None = None,
        frame: Mapping[str, np.ndarray] | None = None,
    ) -> DreamOutput:
        """Dream ``image`` (float32 (H, W, C) in [0, 1]); ``bits`` is the precision that
        matters for it (8 for an 8-bit file, so a daemon may be sent 8-bit samples).
        ``overrides`` replaces some of the run's parameters for this image only (a video's
        later frames dreamed with fewer steps: ``{"steps_per_octave": 4}``). ``frame``: a
        styled video frame's ``content``, ``previous`` and ``previous_weight`` (float32,
        the image's size; see ``engine.dream``).

        Raises:
            DreamFailed: this image could not be dreamed (the others may be).
            RunnerLost: the slot is gone (daemon unreachable after retries).
            Interrupted: ``cancel`` was set.
        """


class Runner(ABC):
    """A set of slots plus the one line that says where dreams run."""

    #: "embedded engine: efficientnet-lite0 on cpu" / "daemon ipc://…: googlenet on cuda:0"
    description: str = ""
    #: things to tell the user once at start (why a model was chosen …)
    notes: list[str]
    kind: str = "embedded"

    @abstractmethod
    def slots(self, per_group: int | None = None) -> list[Slot]:
        """The slots to use; at most ``per_group`` per device when given."""

    def fallback(self) -> Runner | None:
        """A runner to take over when every slot is lost (None: give up)."""
        return None

    def close(self) -> None:  # noqa: B027 - nothing to release by default
        """Release sockets and models."""


# ---------------------------------------------------------------------------- embedded


def resolve_device(device: str) -> str:
    """The engine's one device for ``--device`` (``auto``: the first GPU, else MPS, else
    the CPU).

    Raises:
        UsageError: a device the engine does not know, or this machine does not have.
    """
    from dreamd import engine

    try:
        return engine.resolve_device(device)
    except engine.DeviceUnavailable as exc:
        raise UsageError(f"--device {exc}") from None


class EmbeddedRunner(Runner):
    """The engine in this process: one model on one device, one slot.

    Every torch call (loading the model, each dream) runs on one dedicated thread. torch's
    OpenMP runtime (libgomp) keeps a team of worker threads per thread that starts parallel
    work; with a second team alive it counts more threads than cores and makes its workers
    sleep instead of spin between operations: a model loaded on the main thread and
    dreamed on a pipeline thread ran 1.7× slower (0.72 → 1.29 s at 320×180, 2 cores).
    """

    kind = "embedded"

    def __init__(
        self,
        params: Mapping[str, Any],
        *,
        model: str = "auto",
        device: str = "auto",
        weights: str | None = None,
        guide: np.ndarray | None = None,
        style: np.ndarray | Sequence[np.ndarray] | None = None,
        loaded: Any = None,
    ) -> None:
        self.notes = []
        self.engine_thread = ThreadPoolExecutor(1, thread_name_prefix="dream-engine")
        dev = resolve_device(device)
        try:
            self._setup(params, model, dev, weights, loaded, styled=style is not None)
        except BaseException:
            self.engine_thread.shutdown(wait=False)
            raise
        self.guide = guide
        self.style = style
        self.description = f"embedded engine: {self.model.name} on {self.model.device}"
        self._slot = _EngineSlot(self)

    def _setup(
        self,
        params: Mapping[str, Any],
        model: str,
        dev: str,
        weights: str | None,
        loaded: Any,
        styled: bool,
    ) -> None:
        from dreamd import engine

        if loaded is None:
            try:
                loaded = self.engine_thread.submit(
                    engine.load_model, model, dev, weights=weights
                ).result()
            except engine.UnknownModel as exc:
                raise UsageError(str(exc)) from None
            except engine.WeightsError as exc:
                raise UsageError(str(exc)) from None
            except (RuntimeError, AssertionError) as exc:  # e.g. a CUDA device that is absent
                raise UsageError(f"cannot use device {dev!r}: {exc}") from None
        self.model = loaded
        self.notes.extend(self.model.notes)
        try:
            self.params = engine.resolve_layers(
                self.model.catalogue, engine.DreamParams.from_mapping(dict(params)), styled
            )
        except engine.UnknownLayer as exc:
            raise UsageError(str(exc)) from None
        except engine.InvalidParams as exc:
            raise UsageError(f"bad parameter {exc}") from None

    def slots(self, per_group: int | None = None) -> list[Slot]:
        return [self._slot]

    def close(self) -> None:
        self.engine_thread.shutdown(wait=True)


class _EngineSlot(Slot):
    name = "embedded"
    group = "embedded"

    def __init__(self, runner: EmbeddedRunner) -> None:
        self.runner = runner

    def dream(
        self,
        image: np.ndarray,
        on_progress: ProgressFn | None,
        cancel: threading.Event,
        bits: int = 16,
        overrides: Mapping[str, Any] | None = None,
        frame: Mapping[str, np.ndarray] | None = None,
    ) -> DreamOutput:
        from dreamd import engine

        r = self.runner
        params = r.params.with_(**overrides) if overrides else r.params
        refs = frame or {}
        started = time.perf_counter()
        try:
            result = r.engine_thread.submit(
                engine.dream,
                r.model,
                image,
                params,
                guide=r.guide,
                style=r.style,
                on_progress=on_progress,
                should_cancel=cancel.is_set,
                content=refs.get("content"),
                previous=refs.get("previous"),
                previous_weight=refs.get("previous_weight"),
            ).result()
        except engine.Cancelled:
            raise Interrupted("cancelled") from None
        except engine.EngineError as exc:
            raise DreamFailed(str(exc)) from None
        except MemoryError:
            raise DreamFailed("out of memory") from None
        meta = dict(result.metadata())
        return DreamOutput(result.image, meta, list(result.notes), time.perf_counter() - started)


def list_layers(
    model: str = "auto", device: str = "cpu", weights: str | None = None
) -> tuple[str, str, list[dict[str, Any]]]:
    """(model name, default layer, layers as dicts) of a model loaded here."""
    from dreamd import engine

    try:
        m = engine.load_model(model, resolve_device(device), weights=weights)
    except (engine.UnknownModel, engine.WeightsError) as exc:
        raise UsageError(str(exc)) from None
    return m.name, m.catalogue.default.name, [lay.as_dict() for lay in m.catalogue]
