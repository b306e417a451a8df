"""``dream-batch``: dream a folder, a file or a glob of images into a destination folder."""

from __future__ import annotations

import argparse
import json
import os
import random
import shlex
import signal
import sys
import threading
import warnings
from collections.abc import Sequence
from pathlib import Path
from types import FrameType
from typing import Any

import numpy as np
from PIL import Image

from . import __version__, _imageio
from ._blend import DEFAULT_FACTOR, DEFAULT_SIGMA, MODES, Blend
from ._errors import BatchError, ImageError, RunnerLost, UsageError
from ._imageio import Limits, clean_stale_temps, output_rel, read_image
from ._pipeline import Job, Pipeline, Settings
from ._progress import Display, make_display
from ._report import EXIT_FAILED, EXIT_OK, EXIT_USAGE, Report
from ._sources import find_sources

PROG = "dream-batch"

EPILOG = """\
examples:
  dream-batch -s photos -d dreamed
  dream-batch -s 'frames/*.png' -d out -b --blend-mode gaussian --seed 7
  dream-batch -s scan.tif -d out -m inception_4d/output -n 2 --connect ipc:///run/dreamd.sock
  dream-batch -s 'frames/*.png' -d out --style art.jpg --steps-per-octave 40 --step-size 4 -b
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
    dream.add_argument(
        "--style",
        metavar="IMAGE",
        help="style image (any format): each image takes on its style and keeps its own "
        "content (Gatys-style transfer; try --steps-per-octave 40 --step-size 4)",
    )
    dream.add_argument(
        "--style-weight",
        type=float,
        metavar="F",
        help="with --style: share of each step that matches the style (1.0)",
    )
    dream.add_argument(
        "--content-weight",
        type=float,
        metavar="F",
        help="with --style: share of each step that keeps the content (0.5)",
    )
    dream.add_argument(
        "--style-layer",
        action="append",
        metavar="NAME",
        help="with --style: layer whose feature correlations are matched; repeat for "
        "several (default: the model's style layers)",
    )
    dream.add_argument(
        "--content-layer",
        metavar="NAME",
        help="with --style: layer whose features are kept (default: the model's)",
    )
    dream.add_argument("-j", "--jitter", type=int, default=32, help="random shift per step (32)")
    dream.add_argument(
        "-n",
        "--num-iterations",
        type=int,
        default=1,
        help="times the whole dream is run on each image (1)",
    )
    dream.add_argument("--octave-count", type=int, default=4, help="octaves (4)")
    dream.add_argument(
        "--octave-scale", type=float, default=1.3, help="scale between octaves (1.3)"
    )
    dream.add_argument("--steps-per-octave", type=int, default=10, help="steps per octave (10)")
    dream.add_argument("--step-size", type=float, default=1.5, help="step size, 0-255 units (1.5)")
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
        default="random",
        help="random: 5-45%% per frame, as the original tool; constant: "
        "--blend-factor; gaussian: around --blend-factor (default random)",
    )
    blend.add_argument(
        "--blend-factor",
        type=float,
        default=DEFAULT_FACTOR,
        help=f"weight of the previous dreamed frame ({DEFAULT_FACTOR})",
    )
    blend.add_argument(
        "--blend-sigma",
        type=float,
        default=DEFAULT_SIGMA,
        help=f"spread of the gaussian blend factor ({DEFAULT_SIGMA})",
    )

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
        help="auto, googlenet or efficientnet-lite0 (auto: googlenet when its "
        "weights are available, else efficientnet-lite0)",
    )
    run.add_argument("--weights", metavar="FILE", help="model weights file (embedded mode)")
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
    if args.style_weight is not None:
        params["style_weight"] = args.style_weight
    if args.content_weight is not None:
        params["content_weight"] = args.content_weight
    if args.style_layer:
        params["style_layers"] = list(args.style_layer)
    if args.content_layer is not None:
        params["content_layer"] = args.content_layer
    return params


#: The engine's default ``style_max_side``: a style image is never used larger than this,
#: so a bigger one is scaled down once here (what travels to a daemon stays small).
STYLE_MAX_SIDE = 1024
LANCZOS = Image.Resampling.LANCZOS
_STYLE_FLAGS = ("style_weight", "content_weight", "style_layer", "content_layer")


def _check_style_flags(args: argparse.Namespace) -> None:
    if args.style:
        return
    given = [f"--{f.replace('_', '-')}" for f in _STYLE_FLAGS if getattr(args, f) is not None]
    if given:
        raise UsageError(f"{', '.join(given)} only apply with --style IMAGE")


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


def main(argv: Sequence[str] | None = None) -> int:
    """Run dream-batch; returns the exit status (also when called as a function)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    args = parser.parse_args(argv)
    display = make_display(args.quiet, args.json)
    warnings.simplefilter("ignore", Image.DecompressionBombWarning)  # we refuse them ourselves
    in_main = threading.current_thread() is threading.main_thread()
    previous = signal.getsignal(signal.SIGTERM) if in_main else None
    if in_main:  # SIGTERM stops a batch as Ctrl-C does: in-flight cancelled, nothing partial
        signal.signal(signal.SIGTERM, _terminate)
    try:
        return _main(parser, args, argv, display)
    except UsageError as exc:
        return _fail(args, display, str(exc), EXIT_USAGE)
    except RunnerLost as exc:
        return _fail(args, display, str(exc), EXIT_FAILED)
    except KeyboardInterrupt:
        display.problem("interrupted")
        return 130
    finally:
        if in_main:
            signal.signal(signal.SIGTERM, previous)


