"""Encoding float32 pixels as the same kind of file as :class:`ImageInfo` describes.

16-bit (and float) results go to the codec's own PNG/TIFF writers where Pillow has no such
mode; everything else through Pillow, with the source's metadata, palette, JPEG tables,
WebP losslessness and TIFF compression carried over where the output format has a place
for them. What cannot be kept (alpha in a JPEG, 16 bits in a WebP …) comes back as a note.
"""

from __future__ import annotations

import io
from typing import IO, Any

import numpy as np
from PIL import Image, PngImagePlugin, TiffImagePlugin

from . import _metadata
from ._convert import from_float
from ._errors import WriteFailed
from ._info import WRITE_FORMATS, Comment, ImageInfo
from ._png import write_png
from ._tiff import write_tiff

_ALPHA_FORMATS = frozenset({"PNG", "WEBP", "TIFF", "GIF", "TGA", "BMP"})
_DEEP_FORMATS = frozenset({"PNG", "TIFF"})
_MODES = {1: "L", 2: "LA", 3: "RGB", 4: "RGBA"}


def encode(
    pixels: np.ndarray,
    info: ImageInfo,
    fmt: str | None = None,
    *,
    comment: Comment | None = None,
    quality: int | None = None,
) -> tuple[bytes, list[str]]:
    """float32 (H, W, C) pixels → the bytes of a file like ``info``'s, in ``fmt`` (a Pillow
    format name; default: ``info``'s own, PNG when the codec cannot write that one).

    Returns:
        The file's bytes, and notes worth telling the user (alpha dropped, depth reduced …).

    Raises:
        WriteFailed: the pixels cannot be encoded so.
    """
    buf = io.BytesIO()
    try:
        notes = encode_into(buf, pixels, info, writable(fmt or info.format), comment, quality)
    except (OSError, ValueError, TypeError, KeyError) as exc:
        raise WriteFailed(f"cannot encode: {type(exc).__name__}: {exc}") from None
    return buf.getvalue(), notes


def writable(fmt: str) -> str:
    fmt = "JPEG" if fmt == "MPO" else fmt
    return fmt if fmt in WRITE_FORMATS else "PNG"


def encode_into(
    fh: IO[bytes],
    pixels: np.ndarray,
    info: ImageInfo,
    fmt: str,
    comment: Comment | None,
    quality: int | None,
) -> list[str]:
    """Write the file to ``fh`` (seekable); returns the notes."""
    notes: list[str] = []
    if pixels.ndim == 2:
        pixels = pixels[:, :, None]
    c = pixels.shape[2]
    alpha_ok = fmt in _ALPHA_FORMATS
    if c in (2, 4) and not alpha_ok:
        notes.append(f"alpha dropped: {fmt} has no alpha channel")
        pixels = pixels[:, :, : c - 1]
        c -= 1
    if _deep_write(fh, pixels, info, fmt, comment):
        return notes
    if info.depth in (16, 32) and fmt not in _DEEP_FORMATS:
        notes.append(f"saved with 8 bits per sample: {fmt} has no {info.depth}-bit form")
    im = _pil_image(pixels, info, fmt)
    kw = _save_options(im, info, fmt, comment, quality, notes)
    try:
        im.save(fh, format=fmt, **kw)
    except OSError as exc:
        if "cannot write mode" not in str(exc):
            raise
        target = "RGBA" if ("A" in im.mode or im.mode == "P") and alpha_ok else "RGB"
        notes.append(f"{fmt} cannot hold mode {im.mode}: saved as {target}")
        fh.seek(0)
        fh.truncate()
        im = im.convert(target)
        im.save(fh, format=fmt, **_save_options(im, info, fmt, comment, quality, notes))
    return notes


def _deep_write(
    fh: IO[bytes], pixels: np.ndarray, info: ImageInfo, fmt: str, comment: Comment | None
) -> bool:
    """16-bit PNG (any channels, also for float sources), 16-bit or float colour TIFF:
    the forms Pillow cannot write. False when Pillow is to write the file."""
    c = pixels.shape[2]
    if fmt == "PNG" and info.depth in (16, 32):
        write_png(
            fh,
            from_float(pixels, np.uint16),
            icc=info.icc,
            exif=_metadata.exif_bytes(info.exif, None),
            texts=_metadata.png_texts(info, comment),
            dpi=info.dpi,
        )
        return True
    if fmt == "TIFF" and info.depth in (16, 32) and c > 1:
        samples = from_float(pixels, np.uint16 if info.depth == 16 else np.float32)
        write_tiff(
            fh,
            samples,
            icc=info.icc,
            description=comment.text if comment else None,
            dpi=info.dpi,
            software=comment.key if comment else None,
        )
        return True
    return False


