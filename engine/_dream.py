"""The DeepDream algorithm: octaves, jittered gradient ascent, tiles, guides."""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F

from . import _colour, _image, _precision, _temporal, _tiles
from ._devices import release_cached_memory
from ._errors import Cancelled, InvalidParams, OutOfMemory
from ._layers import content_layer, dream_layers, resolve_layers, style_layers
from ._objective import Target
from ._params import DreamParams
from ._plan import plan
from ._preview import Previewer, PreviewFn
from ._stepper import Stepper
from ._style import StyleOctave, prepare_styles, resize, set_style_targets
from ._terms import ContentTerm, DreamTerm, Group, StyleTerm, gram
from .models import DreamModel, min_input_side

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
    style: np.ndarray | Sequence[np.ndarray] | None = None,
    content: np.ndarray | None = None,
    previous: np.ndarray | None = None,
    previous_weight: np.ndarray | None = None,
    on_progress: ProgressFn | None = None,
    should_cancel: CancelFn | None = None,
    on_preview: PreviewFn | None = None,
    preview_side: int = 256,
    preview_every: float = 2.0,
) -> DreamResult:
    """Dream ``image`` with ``model``.

    Args:
        model: from :func:`dreamd.engine.load_model`.
        image: float32 (H, W, C) in [0, 1], C = 1 (gray), 2 (gray+alpha), 3 (RGB), 4 (RGBA).
        params: :class:`DreamParams`; defaults are the original notebook's.
        guide: optional float32 (H', W', C') image whose features the dream moves towards.
        style: optional float32 image (or several, blended by ``params.style_blend``)
            whose style (Gram matrices of its features) the result takes on, keeping
            ``image``'s content: Gatys-style transfer on the same octaves and tiles, moved
            by ``params.style_optimizer``. Dream layers given in ``params.layers`` are
            climbed too, by the notebook's step.
        content, previous, previous_weight: a styled video frame's (see ``_temporal``):
            the picture whose content is kept (default ``image``, where the transfer
            starts: for a video frame the previous styled frame carried along the flow,
            and ``content`` the raw frame); the previous styled frame warped to this one,
            float32 (H, W, C), that ``params.temporal_weight`` holds the result to where
            ``previous_weight`` (float32 (H, W) in [0, 1], default 1 everywhere) says the
            flow is reliable. Same size as ``image``; only with ``style``.
        on_progress: ``(done, total, octave, step)`` after every step; octave and step
            count from 1, octave 1 being the smallest.
        should_cancel: polled before every step; when it returns true, :class:`Cancelled`
            is raised within one step.
        on_preview: given pictures of the dream as it forms (float32 RGB, at most
            ``preview_side`` pixels long): at the end of every octave, and within the
            full-size octave at most every ``preview_every`` seconds (see ``_preview``).

    Returns:
        :class:`DreamResult` with the image in the input's layout (alpha untouched).

    Raises:
        InvalidImage, InvalidParams, UnknownLayer, Cancelled, OutOfMemory (torch's own
        out-of-memory errors included: callers need not import torch to catch them).
    """
    previews = (on_preview, preview_side, preview_every) if on_preview is not None else None
    frame = (content, previous, previous_weight)
    try:
        return _dream(
            model, image, params, guide, style, frame, on_progress, should_cancel, previews
        )
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
    style: np.ndarray | Sequence[np.ndarray] | None,
    frame: tuple[np.ndarray | None, np.ndarray | None, np.ndarray | None],
    on_progress: ProgressFn | None,
    should_cancel: CancelFn | None,
    previews: tuple[PreviewFn, int, float] | None = None,
) -> DreamResult:
    started = time.perf_counter()
    params = (params or DreamParams()).validated()
    parts = _image.split(image)
    device = model.device
    h, w = parts.rgb.shape[:2]
    precision = _precision.resolve(params.precision, device, h * w)
    # Drawn below 2**53: exact in JSON and JavaScript, so any client can send it back.
    seed = params.seed if params.seed is not None else random.SystemRandom().randrange(2**53)
    params = params.with_(seed=seed)
    notes: list[str] = []
    if parts.clipped:
        notes.append("input values outside [0, 1] were clipped")

    styles = _as_list(style)
    # Layers by canonical name, defaults filled in: what the result records is what ran.
    params = resolve_layers(model.catalogue, params, styled=bool(styles))
    dream_group, style_groups = _groups(model, params, guide, bool(styles), precision)
    groups = ([dream_group] if dream_group is not None else []) + style_groups
    layers = [lay for g in groups for lay in g.layers]
    base = torch.from_numpy(parts.rgb).to(device).permute(2, 0, 1)[None]
    base = base.contiguous(memory_format=torch.channels_last)
    refs = _temporal.frame_refs((h, w), *frame, styled=bool(styles), device=device)
    colour = None
    if styles and params.keep_colors:
        # luminance-only transfer (Gatys et al. 2016): photo and styles become gray pictures
        # of their lightness; the photo's own a*, b* are put back at the end
        colour = _colour.rgb_to_lab(refs.content if refs.content is not None else base)
        base, refs = _gray(base), refs.map(_gray, lambda t: t)
    if refs.previous is not None and params.style_optimizer == "step":
        notes.append("previous is held to by adam and lbfgs only, not the step: ignored")

    need = max(min_input_side(model.net, layers, device), 2 * max(lay.stride for lay in layers))
    p = plan(
        (h, w),
        params.octave_count,
        params.octave_scale,
        params.steps_per_octave,
        params.iterations,
        need,
        params.detail_size,
    )
    notes.extend(p.notes)
    sizes, upscaled = p.sizes, p.upscaled
    full = None
    if p.working is not None:
        # Dream a smaller copy; only the detail it adds is carried up to full size.
        full, base = base, resize(base, p.working, antialias=True)
        refs = refs.map(*[lambda t: resize(t, p.working, antialias=True)] * 2)
    small_base = base  # what the dream's detail is measured against at the end
    if upscaled is not None:
        base = F.interpolate(base, size=upscaled, mode="bicubic", align_corners=False)
        refs = refs.map(
            lambda t: F.interpolate(t, size=upscaled, mode="bicubic", align_corners=False),
            lambda t: resize(t, upscaled, antialias=False),
        )
    prepared = (
        prepare_styles(
            styles, base.shape[-2:], params, device, None if colour is None else colour[:, :1]
        )
        if styles
        else None
    )
    rng = random.Random(seed)
    total = params.iterations * len(sizes) * params.steps_per_octave
    done = 0
    budget = _tiles.tile_budget(device, precision)
    optimised = prepared is not None and params.style_optimizer != "step"
    if optimised:
        # the style's optimiser on style and content; the dream, if any, by the notebook's step
        stepper = Stepper(model, style_groups, precision, params.tile_size, budget)
        dreamer = (
            Stepper(model, [dream_group], precision, params.tile_size, budget)
            if dream_group is not None
            else None
        )
    else:
        stepper = Stepper(model, groups, precision, params.tile_size, budget)
        dreamer = None
    quantum = stepper.jitter_quantum if dreamer is None else 1
    kept = base if refs.content is None else refs.content
    content_pyramid = [resize(kept, s, antialias=True) for s in sizes]
    previewer = None
    if previews is not None:
        finish = None
        if colour is not None:
            ab = colour[:, 1:]

            def finish(small: torch.Tensor) -> torch.Tensor:
                lab = _colour.rgb_to_lab(small)[:, :1]
                return _colour.lab_to_rgb(torch.cat([lab, resize(ab, small.shape[-2:], True)], 1))

        previewer = Previewer(previews[0], (h, w), previews[1], previews[2], finish)
    x = base
    for iteration in range(params.iterations):
        pyramid = [resize(x, s, antialias=True) for s in sizes]
        detail = torch.zeros_like(pyramid[0])
        for octave, octave_base in enumerate(pyramid, start=1):
            if detail.shape[-2:] != octave_base.shape[-2:]:
                detail = resize(detail, octave_base.shape[-2:], antialias=False)
            img = (octave_base + detail).clamp_(0.0, 1.0)
            run = None
            if prepared is not None:
                set_style_targets(
                    model, groups, prepared, octave_base.shape[-1] / base.shape[-1], precision
                )
                stepper.set_content(content_pyramid[octave - 1])
                if optimised:
                    kept = content_pyramid[octave - 1]
                    term = _temporal.term_at(params.temporal_weight, refs, kept)
                    run = StyleOctave(stepper, params, img, kept, term)
            for step in range(1, params.steps_per_octave + 1):
                if should_cancel is not None and should_cancel():
                    raise Cancelled("dream cancelled")
                if run is not None:
                    img = run.step()
                if run is None or dreamer is not None:
                    oy, ox = (
                        rng.randint(-params.jitter, params.jitter) // quantum * quantum
                        for _ in range(2)
                    )
                    img = (dreamer or stepper).step(img, oy, ox, params.step_size / 255.0)
                    if run is not None:
                        run.moved(img)
                done += 1
                if on_progress is not None:
                    on_progress(done, total, octave, step)
                last = octave == len(sizes) and iteration == params.iterations - 1
                if previewer is not None and last and step < params.steps_per_octave:
                    previewer.stepped(img)
            if previewer is not None:
                previewer.octave_done(img)
            detail = img - octave_base
        x = img
    if upscaled is not None:
        x = F.interpolate(x, size=small_base.shape[-2:], mode="area")
    if full is not None:
        x = (full + resize(x - small_base, (h, w), antialias=False)).clamp_(0.0, 1.0)
    if colour is not None:
        x = _colour.lab_to_rgb(torch.cat([_colour.rgb_to_lab(x)[:, :1], colour[:, 1:]], dim=1))
    rgb = x[0].permute(1, 2, 0).float().cpu().numpy()
    if stepper.shrunk_to is not None:
        notes.append(f"tile size reduced to {stepper.shrunk_to} after running out of memory")
    return DreamResult(
        image=_image.join(rgb, parts),
        model=model.name,
        layers=list(dict.fromkeys(lay.name for lay in layers)),
        params=params.with_(octave_count=len(sizes)),  # as run: fewer for a small image
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
) -> tuple[Group | None, list[Group]]:
    """The step's goals: the dream (unless a style transfer has no dream layers given),
    and with a style image the style and content groups (those of weight 0 left out)."""
    cat = model.catalogue
    dream = None
    if not styled or params.layers:
        dream = Group("dream", [DreamTerm(_targets(model, params, guide, precision))], 1.0)
    if not styled:
        return dream, []
    style = Group("style", [StyleTerm(style_layers(cat, params), [])], params.style_weight)
    content = Group("content", [ContentTerm(content_layer(cat, params))], params.content_weight)
    kept = [g for g in (style, content) if g.weight != 0]
    return dream, kept or ([] if dream is not None else [style])


