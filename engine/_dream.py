"""The DeepDream algorithm: octaves, jittered gradient ascent, tiles, guides."""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from . import _image, _precision
from ._catalogue import Layer
from ._errors import Cancelled, InvalidParams, OutOfMemory
from ._objective import Target, objective
from ._params import DreamParams
from .models import DreamModel
from .models._base import min_input_side

ProgressFn = Callable[[int, int, int, int], None]
CancelFn = Callable[[], bool]

#: Smallest tile tried when the device runs out of memory.
MIN_TILE = 128
#: Default tile side on the CPU (bounded memory: ~0.5 GB of activations for inception_4c).
CPU_TILE = 1024
#: Guards the gradient normalisation against an all-zero gradient only: any larger epsilon
#: would stop dreams on networks whose activations are small (the step is scale-free).
_EPS = torch.finfo(torch.float32).tiny


@dataclass
class DreamResult:
    """A dreamed image and everything needed to reproduce it.

    Attributes:
        image: float32 (H, W, C) in [0, 1], same shape and channel layout as the input.
        model: model name; layers: canonical layer names; params: the parameters used,
        with the seed filled in; octave_count: octaves actually run; precision: the
        arithmetic used; seconds: wall time; notes: things the user should know.
    """

    image: np.ndarray
    model: str
    layers: list[str]
    params: DreamParams
    seed: int
    octave_count: int
    precision: str
    seconds: float
    device: str
    notes: list[str] = field(default_factory=list)

    def metadata(self) -> dict[str, object]:
        """Plain data to record next to the image (PNG text, EXIF, a protocol reply)."""
        return {
            "model": self.model,
            "layers": self.layers,
            "params": self.params.as_dict(),
            "seed": self.seed,
            "octave_count": self.octave_count,
            "precision": self.precision,
            "device": self.device,
        }


def dream(
    model: DreamModel,
    image: np.ndarray,
    params: DreamParams | None = None,
    *,
    guide: np.ndarray | None = None,
    on_progress: ProgressFn | None = None,
    should_cancel: CancelFn | None = None,
) -> DreamResult:
    """Dream ``image`` with ``model``.

    Args:
        model: from :func:`engine.load_model`.
        image: float32 (H, W, C) in [0, 1], C = 1 (gray), 2 (gray+alpha), 3 (RGB), 4 (RGBA).
        params: :class:`DreamParams`; defaults are the original notebook's.
        guide: optional float32 (H', W', C') image whose features the dream moves towards.
        on_progress: ``(done, total, octave, step)`` after every step; octave and step
            count from 1, octave 1 being the smallest.
        should_cancel: polled before every step; when it returns true, :class:`Cancelled`
            is raised within one step.

    Returns:
        :class:`DreamResult` with the image in the input's layout (alpha untouched).

    Raises:
        InvalidImage, InvalidParams, UnknownLayer, Cancelled, OutOfMemory.
    """
    started = time.perf_counter()
    params = (params or DreamParams()).validated()
    parts = _image.split(image)
    device = model.device
    precision = _precision.resolve(params.precision, device)
    seed = params.seed if params.seed is not None else random.SystemRandom().randrange(2**63)
    params = params.with_(seed=seed)
    notes: list[str] = []
    if parts.clipped:
        notes.append("input values outside [0, 1] were clipped")

    targets = _targets(model, params, guide, precision)
    layers = [t.layer for t in targets]
    base = torch.from_numpy(parts.rgb).to(device).permute(2, 0, 1)[None]
    base = base.contiguous(memory_format=torch.channels_last)

    sizes, upscaled = _octave_sizes(model, layers, base.shape[-2:], params, notes)
    if upscaled is not None:
        base = F.interpolate(base, size=upscaled, mode="bicubic", align_corners=False)
    tile = params.tile_size or _auto_tile(device)
    rng = random.Random(seed)
    total = params.iterations * len(sizes) * params.steps_per_octave
    done = 0
    stepper = _Stepper(model, targets, precision, tile)
    x = base
    for _ in range(params.iterations):
        pyramid = [_resize(x, s, antialias=True) for s in sizes]
        detail = torch.zeros_like(pyramid[0])
        for octave, octave_base in enumerate(pyramid, start=1):
            if detail.shape[-2:] != octave_base.shape[-2:]:
                detail = _resize(detail, octave_base.shape[-2:], antialias=False)
            img = (octave_base + detail).clamp_(0.0, 1.0)
            for step in range(1, params.steps_per_octave + 1):
                if should_cancel is not None and should_cancel():
                    raise Cancelled("dream cancelled")
                oy, ox = (rng.randint(-params.jitter, params.jitter) for _ in range(2))
                img = stepper.step(img, oy, ox, params.step_size / 255.0)
                done += 1
                if on_progress is not None:
                    on_progress(done, total, octave, step)
            detail = img - octave_base
        x = img
    if upscaled is not None:
        x = F.interpolate(x, size=tuple(parts.rgb.shape[:2]), mode="area")
    rgb = x[0].permute(1, 2, 0).float().cpu().numpy()
    if stepper.tile < tile:
        notes.append(f"tile size reduced to {stepper.tile} after running out of memory")
    return DreamResult(
        image=_image.join(rgb, parts),
        model=model.name,
        layers=[t.layer.name for t in targets],
        params=params,
        seed=seed,
        octave_count=len(sizes),
        precision=precision,
        seconds=time.perf_counter() - started,
        device=str(device),
        notes=notes,
    )


