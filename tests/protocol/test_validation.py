"""Every validation rule of decode_request: the right code, the right field, and the
request id kept whenever it could be read (so the error reply reaches the request)."""

from __future__ import annotations

import contextlib
import math
from typing import Any

import msgpack
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dreamd.protocol import (
    DEFAULT_LIMITS,
    DreamRequest,
    ErrorCode,
    Limits,
    MessageInvalid,
    decode_request,
)

RGBA_2x2 = {"width": 2, "height": 2, "channels": 4, "dtype": "u8", "encoding": "raw"}
PIXELS_2x2 = b"\x80" * 16
PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 32
JPEG = b"\xff\xd8\xff\xe0" + b"\0" * 32


def pack(obj: Any) -> bytes:
    return msgpack.packb(obj, use_bin_type=True)


def dream(**fields: Any) -> dict[str, Any]:
    return {"v": [1, 0], "type": "dream", "id": "job-1", "image": dict(RGBA_2x2), **fields}


def rejected(frames: list[Any], limits: Limits = DEFAULT_LIMITS) -> MessageInvalid:
    with pytest.raises(MessageInvalid) as info:
        decode_request(frames, limits)
    return info.value


def check(
    frames: list[Any], code: ErrorCode, field: str | None, limits: Limits = DEFAULT_LIMITS
) -> MessageInvalid:
    err = rejected(frames, limits)
    assert (err.code, err.field) == (code, field), err
    return err


# ------------------------------------------------------------------ framing, msgpack


def test_no_frames() -> None:
    check([], ErrorCode.BAD_MESSAGE, None)


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"\xc1",  # never-used msgpack byte
        b"garbage that is not msgpack",
        pack({"v": [1, 0], "type": "ping", "id": "x"})[:-3],  # truncated
        pack({"v": [1, 0], "type": "ping", "id": "x"}) + b"\x00",  # trailing data
        b"\x82\xa1a\x01\xa1a\x02",  # {"a": 1, "a": 2}: a repeated key
        pack({1: 2}),  # non-string key
        pack({"v": [1, 0], "type": "ping", "id": "x", "blob": b"\x01"}),  # bin
        pack({"v": [1, 0], "type": "ping", "id": "x", "blob": b""}),  # empty bin
        pack({"v": [1, 0], "type": "ping", "id": "x", "e": msgpack.ExtType(5, b"z")}),
        b"\x91" * 5000 + b"\xc0",  # nested 5000 deep
        b"\xa3\xff\xfe\xfd",  # invalid UTF-8 in a string
    ],
)
def test_bad_msgpack(raw: bytes) -> None:
    check([raw], ErrorCode.BAD_MESSAGE, None)


@pytest.mark.parametrize("header", [[1, 2], 7, "ping", None, True])
def test_header_must_be_a_map(header: Any) -> None:
    err = check([pack(header)], ErrorCode.BAD_MESSAGE, None)
    assert "map" in err.message


def test_header_size_cap() -> None:
    h = {"v": [1, 0], "type": "hello", "id": "x", "client": "a" * 3000}
    big = pack({**h, "pad": ["y" * 1000] * 70})
    assert len(big) > 64 * 1024
    check([big], ErrorCode.TOO_LARGE, None)


def test_msgpack_length_caps() -> None:
    limits = Limits(max_string=10, max_array=3, max_map=8)
    check([pack(dream(model="m" * 11))], ErrorCode.BAD_MESSAGE, None, limits)
    check(
        [pack(dream(params={"layers": ["a", "b", "c", "d"]}))], ErrorCode.BAD_MESSAGE, None, limits
    )


def test_too_many_frames_keeps_the_id() -> None:
    frames = [pack(dream()), PIXELS_2x2, *[b""] * 9]  # 11 frames: one past 10
    err = check(frames, ErrorCode.TOO_LARGE, None)
    assert err.request_id == "job-1"


