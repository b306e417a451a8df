"""dream-batch fixtures: real photos (scikit-image), odd files made on the spot (shared with
the codec's tests), quick flags."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest
from PIL import Image

from harness.batch import ROOT, run_cli

from ..codec.odd_files import photo, write_bad_files, write_odd_images

os.environ.setdefault("DREAMD_OFFLINE", "1")

#: Flags that keep a dream cheap on a shared CPU.
QUICK = ["--model", "efficientnet-lite0", "--device", "cpu", "--octave-count", "2",
         "--steps-per-octave", "2", "--seed", "3"]  # fmt: skip


@pytest.fixture(autouse=True)
def no_default_daemon(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory):
    """Tests run embedded unless they say otherwise: a daemon someone left at the default
    endpoint must not take part."""
    absent = tmp_path_factory.getbasetemp() / "no-dreamd.sock"
    monkeypatch.setenv("DREAMD_ENDPOINT", f"ipc://{absent}")


@pytest.fixture
def odd_images(tmp_path: Path) -> tuple[Path, dict[str, dict[str, object]]]:
    src = tmp_path / "in"
    return src, write_odd_images(src)


@pytest.fixture
def photos(tmp_path: Path) -> Path:
    """Three small real photos as JPEG/PNG."""
    src = tmp_path / "photos"
    src.mkdir()
    Image.fromarray(photo("chelsea")).save(src / "a_chelsea.jpg", quality=90)
    Image.fromarray(photo("astronaut", (48, 48))).save(src / "b_astronaut.png")
    Image.fromarray(photo("coffee")).save(src / "c_coffee.jpg", quality=90)
    return src


@pytest.fixture(scope="session")
def lite0_model():
    from dreamd import engine

    return engine.load_model("efficientnet-lite0", "cpu")


__all__ = ["QUICK", "ROOT", "photo", "run_cli", "write_bad_files", "write_odd_images"]

Maker = Callable[[Path], dict[str, dict[str, object]]]
