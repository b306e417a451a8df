"""The connection under a :class:`~dreamd.protocol.Client`: one DEALER socket, any number
of requests in flight on it, told apart by ``id``.

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
import threading
import time
import uuid
from typing import Any

import zmq
from zmq.utils.monitor import recv_monitor_message

from ._calls import Call, Job
from ._curve import CurveKeys
from ._endpoints import ipc_path
from ._errors import (
    ClientError,
    DreamdError,
    ErrorCode,
    MessageInvalid,
    RequestTimeout,
    Unreachable,
    VersionMismatch,
)
from ._estimate import Estimate
from ._limits import Limits
from ._messages import (
    CancelRequest,
    ErrorReply,
    Frames,
    HelloReply,
    PingRequest,
    Pong,
    Reply,
    Request,
    StatusReply,
    decode_reply,
    encode_request,
)
from ._timeouts import Timeout
from ._wire import unpack_header

log = logging.getLogger("dreamd.protocol")

#: How often a blocking call wakes to look at its cancel flag (seconds).
POLL_SLICE = 0.05

#: Bytes per second a request is assumed to need at worst (100 Mbit/s Ethernet, roughly):
#: ``Timeout.connect`` is extended by the time its unanswered requests take at this rate.
SLOW_LINK_BYTES_PER_S = 10_000_000

_MONITOR_EVENTS = (
    zmq.EVENT_CONNECTED
    | zmq.EVENT_DISCONNECTED
    | zmq.EVENT_HANDSHAKE_SUCCEEDED
    | zmq.EVENT_HANDSHAKE_FAILED_NO_DETAIL
    | zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL
    | zmq.EVENT_HANDSHAKE_FAILED_AUTH
)
_HANDSHAKE_FAILED = zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL | zmq.EVENT_HANDSHAKE_FAILED_NO_DETAIL


class Connection:
    """The socket, its monitor and the requests in flight; :class:`Client` adds the
    messages. ``endpoint`` is already resolved."""

    def __init__(
        self,
        endpoint: str,
        timeout: Timeout,
        retries: int,
        curve: CurveKeys | None,
        limits: Limits,
        context: zmq.Context[Any] | None,
    ) -> None:
        self.endpoint = endpoint
        self.timeout = timeout
        self.retries = retries
        self._curve = curve
        self._limits = limits
        self._own_context = context is None
        self._ctx: zmq.Context[Any] = context if context is not None else zmq.Context()
        self._lock = threading.RLock()
        # One routing id for the life of the Client, kept across reopened sockets, so the
        # daemon sees a resent request come from the same peer.
        self._routing_id = b"c" + uuid.uuid4().hex.encode()
        self._calls: dict[str, Call] = {}
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

    # ------------------------------------------------------------ request plumbing

    @staticmethod
    def _new_id() -> str:
        # Unique across clients and restarts, so a daemon can deduplicate resends by id.
        return uuid.uuid4().hex

    def _deadline(self) -> float | None:
        total = self.timeout.total
        return None if total is None else time.monotonic() + total

    def _call(self, request: Request) -> Call:
        expects = {
            "hello": HelloReply,
            "status": StatusReply,
            "ping": Pong,
            "estimate": Estimate,
        }[request.type]
        call = Call(request.id, request.type, encode_request(request), self._deadline(), expects)
        with self._lock:
            self._start(call)
        return call

    def _await(self, call: Call) -> Reply:
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

    def _start(self, call: Call) -> None:
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

    def _give_up(self, call: Call, quiet: float, never_connected: bool) -> ClientError:
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