@pytest.mark.parametrize(
    ("frames", "why"),
    [
        ([pack(dream())], "no image frame"),
        ([pack(dream()), PIXELS_2x2, PIXELS_2x2], "one frame too many"),
        ([pack(dream(guide=dict(RGBA_2x2))), PIXELS_2x2], "guide frame missing"),
        ([pack({"v": [1, 0], "type": "ping", "id": "x"}), b"x"], "ping with a frame"),
        ([pack({"v": [1, 0], "type": "hello", "id": "x"}), b"x"], "hello with a frame"),
    ],
)
def test_frame_count_must_match(frames: list[bytes], why: str) -> None:
    check(frames, ErrorCode.BAD_MESSAGE, None)


# ----------------------------------------------------------- version, type, id, fields


def test_missing_version() -> None:
    err = check([pack({"type": "ping", "id": "x"})], ErrorCode.BAD_MESSAGE, "v")
    assert err.request_id == "x"


@pytest.mark.parametrize("v", ["1.0", [1], [1, 0, 0], [1, -1], [True, 0], [1.0, 0], None])
def test_malformed_version(v: Any) -> None:
    check([pack({"v": v, "type": "ping", "id": "x"})], ErrorCode.BAD_MESSAGE, "v")


@pytest.mark.parametrize("v", [[2, 0], [0, 9], [99, 1]])
def test_unsupported_major(v: list[int]) -> None:
    err = check([pack({"v": v, "type": "ping", "id": "x"})], ErrorCode.UNSUPPORTED_VERSION, "v")
    assert "1.2" in err.message and f"{v[0]}.{v[1]}" in err.message
    assert err.request_id == "x"


def test_version_is_checked_before_type() -> None:
    # A v2 peer may use types v1 does not know: the version is what to report.
    check([pack({"v": [2, 0], "type": "teleport", "id": "x"})], ErrorCode.UNSUPPORTED_VERSION, "v")


def test_missing_and_unknown_type() -> None:
    check([pack({"v": [1, 0], "id": "x"})], ErrorCode.BAD_MESSAGE, "type")
    check([pack({"v": [1, 0], "id": "x", "type": 3})], ErrorCode.BAD_MESSAGE, "type")
    err = check(
        [pack({"v": [1, 0], "id": "x", "type": "teleport"})], ErrorCode.UNKNOWN_TYPE, "type"
    )
    assert "dream" in err.message
    # A reply type is not a request type.
    check([pack({"v": [1, 0], "id": "x", "type": "pong"})], ErrorCode.UNKNOWN_TYPE, "type")


@pytest.mark.parametrize("bad_id", ["", "x" * 65, 7, None, "line\nbreak", ["x"]])
def test_bad_id(bad_id: Any) -> None:
    err = check([pack({"v": [1, 0], "type": "ping", "id": bad_id})], ErrorCode.BAD_VALUE, "id")
    assert err.request_id is None


def test_missing_id() -> None:
    check([pack({"v": [1, 0], "type": "ping"})], ErrorCode.BAD_MESSAGE, "id")


@pytest.mark.parametrize(
    ("header", "field"),
    [
        ({"type": "ping", "client": "x"}, "client"),
        ({"type": "hello", "client": "x", "layers": True}, "layers"),
        ({"type": "status", "extra": 1}, "extra"),
        ({"type": "cancel", "job": "j", "force": True}, "force"),
        ({"type": "dream", "image": RGBA_2x2, "colour": "blue"}, "colour"),
    ],
)
def test_unknown_field(header: dict[str, Any], field: str) -> None:
    h = {"v": [1, 0], "id": "x", **header}
    frames: list[Any] = [pack(h)] + ([PIXELS_2x2] if header["type"] == "dream" else [])
    err = check(frames, ErrorCode.UNKNOWN_FIELD, field)
    assert field in err.message


def test_small_request_fields() -> None:
    base = {"v": [1, 0], "id": "x"}
    check([pack({**base, "type": "status", "layers": 1})], ErrorCode.BAD_VALUE, "layers")
    check([pack({**base, "type": "hello", "client": 5})], ErrorCode.BAD_VALUE, "client")
    check([pack({**base, "type": "hello", "client": "c" * 257})], ErrorCode.BAD_VALUE, "client")
    check([pack({**base, "type": "cancel"})], ErrorCode.BAD_VALUE, "job")
    check([pack({**base, "type": "cancel", "job": ""})], ErrorCode.BAD_VALUE, "job")


# -------------------------------------------------------------------------- images


