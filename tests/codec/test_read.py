"""Reading every kind of image: float32 pixels, depth kept whole, what the file was."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageOps

from dreamd import codec

from .odd_files import photo, write_bad_files


def test_every_odd_image_reads_as_float_at_its_size_depth_and_channels(odd):
    folder, expect = odd
    for name, want in expect.items():
        picture = codec.read(folder / name)
        assert picture.pixels.dtype == np.float32, name
        assert picture.pixels.min() >= 0 and picture.pixels.max() <= 1, name
        assert picture.info.size == want["size"], name
        h, w, c = picture.pixels.shape
        assert (w, h) == want["size"] and c == picture.info.channels, name
        if want.get("depth") == 16:
            assert picture.info.depth == 16, name
            u16 = np.rint(picture.pixels * 65535).astype(np.uint16)
            assert np.any(u16 % 257 != 0), f"{name}: only 8 bits of information survived"
        if "alpha" in want:
            assert c in (2, 4), name


def test_16_bit_colour_is_read_exactly(odd):
    """The 16-bit RGB PNG and TIFF give every sample whole (Pillow alone keeps 8 bits)."""
    import tifffile

    folder, _ = odd
    want = tifffile.imread(folder / "deep16.tif")
    for name in ("deep16.png", "deep16.tif"):
        picture = codec.read(folder / name)
        np.testing.assert_array_equal(codec.from_float(picture.pixels, np.uint16), want, name)
        assert picture.info.mode == "RGB" and picture.info.depth == 16


@pytest.mark.parametrize("channels", [2, 3, 4])
@pytest.mark.parametrize("fmt", ["PNG", "TIFF"])
def test_16_bit_files_round_trip_exactly_from_bytes_and_paths(tmp_path, fmt: str, channels: int):
    if fmt == "TIFF" and channels == 2:
        pytest.importorskip("tifffile")  # Pillow cannot open a 16-bit gray+alpha TIFF
    rng = np.random.default_rng(channels)
    arr = (rng.random((31, 47, channels)) * 65535).astype(np.uint16)
    info = codec.ImageInfo.plain(fmt, channels, 16, (47, 31))
    data, _ = codec.encode(codec.to_float(arr), info)
    path = tmp_path / f"x.{fmt.lower()}"
    path.write_bytes(data)
    for source in (data, memoryview(data), path, str(path)):
        picture = codec.read(source)
        np.testing.assert_array_equal(codec.from_float(picture.pixels, np.uint16), arr)
        assert (picture.info.format, picture.info.depth) == (fmt, 16)


def test_exif_orientation_is_applied_like_pillow_does(tmp_path):
    base = photo()
    for o in range(1, 9):
        path = tmp_path / f"o{o}.jpg"
        ex = Image.Exif()
        ex[0x0112] = o
        Image.fromarray(base).save(path, exif=ex.tobytes(), quality=100)
        picture = codec.read(path)
        want = np.asarray(ImageOps.exif_transpose(Image.open(path)))
        np.testing.assert_array_equal(codec.from_float(picture.pixels, np.uint8), want)
        assert picture.info.orientation == o
        assert picture.info.exif is None or 0x0112 not in picture.info.exif
    assert codec.orient(np.zeros((2, 3, 1)), 6).shape == (3, 2, 1)


def test_orient_false_keeps_the_stored_layout_and_the_tag(tmp_path):
    path = tmp_path / "r.jpg"
    ex = Image.Exif()
    ex[0x0112] = 6
    Image.fromarray(photo()).save(path, exif=ex.tobytes(), quality=100)
    picture = codec.read(path, orient=False)
    assert picture.pixels.shape[:2] == (48, 64)
    assert picture.info.exif is not None and picture.info.exif[0x0112] == 6
    out = tmp_path / "out.jpg"
    codec.write(picture.pixels, picture.info, out)
    with Image.open(out) as im:
        assert im.size == (64, 48) and im.getexif()[0x0112] == 6  # a viewer turns it alike


def test_bad_files_are_refused_with_a_reason(tmp_path):
    for name, word in write_bad_files(tmp_path).items():
        with pytest.raises((codec.UnreadableImage, codec.ImageTooLarge)) as info:
            codec.read(tmp_path / name)
        assert word in info.value.reason, (name, info.value.reason)
        assert info.value.source == tmp_path / name
    with pytest.raises(codec.UnreadableImage, match="no such file"):
        codec.read(tmp_path / "missing.png")
    with pytest.raises(codec.UnreadableImage, match="empty") as info:
        codec.read(b"")
    assert info.value.source is None


def test_sizes_are_checked_before_decoding(tmp_path):
    path = tmp_path / "big.png"
    Image.new("RGB", (2000, 1000)).save(path)
    with pytest.raises(codec.ImageTooLarge, match="megapixels"):
        codec.read(path, max_pixels=1_000_000)

    class Refused(Exception):
        pass

    seen = []

    def check(w: int, h: int) -> None:
        seen.append((w, h))
        raise Refused

    with pytest.raises(Refused):  # the caller's own error passes through unchanged
        codec.read(path.read_bytes(), check_size=check)
    assert seen == [(2000, 1000)]


def test_multi_frame_files_use_the_first_frame(tmp_path):
    frames = [Image.new("RGB", (20, 20), (i * 80, 0, 255 - i * 80)) for i in range(3)]
    path = tmp_path / "anim.gif"
    frames[0].save(path, save_all=True, append_images=frames[1:])
    picture = codec.read(path)
    assert picture.info.frames == 3
    assert any("first" in n for n in picture.info.notes)
    np.testing.assert_allclose(picture.pixels[0, 0], [0, 0, 1], atol=1 / 255)


def test_float_files_lose_nan_and_infinity(tmp_path):
    arr = np.full((8, 8), 0.5, np.float32)
    arr[0, 0], arr[0, 1] = np.nan, np.inf
    path = tmp_path / "f.tif"
    Image.fromarray(arr).save(path)
    picture = codec.read(path)
    assert picture.info.depth == 32 and np.isfinite(picture.pixels).all()
    assert picture.pixels[0, 0, 0] == 0 and picture.pixels[1, 1, 0] == 0.5


def test_conversions():
    u16 = np.array([0, 1, 65535], np.uint16)
    np.testing.assert_array_equal(codec.from_float(codec.to_float(u16), np.uint16), u16)
    u8 = np.arange(256, dtype=np.uint8)
    np.testing.assert_array_equal(codec.from_float(codec.to_float(u8), np.uint8), u8)
    assert codec.from_float(np.array([-1.0, 2.0]), np.uint8).tolist() == [0, 255]
    with pytest.raises(ValueError, match="uint8, uint16"):
        codec.to_float(np.zeros(3, np.int64))


def test_probe_tells_from_the_header_what_read_gives(odd):
    folder, expect = odd
    for name in expect:
        head = codec.probe(folder / name)
        picture = codec.read(folder / name, orient=False)
        h, w, c = picture.pixels.shape
        assert (head.format, head.width, head.height) == (picture.info.format, w, h), name
        assert (head.channels, head.depth) == (c, picture.info.depth), name
        assert codec.probe((folder / name).read_bytes()) == head, name
    with pytest.raises(codec.UnreadableImage, match="not an image"):
        codec.probe(b"this is not an image")
