"""Reading 16-bit colour samples exactly with Pillow, which decodes them only as 8-bit.

Pillow decodes a 16-bit RGB(A) or gray+alpha PNG/TIFF through an unpacker that keeps one
byte of each sample. Decoding the same tiles twice, once keeping the high byte and once
(with the byte order flipped) the low byte, gives every 16-bit sample exactly; Pillow still
does the decompression, un-filtering and interlacing.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

import numpy as np
from PIL import Image

_FLIP = {"B": "L", "L": "B"}
_NATIVE = "L" if sys.byteorder == "little" else "B"

#: Opens the same file afresh (the tiles are rewritten before loading, so each pass needs
#: its own image object).
Opener = Callable[[], Image.Image]


def deep_rawmode(im: Image.Image) -> bool:
    """True when ``im`` (opened, not loaded) holds 16-bit colour samples Pillow would cut."""
    tiles = getattr(im, "tile", None)
    if im.mode not in ("RGB", "RGBA", "LA") or not tiles:
        return False
    return all(_rawmode(t.args).endswith((";16B", ";16L", ";16N")) for t in tiles)


def tile_rawmode(im: Image.Image) -> str:
    """The rawmode of an opened image's first tile ("LA;16B" for 16-bit grey+alpha PNG)."""
    tiles = getattr(im, "tile", None) or [None]  # only a file's image has tiles
    return _rawmode(tiles[0].args) if tiles[0] is not None else ""


def read_deep(opener: Opener, frame: int = 0) -> np.ndarray:
    """Decode a 16-bit colour image to a uint16 (H, W, C) array (C = 2, 3 or 4)."""
    with opener() as im:
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
    with opener() as im:
        im.seek(frame)
        im.tile = [t._replace(args=_with_rawmode(t.args, _flip(_rawmode(t.args)))) for t in im.tile]
        im.load()
        lo = np.asarray(im, dtype=np.uint16)
    return (hi << 8) | lo


def _rawmode(args: object) -> str:
    raw = args[0] if isinstance(args, tuple) and args else args
    return raw if isinstance(raw, str) else ""


def _with_rawmode(args: Any, raw: str) -> Any:
    return (raw, *args[1:]) if isinstance(args, tuple) else raw


def _order(raw: str) -> str:
    return _NATIVE if raw[-1] == "N" else raw[-1]


def _flip(raw: str) -> str:
    """The same rawmode with the other byte order: it keeps the other byte of each sample."""
    return raw[:-1] + _FLIP[_order(raw)]
