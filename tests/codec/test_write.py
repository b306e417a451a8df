"""Writing a result back as the same kind of file: format, mode, depth, alpha, metadata."""

from __future__ import annotations

import numpy as np
from PIL import Image

from dreamd import codec

from .odd_files import photo

KEY = "test-record"


def _dreamlike(pixels: np.ndarray) -> np.ndarray:
    """Change the colour channels the way a dream would (alpha untouched)."""
    out = pixels.copy()
    c = out.shape[2]
    colour = c - 1 if c in (2, 4) else c
    out[:, :, :colour] = np.clip(0.9 * out[:, :, :colour] + 0.05, 0, 1)
    return out


def test_every_odd_image_round_trips_keeping_format_size_mode_depth_alpha(odd, tmp_path):
    folder, expect = odd
    for name, want in expect.items():
        picture = codec.read(folder / name)
        dest = tmp_path / name
        codec.write(_dreamlike(picture.pixels), picture.info, dest)
        with Image.open(dest) as out, Image.open(folder / name) as src:
            assert out.format == src.format, name
            assert out.size == want["size"], name
            # Pillow shows 16-bit colour as 8-bit RGB: the depth is checked below
            assert out.mode == want["mode"], (name, out.mode)
            if want.get("icc"):
                assert out.info.get("icc_profile") == picture.info.icc, name
            if "exif_make" in want:
                assert out.getexif().get(0x010F) == want["exif_make"], name
            if "text" in want:
                assert want["text"] in out.info, name
        back = codec.read(dest)
        assert back.info.depth == picture.info.depth, name
        assert back.info.channels == picture.info.channels, name
        if "alpha" in want:
            alpha = np.asarray(Image.open(dest).convert("RGBA"))[:, :, 3]
            np.testing.assert_array_equal(alpha, want["alpha"], err_msg=name)
        if want.get("depth") == 16:
            u16 = codec.from_float(back.pixels, np.uint16)
            assert np.any(u16 % 257 != 0), f"{name}: only 8 bits of information survived"


def test_8_and_16_bit_pixels_survive_a_write_and_read_exactly(odd, tmp_path):
    folder, _ = odd
    for name in ("rgba.png", "gray.png", "deep16.png", "deep16.tif", "gray16.tif", "float.tif"):
        picture = codec.read(folder / name)
        codec.write(picture.pixels, picture.info, tmp_path / name)
        np.testing.assert_array_equal(codec.read(tmp_path / name).pixels, picture.pixels, name)


def test_a_comment_is_recorded_where_each_format_has_room(odd, tmp_path):
    folder, expect = odd
    comment = codec.Comment(KEY, '{"seed":5,"note":"x"}')
    for name in expect:
        picture = codec.read(folder / name)
        dest = tmp_path / name
        notes = codec.write(picture.pixels, picture.info, dest, comment=comment)
        found = codec.comments(dest, KEY)
        if codec.format_for(dest) == "BMP":
            assert any("metadata" in n for n in notes), name
            assert comment.text not in found, name
        else:
            assert comment.text in found, (name, found)


def test_encode_in_memory_is_what_write_puts_in_the_file(odd, tmp_path):
    folder, _ = odd
    for name in ("rgba.png", "deep16.png", "rgb.jpg", "lossless.webp", "deep16.tif"):
        picture = codec.read(folder / name)
        data, _ = codec.encode(picture.pixels, picture.info)
        codec.write(picture.pixels, picture.info, tmp_path / name)
        assert data == (tmp_path / name).read_bytes(), name


def test_jpeg_output_keeps_the_input_quality_tables(tmp_path):
    src = tmp_path / "q.jpg"
    Image.fromarray(photo()).save(src, quality=40)
    picture = codec.read(src)
    codec.write(picture.pixels, picture.info, tmp_path / "out.jpg")
    assert Image.open(tmp_path / "out.jpg").quantization == Image.open(src).quantization
    codec.write(picture.pixels, picture.info, tmp_path / "out95.jpg", quality=95)
    assert Image.open(tmp_path / "out95.jpg").quantization != Image.open(src).quantization


def test_format_conversion_drops_what_the_format_cannot_hold_with_a_note(tmp_path):
    src = tmp_path / "a.png"
    Image.fromarray(np.dstack([photo(), np.full((48, 64), 128, np.uint8)])).save(src)
    picture = codec.read(src)
    notes = codec.write(picture.pixels, picture.info, tmp_path / "a.jpg")
    assert Image.open(tmp_path / "a.jpg").mode == "RGB"
    assert any("alpha dropped" in n for n in notes)
    deep = codec.ImageInfo.plain("PNG", 3, 16, (8, 8))
    notes = codec.write(np.full((8, 8, 3), 0.3, np.float32), deep, tmp_path / "d.webp")
    assert any("8 bits" in n for n in notes)
    assert codec.format_for(tmp_path / "x.unknown") == "PNG"
    assert codec.format_for(tmp_path / "y.TIFF") == "TIFF"
