"""dream-batch's flags for videos and zoom animations, and the checks between them."""

from __future__ import annotations

import argparse
from typing import Any

from ._blend import DEFAULT_FACTOR
from ._chain import FLOW_FACTOR
from ._errors import UsageError
from ._flow import METHODS
from ._zoom import DEFAULT_FPS, DEFAULT_SCALE


def add_video_arguments(p: argparse.ArgumentParser) -> None:
    v = p.add_argument_group(
        "videos",
        "video files (mp4, mov, mkv, webm, avi, …) in SOURCE are dreamed frame by frame into "
        "DEST/NAME with their timing and audio",
    )
    v.add_argument(
        "--frames",
        action="store_true",
        help="write a video's dreamed frames as PNG images (DEST/clip/000001.png …) "
        "instead of a video",
    )
    v.add_argument(
        "--video-codec",
        metavar="CODEC",
        help="h264 (default; VP9 for .webm), h265, vp9, av1, ffv1 or any FFmpeg encoder name",
    )
    v.add_argument(
        "--crf",
        type=int,
        metavar="N",
        help="video quality, lower is better: 0-51 for h264/h265 (default 18/20), "
        "0-63 for vp9/av1 (default 24)",
    )
    v.add_argument(
        "--flow",
        nargs="?",
        const="dis",
        choices=METHODS,
        help="implies -b: carry the previous frame's dream along the optical flow between "
        "the raw frames (dis, the default, or farneback) instead of blending it in "
        "where things move; blend defaults become constant 0.8, and later frames get "
        "(1 - factor) of the steps. With --style: each frame keeps its own content, is "
        "held to the previous styled frame where the flow is reliable (--temporal-weight) "
        "and later frames get half the steps",
    )
    v.add_argument(
        "--steps-after-first",
        type=_positive,
        metavar="N",
        help="with -b/--flow: steps per octave for frames that start from the previous "
        "one (default: all with -b; (1 - blend factor) of them with --flow, half of them "
        "with --style and --flow)",
    )
    z = p.add_argument_group(
        "zoom animations", "each photo in SOURCE becomes DEST/NAME.mp4, as the original notebook"
    )
    z.add_argument(
        "--zoom",
        type=_positive,
        metavar="N",
        help="make an N-frame animation from each photo: dream, zoom in, dream again …",
    )
    z.add_argument(
        "--zoom-scale",
        type=float,
        metavar="F",
        help=f"magnification per frame ({DEFAULT_SCALE})",
    )
    z.add_argument(
        "--zoom-rotate",
        type=float,
        metavar="DEG",
        help="turn per frame, degrees counter-clockwise (0)",
    )
    z.add_argument("--fps", type=float, metavar="F", help=f"frames per second ({DEFAULT_FPS:g})")


def _positive(text: str) -> int:
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if not 1 <= v <= 1_000_000:
        raise argparse.ArgumentTypeError("must be between 1 and 1000000")
    return v


def check_video_flags(args: argparse.Namespace) -> None:
    """Flags that make no sense together; fills in the blend defaults (--flow's own).

    Raises:
        UsageError: the message says which and why.
    """
    zoom_only = [
        f for f, v in (("--zoom-scale", args.zoom_scale), ("--zoom-rotate", args.zoom_rotate),
                       ("--fps", args.fps)) if v is not None
    ]  # fmt: skip
    if args.zoom is None and zoom_only:
        raise UsageError(f"{', '.join(zoom_only)} only apply with --zoom N")
    if args.zoom is not None:
        if args.blend or args.flow or args.steps_after_first is not None:
            raise UsageError("--zoom feeds each frame back whole: -b, --flow and "
                             "--steps-after-first do not apply")  # fmt: skip
        if args.zoom_scale is not None and not 0.5 <= args.zoom_scale <= 4.0:
            raise UsageError(f"--zoom-scale must be between 0.5 and 4, not {args.zoom_scale}")
        if args.zoom_rotate is not None and not -180 <= args.zoom_rotate <= 180:
            raise UsageError("--zoom-rotate must be between -180 and 180 degrees")
        if args.fps is not None and not 0.1 <= args.fps <= 240:
            raise UsageError(f"--fps must be between 0.1 and 240, not {args.fps}")
    if args.flow:
        args.blend = True
    if args.blend_mode is None:
        args.blend_mode = "constant" if args.flow else "random"
    if args.blend_factor is None:
        args.blend_factor = FLOW_FACTOR if args.flow else DEFAULT_FACTOR
    if args.steps_after_first is not None and not args.blend:
        raise UsageError("--steps-after-first applies to frames that start from the previous "
                         "one: add -b or --flow")  # fmt: skip
    if args.frames and (args.crf is not None or args.video_codec):
        raise UsageError("--crf and --video-codec apply to videos, not to --frames")


def video_state(args: argparse.Namespace, params: dict[str, Any]) -> dict[str, Any]:
    """What the frames of a stopped run must have been made with to be taken up again."""
    dream = {k: v for k, v in params.items() if k != "seed"}
    state: dict[str, Any] = {"params": dream, "model": args.model, "seed": args.seed}
    for key in ("guide", "style"):
        if getattr(args, key):
            state[key] = str(getattr(args, key))
    if args.zoom is not None:
        state["zoom"] = [args.zoom_scale, args.zoom_rotate]
    elif args.blend:
        state["blend"] = [args.blend_mode, args.blend_factor, args.blend_sigma]
        state["flow"] = args.flow
        state["steps_after_first"] = args.steps_after_first
    return state