def _targets(
    model: DreamModel, params: DreamParams, guide: np.ndarray | None, precision: str
) -> list[Target]:
    cat = model.catalogue
    specs = params.layers or ()
    targets = (
        [Target(cat[s.name], s.weight, s.channels) for s in specs]
        if specs
        else [Target(cat.default, 1.0, None)]
    )
    if guide is None:
        return targets
    g = _image.split(guide).rgb
    h, w = g.shape[:2]
    scale = min(1.0, params.guide_max_side / max(h, w))
    gt = torch.from_numpy(g).to(model.device).permute(2, 0, 1)[None]
    gt = _resize(gt, (max(1, round(h * scale)), max(1, round(w * scale))), antialias=True)
    need = max(min_input_side(model.net, [t.layer for t in targets], model.device), 1)
    if min(gt.shape[-2:]) < need:
        raise InvalidParams("guide", f"guide image is too small: at least {need}×{need} pixels")
    with torch.no_grad(), _precision.autocast(precision, model.device):
        feats = model.net.features(model.net.normalize(gt), [t.layer for t in targets])
    out = []
    for t, f in zip(targets, feats):
        sel = t.select(f).float()
        out.append(Target(t.layer, t.weight, t.channels, sel[0].reshape(sel.shape[1], -1)))
    return out


def _octave_sizes(
    model: DreamModel,
    layers: Sequence[Layer],
    size: torch.Size,
    params: DreamParams,
    notes: list[str],
) -> tuple[list[tuple[int, int]], tuple[int, int] | None]:
    """Octave sizes, smallest first; fewer octaves when the smallest would be too small
    for the layer, and an upscaled working size when even one octave is too small."""
    h, w = int(size[0]), int(size[1])
    need = max(
        min_input_side(model.net, layers, model.device), 2 * max(lay.stride for lay in layers)
    )
    upscaled = None
    if min(h, w) < need:
        f = need / min(h, w)
        upscaled = (math.ceil(h * f), math.ceil(w * f))
        notes.append(
            f"image smaller than {need} px on a side: dreamed at {upscaled[1]}×{upscaled[0]} "
            "and scaled back"
        )
        h, w = upscaled
    count = params.octave_count
    while count > 1 and min(h, w) / params.octave_scale ** (count - 1) < need:
        count -= 1
    if count < params.octave_count:
        notes.append(
            f"octave count reduced from {params.octave_count} to {count}: smaller octaves "
            f"would be under {need} px for this layer"
        )
    sizes = [
        (max(1, round(h / params.octave_scale**i)), max(1, round(w / params.octave_scale**i)))
        for i in range(count - 1, -1, -1)
    ]
    return sizes, upscaled


