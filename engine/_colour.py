"""CIE Lab for tensors: what ``keep_colors`` needs to take a picture's lightness apart from
its colour and put them back together (sRGB primaries, D65 white)."""

from __future__ import annotations

import torch
from torch import Tensor

#: Linear sRGB → XYZ (D65), rows X, Y, Z.
_RGB_TO_XYZ = torch.tensor(
    [
        [0.4124564, 0.3575761, 0.1804375],
        [0.2126729, 0.7151522, 0.0721750],
        [0.0193339, 0.1191920, 0.9503041],
    ]
)
_WHITE = torch.tensor([0.95047, 1.0, 1.08883])
_DELTA = 6.0 / 29.0


def _linear(srgb: Tensor) -> Tensor:
    return torch.where(srgb <= 0.04045, srgb / 12.92, ((srgb + 0.055) / 1.055) ** 2.4)


def _gamma(linear: Tensor) -> Tensor:
    linear = linear.clamp(0.0, 1.0)
    return torch.where(linear <= 0.0031308, linear * 12.92, 1.055 * linear ** (1 / 2.4) - 0.055)


def _f(t: Tensor) -> Tensor:
    return torch.where(t > _DELTA**3, t.clamp_min(1e-12) ** (1 / 3), t / (3 * _DELTA**2) + 4 / 29)


def _f_inverse(t: Tensor) -> Tensor:
    return torch.where(t > _DELTA, t**3, 3 * _DELTA**2 * (t - 4 / 29))


def rgb_to_lab(rgb: Tensor) -> Tensor:
    """(N, 3, H, W) sRGB in [0, 1] → (N, 3, H, W) L* (0–100), a*, b*."""
    m = _RGB_TO_XYZ.to(rgb)
    xyz = torch.einsum("ij,njhw->nihw", m, _linear(rgb.clamp(0.0, 1.0)))
    f = _f(xyz / _WHITE.to(rgb)[None, :, None, None])
    return torch.stack(
        [116 * f[:, 1] - 16, 500 * (f[:, 0] - f[:, 1]), 200 * (f[:, 1] - f[:, 2])], dim=1
    )


def lab_to_rgb(lab: Tensor) -> Tensor:
    """Inverse of :func:`rgb_to_lab`; colours outside sRGB are clipped."""
    fy = (lab[:, 0] + 16) / 116
    f = torch.stack([fy + lab[:, 1] / 500, fy, fy - lab[:, 2] / 200], dim=1)
    xyz = _f_inverse(f) * _WHITE.to(lab)[None, :, None, None]
    rgb = torch.einsum("ij,njhw->nihw", torch.linalg.inv(_RGB_TO_XYZ).to(lab), xyz)
    return _gamma(rgb)


def lightness_gray(lightness: Tensor) -> Tensor:
    """(N, 1, H, W) L* → the neutral gray sRGB image of that lightness, (N, 3, H, W)."""
    zeros = torch.zeros_like(lightness)
    return lab_to_rgb(torch.cat([lightness, zeros, zeros], dim=1))


def match_lightness(lightness: Tensor, like: Tensor) -> Tensor:
    """``lightness`` shifted and scaled to the mean and spread of ``like`` (Gatys et al.'s
    luminance matching: the style's tones laid over the photo's range)."""
    spread = lightness.std().clamp_min(1e-6)
    out = (lightness - lightness.mean()) * (like.std() / spread) + like.mean()
    return out.clamp(0.0, 100.0)
