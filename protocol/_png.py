"""A check Pillow lacks: a PNG whose pixel data stops exactly at a row boundary.

Pillow refuses most truncated files, but decodes one whose compressed data ends cleanly
after a whole row without a word, the missing rows black (found by the reliability
tests' fuzzing). Both dreamd and dream-batch refuse such files with this check.
Standard library only, like the rest of ``protocol``.
"""

from __future__ import annotations

import struct
import zlib

_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_SAMPLES = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}  # samples per pixel of each PNG colour type


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
