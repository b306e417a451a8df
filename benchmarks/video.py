"""Videos: how still the dream holds between frames, what the optical flow costs, and how
few steps the frames after the first need.

    python -m benchmarks.video [--part flicker|drift|steps|speed|styled] [--model auto]
        [--device auto] [--size 192x108] [--frames 16] [--speed-size 1280x720]
        [--speed-frames 4] [--temporal-weights 10 30]

1. flicker: the mean |o_t − W(o_{t−1})| (8-bit levels) over the pixels where the *input's*
   forward–backward flow is consistent, W warping along the input's flow
   (``dreamd.batch.flicker``), on a pan across a photo and on a still shot with camera-like
   noise (σ 2 levels): the input itself, independent frames (one seed for the whole video,
   as dream-batch dreams videos), independent frames with a new seed each (how frame
   folders were dreamed without --seed), ``-b`` (5–45 % of the previous dream, random) and
   ``-b --flow``. Also the detail (mean |dreamed − raw|) of the first and last frames and
   how much brighter the last frames got: drift.
2. speed: frames per minute at 1280×720 (from the times the frames after the first were
   written) for ``-b --blend-mode constant --blend-factor 0.8`` and for
   ``--flow --steps-after-first STEPS`` (the same dream, plus the flow), and for ``--flow``
   as it comes (fewer steps after the first frame).
3. drift: a still shot of 100 frames with ``--flow``, and with ``--flow`` dreaming every frame
   fully (``--steps-after-first`` = all steps: detail piles up): detail and brightness of
   frames 1 … 100.
4. steps: ``--flow`` with ``--steps-after-first N``: the objective the dream climbs (½·mean a²
   at the model's default layer, dreamed / raw, the project's dreaminess measure) over the
   frames after the first, against independent frames, and the flicker.
5. styled: style transfer (``--style``, harness.styles' painting, at the style defaults) on
   the same pan and still shot: the flicker of independent frames, of ``-b --flow`` with
   the temporal term off (``--temporal-weight 0``) and at each ``--temporal-weights``, with
   the style loss (``engine.style_distance`` to the style image, frames 2 … N: still as
   styled?), the content loss (to each raw frame) and seconds per frame after the first.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from dreamd import batch, codec, engine
from dreamd.batch.cli import main as dream_batch
from harness import clips


def size(text: str) -> tuple[int, int]:
    w, _, h = text.partition("x")
    return int(w), int(h)


def run(clip: Path, dest: Path, flags: Sequence[str]) -> tuple[list[np.ndarray], float]:
    """dream-batch on ``clip`` with PNG frames out: (the frames, wall seconds)."""
    started = time.perf_counter()
    code = dream_batch(["-s", str(clip), "-d", str(dest), "--frames", "-q", *flags])
    seconds = time.perf_counter() - started
    if code != 0:
        raise SystemExit(f"dream-batch {' '.join(flags)} failed with exit status {code}")
    folder = dest / clip.stem
    frames = [np.asarray(Image.open(p).convert("RGB")) for p in sorted(folder.glob("*.png"))]
    return frames, seconds


def detail(outs: Sequence[np.ndarray], raws: Sequence[np.ndarray]) -> np.ndarray:
    return np.array([np.abs(o.astype(float) - r).mean() for o, r in zip(outs, raws, strict=True)])


def brightening(outs: Sequence[np.ndarray], raws: Sequence[np.ndarray]) -> float:
    """How much brighter the last quarter of the frames is than the first, beyond the input."""
    d = np.array([o.mean() - r.mean() for o, r in zip(outs, raws, strict=True)])
    q = max(1, len(d) // 4)
    return float(d[-q:].mean() - d[:q].mean())


def make_clips(folder: Path, wh: tuple[int, int], frames: int) -> dict[str, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    w = wh[0]
    scale = max(0.5, w / 260)  # the pan must fit in the photo
    pan = clips.photo_frames(frames, wh, step=max(1.0, w / 96), scale=scale)
    rng = np.random.default_rng(0)
    still = pan[0]
    noisy = [np.clip(still + rng.normal(0, 2, still.shape), 0, 255).astype(np.uint8)
             for _ in range(frames)]  # fmt: skip
    return {
        "pan": clips.write_clip(folder / "pan.mp4", pan, crf=0, audio=0),
        "still": clips.write_clip(folder / "still.mp4", noisy, crf=0, audio=0),
    }


def part_flicker(args: argparse.Namespace, base: list[str], tmp: Path) -> None:
    made = make_clips(tmp, size(args.size), args.frames)
    modes: list[tuple[str, list[str] | None]] = [
        ("independent, one seed", ["--seed", "1"]),
        ("independent, new seeds", None),  # a folder of frames, no --seed
        ("-b (random 5-45 %)", ["--seed", "1", "-b"]),
        ("-b --flow", ["--seed", "1", "--flow"]),
    ]
    print(f"\nflicker at {args.size}, {args.frames} frames, {' '.join(base)}")
    print(f"{'clip':6} {'mode':24} {'flicker':>8} {'× indep':>8} {'detail 1st':>10} "
          f"{'last':>6} {'brighter':>9}")  # fmt: skip
    for name, clip in made.items():
        raws, _, _ = clips.decode(clip)
        print(f"{name:6} {'input':24} {batch.flicker(raws, raws):8.2f}")
        ref = None
        for k, (label, flags) in enumerate(modes):
            where = tmp / name / str(k)
            outs = (
                new_seeds(raws, base, where)
                if flags is None
                else run(clip, where, [*base, *flags])[0]
            )
            f = batch.flicker(outs, raws)
            ref = f if ref is None else ref
            d = detail(outs, raws)
            q = max(1, len(d) // 4)
            print(f"{name:6} {label:24} {f:8.2f} {f / ref:8.2f} {d[0]:10.2f} {d[-q:].mean():6.2f} "
                  f"{brightening(outs, raws):+9.2f}", flush=True)  # fmt: skip


def new_seeds(raws: list[np.ndarray], base: list[str], tmp: Path) -> list[np.ndarray]:
    """Independent frames each with its own seed: the frames as a folder of PNGs, as
    dream-batch dreamed frame folders before videos (no --seed: a new one per image)."""
    src = tmp / "seeds-in"
    src.mkdir(parents=True, exist_ok=True)
    for i, r in enumerate(raws):
        Image.fromarray(r).save(src / f"{i:06d}.png")
    out = tmp / "seeds-out"
    code = dream_batch(["-s", str(src), "-d", str(out), "-q", *base])
    if code != 0:
        raise SystemExit(f"dream-batch on frames failed with exit status {code}")
    return [np.asarray(Image.open(p).convert("RGB")) for p in sorted(out.glob("*.png"))]


def part_speed(args: argparse.Namespace, base: list[str], tmp: Path) -> None:
    """Frames per minute from the times the frames were written: the first frame's time
    (loading the model, warming up) is left out."""
    steps = str(args.steps)
    modes = [
        ("-b constant 0.8", ["-b", "--blend-mode", "constant", "--blend-factor", "0.8"]),
        ("--flow, all steps", ["--flow", "--steps-after-first", steps]),
        ("--flow (fewer steps)", ["--flow"]),
    ]
    clip = make_clips(tmp, size(args.speed_size), args.speed_frames)["pan"]
    print(f"\nspeed at {args.speed_size}, {' '.join(base)}: frames per minute after the first")
    fpm = {}
    for k, (label, flags) in enumerate(modes):
        dest = tmp / str(k)
        run(clip, dest, [*base, "--seed", "1", *flags])
        written = sorted(p.stat().st_mtime for p in (dest / clip.stem).glob("*.png"))
        per_frame = (written[-1] - written[0]) / (len(written) - 1)
        fpm[label] = 60 / per_frame
        print(f"  {label:22} {fpm[label]:8.2f} fpm  ({per_frame:.2f} s/frame)", flush=True)
    cost = fpm["-b constant 0.8"] / fpm["--flow, all steps"] - 1
    print(f"  the flow costs {cost * 100:+.1f} % of a frame's time (same steps)")
    flow = flow_seconds(clip)
    dream = 60 / fpm["-b constant 0.8"]
    print(f"  the flow alone (OpenCV DIS both ways, as --flow computes it): {flow:.3f} s a frame, "
          f"{flow / dream * 100:.1f} % of a dream")  # fmt: skip


def flow_seconds(clip: Path, repeat: int = 5) -> float:
    """Seconds for the two dense flows (forward and backward) between two raw frames."""
    import cv2

    raws, _, _ = clips.decode(clip)
    a, b = (cv2.cvtColor(r, cv2.COLOR_RGB2GRAY) for r in raws[:2])
    dis = cv2.DISOpticalFlow.create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)
    dis.calc(a, b, None)
    started = time.perf_counter()
    for _ in range(repeat):
        dis.calc(a, b, None)
        dis.calc(b, a, None)
    return (time.perf_counter() - started) / repeat


def part_drift(args: argparse.Namespace, base: list[str], tmp: Path) -> None:
    """A still shot of 100 frames: the detail and brightness of frames 1 … 100."""
    clip = make_clips(tmp, size(args.drift_size), 100)["still"]
    raws, _, _ = clips.decode(clip)
    marks = [0, 9, 24, 49, 74, 99]
    print(f"\ndrift: a still shot (noise σ 2), 100 frames at {args.drift_size}: detail "
          "(mean |dreamed - raw|) and brightness gain (mean dreamed - mean raw) at frames "
          + ", ".join(str(m + 1) for m in marks))  # fmt: skip
    for k, (label, flags) in enumerate(
        [
            ("--flow", ["--flow"]),
            ("--flow, all steps", ["--flow", "--steps-after-first", str(args.steps)]),
        ]
    ):
        outs, _ = run(clip, tmp / str(k), [*base, "--seed", "1", *flags])
        d = detail(outs, raws)
        b = [float(o.mean() - r.mean()) for o, r in zip(outs, raws, strict=True)]
        shown = " ".join(f"{d[m]:5.2f}" for m in marks)
        bright = " ".join(f"{b[m]:+5.2f}" for m in marks)
        print(f"  {label:18} detail {shown}   brightness {bright}", flush=True)


def objective(model: engine.DreamModel, image: np.ndarray) -> float:
    net = model.net
    x = torch.from_numpy(image.astype(np.float32) / 255).permute(2, 0, 1)[None].to(model.device)
    with torch.no_grad():
        a = net.features(net.normalize(x), [net.catalogue.default])[0]
    return float(0.5 * (a.float() ** 2).mean())


def part_steps(args: argparse.Namespace, base: list[str], tmp: Path, model_name: str) -> None:
    clip = make_clips(tmp, size(args.size), args.frames)["pan"]
    raws, _, _ = clips.decode(clip)
    model = engine.load_model(model_name, "cpu")
    gains_raw = [objective(model, r) for r in raws]

    def gain(outs: list[np.ndarray]) -> float:
        later = zip(outs[1:], gains_raw[1:], strict=True)
        return float(np.mean([objective(model, o) / g for o, g in later]))

    ind, _ = run(clip, tmp / "ind", [*base, "--seed", "1"])
    ref = gain(ind)
    ref_flicker = batch.flicker(ind, raws)
    print(f"\n--steps-after-first with --flow (factor 0.8), {args.size}, {args.steps} steps "
          f"per octave in the first frame; objective gain, frames 2-{args.frames}")  # fmt: skip
    print(f"  {'independent':18} gain {ref:6.2f} (1.00)  flicker {ref_flicker:6.2f}")
    for n in [*args.sweep, None]:
        flags = ["--flow"] + ([] if n is None else ["--steps-after-first", str(n)])
        outs, _ = run(clip, tmp / f"n{n}", [*base, "--seed", "1", *flags])
        g = gain(outs)
        label = f"N = {n}" if n is not None else "N auto (1 - 0.8)"
        print(f"  {label:18} gain {g:6.2f} ({g / ref:.2f})  flicker "
              f"{batch.flicker(outs, raws):6.2f}", flush=True)  # fmt: skip


def part_styled(args: argparse.Namespace, base: list[str], tmp: Path, model_name: str) -> None:
    from harness.styles import style_image

    made = make_clips(tmp, size(args.size), args.frames)
    painting = style_image("painting", (256, 256))
    Image.fromarray(painting).save(tmp / "style.png")
    style = codec.to_float(painting)
    model = engine.load_model(model_name, "cpu", weights=args.weights)
    modes = [("independent", [])] + [
        (f"-b --flow, temporal {w:g}", ["--flow", "--temporal-weight", f"{w:g}"])
        for w in [0.0, *args.temporal_weights]
    ]
    print(f"\nstyled video at {args.size}, {args.frames} frames, the style defaults "
          f"({' '.join(base)}, --style painting)")  # fmt: skip
    print(f"{'clip':6} {'mode':26} {'flicker':>8} {'× indep':>8} {'style':>7} {'content':>8} "
          f"{'s/frame':>8}")  # fmt: skip
    for name, clip in made.items():
        raws, _, _ = clips.decode(clip)
        print(f"{name:6} {'input':26} {batch.flicker(raws, raws):8.2f}")
        ref = None
        for k, (label, flags) in enumerate(modes):
            dest = tmp / name / str(k)
            outs, _ = run(clip, dest, [*base, "--seed", "1", "--style", str(tmp / "style.png"),
                                       *flags])  # fmt: skip
            f = batch.flicker(outs, raws)
            ref = f if ref is None else ref
            later = list(zip(outs[1:], raws[1:], strict=True))
            sl = np.mean([engine.style_distance(model, codec.to_float(o), style) for o, _ in later])
            cl = np.mean([engine.content_distance(model, codec.to_float(o), codec.to_float(r))
                          for o, r in later])  # fmt: skip
            written = sorted(p.stat().st_mtime for p in (dest / clip.stem).glob("*.png"))
            per_frame = (written[-1] - written[0]) / (len(written) - 1)
            print(f"{name:6} {label:26} {f:8.2f} {f / ref:8.2f} {sl:7.3f} {cl:8.3f} "
                  f"{per_frame:8.2f}", flush=True)  # fmt: skip
            if args.save and name == "pan":
                clips.strip(
                    outs[:: max(1, len(outs) // 4)][:4], Path(args.save) / f"styled-{k}.png"
                )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--part", choices=["flicker", "speed", "steps", "drift", "styled"], action="append"
    )
    ap.add_argument("--model", default="auto")
    ap.add_argument("--device", default="auto")
    ap.add_argument("--size", default="192x108")
    ap.add_argument("--frames", type=int, default=16)
    ap.add_argument("--steps", type=int, default=10, help="steps per octave (10)")
    ap.add_argument("--octaves", type=int, default=4)
    ap.add_argument("--speed-size", default="1280x720")
    ap.add_argument("--drift-size", default="128x72")
    ap.add_argument("--speed-frames", type=int, default=4)
    ap.add_argument("--sweep", type=int, nargs="+", default=[1, 2, 3, 5, 10])
    ap.add_argument("--weights", help="model weights file (e.g. random GoogLeNet weights)")
    ap.add_argument("--temporal-weights", type=float, nargs="+", default=[10.0, 30.0])
    ap.add_argument("--save", help="folder for strips of the styled pan's frames")
    args = ap.parse_args()
    parts = args.part or ["flicker", "drift", "steps", "speed", "styled"]
    base = ["--model", args.model, "--device", args.device, "--embedded",
            "--octave-count", str(args.octaves), "--steps-per-octave", str(args.steps)]  # fmt: skip
    if args.weights:
        base += ["--weights", args.weights]
    model_name = engine.load_model(args.model, "cpu", weights=args.weights).name
    print(f"model {model_name}, device {args.device}, python {sys.version.split()[0]}, "
          f"torch {torch.__version__}, {torch.get_num_threads()} threads")  # fmt: skip
    tmp = Path(tempfile.mkdtemp(prefix="dreamd-video-"))
    try:
        if "flicker" in parts:
            part_flicker(args, base, tmp / "flicker")
        if "drift" in parts:
            part_drift(args, base, tmp / "drift")
        if "steps" in parts:
            part_steps(args, base, tmp / "steps", model_name)
        if "speed" in parts:
            part_speed(args, base, tmp / "speed")
        if "styled" in parts:
            # the style defaults' octaves and steps (dream-batch's with --style)
            styled = base[:5] + base[9:]  # base less --octave-count and --steps-per-octave
            part_styled(args, styled, tmp / "styled", model_name)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
