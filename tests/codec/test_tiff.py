"""TIFF layouts Pillow lacks: 16-bit and float colour written by the codec, read back by
tifffile (an independent reader) and by the codec; without tifffile, a clear refusal."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from dreamd import codec

tifffile = pytest.importorskip("tifffile")


@pytest.mark.parametrize("channels", [1, 2, 3, 4])
@pytest.mark.parametrize("depth", [16, 32])
def test_deep_tiffs_read_the_same_in_tifffile_and_the_codec(tmp_path, depth: int, channels: int):
    rng = np.random.default_rng(depth + channels)
    pixels = rng.random((21, 34, channels)).astype(np.float32)
    dest = tmp_path / "x.tif"
    codec.write(pixels, codec.ImageInfo.plain("TIFF", channels, depth, (34, 21)), dest)
    dtype = np.uint16 if depth == 16 else np.float32
    want = codec.from_float(pixels, dtype)
    theirs = tifffile.imread(dest).reshape(21, 34, channels)
    assert theirs.dtype == dtype
    np.testing.assert_array_equal(theirs, want)
    picture = codec.read(dest)
    assert (picture.info.depth, picture.info.channels) == (depth, channels)
    np.testing.assert_array_equal(codec.from_float(picture.pixels, dtype), want)


def test_without_tifffile_what_pillow_cannot_open_is_refused_saying_so(tmp_path, monkeypatch):
    dest = tmp_path / "f.tif"
    codec.write(np.zeros((4, 4, 3), np.float32), codec.ImageInfo.plain("TIFF", 3, 32, (4, 4)), dest)
    assert codec.can_read("TIFF", 3, 32)
    monkeypatch.setitem(sys.modules, "tifffile", None)  # `import tifffile` now fails
    assert not codec.can_read("TIFF", 3, 32) and not codec.can_read("TIFF", 2, 16)
    assert codec.can_read("TIFF", 3, 16) and codec.can_read("TIFF", 1, 32)
    with pytest.raises(codec.UnreadableImage, match="install the tifffile package"):
        codec.read(dest)


def test_probe_reads_the_headers_pillow_cannot(tmp_path):
    for channels, depth in ((2, 16), (3, 32), (4, 32)):
        dest = tmp_path / f"{channels}-{depth}.tif"
        info = codec.ImageInfo.plain("TIFF", channels, depth, (5, 3))
        codec.write(np.zeros((3, 5, channels), np.float32), info, dest)
        assert codec.probe(dest) == codec.Probe("TIFF", 5, 3, channels, depth)