@pytest.mark.parametrize(
    ("desc", "code", "field"),
    [
        ({**RGBA_2x2, "width": 0}, ErrorCode.BAD_VALUE, "image.width"),
        ({**RGBA_2x2, "width": -2}, ErrorCode.BAD_VALUE, "image.width"),
        ({**RGBA_2x2, "height": 2.0}, ErrorCode.BAD_VALUE, "image.height"),
        ({**RGBA_2x2, "height": True}, ErrorCode.BAD_VALUE, "image.height"),
        ({**RGBA_2x2, "width": 10**7}, ErrorCode.BAD_VALUE, "image.width"),
        ({**RGBA_2x2, "channels": 5}, ErrorCode.BAD_VALUE, "image.channels"),
        ({**RGBA_2x2, "channels": 0}, ErrorCode.BAD_VALUE, "image.channels"),
        ({**RGBA_2x2, "dtype": "u32"}, ErrorCode.BAD_VALUE, "image.dtype"),
        ({**RGBA_2x2, "encoding": "gif"}, ErrorCode.BAD_VALUE, "image.encoding"),
        ({**RGBA_2x2, "colorspace": "AdobeRGB"}, ErrorCode.BAD_VALUE, "image.colorspace"),
        ({**RGBA_2x2, "depth": 8}, ErrorCode.UNKNOWN_FIELD, "image.depth"),
        ({"height": 2, "channels": 4}, ErrorCode.BAD_VALUE, "image.width"),
        ({**RGBA_2x2, "width": 20_000, "height": 20_000}, ErrorCode.TOO_LARGE, "image"),
    ],
)
def test_bad_image_descriptor(desc: dict[str, Any], code: ErrorCode, field: str) -> None:
    check([pack(dream(image=desc)), PIXELS_2x2], code, field)


def test_image_must_be_a_map_and_present() -> None:
    check([pack(dream(image=[2, 2])), PIXELS_2x2], ErrorCode.BAD_VALUE, "image")
    h = dream()
    del h["image"]
    check([pack(h), PIXELS_2x2], ErrorCode.BAD_VALUE, "image")
    check([pack(dream(image=None)), PIXELS_2x2], ErrorCode.BAD_VALUE, "image")


def test_pixel_caps_are_checked_before_frames() -> None:
    # 5000×4000 = 20 MP: fine as an image, too large as a guide. No frame of that size
    # needs to exist for the refusal.
    guide = {**RGBA_2x2, "width": 5000, "height": 4000}
    check([pack(dream(guide=guide)), PIXELS_2x2, b""], ErrorCode.TOO_LARGE, "guide")
    check([pack(dream(style=guide)), PIXELS_2x2, b""], ErrorCode.TOO_LARGE, "style")
    check([pack(dream(image=guide)), b""], ErrorCode.BAD_IMAGE, "image")  # size lie, not cap


@pytest.mark.parametrize("size", [0, 15, 17, 64])
def test_raw_frame_length_must_be_exact(size: int) -> None:
    err = check([pack(dream()), b"\0" * size], ErrorCode.BAD_IMAGE, "image")
    assert "16" in err.message


def test_raw_lengths_account_for_dtype_and_channels() -> None:
    for dtype, itemsize in (("u8", 1), ("u16", 2), ("f32", 4)):
        for channels in (1, 2, 3, 4):
            desc = {**RGBA_2x2, "channels": channels, "dtype": dtype}
            good = b"\0" * (4 * channels * itemsize)
            assert isinstance(decode_request([pack(dream(image=desc)), good]), DreamRequest)
            check([pack(dream(image=desc)), good + b"\0"], ErrorCode.BAD_IMAGE, "image")


def test_guide_and_style_frames_are_checked() -> None:
    h = dream(guide=dict(RGBA_2x2), style={**RGBA_2x2, "channels": 3})
    ok = decode_request([pack(h), PIXELS_2x2, PIXELS_2x2, b"\0" * 12])
    assert isinstance(ok, DreamRequest) and ok.style is not None and ok.style.channels == 3
    check([pack(h), PIXELS_2x2, PIXELS_2x2, b"\0" * 16], ErrorCode.BAD_IMAGE, "style")
    check([pack(h), PIXELS_2x2, b"\0", b"\0" * 12], ErrorCode.BAD_IMAGE, "guide")


