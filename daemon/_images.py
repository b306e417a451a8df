"""Wire images ⇄ float32 arrays, in the worker thread (decoding costs CPU time).

Raw frames become numpy views of the received frame (``np.frombuffer``, no copy) and then
``dreamd.engine.to_float``; encoded files go through Pillow. The reply has the request's form:
same encoding, dtype and channel count. Alpha, gray and 16-bit survive, since the engine
works on float32 and keeps the alpha channel aside.

Pillow has no 16-bit colour modes: a 16-bit RGB(A)/gray+alpha PNG is written here with a
small PNG encoder of our own, and read by Pillow at 8-bit precision (a note says so);
multi-channel 16-bit or float TIFF needs the ``tifffile`` package. Raw frames have none of
these limits and are what the GIMP plug-in sends.
"""

from __future__ import annotations

import io
import struct
import zlib
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from dreamd import engine, protocol

from . import _errors
from ._errors import JobError

_NP_DTYPES: dict[str, np.dtype[Any]] = {
    "u8": np.dtype(np.uint8),
    "u16": np.dtype("<u2"),
    "f32": np.dtype("<f4"),
}


@dataclass(frozen=True)
class ReplyForm:
    """How to send a result back: the request image's own form."""

    channels: int
    dtype: str
    encoding: str

    @classmethod
    def of(cls, desc: Any) -> ReplyForm:
        return cls(int(desc.channels), str(desc.dtype), str(desc.encoding))


@dataclass
class Decoded:
    pixels: np.ndarray  # float32 (H, W, C) in [0, 1]
    notes: list[str] = field(default_factory=list)


def _bad(message: str, where: str) -> JobError:
    return JobError(_errors.BAD_IMAGE, message, where)


def check_encodable(desc: Any, where: str = "image") -> None:
    """Refuse, before queueing, a form whose result this daemon could not write back."""
    if (
        desc.encoding == "tiff"
        and desc.dtype in ("u16", "f32")
        and desc.channels > 1
        and not _has_tifffile()
    ):
        raise _bad(
            f"{desc.channels}-channel {desc.dtype} TIFF needs the tifffile package on the "
            "daemon's machine; send raw frames (encoding 'raw') or install tifffile",
            f"{where}.encoding",
        )


def decode_pixels(image: Any, where: str = "image") -> tuple[np.ndarray, list[str]]:
    """:func:`decode` as ``(pixels, notes)``, the worker's ``DecodeFn``."""
    decoded = decode(image, where)
    return decoded.pixels, decoded.notes


def decode(image: Any, where: str = "image") -> Decoded:
    """A protocol ``Image`` (descriptor + bytes) → float32 pixels.

    Raises:
        JobError(BAD_IMAGE): the file does not decode, or does not match its descriptor.
    """
    desc = image.desc
    if desc.encoding == "raw":
        arr = np.frombuffer(image.data, dtype=_NP_DTYPES[desc.dtype])
        arr = arr.reshape(desc.height, desc.width, desc.channels)
        return Decoded(engine.to_float(arr))
    return _decode_file(image, where)


def _decode_file(image: Any, where: str) -> Decoded:
    from PIL import Image, UnidentifiedImageError

    # The descriptor passed the daemon's pixel limit and the file must match it (checked
    # below, before decoding): Pillow's own, smaller bomb limit would only get in the way.
    Image.MAX_IMAGE_PIXELS = None
    desc = image.desc
    notes: list[str] = []
    data = bytes(image.data) if not isinstance(image.data, bytes) else image.data
    if (
        desc.encoding == "tiff"
        and desc.dtype in ("u16", "f32")
        and desc.channels > 1
        and _has_tifffile()
    ):
        arr = _read_tiff(data, where)
    else:
        try:
            with Image.open(io.BytesIO(data)) as im:
                if im.size != (desc.width, desc.height):
                    raise _bad(
                        f"the {desc.encoding} file is {im.size[0]}×{im.size[1]}, the "
                        f"descriptor says {desc.width}×{desc.height}",
                        where,
                    )
                if im.format == "PNG" and protocol.png_truncated(data):
                    raise _bad("the png file is truncated: its pixel data stops early", where)
                im.load()
                arr = _pillow_array(im)
        except JobError:
            raise
        except (UnidentifiedImageError, OSError, ValueError, SyntaxError, EOFError) as exc:
            raise _bad(f"cannot decode the {desc.encoding} file: {exc}", where) from None
        except Image.DecompressionBombError as exc:
            raise _bad(f"refused to decode: {exc}", where) from None
        if desc.dtype == "u16" and desc.channels > 1 and arr.dtype == np.uint8:
            notes.append(
                f"Pillow reads {desc.channels}-channel 16-bit {desc.encoding} files at 8-bit "
                "precision; send raw u16 frames to keep all 16 bits"
            )
    if arr.ndim == 2:
        arr = arr[:, :, None]
    if arr.shape[:2] != (desc.height, desc.width):
        raise _bad(
            f"the file holds {arr.shape[1]}×{arr.shape[0]} pixels, the descriptor says "
            f"{desc.width}×{desc.height}",
            where,
        )
    if arr.shape[2] != desc.channels:
        raise _bad(
            f"the {desc.encoding} file has {arr.shape[2]} channel(s), the descriptor says "
            f"{desc.channels}",
            f"{where}.channels",
        )
    return Decoded(engine.to_float(arr), notes)


