"""What scenarios send — tiny distinct jobs, video-like frames — and how a batch's outputs
are checked against a clean run's."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from ..batch import photo
from ..daemon import make_pixels

#: The cheapest dream there is.
TINY: dict[str, Any] = {"octave_count": 1, "steps_per_octave": 1}
#: dream-batch flags for load and fault runs: tiny, reproducible.
BATCH_FLAGS = ["--model", "efficientnet-lite0", "--device", "cpu", "--octave-count", "1",
               "--steps-per-octave", "2", "--seed", "5"]  # fmt: skip


#: Distinct tiny jobs: width, height, channels, wire dtype.
SPECS: list[tuple[int, int, int, str]] = [
    (32, 32, 3, "u8"),
    (48, 32, 4, "u8"),
    (32, 48, 1, "u16"),
    (40, 40, 2, "f32"),
    (64, 48, 3, "u16"),
    (32, 32, 4, "f32"),
    (48, 48, 1, "u8"),
    (64, 32, 3, "u8"),
]


def spec_pixels(k: int) -> np.ndarray:
    w, h, c, dtype = SPECS[k % len(SPECS)]
    return make_pixels(w, h, c, dtype, seed=k % len(SPECS))


def spec_params(k: int) -> dict[str, Any]:
    return {**TINY, "seed": 100 + k % len(SPECS)}


def make_frames(folder: Path, n: int) -> None:
    """``n`` video-like frames of real photos, 64×48, mixing what a batch meets: RGB PNG,
    RGBA PNG, grey PNG and RGB JPEG."""
    folder.mkdir(parents=True, exist_ok=True)
    base = photo("chelsea", (64, 48))
    gray = photo("camera", (64, 48))
    alpha = np.tile(np.linspace(0, 255, 64, dtype=np.uint8), (48, 1))
    for i in range(n):
        rgb = np.roll(base, 2 * i, axis=1)
        kind = i % 4
        if kind == 0:
            Image.fromarray(rgb).save(folder / f"{i:04d}.png")
        elif kind == 1:
            Image.fromarray(np.dstack([rgb, alpha])).save(folder / f"{i:04d}.png")
        elif kind == 2:
            Image.fromarray(np.roll(gray, i, axis=1)).save(folder / f"{i:04d}.png")
        else:
            Image.fromarray(rgb).save(folder / f"{i:04d}.jpg", quality=90)


@dataclass
class OutputCheck:
    """How a batch's outputs compare with a clean run's."""

    expected: int
    present: int = 0
    missing: list[str] = field(default_factory=list)
    broken: list[str] = field(default_factory=list)  # cannot be opened and decoded whole
    differ: list[str] = field(default_factory=list)  # size or mode not the clean run's
    identical: int = 0  # same pixels as the clean run
    hidden: list[str] = field(default_factory=list)  # temporary files left behind
    empty: list[str] = field(default_factory=list)

    @property
    def intact(self) -> bool:
        return not (self.broken or self.differ or self.hidden or self.empty)

    @property
    def complete(self) -> bool:
        return self.intact and not self.missing and self.present == self.expected


def check_outputs(dest: Path, clean: Path, require_all: bool = True) -> OutputCheck:
    """Every visible file in ``dest`` must decode whole and match the clean run's file of
    the same name in size and mode; with ``require_all`` none may be missing."""
    expected = sorted(p.name for p in clean.iterdir() if not p.name.startswith("."))
    check = OutputCheck(len(expected))
    names = sorted(os.listdir(dest)) if dest.exists() else []
    check.hidden = [n for n in names if n.startswith(".")]
    visible = [n for n in names if not n.startswith(".")]
    check.present = len(visible)
    if require_all:
        check.missing = sorted(set(expected) - set(visible))
    for name in visible:
        path = dest / name
        if path.stat().st_size == 0:
            check.empty.append(name)
            continue
        try:
            with Image.open(path) as im:
                im.load()
                got = (im.size, im.mode, np.asarray(im).tobytes())
        except Exception:
            check.broken.append(name)
            continue
        with Image.open(clean / name) as ref:
            want = (ref.size, ref.mode, np.asarray(ref).tobytes())
        if got[:2] != want[:2]:
            check.differ.append(name)
        elif got[2] == want[2]:
            check.identical += 1
    return check


def describe(check: OutputCheck) -> str:
    parts = [f"{check.present}/{check.expected} outputs"]
    if check.intact:
        parts.append("all complete, same size and mode as a clean run")
    parts.append(f"{check.identical} pixel-identical")
    for name in ("missing", "broken", "differ", "hidden", "empty"):
        items = getattr(check, name)
        if items:
            parts.append(f"{len(items)} {name}: {', '.join(items[:3])}")
    if not (check.hidden or check.empty):
        parts.append("0 partial files")
    return ", ".join(parts)


def batch_env() -> dict[str, str]:
    return {**os.environ, "DREAMD_OFFLINE": "1", "PYTHONUNBUFFERED": "1"}


def summary_of(proc: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    """The ``--json`` summary line of a dream-batch run ({} when there is none)."""
    for line in reversed(proc.stdout.splitlines()):
        if line.startswith("{"):
            with contextlib.suppress(ValueError):
                return dict(json.loads(line))
    return {}
