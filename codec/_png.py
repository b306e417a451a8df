"""PNG, the parts Pillow lacks: a writer for 8- and 16-bit samples with 1–4 channels
(Pillow writes no 16-bit colour PNG), and a check for a PNG whose pixel data stops at a row
boundary (Pillow decodes one without a word, the missing rows black: found by the
reliability tests' fuzzing).

The writer emits IHDR, iCCP, pHYs, eXIf, tEXt/iTXt, IDAT with per-row None/Sub/Up
filters, and IEND.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Mapping
from typing import IO

import numpy as np

_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_COLOUR_TYPE = {1: 0, 2: 4, 3: 2, 4: 6}  # channels → PNG colour type
_SAMPLES = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}  # samples per pixel of each PNG colour type


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
    fh.write(_SIGNATURE)
    _chunk(fh, b"IHDR", struct.pack(">IIBBBBB", w, h, depth, _COLOUR_TYPE[c], 0, 0, 0))
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
    block = max(1, (1 << 22) // max(1, raw.shape[1]))  # rows per 4 MiB: memory stays bounded
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


def png_truncated(data: bytes | memoryview) -> bool:
    """Whether a non-interlaced PNG holds less pixel data than its header's size needs.

    Anything this cannot judge (not a PNG, interlaced, corrupt) returns False and is left
    to the decoder, which reports it in its own words. Memory stays bounded: the data is
    inflated 1 MiB at a time and only counted.
    """
    data = bytes(data)
    if not data.startswith(_SIGNATURE):
        return False
    pos, ihdr, idat = len(_SIGNATURE), b"", []
    while pos + 8 <= len(data):
        length, kind = struct.unpack(">I4s", data[pos : pos + 8])
        body = data[pos + 8 : pos + 8 + length]
        if kind == b"IHDR":
            ihdr = body
        elif kind == b"IDAT":
            idat.append(body)
        elif kind == b"IEND":
            break
        pos += 12 + length
    if len(ihdr) < 13:
        return False
    width, height = struct.unpack(">II", ihdr[:8])
    depth, colour, interlace = ihdr[8], ihdr[9], ihdr[12]
    if interlace or colour not in _SAMPLES:
        return False
    need = height * (1 + (width * _SAMPLES[colour] * depth + 7) // 8)
    inflate, got = zlib.decompressobj(), 0
    try:
        for chunk in idat:
            while chunk and got < need:
                got += len(inflate.decompress(chunk, 1 << 20))
                chunk = inflate.unconsumed_tail
    except zlib.error:
        return False
    return got < need
