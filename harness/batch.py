"""dream-batch as a user runs it: ``python -m dreamd.batch`` in a subprocess, on real
photos (scikit-image's samples, resized small)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]


def photo(name: str = "chelsea", size: tuple[int, int] = (64, 48)) -> np.ndarray:
    """A real photo from scikit-image, resized: uint8 (H, W, 3) (or (H, W) for camera)."""
    from skimage import data

    arr = getattr(data, name)()
    return np.asarray(Image.fromarray(arr).resize(size, Image.Resampling.LANCZOS))


def run_cli(
    args: Sequence[str], timeout: float = 180, **kw: object
) -> subprocess.CompletedProcess[str]:
    """``python -m dreamd.batch ARGS`` in a subprocess, from the repository root."""
    env = {**os.environ, "DREAMD_OFFLINE": "1", "PYTHONUNBUFFERED": "1"}
    return subprocess.run(
        [sys.executable, "-m", "dreamd.batch", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        **kw,  # type: ignore[arg-type]
    )
