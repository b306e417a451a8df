"""Style images for tests, benchmarks and the README, made here (no downloads): a picture
of painted strokes swirling round a few centres, and scikit-image's gray textures coloured.

Every function returns uint8 (H, W, 3) and is deterministic.
"""

from __future__ import annotations

import math

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

#: Night-sky palette for :func:`painting`: deep blues, a teal, yellows and a white.
SWIRL_PALETTE = (
    (20, 34, 82),
    (34, 62, 140),
    (58, 104, 180),
    (96, 150, 200),
    (40, 120, 130),
    (230, 200, 70),
    (245, 225, 120),
    (250, 245, 220),
)

#: Two-colour ramps that turn a gray texture into a coloured one (dark end, light end).
RAMPS = {
    "brick": ((70, 20, 15), (235, 150, 90)),
    "gravel": ((25, 35, 70), (225, 190, 120)),
    "grass": ((20, 50, 15), (210, 220, 80)),
}


def painting(size: tuple[int, int] = (384, 384), seed: int = 0) -> np.ndarray:
    """Thick short strokes in a night-sky palette, laid along swirls round a few centres,
    on a dark blue ground: a strongly textured, painting-like style image."""
    w, h = size
    rng = np.random.default_rng(seed)
    canvas = Image.new("RGB", size, SWIRL_PALETTE[0])
    draw = ImageDraw.Draw(canvas)
    centres = rng.uniform(0, 1, (4, 2)) * (w, h)
    spin = rng.choice((-1.0, 1.0), 4)
    scale = max(w, h) / 384
    for _ in range(int(3500 * scale * scale)):
        x, y = rng.uniform(0, w), rng.uniform(0, h)
        # the stroke turns round the nearest centre, a little off the tangent
        d = np.hypot(centres[:, 0] - x, centres[:, 1] - y)
        k = int(d.argmin())
        angle = math.atan2(y - centres[k, 1], x - centres[k, 0]) + spin[k] * math.pi / 2
        angle += rng.normal(0, 0.25)
        length = rng.uniform(8, 22) * scale
        # warm colours near the centres, cool ones further out
        warm = d[k] < 0.18 * max(w, h) * rng.uniform(0.6, 1.4)
        colour = SWIRL_PALETTE[rng.integers(5, 8) if warm else rng.integers(1, 5)]
        jitter = rng.integers(-18, 19, 3)
        colour = tuple(int(np.clip(c + j, 0, 255)) for c, j in zip(colour, jitter, strict=True))
        dx, dy = math.cos(angle) * length / 2, math.sin(angle) * length / 2
        draw.line([(x - dx, y - dy), (x + dx, y + dy)], fill=colour, width=max(2, round(4 * scale)))
    return np.asarray(canvas.filter(ImageFilter.SMOOTH))


def coloured(texture: str = "brick", size: tuple[int, int] = (384, 384)) -> np.ndarray:
    """scikit-image's gray ``brick``, ``gravel`` or ``grass`` texture, its contrast
    stretched and mapped onto a two-colour ramp (:data:`RAMPS`)."""
    from skimage import data

    gray = np.asarray(
        Image.fromarray(getattr(data, texture)()).resize(size, Image.Resampling.LANCZOS),
        np.float32,
    )
    lo, hi = np.percentile(gray, (1, 99))
    t = np.clip((gray - lo) / max(hi - lo, 1.0), 0.0, 1.0)[:, :, None]
    dark, light = (np.array(c, np.float32) for c in RAMPS[texture])
    return np.rint(dark + t * (light - dark)).astype(np.uint8)


def style_image(name: str, size: tuple[int, int] = (384, 384)) -> np.ndarray:
    """A style image by name: ``painting``, ``brick``, ``gravel``, ``grass``, or
    ``ihc`` (scikit-image's immunohistochemistry slide, the README's old example)."""
    if name == "painting":
        return painting(size)
    if name in RAMPS:
        return coloured(name, size)
    if name == "ihc":
        from skimage import data

        im = Image.fromarray(data.immunohistochemistry())
        return np.asarray(im.resize(size, Image.Resampling.LANCZOS))
    raise ValueError(f"no style image {name!r}: painting, ihc or one of {sorted(RAMPS)}")


def colour_stats(image: np.ndarray) -> np.ndarray:
    """Per-channel mean and spread of an RGB image (uint8 or float in [0, 1]), in 0–1."""
    rgb = image[:, :, :3].reshape(-1, 3).astype(np.float64)
    if image.dtype == np.uint8:
        rgb /= 255.0
    return np.concatenate([rgb.mean(axis=0), rgb.std(axis=0)])


def colour_move(photo: np.ndarray, style: np.ndarray, result: np.ndarray) -> float:
    """How far ``result``'s colour statistics moved from ``photo``'s towards ``style``'s:
    0 not at all, 1 all the way (Euclidean, on :func:`colour_stats`)."""
    p, s, r = colour_stats(photo), colour_stats(style), colour_stats(result)
    return float(1.0 - np.linalg.norm(r - s) / max(np.linalg.norm(p - s), 1e-9))
