"""BVLC GoogLeNet (the Caffe network of the original DeepDream): dreamd against a plain
implementation of the same network, and what its LRN layers cost.

    python benchmarks/bvlc_googlenet.py [--sizes 512x512,1024x768] [--repeat 2]

Each dream is benchmarks/engine_speed.py's measurement, in a fresh process: the notebook's
defaults, seconds per dream, achieved GFLOP/s and its share of the machine's peak. The
plain implementation runs the whole network to the logits in fp32 and NCHW with a forward
hook on inception_4c/output, torch's ``F.local_response_norm``, the image in numpy. On a
shared machine each dream runs ``--repeat`` times, alternating, and the fastest is kept.
LRN's cost: in one process, the fastest of several full-size dream steps with both LRN
layers on and replaced by the identity, in turn. Uses the cached weights when there are
some (``dreamd fetch-weights bvlc-googlenet``), else random ones (same speed).
``DREAMD_BENCH_STEPS=2`` shortens every dream alike for a quick look.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def _one(*args: str) -> dict[str, object]:
    out = subprocess.run(
        [sys.executable, __file__, *args], check=True, capture_output=True, text=True
    ).stdout
    return json.loads(out.strip().splitlines()[-1])  # type: ignore[no-any-return]


def _measure(model: str, width: int, height: int, impl: str) -> dict[str, object]:
    sys.path.insert(0, str(HERE))
    import engine_speed

    return engine_speed.measure(model, width, height, impl)


def lrn_share(model: str, width: int, height: int, rounds: int = 5) -> dict[str, float]:
    """Fastest full-size dream step (one octave, jitter 0) with LRN on and off, in turn."""
    sys.path.insert(0, str(HERE))
    import time

    import engine_speed

    from dreamd import engine
    from dreamd.engine.models import bvlc_googlenet

    m = engine_speed.load(model)
    img = engine_speed.photo(width, height)
    params = engine.DreamParams(octave_count=1, steps_per_octave=2, jitter=0, seed=0)
    engine.dream(m, img, params)  # warm-up
    real = bvlc_googlenet.CaffeLRN.forward
    best = {"on": float("inf"), "off": float("inf")}
    for _ in range(rounds):
        for state in ("on", "off"):
            bvlc_googlenet.CaffeLRN.forward = real if state == "on" else lambda self, x: x  # type: ignore[method-assign,assignment]
            started = time.perf_counter()
            engine.dream(m, img, params)
            best[state] = min(best[state], (time.perf_counter() - started) / 2)
    bvlc_googlenet.CaffeLRN.forward = real  # type: ignore[method-assign]
    return best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="512x512,1024x768")
    ap.add_argument("--model", default="bvlc-googlenet")
    ap.add_argument("--repeat", type=int, default=2, help="runs of each dream (fastest kept)")
    ap.add_argument("--one", nargs=4, metavar=("MODEL", "W", "H", "IMPL"), help=argparse.SUPPRESS)
    ap.add_argument("--lrn", nargs=3, metavar=("MODEL", "W", "H"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.one:
        name, w, h, impl = args.one
        print(json.dumps(_measure(name, int(w), int(h), impl)))
        return
    if args.lrn:
        name, w, h = args.lrn
        print(json.dumps(lrn_share(name, int(w), int(h))))
        return
    sys.path.insert(0, str(HERE))
    import engine_speed
    import torch

    rows = []
    for size in filter(None, args.sizes.split(",")):
        w, h = size.split("x")
        row: dict[str, dict[str, object]] = {}
        for _ in range(args.repeat):
            for impl in ("dreamd", "plain"):
                got = _one("--one", args.model, w, h, impl)
                if impl not in row or _seconds(got) < _seconds(row[impl]):
                    row[impl] = got
        row["lrn"] = _one("--lrn", args.model, w, h)
        rows.append(row)
        print(f"done {size}", file=sys.stderr)
    precision = str(rows[0]["dreamd"]["precision"]) if rows else "fp32"
    peak, how = engine_speed.cpu_peak_gflops(precision)
    weights = rows[0]["dreamd"]["weights"] if rows else "-"
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads")
    print(f"peak {peak:.0f} GFLOP/s = {how}")
    print(f"steps per octave: {engine_speed.DEFAULTS.steps_per_octave}; weights: {weights}")
    print(
        f"{'size':<10}{'dreamd s':>9}{'plain s':>9}{'speed-up':>9}{'GFLOP':>8}{'GFLOP/s':>9}"
        f"{'of peak':>8}{'step, LRN on/off':>18}{'LRN cost':>9}  precision"
    )
    for row in rows:
        d, p, lrn = row["dreamd"], row["plain"], row["lrn"]
        ds, ps = _seconds(d), _seconds(p)
        flops = float(d["gflops"])  # type: ignore[arg-type]
        on, off = float(lrn["on"]), float(lrn["off"])  # type: ignore[arg-type]
        print(
            f"{d['size']!s:<10}{ds:>9.2f}{ps:>9.2f}{ps / ds:>8.2f}×{flops:>8.0f}{flops / ds:>9.1f}"
            f"{flops / ds / peak * 100:>7.0f}%{on:>11.3f}/{off:.3f}s{(on - off) / on * 100:>8.0f}%"
            f"  {d['precision']}"
        )


def _seconds(m: dict[str, object]) -> float:
    return float(m["seconds"])  # type: ignore[arg-type]


if __name__ == "__main__":
    main()
