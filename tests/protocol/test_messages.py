"""Encode → decode round trips for every message type, and the zero-copy promises."""

from __future__ import annotations

import array
import struct

import msgpack
import pytest
import zmq

from dreamd.protocol import (
    PROTOCOL_VERSION,
    SUPPORTED_VERSIONS,
    Accepted,
    CancelRequest,
    DreamRequest,
    DreamResult,
    ErrorCode,
    ErrorReply,
    Estimate,
    EstimateRequest,
    HelloReply,
    HelloRequest,
    Image,
    ImageDesc,
    MessageInvalid,
    PingRequest,
    Pong,
    Preview,
    Progress,
    StatusReply,
    StatusRequest,
    decode_reply,
    decode_request,
    encode_error,
    encode_reply,
    encode_request,
)

SERVER = "dreamd 9.9"
PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 32


def rgba(width: int = 4, height: int = 3) -> Image:
    return Image.raw(bytes(range(width * height * 4)), width, height, 4)


def header(frames: list[bytes | memoryview]) -> dict:
    return msgpack.unpackb(frames[0])


@pytest.mark.parametrize(
    "request_",
    [
        HelloRequest("h1", "gimp-plugin 0.1"),
        HelloRequest("h2"),
        StatusRequest("s1", layers=True),
        StatusRequest("s2"),
        PingRequest("p1"),
        CancelRequest("c1", job="job-7"),
        EstimateRequest("e1", 6000, 4000, {"octave_count": 4}, "googlenet"),
    ],
)
def test_small_requests_round_trip(request_: object) -> None:
    frames = encode_request(request_)  # type: ignore[arg-type]
    assert len(frames) == 1
    assert header(frames)["v"] == list(PROTOCOL_VERSION)
    assert decode_request(frames) == request_


def test_dream_round_trip_with_guide_and_style() -> None:
    image = rgba()
    guide = Image.raw(b"\x01" * 4 * 4 * 3, 4, 4, 3)
    style = Image.encoded(PNG, "png", 16, 16, 3)
    request = DreamRequest(
        "job-1",
        image,
        {"octave_count": 3, "layers": ["inception_4c/output"], "seed": 5},
        guide=guide,
        style=style,
        model="googlenet",
        priority="batch",
    )
    frames = encode_request(request)
    assert len(frames) == 4
    h = header(frames)
    assert h["type"] == "dream" and h["id"] == "job-1"
    assert h["image"] == image.desc.to_wire()
    decoded = decode_request(frames)
    assert isinstance(decoded, DreamRequest)
    assert decoded.params == request.params
    assert decoded.model == "googlenet" and decoded.priority == "batch"
    assert decoded.image.desc == image.desc and bytes(decoded.image.data) == image.data
    assert decoded.guide is not None and bytes(decoded.guide.data) == guide.data
    assert decoded.style is not None and decoded.style.desc.encoding == "png"


def test_dream_defaults() -> None:
    frames = [
        msgpack.packb({"v": [1, 0], "type": "dream", "id": "d", "image": rgba().desc.to_wire()}),
        rgba().data,
    ]
    decoded = decode_request(frames)
    assert isinstance(decoded, DreamRequest)
    assert decoded.params == {} and decoded.model is None and decoded.priority == "interactive"
    assert decoded.guide is None and decoded.style is None


def test_newer_minor_version_is_accepted() -> None:
    frames = [msgpack.packb({"v": [1, 7], "type": "ping", "id": "x"})]
    decoded = decode_request(frames)
    assert decoded == PingRequest("x", version=(1, 7))


def test_request_pixels_are_not_copied() -> None:
    big = bytearray(64 * 64 * 4)
    frames = encode_request(DreamRequest("j", Image.raw(big, 64, 64, 4)))
    assert isinstance(frames[1], memoryview) and frames[1].obj is big
    zframes = [zmq.Frame(f) for f in frames]
    decoded = decode_request(zframes)
    assert isinstance(decoded, DreamRequest)
    data = decoded.image.data
    assert isinstance(data, memoryview)
    # A view into the zmq frame's own memory, not a copy of it.
    assert data.obj is zframes[1].buffer.obj or data.obj is zframes[1]


