"""The client library: one DEALER socket per :class:`Client`, any number of requests in
flight on it, told apart by ``id``.

Liveness, in short: any message from the daemon is a heartbeat (it sends ``progress`` at
least every 2 s for a running job). After ``Timeout.reply / 2`` of silence the client
pings; after ``Timeout.reply`` (``Timeout.connect`` before the daemon has answered at
all) it takes the connection for dead, closes the socket, opens a new one and resends
every outstanding request with the same ``id`` (Lazy Pirate), so a daemon that is still
running the job can attach it to the new connection. After ``retries`` resends a request
fails with :class:`RequestTimeout`, or :class:`Unreachable` when no connection was ever
made. Sockets are only ever polled, then read (never ``recv`` under a timer), and only
under the client's lock, because ZeroMQ sockets are not thread safe.
"""

from __future__ import annotations

import contextlib
import logging
import platform
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import zmq
from zmq.utils.monitor import recv_monitor_message

from ._curve import CurveKeys
from ._endpoints import ipc_path, resolve_endpoint
from ._errors import (
    Cancelled,
    ClientError,
    DreamdError,
    ErrorCode,
    MessageInvalid,
    ProtocolError,
    Rejected,
    RequestTimeout,
    Unreachable,
    Unsupported,
    VersionMismatch,
)
from ._estimate import PREVIEW_VERSION, Estimate, EstimateRequest, Preview
from ._image import Image
from ._limits import Limits
from ._messages import (
    FRAME_IMAGES,
    Accepted,
    CancelRequest,
    DreamRequest,
    DreamResult,
    ErrorReply,
    Frames,
    HelloReply,
    HelloRequest,
    PingRequest,
    Pong,
    Priority,
    Progress,
    Reply,
    Request,
    StatusReply,
    StatusRequest,
    decode_reply,
    decode_request,
    encode_request,
)
from ._params import STYLE_PARAMS_1_1, STYLE_PARAMS_1_2
from ._timeouts import Timeout
from ._version import PROTOCOL_VERSION
from ._wire import unpack_header

log = logging.getLogger("dreamd.protocol")

#: How often a blocking call wakes to look at its cancel flag (seconds).
POLL_SLICE = 0.05

#: Bytes per second a request is assumed to need at worst (100 Mbit/s Ethernet, roughly):
#: ``Timeout.connect`` is extended by the time its unanswered requests take at this rate.
SLOW_LINK_BYTES_PER_S = 10_000_000

#: ``dream(cancel=...)``: an Event, or anything callable returning true to cancel.
CancelFlag = threading.Event | Callable[[], bool]
ProgressCallback = Callable[[Progress], None]

_MONITOR_EVENTS = (
    zmq.EVENT_CONNECTED
    | zmq.EVENT_DISCONNECTED
    | zmq.EVENT_HANDSHAKE_SUCCEEDED
    | zmq.EVENT_HANDSHAKE_FAILED_NO_DETAIL
    | zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL
    | zmq.EVENT_HANDSHAKE_FAILED_AUTH
)
_HANDSHAKE_FAILED = zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL | zmq.EVENT_HANDSHAKE_FAILED_NO_DETAIL
# Requests are checked locally before they are sent, for their shape and values; the size
# caps are the daemon's business (it may have raised them), hence permissive limits.
_LOCAL_CHECK = Limits.permissive()
#: Several style images and the style parameters of STYLE_PARAMS_1_1 came with 1.1.
STYLE_VERSION: tuple[int, int] = (1, 1)
#: A styled video frame's content, previous and previous_weight images, and temporal_weight.
FRAME_VERSION: tuple[int, int] = (1, 2)


def _error_for(reply: ErrorReply) -> ClientError:
    """The exception a client raises for an ``error`` reply."""
    if reply.code == ErrorCode.CANCELLED:
        return Cancelled(f"dreamd cancelled the job: {reply.message}", reply.job or reply.id)
    if reply.code == ErrorCode.UNSUPPORTED_VERSION:
        return VersionMismatch(reply.protocols or (), detail=reply.message)
    return Rejected(reply.code, reply.message, reply.field, reply.job)


