"""dream-batch with the Caffe network from the users' files: caffemodels in both layouts and
neural-dream's .pth (random weights: the real file cannot be downloaded here), a 16-bit PNG
in and out, files refused by name, and ``dreamd fetch-weights --from`` then ``auto``."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest

from dreamd import codec
from dreamd.batch._imageio import read_image, read_params
from dreamd.batch.cli import main
from dreamd.daemon.cli import main as dreamd_main

from ..engine import caffe_nets as cn
from .conftest import photo

CHEAP = ["--device", "cpu", "--embedded", "--octave-count", "1", "--steps-per-octave", "1",
         "--seed", "3"]  # fmt: skip


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("bvlc")
    layers = cn.random_layers()
    return {
        "legacy": cn.write_caffemodel(d / "bvlc_googlenet.caffemodel", layers, legacy=True),
        "current": cn.write_caffemodel(d / "current.caffemodel", layers, legacy=False),
        "pth": cn.write_neural_dream_pth(d / "bvlc_googlenet.pth", layers),
    }


@pytest.fixture
def deep16(tmp_path: Path) -> Path:
    src = tmp_path / "in"
    src.mkdir()
    rgb = photo("chelsea", (96, 64)).astype(np.uint16) * 257
    rgb += np.random.default_rng(0).integers(0, 200, rgb.shape, dtype=np.uint16)
    info = codec.ImageInfo.plain("PNG", 3, 16, (96, 64))
    codec.write(codec.to_float(rgb), info, src / "deep16.png")
    return src


def test_every_file_form_dreams_a_16_bit_png_alike(files, deep16: Path, tmp_path, capsys):
    images = {}
    for form, weights in files.items():
        out = tmp_path / form
        args = ["-s", str(deep16), "-d", str(out), "--model", "bvlc-googlenet"]
        assert main([*args, "--weights", str(weights), *CHEAP]) == 0, capsys.readouterr()
        assert "bvlc-googlenet on cpu" in capsys.readouterr().out
        back = read_image(out / "deep16.png")
        assert (back.info.depth, back.info.channels) == (16, 3)
        meta = read_params(out / "deep16.png")
        assert meta is not None and meta["model"] == "bvlc-googlenet"
        assert meta["weights_sha256"] == hashlib.sha256(weights.read_bytes()).hexdigest()
        images[form] = back.pixels
    np.testing.assert_array_equal(images["legacy"], images["current"])
    np.testing.assert_array_equal(images["legacy"], images["pth"])
    original = read_image(deep16 / "deep16.png").pixels
    assert np.abs(images["legacy"] - original).mean() > 1 / 255


def test_list_layers_of_the_caffe_network(files, capsys):
    assert main(["--list-layers", "--weights", str(files["pth"]), "--device", "cpu"]) == 0
    out = capsys.readouterr().out
    assert "bvlc-googlenet (default layer: inception_4c/output)" in out
    for blob in ("conv2/norm2", "inception_4d/5x5_reduce", "inception_5b/output"):
        assert blob in out


def _bad_files(files: dict[str, Path], folder: Path) -> dict[str, tuple[Path, str]]:
    folder.mkdir()
    data = files["legacy"].read_bytes()
    cut = folder / "cut.caffemodel"
    cut.write_bytes(data[: len(data) // 2])
    foreign = folder / "notes.caffemodel"
    foreign.write_text("these are not weights\n" * 50)
    wrong = [
        (n, k, [np.zeros((64, 24, 3, 3), np.float32), b[1]] if n == "inception_4c/5x5" else b)
        for n, k, b in cn.random_layers()
    ]
    shape = cn.write_caffemodel(folder / "wrong.caffemodel", wrong, legacy=True)
    return {
        "cut": (cut, "cut short"),
        "foreign": (foreign, "not weights"),
        "shape": (shape, "inception_4c/5x5"),
    }


def test_bad_weights_are_refused_by_name_and_nothing_is_written(
    files, deep16: Path, tmp_path: Path, capsys
):
    for _kind, (path, why) in _bad_files(files, tmp_path / "bad").items():
        out = tmp_path / f"out-{path.stem}"
        args = ["-s", str(deep16), "-d", str(out), "--model", "bvlc-googlenet"]
        assert main([*args, "--weights", str(path), *CHEAP]) != 0
        err = capsys.readouterr().err
        assert str(path) in err and why in err, err
        assert not out.exists() or not any(out.iterdir())


def test_fetch_from_a_file_then_auto_uses_it(files, deep16, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    assert dreamd_main(["fetch-weights", "--from", str(files["legacy"])]) == 0
    assert "bvlc-googlenet" in capsys.readouterr().out
    assert main(["-s", str(deep16), "-d", str(tmp_path / "out"), *CHEAP]) == 0
    out = capsys.readouterr().out
    assert "bvlc-googlenet on cpu" in out
    assert read_params(tmp_path / "out" / "deep16.png")["model"] == "bvlc-googlenet"  # type: ignore[index]
