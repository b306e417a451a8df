"""Metadata in and out: EXIF (orientation, UserComment), ICC, text chunks, resolution, and
the one line of text a caller records in a file (:class:`~._info.Comment`)."""

from __future__ import annotations

import io
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from PIL import Image

from ._errors import UnreadableImage
from ._info import Comment, ImageInfo

EXIF_IFD = 0x8769
ORIENTATION = 0x0112
_USER_COMMENT = 0x9286
_DESCRIPTION = 0x010E
_USER_COMMENT_PREFIX = b"ASCII\x00\x00\x00"
#: IFD0 tags carried from a TIFF source into a TIFF output (the rest describe the layout).
TIFF_KEEP = (271, 272, 305, 306, 315, 33432)  # Make, Model, Software, DateTime, Artist, ©


def orientation_of(exif: Image.Exif) -> int:
    orientation = exif.get(ORIENTATION, 1) or 1
    return orientation if isinstance(orientation, int) and 1 <= orientation <= 8 else 1


def kept_exif(exif: Image.Exif, fmt: str, oriented: bool) -> Image.Exif | None:
    """The EXIF worth writing back: without the orientation once the pixels are turned."""
    if not len(exif):
        return None
    if fmt == "TIFF":
        # a TIFF's "EXIF" is its own directory (strip offsets …): keep the descriptive tags
        kept = Image.Exif()
        for tag in TIFF_KEEP:
            if tag in exif:
                kept[tag] = exif[tag]
        return kept if len(kept) else None
    exif.get_ifd(EXIF_IFD)  # load the sub-directory so it is written back
    if oriented and ORIENTATION in exif:
        del exif[ORIENTATION]
    return exif


def texts_of(im: Image.Image) -> dict[str, str]:
    text = getattr(im, "text", None)
    if not isinstance(text, Mapping):
        return {}
    return {str(k): str(v) for k, v in text.items()}


def dpi_of(im: Image.Image) -> tuple[float, float] | None:
    dpi = im.info.get("dpi")
    try:
        if dpi and len(dpi) == 2 and float(dpi[0]) > 0 and float(dpi[1]) > 0:
            return float(dpi[0]), float(dpi[1])
    except (TypeError, ValueError):
        pass
    return None


def webp_lossless(head: bytes) -> bool:
    """Whether a WebP file (its first 64 bytes) holds a lossless (VP8L) image."""
    return head[12:16] == b"VP8L" or (head[12:16] == b"VP8X" and b"VP8L" in head)


def png_texts(info: ImageInfo, comment: Comment | None) -> dict[str, str]:
    texts = dict(info.texts)
    if comment is not None:
        texts[comment.key] = comment.text
    return texts


def exif_bytes(exif: Image.Exif | None, comment: Comment | None) -> bytes | None:
    """EXIF to embed: the source's, with the comment (if any) as its UserComment."""
    if exif is None and comment is None:
        return None
    out = Image.Exif()
    if exif is not None:
        out.load(exif.tobytes())
    if comment is not None:
        text = comment.text.encode("ascii", "backslashreplace")
        out.get_ifd(EXIF_IFD)[_USER_COMMENT] = _USER_COMMENT_PREFIX + text
    return out.tobytes()


def comments(source: str | Path | bytes, key: str) -> list[str]:
    """Every text recorded in the places :class:`~._info.Comment` goes: the PNG text chunk
    ``key``, a GIF comment, a TIFF ImageDescription, an EXIF UserComment.

    Raises:
        UnreadableImage: the file is missing or not an image.
    """
    where = None if isinstance(source, bytes) else Path(source)
    try:
        with Image.open(io.BytesIO(source) if isinstance(source, bytes) else source) as im:
            found: list[Any] = []
            text = getattr(im, "text", None)
            if isinstance(text, Mapping):
                found.append(text.get(key))
            found.append(im.info.get("comment"))
            exif = im.getexif()
            found.append(exif.get(_DESCRIPTION))
            found.append(exif.get_ifd(EXIF_IFD).get(_USER_COMMENT))
    except (OSError, ValueError, SyntaxError) as exc:  # UnidentifiedImageError is an OSError
        raise UnreadableImage(f"cannot read its metadata: {exc}", where) from None
    out = []
    for c in found:
        if isinstance(c, bytes):
            c = c[len(_USER_COMMENT_PREFIX) :] if c.startswith(_USER_COMMENT_PREFIX) else c
            c = c.decode("utf-8", "replace")
        if isinstance(c, str) and c.strip("\x00"):
            out.append(c.rstrip("\x00"))
    return out