def _fail(args: argparse.Namespace, display: Display, message: str, code: int) -> int:
    display.problem(f"{PROG}: error: {message}")
    if args.json:
        print(json.dumps({"error": message, "exit_code": code}), flush=True)
    return code


def _terminate(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def _main(
    parser: argparse.ArgumentParser, args: argparse.Namespace, argv: list[str], display: Display
) -> int:
    from ._connect import choose_runner, list_layers_of

    params = dream_params(args)
    if args.list_layers:
        return _list_layers(args, list_layers_of(args), display)
    if not args.source or not args.destination:
        parser.print_usage(sys.stderr)
        raise UsageError("-s/--source and -d/--destination are required")
    _check_params(params)
    _check_style_flags(args)
    blend = _blend_settings(args)
    dest_root = Path(args.destination).expanduser()
    if dest_root.exists() and not dest_root.is_dir():
        raise UsageError(f"destination {str(dest_root)!r} exists and is not a folder")
    found = find_sources(args.source, args.recursive, exclude=dest_root)
    fmt = _imageio.FORMAT_NAMES[args.format] if args.format else None
    everything = _plan(found.sources, dest_root, fmt)
    limits = Limits(max_pixels=int(args.max_megapixels * 1e6))
    if Image.MAX_IMAGE_PIXELS is not None:  # Pillow's own bomb check must not stop us first
        Image.MAX_IMAGE_PIXELS = max(Image.MAX_IMAGE_PIXELS, limits.max_pixels)

    report = Report(display, total=len(everything))
    todo: list[Job] = []
    for job in everything:
        if job.dest.exists() and not args.overwrite:
            report.skipped(job.name, str(job.dest))
        else:
            todo.append(job)
    if found.ignored:
        shown = ", ".join(p.name for p in found.ignored[:3]) + (
            " …" if len(found.ignored) > 3 else ""
        )
        display.line(f"ignoring {len(found.ignored)} file(s) without an image suffix: {shown}")
    if not everything:
        display.line(f"{PROG}: no images in {args.source}")
        return _finish(args, report, display)
    if not todo:
        display.line(f"{PROG}: all {len(everything)} outputs exist already (--overwrite to redo)")
        return _finish(args, report, display)

    guide = None
    if args.guide:
        try:
            guide = read_image(args.guide, limits).pixels
        except ImageError as exc:
            raise UsageError(f"guide image {exc.path}: {exc.reason}") from None
    style = read_style(args.style, limits) if args.style else None

    runner = choose_runner(args, params, guide, style)
    report.runner = runner.description
    skipped = len(everything) - len(todo)
    display.line(
        f"{PROG}: {len(todo)} image(s) with the {runner.description}"
        + (f"; {skipped} already done, skipped" if skipped else "")
    )
    for note in runner.notes:
        report.note(note)
    for folder in sorted({j.dest.parent for j in todo}):
        clean_stale_temps(folder)

    record: dict[str, Any] = {"version": __version__}
    if args.format:
        record["format"] = args.format
    if args.quality is not None:
        record["quality"] = args.quality
    if args.guide:
        record["guide"] = Path(args.guide).name
    if args.style:
        record["style"] = Path(args.style).name
    settings = Settings(
        limits=limits,
        quality=args.quality,
        blend=blend,
        record=record,
    )
    display.start(len(todo))
    pipeline = Pipeline(runner, todo, everything, settings, report)
    try:
        pipeline.run()
    except KeyboardInterrupt:
        report.total = len(everything)
        display.close()
        resume = shlex.join([PROG, *argv])
        display.problem(
            f"stopped: {report.count('done')} written this run, {report.left} not done. "
            f"To resume, run the same command again (finished images are skipped):\n  {resume}"
        )
        return _finish(args, report, display, closed=True)
    finally:
        runner.close()
    return _finish(args, report, display)


def _finish(
    args: argparse.Namespace, report: Report, display: Display, closed: bool = False
) -> int:
    if not closed:
        display.close()
    display.line(report.summary_line())
    if args.json:
        print(json.dumps(report.summary(), ensure_ascii=False), flush=True)
    return report.exit_code


def _check_params(params: dict[str, Any]) -> None:
    """Types and ranges, as the daemon and the engine check them (without loading torch)."""
    from dreamd import protocol

    try:
        protocol.check_params(params, protocol.DEFAULT_LIMITS)
    except protocol.MessageInvalid as exc:
        raise UsageError(f"bad parameter {exc}") from None


def _blend_settings(args: argparse.Namespace) -> Blend | None:
    if not args.blend:
        return None
    seed = args.seed if args.seed is not None else random.SystemRandom().randrange(2**32)
    return Blend(args.blend_mode, args.blend_factor, args.blend_sigma, seed)


def _plan(sources: Sequence[Any], dest_root: Path, fmt: str | None) -> list[Job]:
    """Pair every source with its output path; never an input's own path."""
    rels = [output_rel(s.rel, fmt) for s in sources]
    seen: dict[Path, int] = {}
    for r in rels:
        seen[r] = seen.get(r, 0) + 1
    jobs: list[Job] = []
    for i, (src, rel) in enumerate(zip(sources, rels)):
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


def _list_layers(
    args: argparse.Namespace, found: tuple[str, str, list[dict[str, Any]]], display: Display
) -> int:
    model, default, layers = found
    if args.json:
        print(json.dumps({"model": model, "default": default, "layers": layers}), flush=True)
        return EXIT_OK
    print(f"{model} (default layer: {default})")
    width = max((len(str(lay["name"])) for lay in layers), default=4)
    print(f"  {'layer':<{width}}  channels  stride  aliases")
    for lay in layers:
        mark = "*" if lay["name"] == default else " "
        aliases = ", ".join(lay.get("aliases") or ())
        print(
            f"{mark} {lay['name']:<{width}}  {lay.get('channels', ''):>8}  "
            f"{lay.get('stride', ''):>6}  {aliases}"
        )
    return EXIT_OK


__all__ = ["EXIT_FAILED", "EXIT_OK", "EXIT_USAGE", "BatchError", "build_parser", "main"]
