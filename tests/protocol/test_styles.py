"""Several style images in one dream (1.1): one descriptor per style in the header's
``style`` array, one frame each after the guide; what a 1.0 daemon is never sent."""

from __future__ import annotations

import msgpack
import pytest

from dreamd.protocol import (
    Client,
    DreamRequest,
    ErrorCode,
    Image,
    MessageInvalid,
    Timeout,
    Unsupported,
    decode_request,
    encode_request,
)

FAST = Timeout(connect=0.5, reply=0.5)


def raw(width: int, height: int, fill: int = 0) -> Image:
    return Image.raw(bytes([fill]) * (width * height * 3), width, height, 3)


def _header(frames: list) -> dict:
    return msgpack.unpackb(bytes(frames[0]))


def test_several_styles_travel_in_order_after_the_guide() -> None:
    styles = (raw(4, 4, 1), raw(5, 3, 2), raw(2, 2, 3))
    request = DreamRequest("d1", raw(8, 6), {"style_blend": [1, 2, 3]}, raw(3, 3, 9), styles)
    frames = encode_request(request)
    header = _header(frames)
    assert [d["width"] for d in header["style"]] == [4, 5, 2]
    assert [bytes(f)[:1] for f in frames[2:]] == [b"\x09", b"\x01", b"\x02", b"\x03"]
    back = decode_request(frames)
    assert isinstance(back, DreamRequest)
    assert [s.desc.width for s in back.styles] == [4, 5, 2]
    assert [bytes(s.data)[:1] for s in back.styles] == [b"\x01", b"\x02", b"\x03"]


def test_one_style_is_a_plain_descriptor_as_in_1_0() -> None:
    frames = encode_request(DreamRequest("d1", raw(8, 6), {}, None, (raw(4, 4, 1),)))
    assert isinstance(_header(frames)["style"], dict) and len(frames) == 3
    back = decode_request(frames)
    assert isinstance(back, DreamRequest) and back.styles[0].desc.width == 4


def test_style_arrays_are_checked_naming_the_entry() -> None:
    ok = encode_request(DreamRequest("d1", raw(8, 6), {}, None, (raw(4, 4), raw(4, 4))))
    header = _header(ok)

    def refused(frames: list, code: ErrorCode, field: str) -> None:
        with pytest.raises(MessageInvalid) as err:
            decode_request(frames)
        assert (err.value.code, err.value.field) == (code, field)

    wrong = {**header, "style": [header["style"][0], {**header["style"][1], "width": 0}]}
    refused([msgpack.packb(wrong), *ok[1:]], ErrorCode.BAD_VALUE, "style[1].width")
    refused([msgpack.packb({**header, "style": []}), ok[1]], ErrorCode.BAD_VALUE, "style")
    five = {**header, "style": [header["style"][0]] * 5}
    refused([msgpack.packb(five), ok[1], *[ok[2]] * 5], ErrorCode.BAD_VALUE, "style")
    # a frame missing for the second style
    refused(ok[:-1], ErrorCode.BAD_MESSAGE, None)  # type: ignore[arg-type]
    # a frame of the wrong length for the second style
    short = [*ok[:-1], b"\0" * 5]
    refused(short, ErrorCode.BAD_IMAGE, "style[1]")


def test_an_old_daemon_is_not_sent_styles_or_style_params_it_cannot_read(
    make_fake, endpoint: str
) -> None:
    old = make_fake(endpoint, protocols=((1, 0),))
    with Client(endpoint, timeout=FAST) as client:
        for params, style in [
            ({}, [raw(4, 4), raw(4, 4)]),
            ({"keep_colors": True}, raw(4, 4)),
            ({"style_scale": 2.0}, raw(4, 4)),
        ]:
            with pytest.raises(Unsupported, match="update it"):
                client.dream(raw(8, 6), params, style=style)
        # what 1.0 knew still goes through
        client.dream(raw(8, 6), {"style_weight": 2.0}, style=[raw(4, 4)])
    sent = old.of_type(DreamRequest)
    assert len(sent) == 1 and len(sent[0].styles) == 1 and not old.invalid
