"""What each of the engine's optimisations buys: the same dream with them removed one by one.

    python benchmarks/ablation.py [--size 512x512] [--model googlenet]

Each row runs in a fresh process (notebook defaults, seed 0) and removes one more
optimisation than the row above; the last row is benchmarks/engine_speed.py's plain
implementation. Removing is done by patching the engine before the model loads:

- space-to-depth stem: stem convolutions left as they are (engine/models/_space_to_depth.py)
- bf16: ``precision="fp32"``
- batch-norm folding: batch norms run as separate layers
- truncation: every stage of the network runs forward (the gradient still starts at the
  dream layer, as a forward hook on a full network would have it)
- whole-image tiles: the old fixed 1024-px tiles (only matters above 1024 px)
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time

STEPS = [
    ("dreamd (all on)", []),
    ("− space-to-depth stem", ["s2d"]),
    ("− bf16 (fp32)", ["s2d", "bf16"]),
    ("− batch-norm folding", ["s2d", "bf16", "fold"]),
    ("− truncation", ["s2d", "bf16", "fold", "trunc"]),
]


def run_one(model_name: str, width: int, height: int, off: list[str], tile: int | None) -> float:
    from dreamd import engine
    from dreamd.engine.models import _base

    if "s2d" in off:
        _base.recast_stem_convs = lambda module, pads_of: None  # type: ignore[assignment]
    if "fold" in off:
        _base.fold_batchnorms = lambda module: None  # type: ignore[assignment]
    if "trunc" in off:
        features = _base.DreamNet.features

        def full(self, x, layers):  # type: ignore[no-untyped-def]
            last = list(self.catalogue)[-1]
            return features(self, x, [*layers, last])[: len(layers)]

        _base.DreamNet.features = full  # type: ignore[method-assign]
    sys.path.insert(0, str(__import__("pathlib").Path(__file__).parent))
    import engine_speed

    model = engine_speed.load(model_name)
    img = engine_speed.photo(width, height)
    params = engine.DreamParams(seed=0, tile_size=tile)
    if "bf16" in off:
        params = params.with_(precision="fp32")
    engine.dream(model, img[:128, :128].copy(), params.with_(steps_per_octave=1))
    started = time.perf_counter()
    engine.dream(model, img, params)
    return time.perf_counter() - started


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", default="512x512")
    ap.add_argument("--model", default="googlenet")
    ap.add_argument("--one", help=argparse.SUPPRESS)
    ap.add_argument("--tile", type=int, help=argparse.SUPPRESS)
    args = ap.parse_args()
    w, h = (int(v) for v in args.size.split("x"))
    if args.one is not None:
        print(
            json.dumps(
                run_one(args.model, w, h, list(filter(None, args.one.split(","))), args.tile)
            )
        )
        return
    rows = list(STEPS)
    if max(w, h) > 1024:
        rows.insert(1, ("− whole-image tiles (1024-px tiles)", ["tile"]))
    print(f"{args.model} {w}x{h}, notebook defaults, seconds per dream")
    previous: float | None = None
    first = 0.0
    for label, off in rows:
        extra = ["--tile", "1024"] if "tile" in off else []
        out = subprocess.run(
            [
                sys.executable,
                __file__,
                "--size",
                args.size,
                "--model",
                args.model,
                "--one",
                ",".join(o for o in off if o != "tile"),
                *extra,
            ],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        seconds = json.loads(out.strip().splitlines()[-1])
        step = f"  ({seconds / previous:.2f}× the row above)" if previous else ""
        if "tile" in off:
            step = f"  ({seconds / first:.2f}× all on; the rows below keep whole-image tiles)"
        print(f"{label:<40}{seconds:>8.2f} s{step}", flush=True)
        if "tile" not in off:
            previous = seconds
        first = first or seconds


if __name__ == "__main__":
    main()
