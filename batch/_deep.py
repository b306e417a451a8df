"""16-bit colour images, which Pillow decodes and encodes only as 8-bit.

Reading: Pillow decodes a 16-bit RGB(A) or gray+alpha PNG/TIFF through an unpacker that
keeps one byte of each sample. Decoding the same tiles twice, once keeping the high byte
and once (with the byte order flipped) the low byte, gives every 16-bit sample exactly;
Pillow still does the decompression, un-filtering and interlacing.

Writing: a small PNG encoder (IHDR, iCCP, pHYs, eXIf, tEXt/iTXt, IDAT with per-row
Sub/Up/None filters, IEND) and a small TIFF encoder (Deflate with horizontal predictor,
ICC profile, ImageDescription), both for 8- or 16-bit samples with 1–4 channels.
"""

from __future__ import annotations

import struct
import sys
import zlib
from collections.abc import Mapping
from typing import IO, Any

import numpy as np
from PIL import Image

_FLIP = {"B": "L", "L": "B"}
_NATIVE = "L" if sys.byteorder == "little" else "B"


def deep_rawmode(im: Image.Image) -> bool:
    """True when ``im`` (opened, not loaded) holds 16-bit colour samples Pillow would cut."""
    tiles = getattr(im, "tile", None)
    if im.mode not in ("RGB", "RGBA", "LA") or not tiles:
        return False
    return all(_rawmode(t.args).endswith((";16B", ";16L", ";16N")) for t in tiles)


def _rawmode(args: object) -> str:
    raw = args[0] if isinstance(args, tuple) and args else args
    return raw if isinstance(raw, str) else ""


def _with_rawmode(args: Any, raw: str) -> Any:
    return (raw, *args[1:]) if isinstance(args, tuple) else raw


def _order(raw: str) -> str:
    return _NATIVE if raw[-1] == "N" else raw[-1]


def read_deep(path: str, frame: int = 0) -> np.ndarray:
    """Decode a 16-bit colour image to a uint16 (H, W, C) array (C = 2, 3 or 4)."""
    with Image.open(path) as im:
        im.seek(frame)
        raw = _rawmode(im.tile[0].args)
        if raw.startswith("LA;"):
            # gray+alpha: 4 bytes per pixel, which the identity RGBA unpacker keeps whole
            im._mode = "RGBA"
            im.tile = [t._replace(args=_with_rawmode(t.args, "RGBA")) for t in im.tile]
            im.load()
            b = np.asarray(im, dtype=np.uint16)
            if _order(raw) == "L":
                b = b[:, :, [1, 0, 3, 2]]
            return np.stack([(b[:, :, 0] << 8) | b[:, :, 1], (b[:, :, 2] << 8) | b[:, :, 3]], -1)
        im.load()
        hi = np.asarray(im, dtype=np.uint16)
    with Image.open(path) as im:
        im.seek(frame)
        im.tile = [t._replace(args=_with_rawmode(t.args, _flip(_rawmode(t.args)))) for t in im.tile]
        im.load()
        lo = np.asarray(im, dtype=np.uint16)
    return (hi << 8) | lo


def _flip(raw: str) -> str:
    """The same rawmode with the other byte order: it keeps the other byte of each sample."""
    return raw[:-1] + _FLIP[_order(raw)]


# ---------------------------------------------------------------------------- PNG writer

_PNG_COLOUR = {1: 0, 2: 4, 3: 2, 4: 6}


