"""png_truncated: the one kind of truncated PNG that Pillow decodes without complaint."""

from __future__ import annotations

import io
import struct
import zlib

import pytest
from PIL import Image

from dreamd import protocol


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
    assert protocol.png_truncated(png_with_rows(40, 30, rows))


def test_complete_files_pass():
    assert not protocol.png_truncated(png_with_rows(40, 30, 30))
    buf = io.BytesIO()
    Image.new("RGBA", (123, 45), (1, 2, 3, 4)).save(buf, "PNG")
    assert not protocol.png_truncated(buf.getvalue())
    buf = io.BytesIO()
    Image.new("I;16", (33, 17)).save(buf, "PNG")
    assert not protocol.png_truncated(buf.getvalue())


@pytest.mark.parametrize(
    "data", [b"", b"not a png", b"\x89PNG\r\n\x1a\n", b"\x89PNG\r\n\x1a\n" + b"\0" * 40]
)
def test_what_it_cannot_judge_is_left_to_the_decoder(data: bytes):
    assert not protocol.png_truncated(data)
