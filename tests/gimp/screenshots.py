"""Screenshots of the plug-in for the README, taken in real GIMP 3 under Xvfb:

    python tests/gimp/screenshots.py [--out docs] [--photo samples/chelsea.jpg]

writes ``gimp-dialog.png`` (the dialog), ``gimp-preview.png`` (the dream forming on the
canvas, with the progress window) and ``gimp-result.png`` (the result in the Layers
dialog), from the photo scaled up (``--scale``, 4: the samples are 320 pixels wide).
It starts its own dreamd (efficientnet-lite0 on the CPU) and GIMP profile in a temporary
folder, like the tests (root, see conftest.py), and takes a minute or two.
Look at the pictures before committing them.
"""

from __future__ import annotations

import argparse
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
sys.path[:0] = [str(HERE), str(REPO)]

from gimprunner import GimpRunner, dreamd_cli  # noqa: E402
from guirun import run_gui  # noqa: E402

#: Dialog settings for the pictures: the default layer, a few steps so the preview is seen.
SETTINGS = {"steps-per-octave": 20, "step-size": 1.5, "seed": 4}


def _daemon(share: Path) -> tuple[subprocess.Popen[bytes], str]:
    run = share / "run"
    run.mkdir(mode=0o700)
    endpoint = f"ipc://{run}/dreamd.sock"
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO)
    cmd = [sys.executable, "-m", "dreamd.daemon", "serve", "--bind", endpoint,
           "--model", "efficientnet-lite0", "--device", "cpu"]  # fmt: skip
    log = open(share / "dreamd.log", "wb")  # noqa: SIM115 (the daemon keeps it)
    proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 180
    while b" ready: " not in (share / "dreamd.log").read_bytes():
        if proc.poll() is not None or time.monotonic() > deadline:
            raise SystemExit((share / "dreamd.log").read_text(errors="replace"))
        time.sleep(0.3)
    return proc, endpoint


def _scaled(src: Path, dst: Path, scale: float) -> None:
    """The sample photos are 320 pixels wide: scaled up, the canvas shows the dream forming."""
    from PIL import Image

    img = Image.open(src).convert("RGB")
    img.resize((round(img.width * scale), round(img.height * scale)), Image.BICUBIC).save(dst)


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, default=REPO / "docs")
    ap.add_argument("--photo", type=Path, default=REPO / "samples" / "chelsea.jpg")
    ap.add_argument("--scale", type=float, default=4.0, help="scale the photo first (4)")
    ap.add_argument("--keep", action="store_true", help="keep the work folder")
    args = ap.parse_args(argv)
    gimp = GimpRunner.setup()
    share = Path(tempfile.mkdtemp(prefix="dg-shots-", dir="/tmp"))
    share.chmod(0o755)
    proc, endpoint = _daemon(share)
    try:
        profile = share / "profile"
        profile.mkdir()
        res = dreamd_cli(
            "gimp", "install", "--gimp-dir", str(profile),
            "--gimp-python", shlex.join(gimp.python_command([share])),
        )  # fmt: skip
        if res.returncode != 0:
            raise SystemExit(res.stdout + res.stderr)
        photo = share / (args.photo.stem + ".png")
        _scaled(args.photo, photo, args.scale)
        runs = [{"input": str(photo), "preset": SETTINGS}]
        steps = [
            {
                "window": "^DeepDream$",
                "delay": 2.5,  # the estimate arrives
                "do": [
                    ["resize", "GIMP$ 1280 800"],
                    ["sleep", 0.5],
                    ["drag", "1046 410 860 410"],  # a wider Layers dock: names readable
                    ["key_to", "GIMP$ shift+ctrl+j"],  # zoom the image to fit the window
                    ["move", "^DeepDream$ 760 40"],
                    ["sleep", 0.5],
                    ["shot", "{work}/gimp-dialog.png"],
                    ["key", "alt+o"],
                ],
            },
            {
                "window": "^DeepDream — dreaming$",
                "do": [
                    ["move", "^DeepDream — dreaming$ 560 640"],
                    ["wait_name", r"\(.*2 layers\)"],
                    ["sleep", 2.0],
                    ["shot_root", "{work}/gimp-preview.png"],
                ],
            },
            {
                "wait_file": "{work}/hold",
                "delay": 1.5,
                "do": [["shot_root", "{work}/gimp-result.png"], ["touch", "{work}/release"]],
            },
        ]
        run = run_gui(
            gimp, share, profile, endpoint, "shots", runs, steps, hold=True, timeout=600,
            screen="1280x800",
        )  # fmt: skip
        print(run.report)
        args.out.mkdir(exist_ok=True)
        for name in ("gimp-dialog.png", "gimp-preview.png", "gimp-result.png"):
            shot = run.work / name
            if not shot.exists():
                print(run.output[-4000:])
                raise SystemExit(f"no {name}")
            shutil.copy(shot, args.out / name)
            print("wrote", args.out / name)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        gimp.remove_mountpoint(share)
        if not args.keep:
            shutil.rmtree(share, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
