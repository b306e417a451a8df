"""Image descriptors and images: the pixels stay in their frame, never copied.

Raw pixels are interleaved (``RGBARGBA…``), row-major from the top-left corner,
little-endian for ``u16`` and ``f32``. Nominal ranges: ``u8`` 0–255, ``u16`` 0–65535,
``f32`` 0.0–1.0. Channels: 1 grey, 2 grey+alpha, 3 RGB, 4 RGBA. Colour space: sRGB
(gamma-encoded, as GIMP's ``R'G'B'`` formats).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, cast

from ._errors import ErrorCode, MessageInvalid
from ._limits import Limits
from ._wire import (
    FrameLike,
    bad,
    buffer_of,
    check_known,
    frame_size,
    get_str,
    path,
    require_int,
)

Dtype = Literal["u8", "u16", "f32"]
Encoding = Literal["raw", "png", "jpeg", "webp", "tiff"]

DTYPES: dict[str, int] = {"u8": 1, "u16": 2, "f32": 4}  # name → bytes per sample
ENCODINGS: tuple[str, ...] = ("raw", "png", "jpeg", "webp", "tiff")
COLORSPACES: tuple[str, ...] = ("sRGB",)

# What each file format can hold; a descriptor claiming more is lying about its file.
_ENCODED_DTYPES: dict[str, tuple[str, ...]] = {
    "png": ("u8", "u16"),
    "jpeg": ("u8",),
    "webp": ("u8",),
    "tiff": ("u8", "u16", "f32"),
}
_ENCODED_CHANNELS: dict[str, tuple[int, ...]] = {
    "png": (1, 2, 3, 4),
    "jpeg": (1, 3),
    "webp": (3, 4),
    "tiff": (1, 2, 3, 4),
}

_DESC_FIELDS = frozenset({"width", "height", "channels", "dtype", "encoding", "colorspace"})


def _magic_ok(encoding: str, head: bytes) -> bool:
    """Does the file start the way ``encoding`` files start? Checked before any decoder
    sees the bytes, so that a file is only ever given to the decoder it claims to need."""
    if encoding == "png":
        return head.startswith(b"\x89PNG\r\n\x1a\n")
    if encoding == "jpeg":
        return head.startswith(b"\xff\xd8\xff")
    if encoding == "webp":
        return head[:4] == b"RIFF" and head[8:12] == b"WEBP"
    if encoding == "tiff":
        # classic TIFF and BigTIFF, both byte orders
        return head[:4] in (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+")
    return False


def _desc_problem(
    width: int, height: int, channels: int, dtype: str, encoding: str, colorspace: str
) -> tuple[str, str] | None:
    """The first thing wrong with a descriptor as ``(subfield, message)``, else ``None``."""
    for name, value in (("width", width), ("height", height)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            return name, f"must be a positive integer, got {value!r}"
    if isinstance(channels, bool) or not isinstance(channels, int) or not 1 <= channels <= 4:
        return "channels", f"must be 1, 2, 3 or 4, got {channels!r}"
    if dtype not in DTYPES:
        return "dtype", f"must be one of {', '.join(DTYPES)}, got {dtype!r}"
    if encoding not in ENCODINGS:
        return "encoding", f"must be one of {', '.join(ENCODINGS)}, got {encoding!r}"
    if colorspace not in COLORSPACES:
        return "colorspace", f"must be one of {', '.join(COLORSPACES)}, got {colorspace!r}"
    if encoding != "raw":
        if dtype not in _ENCODED_DTYPES[encoding]:
            return "dtype", f"{encoding} holds only {', '.join(_ENCODED_DTYPES[encoding])}"
        if channels not in _ENCODED_CHANNELS[encoding]:
            allowed = ", ".join(str(c) for c in _ENCODED_CHANNELS[encoding])
            return "channels", f"{encoding} holds {allowed} channels, not {channels}"
    return None


@dataclass(frozen=True)
class ImageDesc:
    """What a pixel frame holds. For an encoded image it describes the picture inside the
    file, and the daemon checks it against the file's own header before decoding."""

    width: int
    height: int
    channels: int = 4
    dtype: Dtype = "u8"
    encoding: Encoding = "raw"
    colorspace: str = "sRGB"

    def __post_init__(self) -> None:
        problem = _desc_problem(
            self.width, self.height, self.channels, self.dtype, self.encoding, self.colorspace
        )
        if problem:
            raise ValueError(f"ImageDesc.{problem[0]} {problem[1]}")

    @property
    def pixels(self) -> int:
        """width × height."""
        return self.width * self.height

    @property
    def itemsize(self) -> int:
        """Bytes per sample: 1, 2 or 4."""
        return DTYPES[self.dtype]

    @property
    def raw_size(self) -> int:
        """Bytes of the raw pixels: width × height × channels × itemsize."""
        return self.width * self.height * self.channels * self.itemsize

    def to_wire(self) -> dict[str, Any]:
        """The msgpack map for this descriptor."""
        return {
            "width": self.width,
            "height": self.height,
            "channels": self.channels,
            "dtype": self.dtype,
            "encoding": self.encoding,
            "colorspace": self.colorspace,
        }


