"""Reading: anything Pillow opens → float32 (H, W, C) in [0, 1] and an :class:`ImageInfo`.

16-bit samples are kept whole (16-bit colour through :mod:`._deep`), alpha is kept, EXIF
orientation applied unless asked not to, and what the file was (format, mode, depth, ICC
profile, EXIF, text chunks, JPEG tables …) remembered so that :func:`~._write.write` can
write the result back as the same kind of file.
"""

from __future__ import annotations

import io
import os
from collections.abc import Callable
from pathlib import Path
from typing import Union

import numpy as np
from PIL import Image, JpegImagePlugin, UnidentifiedImageError

from . import _deep, _metadata, _tiff
from ._convert import orient as _orient
from ._convert import to_float
from ._errors import CodecError, ImageTooLarge, UnreadableImage
from ._info import ImageInfo, Picture
from ._png import png_truncated

#: A file path, or the file's bytes.
Source = Union[str, "os.PathLike[str]", bytes, bytearray, memoryview]
#: Called with the stored (width, height) before any pixel is decoded; raises to refuse.
SizeCheck = Callable[[int, int], None]

#: Pillow's own refusal threshold (twice its warning size): the default limit of :func:`read`.
DEFAULT_MAX_PIXELS = 2 * 89_478_485

# read() checks every size itself (max_pixels, check_size) before decoding; Pillow's global
# limit would only refuse sizes a caller chose to allow (a daemon started with a larger one).
Image.MAX_IMAGE_PIXELS = None

_COLOUR_MODES = {1: "L", 2: "LA", 3: "RGB", 4: "RGBA"}


def read(
    source: Source,
    *,
    orient: bool = True,
    max_pixels: int | None = DEFAULT_MAX_PIXELS,
    check_size: SizeCheck | None = None,
) -> Picture:
    """Decode a file (a path, or its bytes) to float32 pixels and an :class:`ImageInfo`.

    ``orient=False`` keeps the stored pixel layout and leaves the EXIF orientation in the
    metadata (a reply that must have its request's size). ``check_size(width, height)``
    runs before decoding; what it raises passes through unchanged.

    Raises:
        UnreadableImage: missing, empty, corrupt, truncated, not an image, odd layout.
        ImageTooLarge: over ``max_pixels`` (refused before decoding), or out of memory.
    """
    path, data = read_source(source)

    def opener() -> Image.Image:
        return Image.open(path if path is not None else io.BytesIO(data))

    def check(w: int, h: int) -> None:
        if w < 1 or h < 1:
            raise UnreadableImage(f"image has no pixels ({w}×{h})", path)
        if max_pixels is not None and w * h > max_pixels:
            raise ImageTooLarge(
                f"{w}×{h} is too large: over {max_pixels / 1e6:g} megapixels (refused "
                "without decoding)",
                path,
            )
        if check_size is not None:
            check_size(w, h)

    head = data[:64] if path is None else _head(path)
    try:
        im = opener()
    except UnidentifiedImageError:
        if _tiff.is_tiff(head):
            return _read_tifffile(path if path is not None else data, check)
        raise UnreadableImage("not an image, or a format Pillow cannot read", path) from None
    except (OSError, ValueError, SyntaxError, EOFError) as exc:
        raise UnreadableImage(f"cannot decode: {_reason(exc)}", path) from None
    with im:
        check(*im.size)
        try:
            if im.format == "PNG" and png_truncated(data if path is None else path.read_bytes()):
                raise UnreadableImage("truncated: its pixel data stops early", path)
            return _decode(im, opener, orient, head, path)
        except CodecError:
            raise
        except MemoryError:
            raise ImageTooLarge("not enough memory to decode it", path) from None
        except Exception as exc:  # Pillow raises many kinds on corrupt data; none may escape
            raise UnreadableImage(f"cannot decode: {_reason(exc)}", path) from None


