"""Which sources of a run are videos (or, with ``--zoom``, photos to animate), where each
one's result goes, which are finished, and running them one after another."""

from __future__ import annotations

import argparse
import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ._chain import Chain
from ._errors import UsageError
from ._imageio import Limits, clean_stale_temps
from ._progress import Display
from ._report import Report
from ._runner import Runner
from ._sources import Source
from ._video_args import video_state
from ._video_io import is_video, output_suffix
from ._video_job import VideoJob, VideoOptions
from ._video_work import WorkFolder
from ._video_write import check_container, check_crf, resolve_codec
from ._zoom import DEFAULT_FPS, DEFAULT_SCALE, ZoomJob, ZoomOptions


@dataclass(frozen=True)
class MediaJob:
    """One video to dream, or one photo to animate (``zoom``)."""

    name: str
    source: Path
    dest: Path  # a video file, or with --frames a folder of frames
    zoom: bool = False


@dataclass
class MediaPlan:
    jobs: list[MediaJob] = field(default_factory=list)
    todo: list[MediaJob] = field(default_factory=list)
    done: list[MediaJob] = field(default_factory=list)
    video: VideoOptions | None = None
    zoom: ZoomOptions | None = None
    chain: Chain | None = None  # -b and --flow, for videos and frame folders alike


def split_sources(sources: Sequence[Source], zoom: bool) -> tuple[list[Source], list[Source]]:
    """(images for the image pipeline, videos or photos to animate)."""
    if zoom:
        videos = [s for s in sources if is_video(s.path)]
        if videos:
            raise UsageError(
                f"--zoom animates photos; {videos[0].rel.as_posix()} is a video: leave it out"
            )
        return [], list(sources)
    return [s for s in sources if not is_video(s.path)], [s for s in sources if is_video(s.path)]


def plan_media(
    args: argparse.Namespace,
    params: dict[str, Any],
    sources: Sequence[Source],
    dest_root: Path,
    limits: Limits,
    blend: Any,
) -> MediaPlan:
    """Pair each video (or photo to animate) with its result and check the encoder flags.

    Raises:
        UsageError: an unknown codec, a --crf out of its range, two results on one name.
    """
    zoom = args.zoom is not None
    plan = MediaPlan()
    if blend is not None:
        plan.chain = Chain(
            blend,
            args.flow,
            args.steps_per_octave,
            args.steps_after_first,
            args.step_size,
            styled=bool(args.style),
        )
    if not sources:
        return plan
    taken: set[Path] = set()
    for src in sources:
        rel = _result_rel(src.rel, zoom, args.frames)
        if rel in taken:  # clip.mp4 and clip.mov both as frames, a.jpg and a.png animated
            rel = src.rel.with_name(src.rel.name.replace(".", "_") + rel.suffix)
        taken.add(rel)
        job = MediaJob(src.rel.as_posix(), src.path, dest_root / rel, zoom)
        if _same_path(src.path, job.dest):
            raise UsageError(
                f"{src.path} would be overwritten by its own result: choose another -d"
            )
        plan.jobs.append(job)
        finished = WorkFolder.complete(job.dest) if args.frames else job.dest.is_file()
        (plan.done if finished and not args.overwrite else plan.todo).append(job)
    if not args.frames:
        for suffix in sorted({j.dest.suffix.lower() for j in plan.jobs}):
            codec = resolve_codec(args.video_codec, suffix)
            check_crf(args.crf, codec)
            check_container(codec, suffix)
    state = video_state(args, params)
    if zoom:
        plan.zoom = ZoomOptions(
            frames=args.zoom,
            scale=DEFAULT_SCALE if args.zoom_scale is None else args.zoom_scale,
            rotate=args.zoom_rotate or 0.0,
            fps=args.fps or DEFAULT_FPS,
            codec=args.video_codec,
            crf=args.crf,
            as_frames=args.frames,
            seed=args.seed,
            limits=limits,
            overwrite=args.overwrite,
            state=state,
        )
    else:
        plan.video = VideoOptions(
            codec=args.video_codec,
            crf=args.crf,
            frames=args.frames,
            chain=plan.chain,
            seed=args.seed,
            max_pixels=limits.max_pixels,
            overwrite=args.overwrite,
            state=state,
        )
    return plan


def _same_path(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve()
    except OSError:
        return False


def _result_rel(rel: Path, zoom: bool, frames: bool) -> Path:
    if frames:
        return rel.with_suffix("")
    return rel.with_suffix(".mp4") if zoom else rel.with_suffix(output_suffix(rel))


def with_record(plan: MediaPlan, record: Mapping[str, Any]) -> MediaPlan:
    """``plan`` with ``record`` (what every output records about the run) in its options."""
    if plan.video is not None:
        plan.video = dataclasses.replace(plan.video, record=record)
    if plan.zoom is not None:
        plan.zoom = dataclasses.replace(plan.zoom, record=dict(record))
    return plan


def media_count(images: Sequence[object], plan: MediaPlan) -> str:
    """ "3 image(s) and 1 video(s)": what this run will dream."""
    parts = [f"{len(images)} image(s)"] if images or not plan.todo else []
    if plan.todo:
        kind = "animation(s)" if plan.zoom is not None else "video(s)"
        parts.append(f"{len(plan.todo)} {kind}")
    return " and ".join(parts)


def run_media(plan: MediaPlan, runner: Runner, report: Report, display: Display) -> Runner:
    """Dream every video (or animation) left to do, one after the other; returns the runner
    to go on with. Raises KeyboardInterrupt when stopped (frames dreamed so far are kept)."""
    for job in plan.todo:
        clean_stale_temps(job.dest.parent)
        where = (job.name, job.source, job.dest, runner)
        if plan.zoom is not None:
            runner = ZoomJob(*where, plan.zoom, report, display).run()
        elif plan.video is not None:
            runner = VideoJob(*where, plan.video, report, display).run()
        if report.aborted:
            break
    return runner
