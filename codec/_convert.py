"""Integer samples ⇄ float32 in [0, 1], and EXIF orientation: plain numpy, no decoder."""

from __future__ import annotations

import numpy as np


def to_float(pixels: np.ndarray) -> np.ndarray:
    """uint8 / uint16 / float samples → float32 in [0, 1] (floats are taken as they are).

    Raises:
        ValueError: another sample type.
    """
    if pixels.dtype == np.uint8:
        return pixels.astype(np.float32) / 255.0
    if pixels.dtype == np.uint16:
        return pixels.astype(np.float32) / 65535.0
    if np.issubdtype(pixels.dtype, np.floating):
        return pixels.astype(np.float32, copy=False)
    raise ValueError(f"unsupported sample type {pixels.dtype}; use uint8, uint16 or float")


def from_float(pixels: np.ndarray, dtype: np.dtype | type) -> np.ndarray:
    """float in [0, 1] → ``dtype``: uint8 and uint16 clipped and rounded, float32 as it is.

    Raises:
        ValueError: another sample type.
    """
    dt = np.dtype(dtype)
    if dt == np.uint8:
        return np.rint(np.clip(pixels, 0, 1) * 255.0).astype(np.uint8)
    if dt == np.uint16:
        return np.rint(np.clip(pixels, 0, 1) * 65535.0).astype(np.uint16)
    if dt == np.float32:
        return pixels.astype(np.float32, copy=False)
    raise ValueError(f"unsupported sample type {dt}; use uint8, uint16 or float32")


def orient(pixels: np.ndarray, orientation: int) -> np.ndarray:
    """Apply an EXIF orientation (1–8) to an (H, W, C) array, as a viewer would show it."""
    if orientation == 2:
        return pixels[:, ::-1]
    if orientation == 3:
        return pixels[::-1, ::-1]
    if orientation == 4:
        return pixels[::-1]
    if orientation == 5:
        return pixels.transpose(1, 0, 2)
    if orientation == 6:
        return np.rot90(pixels, -1)
    if orientation == 7:
        return pixels[::-1, ::-1].transpose(1, 0, 2)
    if orientation == 8:
        return np.rot90(pixels, 1)
    return pixels
