"""Wire images ⇄ pixels: the reply has the request's form, alpha and depth survive."""

from __future__ import annotations

import io
import struct
import zlib

import numpy as np
import pytest
from PIL import Image as PILImage

from dreamd import protocol
from dreamd.daemon import _images
from dreamd.daemon._errors import JobError

from .conftest import QUICK, Daemon, make_pixels, raw_image


def _read_png16(data: bytes) -> np.ndarray:
    """A minimal reader for the PNGs ``png16`` writes (filter 0, one IDAT)."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, ihdr = 8, b"", b""
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind = data[pos + 4 : pos + 8]
        body = data[pos + 8 : pos + 8 + length]
        if kind == b"IHDR":
            ihdr = body
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    w, h, depth, colour = struct.unpack(">IIBB", ihdr[:10])
    assert depth == 16
    c = {0: 1, 4: 2, 2: 3, 6: 4}[colour]
    rows = np.frombuffer(zlib.decompress(idat), np.uint8).reshape(h, 1 + w * c * 2)
    assert (rows[:, 0] == 0).all()
    return rows[:, 1:].copy().view(">u2").reshape(h, w, c).astype(np.uint16)


@pytest.mark.parametrize(
    ("channels", "dtype"), [(1, "u8"), (2, "u16"), (3, "f32"), (4, "u16"), (4, "u8")]
)
def test_raw_roundtrip_is_exact(channels: int, dtype: str) -> None:
    pixels = make_pixels(channels=channels, dtype=dtype)
    image = raw_image(pixels)
    decoded = _images.decode(image)
    assert decoded.pixels.dtype == np.float32 and decoded.pixels.shape == pixels.shape
    desc, frame = _images.encode(decoded.pixels, _images.ReplyForm.of(image.desc))
    assert desc == image.desc.to_wire()
    assert frame == pixels.tobytes()


def test_png16_writer() -> None:
    pixels = make_pixels(channels=3, dtype="u16").astype(np.uint16)
    assert np.array_equal(_read_png16(_images.png16(pixels)), pixels)
    with PILImage.open(io.BytesIO(_images.png16(pixels))) as im:
        assert im.size == (pixels.shape[1], pixels.shape[0])


def _encoded(pixels: np.ndarray, fmt: str, channels: int, dtype: str) -> protocol.Image:
    buf = io.BytesIO()
    mode = {1: "L", 2: "LA", 3: "RGB", 4: "RGBA"}[channels]
    if dtype == "u8":
        PILImage.fromarray(pixels[:, :, 0] if channels == 1 else pixels, mode).save(buf, fmt)
    elif dtype == "u16" and channels == 1:
        PILImage.fromarray(pixels[:, :, 0].astype(np.uint16)).save(buf, fmt)
    elif dtype == "f32" and channels == 1:
        PILImage.fromarray(pixels[:, :, 0], "F").save(buf, fmt)
    else:
        buf.write(_images.png16(pixels.astype(np.uint16)))
    enc = {"PNG": "png", "JPEG": "jpeg", "WEBP": "webp", "TIFF": "tiff"}[fmt]
    h, w = pixels.shape[:2]
    return protocol.Image.encoded(buf.getvalue(), enc, w, h, channels, dtype)  # type: ignore[arg-type]


def test_descriptor_must_match_the_file() -> None:
    pixels = make_pixels(channels=3)
    image = _encoded(pixels, "PNG", 3, "u8")
    lying = protocol.Image.encoded(image.data, "png", 64, 48, 4, "u8")
    with pytest.raises(JobError) as err:
        _images.decode(lying)
    assert err.value.code == "BAD_IMAGE" and "3 channel" in str(err.value)


ENCODED = [
    ("PNG", 4, "u8"),
    ("PNG", 1, "u16"),
    ("PNG", 3, "u16"),
    ("JPEG", 3, "u8"),
    ("WEBP", 4, "u8"),
    ("TIFF", 1, "f32"),
    ("TIFF", 2, "u8"),
]


@pytest.mark.parametrize(
    ("fmt", "channels", "dtype"), ENCODED, ids=[f"{f}-{c}-{d}" for f, c, d in ENCODED]
)
def test_daemon_answers_in_the_request_encoding(
    daemon: Daemon, fmt: str, channels: int, dtype: str
) -> None:
    pixels = make_pixels(channels=channels, dtype=dtype, seed=channels)
    image = _encoded(pixels, fmt, channels, dtype)
    with daemon.client() as c:
        result = c.dream(image, {**QUICK, "seed": 5})
    assert result.image.desc == image.desc
    data = result.image.tobytes()
    if fmt == "PNG" and dtype == "u16" and channels > 1:
        out = _read_png16(data)
        assert any("8-bit precision" in n for n in result.notes)
    else:
        with PILImage.open(io.BytesIO(data)) as im:
            assert im.format == fmt
            out = np.asarray(im)
    out = out.reshape(pixels.shape[0], pixels.shape[1], -1)
    assert out.shape[2] == channels
    if channels in (2, 4) and fmt != "JPEG":
        # Alpha passes through untouched (webp lossless, png, tiff).
        assert np.array_equal(out[:, :, -1], pixels[:, :, -1].astype(out.dtype))