def _pillow_array(im: Any) -> np.ndarray:
    mode = im.mode
    if mode == "P":
        im = im.convert("RGBA" if "transparency" in im.info else "RGB")
    elif mode == "PA":
        im = im.convert("RGBA")
    elif mode == "1":
        im = im.convert("L")
    elif mode in ("CMYK", "YCbCr", "LAB", "HSV"):
        im = im.convert("RGB")
    elif mode == "I":
        # 32-bit integer gray: 16-bit files opened this way hold 0–65535.
        arr = np.asarray(im)
        return np.clip(arr, 0, 65535).astype(np.uint16)
    elif mode.startswith("I;16"):
        return np.asarray(im).astype(np.uint16)
    return np.asarray(im)


def _has_tifffile() -> bool:
    try:
        import tifffile  # noqa: F401
    except ImportError:
        return False
    return True


def _read_tiff(data: bytes, where: str) -> np.ndarray:
    import tifffile

    try:
        arr = np.asarray(tifffile.imread(io.BytesIO(data)))
    except Exception as exc:  # tifffile raises many types for bad files
        raise _bad(f"cannot decode the tiff file: {exc}", where) from None
    if arr.dtype not in (np.uint8, np.uint16, np.float32):
        arr = arr.astype(np.float32)
    return arr


def encode(pixels: np.ndarray, form: ReplyForm) -> tuple[dict[str, Any], bytes]:
    """float32 (H, W, C) → ``(descriptor map, frame bytes)`` in ``form``."""
    h, w = pixels.shape[:2]
    if pixels.ndim == 2:
        pixels = pixels[:, :, None]
    arr = engine.from_float(pixels, _NP_DTYPES[form.dtype].newbyteorder("="))
    desc = {
        "width": int(w),
        "height": int(h),
        "channels": int(arr.shape[2]),
        "dtype": form.dtype,
        "encoding": form.encoding,
        "colorspace": "sRGB",
    }
    if form.encoding == "raw":
        out = np.ascontiguousarray(arr, dtype=_NP_DTYPES[form.dtype])
        return desc, out.tobytes()
    return desc, _encode_file(arr, form)


_PIL_MODES = {1: "L", 2: "LA", 3: "RGB", 4: "RGBA"}
_PIL_FORMATS = {"png": "PNG", "jpeg": "JPEG", "webp": "WEBP", "tiff": "TIFF"}


def _encode_file(arr: np.ndarray, form: ReplyForm) -> bytes:
    from PIL import Image

    c = arr.shape[2]
    buf = io.BytesIO()
    if arr.dtype == np.uint8:
        Image.fromarray(arr[:, :, 0] if c == 1 else arr, _PIL_MODES[c]).save(
            buf, _PIL_FORMATS[form.encoding], **_save_options(form.encoding)
        )
        return buf.getvalue()
    if c == 1 and form.encoding in ("png", "tiff"):
        plane = arr[:, :, 0]
        im = Image.fromarray(plane, "F") if arr.dtype == np.float32 else Image.fromarray(plane)
        im.save(buf, _PIL_FORMATS[form.encoding])
        return buf.getvalue()
    if form.encoding == "png" and arr.dtype == np.uint16:
        return png16(arr)
    import tifffile

    tifffile.imwrite(buf, arr, photometric="minisblack" if c <= 2 else "rgb")
    return buf.getvalue()


def _save_options(encoding: str) -> dict[str, Any]:
    if encoding == "jpeg":
        return {"quality": 95}
    if encoding == "webp":
        return {"lossless": True}
    return {}


def png16(arr: np.ndarray) -> bytes:
    """A 16-bit PNG (gray, gray+alpha, RGB or RGBA) from a uint16 (H, W, C) array."""
    h, w, c = arr.shape
    colour_type = {1: 0, 2: 4, 3: 2, 4: 6}[c]
    rows = np.ascontiguousarray(arr, dtype=">u2").view(np.uint8).reshape(h, w * c * 2)
    raw = np.concatenate([np.zeros((h, 1), np.uint8), rows], axis=1).tobytes()

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = zlib.crc32(kind + body) & 0xFFFFFFFF
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)

    ihdr = struct.pack(">IIBBBBB", w, h, 16, colour_type, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(raw, 6))
        + chunk(b"IEND", b"")
    )