def _pil_image(pixels: np.ndarray, info: ImageInfo, fmt: str) -> Image.Image:
    c = pixels.shape[2]
    if info.depth == 16 and c == 1 and fmt == "TIFF":
        return Image.fromarray(from_float(pixels[:, :, 0], np.uint16))
    if info.depth == 32 and c == 1 and fmt == "TIFF":
        return Image.fromarray(np.ascontiguousarray(pixels[:, :, 0], dtype=np.float32))
    u8 = from_float(pixels, np.uint8)
    im = Image.fromarray(u8[:, :, 0] if c == 1 else u8)
    im = im if im.mode == _MODES[c] else im.convert(_MODES[c])
    mode = info.mode
    if mode == "1" and c == 1 and fmt != "JPEG":
        return im.convert("1")
    if mode == "P" and fmt != "JPEG":
        return _palette(im, fmt)
    if mode == "CMYK" and c == 3 and fmt in ("JPEG", "TIFF"):
        return im.convert("CMYK")
    if fmt == "JPEG" and im.mode not in ("L", "RGB"):
        return im.convert("RGB")
    return im


def _palette(im: Image.Image, fmt: str) -> Image.Image:
    alpha = np.asarray(im)[:, :, 3] if im.mode == "RGBA" else None
    if alpha is not None and (fmt == "GIF" or np.isin(alpha, (0, 255)).all()):
        # one transparent palette index (all GIF has): 255 colours plus "clear"
        rgb = im.convert("RGB").quantize(255, method=Image.Quantize.MEDIANCUT)
        idx = np.asarray(rgb).copy()
        idx[alpha < 128] = 255
        pal = Image.fromarray(idx, "P")
        colours = (rgb.getpalette() or [])[: 255 * 3]
        pal.putpalette(colours + [0] * (768 - len(colours)))  # index 255 must exist
        pal.info["transparency"] = 255
        return pal
    if alpha is not None:
        return im.quantize(256, method=Image.Quantize.FASTOCTREE)
    return im.convert("RGB").quantize(256, method=Image.Quantize.MEDIANCUT)


def _save_options(
    im: Image.Image,
    info: ImageInfo,
    fmt: str,
    comment: Comment | None,
    quality: int | None,
    notes: list[str],
) -> dict[str, Any]:
    kw: dict[str, Any] = {}
    if info.icc and fmt in ("PNG", "JPEG", "WEBP", "TIFF"):
        kw["icc_profile"] = info.icc
    if info.dpi and fmt in ("PNG", "JPEG", "TIFF", "BMP"):
        kw["dpi"] = info.dpi
    if fmt == "PNG":
        pnginfo = PngImagePlugin.PngInfo()
        for k, v in _metadata.png_texts(info, comment).items():
            pnginfo.add_itxt(k, v) if not _latin1(v) else pnginfo.add_text(k, v)
        kw["pnginfo"] = pnginfo
        exif = _metadata.exif_bytes(info.exif, None)
        if exif:
            kw["exif"] = exif
    elif fmt in ("JPEG", "WEBP"):
        exif = _metadata.exif_bytes(info.exif, comment)
        if exif:
            kw["exif"] = exif
        kw.update(_jpeg_options(im, info, quality) if fmt == "JPEG" else _webp(info, quality))
    elif fmt == "TIFF":
        kw.update(_tiff_options(im, info, comment, quality))
    elif fmt == "GIF":
        if comment:
            kw["comment"] = comment.text
    elif comment:
        notes.append(f"{fmt} has no place for metadata: the {comment.key} record is not kept")
    if quality is not None and fmt not in ("JPEG", "WEBP", "TIFF"):
        notes.append(f"quality has no effect on {fmt}")
    return kw


def _jpeg_options(im: Image.Image, info: ImageInfo, quality: int | None) -> dict[str, Any]:
    kw: dict[str, Any] = {}
    if quality is not None:
        kw["quality"] = quality
    elif info.format in ("JPEG", "MPO") and info.jpeg_tables and im.mode != "CMYK":
        # the source's own quantization: the output looks as compressed as its input
        kw["qtables"] = info.jpeg_tables
        if info.jpeg_subsampling >= 0:
            kw["subsampling"] = info.jpeg_subsampling
    else:
        kw["quality"] = 95
    if info.progressive:
        kw["progressive"] = True
    return kw


def _webp(info: ImageInfo, quality: int | None) -> dict[str, Any]:
    if quality is not None:
        return {"quality": quality}
    if info.webp_lossless:
        return {"lossless": True}
    return {"quality": 90}


def _tiff_options(
    im: Image.Image, info: ImageInfo, comment: Comment | None, quality: int | None
) -> dict[str, Any]:
    kw: dict[str, Any] = {}
    if comment:
        kw["description"] = comment.text
    if info.exif is not None and info.format == "TIFF":
        ifd = TiffImagePlugin.ImageFileDirectory_v2()
        for tag in _metadata.TIFF_KEEP:
            if tag in info.exif:
                ifd[tag] = info.exif[tag]
        kw["tiffinfo"] = ifd
    comp = info.tiff_compression if info.format == "TIFF" else "tiff_deflate"
    if comp == "jpeg" and im.mode not in ("RGB", "L", "CMYK"):
        comp = "tiff_deflate"
    if comp and comp != "raw":
        kw["compression"] = comp
    if comp == "jpeg" and quality is not None:
        kw["quality"] = quality
    return kw


def _latin1(s: str) -> bool:
    try:
        s.encode("latin-1")
    except UnicodeEncodeError:
        return False
    return True
