"""What a dream-batch run will do, decided before anything is dreamed: the flags checked,
every source paired with its output, finished outputs set aside, guide and style read."""

from __future__ import annotations

import argparse
import os
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from . import __version__, _imageio
from ._blend import Blend
from ._chain import Chain
from ._errors import ImageError, UsageError
from ._imageio import Limits, output_rel, read_image
from ._pipeline import Job
from ._sources import find_sources
from ._style_args import STYLE_FLAGS
from ._video_args import check_video_flags
from ._video_plan import MediaPlan, plan_media, split_sources

#: The engine's default ``style_max_side``: a style image is never used larger than this,
#: so a bigger one is scaled down once here (what travels to a daemon stays small).
STYLE_MAX_SIDE = 1024
LANCZOS = Image.Resampling.LANCZOS


@dataclass
class Plan:
    """Every job of the run in order, and which of them are left to do."""

    jobs: list[Job]
    todo: list[Job]
    done: list[Job]  # outputs that exist already (kept unless --overwrite)
    ignored: list[Path]  # files in the source without an image suffix
    limits: Limits
    blend: Blend | None
    media: MediaPlan = field(default_factory=MediaPlan)  # videos, zoom animations

    @property
    def chain(self) -> Chain | None:
        """How -b (and --flow) start a frame from the one before, for frame folders."""
        return self.media.chain


def plan(args: argparse.Namespace, params: dict[str, Any]) -> Plan:
    """Check the flags and pair every source with its output.

    Raises:
        UsageError: a flag or the destination is wrong (the message says which).
    """
    check_params(params)
    check_style_flags(args)
    check_video_flags(args)
    blend = blend_settings(args)
    dest_root = Path(args.destination).expanduser()
    if dest_root.exists() and not dest_root.is_dir():
        raise UsageError(f"destination {str(dest_root)!r} exists and is not a folder")
    found = find_sources(args.source, args.recursive, exclude=dest_root)
    fmt = _imageio.FORMAT_NAMES[args.format] if args.format else None
    images, media = split_sources(found.sources, zoom=args.zoom is not None)
    jobs = plan_jobs(images, dest_root, fmt)
    limits = Limits(max_pixels=int(args.max_megapixels * 1e6))
    if Image.MAX_IMAGE_PIXELS is not None:  # Pillow's own bomb check must not stop us first
        Image.MAX_IMAGE_PIXELS = max(Image.MAX_IMAGE_PIXELS, limits.max_pixels)
    todo: list[Job] = []
    done: list[Job] = []
    for job in jobs:
        (done if job.dest.exists() and not args.overwrite else todo).append(job)
    media_plan = plan_media(args, params, media, dest_root, limits, blend)
    return Plan(jobs, todo, done, list(found.ignored), limits, blend, media_plan)


def check_params(params: dict[str, Any]) -> None:
    """Types and ranges, as the daemon and the engine check them (without loading torch)."""
    from dreamd import protocol

    try:
        protocol.check_params(params, protocol.DEFAULT_LIMITS)
    except protocol.MessageInvalid as exc:
        raise UsageError(f"bad parameter {exc}") from None


def check_style_flags(args: argparse.Namespace) -> None:
    if args.style:
        blend = args.style_blend
        if blend is not None and len(blend) != len(args.style):
            raise UsageError(
                f"--style-blend gives {len(blend)} weight(s) for {len(args.style)} "
                "--style image(s): give one per style, in the same order"
            )
        return
    given = [f"--{f.replace('_', '-')}" for f in STYLE_FLAGS if getattr(args, f) is not None]
    if given:
        raise UsageError(f"{', '.join(given)} only apply with --style IMAGE")


def blend_settings(args: argparse.Namespace) -> Blend | None:
    if not args.blend:
        return None
    seed = args.seed if args.seed is not None else random.SystemRandom().randrange(2**32)
    return Blend(args.blend_mode, args.blend_factor, args.blend_sigma, seed)


def plan_jobs(sources: Sequence[Any], dest_root: Path, fmt: str | None) -> list[Job]:
    """Pair every source with its output path; never an input's own path."""
    rels = [output_rel(s.rel, fmt) for s in sources]
    seen: dict[Path, int] = {}
    for r in rels:
        seen[r] = seen.get(r, 0) + 1
    jobs: list[Job] = []
    for i, (src, rel) in enumerate(zip(sources, rels, strict=True)):
        if seen[rel] > 1:  # a.jpg and a.png both becoming a.webp: keep the full names
            suffix = rel.suffix or ".png"
            rel = src.rel.with_name(src.rel.name + suffix)
        dest = dest_root / rel
        if _same_file(src.path, dest):
            raise UsageError(
                f"{src.path} would be overwritten by its own result: choose another -d"
            )
        jobs.append(Job(i, src, dest))
    return jobs


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve() or (b.exists() and os.path.samefile(a, b))
    except OSError:
        return False


def read_guide(path: str, limits: Limits) -> np.ndarray:
    """The guide image's pixels.

    Raises:
        UsageError: it cannot be read (the message names the file and why).
    """
    try:
        return read_image(path, limits).pixels
    except ImageError as exc:
        raise UsageError(f"guide image {exc.path}: {exc.reason}") from None


def read_style(path: str, limits: Limits) -> np.ndarray:
    """The style image's pixels, scaled down to at most :data:`STYLE_MAX_SIDE` on a side.

    Raises:
        UsageError: it cannot be read (the message names the file and why).
    """
    try:
        pixels = read_image(path, limits).pixels
    except ImageError as exc:
        raise UsageError(f"style image {exc.path}: {exc.reason}") from None
    h, w = pixels.shape[:2]
    if max(h, w) <= STYLE_MAX_SIDE:
        return pixels
    f = STYLE_MAX_SIDE / max(h, w)
    size = (max(1, round(w * f)), max(1, round(h * f)))
    planes = [  # one float ("F") image per channel: no depth lost on the way
        np.asarray(Image.fromarray(np.ascontiguousarray(pixels[:, :, c])).resize(size, LANCZOS))
        for c in range(pixels.shape[2])
    ]
    return np.clip(np.stack(planes, axis=2), 0.0, 1.0).astype(np.float32)


def output_record(args: argparse.Namespace) -> dict[str, Any]:
    """What every output records about the run, beside its own parameters."""
    record: dict[str, Any] = {"version": __version__}
    if args.format:
        record["format"] = args.format
    if args.quality is not None:
        record["quality"] = args.quality
    if args.guide:
        record["guide"] = Path(args.guide).name
    if args.style:
        names = [Path(p).name for p in args.style]
        record["style"] = names[0] if len(names) == 1 else names
    return record
