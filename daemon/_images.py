"""Wire images ⇄ float32 arrays, in the worker thread (decoding costs CPU time).

Raw frames become numpy views of the received frame (``np.frombuffer``, no copy) and then
float32 (:func:`dreamd.codec.to_float`); encoded files are read and written by
:mod:`dreamd.codec`, 16-bit colour PNG and TIFF included, at full depth. The reply has the
request's form: same encoding, dtype, channel count and size (an encoded file keeps its
stored pixel layout: its EXIF orientation is not applied). Alpha, gray and 16-bit survive,
since the engine works on float32 and keeps the alpha channel aside.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from dreamd import codec
from dreamd.protocol import ErrorCode

from ._errors import JobError

_NP_DTYPES: dict[str, np.dtype[Any]] = {
    "u8": np.dtype(np.uint8),
    "u16": np.dtype("<u2"),
    "f32": np.dtype("<f4"),
}
_DEPTHS = {"u8": 8, "u16": 16, "f32": 32}  # wire dtype → the codec's bits per sample
_FORMATS = {"png": "PNG", "jpeg": "JPEG", "webp": "WEBP", "tiff": "TIFF"}


@dataclass(frozen=True)
class ReplyForm:
    """How to send a result back: the request image's own form."""

    channels: int
    dtype: str
    encoding: str

    @classmethod
    def of(cls, desc: Any) -> ReplyForm:
        return cls(int(desc.channels), str(desc.dtype), str(desc.encoding))


@dataclass
class Decoded:
    pixels: np.ndarray  # float32 (H, W, C) in [0, 1]
    notes: list[str] = field(default_factory=list)


def _bad(message: str, where: str) -> JobError:
    return JobError(ErrorCode.BAD_IMAGE, message, where)


def check_encodable(desc: Any, where: str = "image") -> None:
    """Refuse, before queueing, an encoded form this daemon could not read."""
    if desc.encoding == "raw":
        return
    if not codec.can_read(_FORMATS[desc.encoding], desc.channels, _DEPTHS[desc.dtype]):
        raise _bad(
            f"{desc.channels}-channel {desc.dtype} {desc.encoding} needs the tifffile package "
            "on the daemon's machine; send raw frames (encoding 'raw') or install tifffile",
            f"{where}.encoding",
        )


def check_file(image: Any, where: str = "image") -> None:
    """Refuse, before queueing, an encoded file whose header disagrees with its descriptor
    (``field`` names the first disagreement: ``image.width``, ``image.height``,
    ``image.channels`` or ``image.dtype``), or that has no header this daemon can read.

    Only the header (and a PNG's chunk lengths) is read, cheap enough for the request loop;
    what only decoding can reveal, such as a damaged data stream, ends the job later as
    BAD_IMAGE.
    """
    desc = image.desc
    if desc.encoding == "raw":
        return
    check_encodable(desc, where)
    if desc.encoding == "png" and codec.png_truncated(image.data):
        raise _bad("the png file is truncated (its chunks stop before IEND): send it whole", where)
    try:
        head = codec.probe(image.data)
    except codec.CodecError as exc:
        raise _bad(f"cannot read the {desc.encoding} file: {exc.reason}", where) from None
    dtype = {16: "u16", 32: "f32"}.get(head.depth, "u8")
    for name, got, said in (
        ("width", head.width, desc.width),
        ("height", head.height, desc.height),
        ("channels", head.channels, desc.channels),
        ("dtype", dtype, desc.dtype),
    ):
        if got != said:
            raise _bad(
                f"the {desc.encoding} file holds {head.width}×{head.height}, "
                f"{head.channels} channel(s), {dtype}, but the descriptor says "
                f"{desc.width}×{desc.height}, {desc.channels} channel(s), {desc.dtype} "
                f"({name} differs): describe the file as it is",
                f"{where}.{name}",
            )


def decode_pixels(image: Any, where: str = "image") -> tuple[np.ndarray, list[str]]:
    """:func:`decode` as ``(pixels, notes)``, the worker's ``DecodeFn``."""
    decoded = decode(image, where)
    return decoded.pixels, decoded.notes


def decode(image: Any, where: str = "image") -> Decoded:
    """A protocol ``Image`` (descriptor + bytes) → float32 pixels.

    Raises:
        JobError(BAD_IMAGE): the file does not decode, or does not match its descriptor.
    """
    desc = image.desc
    if desc.encoding == "raw":
        arr = np.frombuffer(image.data, dtype=_NP_DTYPES[desc.dtype])
        arr = arr.reshape(desc.height, desc.width, desc.channels)
        return Decoded(codec.to_float(arr))

    def same_size(width: int, height: int) -> None:
        # Checked before decoding: the descriptor passed the daemon's pixel limit, the file
        # may not be larger than it says.
        if (width, height) != (desc.width, desc.height):
            raise _bad(
                f"the {desc.encoding} file is {width}×{height}, the descriptor says "
                f"{desc.width}×{desc.height}",
                where,
            )

    try:
        picture = codec.read(image.data, orient=False, max_pixels=None, check_size=same_size)
    except codec.CodecError as exc:
        raise _bad(f"cannot decode the {desc.encoding} file: {exc.reason}", where) from None
    channels = picture.pixels.shape[2]
    if channels != desc.channels:
        raise _bad(
            f"the {desc.encoding} file has {channels} channel(s), the descriptor says "
            f"{desc.channels}",
            f"{where}.channels",
        )
    return Decoded(picture.pixels, picture.info.notes)


def encode(pixels: np.ndarray, form: ReplyForm) -> tuple[dict[str, Any], bytes]:
    """float32 (H, W, C) → ``(descriptor map, frame bytes)`` in ``form``."""
    if pixels.ndim == 2:
        pixels = pixels[:, :, None]
    h, w, c = pixels.shape
    desc = {
        "width": int(w),
        "height": int(h),
        "channels": int(c),
        "dtype": form.dtype,
        "encoding": form.encoding,
        "colorspace": "sRGB",
    }
    if form.encoding == "raw":
        arr = codec.from_float(pixels, _NP_DTYPES[form.dtype].newbyteorder("="))
        return desc, np.ascontiguousarray(arr, dtype=_NP_DTYPES[form.dtype]).tobytes()
    info = codec.ImageInfo.plain(_FORMATS[form.encoding], c, _DEPTHS[form.dtype], (w, h))
    data, _ = codec.encode(pixels, info)  # the protocol allows only forms the format holds
    return desc, data
