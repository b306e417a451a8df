"""How one frame of a sequence starts from the previous dreamed frame (``-b``, ``--flow``),
for videos and frame folders alike.

``-b`` alone blends the previous dreamed frame into the raw frame, a share ``f`` of it
(``--blend-mode``, ``--blend-factor``). ``--flow`` carries the previous frame's dream detail
along the optical flow instead (see ``_flow``), and changes two defaults, because a
share of 5–45 % of the old detail (``-b``'s random default) holds the dream still only a
little: ``f`` is 0.8 unless ``--blend-mode``/``--blend-factor`` say otherwise, and a frame
that starts with ``f`` of the old detail is dreamed with only ``(1 − f)`` of the steps
(``--steps-after-first`` sets them). The old detail then fades by ``f`` per frame while
``(1 − f)`` of a dream is added, so the detail settles where one frame's dream would be
instead of piling up — measured in ``benchmarks/video.py``.

With ``--style`` (Ruder et al., "Artistic style transfer for videos") a frame is not a dream
that adds detail but a transfer that settles: it starts from the carried frame as above,
keeps the *raw* frame's content, and the temporal term (``--temporal-weight``) holds it to the
previous styled frame warped along the flow where the flow is reliable (``motion.weight``).
There is nothing to pile up, so the frames after the first take half the steps rather than
``(1 − f)`` of them: on a six-frame styled pan at 128×96 (temporal weight 10) a fifth of the
steps (8 of 40) left the style a quarter further from the style image's than independent
frames' (style loss 0.184 against 0.146, flicker 6.5), half of them 0.160 (flicker 4.8),
all of them 0.150 (flicker 3.9) at twice the time. ``benchmarks/video.py --part styled``
measures the default against independent frames.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from ._blend import Blend, mix
from ._flow import FlowEstimator, Motion, carry, warp

#: The carried share with --flow when no blend flag is given.
FLOW_FACTOR = 0.8
#: With --style and --flow, the share of the steps that the frames after the first take.
STYLED_STEPS = 0.5

#: A styled frame's pictures besides its start (``engine.dream``'s ``content``,
#: ``previous`` and ``previous_weight``), empty for a dream.
FrameRefs = dict[str, np.ndarray]


@dataclass(frozen=True)
class Chain:
    blend: Blend
    flow: str | None = None  # optical flow method, or None: -b's plain blend
    steps: int = 10  # --steps-per-octave
    steps_after_first: int | None = None  # --steps-after-first
    step_size: float = 1.5  # --step-size
    styled: bool = False  # --style: frames are held to the previous one by the temporal term

    def overrides_for(self, factor: float) -> dict[str, Any] | None:
        """Parameters of a frame that starts from ``factor`` of the old detail, or None
        for the run's own. With --flow and no --steps-after-first: ``(1 − factor)`` of the
        steps; when that is not a whole number of steps (2 steps × 0.2), the step size
        makes up the difference, so a frame adds just as much new detail."""
        if self.steps_after_first is not None:
            return {"steps_per_octave": self.steps_after_first}
        if self.flow is None:
            return None
        if self.styled:
            return {"steps_per_octave": max(1, round(self.steps * STYLED_STEPS))}
        amount = self.steps * (1.0 - factor)
        n = max(1, round(amount))
        out: dict[str, Any] = {"steps_per_octave": n}
        if abs(n - amount) > 1e-6:
            out["step_size"] = round(self.step_size * amount / n, 6)
        return out

    def start(
        self,
        index: int,
        raw: np.ndarray,
        prev_raw: np.ndarray | None,
        prev_dreamed: np.ndarray,
        motion: Motion | None,
    ) -> tuple[np.ndarray, dict[str, Any] | None, dict[str, Any], FrameRefs]:
        """Frame ``index``'s input (float32 like ``raw``), its parameter overrides, what
        to record about the chain and, styled with flow, its :data:`FrameRefs` (the raw
        frame's content, the previous styled frame warped here and where that holds).
        Without flow the previous dreamed frame is blended in as ``-b`` does; with flow but
        no ``motion`` (the previous raw frame could not be read) the frame starts afresh."""
        f = self.blend.factor_for(index)
        record: dict[str, Any] = {**self.blend.as_dict(), "factor": round(f, 6)}
        refs: FrameRefs = {}
        if self.flow is not None and (motion is None or prev_raw is None):
            # the previous raw frame is gone: start afresh rather than smear f of the dream
            return raw, None, {**record, "flow": {"method": self.flow, "reliable": 0.0}}, refs
        if motion is not None and prev_raw is not None:
            x = carry(raw, prev_raw, prev_dreamed, motion, f)
            record["flow"] = {"method": self.flow, "reliable": round(motion.reliable_share, 4)}
            if self.styled:
                refs = {
                    "content": raw,
                    "previous": np.clip(warp(prev_dreamed, motion), 0.0, 1.0),
                    "previous_weight": motion.weight,
                }
        else:
            x = mix(raw, prev_dreamed, f)
        overrides = self.overrides_for(f)
        record.update(overrides or {})
        return x, overrides, record, refs


class RawFrames:
    """What one lane of a frame folder keeps for ``--flow``: its last raw frame (the flow
    runs between raw frames) and its own flow estimator."""

    def __init__(self) -> None:
        self.index = -1
        self.raw: np.ndarray | None = None
        self._est: FlowEstimator | None = None

    def keep(self, chain: Chain | None, index: int, raw: np.ndarray) -> None:
        if chain is not None and chain.flow is not None:
            self.index, self.raw = index, raw

    def start(
        self,
        chain: Chain,
        index: int,
        raw: np.ndarray,
        dreamed_prev: np.ndarray,
        read_raw: Callable[[int], np.ndarray | None],
    ) -> tuple[np.ndarray, dict[str, Any] | None, dict[str, Any], FrameRefs]:
        """:meth:`Chain.start` for frame ``index``, its previous raw frame remembered here
        or read again (``read_raw``: a resumed run, or a lane's first frame)."""
        prev_raw = motion = None
        if chain.flow is not None:
            prev_raw = self.raw if self.index == index - 1 else read_raw(index - 1)
            if prev_raw is not None and prev_raw.shape == raw.shape:
                if self._est is None:
                    self._est = FlowEstimator(chain.flow)
                motion = self._est.motion(prev_raw, raw)
        return chain.start(index, raw, prev_raw, dreamed_prev, motion)