def _resize(x: Tensor, size: Sequence[int], antialias: bool) -> Tensor:
    if tuple(x.shape[-2:]) == tuple(size):
        return x
    return F.interpolate(
        x, size=tuple(size), mode="bilinear", align_corners=False, antialias=antialias
    ).contiguous(memory_format=torch.channels_last)


def _auto_tile(device: torch.device) -> int:
    if device.type == "cuda":
        free, _ = torch.cuda.mem_get_info(device)
        # ~0.5 GB of activations and gradients per megapixel up to inception_4c in fp32;
        # use half of what is free.
        side = int(math.sqrt(free * 0.5 / 0.5e9) * 1000)
        return max(MIN_TILE, min(side, 4096))
    return CPU_TILE


def _align(n: int, to: int) -> int:
    """``n`` rounded up to a multiple of ``to``."""
    return -(-n // to) * to


class _Stepper:
    """One gradient-ascent step, computed tile by tile, normalised over the whole image."""

    def __init__(self, model: DreamModel, targets: list[Target], precision: str, tile: int):
        self.net = model.net
        self.device = model.device
        self.targets = targets
        self.layers = [t.layer for t in targets]
        self.precision = precision
        # Tiles and margins are multiples of the deepest stride, so that every feature
        # position belongs to exactly one tile's core.
        self.align = max(lay.stride for lay in self.layers)
        self.tile = _align(tile, self.align)
        # Context around each core: enough of the receptive field for equivalent gradients.
        self.margin = _align(min(128, max(32, 6 * self.align)), self.align)

    def step(self, img: Tensor, oy: int, ox: int, step: float) -> Tensor:
        rolled = torch.roll(img, shifts=(oy, ox), dims=(2, 3))
        while True:
            try:
                g = self._gradient(rolled)
                break
            except torch.OutOfMemoryError:
                if self.tile <= MIN_TILE:
                    raise OutOfMemory(
                        f"out of memory on {self.device} even with {MIN_TILE}-pixel tiles"
                    ) from None
                self.tile = _align(max(MIN_TILE, self.tile // 2), self.align)
                if self.device.type == "cuda":
                    torch.cuda.empty_cache()
        rolled = rolled.add_(g, alpha=step / max(g.abs().mean().item(), _EPS))
        return torch.roll(rolled, shifts=(-oy, -ox), dims=(2, 3)).clamp_(0.0, 1.0)

    def _gradient(self, x: Tensor) -> Tensor:
        """d(objective)/dx. Tiled: each tile's objective covers the activations of its core
        only, but is differentiated through the core plus a margin of context and the
        gradients are summed, so the sum over tiles is the whole image's objective."""
        h, w = x.shape[-2:]
        if h <= self.tile and w <= self.tile:
            return self._tile_gradient(x, None)
        g = torch.zeros_like(x)
        m, t = self.margin, self.tile
        for y0 in range(0, h, t):
            for x0 in range(0, w, t):
                y1, x1 = min(h, y0 + t), min(w, x0 + t)
                py0, px0 = max(0, y0 - m), max(0, x0 - m)
                py1, px1 = min(h, y1 + m), min(w, x1 + m)
                core = (y0 - py0, y1 - py0, x0 - px0, x1 - px0)
                g[:, :, py0:py1, px0:px1] += self._tile_gradient(x[:, :, py0:py1, px0:px1], core)
        return g

    def _tile_gradient(self, x: Tensor, core: tuple[int, int, int, int] | None) -> Tensor:
        x = x.detach().requires_grad_(True)
        with _precision.autocast(self.precision, self.device):
            acts = self.net.features(self.net.normalize(x), self.layers)
        if core is not None:
            r0, r1, c0, c1 = core
            acts = [
                a[:, :, r0 // s : -(-r1 // s), c0 // s : -(-c1 // s)]
                for a, s in zip(acts, (lay.stride for lay in self.layers))
            ]
        loss = objective(self.targets, acts)
        (g,) = torch.autograd.grad(loss, x)
        return g
