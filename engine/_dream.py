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

from . import _image, _precision, _tiles
from ._catalogue import Layer
from ._devices import release_cached_memory
from ._errors import Cancelled, InvalidParams, OutOfMemory
from ._layers import content_layer, dream_layers, style_layers
from ._objective import Target
from ._params import DreamParams
from ._stepper import Stepper
from ._terms import ContentTerm, DreamTerm, Group, StyleTerm, gram
from .models import DreamModel
from .models._base import min_input_side

ProgressFn = Callable[[int, int, int, int], None]
CancelFn = Callable[[], bool]


@dataclass
class DreamResult:
    """A dreamed image and everything needed to reproduce it.

    Attributes:
        image: float32 (H, W, C) in [0, 1], same shape and channel layout as the input.
        model: model name; layers: canonical layer names; params: the parameters used,
        with the seed filled in; octave_count: octaves actually run; precision: the
        arithmetic used; seconds: wall time; notes: things the user should know;
        weights_sha256: the SHA-256 of the model's weights file.
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
    weights_sha256: str = ""

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
            "weights_sha256": self.weights_sha256,
        }


def dream(
    model: DreamModel,
    image: np.ndarray,
    params: DreamParams | None = None,
    *,
    guide: np.ndarray | None = None,
    style: np.ndarray | None = None,
    on_progress: ProgressFn | None = None,
    should_cancel: CancelFn | None = None,
) -> DreamResult:
    """Dream ``image`` with ``model``.

    Args:
        model: from :func:`dreamd.engine.load_model`.
        image: float32 (H, W, C) in [0, 1], C = 1 (gray), 2 (gray+alpha), 3 (RGB), 4 (RGBA).
        params: :class:`DreamParams`; defaults are the original notebook's.
        guide: optional float32 (H', W', C') image whose features the dream moves towards.
        style: optional float32 image whose style (Gram matrices of its features) the
            result takes on, keeping ``image``'s content: Gatys-style transfer on the same
            octaves and tiles. Dream layers given in ``params.layers`` are climbed too.
        on_progress: ``(done, total, octave, step)`` after every step; octave and step
            count from 1, octave 1 being the smallest.
        should_cancel: polled before every step; when it returns true, :class:`Cancelled`
            is raised within one step.

    Returns:
        :class:`DreamResult` with the image in the input's layout (alpha untouched).

    Raises:
        InvalidImage, InvalidParams, UnknownLayer, Cancelled, OutOfMemory (torch's own
        out-of-memory errors included: callers need not import torch to catch them).
    """
    try:
        return _dream(model, image, params, guide, style, on_progress, should_cancel)
    except torch.OutOfMemoryError as exc:
        release_cached_memory(model.device)
        first = f"out of memory on {model.device}: {exc}".splitlines()[0]
        raise OutOfMemory(first) from None
    except OutOfMemory:
        release_cached_memory(model.device)
        raise


def _dream(
    model: DreamModel,
    image: np.ndarray,
    params: DreamParams | None,
    guide: np.ndarray | None,
    style: np.ndarray | None,
    on_progress: ProgressFn | None,
    should_cancel: CancelFn | None,
) -> DreamResult:
    started = time.perf_counter()
    params = (params or DreamParams()).validated()
    parts = _image.split(image)
    device = model.device
    h, w = parts.rgb.shape[:2]
    precision = _precision.resolve(params.precision, device, h * w)
    seed = params.seed if params.seed is not None else random.SystemRandom().randrange(2**63)
    params = params.with_(seed=seed)
    notes: list[str] = []
    if parts.clipped:
        notes.append("input values outside [0, 1] were clipped")

    groups = _groups(model, params, guide, style is not None, precision)
    layers = [lay for g in groups for lay in g.layers]
    base = torch.from_numpy(parts.rgb).to(device).permute(2, 0, 1)[None]
    base = base.contiguous(memory_format=torch.channels_last)

    sizes, upscaled = _octave_sizes(model, layers, base.shape[-2:], params, notes)
    if upscaled is not None:
        base = F.interpolate(base, size=upscaled, mode="bicubic", align_corners=False)
    style_image = (
        _style_image(style, base.shape[-2:], params, device) if style is not None else None
    )
    rng = random.Random(seed)
    total = params.iterations * len(sizes) * params.steps_per_octave
    done = 0
    stepper = Stepper(
        model, groups, precision, params.tile_size, _tiles.tile_budget(device, precision)
    )
    quantum = stepper.jitter_quantum
    content_pyramid = [_resize(base, s, antialias=True) for s in sizes]
    x = base
    for _ in range(params.iterations):
        pyramid = [_resize(x, s, antialias=True) for s in sizes]
        detail = torch.zeros_like(pyramid[0])
        for octave, octave_base in enumerate(pyramid, start=1):
            if detail.shape[-2:] != octave_base.shape[-2:]:
                detail = _resize(detail, octave_base.shape[-2:], antialias=False)
            img = (octave_base + detail).clamp_(0.0, 1.0)
            if style_image is not None:
                _set_style_targets(model, groups, style_image, octave_base, base, precision)
                stepper.set_content(content_pyramid[octave - 1])
            for step in range(1, params.steps_per_octave + 1):
                if should_cancel is not None and should_cancel():
                    raise Cancelled("dream cancelled")
                oy, ox = (
                    rng.randint(-params.jitter, params.jitter) // quantum * quantum
                    for _ in range(2)
                )
                img = stepper.step(img, oy, ox, params.step_size / 255.0)
                done += 1
                if on_progress is not None:
                    on_progress(done, total, octave, step)
            detail = img - octave_base
        x = img
    if upscaled is not None:
        x = F.interpolate(x, size=(h, w), mode="area")
    rgb = x[0].permute(1, 2, 0).float().cpu().numpy()
    if stepper.shrunk_to is not None:
        notes.append(f"tile size reduced to {stepper.shrunk_to} after running out of memory")
    return DreamResult(
        image=_image.join(rgb, parts),
        model=model.name,
        layers=list(dict.fromkeys(lay.name for lay in layers)),
        params=params,
        seed=seed,
        octave_count=len(sizes),
        precision=precision,
        seconds=time.perf_counter() - started,
        device=str(device),
        notes=notes,
        weights_sha256=model.weights_sha256,
    )


def _groups(
    model: DreamModel,
    params: DreamParams,
    guide: np.ndarray | None,
    styled: bool,
    precision: str,
) -> list[Group]:
    """The step's goals: the dream (unless a style transfer has no dream layers given),
    and with a style image the style and content groups."""
    cat = model.catalogue
    groups = []
    if not styled or params.layers:
        groups.append(Group("dream", [DreamTerm(_targets(model, params, guide, precision))], 1.0))
    if styled:
        style = StyleTerm(style_layers(cat, params), [])
        content = ContentTerm(content_layer(cat, params))
        groups.append(Group("style", [style], params.style_weight))
        groups.append(Group("content", [content], params.content_weight))
    return [g for g in groups if g.weight != 0] or groups[:1]


def _style_image(
    style: np.ndarray, size: Sequence[int], params: DreamParams, device: torch.device
) -> Tensor:
    """The style image scaled to the content's area (its textures keep their scale
    relative to the picture), capped at ``style_max_side``."""
    s = _image.split(style).rgb
    h, w = s.shape[:2]
    f = math.sqrt(size[0] * size[1] / (h * w))
    f = min(f, params.style_max_side / max(h, w))
    t = torch.from_numpy(s).to(device).permute(2, 0, 1)[None]
    return _resize(t, (max(1, round(h * f)), max(1, round(w * f))), antialias=True)


def _set_style_targets(
    model: DreamModel,
    groups: list[Group],
    style: Tensor,
    octave_base: Tensor,
    base: Tensor,
    precision: str,
) -> None:
    """Gram targets for this octave: the style image shrunk as much as the octave is."""
    f = octave_base.shape[-1] / base.shape[-1]
    h, w = style.shape[-2:]
    scaled = _resize(style, (max(1, round(h * f)), max(1, round(w * f))), antialias=True)
    for group in groups:
        for term in group.terms:
            if isinstance(term, StyleTerm):
                need = min_input_side(model.net, term.layers, model.device)
                if min(scaled.shape[-2:]) < need:
                    scaled = _resize(style, _at_least(scaled.shape[-2:], need), antialias=True)
                with torch.no_grad(), _precision.autocast(precision, model.device):
                    feats = model.net.features(model.net.normalize(scaled), term.layers)
                term.targets = [gram(a) / (a.shape[-1] * a.shape[-2] * a.shape[0]) for a in feats]


def _at_least(size: Sequence[int], need: int) -> tuple[int, int]:
    f = need / min(size)
    return (math.ceil(size[0] * f), math.ceil(size[1] * f))


def _targets(
    model: DreamModel, params: DreamParams, guide: np.ndarray | None, precision: str
) -> list[Target]:
    targets = [
        Target(layer, spec.weight, spec.channels)
        for layer, spec in dream_layers(model.catalogue, params)
    ]
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
    for t, f in zip(targets, feats, strict=True):
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


def style_distance(
    model: DreamModel, image: np.ndarray, style: np.ndarray, params: DreamParams | None = None
) -> float:
    """Mean over the style layers of ``‖G − S‖² / ‖S‖²``: how far ``image``'s style is from
    ``style``'s (0 = identical Gram matrices), at the scale a style transfer uses."""
    params = (params or DreamParams()).validated()
    rgb = torch.from_numpy(_image.split(image).rgb).to(model.device).permute(2, 0, 1)[None]
    target = _style_image(style, rgb.shape[-2:], params, model.device)
    layers = style_layers(model.catalogue, params)
    term = StyleTerm(layers, [])
    group = Group("style", [term], 1.0)
    _set_style_targets(model, [group], target, rgb, rgb, "fp32")
    with torch.no_grad():
        acts = model.net.features(model.net.normalize(rgb), layers)
    term.measure([gram(a) for a in acts], [a.shape[-1] * a.shape[-2] for a in acts])
    return float(np.mean(term.losses()))
