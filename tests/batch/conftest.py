"""dream-batch fixtures: real photos (scikit-image), odd files made on the spot (shared with
the codec's tests), quick flags."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest
from PIL import Image

from ..codec.odd_files import photo, write_bad_files, write_odd_images

os.environ.setdefault("DREAMD_OFFLINE", "1")

ROOT = Path(__file__).resolve().parents[2]

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


@pytest.fixture(scope="session")
def lite0_model():
    from dreamd import engine

    return engine.load_model("efficientnet-lite0", "cpu")


__all__ = ["QUICK", "ROOT", "photo", "run_cli", "write_bad_files", "write_odd_images"]

Maker = Callable[[Path], dict[str, dict[str, object]]]
