"""The goals a step climbs, each computed per tile and summed exactly over tiles.

A step's objective is made of *groups* (dream, style, content). Each group's gradient is
normalised on its own over the whole image and the step mixes them by weight, so a
weight says how much of each step a goal steers, whatever the scale of its loss.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import Tensor

from ._catalogue import Layer
from ._objective import Target, objective


@dataclass(frozen=True)
class Window:
    """Where a tile lies: its padded origin in the (rolled) image and its core, in pixels
    relative to that origin. A feature position belongs to the tile whose core holds it."""

    y: int
    x: int
    core: tuple[int, int, int, int] | None  # (r0, r1, c0, c1); None: the whole image

    def crop(self, act: Tensor, stride: int) -> Tensor:
        """The activations at this tile's core positions."""
        if self.core is None:
            return act
        r0, r1, c0, c1 = self.core
        return act[:, :, r0 // stride : -(-r1 // stride), c0 // stride : -(-c1 // stride)]

    def crop_full(self, full: Tensor, stride: int) -> Tensor:
        """The same positions cut from a whole-image feature map."""
        if self.core is None:
            return full
        r0, r1, c0, c1 = self.core
        y, x = self.y // stride, self.x // stride
        return full[
            :, :, y + r0 // stride : y - (-r1 // stride), x + c0 // stride : x - (-c1 // stride)
        ]


WHOLE = Window(0, 0, None)


class Term:
    """One goal. ``loss`` is maximised; it sees the activations of :attr:`layers`."""

    layers: list[Layer]

    def loss(self, acts: Sequence[Tensor], window: Window) -> Tensor:
        raise NotImplementedError


class DreamTerm(Term):
    """The DeepDream objective (L2, channels, guide) on one or several layers."""

    def __init__(self, targets: list[Target]) -> None:
        self.targets = targets
        self.layers = [t.layer for t in targets]

    def loss(self, acts: Sequence[Tensor], window: Window) -> Tensor:
        cropped = [window.crop(a, lay.stride) for a, lay in zip(acts, self.layers, strict=True)]
        return objective(self.targets, cropped)


def gram(f: Tensor) -> Tensor:
    """Sum of outer products of the feature vectors: (N, C, h, w) → (C, C), fp32."""
    flat = f.float().flatten(2)
    return torch.einsum("nci,ndi->cd", flat, flat)


class StyleTerm(Term):
    """Gatys' style loss: match the Gram matrices of the style image's features.

    Per layer ``‖G − S‖² / ‖S‖²`` with ``G = FFᵀ / N`` over the *whole* image; tiles use the
    whole image's ``G`` (measured by :meth:`measure`) in a surrogate whose gradient is exact.
    """

    def __init__(self, layers: list[Layer], targets: list[Tensor]) -> None:
        self.layers = layers
        self.targets = targets  # normalised Gram matrices S (C, C)
        self.current: list[Tensor] = []
        self.counts: list[int] = []

    def measure(self, sums: list[Tensor], counts: list[int]) -> None:
        """Set the whole image's Gram matrices from per-tile sums of FFᵀ and position counts."""
        self.current = [s / max(n, 1) for s, n in zip(sums, counts, strict=True)]
        self.counts = counts

    def loss(self, acts: Sequence[Tensor], window: Window) -> Tensor:
        total = acts[0].new_zeros((), dtype=torch.float32)
        for act, lay, g, s, n in zip(
            acts, self.layers, self.current, self.targets, self.counts, strict=True
        ):
            f = window.crop(act, lay.stride)
            diff = (g - s).detach() / (s * s).sum().clamp_min(1e-30)
            # d/dF of this is 2·(G−S)F/N·2/‖S‖², the gradient of ‖G−S‖²/‖S‖² through F
            total = total - (2.0 / max(n, 1)) * (diff * gram(f)).sum()
        return total / len(self.layers)

    def value(self) -> Tensor:
        """The objective (−mean of the per-layer losses) of the image last measured."""
        return -torch.stack(
            [
                ((g - s) ** 2).sum() / (s * s).sum().clamp_min(1e-30)
                for g, s in zip(self.current, self.targets, strict=True)
            ]
        ).mean()

    def losses(self) -> list[float]:
        """Current per-layer style losses (for tests and reports)."""
        return [
            float(((g - s) ** 2).sum() / (s * s).sum().clamp_min(1e-30))
            for g, s in zip(self.current, self.targets, strict=True)
        ]


class ContentTerm(Term):
    """Keep the content image's features at one layer: ``−‖F − P‖² / ‖P‖²``."""

    def __init__(self, layer: Layer) -> None:
        self.layers = [layer]
        self.target: Tensor | None = None  # (1, C, h, w) at the current octave, rolled
        self.norm = 1.0

    def set_target(self, features: Tensor) -> None:
        self.target = features.float()
        self.norm = max(float((self.target**2).sum()), 1e-30)

    def loss(self, acts: Sequence[Tensor], window: Window) -> Tensor:
        assert self.target is not None
        stride = self.layers[0].stride
        f = window.crop(acts[0], stride).float()
        p = window.crop_full(self.target, stride)
        return -((f - p) ** 2).sum() / self.norm


@dataclass
class Group:
    """Terms whose gradients are summed, then normalised together; ``weight`` mixes groups."""

    name: str
    terms: list[Term]
    weight: float

    @property
    def layers(self) -> list[Layer]:
        return [lay for term in self.terms for lay in term.layers]
