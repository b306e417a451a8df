"""Optical flow between consecutive *raw* frames, to carry the previous frame's dream onto
the next one where the picture really moved there (``--flow``).

Frame *t*'s input is ``raw_t + f · m · W(dreamed_{t−1} − raw_{t−1})``: the previous frame's
dream *detail*, warped along the flow from raw frame *t* back to raw frame *t−1*, weighted
by the blend factor ``f`` (``--blend-mode``/``--blend-factor``, as ``-b`` without flow) and a
mask ``m`` that is 0 wherever the flow cannot be trusted: forward and backward flows that
disagree (occlusions, disocclusions), and pixels that come from outside the frame.

Why it cannot pile up (DeepDreamAnim's frames grew brighter and brighter, #11, because it
re-added the whole warped detail, weight 1, every frame): the detail carried is at most
``f < 1`` of the last one, so frame after frame old detail fades geometrically and the
detail of a still scene settles at ``1/(1−f)`` of one dream's (1.33× at ``f`` = 0.25), as with
``-b`` alone, instead of growing without end. ``f`` is capped at :data:`MAX_CARRY`.

The flows are computed on the raw frames only, so they never see the dream and can be
computed ahead, while the previous frame is being dreamed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

METHODS: tuple[str, ...] = ("dis", "farneback")
#: Largest share of the old detail carried into a frame: 1 would never let it fade.
MAX_CARRY = 0.9
#: Forward–backward check (Ruder et al., "Artistic style transfer for videos"): a pixel is
#: unreliable when |b + f(x + b)|² > A·(|b|² + |f(x + b)|²) + B, in pixels².
CONSISTENCY_A = 0.01
CONSISTENCY_B = 0.5


@dataclass(frozen=True)
class Motion:
    """How raw frame *t* relates to raw frame *t−1*."""

    map_x: np.ndarray  # float32 (H, W): where each pixel of frame t was in frame t−1
    map_y: np.ndarray
    reliable: np.ndarray  # bool (H, W): the flow there passes the consistency check
    weight: np.ndarray  # float32 (H, W) in [0, 1]: ``reliable``, eroded and feathered

    @property
    def reliable_share(self) -> float:
        return float(self.reliable.mean())


def gray8(image: np.ndarray) -> np.ndarray:
    """uint8 luma of a float32 [0, 1] (H, W, C) image or a uint8 RGB one (alpha ignored)."""
    arr = np.asarray(image)
    c = arr.shape[2] if arr.ndim == 3 else 1
    if arr.dtype != np.uint8:
        arr = np.rint(np.clip(arr, 0.0, 1.0) * 255.0).astype(np.uint8)
    if c in (1, 2):
        g = arr if arr.ndim == 2 else arr[:, :, 0]
    else:
        g = 0.299 * arr[:, :, 0].astype(np.float32) + 0.587 * arr[:, :, 1] + 0.114 * arr[:, :, 2]
        g = np.rint(g).astype(np.uint8)
    return np.ascontiguousarray(g)


class FlowEstimator:
    """Dense optical flow with OpenCV (DIS by default, Farneback on request). One per
    thread: OpenCV's flow objects keep state between calls."""

    def __init__(self, method: str = "dis") -> None:
        import cv2

        if method not in METHODS:
            raise ValueError(f"flow method must be one of {', '.join(METHODS)}, not {method!r}")
        self.method = method
        self._cv2 = cv2
        self._dis = None
        if method == "dis":
            self._dis = cv2.DISOpticalFlow.create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)

    def flow(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """Flow from gray ``a`` to gray ``b``: a(x) ≈ b(x + flow(x)); float32 (H, W, 2)."""
        start = np.zeros((*a.shape, 2), np.float32)  # not used as a first guess (no flag)
        if self._dis is not None:
            return np.asarray(self._dis.calc(a, b, start))
        return np.asarray(self._cv2.calcOpticalFlowFarneback(a, b, start, 0.5, 3, 15, 3, 5, 1.2, 0))

    def motion(self, raw_prev: np.ndarray, raw_cur: np.ndarray) -> Motion:
        """The motion from raw frame *t−1* (``raw_prev``) to raw frame *t* (``raw_cur``)."""
        cv2 = self._cv2
        g0, g1 = gray8(raw_prev), gray8(raw_cur)
        if g0.shape != g1.shape:
            raise ValueError(f"frames of different sizes: {g0.shape} and {g1.shape}")
        h, w = g1.shape
        back = self.flow(g1, g0)  # frame t → frame t−1
        fwd = self.flow(g0, g1)  # frame t−1 → frame t
        xs, ys = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
        map_x = xs + back[:, :, 0]
        map_y = ys + back[:, :, 1]
        fwd_there = cv2.remap(fwd, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        bx, by, fx, fy = back[:, :, 0], back[:, :, 1], fwd_there[:, :, 0], fwd_there[:, :, 1]
        err = (bx + fx) ** 2 + (by + fy) ** 2
        scale = bx * bx + by * by + fx * fx + fy * fy
        inside = (map_x >= 0) & (map_x <= w - 1) & (map_y >= 0) & (map_y <= h - 1)
        reliable = inside & (err <= CONSISTENCY_A * scale + CONSISTENCY_B)
        return Motion(map_x, map_y, reliable, _feather(reliable))


def _feather(reliable: np.ndarray) -> np.ndarray:
    """The mask, one pixel inside its reliable region, with a soft edge: no seam where
    carried detail stops."""
    import cv2

    m = cv2.erode(reliable.astype(np.uint8), np.ones((3, 3), np.uint8), borderValue=0)
    return cv2.GaussianBlur(m.astype(np.float32), (5, 5), 1.0) * m


def warp(image: np.ndarray, motion: Motion) -> np.ndarray:
    """``image`` (of frame *t−1*, float32 (H, W, C)) moved to where frame *t* shows it;
    pixels from outside the frame are 0."""
    import cv2

    arr = np.ascontiguousarray(image, dtype=np.float32)
    out = cv2.remap(
        arr, motion.map_x, motion.map_y, cv2.INTER_CUBIC, borderMode=cv2.BORDER_CONSTANT
    )
    return out.reshape(arr.shape)


def _colour(c: int) -> int:
    return c - 1 if c in (2, 4) else c


def carry(
    raw: np.ndarray,
    raw_prev: np.ndarray,
    dreamed_prev: np.ndarray,
    motion: Motion,
    factor: float,
) -> np.ndarray:
    """Frame *t*'s input: ``raw`` plus ``factor`` (≤ :data:`MAX_CARRY`) of the previous
    frame's dream detail, warped along ``motion`` and masked where it is unreliable.
    Colour channels only; ``raw``'s alpha is kept. All float32 (H, W, C) in [0, 1]."""
    if not (raw.shape == raw_prev.shape == dreamed_prev.shape):
        raise ValueError(f"cannot carry {dreamed_prev.shape} detail into {raw.shape}")
    n = _colour(raw.shape[2])
    detail = dreamed_prev[:, :, :n] - raw_prev[:, :, :n]
    carried = warp(detail, motion) * motion.weight[:, :, None]
    f = min(max(float(factor), 0.0), MAX_CARRY)
    out = raw.copy()
    out[:, :, :n] = np.clip(raw[:, :, :n] + f * carried, 0.0, 1.0)
    return out.astype(np.float32, copy=False)


def flicker(
    outputs: Sequence[np.ndarray], inputs: Sequence[np.ndarray], method: str = "dis"
) -> float:
    """How much the output changes between frames beyond what the input's motion explains:
    the mean |o_t − W(o_{t−1})| in 8-bit levels over the pixels where the *input's* flow is
    consistent, W warping along the input's flow. Frames as uint8 or float32 [0, 1]."""
    if len(outputs) != len(inputs) or len(inputs) < 2:
        raise ValueError("need as many outputs as inputs, two or more")
    est = FlowEstimator(method)
    total, count = 0.0, 0
    for t in range(1, len(inputs)):
        motion = est.motion(inputs[t - 1], inputs[t])
        o_prev, o_cur = _float255(outputs[t - 1]), _float255(outputs[t])
        diff = np.abs(o_cur - warp(o_prev, motion)).mean(axis=2)
        total += float(diff[motion.reliable].sum())
        count += int(motion.reliable.sum())
    return total / max(count, 1)


def _float255(image: np.ndarray) -> np.ndarray:
    arr = np.asarray(image)
    out = arr.astype(np.float32) if arr.dtype == np.uint8 else arr.astype(np.float32) * 255.0
    return out if out.ndim == 3 else out[:, :, None]