def _gray(rgb: torch.Tensor) -> torch.Tensor:
    lightness = _colour.rgb_to_lab(rgb)[:, :1]
    return _colour.lightness_gray(lightness).contiguous(memory_format=torch.channels_last)


def _as_list(style: np.ndarray | Sequence[np.ndarray] | None) -> list[np.ndarray]:
    if style is None:
        return []
    if isinstance(style, np.ndarray):
        return [style]
    return list(style)


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
    gt = resize(gt, (max(1, round(h * scale)), max(1, round(w * scale))), antialias=True)
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


def style_distance(
    model: DreamModel,
    image: np.ndarray,
    style: np.ndarray | Sequence[np.ndarray],
    params: DreamParams | None = None,
) -> float:
    """Mean over the style layers of ``‖G − S‖² / ‖S‖²``: how far ``image``'s style is from
    ``style``'s (0 = identical Gram matrices), at the scale a style transfer uses
    (``style_scale``, ``style_max_side``); several styles are blended by ``style_blend``."""
    params = (params or DreamParams()).validated()
    rgb = torch.from_numpy(_image.split(image).rgb).to(model.device).permute(2, 0, 1)[None]
    prepared = prepare_styles(_as_list(style), rgb.shape[-2:], params, model.device)
    layers = style_layers(model.catalogue, params)
    term = StyleTerm(layers, [])
    set_style_targets(model, [Group("style", [term], 1.0)], prepared, 1.0, "fp32")
    with torch.no_grad():
        acts = model.net.features(model.net.normalize(rgb), layers)
    term.measure([gram(a) for a in acts], [a.shape[-1] * a.shape[-2] for a in acts])
    return float(np.mean(term.losses()))


def content_distance(
    model: DreamModel, image: np.ndarray, content: np.ndarray, params: DreamParams | None = None
) -> float:
    """``‖F − P‖² / ‖P‖²`` on the content layer: how far ``image``'s features are from
    ``content``'s (0 = identical), the content loss a style transfer keeps small. The two
    images must have the same size."""
    params = (params or DreamParams()).validated()
    layer = content_layer(model.catalogue, params)
    feats = []
    for picture in (image, content):
        rgb = torch.from_numpy(_image.split(picture).rgb).to(model.device).permute(2, 0, 1)[None]
        with torch.no_grad():
            feats.append(model.net.features(model.net.normalize(rgb), [layer])[0].float())
    if feats[0].shape != feats[1].shape:
        raise InvalidParams("content", "the image and the content image differ in size")
    return float(((feats[0] - feats[1]) ** 2).sum() / (feats[1] ** 2).sum().clamp_min(1e-30))
