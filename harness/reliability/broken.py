"""Building blocks of broken messages: :class:`Hostile`, a valid tiny dream to break, and
PNG files that lie about their size."""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass
from typing import Any

import msgpack

from .jobs import TINY

INT64_MIN, UINT64_MAX = -(2**63), 2**64 - 1


@dataclass
class Hostile:
    """One broken message: its category, its frames, and whether the decoder alone can
    tell it is broken (some defects only show when decoding pixels or looking up a layer)."""

    category: str
    frames: list[bytes]
    decoder_rejects: bool = True
    detail: str = ""

    def __repr__(self) -> str:
        sizes = ",".join(str(len(f)) for f in self.frames)
        return f"<{self.category}: {self.detail} frames={sizes}>"


def pack(obj: Any) -> bytes:
    return msgpack.packb(obj, use_bin_type=True)


def map_of(items: list[tuple[bytes, bytes]]) -> bytes:
    """A msgpack map from already-packed keys and values (for maps msgpack would not
    write: repeated keys, invalid UTF-8, absurd nesting)."""
    n = len(items)
    head = bytes([0x80 | n]) if n < 16 else b"\xde" + struct.pack(">H", n)
    return head + b"".join(k + v for k, v in items)


def desc(w: int = 8, h: int = 8, c: int = 3, dtype: str = "u8", enc: str = "raw") -> dict:
    return {"width": w, "height": h, "channels": c, "dtype": dtype, "encoding": enc}


def valid_dream(job_id: str) -> dict[str, Any]:
    """A valid, tiny dream header (8×8 RGB, one octave, one step)."""
    return {
        "v": [1, 0],
        "type": "dream",
        "id": job_id,
        "image": desc(),
        "params": {**TINY, "seed": 1},
    }


PIXELS = bytes(8 * 8 * 3)


def png_claiming(w: int, h: int) -> bytes:
    """A PNG whose header claims w×h; its only IDAT holds 10 000 zero bytes."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    ihdr = struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 10_000)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")
