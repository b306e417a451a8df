"""Image plumbing around a dream: channels, alpha, gray, value range.

The engine works on float32 HxWxC arrays in [0, 1]. Callers convert 8-bit, 16-bit or
float pixels to that once and back once (``dreamd.codec.to_float`` / ``from_float``), so
no depth is squeezed through 8 bits on the way.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._errors import InvalidImage

#: Rec. 601 luma, the weights Pillow and GIMP use to turn RGB into gray.
LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32)


@dataclass
class SplitImage:
    """An image taken apart for dreaming: RGB to dream, alpha to put back untouched."""

    rgb: np.ndarray  # (H, W, 3) float32 in [0, 1], C-contiguous
    alpha: np.ndarray | None  # (H, W) float32, or None
    gray: bool
    clipped: bool  # values outside [0, 1] were clipped


def split(image: np.ndarray) -> SplitImage:
    """Check a float32 (H, W, C) image, C in 1–4, and take out its alpha and gray-ness.

    Raises:
        InvalidImage: wrong dtype, rank, channel count, empty, or NaN/inf values.
    """
    if not isinstance(image, np.ndarray):
        raise InvalidImage(f"image must be a numpy array, got {type(image).__name__}")
    if image.dtype != np.float32:
        raise InvalidImage(
            f"image must be float32 in [0, 1], got {image.dtype}; "
            "convert with dreamd.codec.to_float"
        )
    if image.ndim == 2:
        image = image[:, :, None]
    if image.ndim != 3 or not 1 <= image.shape[2] <= 4:
        raise InvalidImage(f"image must be (H, W, C) with C in 1..4, got shape {image.shape}")
    h, w, c = image.shape
    if h < 1 or w < 1:
        raise InvalidImage(f"image is empty ({w}×{h})")
    if not np.isfinite(image).all():
        raise InvalidImage("image contains NaN or infinite values")
    clipped = bool(image.min() < 0.0 or image.max() > 1.0)
    has_alpha = c in (2, 4)
    colour = image[:, :, : c - 1] if has_alpha else image
    alpha = image[:, :, c - 1].copy() if has_alpha else None
    gray = colour.shape[2] == 1
    rgb = np.repeat(colour, 3, axis=2) if gray else colour
    return SplitImage(np.ascontiguousarray(np.clip(rgb, 0.0, 1.0)), alpha, gray, clipped)


def join(rgb: np.ndarray, parts: SplitImage) -> np.ndarray:
    """Inverse of :func:`split`: back to the input's channel layout, alpha unchanged."""
    colour = (rgb @ LUMA)[:, :, None] if parts.gray else rgb
    if parts.alpha is not None:
        colour = np.concatenate([colour, parts.alpha[:, :, None]], axis=2)
    return np.ascontiguousarray(colour, dtype=np.float32)
