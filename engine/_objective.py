"""Objectives: what a dream step maximises at the chosen layers."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import Tensor

from ._catalogue import Layer

#: Cap on guide positions × current positions per matmul chunk (bounded memory).
_MATCH_CHUNK = 1 << 22


@dataclass(frozen=True)
class Target:
    """One term of the objective: a layer, its weight, optional channel subset and guide
    (made from :func:`~._layers.dream_layers`, which checks the channels)."""

    layer: Layer
    weight: float
    channels: tuple[int, ...] | None
    guide: Tensor | None = None  # (C', M) guide features at this layer, detached

    def select(self, act: Tensor) -> Tensor:
        return act if self.channels is None else act[:, list(self.channels)]

    def scale(self) -> float:
        # Per-layer sums are made comparable across layers of different size and depth
        # (stride² / channels ≈ a per-input-pixel mean); tiles keep the same scale.
        width = len(self.channels) if self.channels is not None else self.layer.channels
        return self.weight * self.layer.stride**2 / width


def objective(targets: Sequence[Target], acts: Sequence[Tensor]) -> Tensor:
    """Scalar to maximise. Its gradient at each target is ``a`` (L2: ½‖a‖²) or, with a
    guide, the best-matching guide feature at each position (the notebook's guide)."""
    total = acts[0].new_zeros((), dtype=torch.float32)
    for target, act in zip(targets, acts, strict=True):
        a = target.select(act).float()
        if target.guide is None:
            term = 0.5 * (a * a).sum()
        else:
            term = (a * best_match(a.detach(), target.guide)).sum()
        total = total + target.scale() * term
    return total


def best_match(a: Tensor, guide: Tensor) -> Tensor:
    """For each position of ``a`` (N, C, h, w), the column of ``guide`` (C, M) with the
    largest dot product; returned in ``a``'s shape. Chunked so N·M stays bounded."""
    n, c, h, w = a.shape
    flat = a.permute(0, 2, 3, 1).reshape(-1, c)
    g = guide.to(flat.dtype)
    rows = max(1, _MATCH_CHUNK // max(1, g.shape[1]))
    picks = [g[:, (chunk @ g).argmax(dim=1)].T for chunk in flat.split(rows)]
    return torch.cat(picks).reshape(n, h, w, c).permute(0, 3, 1, 2)
