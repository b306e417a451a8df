"""Minimal PNG reading and writing for the GIMP tests: 8- and 16-bit, grey/RGB, ± alpha.

Pillow cannot hold 16-bit RGB, and the tests must see exactly what GIMP exported, so this
reads the file itself: IHDR, the IDAT stream and the five row filters. Not interlaced.
"""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import numpy as np

_CHANNELS = {0: 1, 2: 3, 4: 2, 6: 4}  # PNG colour type → channels
_COLOR_TYPE = {v: k for k, v in _CHANNELS.items()}


def _chunk(kind: bytes, data: bytes) -> bytes:
    body = kind + data
    return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))


def write_png(path: Path, pixels: np.ndarray) -> None:
    """``pixels``: H×W×C (C 1–4) uint8 or uint16."""
    if pixels.ndim == 2:
        pixels = pixels[:, :, None]
    h, w, c = pixels.shape
    depth = 16 if pixels.dtype == np.uint16 else 8
    if depth == 8 and pixels.dtype != np.uint8:
        raise TypeError(f"unsupported dtype {pixels.dtype}")
    ihdr = struct.pack(">IIBBBBB", w, h, depth, _COLOR_TYPE[c], 0, 0, 0)
    rows = pixels.astype(">u2" if depth == 16 else "u1").reshape(h, -1)
    raw = b"".join(b"\x00" + row.tobytes() for row in rows)
    data = (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", ihdr)
        + _chunk(b"IDAT", zlib.compress(raw, 6))
        + _chunk(b"IEND", b"")
    )
    Path(path).write_bytes(data)


def png_info(path: Path) -> tuple[int, int, int, int]:
    """(width, height, bit depth, channels) from the IHDR."""
    data = Path(path).read_bytes()
    if data[:8] != b"\x89PNG\r\n\x1a\n" or data[12:16] != b"IHDR":
        raise ValueError(f"{path} is not a PNG")
    w, h, depth, ctype = struct.unpack(">IIBB", data[16:26])
    return w, h, depth, _CHANNELS[ctype]


def read_png(path: Path) -> np.ndarray:
    """H×W×C uint8 or uint16 array of a non-interlaced, non-palette PNG."""
    data = Path(path).read_bytes()
    w, h, depth, c = png_info(path)
    if depth not in (8, 16):
        raise ValueError(f"bit depth {depth} not supported")
    if data[28] != 0:
        raise ValueError("interlaced PNG not supported")
    pos, idat = 8, b""
    while pos < len(data):
        (n,) = struct.unpack(">I", data[pos : pos + 4])
        kind = data[pos + 4 : pos + 8]
        if kind == b"IDAT":
            idat += data[pos + 8 : pos + 8 + n]
        pos += 12 + n
    raw = zlib.decompress(idat)
    bpp = c * depth // 8
    stride = w * bpp
    out = np.zeros((h, stride), dtype=np.int32)
    prev = np.zeros(stride, dtype=np.int32)
    for y in range(h):
        f = raw[y * (stride + 1)]
        line = np.frombuffer(raw, np.uint8, stride, y * (stride + 1) + 1).astype(np.int32)
        cur = np.zeros(stride, dtype=np.int32)
        if f == 0:
            cur = line
        elif f == 2:
            cur = (line + prev) & 0xFF
        else:
            for i in range(stride):
                a = cur[i - bpp] if i >= bpp else 0
                b = prev[i]
                if f == 1:
                    pred = a
                elif f == 3:
                    pred = (a + b) // 2
                elif f == 4:
                    cc = prev[i - bpp] if i >= bpp else 0
                    p = a + b - cc
                    pa, pb, pc = abs(p - a), abs(p - b), abs(p - cc)
                    pred = a if pa <= pb and pa <= pc else (b if pb <= pc else cc)
                else:
                    raise ValueError(f"bad filter {f}")
                cur[i] = (line[i] + pred) & 0xFF
        out[y] = cur
        prev = cur
    bytes_ = out.astype(np.uint8)
    if depth == 16:
        arr = bytes_.reshape(h, w * c, 2)
        return (arr[:, :, 0].astype(np.uint16) << 8 | arr[:, :, 1]).reshape(h, w, c)
    return bytes_.reshape(h, w, c)