class _Call:
    """A request waiting for its answer: kept with its frames, for resending."""

    def __init__(
        self, id: str, kind: str, frames: Frames, deadline: float | None, expects: type
    ) -> None:
        self.id = id
        self.kind = kind
        self.frames = frames
        self.deadline = deadline
        self.expects = expects
        self.sent_at = 0.0
        self.answered_at = 0.0
        self.attempts = 0  # resends so far
        self.heard = False  # any answer for it yet
        self.heard_at = 0.0  # when the daemon last said anything about it
        self.nbytes = sum(len(f) for f in frames)
        self.done = False
        self.reply: Reply | None = None
        self.error: DreamdError | None = None

    def _finish(self, reply: Reply | None = None, error: DreamdError | None = None) -> None:
        if not self.done:
            self.reply, self.error, self.done = reply, error, True

    def _on_reply(self, reply: Reply) -> None:
        self.heard, self.attempts, self.answered_at = True, 0, time.monotonic()
        self.heard_at = self.answered_at
        if isinstance(reply, ErrorReply):
            self._finish(error=_error_for(reply))
        elif isinstance(reply, self.expects):
            self._finish(reply=reply)
        else:
            self._finish(
                error=ProtocolError(f"dreamd answered a {self.kind!r} with {reply.type!r}")
            )


class Job(_Call):
    """A dream submitted with :meth:`Client.submit`.

    ``position`` is the last queue position the daemon reported (0: running),
    ``progress`` the last :class:`Progress`. :meth:`result` waits for the outcome and
    returns the :class:`DreamResult` or raises the job's error.
    """

    def __init__(
        self,
        client: Client,
        id: str,
        frames: Frames,
        deadline: float | None,
        on_progress: ProgressCallback | None,
    ) -> None:
        super().__init__(id, "dream", frames, deadline, DreamResult)
        self._client = client
        self._on_progress = on_progress
        # Progress is handed to the callback by the thread that waits for this job (not
        # the one that happened to read the socket), so GUI callbacks run where expected.
        self._events: deque[Progress] = deque(maxlen=1000)
        self.position: int | None = None
        self.progress: Progress | None = None

    def __repr__(self) -> str:
        state = "done" if self.done else f"position={self.position}"
        return f"<Job {self.id} {state}>"

    def _on_reply(self, reply: Reply) -> None:
        if isinstance(reply, Accepted):
            self.heard, self.attempts, self.heard_at = True, 0, time.monotonic()
            self.position = reply.position
        elif isinstance(reply, Progress):
            self.heard, self.attempts, self.heard_at = True, 0, time.monotonic()
            self.position, self.progress = 0, reply
            self._events.append(reply)
        else:
            super()._on_reply(reply)

    def _deliver(self) -> None:
        while True:
            try:
                # popleft, not a length check: two threads may wait for the same job.
                event = self._events.popleft()
            except IndexError:
                return
            if self._on_progress is not None:
                self._on_progress(event)

    def result(self) -> DreamResult:
        """Wait until the job ends; return its result or raise its error
        (:class:`Rejected`, :class:`Cancelled`, :class:`RequestTimeout`, …)."""
        while not self.done:
            self._client.wait([self])
        self._deliver()
        if self.error is not None:
            raise self.error
        assert isinstance(self.reply, DreamResult)
        return self.reply

    def exception(self) -> DreamdError | None:
        """The job's error once it has ended with one, else ``None``."""
        return self.error

    def cancel(self) -> bool:
        """Same as ``client.cancel(job)``."""
        return self._client.cancel(self)


def _fired(flag: CancelFlag) -> bool:
    if isinstance(flag, threading.Event):
        return flag.is_set()
    return bool(flag())


