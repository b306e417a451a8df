"""Big photos as the GIMP plug-in dreams them: the estimate's error, the time to the first
live preview, and a 24-megapixel photo with 4 octaves, ``auto`` octaves and a detail size.

    python benchmarks/gimp_big.py [--steps 2] [--device cpu] [--model efficientnet-lite0]
                                  [--skip-24mp] [--sizes 0.25,0.5,1,2,4]

It starts its own dreamd and talks to it with the plug-in's own requests (protocol 1.1:
``estimate``; a ``dream`` with ``preview``), on a photo made by scaling samples/chelsea.jpg.

- **Estimate error**: for each size (megapixels), the daemon's estimate, asked before the
  dream, against the dream's own time (``timings.dream``), with ``--steps`` steps per octave
  and auto octaves. The first estimate starts the daemon's calibration; the figures are
  taken after it, and every finished dream refines the speed (as in GIMP).
- **First preview**: seconds from sending the dream to the first ``progress`` carrying a
  picture, for 1 MP and 24 MP at the defaults (10 steps, auto octaves); the dream is then
  cancelled. It includes sending the pixels (24 MP: 288 MB as 16-bit RGB… here 8-bit, 72 MB).
- **24 MP**: the dream at 4 octaves (the old default), at ``auto`` and at ``auto`` with
  ``detail_size`` 2048, each run with ``--steps`` steps per octave; the daemon's estimate for
  the defaults (10 steps) is printed next to it. A whole 24 MP dream at 10 steps takes
  minutes on two CPU cores (more with a bigger network), hence the short runs by default;
  ``--steps 10`` runs the defaults. ``--save DIR`` keeps those results.

The machine this runs on may be shared: times swing with the load. Run it when the machine
is quiet and say so with the numbers.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from dreamd import protocol  # noqa: E402
from harness.daemon import start_daemon  # noqa: E402

PHOTO = HERE.parent / "samples" / "chelsea.jpg"


def photo(megapixels: float) -> protocol.Image:
    """samples/chelsea.jpg scaled (bicubic) to about ``megapixels``, 3:2."""
    w = round((megapixels * 1e6 * 1.5) ** 0.5)
    h = round(w / 1.5)
    img = Image.open(PHOTO).convert("RGB").resize((w, h), Image.BICUBIC)
    return protocol.Image.raw(np.asarray(img).tobytes(), w, h, 3, "u8")


def estimate_error(client: protocol.Client, sizes: list[float], steps: int) -> None:
    params = {"steps_per_octave": steps, "seed": 1}
    print(f"\nestimate against the dream's time ({steps} steps per octave, auto octaves)")
    print(f"{'MP':>6} {'size':>11} {'octaves':>7} {'estimate s':>10} {'dream s':>8} {'error':>7}")
    for mp in sizes:
        picture = photo(mp)
        est = client.estimate(picture.width, picture.height, params)
        result = client.dream(picture, params)
        real = result.timings["dream"]
        error = (est.seconds - real) / real if est.seconds else float("nan")
        print(
            f"{mp:6.2f} {picture.width:>5}×{picture.height:<5} {len(est.octaves):7d} "
            f"{est.seconds or float('nan'):10.2f} {real:8.2f} {error:+7.0%}"
        )


class _Seen(Exception):
    """Raised from the progress callback once the first preview is in."""


def first_preview(client: protocol.Client, mp: float) -> None:
    picture = photo(mp)
    start = time.perf_counter()
    seen: dict[str, float] = {}

    def on_progress(p: protocol.Progress) -> None:
        if p.preview is not None and "t" not in seen:
            seen["t"] = time.perf_counter() - start
            raise _Seen  # cancels the job: nothing more is needed

    with contextlib.suppress(_Seen):
        client.dream(picture, {"seed": 1}, on_progress=on_progress, preview=protocol.Preview())
    took = seen.get("t", float("nan"))
    print(f"first preview, {mp:g} MP ({picture.width}×{picture.height}): {took:.2f} s")


def big(client: protocol.Client, steps: int, save: Path | None = None) -> None:
    picture = photo(24)
    print(f"\n24 MP ({picture.width}×{picture.height}), {steps} steps per octave")
    print(f"{'octaves':<26} {'plan':>8} {'dream s':>8} {'estimate at 10 steps':>22}")
    for label, extra in (
        ("4 (the old default)", {"octave_count": 4}),
        ("auto", {"octave_count": "auto"}),
        ("auto, detail size 2048", {"octave_count": "auto", "detail_size": 2048}),
    ):
        params = {"steps_per_octave": steps, "seed": 1, **extra}
        defaults = client.estimate(
            picture.width, picture.height, {**params, "steps_per_octave": 10}
        )
        result = client.dream(picture, params)
        if save is not None:
            save.mkdir(parents=True, exist_ok=True)
            out = Image.frombytes("RGB", (result.image.width, result.image.height),
                                  bytes(result.image.data))  # fmt: skip
            name = label.split(" ")[0].rstrip(",")
            out.save(save / f"big-{name}{'-detail' if 'detail_size' in extra else ''}.png")
        plan = f"{len(defaults.octaves)} oct"
        at10 = f"{defaults.seconds / 60:.1f} min" if defaults.seconds else "-"
        print(f"{label:<26} {plan:>8} {result.timings['dream']:8.1f} {at10:>22}")


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--steps", type=int, default=2)
    ap.add_argument("--sizes", default="0.25,0.5,1,2,4")
    ap.add_argument("--skip-24mp", action="store_true")
    ap.add_argument("--save", type=Path, help="save the 24 MP results (PNG) in this folder")
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="gimp-big-") as tmp:
        daemon = start_daemon(
            Path(tmp), extra=["--max-pixels", "30000000", "--max-encoded-mb", "512"]
        )
        try:
            timeout = protocol.Timeout(connect=10, reply=600)
            with protocol.Client(daemon.endpoint, timeout=timeout) as client:
                deadline = time.monotonic() + 120
                while client.estimate(640, 480, {}).seconds is None:  # calibrating
                    if time.monotonic() > deadline:
                        raise SystemExit("the daemon never measured its speed")
                    time.sleep(0.5)
                estimate_error(client, [float(s) for s in args.sizes.split(",")], args.steps)
                print()
                first_preview(client, 1)
                if not args.skip_24mp:
                    first_preview(client, 24)
                    big(client, args.steps, args.save)
        finally:
            daemon.terminate()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
