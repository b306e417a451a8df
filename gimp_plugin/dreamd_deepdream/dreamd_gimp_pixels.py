"""The DeepDream plug-in's pixels, without GIMP: the format a layer travels in, the part of
it that is sent, and its alpha kept as it was.

Copied next to ``dreamd_deepdream.py`` into GIMP's plug-in folder and imported there as a
top-level module (``import dreamd_gimp_pixels``); the tests import it from the source tree
as ``dreamd.gimp.dreamd_deepdream.dreamd_gimp_pixels``. It runs under GIMP's own Python, so
it uses only the standard library, and imports no ``gi`` and no sibling module.
"""

from __future__ import annotations

import array
from dataclasses import dataclass

# ---------------------------------------------------------------------------------------------
# Pixel formats


@dataclass(frozen=True)
class PixelFormat:
    """How a layer's pixels are read from GEGL and described on the wire."""

    babl: str  # e.g. "R'G'B'A u16": always the non-linear (perceptual) encoding
    dtype: str  # protocol dtype: "u8", "u16" or "f32"
    channels: int  # 1 (Y'), 2 (Y'A), 3 (R'G'B'), 4 (R'G'B'A)

    @property
    def bytes_per_sample(self) -> int:
        return {"u8": 1, "u16": 2, "f32": 4}[self.dtype]

    @property
    def has_alpha(self) -> bool:
        return self.channels in (2, 4)

    def row_bytes(self, width: int) -> int:
        return width * self.channels * self.bytes_per_sample


def pixel_format(precision_name: str, is_gray: bool, has_alpha: bool) -> PixelFormat:
    """The format to read a drawable in, from its image's precision name.

    ``precision_name`` is a ``Gimp.Precision`` value's name such as
    ``GIMP_PRECISION_U16_NON_LINEAR`` (``U8_...``, ``U16_...``, ``U32_...``, ``HALF_...``,
    ``FLOAT_...``, ``DOUBLE_...``). 8- and 16-bit integer images travel as u8/u16; every
    other precision travels as 32-bit float (lossless for half and float). Pixels are always
    read non-linear (R'G'B'), the encoding DeepDream models were trained on; GEGL converts
    back to the layer's own encoding when the result is written.
    """
    name = precision_name.upper()
    if name.startswith("GIMP_PRECISION_"):
        name = name[len("GIMP_PRECISION_") :]
    if name.startswith("U8"):
        dtype, babl_type = "u8", "u8"
    elif name.startswith("U16"):
        dtype, babl_type = "u16", "u16"
    else:
        dtype, babl_type = "f32", "float"
    base = ("Y'" if is_gray else "R'G'B'") + ("A" if has_alpha else "")
    channels = (1 if is_gray else 3) + (1 if has_alpha else 0)
    return PixelFormat(f"{base} {babl_type}", dtype, channels)


_ARRAY_CODE = {"u8": "B", "u16": "H", "f32": "f"}


def restore_alpha(result: bytes, source: bytes, fmt: PixelFormat) -> bytes:
    """``result`` with its alpha samples replaced by ``source``'s (same size and format)."""
    if not fmt.has_alpha:
        return result
    if len(result) != len(source):
        raise ValueError(f"result has {len(result)} bytes, source {len(source)}")
    code = _ARRAY_CODE[fmt.dtype]
    out = array.array(code)
    out.frombytes(result)
    src = array.array(code)
    src.frombytes(source)
    c = fmt.channels
    out[c - 1 :: c] = src[c - 1 :: c]
    return out.tobytes()


# ---------------------------------------------------------------------------------------------
# Geometry


def dream_rect(
    intersect: tuple[int, int, int, int],
    layer_size: tuple[int, int],
    has_selection: bool,
    margin: int = 32,
) -> tuple[int, int, int, int]:
    """The part of the layer (layer coordinates) to send: the selection's bounds, grown by
    ``margin`` pixels of context and clamped to the layer; the whole layer without a selection.
    """
    lw, lh = layer_size
    if not has_selection:
        return (0, 0, lw, lh)
    x, y, w, h = intersect
    x0 = max(0, x - margin)
    y0 = max(0, y - margin)
    x1 = min(lw, x + w + margin)
    y1 = min(lh, y + h + margin)
    return (x0, y0, x1 - x0, y1 - y0)
