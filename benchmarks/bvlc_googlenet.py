"""BVLC GoogLeNet (the Caffe network of the original DeepDream): dreamd against a plain
implementation of the same network, and what its LRN layers cost.

    python benchmarks/bvlc_googlenet.py [--sizes 512x512,1024x768] [--repeat 2]

Each dream is benchmarks/engine_speed.py's measurement, in a fresh process: the notebook's
defaults, seconds per dream, achieved GFLOP/s and its share of the machine's peak. The
plain implementation runs the whole network to the logits in fp32 and NCHW with a forward
hook on inception_4c/output, torch's ``F.local_response_norm``, the image in numpy. On a
shared machine each dream runs ``--repeat`` times, alternating, and the fastest is kept;
"per CPU s" is the share of the peak counted against the CPU time the dream was given.
LRN's cost: the share of full-size dream steps that torch's profiler finds in the two LRN
layers (forward and backward). Uses the cached weights when there are
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


def lrn_share(model: str, width: int, height: int, steps: int = 3) -> dict[str, float]:
    """Share of full-size dream steps (one octave, jitter 0) spent in the two LRN layers,
    forward and backward, from torch's profiler: a ratio of times within the same steps,
    so a busy machine slows both alike."""
    sys.path.insert(0, str(HERE))
    import engine_speed
    from torch.profiler import ProfilerActivity, profile

    from dreamd import engine

    m = engine_speed.load(model)
    img = engine_speed.photo(width, height)
    params = engine.DreamParams(octave_count=1, steps_per_octave=steps, jitter=0, seed=0)
    engine.dream(m, img, params)  # warm-up
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        engine.dream(m, img, params)
    events = prof.key_averages()
    total = sum(e.self_cpu_time_total for e in events)
    lrn = sum(e.cpu_time_total for e in events if e.key in ("_BandLRN", "_BandLRNBackward"))
    return {"share": lrn / total, "step_s": total / 1e6 / steps}


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
    gemm = engine_speed.gemm_gflops(precision)
    weights = rows[0]["dreamd"]["weights"] if rows else "-"
    threads = torch.get_num_threads()
    print(f"torch {torch.__version__}, {threads} threads")
    print(f"nominal peak {peak:.0f} GFLOP/s = {how}")
    print(f"measured ceiling {gemm:.0f} GFLOP/s = a 2048² {precision} matrix product")
    print(f"steps per octave: {engine_speed.DEFAULTS.steps_per_octave}; weights: {weights}")
    print(
        f"{'size':<10}{'dreamd s':>9}{'plain s':>9}{'speed-up':>9}{'GFLOP':>8}{'GFLOP/s':>9}"
        f"{'of peak':>8}{'of GEMM':>8}{'per CPU s':>10}{'LRN share':>10}  precision"
    )
    for row in rows:
        d, p, lrn = row["dreamd"], row["plain"], row["lrn"]
        ds, ps = _seconds(d), _seconds(p)
        flops = float(d["gflops"])  # type: ignore[arg-type]
        # the same share counted against the CPU time the dream got (the machine is shared)
        cpu_share = flops / float(d["cpu_seconds"]) / (peak / threads) * 100  # type: ignore[arg-type]
        print(
            f"{d['size']!s:<10}{ds:>9.2f}{ps:>9.2f}{ps / ds:>8.2f}×{flops:>8.0f}{flops / ds:>9.1f}"
            f"{flops / ds / peak * 100:>7.0f}%{flops / ds / gemm * 100:>7.0f}%{cpu_share:>9.0f}%"
            f"{float(lrn['share']) * 100:>9.0f}%"
            f"  {d['precision']}"
        )


def _seconds(m: dict[str, object]) -> float:
    return float(m["seconds"])  # type: ignore[arg-type]


if __name__ == "__main__":
    main()