@dataclass(frozen=True, eq=False)
class Image:
    """A descriptor and its bytes. ``data`` is kept as given (``bytes`` or a flat byte
    ``memoryview`` over any buffer, e.g. a received ``zmq.Frame`` or a numpy array): it is
    never copied, so do not modify the buffer while a request that sends it is in flight.
    """

    desc: ImageDesc
    data: bytes | memoryview = field(repr=False)

    def __post_init__(self) -> None:
        if not isinstance(self.data, bytes):
            view = memoryview(self.data)
            if not view.c_contiguous:
                raise ValueError("Image.data must be C-contiguous memory")
            # A flat byte view of the same memory: len() is then the byte length.
            object.__setattr__(self, "data", buffer_of(view))
        size = len(self.data)
        if self.desc.encoding == "raw":
            if size != self.desc.raw_size:
                raise ValueError(
                    f"Image.data has {size} bytes; {self.desc.width}×{self.desc.height}×"
                    f"{self.desc.channels} {self.desc.dtype} needs {self.desc.raw_size}"
                )
        elif size == 0:
            raise ValueError("an encoded Image needs the file's bytes")

    @classmethod
    def raw(
        cls,
        data: bytes | bytearray | memoryview | Any,
        width: int,
        height: int,
        channels: int = 4,
        dtype: Dtype = "u8",
    ) -> Image:
        """Interleaved, row-major pixels (little-endian for u16/f32)."""
        return cls(ImageDesc(width, height, channels, dtype, "raw"), _view(data))

    @classmethod
    def encoded(
        cls,
        data: bytes | bytearray | memoryview | Any,
        encoding: Encoding,
        width: int,
        height: int,
        channels: int,
        dtype: Dtype = "u8",
    ) -> Image:
        """The bytes of a png/jpeg/webp/tiff file and what the picture in it is."""
        return cls(ImageDesc(width, height, channels, dtype, encoding), _view(data))

    @property
    def width(self) -> int:
        return self.desc.width

    @property
    def height(self) -> int:
        return self.desc.height

    @property
    def channels(self) -> int:
        return self.desc.channels

    @property
    def dtype(self) -> Dtype:
        return self.desc.dtype

    @property
    def nbytes(self) -> int:
        """Length of ``data`` in bytes."""
        return len(self.data)

    def tobytes(self) -> bytes:
        """A ``bytes`` copy of the data (the one place this package copies pixels)."""
        return bytes(self.data)

    def __repr__(self) -> str:
        return f"Image({self.desc!r}, {self.nbytes} bytes)"


def _view(data: Any) -> bytes | memoryview:
    return data if isinstance(data, bytes) else memoryview(data)


def check_desc(obj: object, field_name: str, limits: Limits, max_pixels: int) -> ImageDesc:
    """Validate a descriptor map; the pixel cap is checked before anything is allocated."""
    if not isinstance(obj, Mapping):
        raise bad(field_name, "must be an image descriptor map")
    check_known(obj, _DESC_FIELDS, field_name)
    width = require_int(obj, "width", field_name, 1, limits.max_side)
    height = require_int(obj, "height", field_name, 1, limits.max_side)
    channels = require_int(obj, "channels", field_name, 1, 4)
    dtype = get_str(obj, "dtype", field_name, max_len=8, default="u8", choices=tuple(DTYPES))
    encoding = get_str(obj, "encoding", field_name, max_len=8, default="raw", choices=ENCODINGS)
    colorspace = get_str(
        obj, "colorspace", field_name, max_len=16, default="sRGB", choices=COLORSPACES
    )
    assert dtype is not None and encoding is not None and colorspace is not None
    if width * height > max_pixels:
        raise MessageInvalid(
            ErrorCode.TOO_LARGE,
            f"{width}×{height} is {width * height} pixels, the limit is {max_pixels}",
            field_name,
        )
    problem = _desc_problem(width, height, channels, dtype, encoding, colorspace)
    if problem:
        raise MessageInvalid(ErrorCode.BAD_IMAGE, problem[1], path(field_name, problem[0]))
    return ImageDesc(
        width, height, channels, cast(Dtype, dtype), cast(Encoding, encoding), colorspace
    )


def check_frame(desc: ImageDesc, frame: FrameLike, field_name: str, limits: Limits) -> Image:
    """Pair a descriptor with its frame: exact length for raw, cap and magic for encoded."""
    size = frame_size(frame)
    if desc.encoding == "raw":
        if size != desc.raw_size:
            raise MessageInvalid(
                ErrorCode.BAD_IMAGE,
                f"frame has {size} bytes but {desc.width}×{desc.height}×{desc.channels} "
                f"{desc.dtype} needs exactly {desc.raw_size}",
                field_name,
            )
    else:
        if size > limits.max_encoded_bytes:
            raise MessageInvalid(
                ErrorCode.TOO_LARGE,
                f"encoded image is {size} bytes, the limit is {limits.max_encoded_bytes}",
                field_name,
            )
        data = buffer_of(frame)
        if not _magic_ok(desc.encoding, bytes(data[:12])):
            raise MessageInvalid(
                ErrorCode.BAD_IMAGE,
                f"frame does not start like a {desc.encoding} file",
                field_name,
            )
        return Image(desc, data)
    return Image(desc, buffer_of(frame))
