"""Style transfer: the style images' Gram targets, and the optimiser that matches them.

Gatys et al.'s losses — the Gram matrices of the style images' features on several layers,
the content image's features on one — are minimised by L-BFGS (or Adam) instead of the
dream's normalised step, which is the wrong tool for matching Gram matrices (its style loss
plateaus for hundreds of steps). The gradient is still computed tile by tile and summed,
exactly as a dream's, and the octaves are still the dream's.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from . import _colour, _image, _precision
from ._errors import InvalidParams
from ._params import DreamParams
from ._stepper import Stepper
from ._terms import Group, StyleTerm, gram
from .models import DreamModel, min_input_side

if TYPE_CHECKING:  # _temporal resizes with this module's resize()
    from ._temporal import TemporalTerm

#: Correction pairs L-BFGS keeps: each costs two image-sized vectors (12 MB at 1 MP).
LBFGS_HISTORY = 10
#: The photo's own roughness below which ``tv_weight`` stops scaling with it (flat
#: synthetic pictures would otherwise make the smallest noise cost a fortune).
_TV_FLOOR = 1e-4


@dataclass
class Styles:
    """Style images ready for a transfer: RGB (1, 3, h, w) tensors at the size they are
    used for the finest octave, and each one's share of the Gram targets (summing to 1)."""

    images: list[Tensor]
    weights: list[float]


def prepare_styles(
    styles: Sequence[np.ndarray],
    size: Sequence[int],
    params: DreamParams,
    device: torch.device,
    lightness: Tensor | None = None,
) -> Styles:
    """Each style image scaled to the content's area times ``style_scale`` (its textures
    keep their size relative to the picture), capped at ``style_max_side``. With
    ``lightness`` (the photo's L*, for ``keep_colors``) each becomes the gray picture of its
    own lightness matched to the photo's mean and spread.

    Raises:
        InvalidParams: ``style_blend`` does not give one weight per style image.
    """
    weights = list(params.style_blend) or [1.0] * len(styles)
    if len(weights) != len(styles):
        raise InvalidParams(
            "style_blend",
            f"{len(styles)} style image(s) need as many weights, got {len(weights)}",
        )
    total = sum(weights)
    images = []
    for style in styles:
        s = _image.split(style).rgb
        h, w = s.shape[:2]
        f = math.sqrt(size[0] * size[1] / (h * w)) * params.style_scale
        f = min(f, params.style_max_side / max(h, w))
        t = torch.from_numpy(s).to(device).permute(2, 0, 1)[None]
        t = resize(t, (max(1, round(h * f)), max(1, round(w * f))), antialias=True)
        if lightness is not None:
            own = _colour.rgb_to_lab(t)[:, :1]
            t = _colour.lightness_gray(_colour.match_lightness(own, lightness))
        images.append(t.contiguous(memory_format=torch.channels_last))
    return Styles(images, [w / total for w in weights])


def set_style_targets(
    model: DreamModel, groups: list[Group], styles: Styles, scale: float, precision: str
) -> None:
    """Gram targets for an octave ``scale`` times the finest: each style image shrunk as
    much, and the targets blended by weight. A blend of Gram matrices is the Gram matrix
    of a picture made of the styles in those proportions (they are per-position means)."""
    for group in groups:
        for term in group.terms:
            if not isinstance(term, StyleTerm):
                continue
            need = min_input_side(model.net, term.layers, model.device)
            blended: list[Tensor] = []
            for image, weight in zip(styles.images, styles.weights, strict=True):
                h, w = image.shape[-2:]
                size = (max(1, round(h * scale)), max(1, round(w * scale)))
                if min(size) < need:
                    size = _at_least(size, need)
                scaled = resize(image, size, antialias=True)
                with torch.no_grad(), _precision.autocast(precision, model.device):
                    feats = model.net.features(model.net.normalize(scaled), term.layers)
                grams = [weight * gram(a) / (a.shape[-1] * a.shape[-2] * a.shape[0]) for a in feats]
                blended = (
                    grams if not blended else [b + g for b, g in zip(blended, grams, strict=True)]
                )
            term.targets = blended


