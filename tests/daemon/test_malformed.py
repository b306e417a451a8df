"""Hostile and broken input: every message gets an ``error`` reply, the daemon keeps serving."""

from __future__ import annotations

import io
import math
from collections.abc import Iterator
from typing import Any

import msgpack
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from .conftest import (
    QUICK,
    Daemon,
    RawClient,
    dream_frames,
    header,
    make_pixels,
    raw_client,
    raw_image,
)

PIXELS = make_pixels(seed=1)
DESC = {"width": 64, "height": 48, "channels": 3, "dtype": "u8", "encoding": "raw"}


@pytest.fixture()
def rc(daemon: Daemon) -> Iterator[RawClient]:
    with raw_client(daemon.endpoint) as c:
        yield c


def _dream(**fields: Any) -> bytes:
    return header("dream", "bad-1", **{"image": DESC, "params": dict(QUICK), **fields})


def _err(rc: RawClient, frames: list[bytes]) -> dict[str, Any]:
    reply = rc.request(frames)
    assert reply["type"] == "error", reply
    assert reply["server"].startswith("dreamd ")
    assert reply["message"]
    return reply


CASES: list[tuple[str, list[bytes], str, str | None]] = [
    ("random bytes", [b"\xc1\xff\x00garbage"], "BAD_MESSAGE", None),
    ("empty header", [b""], "BAD_MESSAGE", None),
    ("truncated header", [dream_frames(PIXELS)[0][:20], PIXELS.tobytes()], "BAD_MESSAGE", None),
    ("not a map", [msgpack.packb([1, 2, 3])], "BAD_MESSAGE", None),
    (
        "bin in header",
        [msgpack.packb({"v": [1, 0], "type": "ping", "id": b"x"})],
        "BAD_MESSAGE",
        None,
    ),
    ("no id", [msgpack.packb({"v": [1, 0], "type": "ping"})], "BAD_MESSAGE", "id"),
    ("no version", [msgpack.packb({"type": "ping", "id": "x"})], "BAD_MESSAGE", "v"),
    ("unknown type", [header("explode")], "UNKNOWN_TYPE", "type"),
    ("unknown field", [header("ping", extra=1)], "UNKNOWN_FIELD", "extra"),
    (
        "width as string",
        [_dream(image={**DESC, "width": "64"}), PIXELS.tobytes()],
        "BAD_VALUE",
        "image.width",
    ),
    (
        "channels 5",
        [_dream(image={**DESC, "channels": 5}), PIXELS.tobytes()],
        "BAD_VALUE",
        "image.channels",
    ),
    (
        "dtype u64",
        [_dream(image={**DESC, "dtype": "u64"}), PIXELS.tobytes()],
        "BAD_VALUE",
        "image.dtype",
    ),
    ("frame too short", [_dream(), PIXELS.tobytes()[:100]], "BAD_IMAGE", "image"),
    (
        "frame for u8, says u16",
        [_dream(image={**DESC, "dtype": "u16"}), PIXELS.tobytes()],
        "BAD_IMAGE",
        "image",
    ),
    ("missing frame", [_dream()], "BAD_MESSAGE", None),
    ("too many frames", [_dream(), *[b"x"] * 10], "TOO_LARGE", None),
    (
        "too many pixels",
        [_dream(image={**DESC, "width": 1000, "height": 1000}), b"x"],
        "TOO_LARGE",
        "image",
    ),
    (
        "png that is not",
        [_dream(image={**DESC, "encoding": "png"}), b"GIF89a" + b"\0" * 50],
        "BAD_IMAGE",
        "image",
    ),
    (
        "octave_count 1e9",
        [_dream(params={"octave_count": 10**9}), PIXELS.tobytes()],
        "BAD_VALUE",
        "params.octave_count",
    ),
    (
        "step_size NaN",
        [_dream(params={"step_size": math.nan}), PIXELS.tobytes()],
        "BAD_VALUE",
        "params.step_size",
    ),
    ("negative seed", [_dream(params={"seed": -1}), PIXELS.tobytes()], "BAD_VALUE", "params.seed"),
    (
        "huge total steps",
        [_dream(params={"octave_count": 32, "steps_per_octave": 10000}), PIXELS.tobytes()],
        "TOO_LARGE",
        None,
    ),
    (
        "unknown param",
        [_dream(params={"octaves": 3}), PIXELS.tobytes()],
        "UNKNOWN_FIELD",
        "params.octaves",
    ),
    (
        "unknown layer",
        [_dream(params={"layers": ["inception_9z"]}), PIXELS.tobytes()],
        "UNKNOWN_LAYER",
        None,
    ),
    (
        "channel out of range",
        [_dream(params={"layers": ["block10:5000"]}), PIXELS.tobytes()],
        "BAD_VALUE",
        None,
    ),
    (
        "unknown style layer",
        [_dream(params={"style_layers": ["blok2"]}), PIXELS.tobytes()],
        "UNKNOWN_LAYER",
        "params.style_layers",
    ),
    (
        "unknown content layer",
        [_dream(params={"content_layer": "blok2"}), PIXELS.tobytes()],
        "UNKNOWN_LAYER",
        "params.content_layer",
    ),
    ("unknown model", [_dream(model="vgg19"), PIXELS.tobytes()], "UNKNOWN_MODEL", "model"),
    ("bad priority", [_dream(priority="urgent"), PIXELS.tobytes()], "BAD_VALUE", "priority"),
    ("cancel without job", [header("cancel")], "BAD_VALUE", "job"),
]