@pytest.mark.parametrize(
    ("encoding", "data", "ok"),
    [
        ("png", PNG, True),
        ("jpeg", JPEG, True),
        ("webp", b"RIFF\x10\0\0\0WEBPVP8 " + b"\0" * 8, True),
        ("tiff", b"II*\x00" + b"\0" * 8, True),
        ("tiff", b"MM\x00*" + b"\0" * 8, True),
        ("png", JPEG, False),
        ("jpeg", PNG, False),
        ("webp", b"RIFF\x10\0\0\0WAVE" + b"\0" * 8, False),
        ("tiff", b"PK\x03\x04" + b"\0" * 8, False),
        ("png", b"\x89P", False),
        ("png", b"", False),
    ],
)
def test_encoded_magic(encoding: str, data: bytes, ok: bool) -> None:
    desc = {**RGBA_2x2, "channels": 3, "encoding": encoding}
    frames = [pack(dream(image=desc)), data]
    if ok:
        decoded = decode_request(frames)
        assert isinstance(decoded, DreamRequest) and decoded.image.desc.encoding == encoding
    else:
        check(frames, ErrorCode.BAD_IMAGE, "image")


def test_encoded_byte_cap_and_format_capabilities() -> None:
    desc = {**RGBA_2x2, "channels": 3, "encoding": "png"}
    check(
        [pack(dream(image=desc)), PNG], ErrorCode.TOO_LARGE, "image", Limits(max_encoded_bytes=16)
    )
    jpeg16 = {**desc, "encoding": "jpeg", "dtype": "u16"}
    check([pack(dream(image=jpeg16)), JPEG], ErrorCode.BAD_IMAGE, "image.dtype")
    jpeg_rgba = {**desc, "encoding": "jpeg", "channels": 4}
    check([pack(dream(image=jpeg_rgba)), JPEG], ErrorCode.BAD_IMAGE, "image.channels")


# -------------------------------------------------------------------------- params


def test_params_accepts_engine_shapes() -> None:
    params = {
        "layers": [
            "inception_4c/output",
            "inception_4d/output:3,17",
            {"name": "inception_3b/output", "weight": -0.5, "channels": [1, 2]},
            {"name": "inception_5a/output", "weight": 2, "channels": None},
        ],
        "octave_count": 32,
        "octave_scale": 1.4,
        "steps_per_octave": 0,
        "iterations": 1,
        "step_size": 0,
        "jitter": 4096,
        "seed": None,
        "tile_size": None,
        "precision": "bf16",
        "guide_max_side": 448,
        "style_weight": 1e4,
        "content_weight": 1,
        "style_layers": ["conv1", "conv2"],
        "content_layer": "conv4",
        "style_max_side": 512,
    }
    decoded = decode_request([pack(dream(params=params)), PIXELS_2x2])
    assert isinstance(decoded, DreamRequest) and decoded.params == params
    for layers in ("inception_4c/output", {"name": "x"}, []):
        decode_request([pack(dream(params={"layers": layers})), PIXELS_2x2])
    # the result's params, echoed back, are a valid request (nil content layer: the default)
    decode_request([pack(dream(params={"content_layer": None, "style_layers": []})), PIXELS_2x2])
    decode_request([pack(dream(params=None)), PIXELS_2x2])


NAN = float("nan")
INF = float("inf")