def _at_least(size: Sequence[int], need: int) -> tuple[int, int]:
    f = need / min(size)
    return (math.ceil(size[0] * f), math.ceil(size[1] * f))


def resize(x: Tensor, size: Sequence[int], antialias: bool) -> Tensor:
    if tuple(x.shape[-2:]) == tuple(size):
        return x
    return F.interpolate(
        x, size=tuple(size), mode="bilinear", align_corners=False, antialias=antialias
    ).contiguous(memory_format=torch.channels_last)


def roughness(x: Tensor) -> Tensor:
    """Mean squared difference of neighbouring pixels (the smooth total variation)."""
    dy = x[..., 1:, :] - x[..., :-1, :]
    dx = x[..., :, 1:] - x[..., :, :-1]
    return (dy * dy).mean() + (dx * dx).mean()


class StyleOctave:
    """One octave of a style transfer: ``step()`` moves the picture one optimiser step
    down ``style_weight·S + content_weight·C + tv_weight·T``. S is the mean over the
    style layers of ‖G − S‖²/‖S‖², C is ‖F − P‖²/‖P‖² on the content layer, and T the
    picture's roughness relative to the photo's at this octave (1: as rough as the photo).
    A video frame adds ``temporal`` (see ``_temporal``): the pull towards the previous
    styled frame where the flow is reliable.
    """

    def __init__(
        self,
        stepper: Stepper,
        params: DreamParams,
        img: Tensor,
        content: Tensor,
        temporal: TemporalTerm | None = None,
    ) -> None:
        self.stepper = stepper
        self.temporal = temporal
        self.tv_weight = params.tv_weight / max(float(roughness(content)), _TV_FLOOR)
        self.x = img.detach().contiguous().clone().requires_grad_(True)
        self.optimizer: torch.optim.Optimizer
        if params.style_optimizer == "lbfgs":
            # One iteration per step, no line search: a step costs one forward and
            # backward pass, as a dream's does. Zero tolerances: our losses are normalised,
            # so torch's absolute thresholds would stop it at random.
            self.optimizer = torch.optim.LBFGS(
                [self.x],
                lr=1.0,
                max_iter=1,
                history_size=LBFGS_HISTORY,
                tolerance_grad=0.0,
                tolerance_change=0.0,
            )
        else:
            self.optimizer = torch.optim.Adam([self.x], lr=params.step_size / 255.0)
        self.loss = math.nan

    def _closure(self) -> Tensor:
        x = self.x.detach()
        grads, values = self.stepper.evaluate(x.contiguous(memory_format=torch.channels_last))
        loss = x.new_zeros((), dtype=torch.float32)
        grad = torch.zeros_like(x)
        for group, g, v in zip(self.stepper.groups, grads, values, strict=True):
            # the stepper's objectives are maximised: the loss is their negative
            loss = loss - group.weight * v
            grad.sub_(g, alpha=group.weight)
        if self.tv_weight:
            with torch.enable_grad():
                y = x.requires_grad_(True)
                tv = self.tv_weight * roughness(y)
                (g_tv,) = torch.autograd.grad(tv, y)
            loss = loss + tv.detach()
            grad.add_(g_tv)
        if self.temporal is not None:
            loss = loss + self.temporal.add(x, grad)
        # Summed over pixels rather than averaged: gradients of order one whatever the
        # image's size, so that Adam's epsilon never matters (a 4K image's mean-loss
        # gradients are near it).
        scale = float(x[0, 0].numel())
        self.x.grad = grad.mul_(scale).contiguous()
        self.loss = float(loss)
        return loss * scale

    def step(self) -> Tensor:
        """One step; returns the picture (channels-last, clipped to [0, 1])."""
        self.optimizer.step(self._closure)  # type: ignore[arg-type]
        with torch.no_grad():
            self.x.clamp_(0.0, 1.0)
        return self.image()

    def image(self) -> Tensor:
        return self.x.detach().contiguous(memory_format=torch.channels_last)

    def moved(self, img: Tensor) -> None:
        """The picture was changed outside the optimiser (a dream step): carry on from it."""
        with torch.no_grad():
            self.x.copy_(img)
