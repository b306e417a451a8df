"""``dream-batch``: dream a folder, a file or a glob of images into a destination folder.

The flags are in ``_arguments``, what a run will do is decided in ``_planning``; this module
runs it: signals, the runner, the pipeline, the summary and the exit status.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shlex
import signal
import sys
import threading
import warnings
from collections.abc import Sequence
from types import FrameType
from typing import Any

from PIL import Image

from ._arguments import PROG, build_parser, dream_params
from ._errors import BatchError, RunnerLost, UsageError
from ._imageio import clean_stale_temps
from ._pipeline import Pipeline, Settings
from ._planning import output_record, plan, read_guide, read_style
from ._progress import Display, make_display
from ._report import EXIT_FAILED, EXIT_OK, EXIT_USAGE, Report
from ._style_args import fill_defaults
from ._video_plan import media_count, run_media, with_record


def main(argv: Sequence[str] | None = None) -> int:
    """Run dream-batch; returns the exit status (also when called as a function)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    args = parser.parse_args(argv)
    fill_defaults(args)
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


def entry() -> None:
    """The ``dream-batch`` command: :func:`main`, then an exit that skips the interpreter's
    teardown. With torch loaded, tearing down took 0.8–1.9 s on 2 cores (collecting torch's
    objects one by one) after every output was already written and closed; nothing is left
    to run then, so the process ends as soon as its output streams are flushed."""
    code = main()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    os._exit(code)


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

    if args.samples is not None:
        from .samples import write_samples

        for path in write_samples(args.samples):
            display.line(str(path))
        return EXIT_OK
    params = dream_params(args)
    if args.list_layers:
        return _list_layers(args, list_layers_of(args), display)
    if not args.source or not args.destination:
        parser.print_usage(sys.stderr)
        raise UsageError("-s/--source and -d/--destination are required")
    the_plan = plan(args, params)
    everything, todo, media = the_plan.jobs, the_plan.todo, the_plan.media

    report = Report(display, total=len(everything) + len(media.jobs))
    for job in the_plan.done:
        report.skipped(job.name, str(job.dest))
    for finished in media.done:
        report.skipped(finished.name, str(finished.dest))
    ignored = the_plan.ignored
    if ignored:
        shown = ", ".join(p.name for p in ignored[:3]) + (" …" if len(ignored) > 3 else "")
        display.line(f"ignoring {len(ignored)} file(s) without an image suffix: {shown}")
    if not everything and not media.jobs:
        display.line(f"{PROG}: no images in {args.source}")
        return _finish(args, report, display)
    if not todo and not media.todo:
        total = len(everything) + len(media.jobs)
        display.line(f"{PROG}: all {total} outputs exist already (--overwrite to redo)")
        return _finish(args, report, display)

    limits = the_plan.limits
    guide = read_guide(args.guide, limits) if args.guide else None
    style = [read_style(path, limits) for path in args.style] if args.style else None

    runner = choose_runner(args, params, guide, style)
    report.runner = runner.description
    skipped = len(everything) - len(todo) + len(media.done)
    what = media_count(todo, media)
    display.line(
        f"{PROG}: {what} with the {runner.description}"
        + (f"; {skipped} already done, skipped" if skipped else "")
    )
    for note in runner.notes:
        report.note(note)
    for folder in sorted({j.dest.parent for j in todo}):
        clean_stale_temps(folder)

    settings = Settings(
        limits=limits,
        quality=args.quality,
        blend=the_plan.blend,
        record=output_record(args),
        chain=the_plan.chain,
    )
    display.start(len(todo) + len(media.todo))
    pipeline = Pipeline(runner, todo, everything, settings, report)
    used = [runner]
    try:
        if todo:
            pipeline.run()
        if media.todo and not report.aborted:
            media = with_record(media, settings.record)
            used.append(run_media(media, pipeline.runner, report, display))
    except KeyboardInterrupt:
        report.total = len(everything) + len(media.jobs)
        display.close()
        resume = shlex.join([PROG, *argv])
        display.problem(
            f"stopped: {report.count('done')} written this run, {report.left} not done. "
            f"To resume, run the same command again (finished images are skipped):\n  {resume}"
        )
        return _finish(args, report, display, closed=True)
    finally:
        for r in {id(r): r for r in (*used, pipeline.runner)}.values():
            r.close()
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


__all__ = [
    "EXIT_FAILED",
    "EXIT_OK",
    "EXIT_USAGE",
    "PROG",
    "BatchError",
    "build_parser",
    "dream_params",
    "main",
]