def test_image_accepts_any_contiguous_buffer() -> None:
    samples = array.array("f", [0.5] * (2 * 2 * 3))
    image = Image.raw(samples, 2, 2, 3, "f32")
    assert image.nbytes == 48
    assert struct.unpack("<f", image.data[:4])[0] == 0.5
    with pytest.raises(ValueError, match="needs 48"):
        Image.raw(b"\0" * 47, 2, 2, 3, "f32")
    with pytest.raises(ValueError, match="channels"):
        ImageDesc(2, 2, 5)
    with pytest.raises(ValueError, match="dtype"):
        ImageDesc(2, 2, 3, "u16", "jpeg")


@pytest.mark.parametrize(
    "reply",
    [
        HelloReply("h", SUPPORTED_VERSIONS, {"model": "googlenet", "devices": [{"name": "cpu"}]}),
        StatusReply("s", {"queue": 2, "jobs": [{"id": "a"}]}),
        Pong("p"),
        Accepted("j", 3),
        Progress("j", 5, 40, 1, 4, 2),
        Estimate("e", 12.5, [[300, 200], [600, 400]], [600, 400], 20, ["dreamed at 600×400"]),
        Estimate("e", None),
        ErrorReply("j", ErrorCode.BUSY, "queue full", None, "j"),
        ErrorReply("", ErrorCode.BAD_MESSAGE, "not msgpack"),
    ],
)
def test_replies_round_trip(reply: object) -> None:
    frames = encode_reply(reply, server=SERVER)  # type: ignore[arg-type]
    h = header(frames)
    assert h["server"] == SERVER and h["v"] == list(PROTOCOL_VERSION)
    decoded = decode_reply(frames)
    assert decoded == type(reply)(**{**vars(reply), "server": SERVER})


def test_result_round_trip() -> None:
    image = Image.raw(b"\x07" * 2 * 2 * 2 * 2, 2, 2, 2, "u16")
    result = DreamResult(
        "job",
        image,
        "googlenet",
        ["inception_4c/output"],
        {"octave_count": 4},
        1234,
        {"total": 1.5, "queue": 0},
        ["fell back to efficientnet-lite0"],
    )
    frames = encode_reply(result, server=SERVER)
    assert len(frames) == 2
    decoded = decode_reply(frames)
    assert isinstance(decoded, DreamResult)
    assert decoded.image.desc == image.desc and bytes(decoded.image.data) == image.data
    assert (decoded.model, decoded.layers, decoded.params, decoded.seed) == (
        "googlenet",
        ["inception_4c/output"],
        {"octave_count": 4},
        1234,
    )
    assert decoded.timings == {"total": 1.5, "queue": 0.0}
    assert decoded.notes == ["fell back to efficientnet-lite0"]
    assert decoded.server == SERVER


def test_encode_error_fills_versions_for_unsupported_version() -> None:
    frames = encode_error("x", ErrorCode.UNSUPPORTED_VERSION, "speak 1.0", server=SERVER, field="v")
    decoded = decode_reply(frames)
    assert isinstance(decoded, ErrorReply)
    assert decoded.protocols == SUPPORTED_VERSIONS and decoded.field == "v"


def test_encode_reply_needs_server() -> None:
    with pytest.raises(ValueError, match="server"):
        encode_reply(Pong("p"))
    assert decode_reply(encode_reply(Pong("p", server="d 1"))).server == "d 1"
    with pytest.raises(ValueError, match="reserved"):
        encode_reply(StatusReply("s", {"id": "clash"}), server=SERVER)


