"""dream-batch's side of the image codec (:mod:`dreamd.codec` reads and writes the files).

What is dream-batch's own: how large an input may be (:class:`Limits`, counting the
upscaling a small image needs to be dreamed), the parameters recorded inside each output
(PNG text chunk ``dream-batch``, EXIF UserComment for JPEG/WebP, ImageDescription for
TIFF, the comment of a GIF) and read back by :func:`read_params`, output names, and its
own error classes for the codec's.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from dreamd import codec

from ._errors import ImageTooLarge, UnreadableImage, WriteFailed

#: Key of the PNG text chunk (and marker inside the other containers) holding the parameters.
PARAMS_KEY = "dream-batch"
TMP_SUFFIX = codec.TMP_SUFFIX
#: Output formats dream-batch writes (Pillow name → canonical suffix); other formats → PNG.
WRITE_FORMATS = codec.WRITE_FORMATS
#: ``--format`` spellings.
FORMAT_NAMES: dict[str, str] = {
    "png": "PNG",
    "jpeg": "JPEG",
    "jpg": "JPEG",
    "webp": "WEBP",
    "tiff": "TIFF",
    "tif": "TIFF",
    "bmp": "BMP",
    "gif": "GIF",
}

output_format = codec.format_for
clean_stale_temps = codec.clean_stale_temps


@dataclass(frozen=True)
class Limits:
    """What an input may be before it is refused without decoding.

    ``max_pixels`` bounds the pixels dreamed: an image whose short side is under
    ``min_work_side`` is dreamed upscaled, so it counts at that size.
    """

    max_pixels: int = 100_000_000
    min_work_side: int = 64

    def check(self, path: Path, size: tuple[int, int]) -> None:
        w, h = size  # at least 1×1: the codec refuses an empty image first
        short = min(w, h)
        scale = max(1.0, self.min_work_side / short)
        work = w * h * scale * scale
        if w * h > self.max_pixels or work > self.max_pixels:
            what = "" if w * h > self.max_pixels else " once its short side is upscaled to dream"
            raise ImageTooLarge(
                path,
                f"{w}×{h} is too large{what}: over {self.max_pixels / 1e6:g} megapixels "
                "(refused without decoding; raise --max-megapixels if it is genuine)",
            )


@dataclass
class LoadedImage:
    path: Path
    pixels: np.ndarray  # float32 (H, W, C) in [0, 1]
    info: codec.ImageInfo


def read_image(path: str | Path, limits: Limits | None = None) -> LoadedImage:
    """Decode ``path`` to float32 pixels and what the file was (see :func:`codec.read`).

    Raises:
        UnreadableImage: missing, empty, corrupt, truncated, not an image, odd mode.
        ImageTooLarge: a decompression bomb or an absurd size, refused before decoding.
    """
    p = Path(path)
    limits = limits or Limits()
    try:
        picture = codec.read(p, max_pixels=None, check_size=lambda w, h: limits.check(p, (w, h)))
    except codec.ImageTooLarge as exc:
        raise ImageTooLarge(p, exc.reason) from None
    except codec.CodecError as exc:
        raise UnreadableImage(p, exc.reason) from None
    # the parameters of an earlier dream are not this output's
    picture.info.texts.pop(PARAMS_KEY, None)
    return LoadedImage(p, picture.pixels, picture.info)


def write_image(
    pixels: np.ndarray,
    info: codec.ImageInfo,
    dest: str | Path,
    *,
    params: Mapping[str, Any] | None = None,
    quality: int | None = None,
) -> list[str]:
    """Write ``pixels`` to ``dest`` as the same kind of file as ``info`` describes, in the
    format ``dest``'s suffix names, atomically, with ``params`` recorded inside.

    Returns:
        Notes worth telling the user (alpha dropped, depth reduced, no metadata container).

    Raises:
        WriteFailed: nothing was written.
    """
    comment = codec.Comment(PARAMS_KEY, params_text(params)) if params is not None else None
    try:
        return codec.write(pixels, info, dest, comment=comment, quality=quality)
    except codec.WriteFailed as exc:
        raise WriteFailed(dest, exc.reason, exc.errno) from None


def output_rel(rel: Path, fmt: str | None = None) -> Path:
    """Relative output name for a relative input name.

    With ``fmt`` (a Pillow format name) the suffix becomes that format's; without it the
    name is kept when dream-batch can write that format, else ``.png`` is appended.
    """
    if fmt is not None:
        if output_format(rel) == fmt and rel.suffix:
            return rel
        return (
            rel.with_suffix(WRITE_FORMATS[fmt])
            if rel.suffix
            else rel.with_name(rel.name + WRITE_FORMATS[fmt])
        )
    Image.init()
    known = Image.registered_extensions().get(rel.suffix.lower())
    if known in WRITE_FORMATS or known == "MPO":
        return rel
    return rel.with_name(rel.name + ".png")


def params_text(params: Mapping[str, Any]) -> str:
    """The recorded form: one line of ASCII JSON."""
    return json.dumps(dict(params), sort_keys=True, separators=(",", ":"), ensure_ascii=True)


def read_params(path: str | Path) -> dict[str, Any] | None:
    """The parameters dream-batch recorded in an output file, or None.

    Raises:
        UnreadableImage: the file is missing or not an image.
    """
    try:
        found = codec.comments(path, PARAMS_KEY)
    except codec.CodecError as exc:
        raise UnreadableImage(path, exc.reason) from None
    for text in found:
        if not text.startswith("{"):
            continue
        try:
            value = json.loads(text)
        except ValueError:
            continue
        if isinstance(value, dict) and value.get("tool") == PARAMS_KEY:
            return value
    return None
