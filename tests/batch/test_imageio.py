"""dream-batch's side of the codec: its limits, its errors, parameters recorded in every
output and read back, output names. (Reading and writing every kind of file is tested
with the codec, in tests/codec.)"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from dreamd import batch, codec
from dreamd.batch._errors import ImageTooLarge, UnreadableImage, WriteFailed
from dreamd.batch._imageio import (
    Limits,
    output_format,
    output_rel,
    read_image,
    read_params,
    write_image,
)

from .conftest import photo, write_bad_files, write_odd_images

PARAMS = {"tool": "dream-batch", "model": "efficientnet-lite0", "seed": 5, "source": "x"}


@pytest.fixture(scope="module")
def odd(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, dict[str, object]]]:
    folder = tmp_path_factory.mktemp("odd")
    return folder, write_odd_images(folder)


def test_parameters_are_recorded_and_parse_back(odd, tmp_path):
    folder, expect = odd
    for name in expect:
        loaded = read_image(folder / name)
        dest = tmp_path / name
        notes = write_image(loaded.pixels, loaded.info, dest, params=PARAMS)
        with Image.open(dest) as out, Image.open(folder / name) as src:
            assert (out.format, out.size) == (src.format, expect[name]["size"]), name
        if output_format(dest) == "BMP":
            assert any("metadata" in n for n in notes)
            assert read_params(dest) is None
            continue
        assert read_params(dest) == PARAMS, name
        assert batch.read_params(dest) == PARAMS, name


def test_a_dream_of_a_dream_records_only_its_own_parameters(tmp_path):
    first = tmp_path / "first.png"
    Image.fromarray(photo()).save(first)
    loaded = read_image(first)
    write_image(loaded.pixels, loaded.info, tmp_path / "second.png", params=PARAMS)
    again = read_image(tmp_path / "second.png")
    assert "dream-batch" not in again.info.texts
    write_image(again.pixels, again.info, tmp_path / "third.png")
    assert read_params(tmp_path / "third.png") is None


def test_bad_files_are_refused_with_a_reason_naming_the_file(tmp_path):
    for name, word in write_bad_files(tmp_path).items():
        with pytest.raises((UnreadableImage, ImageTooLarge)) as info:
            read_image(tmp_path / name)
        assert word in info.value.reason, (name, info.value.reason)
        assert info.value.path == tmp_path / name
    with pytest.raises(UnreadableImage, match="no such file"):
        read_image(tmp_path / "missing.png")
    with pytest.raises(UnreadableImage):
        read_params(tmp_path / "missing.png")


def test_absurd_sizes_are_refused_before_decoding(tmp_path):
    path = tmp_path / "long.png"
    Image.new("RGB", (4000, 1)).save(path)
    limits = Limits(max_pixels=1_000_000)
    # 4000×1 is tiny, but dreaming needs a short side of ~64 px: 64×256000 pixels
    with pytest.raises(ImageTooLarge, match="upscaled"):
        read_image(path, limits)
    Image.new("RGB", (2000, 1000)).save(path)
    with pytest.raises(ImageTooLarge, match="megapixels"):
        read_image(path, limits)
    # over the codec's default limit, but dream-batch's --max-megapixels decides
    assert codec.DEFAULT_MAX_PIXELS < 200_000_000
    assert read_image(path, Limits(max_pixels=200_000_000)).info.size == (2000, 1000)


def test_a_failed_write_is_a_write_failed_naming_the_file(tmp_path):
    loaded = read_image(_save(tmp_path / "s.png", photo()))
    dest = tmp_path / "blocked" / "x.png"
    (tmp_path / "blocked").write_bytes(b"a file where the folder should be")
    with pytest.raises(WriteFailed) as info:
        write_image(loaded.pixels, loaded.info, dest, params=PARAMS)
    assert info.value.path == dest and info.value.errno is not None


def test_output_names():
    assert output_rel(Path("a/b.JPG")) == Path("a/b.JPG")
    assert output_rel(Path("x.psd")) == Path("x.psd.png")  # cannot write PSD: PNG beside it
    assert output_rel(Path("x.jpg"), "WEBP") == Path("x.webp")
    assert output_rel(Path("x.jpeg"), "JPEG") == Path("x.jpeg")
    assert output_format(Path("y.tiff")) == "TIFF"
    assert output_format(Path("y.unknown")) == "PNG"


def _save(path: Path, arr: np.ndarray) -> Path:
    Image.fromarray(arr).save(path)
    return path
