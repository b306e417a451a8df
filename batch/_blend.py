"""Blending the previous dreamed frame into the next raw frame (video continuity).

The input of frame *i* becomes ``(1 − f) · raw_i + f · dreamed_{i−1}``, colour channels
only (the raw frame's alpha is kept). How ``f`` is chosen:

- ``random``: uniform in [0.05, 0.45), as the original tool did (``--blend-factor`` unused);
- ``constant``: ``--blend-factor`` for every frame;
- ``gaussian``: normal around ``--blend-factor`` with ``--blend-sigma``, clipped to [0, 1].

Factors depend only on the seed and the frame's index in the sorted sequence, so a run
split over several daemons, or resumed half-way, blends exactly as one uninterrupted run.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._errors import UsageError

MODES: tuple[str, ...] = ("random", "constant", "gaussian")
RANDOM_RANGE = (0.05, 0.45)
DEFAULT_FACTOR = 0.25
DEFAULT_SIGMA = 0.1


@dataclass(frozen=True)
class Blend:
    mode: str = "random"
    factor: float = DEFAULT_FACTOR
    sigma: float = DEFAULT_SIGMA
    seed: int = 0

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise UsageError(f"--blend-mode must be one of {', '.join(MODES)}, not {self.mode!r}")
        if not 0.0 <= self.factor <= 1.0:
            raise UsageError(f"--blend-factor must be between 0 and 1, not {self.factor}")
        if not 0.0 <= self.sigma <= 1.0:
            raise UsageError(f"--blend-sigma must be between 0 and 1, not {self.sigma}")
        if self.seed < 0:
            raise UsageError("the blend seed must be non-negative")

    def factor_for(self, index: int) -> float:
        """The weight of the previous dreamed frame in frame ``index``'s input."""
        if self.mode == "constant":
            return float(self.factor)
        rng = np.random.default_rng([self.seed, index])
        if self.mode == "random":
            return float(rng.uniform(*RANDOM_RANGE))
        return float(np.clip(rng.normal(self.factor, self.sigma), 0.0, 1.0))

    def apply(self, raw: np.ndarray, previous: np.ndarray, index: int) -> tuple[np.ndarray, float]:
        """Blend ``previous`` (dreamed) into ``raw``; both float32 (H, W, C) of one shape."""
        f = self.factor_for(index)
        return mix(raw, previous, f), f

    def as_dict(self) -> dict[str, object]:
        d: dict[str, object] = {"mode": self.mode, "seed": self.seed}
        if self.mode != "random":
            d["factor"] = self.factor
        if self.mode == "gaussian":
            d["sigma"] = self.sigma
        return d


def compatible(raw: np.ndarray, previous: np.ndarray | None) -> bool:
    return previous is not None and raw.shape == previous.shape


def mix(raw: np.ndarray, previous: np.ndarray, f: float) -> np.ndarray:
    """``(1 − f)·raw + f·previous`` on the colour channels; alpha is the raw frame's."""
    if raw.shape != previous.shape:
        raise ValueError(f"cannot blend {previous.shape} into {raw.shape}")
    c = raw.shape[2]
    colour = c - 1 if c in (2, 4) else c
    out = raw.copy()
    out[:, :, :colour] = (1.0 - f) * raw[:, :, :colour] + f * previous[:, :, :colour]
    return out.astype(np.float32, copy=False)
