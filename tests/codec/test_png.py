"""PNG: the writer (8- and 16-bit, 1–4 channels) checked against a decoder written here,
and png_truncated, the one kind of truncated PNG that Pillow decodes without complaint."""

from __future__ import annotations

import io
import struct
import zlib

import numpy as np
import pytest
from PIL import Image

from dreamd import codec


def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def png_with_rows(width: int, height: int, rows: int) -> bytes:
    """An RGB PNG whose header says ``height`` rows but whose data holds only ``rows``."""
    raw = b"".join(b"\0" + b"\x80" * 3 * width for _ in range(rows))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", ihdr)
        + _chunk(b"IDAT", zlib.compress(raw))
        + _chunk(b"IEND", b"")
    )


def test_pillow_decodes_the_short_file_silently():
    """Why the check exists: without it the missing rows come out black."""
    with Image.open(io.BytesIO(png_with_rows(40, 30, 10))) as im:
        im.load()
        assert im.getpixel((0, 29)) == (0, 0, 0)
        assert im.getpixel((0, 0)) == (128, 128, 128)


@pytest.mark.parametrize("rows", [0, 1, 29])
def test_short_pixel_data_is_found(rows: int):
    assert codec.png_truncated(png_with_rows(40, 30, rows))


def test_complete_files_pass():
    assert not codec.png_truncated(png_with_rows(40, 30, 30))
    buf = io.BytesIO()
    Image.new("RGBA", (123, 45), (1, 2, 3, 4)).save(buf, "PNG")
    assert not codec.png_truncated(buf.getvalue())
    buf = io.BytesIO()
    Image.new("I;16", (33, 17)).save(buf, "PNG")
    assert not codec.png_truncated(buf.getvalue())


@pytest.mark.parametrize(
    "data", [b"", b"not a png", b"\x89PNG\r\n\x1a\n", b"\x89PNG\r\n\x1a\n" + b"\0" * 40]
)
def test_what_it_cannot_judge_is_left_to_the_decoder(data: bytes):
    assert not codec.png_truncated(data)


def read_png_by_hand(data: bytes) -> np.ndarray:
    """A PNG decoder of the test's own (zlib and the five row filters, non-interlaced):
    what the codec writes must decode to the same samples here as in Pillow."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, ihdr = 8, b"", b""
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]
        if kind == b"IHDR":
            ihdr = body
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    w, h, depth, colour = struct.unpack(">IIBB", ihdr[:10])
    c = {0: 1, 4: 2, 2: 3, 6: 4}[colour]
    bpp = c * depth // 8
    raw = np.frombuffer(zlib.decompress(idat), np.uint8).reshape(h, 1 + w * bpp)
    rows, prev = [], np.zeros(w * bpp, np.uint8)
    for r in raw:
        f, line = int(r[0]), [int(v) for v in r[1:]]
        up = [int(v) for v in prev]
        for i in range(len(line)):
            a = line[i - bpp] if i >= bpp else 0
            b, c_ = up[i], up[i - bpp] if i >= bpp else 0
            if f == 4:
                p = a + b - c_
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c_)
                pred = a if pa <= pb and pa <= pc else b if pb <= pc else c_
            else:
                pred = (0, a, b, (a + b) // 2)[f]
            line[i] = (line[i] + pred) & 0xFF
        prev = np.array(line, np.uint8)
        rows.append(prev)
    flat = np.array(rows)
    if depth == 16:
        return flat.view(">u2").reshape(h, w, c).astype(np.uint16)
    return flat.reshape(h, w, c)


@pytest.mark.parametrize("channels", [1, 2, 3, 4])
@pytest.mark.parametrize("depth", [8, 16])
def test_written_pngs_decode_to_the_same_samples_everywhere(tmp_path, channels: int, depth: int):
    rng = np.random.default_rng(channels * depth)
    dtype = np.uint16 if depth == 16 else np.uint8
    arr = (rng.random((9, 13, channels)) * np.iinfo(dtype).max).astype(dtype)
    info = codec.ImageInfo.plain("PNG", channels, depth, (13, 9))
    data, notes = codec.encode(codec.to_float(arr), info)
    assert notes == []
    np.testing.assert_array_equal(read_png_by_hand(data), arr)
    back = codec.read(data)
    assert back.info.depth == depth and back.info.channels == channels
    np.testing.assert_array_equal(codec.from_float(back.pixels, dtype), arr)