def test_replies_ignore_unknown_fields_and_keep_unknown_codes() -> None:
    frames = [
        msgpack.packb(
            {
                "v": [1, 3],
                "type": "error",
                "id": "a",
                "server": SERVER,
                "code": "SOMETHING_NEW",
                "message": "from the future",
                "field": None,
                "job": None,
                "hint": "a field added in 1.3",
            }
        )
    ]
    decoded = decode_reply(frames)
    assert isinstance(decoded, ErrorReply) and decoded.code == "SOMETHING_NEW"
    progress = decode_reply(
        [
            msgpack.packb(
                {
                    "v": [1, 0],
                    "type": "progress",
                    "id": "j",
                    "server": SERVER,
                    "done": 1,
                    "total": 2,
                    "octave": 0,
                    "octaves": 1,
                    "step": 1,
                    "eta": 3.5,
                }
            )
        ]
    )
    assert isinstance(progress, Progress) and progress.fraction == 0.5


@pytest.mark.parametrize(
    ("fields", "code", "field"),
    [
        ({"type": "pong"}, ErrorCode.BAD_VALUE, "server"),
        ({"type": "hello", "server": SERVER}, ErrorCode.BAD_VALUE, "protocols"),
        (
            {"type": "hello", "server": SERVER, "protocols": [[1]]},
            ErrorCode.BAD_VALUE,
            "protocols[0]",
        ),
        ({"type": "accepted", "server": SERVER, "position": -1}, ErrorCode.BAD_VALUE, "position"),
        ({"type": "progress", "server": SERVER, "done": 1}, ErrorCode.BAD_VALUE, "total"),
        ({"type": "weird", "server": SERVER}, ErrorCode.UNKNOWN_TYPE, "type"),
        ({"type": "pong", "server": SERVER, "v": [2, 0]}, ErrorCode.UNSUPPORTED_VERSION, "v"),
        ({"type": "pong", "server": SERVER, "id": ""}, ErrorCode.BAD_VALUE, "id"),
    ],
)
def test_bad_replies(fields: dict, code: ErrorCode, field: str) -> None:
    h = {"v": [1, 0], "id": "r", **fields}
    with pytest.raises(MessageInvalid) as info:
        decode_reply([msgpack.packb(h)])
    assert (info.value.code, info.value.field) == (code, field)


def test_result_frame_must_match() -> None:
    frames = encode_reply(DreamResult("j", rgba(), "m"), server=SERVER)
    with pytest.raises(MessageInvalid) as info:
        decode_reply([frames[0], b"short"])
    assert info.value.code == ErrorCode.BAD_IMAGE and info.value.request_id == "j"
    with pytest.raises(MessageInvalid) as info:
        decode_reply(frames[:1])
    assert info.value.code == ErrorCode.BAD_MESSAGE


def test_dream_preview_round_trip_and_checks() -> None:
    request = DreamRequest("d", rgba(), {}, preview=Preview(128, 0.5))
    frames = encode_request(request)
    assert header(frames)["preview"] == {"max_side": 128, "interval": 0.5}
    decoded = decode_request(frames)
    assert isinstance(decoded, DreamRequest) and decoded.preview == request.preview
    assert "preview" not in header(encode_request(DreamRequest("d", rgba()))), (
        "a dream without previews looks as in 1.0"
    )
    h = header(frames)
    for bad_preview, fld in (
        ({"max_side": 8}, "preview.max_side"),
        ({"interval": 0.1}, "preview.interval"),
        ({"colour": True}, "preview.colour"),
        ([], "preview"),
    ):
        bad = [msgpack.packb({**h, "preview": bad_preview}), *frames[1:]]
        with pytest.raises(MessageInvalid) as err:
            decode_request(bad)
        assert err.value.field == fld


def test_progress_with_a_preview_round_trip() -> None:
    small = Image.raw(bytes(range(2 * 3 * 3)), 3, 2, 3, "u8")
    frames = encode_reply(Progress("j", 5, 40, 3, 4, 2, small), server=SERVER)
    assert len(frames) == 2 and header(frames)["preview"]["width"] == 3
    decoded = decode_reply(frames)
    assert isinstance(decoded, Progress) and decoded.preview is not None
    assert bytes(decoded.preview.data) == bytes(range(18)) and decoded.done == 5
    with pytest.raises(MessageInvalid, match="frame"):
        decode_reply(frames[:1])
