"""dreamd's image codec: image files ⇄ float32 pixels, for the daemon and dream-batch alike.

numpy and Pillow only (no torch, no engine, no sockets)::

    from dreamd import codec

    picture = codec.read("photo.png")  # or the file's bytes
    picture.pixels  # float32 (H, W, C) in [0, 1]; C: 1 gray, 2 gray+alpha, 3 RGB, 4 RGBA
    picture.info  # what the file was: format, depth, alpha, ICC, EXIF, texts …
    notes = codec.write(result, picture.info, "out.png")  # same kind of file, atomically
    data, notes = codec.encode(result, picture.info)  # the same, in memory

Reading takes every format and mode Pillow opens; 16-bit samples are kept whole, 16-bit
colour PNG and TIFF included (Pillow itself cuts those to 8 bits), EXIF orientation is
applied (``orient=False`` keeps the stored layout), sizes are checked before decoding, and a
PNG cut short at a row boundary is refused. Writing puts the pixels back in the source's
form (16-bit where PNG and TIFF allow, palette, JPEG tables, ICC, EXIF, texts), with an
optional :class:`Comment` recorded inside the file and read back by :func:`comments`.
Float colour and 16-bit gray+alpha TIFFs, which Pillow cannot open, are read with the
``tifffile`` package when it is installed.

:func:`probe` tells from the header alone what :func:`read` would give (format, size,
channels, bits per sample), without decoding.

Errors: :class:`CodecError` ├ :class:`UnreadableImage` ├ :class:`ImageTooLarge`
└ :class:`WriteFailed`; each has ``reason`` (words for the user) and ``source``.
"""

from __future__ import annotations

from ._convert import from_float, orient, to_float
from ._errors import CodecError, ImageTooLarge, UnreadableImage, WriteFailed
from ._files import TMP_SUFFIX, clean_stale_temps, write
from ._info import WRITE_FORMATS, Comment, ImageInfo, Picture, format_for
from ._metadata import comments
from ._png import png_truncated
from ._probe import Probe, probe
from ._read import DEFAULT_MAX_PIXELS, SizeCheck, Source, read
from ._tiff import has_tifffile
from ._write import encode


def can_read(fmt: str, channels: int, depth: int) -> bool:
    """Whether :func:`read` can decode a ``fmt`` file (a Pillow format name) with these
    channels and bits per sample (8, 16, or 32 for float) on this machine: Pillow cannot
    open float colour or 16-bit gray+alpha TIFFs, which then need ``tifffile``."""
    if fmt == "TIFF" and ((depth == 32 and channels > 1) or (depth == 16 and channels == 2)):
        return has_tifffile()
    return True


__all__ = [
    "DEFAULT_MAX_PIXELS",
    "TMP_SUFFIX",
    "WRITE_FORMATS",
    "CodecError",
    "Comment",
    "ImageInfo",
    "ImageTooLarge",
    "Picture",
    "Probe",
    "SizeCheck",
    "Source",
    "UnreadableImage",
    "WriteFailed",
    "can_read",
    "clean_stale_temps",
    "comments",
    "encode",
    "format_for",
    "from_float",
    "orient",
    "png_truncated",
    "probe",
    "read",
    "to_float",
    "write",
]
