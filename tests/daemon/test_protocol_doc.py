"""A client written from ``protocol/PROTOCOL.md`` alone: raw pyzmq and msgpack.

This module deliberately does not import the ``protocol`` package: if a dream works from
here, the document is complete enough to write a client in another language.
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import msgpack
import numpy as np
import pytest
import zmq

from .conftest import Daemon

DOC = Path(__file__).resolve().parents[2] / "protocol" / "PROTOCOL.md"


class DocClient:
    """Section 1: a DEALER with a stable routing id and LINGER 0; section 2: frames."""

    def __init__(self, endpoint: str) -> None:
        self.ctx = zmq.Context()
        self.sock = self.ctx.socket(zmq.DEALER)
        self.sock.setsockopt(zmq.ROUTING_ID, b"doc-" + uuid.uuid4().hex.encode())
        self.sock.setsockopt(zmq.LINGER, 0)
        self.sock.connect(endpoint)

    def send(self, type_: str, id_: str, frames: tuple[bytes, ...] = (), **fields: Any) -> None:
        header = {"v": [1, 0], "type": type_, "id": id_, **fields}
        self.sock.send_multipart([msgpack.packb(header), *frames])

    def recv(self, timeout: float = 60.0) -> tuple[dict[str, Any], list[bytes]]:
        # Section 9: poll, then receive.
        assert self.sock.poll(int(timeout * 1000)), "no reply"
        frames = self.sock.recv_multipart()
        header = msgpack.unpackb(frames[0])
        assert isinstance(header, dict)
        # Section 2.1/4: every reply has v, type, id, server.
        assert header["v"][0] == 1
        assert isinstance(header["server"], str) and header["server"]
        return header, frames[1:]

    def close(self) -> None:
        self.sock.close()
        self.ctx.term()


@pytest.fixture()
def doc(daemon: Daemon) -> Iterator[DocClient]:
    c = DocClient(daemon.endpoint)
    yield c
    c.close()


def _hex_after(marker: str) -> bytes:
    text = DOC.read_text(encoding="utf-8")
    block = text[text.index(marker) :].split("```")[1]
    return bytes.fromhex(" ".join(block.split()))


def test_hello_ping_status(doc: DocClient) -> None:
    doc.send("hello", "h1", client="doc test")
    hello, frames = doc.recv()
    assert hello["type"] == "hello" and hello["id"] == "h1" and not frames
    assert [1, 2] in hello["protocols"]
    assert isinstance(hello["model"], str)

    # The byte-exact ping of section 11.
    ping = _hex_after('`{"v":[1,2],"type":"ping","id":"p1"}` is')
    assert msgpack.unpackb(ping) == {"v": [1, 2], "type": "ping", "id": "p1"}
    doc.sock.send(ping)
    pong, _ = doc.recv()
    assert pong["type"] == "pong" and pong["id"] == "p1"
    documented = msgpack.unpackb(_hex_after("and the answer"))
    assert documented.keys() == pong.keys()

    doc.send("status", "s1", layers=True)
    status, _ = doc.recv()
    assert status["type"] == "status" and status["id"] == "s1"
    assert status["layers"]


def _dream(
    doc: DocClient, pixels: np.ndarray, dtype: str, params: dict[str, Any]
) -> tuple[dict[str, Any], bytes, list[dict[str, Any]]]:
    h, w, c = pixels.shape
    desc = {"width": w, "height": h, "channels": c, "dtype": dtype, "encoding": "raw"}
    job = uuid.uuid4().hex
    doc.send("dream", job, (pixels.tobytes(),), image=desc, params=params, priority="batch")
    seen: list[dict[str, Any]] = []
    while True:
        header, frames = doc.recv()
        assert header["id"] == job
        seen.append(header)
        if header["type"] == "result":
            assert len(frames) == 1
            return header, frames[0], seen
        assert header["type"] in ("accepted", "progress"), header
        assert not frames


def test_dream_raw_rgb_u8(doc: DocClient) -> None:
    rng = np.random.default_rng(0)
    pixels = rng.integers(0, 256, (48, 64, 3), dtype=np.uint8)
    params = {"octave_count": 2, "steps_per_octave": 2, "seed": 1}
    result, data, seen = _dream(doc, pixels, "u8", params)
    assert seen[0]["type"] == "accepted" and seen[0]["position"] >= 0
    for p in (m for m in seen if m["type"] == "progress"):
        assert 0 <= p["done"] < p["total"] and 0 <= p["octave"] < p["octaves"]
    assert result["image"]["width"] == 64 and result["image"]["height"] == 48
    assert result["image"]["channels"] == 3 and result["image"]["dtype"] == "u8"
    assert result["image"]["encoding"] == "raw"
    assert len(data) == 64 * 48 * 3
    assert result["seed"] == 1 and result["params"]["seed"] == 1
    assert result["params"]["octave_count"] == 2
    assert isinstance(result["model"], str) and result["layers"]
    assert {"queued", "dream", "total"} <= set(result["timings"])
    assert isinstance(result["notes"], list)
    out = np.frombuffer(data, np.uint8).reshape(48, 64, 3)
    assert not np.array_equal(out, pixels)


def test_dream_raw_u16_gray_alpha_little_endian(doc: DocClient) -> None:
    y, x = np.mgrid[0:48, 0:64]
    gray = ((np.sin(x / 6) + np.cos(y / 5) + 2) / 4 * 65535).astype("<u2")
    alpha = (x * 1000).astype("<u2")
    pixels = np.stack([gray, alpha], axis=2)
    result, data, _ = _dream(doc, pixels, "u16", {"octave_count": 2, "steps_per_octave": 2})
    assert result["image"]["dtype"] == "u16" and result["image"]["channels"] == 2
    assert isinstance(result["seed"], int)  # a random seed is reported
    out = np.frombuffer(data, "<u2").reshape(48, 64, 2)
    assert np.array_equal(out[:, :, 1], alpha)  # alpha carried through unchanged


def test_documented_errors(doc: DocClient) -> None:
    desc = {"width": 2, "height": 1, "channels": 3, "dtype": "u8", "encoding": "raw"}
    doc.send("dream", "b2e4", (bytes(6),), image=desc, params={"jitter": -3})
    err, _ = doc.recv()
    assert err["type"] == "error" and err["id"] == "b2e4"
    assert err["code"] == "BAD_VALUE" and err["field"] == "params.jitter"

    doc.send("cancel", "c1", job="no-such-job")
    err, _ = doc.recv()
    assert err["code"] == "UNKNOWN_JOB" and err["id"] == "c1" and err["job"] == "no-such-job"

    doc.sock.send(msgpack.packb({"v": [2, 0], "type": "hello", "id": "v2"}))
    err, _ = doc.recv()
    assert err["code"] == "UNSUPPORTED_VERSION" and err["id"] == "v2"
    assert [1, 2] in err["protocols"]

    codes = set(re.findall(r"^\| `([A-Z_]+)` \|", DOC.read_text(encoding="utf-8"), re.M))
    assert {"BAD_VALUE", "UNKNOWN_JOB", "UNSUPPORTED_VERSION", "CANCELLED"} <= codes


def test_cancel_a_running_job(doc: DocClient) -> None:
    desc = {"width": 64, "height": 48, "channels": 3, "dtype": "u8", "encoding": "raw"}
    pixels = np.zeros((48, 64, 3), np.uint8).tobytes()
    doc.send(
        "dream", "long", (pixels,), image=desc, params={"octave_count": 1, "steps_per_octave": 5000}
    )
    while doc.recv()[0]["type"] != "progress":
        pass
    doc.send("cancel", "c2", job="long")
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        header, _ = doc.recv()
        if header["type"] == "error":
            assert header["code"] == "CANCELLED" and header["id"] == "long"
            assert header["job"] == "long"
            return
        assert header["type"] == "progress"
    raise AssertionError("no CANCELLED error")
