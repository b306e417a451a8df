"""Reading every kind of image and writing it back as the same kind of file."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageOps

from dreamd.batch import _deep
from dreamd.batch._errors import ImageTooLarge, UnreadableImage, WriteFailed
from dreamd.batch._imageio import (
    Limits,
    clean_stale_temps,
    orient,
    output_format,
    output_rel,
    read_image,
    read_params,
    write_image,
)

from .conftest import photo, write_bad_files, write_odd_images

PARAMS = {"tool": "dream-batch", "model": "efficientnet-lite0", "seed": 5, "source": "x"}


def _dreamlike(pixels: np.ndarray) -> np.ndarray:
    """Change the colour channels the way a dream would (alpha untouched)."""
    out = pixels.copy()
    c = out.shape[2]
    colour = c - 1 if c in (2, 4) else c
    out[:, :, :colour] = np.clip(0.9 * out[:, :, :colour] + 0.05, 0, 1)
    return out


@pytest.fixture(scope="module")
def odd(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, dict[str, object]]]:
    folder = tmp_path_factory.mktemp("odd")
    return folder, write_odd_images(folder)


def test_every_odd_image_round_trips_keeping_size_mode_depth_alpha(odd, tmp_path):
    folder, expect = odd
    for name, want in expect.items():
        loaded = read_image(folder / name)
        assert loaded.pixels.dtype == np.float32, name
        assert loaded.pixels.min() >= 0 and loaded.pixels.max() <= 1, name
        assert loaded.info.size == want["size"], name
        dest = tmp_path / name
        write_image(_dreamlike(loaded.pixels), loaded.info, dest, params=PARAMS)
        assert dest.exists(), name
        with Image.open(dest) as out:
            assert out.format == Image.open(folder / name).format, name
            assert out.size == want["size"], name
            mode = out.mode
            if want.get("depth") == 16 and want["mode"] != "I;16":
                # Pillow shows 16-bit colour as 8-bit RGB: our reader must see 16 bits
                assert mode == want["mode"], name
            else:
                assert mode == want["mode"], (name, mode)
        back = read_image(dest)
        assert back.info.depth == loaded.info.depth, name
        assert back.info.channels == loaded.info.channels, name
        if "alpha" in want:
            alpha = np.asarray(Image.open(dest).convert("RGBA"))[:, :, 3]
            np.testing.assert_array_equal(alpha, want["alpha"], err_msg=name)
        if want.get("depth") == 16:
            u16 = np.rint(back.pixels * 65535).astype(np.uint16)
            assert np.any(u16 % 257 != 0), f"{name}: only 8 bits of information survived"
        if want.get("icc"):
            assert Image.open(dest).info.get("icc_profile") == loaded.info.icc, name
        if "exif_make" in want:
            assert Image.open(dest).getexif().get(0x010F) == want["exif_make"], name
        if "text" in want:
            assert want["text"] in Image.open(dest).info, name


def test_parameters_are_recorded_and_parse_back(odd, tmp_path):
    folder, expect = odd
    for name in expect:
        loaded = read_image(folder / name)
        dest = tmp_path / name
        notes = write_image(loaded.pixels, loaded.info, dest, params=PARAMS)
        fmt = output_format(dest)
        if fmt == "BMP":
            assert any("metadata" in n for n in notes)
            assert read_params(dest) is None
            continue
        assert read_params(dest) == PARAMS, name


def test_pixels_survive_8_and_16_bit_round_trips_exactly(tmp_path):
    for name, arr in {
        "a.png": photo(),
        "b.tif": photo(),
        "c.png": (np.arange(48 * 64 * 4).reshape(48, 64, 4) * 97 % 65536).astype(np.uint16),
        "d.tif": (np.arange(48 * 64 * 3).reshape(48, 64, 3) * 31 % 65536).astype(np.uint16),
    }.items():
        src = tmp_path / f"src_{name}"
        with open(src, "wb") as fh:
            (_deep.write_png if name.endswith("png") else _deep.write_tiff)(fh, arr)
        loaded = read_image(src)
        scale = 65535 if arr.dtype == np.uint16 else 255
        np.testing.assert_array_equal(np.rint(loaded.pixels * scale).astype(arr.dtype), arr)
        write_image(loaded.pixels, loaded.info, tmp_path / name)
        again = read_image(tmp_path / name)
        np.testing.assert_array_equal(again.pixels, loaded.pixels)


def test_16_bit_png_reader_matches_an_independent_decoder(tmp_path):
    """A 16-bit PNG from our encoder, decoded by tifffile's cousin: zlib by hand."""
    import struct
    import zlib

    arr = (np.random.default_rng(1).random((9, 13, 3)) * 65535).astype(np.uint16)
    path = tmp_path / "x.png"
    with open(path, "wb") as fh:
        _deep.write_png(fh, arr)
    data = path.read_bytes()
    pos, idat = 8, b""
    while pos < len(data):
        (n,) = struct.unpack(">I", data[pos : pos + 4])
        if data[pos + 4 : pos + 8] == b"IDAT":
            idat += data[pos + 8 : pos + 8 + n]
        pos += 12 + n
    raw = np.frombuffer(zlib.decompress(idat), np.uint8).reshape(9, 1 + 13 * 6)
    rows = []
    prev = np.zeros(13 * 6, np.uint8)
    for r in raw:
        f, line = r[0], r[1:].copy()
        if f == 1:
            for i in range(6, len(line)):
                line[i] = (int(line[i]) + int(line[i - 6])) & 0xFF
        elif f == 2:
            line = (line + prev).astype(np.uint8)
        rows.append(line)
        prev = line
    decoded = np.array(rows).view(">u2").reshape(9, 13, 3).astype(np.uint16)
    np.testing.assert_array_equal(decoded, arr)
    np.testing.assert_array_equal(_deep.read_deep(str(path)), arr)


