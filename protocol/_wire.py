"""Frames and headers: msgpack with limits, and the small checks every field goes through.

Everything here raises :class:`MessageInvalid` with the code and the dotted field path
that the ``error`` reply will carry.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import msgpack
import zmq

from ._errors import ErrorCode, MessageInvalid
from ._limits import Limits
from ._version import format_versions

#: What a frame may be: bytes, any byte buffer, or a ``zmq.Frame`` from ``copy=False``.
FrameLike = bytes | bytearray | memoryview | zmq.Frame

#: Keys every header has.
COMMON_FIELDS = frozenset({"v", "type", "id"})
MAX_ID_LENGTH = 64


def buffer_of(frame: FrameLike) -> bytes | memoryview:
    """The frame's bytes without copying: ``bytes`` as is, anything else as a flat
    unsigned-byte memoryview (which keeps its owner, e.g. the ``zmq.Frame``, alive)."""
    if isinstance(frame, bytes):
        return frame
    view = frame.buffer if isinstance(frame, zmq.Frame) else memoryview(frame)
    if view.format != "B" or view.ndim != 1:
        # cast() is a view, not a copy; it needs C-contiguous memory, which frames are.
        view = view.cast("B")
    return view


def frame_size(frame: FrameLike) -> int:
    """Length in bytes, without touching the contents."""
    if isinstance(frame, (bytes, bytearray)):
        return len(frame)
    if isinstance(frame, zmq.Frame):
        return len(frame)
    return memoryview(frame).nbytes


def pack_header(header: Mapping[str, Any]) -> bytes:
    """msgpack-encode a header (strings as ``str``; no ``bin``, no ext types)."""
    return msgpack.packb(header, use_bin_type=True)


def _unique_map(pairs: list[tuple[Any, Any]]) -> dict[Any, Any]:
    # A repeated key would let two readers of the same message see different values.
    result = dict(pairs)
    if len(result) != len(pairs):
        raise ValueError("repeated key in a map")
    return result


def unpack_header(frame: FrameLike, limits: Limits) -> dict[str, Any]:
    """Decode frame 0 into a map, refusing anything over the limits before allocating it."""
    size = frame_size(frame)
    if size > limits.max_header_bytes:
        raise MessageInvalid(
            ErrorCode.TOO_LARGE,
            f"header is {size} bytes, the limit is {limits.max_header_bytes}",
        )
    try:
        header = msgpack.unpackb(
            buffer_of(frame),
            raw=False,
            strict_map_key=True,
            use_list=True,
            object_pairs_hook=_unique_map,
            max_str_len=limits.max_string,
            max_bin_len=0,  # pixels travel in frames, never inside the header
            max_array_len=limits.max_array,
            max_map_len=limits.max_map,
            max_ext_len=0,
        )
    except Exception as exc:  # msgpack raises a zoo of types for bad input
        raise MessageInvalid(
            ErrorCode.BAD_MESSAGE, f"header is not valid msgpack: {type(exc).__name__}: {exc}"
        ) from None
    if not isinstance(header, dict):
        raise MessageInvalid(
            ErrorCode.BAD_MESSAGE, f"header must be a msgpack map, got {kind_of(header)}"
        )
    _check_plain(header)
    return header


def _check_plain(root: object) -> None:
    """Only nil, bool, int, float, str, array and map with str keys (zero-length ``bin``
    slips past ``max_bin_len=0``). Iterative, so deep nesting cannot exhaust the stack."""
    stack = [root]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            for key, value in item.items():
                if not isinstance(key, str):
                    raise MessageInvalid(ErrorCode.BAD_MESSAGE, "map keys must be strings")
                stack.append(value)
        elif isinstance(item, list):
            stack.extend(item)
        elif item is not None and not isinstance(item, (bool, int, float, str)):
            raise MessageInvalid(ErrorCode.BAD_MESSAGE, f"headers hold no {kind_of(item)} values")


def kind_of(value: object) -> str:
    """The msgpack name of a Python value's type, for messages."""
    if value is None:
        return "nil"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float"
    if isinstance(value, str):
        return "str"
    if isinstance(value, (bytes, bytearray, memoryview)):
        return "bin"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "map"
    return type(value).__name__


def path(parent: str, name: str | int) -> str:
    """``path("params", "jitter") == "params.jitter"``, ``path("layers", 2) == "layers[2]"``."""
    if isinstance(name, int):
        return f"{parent}[{name}]"
    return f"{parent}.{name}" if parent else name


def bad(field: str, message: str) -> MessageInvalid:
    return MessageInvalid(ErrorCode.BAD_VALUE, message, field)


def check_known(obj: Mapping[str, Any], allowed: frozenset[str] | set[str], parent: str) -> None:
    """Refuse the first key (in sorted order, so the answer is stable) that is not allowed."""
    unknown = sorted(set(obj) - set(allowed))
    if unknown:
        where = f"in {parent}" if parent else "in this message"
        raise MessageInvalid(
            ErrorCode.UNKNOWN_FIELD,
            f"unknown field {unknown[0]!r} {where}; known: {', '.join(sorted(allowed))}",
            path(parent, unknown[0]),
        )


