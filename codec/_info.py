"""What a file was (so that a result can be written back as the same kind of file), and
which formats the codec writes."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

#: Formats the codec writes (Pillow name → canonical suffix); a name with another suffix is
#: written as PNG.
WRITE_FORMATS: dict[str, str] = {
    "PNG": ".png",
    "JPEG": ".jpg",
    "WEBP": ".webp",
    "TIFF": ".tif",
    "BMP": ".bmp",
    "GIF": ".gif",
    "PPM": ".ppm",
    "TGA": ".tga",
}

_MODES_8 = {1: "L", 2: "LA", 3: "RGB", 4: "RGBA"}


@dataclass
class ImageInfo:
    """What an image file was, so the output can be the same kind of file.

    ``format`` is the Pillow format name of the source; ``depth`` the bits per sample a
    result is written with (1, 8, 16, or 32 for float); ``channels`` those of the float
    pixels (1 gray, 2 gray+alpha, 3 RGB, 4 RGBA). The rest is carried into the output
    where its format has a place for it.
    """

    format: str
    mode: str  # the Pillow mode to write back (La → LA, RGBX → RGB, 16-bit colour → RGB …)
    depth: int
    channels: int
    size: tuple[int, int]  # (width, height) of the pixels (after orientation, if applied)
    icc: bytes | None = None
    exif: Image.Exif | None = None  # without the orientation tag once it has been applied
    texts: dict[str, str] = field(default_factory=dict)
    dpi: tuple[float, float] | None = None
    jpeg_tables: Any = None
    jpeg_subsampling: int = -1
    progressive: bool = False
    webp_lossless: bool = False
    tiff_compression: str | None = None
    transparency: bool = False
    frames: int = 1
    orientation: int = 1  # the source's EXIF orientation
    notes: list[str] = field(default_factory=list)

    @property
    def has_alpha(self) -> bool:
        return self.channels in (2, 4)

    @classmethod
    def plain(cls, fmt: str, channels: int, depth: int, size: tuple[int, int]) -> ImageInfo:
        """A new file with no source to imitate: no metadata, lossless WebP, Deflate TIFF,
        JPEG at quality 95.

        ``depth`` 16 or 32 asks for 16-bit samples where the format has them (PNG, TIFF)
        and float samples in a TIFF for 32.
        """
        if depth == 16 and channels == 1:
            mode = "I;16"
        elif depth == 32 and channels == 1:
            mode = "F"
        else:
            mode = _MODES_8[channels]
        return cls(
            format=fmt,
            mode=mode,
            depth=depth,
            channels=channels,
            size=size,
            webp_lossless=True,
            tiff_compression="tiff_deflate",
        )


@dataclass
class Picture:
    """Decoded pixels, float32 (H, W, C) in [0, 1], and what their file was."""

    pixels: np.ndarray
    info: ImageInfo


@dataclass(frozen=True)
class Comment:
    """A line of text to record inside a written file, found again by :func:`comments`.

    Where it goes: a PNG text chunk named ``key``, the EXIF UserComment of a JPEG or WebP,
    the ImageDescription of a TIFF, the comment of a GIF. Other formats have no place.
    """

    key: str
    text: str


def format_for(path: str | Path) -> str:
    """The format a file with this name is written in: its suffix's, else PNG."""
    Image.init()
    fmt = Image.registered_extensions().get(Path(path).suffix.lower(), "")
    fmt = "JPEG" if fmt == "MPO" else fmt
    return fmt if fmt in WRITE_FORMATS else "PNG"
