"""TIFF, the parts Pillow lacks.

Writing: Pillow writes no 16-bit or float colour TIFF. This small encoder writes 8-bit,
16-bit or float samples with 1–4 channels, Deflate-compressed (integers with the
horizontal predictor), with ICC profile, ImageDescription, resolution and Software.

Reading: Pillow cannot open a float colour or 16-bit gray+alpha TIFF at all; the optional
``tifffile`` package can, and is used for those when it is installed.
"""

from __future__ import annotations

import io
import struct
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

import numpy as np

from ._errors import UnreadableImage

_SHORT, _LONG, _RATIONAL, _ASCII, _UNDEFINED = 3, 4, 5, 2, 7
_MAGIC = (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+")  # classic and BigTIFF, both orders


def write_tiff(
    fh: IO[bytes],
    pixels: np.ndarray,
    *,
    icc: bytes | None = None,
    description: str | None = None,
    dpi: tuple[float, float] | None = None,
    software: str | None = None,
) -> None:
    """Write a uint8, uint16 or float32 (H, W, C) array, C in 1–4, as a Deflate TIFF."""
    if pixels.ndim == 2:
        pixels = pixels[:, :, None]
    h, w, c = pixels.shape
    floating = pixels.dtype == np.float32
    dt = np.dtype("<f4" if floating else "<u2" if pixels.dtype == np.uint16 else np.uint8)
    depth = dt.itemsize * 8
    arr = np.ascontiguousarray(pixels.astype(dt))
    if not floating:
        # horizontal predictor: each sample minus its left neighbour, modulo 2**depth
        pred = arr.copy()
        pred[:, 1:] = arr[:, 1:] - arr[:, :-1]
        arr = pred
    row_bytes = w * c * depth // 8
    rows_per_strip = max(1, min(h, (1 << 18) // max(1, row_bytes)))
    strips = [
        zlib.compress(arr[y0 : y0 + rows_per_strip].tobytes(), 6)
        for y0 in range(0, h, rows_per_strip)
    ]
    entries: list[tuple[int, int, list[int] | bytes]] = [
        (256, _LONG, [w]),
        (257, _LONG, [h]),
        (258, _SHORT, [depth] * c),
        (259, _SHORT, [8]),  # Adobe Deflate
        (262, _SHORT, [2 if c >= 3 else 1]),  # RGB or BlackIsZero
        (273, _LONG, [0] * len(strips)),  # strip offsets: filled in by _layout
        (277, _SHORT, [c]),
        (278, _LONG, [rows_per_strip]),
        (279, _LONG, [len(s) for s in strips]),
        (284, _SHORT, [1]),
        (317, _SHORT, [1 if floating else 2]),  # no predictor / horizontal differencing
        (339, _SHORT, [3 if floating else 1] * c),  # IEEE float / unsigned integer
    ]
    if description:
        entries.append((270, _ASCII, description.encode("ascii", "replace") + b"\x00"))
    if dpi:
        entries += [
            (282, _RATIONAL, [round(dpi[0] * 1000), 1000]),
            (283, _RATIONAL, [round(dpi[1] * 1000), 1000]),
            (296, _SHORT, [2]),
        ]
    if software:
        entries.append((305, _ASCII, software.encode("ascii", "replace") + b"\x00"))
    if c in (2, 4):
        entries.append((338, _SHORT, [2]))  # unassociated alpha
    if icc:
        entries.append((34675, _UNDEFINED, icc))
    entries.sort(key=lambda e: e[0])
    _layout(fh, entries, strips)


def _layout(
    fh: IO[bytes], entries: list[tuple[int, int, list[int] | bytes]], strips: list[bytes]
) -> None:
    """Header, one IFD, the values too long for it, then the strips."""
    ifd_offset = 8
    extra = ifd_offset + 2 + 12 * len(entries) + 4
    payloads = [_payload(t, v) for _, t, v in entries]
    out_of_line = sum(_pad(len(p)) for p in payloads if len(p) > 4)
    offsets, pos = [], extra + out_of_line
    for s in strips:
        offsets.append(pos)
        pos += _pad(len(s))
    i = next(i for i, e in enumerate(entries) if e[0] == 273)
    entries[i] = (273, _LONG, offsets)
    payloads[i] = _payload(_LONG, offsets)
    values: list[bytes] = []
    blobs: list[bytes] = []
    cursor = extra
    for (tag, typ, val), payload in zip(entries, payloads, strict=True):
        count = len(val) if typ != _RATIONAL else len(val) // 2
        if len(payload) <= 4:
            values.append(struct.pack("<HHI", tag, typ, count) + payload.ljust(4, b"\x00"))
        else:
            values.append(struct.pack("<HHII", tag, typ, count, cursor))
            blobs.append(payload.ljust(_pad(len(payload)), b"\x00"))
            cursor += _pad(len(payload))
    fh.write(b"II*\x00" + struct.pack("<I", ifd_offset))
    fh.write(struct.pack("<H", len(entries)) + b"".join(values) + struct.pack("<I", 0))
    fh.write(b"".join(blobs))
    for s in strips:
        fh.write(s.ljust(_pad(len(s)), b"\x00"))


def _payload(typ: int, val: list[int] | bytes) -> bytes:
    if isinstance(val, bytes):
        return val
    if typ == _SHORT:
        return struct.pack(f"<{len(val)}H", *val)
    return struct.pack(f"<{len(val)}I", *val)  # LONG and RATIONAL (pairs of LONG)


def _pad(n: int) -> int:
    return n + (n & 1)


# ---------------------------------------------------------------------- tifffile reading


def is_tiff(head: bytes) -> bool:
    return head[:4] in _MAGIC


def has_tifffile() -> bool:
    try:
        import tifffile  # noqa: F401
    except ImportError:
        return False
    return True


def read_with_tifffile(
    source: Path | bytes, check_size: Callable[[int, int], None]
) -> tuple[np.ndarray, dict[str, Any]]:
    """The first page as uint8 / uint16 / float32 (H, W, C), and its ICC profile and
    description. ``check_size(width, height)`` runs before any pixel is decoded.

    Raises:
        UnreadableImage: tifffile is missing, or cannot read this file.
    """
    where = source if isinstance(source, Path) else None
    if not has_tifffile():
        raise UnreadableImage(
            "a TIFF layout Pillow cannot read (float colour or 16-bit gray+alpha): install "
            "the tifffile package to read it",
            where,
        )
    import tifffile

    try:
        with tifffile.TiffFile(source if isinstance(source, Path) else io.BytesIO(source)) as tf:
            page: Any = tf.pages[0]
            check_size(int(page.imagewidth), int(page.imagelength))
            arr = np.asarray(page.asarray())
            if page.planarconfig == 2 and arr.ndim == 3:  # one plane per channel
                arr = np.moveaxis(arr, 0, -1)
            icc = page.tags.get(34675)
            meta = {"icc": bytes(icc.value) if icc is not None else None}
    except UnreadableImage:
        raise
    except Exception as exc:  # tifffile raises many types for bad files
        raise UnreadableImage(f"cannot decode the TIFF: {exc}", where) from None
    if arr.ndim == 2:
        arr = arr[:, :, None]
    if arr.ndim != 3 or not 1 <= arr.shape[2] <= 4:
        raise UnreadableImage(f"a TIFF of shape {arr.shape} is not a 1–4 channel image", where)
    if np.issubdtype(arr.dtype, np.floating):
        arr = arr.astype(np.float32, copy=False)
    elif arr.dtype not in (np.uint8, np.uint16):
        raise UnreadableImage(f"TIFF samples of type {arr.dtype} are not supported", where)
    return arr, meta
