"""A tiny ROUTER stand-in for dreamd, for the client's unit tests only (the real daemon's
tests live in tests/daemon). It speaks through the package's own encode/decode functions
and runs in a thread; every behaviour a test needs is a flag."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import zmq

from dreamd.protocol import (
    SUPPORTED_VERSIONS,
    Accepted,
    CancelRequest,
    DreamRequest,
    DreamResult,
    ErrorCode,
    ErrorReply,
    Estimate,
    EstimateRequest,
    Frames,
    HelloReply,
    HelloRequest,
    Image,
    MessageInvalid,
    PingRequest,
    Pong,
    Progress,
    Reply,
    Request,
    StatusReply,
    StatusRequest,
    decode_request,
    encode_error,
    encode_reply,
)

SERVER = "fake-dreamd 0.0"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def endpoint() -> str:
    return f"tcp://127.0.0.1:{free_port()}"


@dataclass
class _Job:
    ident: bytes
    request: DreamRequest
    done: int = 0
    last_sent: float = 0.0


@dataclass
class FakeDaemon:
    """Answers hello/status/ping/cancel; runs dreams as ``steps`` ticks of ``tick`` s,
    round-robin across jobs, and returns the input image as the result.

    ``silent``: read everything, answer nothing. ``hold``: jobs never finish, only send a
    heartbeat ``progress`` every ``heartbeat`` s. ``mute_after_accept``: after the first
    ``accepted`` answer nothing more. ``die_on_dream``: close the socket on the first
    dream, without answering (a crash). ``forget_first_dream``: answer the first sending
    of each dream ``accepted``, then forget it (a job lost by the daemon, which still
    answers everything else); a resend of it runs normally.
    """

    endpoint: str
    steps: int = 3
    tick: float = 0.01
    silent: bool = False
    hold: bool = False
    heartbeat: float = 0.2
    mute_after_accept: bool = False
    die_on_dream: bool = False
    forget_first_dream: bool = False
    curve_secret: bytes | None = None
    protocols: tuple[tuple[int, int], ...] = SUPPORTED_VERSIONS  # (1, 0): an old daemon
    raw_replies: list[Frames] = field(default_factory=list)  # sent instead of answers
    received: list[Request] = field(default_factory=list)
    invalid: list[MessageInvalid] = field(default_factory=list)
    max_active: int = 0
    _stop: threading.Event = field(default_factory=threading.Event)
    _ready: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None
    _muted: bool = False
    _forgotten: set[str] = field(default_factory=set)

    def start(self) -> FakeDaemon:
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        assert self._ready.wait(5), "fake daemon did not start"
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)

    @property
    def stopped(self) -> bool:
        return self._thread is not None and not self._thread.is_alive()

    def of_type(self, kind: type) -> list[Any]:
        return [r for r in list(self.received) if isinstance(r, kind)]

    # ----------------------------------------------------------------- server loop

    def _run(self) -> None:
        ctx = zmq.Context()
        sock = ctx.socket(zmq.ROUTER)
        sock.linger = 0
        sock.router_mandatory = True
        sock.setsockopt(zmq.ROUTER_HANDOVER, 1)
        if self.curve_secret is not None:
            sock.curve_server = True
            sock.curve_secretkey = self.curve_secret
        sock.bind(self.endpoint)
        self._sock = sock
        self._ready.set()
        jobs: dict[str, _Job] = {}
        try:
            while not self._stop.is_set():
                if sock.poll(int(self.tick * 1000)):
                    msg = sock.recv_multipart(copy=False)
                    if self._handle(msg[0].bytes, msg[1:], jobs) == "die":
                        return
                self._advance(jobs)
        finally:
            sock.close(linger=0)
            ctx.term()

    def _send(self, ident: bytes, frames: Frames) -> None:
        if self._muted:
            return
        # EHOSTUNREACH: the client went away; a real daemon drops the reply too.
        with contextlib.suppress(zmq.ZMQError):
            self._sock.send_multipart([ident, *frames], copy=False)

    def _reply(self, ident: bytes, reply: Reply) -> None:
        self._send(ident, encode_reply(reply, server=SERVER))

    def _handle(self, ident: bytes, frames: list[zmq.Frame], jobs: dict[str, _Job]) -> str:
        try:
            request = decode_request(frames)
        except MessageInvalid as exc:
            self.invalid.append(exc)
            self._send(
                ident,
                encode_error(
                    exc.request_id or "", exc.code, exc.message, field=exc.field, server=SERVER
                ),
            )
            return ""
        self.received.append(request)
        if self.silent:
            return ""
        if self.raw_replies:
            self._send(ident, self.raw_replies.pop(0))
            return ""
        if isinstance(request, HelloRequest):
            info = {"model": "fake", "models": ["fake"]}
            self._reply(ident, HelloReply(request.id, self.protocols, info))
        elif isinstance(request, EstimateRequest):
            pixels = request.width * request.height
            octaves = [[request.width // 2, request.height // 2], [request.width, request.height]]
            self._reply(ident, Estimate(request.id, pixels * 1e-6, octaves, None, 20, []))
        elif isinstance(request, StatusRequest):
            fields: dict[str, Any] = {"queue": len(jobs)}
            if request.layers:
                fields["layers"] = {"fake": ["conv1", "conv2"]}
            self._reply(ident, StatusReply(request.id, fields))
        elif isinstance(request, PingRequest):
            self._reply(ident, Pong(request.id))
        elif isinstance(request, CancelRequest):
            if jobs.pop(request.job, None) is not None:
                self._reply(
                    ident,
                    ErrorReply(request.job, ErrorCode.CANCELLED, "cancelled", job=request.job),
                )
            else:
                self._reply(
                    ident,
                    ErrorReply(request.id, ErrorCode.UNKNOWN_JOB, "no such job", job=request.job),
                )
        elif isinstance(request, DreamRequest):
            if self.die_on_dream:
                return "die"
            if request.model == "nope":
                self._reply(
                    ident,
                    ErrorReply(request.id, ErrorCode.UNKNOWN_MODEL, "no model 'nope'", "model"),
                )
                return ""
            if self.forget_first_dream and request.id not in self._forgotten:
                self._forgotten.add(request.id)
                self._reply(ident, Accepted(request.id, 0))
                return ""
            if request.id in jobs:  # a resend: the same job, maybe on a new connection
                jobs[request.id].ident = ident
            else:
                jobs[request.id] = _Job(ident, request)
            self.max_active = max(self.max_active, len(jobs))
            position = list(jobs).index(request.id)
            self._reply(ident, Accepted(request.id, position))
            if self.mute_after_accept:
                self._muted = True
        return ""

    def _advance(self, jobs: dict[str, _Job]) -> None:
        now = time.monotonic()
        for job_id, job in list(jobs.items()):
            if self.hold:
                if now - job.last_sent >= self.heartbeat:
                    job.last_sent = now
                    self._reply(job.ident, Progress(job_id, 0, self.steps, 0, 1, 0))
                continue
            job.done += 1
            preview = None
            if job.request.preview is not None:
                preview = Image.raw(bytes([job.done]) * 12, 2, 2, 3, "u8")
            self._reply(job.ident, Progress(job_id, job.done, self.steps, 0, 1, job.done, preview))
            if job.done >= self.steps:
                del jobs[job_id]
                req = job.request
                self._reply(
                    job.ident,
                    DreamResult(
                        job_id,
                        req.image,
                        "fake",
                        ["conv2"],
                        req.params,
                        req.params.get("seed", 7),
                        {"total": 0.01},
                        ["echo"],
                    ),
                )


@pytest.fixture
def fake(endpoint: str) -> Iterator[FakeDaemon]:
    daemon = FakeDaemon(endpoint).start()
    yield daemon
    daemon.stop()


@pytest.fixture
def make_fake() -> Iterator[Any]:
    """Build fakes with options; all are stopped at the end of the test."""
    made: list[FakeDaemon] = []

    def make(endpoint: str, **options: Any) -> FakeDaemon:
        daemon = FakeDaemon(endpoint, **options).start()
        made.append(daemon)
        return daemon

    yield make
    for daemon in made:
        daemon.stop()
