"""Shared fixtures: real models with real weights, real photos from scikit-image, the built
sdist and wheel."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

# Tests never reach for the network: googlenet weights come from files the tests write.
os.environ.setdefault("DREAMD_OFFLINE", "1")


@pytest.fixture(scope="session")
def lite0():
    from dreamd import engine

    return engine.load_model("efficientnet-lite0", "cpu")


@pytest.fixture(scope="session")
def chelsea() -> np.ndarray:
    from skimage import data

    from dreamd import codec

    return codec.to_float(data.chelsea())


@pytest.fixture(scope="session")
def small_cat(chelsea: np.ndarray) -> np.ndarray:
    """A 96×64 RGB crop-and-resize of chelsea: big enough to dream, cheap on a CPU."""
    from PIL import Image

    from dreamd import codec

    im = Image.fromarray(codec.from_float(chelsea, np.uint8)).resize((96, 64), Image.LANCZOS)
    return codec.to_float(np.asarray(im))


@pytest.fixture(scope="session")
def dist(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """``python -m build``: (sdist, wheel), the wheel built from the sdist (so the sdist is
    known to hold everything). Built from a copy: setuptools leaves build/ and *.egg-info
    beside the sources. ``--no-isolation`` uses this venv's setuptools (no download)."""
    tmp = tmp_path_factory.mktemp("dist")
    root = Path(__file__).resolve().parents[1]
    source = tmp / "source"
    skip = shutil.ignore_patterns(
        ".git", ".venv", "build", "dist", "*.egg-info", "__pycache__", "node_modules", ".*cache"
    )
    shutil.copytree(root, source, symlinks=True, ignore=skip)
    done = subprocess.run(
        [sys.executable, "-m", "build", "--no-isolation", "--outdir", str(tmp), str(source)],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    (sdist,) = tmp.glob("dreamd-*.tar.gz")
    (wheel,) = tmp.glob("dreamd-*.whl")
    return sdist, wheel