def get_int(
    obj: Mapping[str, Any],
    name: str,
    parent: str,
    lo: int,
    hi: int,
    *,
    default: int | None = None,
    required: bool = False,
    nullable: bool = False,
) -> int | None:
    """An integer field in ``[lo, hi]``; ``bool`` is not an integer here."""
    field = path(parent, name)
    if name not in obj:
        if required:
            raise bad(field, "is required")
        return default
    value = obj[name]
    if value is None and nullable:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise bad(field, f"must be an integer, got {kind_of(value)}")
    if not lo <= value <= hi:
        raise bad(field, f"must be between {lo} and {hi}, got {value}")
    return value


def require_int(obj: Mapping[str, Any], name: str, parent: str, lo: int, hi: int) -> int:
    value = get_int(obj, name, parent, lo, hi, required=True)
    assert value is not None
    return value


def get_float(
    obj: Mapping[str, Any],
    name: str,
    parent: str,
    lo: float,
    hi: float,
    *,
    default: float | None = None,
    required: bool = False,
) -> float | None:
    """A finite number in ``[lo, hi]`` (an integer is accepted as a number)."""
    field = path(parent, name)
    if name not in obj:
        if required:
            raise bad(field, "is required")
        return default
    return check_float(obj[name], field, lo, hi)


def check_float(value: object, field: str, lo: float, hi: float) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise bad(field, f"must be a number, got {kind_of(value)}")
    number = float(value) if isinstance(value, float) else value
    if isinstance(number, float) and not math.isfinite(number):
        raise bad(field, f"must be a finite number, got {value}")
    if not lo <= number <= hi:
        raise bad(field, f"must be between {lo:g} and {hi:g}, got {value}")
    return float(number)


def get_str(
    obj: Mapping[str, Any],
    name: str,
    parent: str,
    *,
    max_len: int,
    min_len: int = 0,
    default: str | None = None,
    required: bool = False,
    nullable: bool = False,
    choices: Sequence[str] | None = None,
) -> str | None:
    """A string field, optionally one of ``choices``."""
    field = path(parent, name)
    if name not in obj:
        if required:
            raise bad(field, "is required")
        return default
    value = obj[name]
    if value is None and nullable:
        return None
    if not isinstance(value, str):
        raise bad(field, f"must be a string, got {kind_of(value)}")
    if choices is not None and value not in choices:
        raise bad(field, f"must be one of {', '.join(choices)}, got {value!r}")
    if not min_len <= len(value) <= max_len:
        raise bad(field, f"must be {min_len} to {max_len} characters long, got {len(value)}")
    return value


def require_str(obj: Mapping[str, Any], name: str, parent: str, *, max_len: int) -> str:
    value = get_str(obj, name, parent, max_len=max_len, required=True)
    assert value is not None
    return value


def get_bool(obj: Mapping[str, Any], name: str, parent: str, default: bool) -> bool:
    if name not in obj:
        return default
    value = obj[name]
    if not isinstance(value, bool):
        raise bad(path(parent, name), f"must be true or false, got {kind_of(value)}")
    return value


def get_map(
    obj: Mapping[str, Any], name: str, parent: str, *, required: bool = False
) -> dict[str, Any] | None:
    field = path(parent, name)
    if name not in obj or obj[name] is None:
        if required:
            raise bad(field, "is required")
        return None
    value = obj[name]
    if not isinstance(value, dict):
        raise bad(field, f"must be a map, got {kind_of(value)}")
    return value


def valid_id(value: object) -> bool:
    """Ids are 1–64 printable characters: they end up in logs, so no control characters."""
    return isinstance(value, str) and 1 <= len(value) <= MAX_ID_LENGTH and value.isprintable()


def check_id(value: object, field: str) -> str:
    if not isinstance(value, str):
        raise bad(field, f"must be a string, got {kind_of(value)}")
    if not valid_id(value):
        raise bad(field, f"must be 1 to {MAX_ID_LENGTH} printable characters")
    return value


def check_version(
    header: Mapping[str, Any], spoken: tuple[tuple[int, int], ...]
) -> tuple[int, int]:
    """``v`` must be ``[major, minor]`` with a major in ``spoken``."""
    if "v" not in header:
        raise MessageInvalid(ErrorCode.BAD_MESSAGE, "header has no protocol version 'v'", "v")
    v = header["v"]
    if (
        not isinstance(v, list)
        or len(v) != 2
        or any(isinstance(n, bool) or not isinstance(n, int) or n < 0 for n in v)
    ):
        raise MessageInvalid(
            ErrorCode.BAD_MESSAGE, "'v' must be [major, minor], two non-negative integers", "v"
        )
    major, minor = v
    if major not in {s[0] for s in spoken}:
        raise MessageInvalid(
            ErrorCode.UNSUPPORTED_VERSION,
            f"protocol {major}.{minor} is not spoken here; this side speaks "
            f"{format_versions(spoken)}",
            "v",
        )
    return (major, minor)
