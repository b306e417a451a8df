"""Style transfer: loss against time for each optimiser, and the defaults' time per image.

    python benchmarks/style.py [--models efficientnet-lite0,googlenet,bvlc-googlenet]
                               [--sizes 256,512] [--budgets 10,20,40] [--default-sizes 512,1024]
                               [--pairs chelsea:painting,astronaut:brick,coffee:gravel]

1. For each model, size and optimiser — today's normalised-gradient step with the README's
   old example settings (``--steps-per-octave 40 --step-size 4``, content weight 0.5),
   Adam and L-BFGS with the style defaults (dream-batch's with ``--style``) — one run per
   step budget: seconds, style loss (``engine.style_distance``) and content loss
   (``engine.content_distance``) at the end. Each row is a result a user would get
   asking for that many steps, so the rows are a loss-against-time curve.
2. The defaults against the old example, on several photo/style pairs at 512 px: seconds,
   style and content loss, and how far the colour statistics moved towards the style's.
3. The defaults' seconds per image at ``--default-sizes``.

``--only figures`` writes the README's pictures instead (``docs/style-chelsea.jpg``,
``docs/style-options.jpg``).

Photos are scikit-image's, style images are made by ``harness.styles`` (no downloads).
GoogLeNet and bvlc-googlenet use their real weights when they are cached, else random
ones: the same speed, but their losses then say nothing about pictures. The machine this
was written on is shared (2 cores, other jobs running): the seconds are noisy, each is the
best of ``--repeat`` runs; compare rows of one run, not runs of different days.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from dreamd import codec, engine
from harness.styles import colour_move, style_image
from harness.weights import model_or_random

#: dream-batch's and the GIMP plug-in's starting point when a style image is given.
STYLE_DEFAULTS = engine.STYLE_DEFAULTS

#: Today's README example before the optimisers: the dream's step with 40 steps of 4.
OLD_EXAMPLE = {
    "style_optimizer": "step",
    "steps_per_octave": 40,
    "step_size": 4.0,
    "content_weight": 0.5,
    "tv_weight": 0.0,
}


def photo(name: str, side: int) -> np.ndarray:
    from PIL import Image
    from skimage import data

    im = Image.fromarray(getattr(data, name)())
    f = side / max(im.size)
    size = (round(im.size[0] * f), round(im.size[1] * f))
    return codec.to_float(np.asarray(im.resize(size, Image.Resampling.LANCZOS)))


def load(name: str) -> engine.DreamModel:
    return model_or_random(name)


def run(
    model: engine.DreamModel, image: np.ndarray, style: np.ndarray, values: dict, repeat: int
) -> tuple[float, np.ndarray]:
    params = engine.DreamParams.from_mapping({"seed": 1, **values})
    best, out = float("inf"), image
    for _ in range(repeat):
        started = time.perf_counter()
        out = engine.dream(model, image, params, style=style).image
        best = min(best, time.perf_counter() - started)
    return best, out


def losses(model: engine.DreamModel, out: np.ndarray, image: np.ndarray, style: np.ndarray):
    return engine.style_distance(model, out, style), engine.content_distance(model, out, image)


def curves(args: argparse.Namespace) -> None:
    print("\n## Loss against time (chelsea, painting style)\n")
    print("| model | size | optimiser | steps/octave | seconds | style loss | content loss |")
    print("| --- | --- | --- | ---: | ---: | ---: | ---: |")
    style = codec.to_float(style_image("painting"))
    for name in args.models:
        model = load(name)
        for side in args.sizes:
            image = photo("chelsea", side)
            s0, c0 = losses(model, image, image, style)
            print(f"| {name} | {side} | (the photo) | 0 | 0 | {s0:.3f} | {c0:.3f} |")
            for label, base in (
                ("today's step", OLD_EXAMPLE),
                ("adam", {**STYLE_DEFAULTS, "style_optimizer": "adam"}),
                ("lbfgs", {**STYLE_DEFAULTS, "style_optimizer": "lbfgs"}),
            ):
                for steps in args.budgets:
                    values = {**base, "steps_per_octave": steps}
                    seconds, out = run(model, image, style, values, args.repeat)
                    s, c = losses(model, out, image, style)
                    row = f"| {name} | {side} | {label} | {steps} | {seconds:.1f} |"
                    print(f"{row} {s:.3f} | {c:.3f} |", flush=True)


def against_old(args: argparse.Namespace) -> None:
    print("\n## The defaults against the old example, 512 px, efficientnet-lite0\n")
    print(
        "| photo | style | settings | seconds | style loss | content loss | colour moved |\n"
        "| --- | --- | --- | ---: | ---: | ---: | ---: |"
    )
    model = load("efficientnet-lite0")
    for pair in args.pairs:
        name, style_name = pair.split(":")
        image, style = photo(name, 512), codec.to_float(style_image(style_name))
        for label, values in (("old example", OLD_EXAMPLE), ("defaults", STYLE_DEFAULTS)):
            seconds, out = run(model, image, style, values, args.repeat)
            s, c = losses(model, out, image, style)
            moved = colour_move(image, style, out)
            print(
                f"| {name} | {style_name} | {label} | {seconds:.1f} | {s:.3f} | {c:.3f} | "
                f"{moved:.0%} |",
                flush=True,
            )


def default_times(args: argparse.Namespace) -> None:
    print("\n## The defaults' time per image (chelsea, painting style)\n")
    print("| model | size | seconds |\n| --- | --- | ---: |")
    style = codec.to_float(style_image("painting"))
    for name in args.models:
        model = load(name)
        for side in args.default_sizes:
            seconds, _ = run(model, photo("chelsea", side), style, STYLE_DEFAULTS, args.repeat)
            print(f"| {name} | {side} | {seconds:.1f} |", flush=True)


def figures(args: argparse.Namespace) -> None:
    """The README's pictures: the example at the defaults, and a strip of the options."""
    from PIL import Image

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    model = load("efficientnet-lite0")
    root = Path(__file__).resolve().parents[1]
    picture = codec.to_float(np.asarray(Image.open(root / "samples" / "chelsea.jpg")))
    painting = codec.to_float(style_image("painting"))
    brick = codec.to_float(style_image("brick"))
    h = picture.shape[0]

    def styled(extra: dict, style: object = painting) -> np.ndarray:
        params = engine.DreamParams.from_mapping({**STYLE_DEFAULTS, "seed": 1, **extra})
        started = time.perf_counter()
        image = engine.dream(model, picture, params, style=style).image
        print(f"{extra or 'defaults'}: {time.perf_counter() - started:.1f} s", flush=True)
        return codec.from_float(image, np.uint8)

    def fit(pixels: np.ndarray) -> np.ndarray:
        im = Image.fromarray(
            pixels if pixels.dtype == np.uint8 else codec.from_float(pixels, np.uint8)
        )
        return np.asarray(im.resize((round(im.width * h / im.height), h), Image.Resampling.LANCZOS))

    gap = np.full((h, 6, 3), 255, np.uint8)

    def strip(panels: list[np.ndarray], name: str) -> None:
        row = [p for panel in panels for p in (fit(panel), gap)][:-1]
        Image.fromarray(np.concatenate(row, axis=1)).save(out / name, quality=90)
        print(f"wrote {out / name}")

    strip([picture, painting, styled({})], "style-chelsea.jpg")
    strip(
        [
            styled({"style_scale": 0.5}),
            styled({"style_scale": 2.0}),
            styled({"keep_colors": True}),
            styled({"style_blend": [0.5, 0.5]}, [painting, brick]),
        ],
        "style-options.jpg",
    )


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    split = lambda kind: lambda text: [kind(v) for v in text.split(",")]  # noqa: E731
    p.add_argument("--models", type=split(str), default=["efficientnet-lite0", "googlenet"])
    p.add_argument("--sizes", type=split(int), default=[256, 512])
    p.add_argument("--budgets", type=split(int), default=[10, 20, 40])
    p.add_argument("--default-sizes", type=split(int), default=[512, 1024])
    p.add_argument(
        "--pairs", type=split(str), default=["chelsea:painting", "astronaut:brick", "coffee:gravel"]
    )
    p.add_argument("--repeat", type=int, default=1, help="runs per row, the fastest kept")
    p.add_argument(
        "--only", choices=("curves", "defaults", "times", "figures"), help="one part only"
    )
    p.add_argument("--out", default="docs", help="where --only figures writes (docs)")
    p.add_argument(
        "--threads",
        type=int,
        default=2,
        help="torch threads (2: the CI machine; 1 on a machine others load: two threads "
        "waiting on each other there cost many times the work)",
    )
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads")
    for table, fn in (("curves", curves), ("defaults", against_old), ("times", default_times)):
        if args.only in (None, table):
            fn(args)
    if args.only == "figures":
        figures(args)


if __name__ == "__main__":
    main()