def test_exif_orientation_is_applied_like_pillow_does(tmp_path):
    base = photo()
    for o in range(1, 9):
        path = tmp_path / f"o{o}.jpg"
        ex = Image.Exif()
        ex[0x0112] = o
        Image.fromarray(base).save(path, exif=ex.tobytes(), quality=100)
        loaded = read_image(path)
        want = np.asarray(ImageOps.exif_transpose(Image.open(path)))
        np.testing.assert_array_equal(np.rint(loaded.pixels * 255).astype(np.uint8), want)
        assert loaded.info.exif is None or 0x0112 not in loaded.info.exif
        out = tmp_path / f"out{o}.jpg"
        write_image(loaded.pixels, loaded.info, out)
        assert Image.open(out).getexif().get(0x0112) in (None, 1)
        assert Image.open(out).size == (want.shape[1], want.shape[0])
    assert orient(np.zeros((2, 3, 1)), 6).shape == (3, 2, 1)


def test_bad_files_are_refused_with_a_reason(tmp_path):
    for name, word in write_bad_files(tmp_path).items():
        with pytest.raises((UnreadableImage, ImageTooLarge)) as info:
            read_image(tmp_path / name)
        assert word in info.value.reason, (name, info.value.reason)
        assert info.value.path == tmp_path / name
    with pytest.raises(UnreadableImage, match="no such file"):
        read_image(tmp_path / "missing.png")


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


def test_multi_frame_gif_uses_the_first_frame(tmp_path):
    frames = [Image.new("RGB", (20, 20), (i * 80, 0, 255 - i * 80)) for i in range(3)]
    path = tmp_path / "anim.gif"
    frames[0].save(path, save_all=True, append_images=frames[1:])
    loaded = read_image(path)
    assert loaded.info.frames == 3
    assert any("first" in n for n in loaded.info.notes)


def test_jpeg_output_keeps_the_input_quality_tables(tmp_path):
    src = tmp_path / "q.jpg"
    Image.fromarray(photo()).save(src, quality=40)
    loaded = read_image(src)
    write_image(loaded.pixels, loaded.info, tmp_path / "out.jpg")
    assert Image.open(tmp_path / "out.jpg").quantization == Image.open(src).quantization
    write_image(loaded.pixels, loaded.info, tmp_path / "out95.jpg", quality=95)
    assert Image.open(tmp_path / "out95.jpg").quantization != Image.open(src).quantization


def test_format_conversion_drops_what_the_format_cannot_hold(tmp_path):
    src = tmp_path / "a.png"
    rgba = np.dstack([photo(), np.full((48, 64), 128, np.uint8)])
    Image.fromarray(rgba).save(src)
    loaded = read_image(src)
    notes = write_image(loaded.pixels, loaded.info, tmp_path / "a.jpg")
    assert Image.open(tmp_path / "a.jpg").mode == "RGB"
    assert any("alpha dropped" in n for n in notes)
    deep = tmp_path / "d.png"
    with open(deep, "wb") as fh:
        _deep.write_png(fh, np.full((8, 8, 3), 1000, np.uint16))
    notes = write_image(read_image(deep).pixels, read_image(deep).info, tmp_path / "d.webp")
    assert any("8 bits" in n for n in notes)


def test_output_names():
    assert output_rel(Path("a/b.JPG")) == Path("a/b.JPG")
    assert output_rel(Path("x.psd")) == Path("x.psd.png")  # cannot write PSD: PNG beside it
    assert output_rel(Path("x.jpg"), "WEBP") == Path("x.webp")
    assert output_rel(Path("x.jpeg"), "JPEG") == Path("x.jpeg")
    assert output_format(Path("y.tiff")) == "TIFF"
    assert output_format(Path("y.unknown")) == "PNG"


def test_writes_are_atomic_and_failures_leave_nothing(tmp_path, monkeypatch):
    loaded = read_image(_save(tmp_path / "s.png", photo()))
    dest = tmp_path / "out" / "x.png"
    dest.parent.mkdir()
    dest.write_bytes(b"old complete file")

    def boom(*a, **k):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("dreamd.batch._imageio._encode", boom)
    with pytest.raises(WriteFailed, match="No space left"):
        write_image(loaded.pixels, loaded.info, dest)
    assert dest.read_bytes() == b"old complete file"
    assert sorted(p.name for p in dest.parent.iterdir()) == ["x.png"]


def test_stale_temporary_files_of_dead_processes_are_cleaned(tmp_path):
    dead = tmp_path / ".x.png.999999999-1.dream-tmp"
    mine = tmp_path / f".y.png.{os.getpid()}-1.dream-tmp"
    other = tmp_path / ".notes.txt"
    for p in (dead, mine, other):
        p.write_bytes(b"partial")
    assert clean_stale_temps(tmp_path) == 1
    assert not dead.exists() and mine.exists() and other.exists()


def _save(path: Path, arr: np.ndarray) -> Path:
    Image.fromarray(arr).save(path)
    return path