@pytest.mark.parametrize(
    ("params", "code", "field"),
    [
        ({"colour": 1}, ErrorCode.UNKNOWN_FIELD, "params.colour"),
        ({"steps_per_octave": 10_001}, ErrorCode.BAD_VALUE, "params.steps_per_octave"),
        ({"steps_per_octave": -1}, ErrorCode.BAD_VALUE, "params.steps_per_octave"),
        ({"steps_per_octave": 2**63}, ErrorCode.BAD_VALUE, "params.steps_per_octave"),
        ({"steps_per_octave": 5.0}, ErrorCode.BAD_VALUE, "params.steps_per_octave"),
        ({"steps_per_octave": "10"}, ErrorCode.BAD_VALUE, "params.steps_per_octave"),
        ({"octave_count": 33}, ErrorCode.BAD_VALUE, "params.octave_count"),
        ({"octave_count": 0}, ErrorCode.BAD_VALUE, "params.octave_count"),
        ({"octave_count": True}, ErrorCode.BAD_VALUE, "params.octave_count"),
        ({"octave_count": None}, ErrorCode.BAD_VALUE, "params.octave_count"),
        ({"iterations": 1001}, ErrorCode.BAD_VALUE, "params.iterations"),
        ({"iterations": 0}, ErrorCode.BAD_VALUE, "params.iterations"),
        ({"jitter": 4097}, ErrorCode.BAD_VALUE, "params.jitter"),
        ({"jitter": -1}, ErrorCode.BAD_VALUE, "params.jitter"),
        ({"step_size": NAN}, ErrorCode.BAD_VALUE, "params.step_size"),
        ({"step_size": INF}, ErrorCode.BAD_VALUE, "params.step_size"),
        ({"step_size": -INF}, ErrorCode.BAD_VALUE, "params.step_size"),
        ({"step_size": -0.1}, ErrorCode.BAD_VALUE, "params.step_size"),
        ({"step_size": 1e300}, ErrorCode.BAD_VALUE, "params.step_size"),
        ({"octave_scale": NAN}, ErrorCode.BAD_VALUE, "params.octave_scale"),
        ({"octave_scale": 1.0}, ErrorCode.BAD_VALUE, "params.octave_scale"),
        ({"octave_scale": 100}, ErrorCode.BAD_VALUE, "params.octave_scale"),
        ({"seed": -1}, ErrorCode.BAD_VALUE, "params.seed"),
        ({"seed": 2**64 - 1}, ErrorCode.BAD_VALUE, "params.seed"),
        ({"seed": 1.5}, ErrorCode.BAD_VALUE, "params.seed"),
        ({"tile_size": 8}, ErrorCode.BAD_VALUE, "params.tile_size"),
        ({"tile_size": 10**6}, ErrorCode.BAD_VALUE, "params.tile_size"),
        ({"precision": "fp8"}, ErrorCode.BAD_VALUE, "params.precision"),
        ({"precision": 16}, ErrorCode.BAD_VALUE, "params.precision"),
        ({"guide_max_side": 4096}, ErrorCode.BAD_VALUE, "params.guide_max_side"),
        ({"layers": 5}, ErrorCode.BAD_VALUE, "params.layers"),
        ({"layers": ""}, ErrorCode.BAD_VALUE, "params.layers"),
        ({"layers": ["ok", 3]}, ErrorCode.BAD_VALUE, "params.layers[1]"),
        ({"layers": ["x"] * 65}, ErrorCode.BAD_VALUE, "params.layers"),
        ({"layers": [{"weight": 1}]}, ErrorCode.BAD_VALUE, "params.layers[0].name"),
        ({"layers": [{"name": "a", "mode": 1}]}, ErrorCode.UNKNOWN_FIELD, "params.layers[0].mode"),
        (
            {"layers": [{"name": "a", "weight": NAN}]},
            ErrorCode.BAD_VALUE,
            "params.layers[0].weight",
        ),
        (
            {"layers": [{"name": "a", "weight": 1e7}]},
            ErrorCode.BAD_VALUE,
            "params.layers[0].weight",
        ),
        (
            {"layers": [{"name": "a", "channels": []}]},
            ErrorCode.BAD_VALUE,
            "params.layers[0].channels",
        ),
        (
            {"layers": [{"name": "a", "channels": [-1]}]},
            ErrorCode.BAD_VALUE,
            "params.layers[0].channels[0]",
        ),
        (
            {"layers": [{"name": "a", "channels": [1, 2.5]}]},
            ErrorCode.BAD_VALUE,
            "params.layers[0].channels[1]",
        ),
        (
            {"layers": {"name": "a", "channels": "1,2"}},
            ErrorCode.BAD_VALUE,
            "params.layers.channels",
        ),
        ({"style_weight": -1}, ErrorCode.BAD_VALUE, "params.style_weight"),
        ({"content_weight": INF}, ErrorCode.BAD_VALUE, "params.content_weight"),
        ({"style_layers": [1]}, ErrorCode.BAD_VALUE, "params.style_layers[0]"),
        ({"content_layer": ""}, ErrorCode.BAD_VALUE, "params.content_layer"),
        ({"style_max_side": 16}, ErrorCode.BAD_VALUE, "params.style_max_side"),
        ({"style_max_side": 512.0}, ErrorCode.BAD_VALUE, "params.style_max_side"),
        (
            {"octave_count": 32, "steps_per_octave": 10_000, "iterations": 1000},
            ErrorCode.TOO_LARGE,
            "params.steps_per_octave",
        ),
    ],
)
def test_bad_params(params: dict[str, Any], code: ErrorCode, field: str) -> None:
    err = check([pack(dream(params=params)), PIXELS_2x2], code, field)
    assert err.request_id == "job-1"