def read_source(source: Source) -> tuple[Path | None, bytes]:
    """(path, b"") for a path that holds something, (None, data) for bytes."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        data = bytes(source)
        if not data:
            raise UnreadableImage("empty: no bytes")
        return None, data
    path = Path(source)
    try:
        if path.stat().st_size == 0:
            raise UnreadableImage("empty file", path)
    except FileNotFoundError:
        raise UnreadableImage("no such file", path) from None
    except OSError as exc:
        raise UnreadableImage(exc.strerror or str(exc), path) from None
    return path, b""


def _head(path: Path) -> bytes:
    try:
        with path.open("rb") as fh:
            return fh.read(64)
    except OSError:
        return b""


def _reason(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _decode(
    im: Image.Image, opener: _deep.Opener, orient: bool, head: bytes, path: Path | None
) -> Picture:
    fmt = im.format or "PNG"
    deep = _deep.deep_rawmode(im)  # before anything loads the image and drops its tiles
    frames = int(getattr(im, "n_frames", 1) or 1)
    notes: list[str] = []
    if frames > 1:
        im.seek(0)
        notes.append(f"{fmt} has {frames} frames: only the first is used")
    exif = im.getexif()
    orientation = _metadata.orientation_of(exif)
    arr, mode, depth = _samples(im, opener, deep, notes, path)
    pixels = _file_float(arr[:, :, None] if arr.ndim == 2 else arr)
    if orient:
        pixels = np.ascontiguousarray(_orient(pixels, orientation))
    info = ImageInfo(
        format=fmt,
        mode=mode,
        depth=depth,
        channels=pixels.shape[2],
        size=(pixels.shape[1], pixels.shape[0]),
        icc=im.info.get("icc_profile") or None,
        exif=_metadata.kept_exif(exif, fmt, oriented=orient),
        texts=_metadata.texts_of(im),
        dpi=_metadata.dpi_of(im),
        frames=frames,
        orientation=orientation,
        transparency="transparency" in im.info,
        notes=notes,
    )
    if fmt in ("JPEG", "MPO"):
        info.jpeg_tables = getattr(im, "quantization", None)
        info.jpeg_subsampling = JpegImagePlugin.get_sampling(im)
        info.progressive = bool(im.info.get("progressive") or im.info.get("progression"))
    elif fmt == "WEBP":
        info.webp_lossless = _metadata.webp_lossless(head)
    elif fmt == "TIFF":
        info.tiff_compression = im.info.get("compression")
    return Picture(pixels, info)


def _samples(
    im: Image.Image, opener: _deep.Opener, deep: bool, notes: list[str], path: Path | None
) -> tuple[np.ndarray, str, int]:
    """Samples as uint8 / uint16 / float32 and the (mode, depth) to write back."""
    mode = im.mode
    if deep:
        arr = _deep.read_deep(opener, 0)
        return arr, _COLOUR_MODES[arr.shape[2]], 16
    im.load()
    if mode in ("L", "LA", "RGB", "RGBA"):
        return np.asarray(im), mode, 8
    if mode == "1":
        return np.asarray(im.convert("L")), "1", 1
    if mode in ("La", "RGBa", "RGBX", "YCbCr", "HSV"):
        target = {"La": "LA", "RGBa": "RGBA"}.get(mode, "RGB")
        return np.asarray(im.convert(target)), target, 8
    if mode in ("P", "PA"):
        alpha = (
            mode == "PA"
            or "transparency" in im.info
            or (im.palette is not None and im.palette.mode == "RGBA")
        )
        rgb = im.convert("RGBA" if alpha else "RGB")
        return np.asarray(rgb), "P" if mode == "P" else "RGBA", 8
    if mode == "CMYK":
        return np.asarray(im.convert("RGB")), "CMYK", 8
    if mode.startswith("I;16"):
        return np.asarray(im).astype(np.uint16), "I;16", 16
    if mode == "I":
        a = np.asarray(im)
        if a.size and (a.min() < 0 or a.max() > 65535):
            notes.append("32-bit integer samples outside 0–65535 were clipped to 16 bits")
        return np.clip(a, 0, 65535).astype(np.uint16), "I;16", 16
    if mode == "F":
        return np.asarray(im, dtype=np.float32), "F", 32
    try:
        conv = im.convert("RGBA" if "A" in mode else "RGB")
    except (ValueError, OSError):
        raise UnreadableImage(f"unsupported image mode {mode}", path) from None
    notes.append(f"mode {mode} converted to {conv.mode}")
    return np.asarray(conv), conv.mode, 8


def _file_float(arr: np.ndarray) -> np.ndarray:
    """Like :func:`to_float`, and a file's NaN or infinite float samples become 0."""
    out = to_float(arr)
    if arr.dtype.kind == "f" and not np.isfinite(out).all():
        out = np.where(np.isfinite(out), out, np.float32(0.0))
    return out


def _read_tifffile(source: Path | bytes, check: SizeCheck) -> Picture:
    arr, meta = _tiff.read_with_tifffile(source, check)
    c = arr.shape[2]
    depth = {np.dtype(np.uint8): 8, np.dtype(np.uint16): 16}.get(arr.dtype, 32)
    mode = "I;16" if (depth == 16 and c == 1) else "F" if (depth == 32 and c == 1) else ""
    info = ImageInfo(
        format="TIFF",
        mode=mode or _COLOUR_MODES[c],
        depth=depth,
        channels=c,
        size=(arr.shape[1], arr.shape[0]),
        icc=meta["icc"],
        tiff_compression="tiff_deflate",
    )
    return Picture(_file_float(arr), info)
