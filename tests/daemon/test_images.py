"""Wire images ⇄ pixels: the reply has the request's form, alpha and depth survive."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image as PILImage

from dreamd import codec, protocol
from dreamd.daemon import _images
from dreamd.daemon._errors import JobError

from ..codec.odd_files import photo
from .conftest import QUICK, Daemon, make_pixels, raw_image


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


def _encoded(pixels: np.ndarray, fmt: str, channels: int, dtype: str) -> protocol.Image:
    buf = io.BytesIO()
    mode = {1: "L", 2: "LA", 3: "RGB", 4: "RGBA"}[channels]
    if dtype == "u8":
        PILImage.fromarray(pixels[:, :, 0] if channels == 1 else pixels, mode).save(buf, fmt)
    elif dtype == "u16" and channels == 1:
        PILImage.fromarray(pixels[:, :, 0].astype(np.uint16)).save(buf, fmt)
    elif dtype == "f32" and channels == 1:
        PILImage.fromarray(pixels[:, :, 0], "F").save(buf, fmt)
    else:  # 16-bit colour: Pillow has no such mode, the codec writes it
        h, w = pixels.shape[:2]
        info = codec.ImageInfo.plain(fmt, channels, 16, (w, h))
        buf.write(codec.encode(codec.to_float(pixels.astype(np.uint16)), info)[0])
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
    ("PNG", 2, "u16"),
    ("TIFF", 4, "u16"),
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
    if dtype == "u16" and channels > 1:
        # Pillow would show these as 8-bit: read with the codec, all 16 bits
        back = codec.read(data)
        assert (back.info.format, back.info.depth) == (fmt, 16)
        out = codec.from_float(back.pixels, np.uint16)
        assert np.count_nonzero(out % 257) > out.size // 4, "squeezed through 8 bits"
    else:
        with PILImage.open(io.BytesIO(data)) as im:
            assert im.format == fmt
            out = np.asarray(im)
    out = out.reshape(pixels.shape[0], pixels.shape[1], -1)
    assert out.shape[2] == channels
    if channels in (2, 4) and fmt != "JPEG":
        # Alpha passes through untouched (webp lossless, png, tiff).
        assert np.array_equal(out[:, :, -1], pixels[:, :, -1].astype(out.dtype))


def test_an_encoded_16_bit_colour_png_comes_back_at_16_bits_as_dream_batch_makes_it(
    daemon: Daemon, tmp_path: Path
) -> None:
    """The same file and seed through dreamd (encoded PNG over a real socket) and through
    dream-batch (embedded engine): the same 16-bit PNG."""
    from dreamd.batch.cli import main

    rng = np.random.default_rng(7)
    cat = photo().astype(np.uint16) * 257 + rng.integers(0, 257, (48, 64, 3), dtype=np.uint16)
    src = tmp_path / "in"
    codec.write(codec.to_float(cat), codec.ImageInfo.plain("PNG", 3, 16, (64, 48)), src / "c.png")
    image = protocol.Image.encoded((src / "c.png").read_bytes(), "png", 64, 48, 3, "u16")
    with daemon.client() as c:
        result = c.dream(image, {**QUICK, "seed": 3})
    assert result.image.desc == image.desc
    data = result.image.tobytes()
    assert data[12:16] == b"IHDR" and data[24] == 16, "not a 16-bit PNG"
    dreamd_out = codec.from_float(codec.read(data).pixels, np.uint16)

    argv = ["-s", str(src), "-d", str(tmp_path / "out"), "--model", "efficientnet-lite0"]
    argv += ["--device", "cpu", "--octave-count", "2", "--steps-per-octave", "2", "--seed", "3"]
    assert main([*argv, "--embedded", "-q"]) == 0
    batch_out = codec.read(tmp_path / "out" / "c.png")
    assert batch_out.info.depth == 16

    np.testing.assert_array_equal(dreamd_out, codec.from_float(batch_out.pixels, np.uint16))
    assert np.count_nonzero(dreamd_out % 257) > dreamd_out.size // 4, "squeezed through 8 bits"
    assert np.abs(dreamd_out.astype(int) - cat).mean() > 500, "the picture was not dreamed"


def test_a_file_that_disagrees_with_its_descriptor_is_named_before_queueing() -> None:
    pixels = make_pixels(channels=3, dtype="u16")
    image = _encoded(pixels, "PNG", 3, "u16")
    _images.check_file(image)  # as described: accepted
    for field, lie in (
        ("width", {"width": 65}),
        ("height", {"height": 47}),
        ("channels", {"channels": 4}),
        ("dtype", {"dtype": "u8"}),  # a 16-bit PNG declared 8-bit
    ):
        desc = {"width": 64, "height": 48, "channels": 3, "dtype": "u16", **lie}
        lying = protocol.Image.encoded(image.data, "png", **desc)  # type: ignore[arg-type]
        with pytest.raises(JobError) as err:
            _images.check_file(lying)
        assert (err.value.code, err.value.field) == ("BAD_IMAGE", f"image.{field}")
    eight = _encoded(make_pixels(channels=3), "PNG", 3, "u8")
    with pytest.raises(JobError, match=r"\(dtype differs\)"):
        _images.check_file(protocol.Image.encoded(eight.data, "png", 64, 48, 3, "u16"))