def test_params_must_be_a_map() -> None:
    check([pack(dream(params=[1, 2])), PIXELS_2x2], ErrorCode.BAD_VALUE, "params")


def test_total_steps_cap_follows_limits() -> None:
    params = {"octave_count": 4, "steps_per_octave": 100, "iterations": 10}
    check(
        [pack(dream(params=params)), PIXELS_2x2],
        ErrorCode.TOO_LARGE,
        "params.steps_per_octave",
        Limits(max_total_steps=3999),
    )
    decode_request([pack(dream(params=params)), PIXELS_2x2], Limits(max_total_steps=4000))


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"priority": "urgent"}, "priority"),
        ({"priority": None}, "priority"),
        ({"model": ""}, "model"),
        ({"model": 3}, "model"),
    ],
)
def test_bad_dream_fields(fields: dict[str, Any], field: str) -> None:
    check([pack(dream(**fields)), PIXELS_2x2], ErrorCode.BAD_VALUE, field)


def test_limits_validate_themselves() -> None:
    with pytest.raises(ValueError, match="max_pixels"):
        Limits(max_pixels=0)
    assert Limits().max_frame_bytes >= 100_000_000 * 16


# --------------------------------------------------------------------------- fuzz


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=512), st.lists(st.binary(max_size=64), max_size=4))
def test_random_bytes_only_ever_raise_message_invalid(head: bytes, rest: list[bytes]) -> None:
    # Anything else (IndexError, UnicodeError, …) escaping would fail the test.
    with contextlib.suppress(MessageInvalid):
        decode_request([head, *rest])


_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**64 - 1)
    | st.floats(allow_nan=True)
    | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None)
@given(
    st.dictionaries(
        st.sampled_from(
            sorted(
                [
                    "layers",
                    "octave_count",
                    "octave_scale",
                    "steps_per_octave",
                    "iterations",
                    "step_size",
                    "jitter",
                    "seed",
                    "tile_size",
                    "precision",
                    "guide_max_side",
                    "style_weight",
                ]
            )
        ),
        _values,
        max_size=5,
    )
)
def test_random_params_are_refused_cleanly_or_in_range(params: dict[str, Any]) -> None:
    try:
        decoded = decode_request([pack(dream(params=params)), PIXELS_2x2])
    except MessageInvalid as err:
        assert err.field is not None and err.field.startswith("params")
        return
    assert isinstance(decoded, DreamRequest)
    for value in decoded.params.values():
        if isinstance(value, float):
            assert math.isfinite(value)


# ------------------------------------------------------------------ nil, as PROTOCOL.md says


def test_nil_where_the_type_says_or_nil_means_left_out() -> None:
    header = dream(model=None, guide=None, style=None, params={"seed": None, "tile_size": None})
    req = decode_request([pack(header), PIXELS_2x2], DEFAULT_LIMITS)
    assert isinstance(req, DreamRequest)
    assert req.model is None and req.guide is None


@pytest.mark.parametrize(
    "header, field",
    [
        (dream(priority=None), "priority"),
        (dream(image={**RGBA_2x2, "dtype": None}), "image.dtype"),
        (dream(params={"octave_count": None}), "params.octave_count"),
    ],
)
def test_nil_elsewhere_is_a_bad_value_naming_the_field(header: dict[str, Any], field: str) -> None:
    check([pack(header), PIXELS_2x2], ErrorCode.BAD_VALUE, field)
