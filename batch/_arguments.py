"""dream-batch's command line: its flags, and the dream parameters they make."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from . import __version__, _imageio
from ._blend import DEFAULT_FACTOR, DEFAULT_SIGMA, MODES
from ._chain import FLOW_FACTOR
from ._style_args import add_style_arguments, style_params
from ._video_args import add_video_arguments

PROG = "dream-batch"

EPILOG = """\
examples:
  dream-batch --samples photos && dream-batch -s photos -d dreamed
  dream-batch -s 'frames/*.png' -d out -b --blend-mode gaussian --seed 7
  dream-batch -s scan.tif -d out -m inception_4d/output -n 2 --connect ipc:///run/dreamd.sock
  dream-batch -s photos -d styled --style painting.jpg
  dream-batch -s photos -d styled --style a.jpg --style b.jpg --style-blend 0.7,0.3 --keep-colors
  dream-batch --list-layers --model efficientnet-lite0

Outputs keep each input's format, mode, bit depth, alpha, ICC profile and EXIF, and record
the parameters that made them. Existing outputs are skipped, so running the same command
again resumes a stopped batch. Exit status: 0 all done, 1 some image failed, 2 usage
error, 130 interrupted.
"""


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog=PROG,
        description="DeepDream every image of a folder, a single file or a glob.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    io = p.add_argument_group("files")
    io.add_argument(
        "-s",
        "--source",
        metavar="SOURCE",
        help="a folder, a single image, or a quoted glob ('frames/*.png')",
    )
    io.add_argument(
        "-d", "--destination", metavar="DEST", help="folder for the results (created if missing)"
    )
    io.add_argument(
        "--samples",
        type=Path,
        metavar="DIR",
        help="write five sample photos (JPEG, PNG with alpha, 16-bit PNG) into DIR and exit",
    )
    io.add_argument(
        "--recursive",
        action="store_true",
        help="also read sub-folders (mirrored under DEST); lets ** cross folders",
    )
    io.add_argument(
        "--overwrite",
        action="store_true",
        help="dream again images whose output exists (default: skip them)",
    )
    io.add_argument(
        "--format",
        choices=sorted(_imageio.FORMAT_NAMES),
        type=str.lower,
        help="write this format instead of each input's own",
    )
    io.add_argument(
        "--quality",
        type=_int_range(1, 100),
        metavar="1-100",
        help="JPEG/WebP quality (default: the input JPEG's own tables, else 95/90)",
    )
    io.add_argument(
        "--max-megapixels",
        type=_float_range(0.001, 10_000),
        default=100.0,
        metavar="MP",
        help="refuse larger images without decoding (default 100)",
    )

    dream = p.add_argument_group("dream")
    dream.add_argument(
        "-m",
        "--maximize",
        action="append",
        metavar="LAYER",
        help="layer to maximise, optionally with channels: NAME[:C,C…]; "
        "repeat for several (default: the model's default layer, "
        "inception_4c/output for googlenet)",
    )
    dream.add_argument(
        "-g",
        "--guide",
        metavar="IMAGE",
        help="guide image whose features the dream moves towards (any format)",
    )
    add_style_arguments(dream)
    dream.add_argument("-j", "--jitter", type=int, default=32, help="random shift per step (32)")
    dream.add_argument(
        "-n",
        "--num-iterations",
        type=int,
        default=1,
        help="times the whole dream is run on each image (1)",
    )
    dream.add_argument(
        "--octave-count",
        type=_octave_count,
        metavar="N|auto",
        help="octaves: a number runs that many; auto (the default) runs enough that the "
        "smallest is near the size the network was trained on, never fewer than 4, so "
        "big photos get more (3 with --style)",
    )
    dream.add_argument(
        "--detail-size",
        type=int,
        metavar="PX",
        help="dream a copy this many pixels long and carry the detail it adds up to full "
        "size: much faster on big photos (default: dream at full size)",
    )
    dream.add_argument(
        "--octave-scale", type=float, help="scale between octaves (1.3; 1.5 with --style)"
    )
    dream.add_argument(
        "--steps-per-octave", type=int, help="steps per octave (10; 40 with --style)"
    )
    dream.add_argument(
        "--step-size", type=float, help="step size, 0-255 units (1.5; 6 with --style)"
    )
    dream.add_argument("--seed", type=int, help="random seed (default: a new one per image)")
    dream.add_argument(
        "--tile-size",
        type=int,
        help="largest tile side (default: as large as free memory allows, whole image if it fits)",
    )
    dream.add_argument(
        "--precision",
        choices=("auto", "fp32", "bf16", "fp16"),
        default="auto",
        help="arithmetic (auto: bf16 where the GPU or CPU has it natively, "
        "fp16 on older GPUs, else fp32)",
    )

    blend = p.add_argument_group("video frames")
    blend.add_argument(
        "-b",
        "--blend",
        action="store_true",
        help="blend each dreamed frame into the next raw frame (frames in ascii-betical order)",
    )
    blend.add_argument(
        "--blend-mode",
        choices=MODES,
        help="random: 5-45%% per frame, as the original tool; constant: "
        "--blend-factor; gaussian: around --blend-factor (default random; constant "
        "with --flow)",
    )
    blend.add_argument(
        "--blend-factor",
        type=float,
        help=f"weight of the previous dreamed frame ({DEFAULT_FACTOR}; {FLOW_FACTOR} with --flow)",
    )
    blend.add_argument(
        "--blend-sigma",
        type=float,
        default=DEFAULT_SIGMA,
        help=f"spread of the gaussian blend factor ({DEFAULT_SIGMA})",
    )
    add_video_arguments(p)

    run = p.add_argument_group("where it runs")
    run.add_argument(
        "--connect",
        action="append",
        metavar="ENDPOINT",
        help="dreamd endpoint (ipc://PATH or tcp://HOST:PORT); repeat to spread "
        "images over several daemons (default: the local daemon if it answers, "
        "else the engine in this process)",
    )
    run.add_argument(
        "--server-key",
        action="append",
        type=Path,
        metavar="FILE",
        help="CURVE: the daemon's public key file (once for all --connect, or once each, "
        "in the same order)",
    )
    run.add_argument(
        "--client-key", type=Path, metavar="FILE", help="CURVE: this client's .key_secret file"
    )
    run.add_argument(
        "--embedded",
        action="store_true",
        help="always run the engine in this process, even if a daemon answers",
    )
    run.add_argument(
        "--model",
        default="auto",
        help="auto, bvlc-googlenet, places205-googlenet, googlenet or efficientnet-lite0 "
        "(auto: bvlc-googlenet, the original DeepDream network, when its weights are here, "
        "else googlenet, else efficientnet-lite0)",
    )
    run.add_argument(
        "--weights",
        metavar="FILE",
        help="model weights file (embedded mode): a .caffemodel, MIT's Places205 tarball or "
        "neural-dream's .pth for the Caffe networks; with --model auto, the model it is for",
    )
    run.add_argument(
        "--device",
        default="auto",
        help="embedded mode: auto, cpu, cuda, cuda:N or mps (default auto)",
    )
    run.add_argument("--list-layers", action="store_true", help="print the model's layers and exit")

    out = p.add_argument_group("output")
    out.add_argument("-q", "--quiet", action="store_true", help="print only problems")
    out.add_argument(
        "--json",
        action="store_true",
        help="print a machine-readable summary on stdout (messages go to stderr)",
    )
    out.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    return p


def _int_range(lo: int, hi: int) -> Any:
    def parse(text: str) -> int:
        try:
            v = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
        if not lo <= v <= hi:
            raise argparse.ArgumentTypeError(f"must be between {lo} and {hi}")
        return v

    return parse


def _float_range(lo: float, hi: float) -> Any:
    def parse(text: str) -> float:
        try:
            v = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
        if not lo <= v <= hi:
            raise argparse.ArgumentTypeError(f"must be between {lo:g} and {hi:g}")
        return v

    return parse


def _octave_count(text: str) -> int | str:
    if text == "auto":
        return text
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number or auto, got {text!r}") from None


def dream_params(args: argparse.Namespace) -> dict[str, Any]:
    """The engine's / the protocol's ``params`` map for these flags."""
    params: dict[str, Any] = {
        "octave_count": args.octave_count,
        "octave_scale": args.octave_scale,
        "steps_per_octave": args.steps_per_octave,
        "iterations": args.num_iterations,
        "step_size": args.step_size,
        "jitter": args.jitter,
        "precision": args.precision,
    }
    if args.maximize:
        params["layers"] = list(args.maximize)
    if args.seed is not None:
        params["seed"] = args.seed
    if args.tile_size is not None:
        params["tile_size"] = args.tile_size
    if args.detail_size is not None:
        params["detail_size"] = args.detail_size
    params.update(style_params(args))
    return params