@pytest.mark.parametrize(
    ("frames", "code", "field"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_bad_message_gets_an_error(
    rc: RawClient, frames: list[bytes], code: str, field: str | None
) -> None:
    reply = _err(rc, frames)
    assert reply["code"] == code, reply
    if field is not None:
        assert reply["field"] == field, reply


def test_error_carries_the_request_id_when_readable(rc: RawClient) -> None:
    reply = _err(rc, [_dream(image={**DESC, "width": -1}), b""])
    assert reply["id"] == "bad-1"
    reply = _err(rc, [b"\x93\x01\x02"])  # an array, no id to read
    assert reply["id"] == ""


def test_unknown_major_version_names_supported_versions(rc: RawClient) -> None:
    frames = [msgpack.packb({"v": [9, 0], "type": "hello", "id": "v9"})]
    reply = _err(rc, frames)
    assert reply["code"] == "UNSUPPORTED_VERSION"
    assert reply["id"] == "v9"
    assert [1, 2] in reply["protocols"]  # one entry per major: its highest minor


def test_bad_pixels_fail_the_job_not_the_daemon(rc: RawClient) -> None:
    nan = np.full((48, 64, 3), np.nan, "<f4")
    rc.send(dream_frames(nan, dict(QUICK), "nan-1"))
    reply, _ = rc.recv_until({"error", "result"}, request_id="nan-1")
    assert reply["type"] == "error" and reply["code"] == "BAD_IMAGE"

    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(make_pixels(width=32, height=32)).save(buf, "PNG")
    frames = [_dream(image={**DESC, "encoding": "png"}), buf.getvalue()]  # says 64×48
    rc.send(frames)
    reply, _ = rc.recv_until({"error", "result"}, request_id="bad-1")
    assert reply["type"] == "error" and reply["code"] == "BAD_IMAGE"
    assert "32×32" in reply["message"] and reply["field"] == "image.width"


def test_frame_over_maxmsgsize_drops_the_connection_only(daemon: Daemon) -> None:
    with raw_client(daemon.endpoint) as rc:
        big = b"\0" * (5 * 1024 * 1024)  # over ZMQ_MAXMSGSIZE (16 B × 250 000 pixels)
        rc.send([_dream(), big])
        assert rc.recv(timeout=2.0) is None
    with raw_client(daemon.endpoint) as rc:
        assert rc.request([header("ping", "p")])["type"] == "pong"


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    frames=st.lists(st.binary(max_size=300), min_size=1, max_size=4),
    mutate=st.data(),
)
def test_fuzzed_frames_always_get_an_error(rc: RawClient, frames: list[bytes], mutate: Any) -> None:
    if mutate.draw(st.booleans(), label="start from a valid dream header"):
        valid = bytearray(_dream())
        for _ in range(mutate.draw(st.integers(1, 4), label="flips")):
            i = mutate.draw(st.integers(0, len(valid) - 1))
            valid[i] = mutate.draw(st.integers(0, 255))
        frames = [bytes(valid), *frames[1:]]
    reply = rc.request(frames)
    # A mutated header may by chance still be a valid dream: then it is accepted.
    assert reply["type"] in ("error", "accepted"), reply
    if reply["type"] == "accepted":
        rc.recv_until({"result", "error"}, request_id=reply["id"])


def test_status_still_works_after_all_that(daemon: Daemon) -> None:
    with daemon.client() as c:
        st_ = c.status()
        assert st_["jobs"]["rejected"] > 20
        result = c.dream(raw_image(PIXELS), {**QUICK, "seed": 1})
    assert result.image.nbytes == PIXELS.nbytes
