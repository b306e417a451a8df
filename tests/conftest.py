"""Shared fixtures: real models with real weights, real photos from scikit-image."""

from __future__ import annotations

import os

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

    from dreamd import engine

    return engine.to_float(data.chelsea())


@pytest.fixture(scope="session")
def small_cat(chelsea: np.ndarray) -> np.ndarray:
    """A 96×64 RGB crop-and-resize of chelsea: big enough to dream, cheap on a CPU."""
    from PIL import Image

    from dreamd import engine

    im = Image.fromarray(engine.from_float(chelsea, np.uint8)).resize((96, 64), Image.LANCZOS)
    return engine.to_float(np.asarray(im))
