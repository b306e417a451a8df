"""What a file holds, from its header alone: format, size, channels and bits per sample,
as :func:`~._read.read` would decode it (a daemon checks a request against it before
queueing; nothing is decoded)."""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, UnidentifiedImageError

from . import _deep, _tiff
from ._errors import UnreadableImage
from ._read import Source, read_source


@dataclass(frozen=True)
class Probe:
    """``channels`` and ``depth`` are those :func:`read` gives: 1 gray, 2 gray+alpha, 3 RGB
    (also a palette without transparency, CMYK, YCbCr), 4 RGBA (also a palette with
    transparency); 16 for 16-bit samples, 32 for float, 8 (or 1, bilevel) otherwise."""

    format: str
    width: int
    height: int
    channels: int
    depth: int


def probe(source: Source) -> Probe:
    """Read ``source``'s header (a path, or the file's bytes).

    Raises:
        UnreadableImage: missing, empty, not an image, or a header nothing here can read.
    """
    path, data = read_source(source)
    try:
        with Image.open(path if path is not None else io.BytesIO(data)) as im:
            channels, depth = _layout(im)
            return Probe(im.format or "PNG", im.size[0], im.size[1], channels, depth)
    except UnidentifiedImageError:
        head = data[:8] if path is None else path.read_bytes()[:8]
        if _tiff.is_tiff(head) and _tiff.has_tifffile():
            return _tifffile_probe(path if path is not None else data)
        raise UnreadableImage("not an image, or a format Pillow cannot read", path) from None
    except (OSError, ValueError, SyntaxError, EOFError) as exc:
        raise UnreadableImage(f"cannot read its header: {exc}", path) from None


def _layout(im: Image.Image) -> tuple[int, int]:
    """(channels, depth) of an opened, not loaded, image, as ``_read._samples`` gives them."""
    mode = im.mode
    if _deep.deep_rawmode(im):
        # Pillow opens 16-bit grey+alpha as "RGBA"; the tile's rawmode ("LA;16B") says so.
        if _deep.tile_rawmode(im).startswith("LA"):
            return 2, 16
        return {"LA": 2, "RGB": 3, "RGBA": 4}[mode], 16
    if mode == "1":
        return 1, 1
    if mode == "L":
        return 1, 8
    if mode.startswith("I;16") or mode == "I":
        return 1, 16
    if mode == "F":
        return 1, 32
    if mode in ("LA", "La"):
        return 2, 8
    if mode == "P":
        alpha = "transparency" in im.info or (im.palette is not None and im.palette.mode == "RGBA")
        return (4 if alpha else 3), 8
    if mode in ("RGB", "RGBX", "YCbCr", "HSV", "CMYK", "LAB"):
        return 3, 8
    return (4 if "A" in mode else 3), 8


def _tifffile_probe(source: Path | bytes) -> Probe:
    import tifffile

    where = source if isinstance(source, Path) else None
    try:
        with tifffile.TiffFile(source if isinstance(source, Path) else io.BytesIO(source)) as tf:
            page = tf.pages[0]
            w, h = int(page.imagewidth), int(page.imagelength)
            c = int(page.samplesperpixel)
            kind, size = page.dtype.kind, page.dtype.itemsize
    except Exception as exc:  # tifffile raises many types for bad files
        raise UnreadableImage(f"cannot read the TIFF header: {exc}", where) from None
    return Probe("TIFF", w, h, c, 32 if kind == "f" else 8 * size)