def write_png(
    fh: IO[bytes],
    pixels: np.ndarray,
    *,
    icc: bytes | None = None,
    exif: bytes | None = None,
    texts: Mapping[str, str] | None = None,
    dpi: tuple[float, float] | None = None,
    level: int = 6,
) -> None:
    """Write a uint8 or uint16 (H, W, C) array, C in 1–4, as a PNG."""
    if pixels.ndim == 2:
        pixels = pixels[:, :, None]
    h, w, c = pixels.shape
    depth = 16 if pixels.dtype == np.uint16 else 8
    fh.write(b"\x89PNG\r\n\x1a\n")
    _chunk(fh, b"IHDR", struct.pack(">IIBBBBB", w, h, depth, _PNG_COLOUR[c], 0, 0, 0))
    if icc:
        _chunk(fh, b"iCCP", b"ICC Profile\x00\x00" + zlib.compress(icc))
    if dpi:
        ppm = [max(1, round(d / 0.0254)) for d in dpi]
        _chunk(fh, b"pHYs", struct.pack(">IIB", ppm[0], ppm[1], 1))
    if exif:
        _chunk(fh, b"eXIf", exif[6:] if exif.startswith(b"Exif\x00\x00") else exif)
    for key, value in (texts or {}).items():
        k = key.encode("latin-1", "replace")[:79]
        try:
            _chunk(fh, b"tEXt", k + b"\x00" + value.encode("latin-1"))
        except UnicodeEncodeError:
            _chunk(fh, b"iTXt", k + b"\x00\x00\x00\x00\x00" + value.encode("utf-8"))
    bpp = c * depth // 8
    rows = np.ascontiguousarray(pixels.astype(">u2" if depth == 16 else np.uint8))
    raw = rows.view(np.uint8).reshape(h, w * bpp)
    comp = zlib.compressobj(level)
    block = max(1, (1 << 22) // max(1, raw.shape[1]))
    for y0 in range(0, h, block):
        data = comp.compress(_filter_rows(raw, y0, min(h, y0 + block), bpp).tobytes())
        if data:
            _chunk(fh, b"IDAT", data)
    _chunk(fh, b"IDAT", comp.flush())
    _chunk(fh, b"IEND", b"")


def _filter_rows(raw: np.ndarray, y0: int, y1: int, bpp: int) -> np.ndarray:
    """Rows y0..y1 each prefixed by the filter (None, Sub or Up) that compresses best."""
    cur = raw[y0:y1]
    prev = raw[y0 - 1 : y1 - 1] if y0 > 0 else np.vstack([np.zeros_like(raw[:1]), raw[: y1 - 1]])
    sub = cur.copy()
    sub[:, bpp:] = cur[:, bpp:] - cur[:, :-bpp]
    up = cur - prev
    cands = np.stack([cur, sub, up])
    cost = np.abs(cands.view(np.int8).astype(np.int32)).sum(axis=2)
    best = cost.argmin(axis=0)
    out = np.empty((y1 - y0, raw.shape[1] + 1), dtype=np.uint8)
    out[:, 0] = np.array([0, 1, 2], dtype=np.uint8)[best]
    out[:, 1:] = cands[best, np.arange(y1 - y0)]
    return out


def _chunk(fh: IO[bytes], kind: bytes, data: bytes) -> None:
    fh.write(struct.pack(">I", len(data)))
    fh.write(kind)
    fh.write(data)
    fh.write(struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))


# --------------------------------------------------------------------------- TIFF writer

_SHORT, _LONG, _RATIONAL, _ASCII, _UNDEFINED = 3, 4, 5, 2, 7
_TYPE_SIZE = {_SHORT: 2, _LONG: 4, _RATIONAL: 8, _ASCII: 1, _UNDEFINED: 1}


def write_tiff(
    fh: IO[bytes],
    pixels: np.ndarray,
    *,
    icc: bytes | None = None,
    description: str | None = None,
    dpi: tuple[float, float] | None = None,
    software: str | None = None,
) -> None:
    """Write a uint8 or uint16 (H, W, C) array, C in 1–4, as a Deflate-compressed TIFF."""
    if pixels.ndim == 2:
        pixels = pixels[:, :, None]
    h, w, c = pixels.shape
    depth = 16 if pixels.dtype == np.uint16 else 8
    dt = np.dtype("<u2") if depth == 16 else np.dtype(np.uint8)
    arr = np.ascontiguousarray(pixels.astype(dt))
    # horizontal predictor: each sample minus its left neighbour, modulo 2**depth
    pred = arr.copy()
    pred[:, 1:] = arr[:, 1:] - arr[:, :-1]
    row_bytes = w * c * depth // 8
    rows_per_strip = max(1, min(h, (1 << 18) // max(1, row_bytes)))
    strips = [
        zlib.compress(pred[y0 : y0 + rows_per_strip].tobytes(), 6)
        for y0 in range(0, h, rows_per_strip)
    ]
    entries: list[tuple[int, int, list[int] | bytes]] = [
        (256, _LONG, [w]),
        (257, _LONG, [h]),
        (258, _SHORT, [depth] * c),
        (259, _SHORT, [8]),  # Adobe Deflate
        (262, _SHORT, [2 if c >= 3 else 1]),  # RGB or BlackIsZero
        (273, _LONG, [0] * len(strips)),  # filled in below
        (277, _SHORT, [c]),
        (278, _LONG, [rows_per_strip]),
        (279, _LONG, [len(s) for s in strips]),
        (284, _SHORT, [1]),
        (317, _SHORT, [2]),  # horizontal differencing
        (339, _SHORT, [1] * c),
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

    ifd_offset = 8
    ifd_size = 2 + 12 * len(entries) + 4
    extra = ifd_offset + ifd_size
    blobs: list[bytes] = []
    values: list[bytes] = []
    strip_entry_index = next(i for i, e in enumerate(entries) if e[0] == 273)
    # first pass: lay out out-of-line values, then the strips after them
    payloads = [_payload(t, v) for _, t, v in entries]
    out_of_line = sum(_pad(len(p)) for p in payloads if len(p) > 4)
    strip_start = extra + out_of_line
    offsets, pos = [], strip_start
    for s in strips:
        offsets.append(pos)
        pos += _pad(len(s))
    tag, typ, _ = entries[strip_entry_index]
    entries[strip_entry_index] = (tag, typ, offsets)
    payloads[strip_entry_index] = _payload(typ, offsets)
    cursor = extra
    for (tag, typ, val), payload in zip(entries, payloads):
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
