"""dream-batch's style transfer flags, the parameters they make, and the defaults a style
transfer starts from (the protocol's ``STYLE_DEFAULTS``: fewer, larger octaves and more,
longer steps than a dream)."""

from __future__ import annotations

import argparse
from typing import Any

from dreamd import protocol

#: A dream's defaults for the flags whose default depends on --style (the engine's, the
#: protocol's and the GIMP plug-in's).
DREAM_DEFAULTS: dict[str, Any] = {
    "octave_count": "auto",
    "octave_scale": 1.3,
    "steps_per_octave": 10,
    "step_size": 1.5,
}
#: With --style: the protocol's STYLE_DEFAULTS.
STYLE_DEFAULTS: dict[str, Any] = dict(protocol.STYLE_DEFAULTS)
#: Flags that mean nothing without --style (refused alone, as a typo would be).
STYLE_FLAGS = (
    "style_weight",
    "content_weight",
    "style_layer",
    "content_layer",
    "style_blend",
    "style_scale",
    "keep_colors",
    "tv_weight",
    "temporal_weight",
    "style_optimizer",
)


def add_style_arguments(group: argparse._ArgumentGroup) -> None:
    group.add_argument(
        "--style",
        action="append",
        metavar="IMAGE",
        help="style image (any format): each image takes on its style and keeps its own "
        "content (Gatys-style transfer); repeat to blend several (--style-blend). Changes "
        "the defaults of --octave-count, --octave-scale, --steps-per-octave and --step-size "
        "to a style's: "
        + ", ".join(f"{k.replace('_', '-')} {v}" for k, v in STYLE_DEFAULTS.items()),
    )
    group.add_argument(
        "--style-blend",
        type=_weights,
        metavar="W,W…",
        help="with several --style: each style's share, in order (default: equal)",
    )
    group.add_argument(
        "--style-scale",
        type=float,
        metavar="F",
        help="with --style: the style image's size relative to the picture; larger, "
        "larger strokes (1.0)",
    )
    group.add_argument(
        "--keep-colors",
        action="store_true",
        default=None,
        help="with --style: transfer the lightness only, keep the picture's own colours",
    )
    group.add_argument(
        "--style-weight",
        type=float,
        metavar="F",
        help="with --style: weight of the style loss (1.0)",
    )
    group.add_argument(
        "--content-weight",
        type=float,
        metavar="F",
        help="with --style: weight of the content loss; lower, more style (0.3)",
    )
    group.add_argument(
        "--tv-weight",
        type=float,
        metavar="F",
        help="with --style: weight of the smoothness loss, against pixel noise (0.01)",
    )
    group.add_argument(
        "--temporal-weight",
        type=float,
        metavar="F",
        help="with --style on a video or frames and -b --flow: how firmly each frame is held "
        "to the previous styled frame, carried along the optical flow, where the flow is "
        "reliable; higher, steadier; 0 turns it off (10)",
    )
    group.add_argument(
        "--style-optimizer",
        choices=protocol.STYLE_OPTIMIZERS,
        help="with --style: adam (default), lbfgs, or step (the dream's own step, as before 0.2)",
    )
    group.add_argument(
        "--style-layer",
        action="append",
        metavar="NAME",
        help="with --style: layer whose feature correlations are matched; repeat for "
        "several (default: the model's style layers)",
    )
    group.add_argument(
        "--content-layer",
        metavar="NAME",
        help="with --style: layer whose features are kept (default: the model's)",
    )


def _weights(text: str) -> list[float]:
    try:
        return [float(w) for w in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected numbers separated by commas, got {text!r}"
        ) from None


def fill_defaults(args: argparse.Namespace) -> None:
    """Octaves, steps and step size left unset take a dream's defaults, or a style's
    with --style, so that everything after parsing reads plain numbers."""
    defaults = STYLE_DEFAULTS if args.style else DREAM_DEFAULTS
    for name, value in defaults.items():
        if getattr(args, name) is None:
            setattr(args, name, value)


def style_params(args: argparse.Namespace) -> dict[str, Any]:
    """The style flags given, as ``params`` entries."""
    params: dict[str, Any] = {}
    for flag, key in (
        ("style_weight", "style_weight"),
        ("content_weight", "content_weight"),
        ("tv_weight", "tv_weight"),
        ("temporal_weight", "temporal_weight"),
        ("style_scale", "style_scale"),
        ("style_optimizer", "style_optimizer"),
        ("content_layer", "content_layer"),
    ):
        if getattr(args, flag) is not None:
            params[key] = getattr(args, flag)
    if args.keep_colors:
        params["keep_colors"] = True
    if args.style_blend is not None:
        params["style_blend"] = list(args.style_blend)
    if args.style_layer:
        params["style_layers"] = list(args.style_layer)
    return params
