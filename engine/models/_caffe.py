"""Caffe's ``.caffemodel`` read without Caffe and without a compiled schema.

A caffemodel is one protobuf ``NetParameter``. Only the few fields that hold weights are
decoded here, with a small reader of the protobuf wire format; field numbers are those of
Caffe's ``caffe.proto``:

- ``NetParameter``: ``layers`` = 2 (``V1LayerParameter``, the 2014 layout of the published
  ``bvlc_googlenet.caffemodel``), ``layer`` = 100 (``LayerParameter``, the current layout).
- ``V1LayerParameter``: ``name`` = 4, ``blobs`` = 6. ``LayerParameter``: ``name`` = 1,
  ``blobs`` = 7.
- ``BlobProto``: ``num``/``channels``/``height``/``width`` = 1–4 (legacy dims), ``data`` = 5
  (packed float), ``double_data`` = 8, ``shape`` = 7 (``BlobShape``: ``dim`` = 1, packed int64).

Everything else (layer types, parameters, ``diff``) is skipped by its wire type.
"""

from __future__ import annotations

import math
from collections.abc import Iterator

import numpy as np

# NetParameter
_NET_V1_LAYERS = 2
_NET_LAYER = 100
# (name field, blobs field) of V1LayerParameter and LayerParameter
_LAYER_FIELDS = {_NET_V1_LAYERS: (4, 6), _NET_LAYER: (1, 7)}
# BlobProto
_BLOB_LEGACY_DIMS = (1, 2, 3, 4)
_BLOB_DATA = 5
_BLOB_SHAPE = 7
_BLOB_DOUBLE_DATA = 8
# BlobShape
_SHAPE_DIM = 1

_VARINT, _FIXED64, _BYTES, _FIXED32 = 0, 1, 2, 5


class CaffeFormatError(ValueError):
    """The bytes are not a caffemodel, or one cut short; the message says what was found."""


Field = tuple[int, int, "int | memoryview"]


def read_layers(data: bytes | memoryview) -> dict[str, list[np.ndarray]]:
    """The weight blobs of every layer that has some, by layer name, in file order.

    Each blob is a float32 array in its stored shape (legacy blobs are 4-D:
    ``num × channels × height × width``).

    Raises:
        CaffeFormatError: not protobuf, cut short, or a NetParameter with no layers.
    """
    buf = memoryview(data).cast("B")
    layers: dict[str, list[np.ndarray]] = {}
    seen_layers = 0
    for number, wire, value in _fields(buf, "the file"):
        if number not in _LAYER_FIELDS or wire != _BYTES:
            continue
        assert isinstance(value, memoryview)
        seen_layers += 1
        name, blobs = _layer(value, *_LAYER_FIELDS[number])
        if blobs:
            layers[name] = blobs
    if not seen_layers:
        raise CaffeFormatError("it holds no network layers (is it a caffemodel?)")
    return layers


def _layer(buf: memoryview, name_field: int, blobs_field: int) -> tuple[str, list[np.ndarray]]:
    name = ""
    blobs: list[np.ndarray] = []
    for number, wire, value in _fields(buf, "a layer"):
        if wire != _BYTES:
            continue
        assert isinstance(value, memoryview)
        if number == name_field:
            try:
                name = bytes(value).decode("utf-8")
            except UnicodeDecodeError:
                raise CaffeFormatError("a layer name is not text") from None
        elif number == blobs_field:
            blobs.append(_blob(value, name))
    return name, blobs


def _blob(buf: memoryview, layer: str) -> np.ndarray:
    legacy: dict[int, int] = {}
    shape: list[int] | None = None
    chunks: list[np.ndarray] = []
    doubles: list[np.ndarray] = []
    for number, wire, value in _fields(buf, "a weight blob"):
        if number in _BLOB_LEGACY_DIMS and wire == _VARINT:
            assert isinstance(value, int)
            legacy[number] = value
        elif number == _BLOB_SHAPE and wire == _BYTES:
            assert isinstance(value, memoryview)
            shape = _dims(value)
        elif number in (_BLOB_DATA, _BLOB_DOUBLE_DATA):
            dtype = "<f4" if number == _BLOB_DATA else "<f8"
            out = chunks if number == _BLOB_DATA else doubles
            if wire == _BYTES:  # packed, as caffe.proto declares it
                assert isinstance(value, memoryview)
                if len(value) % np.dtype(dtype).itemsize:
                    raise CaffeFormatError(f"layer {layer!r}: blob data is cut mid-number")
                out.append(np.frombuffer(value, dtype))
            elif wire in (_FIXED32, _FIXED64):  # unpacked: one number per field
                assert isinstance(value, memoryview)
                out.append(np.frombuffer(value, dtype))
    values = chunks or doubles
    flat = (
        np.concatenate(values).astype(np.float32, copy=False) if values else np.zeros(0, np.float32)
    )
    if shape is None:
        shape = [legacy.get(n, 1) for n in _BLOB_LEGACY_DIMS] if legacy else [flat.size]
    if any(d < 0 for d in shape) or math.prod(shape) != flat.size:
        raise CaffeFormatError(
            f"layer {layer!r}: a blob of shape {tuple(shape)} holds {flat.size} numbers"
        )
    return flat.reshape(shape)


def _dims(buf: memoryview) -> list[int]:
    dims: list[int] = []
    for number, wire, value in _fields(buf, "a blob shape"):
        if number != _SHAPE_DIM:
            continue
        if wire == _BYTES:  # packed
            assert isinstance(value, memoryview)
            pos = 0
            while pos < len(value):
                d, pos = _varint(value, pos, "a blob shape")
                dims.append(_signed(d))
        elif wire == _VARINT:
            assert isinstance(value, int)
            dims.append(_signed(value))
    return dims


def _signed(v: int) -> int:
    """int64 from its varint encoding (two's complement over 64 bits)."""
    return v - (1 << 64) if v >= 1 << 63 else v


def _fields(buf: memoryview, where: str) -> Iterator[Field]:
    """(field number, wire type, value) of each field of a message; ``value`` is an int for
    varints and a view of the bytes otherwise."""
    pos, end = 0, len(buf)
    while pos < end:
        key, pos = _varint(buf, pos, where)
        number, wire = key >> 3, key & 7
        if number == 0:
            raise CaffeFormatError(f"{where} is not protobuf (field number 0)")
        if wire == _VARINT:
            value, pos = _varint(buf, pos, where)
            yield number, wire, value
            continue
        if wire == _BYTES:
            size, pos = _varint(buf, pos, where)
        elif wire == _FIXED64:
            size = 8
        elif wire == _FIXED32:
            size = 4
        else:
            raise CaffeFormatError(f"{where} is not protobuf (wire type {wire})")
        if pos + size > end:
            raise CaffeFormatError(f"{where} is cut short ({pos + size - end} bytes missing)")
        yield number, wire, buf[pos : pos + size]
        pos += size


def _varint(buf: memoryview, pos: int, where: str) -> tuple[int, int]:
    result = shift = 0
    end = len(buf)
    while True:
        if pos >= end:
            raise CaffeFormatError(f"{where} is cut short (inside a number)")
        byte = buf[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, pos
        shift += 7
        if shift >= 70:
            raise CaffeFormatError(f"{where} is not protobuf (a number longer than 10 bytes)")
