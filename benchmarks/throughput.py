"""What the daemon and dream-batch add around a dream.

    python benchmarks/throughput.py [--frames 100] [--frame-size 320x180] [--size 1024x768]

1. Protocol overhead: a real ``dreamd`` (GoogLeNet, to inception_4c/output — random weights
   when the real ones are not cached: same FLOPs) dreams a WxH RGB image for a client over
   ipc. The client's wall time is split into the daemon's own dream time (from the
   result's ``timings``) and everything else: serialisation, transfer, queueing, decoding
   and encoding. The same dream in-process is timed too.
2. dream-batch over N video-like frames (a slow pan over a photo, JPEG), embedded, the same
   GoogLeNet: images per minute and the fraction of the wall time the engine is busy
   dreaming (decoding, encoding and writing overlap it).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from dreamd import codec, engine, protocol

DEFAULTS = engine.DreamParams(seed=0)


def _googlenet_weights(tmp: Path) -> Path | None:
    """The real weights when cached; else a random state dict (same architecture)."""
    try:
        return engine.googlenet_weights_path(allow_download=False)
    except engine.WeightsError:
        from torchvision.models import GoogLeNet

        torch.manual_seed(0)
        path = tmp / "googlenet-random.pth"
        torch.save(GoogLeNet(aux_logits=False, init_weights=False).state_dict(), path)
        return path


def _photo(width: int, height: int) -> np.ndarray:
    from PIL import Image
    from skimage import data

    return np.asarray(Image.fromarray(data.chelsea()).resize((width, height), Image.LANCZOS))


def protocol_overhead(width: int, height: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        weights = _googlenet_weights(tmp)
        endpoint = f"ipc://{tmp}/dreamd.sock"
        env = dict(os.environ, DREAMD_OFFLINE="1")
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "dreamd.daemon",
                "serve",
                "--bind",
                endpoint,
                "--model",
                "googlenet",
                "--weights",
                str(weights),
                "--device",
                "cpu",
            ],
            env=env,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            assert proc.stderr is not None
            for line in proc.stderr:
                if " ready" in line:
                    break
            pixels = _photo(width, height)
            image = protocol.Image.raw(pixels.tobytes(), width, height, 3, "u8")
            params = DEFAULTS.as_dict()
            params.pop("style_layers", None)
            params = {k: v for k, v in params.items() if k in protocol.DREAM_PARAMS}
            params["layers"] = ["inception_4c/output"]
            timeout = protocol.Timeout(reply=60)
            with protocol.Client(endpoint, timeout=timeout) as client:
                client.dream(image, dict(params, steps_per_octave=1))  # warm-up
                started = time.perf_counter()
                result = client.dream(image, params)
                wall = time.perf_counter() - started
        finally:
            proc.terminate()
            proc.wait(30)
        model = engine.load_model("googlenet", "cpu", weights=weights)
        engine.dream(model, codec.to_float(pixels), DEFAULTS.with_(steps_per_octave=1))
        started = time.perf_counter()
        engine.dream(model, codec.to_float(pixels), DEFAULTS)
        local = time.perf_counter() - started
    dream = float(result.timings["dream"])
    return {
        "client_wall": wall,
        "daemon_dream": dream,
        "overhead": wall - dream,
        "share": (wall - dream) / wall,
        "in_process": local,
        "queued": float(result.timings["queued"]),
    }


def batch_busy(frames: int, width: int, height: int) -> dict[str, float]:
    """Run dream-batch in this process with engine.dream wrapped to add up its time."""
    from PIL import Image

    from dreamd.batch import cli as batch_cli

    busy = [0.0]
    real = engine.dream

    def timed(*args, **kwargs):  # type: ignore[no-untyped-def]
        t = time.perf_counter()
        try:
            return real(*args, **kwargs)
        finally:
            busy[0] += time.perf_counter() - t

    with tempfile.TemporaryDirectory() as d:
        weights = _googlenet_weights(Path(d))
        src, dst = Path(d) / "frames", Path(d) / "out"
        src.mkdir()
        base = _photo(width + frames, height)
        for i in range(frames):  # a slow pan: a video's frames
            Image.fromarray(base[:, i : i + width]).save(src / f"frame{i:04d}.jpg", quality=92)
        engine.dream = timed  # type: ignore[assignment]
        try:
            started = time.perf_counter()
            code = batch_cli.main(
                [
                    "-s",
                    str(src),
                    "-d",
                    str(dst),
                    "--embedded",
                    "--quiet",
                    "--model",
                    "googlenet",
                    "--weights",
                    str(weights),
                    "--seed",
                    "1",
                ]
            )
            wall = time.perf_counter() - started
        finally:
            engine.dream = real  # type: ignore[assignment]
        assert code == 0 and len(list(dst.iterdir())) == frames
    return {
        "frames": frames,
        "wall": wall,
        "busy": busy[0],
        "fraction": busy[0] / wall,
        "per_minute": frames / wall * 60,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", default="1024x768")
    ap.add_argument("--frames", type=int, default=100)
    ap.add_argument("--frame-size", default="320x180")
    ap.add_argument("--part", choices=["protocol", "batch"], help=argparse.SUPPRESS)
    args = ap.parse_args()
    w, h = (int(v) for v in args.size.split("x"))
    fw, fh = (int(v) for v in args.frame_size.split("x"))
    if args.part:
        part = (
            protocol_overhead(w, h) if args.part == "protocol" else batch_busy(args.frames, fw, fh)
        )
        print(json.dumps(part))
        return
    # Each part in a fresh process: torch work on two threads of one process would slow
    # both (see batch/_runner.py, EmbeddedRunner).
    p, b = (_part(name) for name in ("protocol", "batch"))
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads")
    print(
        f"protocol, googlenet {w}x{h}: client wall {p['client_wall']:.2f} s, daemon dream "
        f"{p['daemon_dream']:.2f} s, queued {p['queued'] * 1000:.1f} ms, everything else "
        f"{p['overhead'] * 1000:.0f} ms = {p['share'] * 100:.2f} % "
        f"(in-process dream: {p['in_process']:.2f} s)"
    )
    print(
        f"dream-batch, {b['frames']:.0f} frames {fw}x{fh}, googlenet, embedded: "
        f"{b['wall']:.1f} s, {b['per_minute']:.0f} images/min, engine busy "
        f"{b['fraction'] * 100:.1f} % of the wall time"
    )


def _part(name: str) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, __file__, *sys.argv[1:], "--part", name],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return json.loads(out.strip().splitlines()[-1])  # type: ignore[no-any-return]


if __name__ == "__main__":
    main()
