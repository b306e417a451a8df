"""How one frame of a sequence starts from the previous dreamed frame (``-b``, ``--flow``),
for videos and frame folders alike.

``-b`` alone blends the previous dreamed frame into the raw frame, a share ``f`` of it
(``--blend-mode``, ``--blend-factor``). ``--flow`` carries the previous frame's dream detail
along the optical flow instead (see ``_flow``), and changes two defaults, because a
share of 5–45 % of the old detail (``-b``'s random default) holds the dream still only a
little: ``f`` is 0.8 unless ``--blend-mode``/``--blend-factor`` say otherwise, and a frame
that starts with ``f`` of the old detail is dreamed with only ``(1 − f)`` of the steps
(at least one; ``--steps-after-first`` sets them). The detail then settles where one
frame's dream would be instead of piling up — measured in ``benchmarks/video.py``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ._blend import Blend, mix
from ._flow import Motion, carry

#: The carried share with --flow when no blend flag is given.
FLOW_FACTOR = 0.8


@dataclass(frozen=True)
class Chain:
    blend: Blend
    flow: str | None = None  # optical flow method, or None: -b's plain blend
    steps: int = 10  # --steps-per-octave
    steps_after_first: int | None = None  # --steps-after-first

    def steps_for(self, factor: float) -> int | None:
        """Steps per octave of a frame that starts from ``factor`` of the old detail, or
        None for the run's own."""
        if self.steps_after_first is not None:
            return self.steps_after_first
        if self.flow is None:
            return None
        return max(1, round(self.steps * (1.0 - factor)))

    def start(
        self,
        index: int,
        raw: np.ndarray,
        prev_raw: np.ndarray | None,
        prev_dreamed: np.ndarray,
        motion: Motion | None,
    ) -> tuple[np.ndarray, dict[str, Any] | None, dict[str, Any]]:
        """Frame ``index``'s input (float32 like ``raw``), its parameter overrides and what
        to record about the chain. Without ``motion`` (no flow, or the previous raw frame
        unknown) the previous dreamed frame is blended in as ``-b`` does."""
        f = self.blend.factor_for(index)
        record: dict[str, Any] = {**self.blend.as_dict(), "factor": round(f, 6)}
        if motion is not None and prev_raw is not None:
            x = carry(raw, prev_raw, prev_dreamed, motion, f)
            record["flow"] = {"method": self.flow, "reliable": round(motion.reliable_share, 4)}
        else:
            x = mix(raw, prev_dreamed, f)
        steps = self.steps_for(f)
        overrides = {"steps_per_octave": steps} if steps is not None else None
        if steps is not None:
            record["steps_per_octave"] = steps
        return x, overrides, record