class Client:
    """A connection to dreamd. Safe to share between threads; usable as a context manager.

    ``endpoint``: see :func:`resolve_endpoint` (``None``: ``$DREAMD_ENDPOINT`` or the
    platform default). ``timeout``: a :class:`Timeout`. ``retries``: resends of an
    unanswered request before giving up. ``curve``: keys for a daemon that requires
    CurveZMQ. ``name``: this client, as the daemon's log and status show it. ``limits``:
    caps for decoding replies (default :meth:`Limits.permissive`). ``context``: a zmq
    context to use instead of a private one.
    """

    def __init__(
        self,
        endpoint: str | None = None,
        *,
        timeout: Timeout | None = None,
        retries: int = 2,
        curve: CurveKeys | None = None,
        name: str = "",
        limits: Limits | None = None,
        context: zmq.Context[Any] | None = None,
    ) -> None:
        if isinstance(retries, bool) or not isinstance(retries, int) or retries < 0:
            raise ValueError("retries must be a non-negative integer")
        self.endpoint = resolve_endpoint(endpoint)
        self.timeout = timeout or Timeout()
        self.retries = retries
        self.name = name or f"dreamd-protocol python-{platform.python_version()}"
        #: What :meth:`hello` last returned.
        self.server_info: dict[str, Any] | None = None
        self._curve = curve
        self._limits = limits or Limits.permissive()
        self._own_context = context is None
        self._ctx: zmq.Context[Any] = context if context is not None else zmq.Context()
        self._lock = threading.RLock()
        # One routing id for the life of the Client, kept across reopened sockets, so the
        # daemon sees a resent request come from the same peer.
        self._routing_id = b"c" + uuid.uuid4().hex.encode()
        self._calls: dict[str, _Call] = {}
        self._sock: zmq.Socket[Any] | None = None
        self._monitor: zmq.Socket[Any] | None = None
        self._poller = zmq.Poller()
        self._connected = False  # this socket completed a handshake at some point
        self._handshake_error: str | None = None
        self._last_rx = 0.0
        self._busy_since = 0.0
        self._heard = False  # anything received since busy_since
        self._probe: str | None = None
        self._closed = False
        self._open()

    # ------------------------------------------------------------------ public API

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<Client {self.endpoint} {'closed' if self._closed else 'open'}>"

    def close(self) -> None:
        """Close the socket (unsent messages are dropped) and fail whatever is in flight
        with :class:`ClientError`. Idempotent."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            for call in list(self._calls.values()):
                call._finish(error=ClientError("the client was closed"))
            self._calls.clear()
            self._close_socket()
            if self._own_context:
                self._ctx.destroy(linger=0)

    def hello(self) -> dict[str, Any]:
        """Introduce this client; return the daemon's info: ``server`` (its version),
        ``protocols`` and whatever the daemon adds (``model``, ``models``, ``devices``,
        ``limits``…). Raises :class:`VersionMismatch` when no major version is shared."""
        reply = self._request(HelloRequest(self._new_id(), self.name[:256]))
        assert isinstance(reply, HelloReply)
        if PROTOCOL_VERSION[0] not in {major for major, _ in reply.protocols}:
            raise VersionMismatch(reply.protocols)
        info = dict(reply.info)
        info["server"] = reply.server
        info["protocols"] = [list(v) for v in reply.protocols]
        self.server_info = info
        return info

    def status(self, layers: bool = False) -> dict[str, Any]:
        """The daemon's status fields (queue, devices, jobs…), plus ``server``; with
        ``layers`` also each model's layer catalogue."""
        reply = self._request(StatusRequest(self._new_id(), layers))
        assert isinstance(reply, StatusReply)
        return {**reply.fields, "server": reply.server}

    def speaks(self, version: tuple[int, int]) -> bool:
        """Whether the daemon speaks ``version`` or a later minor of its major (asks with
        :meth:`hello` when it has not been asked yet)."""
        if self.server_info is None:
            self.hello()
        assert self.server_info is not None
        return any(
            major == version[0] and minor >= version[1]
            for major, minor in self.server_info.get("protocols", ())
        )

    def estimate(
        self,
        width: int,
        height: int,
        params: Mapping[str, Any] | None = None,
        *,
        model: str | None = None,
    ) -> Estimate:
        """How long a dream of a ``width`` × ``height`` picture with ``params`` would take,
        and its octaves (an :class:`Estimate`; ``seconds`` None until the daemon has
        measured its speed). Raises :class:`Unsupported` for a daemon older than 1.1."""
        if not self.speaks(PREVIEW_VERSION):
            raise Unsupported("this dreamd cannot estimate (protocol 1.0): update it for estimates")
        request = EstimateRequest(self._new_id(), width, height, dict(params or {}), model)
        frames = encode_request(request)
        decode_request(frames, _LOCAL_CHECK)
        reply = self._request(request)
        assert isinstance(reply, Estimate)
        return reply

    def ping(self) -> float:
        """Round-trip time to the daemon in seconds."""
        request = PingRequest(self._new_id())
        call = self._call(request)
        self._await(call)
        return max(0.0, call.answered_at - call.sent_at)

    def submit(
        self,
        image: Image,
        params: Mapping[str, Any] | None = None,
        *,
        guide: Image | None = None,
        style: Image | Iterable[Image] | None = None,
        model: str | None = None,
        priority: Priority = "interactive",
        on_progress: ProgressCallback | None = None,
        preview: Preview | None = None,
        content: Image | None = None,
        previous: Image | None = None,
        previous_weight: Image | None = None,
    ) -> Job:
        """Send a dream and return its :class:`Job` at once.

        The request is checked locally first (parameter names, types and ranges, image
        descriptors against their data) and :class:`MessageInvalid` raised without
        sending anything. Image data is sent without copying: leave it untouched until the
        job ends. ``on_progress`` is called with each :class:`Progress` by the thread that
        waits for the job (:meth:`wait`, :meth:`Job.result` or :meth:`dream`). With
        ``preview`` (a :class:`Preview`), progress carries pictures of the dream as it
        forms (``Progress.preview``) when the daemon speaks 1.1 or later; an older daemon
        gets no such request and sends none. ``style`` may be several images (blended by
        ``params["style_blend"]``); those, and the parameters 1.1 added, raise
        :class:`Unsupported` for a 1.0 daemon rather than being refused by it, except
        ``octave_count`` ``"auto"``, left out for it (it runs its default, 4). A styled
        video frame's ``content``, ``previous`` and ``previous_weight`` (PROTOCOL.md 3.4)
        and ``temporal_weight`` raise :class:`Unsupported` for a daemon older than 1.2.
        """
        if preview is not None and not self.speaks(PREVIEW_VERSION):
            preview = None
        if style is not None and not isinstance(style, Image):
            style = tuple(style)
            style = style[0] if len(style) == 1 else style
        params = dict(params or {})
        if params.get("octave_count") == "auto" and not self.speaks(STYLE_VERSION):
            del params["octave_count"]  # a 1.0 daemon runs its default, 4
        newer = sorted((STYLE_PARAMS_1_1 | {"detail_size"}).intersection(params))
        if isinstance(style, tuple):
            newer.insert(0, "several style images")
        if newer and not self.speaks(STYLE_VERSION):
            raise Unsupported(
                f"this dreamd speaks protocol 1.0: {', '.join(newer)} need 1.1; update it"
            )
        frame = (content, previous, previous_weight)
        newest = [n for n, v in zip(FRAME_IMAGES, frame, strict=True) if v is not None]
        newest += sorted(STYLE_PARAMS_1_2.intersection(params))
        if newest and not self.speaks(FRAME_VERSION):
            raise Unsupported(
                f"this dreamd speaks protocol 1.1 or older: {', '.join(newest)} need 1.2; update it"
            )
        request = DreamRequest(
            self._new_id(), image, params, guide, style, model, priority, preview, *frame
        )
        frames = encode_request(request)
        decode_request(frames, _LOCAL_CHECK)
        job = Job(self, request.id, frames, self._deadline(), on_progress)
        with self._lock:
            self._start(job)
        return job

    def dream(
        self,
        image: Image,
        params: Mapping[str, Any] | None = None,
        *,
        guide: Image | None = None,
        style: Image | Iterable[Image] | None = None,
        model: str | None = None,
        priority: Priority = "interactive",
        on_progress: ProgressCallback | None = None,
        cancel: CancelFlag | None = None,
        preview: Preview | None = None,
        content: Image | None = None,
        previous: Image | None = None,
        previous_weight: Image | None = None,
    ) -> DreamResult:
        """Dream and wait for the result.

        ``cancel`` is a ``threading.Event`` or a callable, looked at every 50 ms: when it
        fires the daemon is told to cancel and :class:`Cancelled` is raised at once. An
        exception raised by ``on_progress`` (or a KeyboardInterrupt) cancels the job too,
        then propagates.
        """
        job = self.submit(
            image,
            params,
            guide=guide,
            style=style,
            model=model,
            priority=priority,
            on_progress=on_progress,
            preview=preview,
            content=content,
            previous=previous,
            previous_weight=previous_weight,
        )
        try:
            while not job.done:
                job._deliver()
                if cancel is not None and _fired(cancel):
                    self.cancel(job)
                    break
                self._pump(POLL_SLICE)
            return job.result()
        except BaseException:
            self.cancel(job)
            raise

    def wait(self, jobs: Iterable[Job], timeout: float | None = None) -> list[Job]:
        """Wait until at least one of ``jobs`` has ended (or ``timeout`` seconds pass) and
        return those that have ended, in the order given; an empty list on timeout.
        Delivers progress callbacks of ``jobs`` meanwhile. Jobs end with a result or an
        error, never silently: each is bounded by the client's timeouts."""
        jobs = list(jobs)
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            for job in jobs:
                job._deliver()
            finished = [job for job in jobs if job.done]
            if finished or not jobs:
                return finished
            wait = POLL_SLICE
            if deadline is not None:
                wait = min(wait, deadline - time.monotonic())
                if wait <= 0:
                    return []
            self._pump(wait)

    def cancel(self, job: Job) -> bool:
        """Cancel ``job``: it ends at once with :class:`Cancelled` here and the daemon is
        told to stop it. Returns ``False`` when the job had already ended."""
        with self._lock:
            if job.done:
                return False
            job._finish(error=Cancelled("cancelled by this client", job.id))
            self._calls.pop(job.id, None)
            self._send_cancel(job.id)
            return True

    # ------------------------------------------------------------ request plumbing

    @staticmethod
    def _new_id() -> str:
        # Unique across clients and restarts, so a daemon can deduplicate resends by id.
        return uuid.uuid4().hex

    def _deadline(self) -> float | None:
        total = self.timeout.total
        return None if total is None else time.monotonic() + total

    def _call(self, request: Request) -> _Call:
        expects = {
            "hello": HelloReply,
            "status": StatusReply,
            "ping": Pong,
            "estimate": Estimate,
        }[request.type]
        call = _Call(request.id, request.type, encode_request(request), self._deadline(), expects)
        with self._lock:
            self._start(call)
        return call

    def _await(self, call: _Call) -> Reply:
        try:
            while not call.done:
                self._pump(POLL_SLICE)
        finally:
            if not call.done:  # interrupted (KeyboardInterrupt…): stop resending it
                with self._lock:
                    self._calls.pop(call.id, None)
        if call.error is not None:
            raise call.error
        assert call.reply is not None
        return call.reply

    def _request(self, request: Request) -> Reply:
        return self._await(self._call(request))

    def _start(self, call: _Call) -> None:
        if self._closed:
            raise ClientError("the client is closed")
        now = time.monotonic()
        if not self._calls:
            # From idle to busy: silence counts from now, and the daemon has to show
            # again that it is there.
            self._busy_since, self._heard = now, False
        self._calls[call.id] = call
        self._send(call.frames)
        call.sent_at = now

    def _send_cancel(self, job_id: str) -> None:
        # Fire and forget: the job has already ended here; if the cancel is lost the
        # daemon finishes the job and its result is dropped as a reply to nothing.
        self._send(encode_request(CancelRequest(self._new_id(), job_id)))

    def _send(self, frames: Frames) -> None:
        if self._sock is None:
            return
        try:
            self._sock.send_multipart(frames, flags=zmq.NOBLOCK, copy=False)
        except zmq.Again:
            # Queue full: the liveness check will reopen the socket and resend.
            log.debug("send to %s would block; it will be retried", self.endpoint)

    # --------------------------------------------------------------- socket pump

    def _open(self) -> None:
        sock = self._ctx.socket(zmq.DEALER)
        sock.linger = 0  # requests are resendable: never block close on unsent ones
        sock.routing_id = self._routing_id
        sock.setsockopt(zmq.RECONNECT_IVL, 100)
        sock.setsockopt(zmq.RECONNECT_IVL_MAX, 1000)
        sock.setsockopt(zmq.MAXMSGSIZE, self._limits.max_frame_bytes)
        if self._curve is not None:
            self._curve.apply(sock)
        try:
            # Tells "nothing listens there" (Unreachable) from "it listens but is silent".
            self._monitor = sock.get_monitor_socket(_MONITOR_EVENTS)
        except zmq.ZMQError:
            self._monitor = None
        sock.connect(self.endpoint)
        self._sock = sock
        self._poller = zmq.Poller()
        self._poller.register(sock, zmq.POLLIN)
        if self._monitor is not None:
            self._poller.register(self._monitor, zmq.POLLIN)
        self._connected = False
        self._peer_lost = False  # the connection dropped; resend when it is back
        self._handshake_error = None

    def _close_socket(self) -> None:
        if self._sock is None:
            return
        if self._monitor is not None:
            with contextlib.suppress(zmq.ZMQError):
                self._sock.disable_monitor()
            self._monitor.close(linger=0)
            self._monitor = None
        self._sock.close(linger=0)
        self._sock = None

    def _pump(self, wait: float) -> None:
        """Wait up to ``wait`` seconds for traffic, dispatch it, then check liveness."""
        with self._lock:
            if self._closed:
                raise ClientError("the client is closed")
            ready = dict(self._poller.poll(max(0, int(wait * 1000))))
            if self._monitor is not None and self._monitor in ready:
                self._read_monitor()
            if self._sock is not None and self._sock in ready:
                # Bounded, so that a flood of progress cannot starve the liveness check.
                for _ in range(1000):
                    try:
                        frames = self._sock.recv_multipart(zmq.NOBLOCK, copy=False)
                    except zmq.Again:
                        break
                    self._dispatch(frames)
            self._check_liveness(time.monotonic())

    def _read_monitor(self) -> None:
        assert self._monitor is not None
        while True:
            try:
                event = recv_monitor_message(self._monitor, zmq.NOBLOCK)
            except zmq.Again:
                return
            kind = event["event"]
            if kind == zmq.EVENT_DISCONNECTED:
                self._peer_lost = True
            elif kind == zmq.EVENT_HANDSHAKE_SUCCEEDED and self._peer_lost:
                self._peer_lost = False
                self._resend_after_reconnect()
            if kind in (zmq.EVENT_CONNECTED, zmq.EVENT_HANDSHAKE_SUCCEEDED):
                self._connected = True
            elif kind == zmq.EVENT_HANDSHAKE_FAILED_AUTH:
                self._handshake_error = (
                    "dreamd refused this client's CURVE key: add the client's public key "
                    "to the daemon's allow-list"
                )
            elif kind & _HANDSHAKE_FAILED:
                self._handshake_error = (
                    "the ZeroMQ handshake failed: is that a dreamd endpoint, and do the "
                    "CURVE settings of client and daemon match?"
                )

    def _resend_after_reconnect(self) -> None:
        """ZeroMQ reconnected this socket after losing the daemon (it was restarted, or the
        network blinked). What the lost peer had received is gone with it: resend every
        request still waiting now, with the same ids, instead of after ``Timeout.reply`` of
        silence (found by the reliability tests: a batch stalled 20 s after a restart). A
        daemon that kept a job attaches it to us again (it deduplicates by id)."""
        now = time.monotonic()
        if self._calls:
            log.info("reconnected to %s: resending %d request(s)", self.endpoint, len(self._calls))
        self._busy_since, self._heard, self._probe = now, False, None
        for call in self._calls.values():
            call.attempts += 1
            self._send(call.frames)
            call.sent_at = now

    def _dispatch(self, frames: list[zmq.Frame]) -> None:
        self._last_rx = time.monotonic()
        self._heard = True
        self._probe = None  # any traffic answers the question a probe asks
        try:
            reply = decode_reply(frames, self._limits)
        except MessageInvalid as exc:
            self._bad_reply(exc, frames)
            return
        call = self._calls.get(reply.id)
        if call is None and isinstance(reply, ErrorReply) and not reply.id:
            # The daemon could not read a request's id; only attributable if one request
            # is still waiting for its first answer.
            waiting = [c for c in self._calls.values() if not c.heard]
            call = waiting[0] if len(waiting) == 1 else None
        if call is None:
            # A late answer to something finished, cancelled or timed out, or a pong for a
            # heartbeat probe: it has done its job as a heartbeat.
            return
        call._on_reply(reply)
        if call.done:
            self._calls.pop(call.id, None)

    def _bad_reply(self, exc: MessageInvalid, frames: list[zmq.Frame]) -> None:
        call = self._calls.get(exc.request_id) if exc.request_id else None
        if call is None:
            log.warning("ignoring a malformed message from %s: %s", self.endpoint, exc)
            return
        error: DreamdError = exc
        if exc.code == ErrorCode.UNSUPPORTED_VERSION:
            v = unpack_header(frames[0], self._limits).get("v")
            error = VersionMismatch(((v[0], v[1]),) if isinstance(v, list) else ())
        call._finish(error=error)
        self._calls.pop(call.id, None)

    # ------------------------------------------------------------------- liveness

    def _check_liveness(self, now: float) -> None:
        for call in list(self._calls.values()):
            if call.deadline is not None and now >= call.deadline:
                call._finish(
                    error=RequestTimeout(
                        f"dreamd at {self.endpoint} did not finish the {call.kind} within "
                        f"Timeout.total={self.timeout.total} s"
                    )
                )
                del self._calls[call.id]
                if isinstance(call, Job):
                    self._send_cancel(call.id)
        if not self._calls:
            return
        quiet = now - max(self._last_rx, self._busy_since)
        if self._heard:
            limit = self.timeout.reply
        else:
            # The daemon answers a request only once all of it has arrived: give a big
            # image the time it takes on a slow link before calling the silence a loss.
            pending = sum(c.nbytes for c in self._calls.values() if not c.heard)
            limit = self.timeout.connect + pending / SLOW_LINK_BYTES_PER_S
        if self._heard and self._probe is None and quiet >= limit / 2:
            self._probe = "hb-" + uuid.uuid4().hex[:16]
            self._send(encode_request(PingRequest(self._probe)))
        if quiet >= limit:
            self._connection_lost(now, quiet)
        else:
            self._check_calls(now)

    def _check_calls(self, now: float) -> None:
        """Lazy Pirate per request, on a connection that is alive.

        The daemon says something about every request in flight at least every 2 s
        (``accepted`` while queued, ``progress`` while running) until its final reply. A
        request it has said nothing about for as long as a silent connection is tolerated
        lost its answer on the way (dropped under load, or the daemon forgot the job), while
        other traffic — pongs, other jobs — kept the connection looking alive: without this
        it would wait for ever (found by the reliability tests). Resend it with the same id
        (the daemon deduplicates), up to ``retries`` times.
        """
        for call in list(self._calls.values()):
            if call.heard:
                limit = self.timeout.reply
            else:
                limit = self.timeout.connect + call.nbytes / SLOW_LINK_BYTES_PER_S
            silent = now - max(call.sent_at, call.heard_at)
            if silent < limit:
                continue
            if call.attempts >= self.retries:
                call._finish(
                    error=RequestTimeout(
                        f"dreamd at {self.endpoint} answers, but said nothing about the "
                        f"{call.kind} {call.id} for {silent:.1f} s ({call.attempts + 1} "
                        "attempt(s)); see `dreamd status` and the daemon's log"
                    )
                )
                del self._calls[call.id]
                continue
            log.info("no word on %s %s for %.1f s: resending it", call.kind, call.id, silent)
            call.attempts += 1
            self._send(call.frames)
            call.sent_at = now

    def _connection_lost(self, now: float, quiet: float) -> None:
        never_connected = self._monitor is not None and not self._connected
        for call in list(self._calls.values()):
            # A request that never reached a listening socket fails now: resending on a new
            # socket to the same address cannot help it.
            if call.attempts >= self.retries or (never_connected and call.attempts == 0):
                call._finish(error=self._give_up(call, quiet, never_connected))
                del self._calls[call.id]
        log.info("no answer from %s for %.1f s: reopening the socket", self.endpoint, quiet)
        self._close_socket()
        self._open()
        self._busy_since, self._heard, self._probe = now, False, None
        for call in self._calls.values():
            call.attempts += 1
            self._send(call.frames)
            call.sent_at = now

    def _give_up(self, call: _Call, quiet: float, never_connected: bool) -> ClientError:
        tries = call.attempts + 1
        if self._handshake_error:
            return Unreachable(f"cannot talk to dreamd at {self.endpoint}: {self._handshake_error}")
        if never_connected and not call.heard:
            hint = "is dreamd running? start it with `dreamd serve`"
            sock = ipc_path(self.endpoint)
            if sock is not None and not sock.exists():
                hint = f"there is no socket {sock}: " + hint
            return Unreachable(f"nothing answers at {self.endpoint}: {hint}")
        return RequestTimeout(
            f"dreamd at {self.endpoint} did not answer the {call.kind} for {quiet:.1f} s "
            f"({tries} attempt(s)); it may be overloaded or stuck: see `dreamd status` "
            "and the daemon's log"
        )
