"""A styled video frame's images (1.2): ``content``, ``previous`` and ``previous_weight`` travel
after the style images, are checked against the image, and are never sent to a daemon older
than 1.2 (nor ``temporal_weight``)."""

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


def raw(width: int, height: int, fill: int = 0, channels: int = 3) -> Image:
    return Image.raw(bytes([fill]) * (width * height * channels), width, height, channels)


def frame_request(**images: Image) -> DreamRequest:
    return DreamRequest(
        "d1", raw(8, 6, 1), {"temporal_weight": 3.0}, raw(3, 3, 2), (raw(4, 4, 3), raw(4, 4, 4)),
        **images,
    )  # fmt: skip


def test_the_frames_images_travel_in_order_after_the_styles() -> None:
    request = frame_request(
        content=raw(8, 6, 5), previous=raw(8, 6, 6), previous_weight=raw(8, 6, 7, channels=1)
    )
    frames = encode_request(request)
    header = msgpack.unpackb(bytes(frames[0]))
    assert header["previous_weight"]["channels"] == 1
    assert [bytes(f)[:1] for f in frames[1:]] == [bytes([i]) for i in range(1, 8)]
    back = decode_request(frames)
    assert isinstance(back, DreamRequest)
    assert back.params == {"temporal_weight": 3.0}
    for name, fill in (("content", 5), ("previous", 6), ("previous_weight", 7)):
        image = getattr(back, name)
        assert image.desc == getattr(request, name).desc and bytes(image.data)[:1] == bytes([fill])
    assert [bytes(s.data)[:1] for s in back.styles] == [b"\x03", b"\x04"]


def test_any_of_them_may_be_left_out_and_none_is_sent_as_nil() -> None:
    frames = encode_request(frame_request(previous=raw(8, 6, 6)))
    header = msgpack.unpackb(bytes(frames[0]))
    assert "content" not in header and "previous_weight" not in header  # absent, as 1.1 reads
    back = decode_request(frames)
    assert isinstance(back, DreamRequest)
    assert back.content is None and back.previous_weight is None
    assert bytes(back.previous.data)[:1] == b"\x06"  # type: ignore[union-attr]


@pytest.mark.parametrize(
    "images, field, why",
    [
        ({"content": raw(8, 5)}, "content", "same size"),
        ({"previous": raw(7, 6)}, "previous", "same size"),
        ({"previous": raw(8, 6), "previous_weight": raw(8, 6)}, "previous_weight", "1 channel"),
        ({"previous_weight": raw(8, 6, channels=1)}, "previous_weight", "send previous"),
    ],
)
def test_a_frame_that_does_not_fit_is_refused_naming_the_field(images, field, why) -> None:
    with pytest.raises(MessageInvalid, match=why) as err:
        decode_request(encode_request(frame_request(**images)))
    assert (err.value.code, err.value.field) == (ErrorCode.BAD_VALUE, field)


def test_without_a_style_they_are_refused() -> None:
    request = DreamRequest("d1", raw(8, 6), {}, previous=raw(8, 6))
    with pytest.raises(MessageInvalid, match="style image") as err:
        decode_request(encode_request(request))
    assert err.value.field == "previous"


def test_a_1_1_daemon_is_not_sent_a_frames_images_or_temporal_weight(
    make_fake, endpoint: str
) -> None:
    old = make_fake(endpoint, protocols=((1, 1),))
    with Client(endpoint, timeout=FAST) as client:
        for params, images in [
            ({}, {"content": raw(8, 6)}),
            ({}, {"previous": raw(8, 6), "previous_weight": raw(8, 6, channels=1)}),
            ({"temporal_weight": 0.0}, {}),
        ]:
            with pytest.raises(Unsupported, match=r"need 1\.2; update it"):
                client.dream(raw(8, 6), params, style=raw(4, 4), **images)
        # what 1.1 knew still goes through
        client.dream(raw(8, 6), {"keep_colors": True}, style=raw(4, 4))
    sent = old.of_type(DreamRequest)
    assert len(sent) == 1 and sent[0].previous is None and not old.invalid


def test_a_1_2_daemon_gets_them(make_fake, endpoint: str) -> None:
    new = make_fake(endpoint)
    with Client(endpoint, timeout=FAST) as client:
        client.dream(
            raw(8, 6), {"temporal_weight": 5.0}, style=raw(4, 4), content=raw(8, 6, 9),
            previous=raw(8, 6), previous_weight=raw(8, 6, channels=1),
        )  # fmt: skip
    (sent,) = new.of_type(DreamRequest)
    assert bytes(sent.content.data)[:1] == b"\x09"  # type: ignore[union-attr]
    assert sent.previous_weight is not None and sent.params["temporal_weight"] == 5.0
