"""Delivery and back-pressure: every reply leaves the daemon through :class:`Delivery`.

Progress may be dropped when a client's pipe is full (a newer one follows); a final reply
(``accepted``, ``result``, ``error`` …) waits, in order, behind what that client has not
read yet. A result whose client vanished is kept a little while for a client that
reconnects and resends the same job (Lazy Pirate).
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import zmq

from dreamd import protocol

from . import __version__
from ._queue import ClientKey, Job

SERVER_ID = f"dreamd {__version__}"

# Final replies queued behind a full pipe, per client. A busy CPU can leave the ROUTER's
# 16-message pipe full for a moment while a client that is reading fine pipelines a few
# dozen jobs (every one answered ``accepted``, then ``result``): found by the reliability
# tests, where a limit of 4 dropped such a client as "not reading" and left its jobs
# hanging. A client counts as not reading only when a reply waits _PENDING_TIMEOUT
# seconds, or when it floods requests without reading any of the answers.
_PENDING_LIMIT = 256
_PENDING_TIMEOUT = 30.0  # seconds a client may leave them unread
_UNDELIVERED_TTL = 60.0


@dataclass
class _Undelivered:
    """A final reply that could not be routed: kept briefly for a client that reconnects
    and resends the same job id (Lazy Pirate)."""

    fingerprint: tuple[Any, ...]
    frames: list[Any]
    expires: float


class Delivery:
    """Sends replies on the server's ROUTER sockets without ever blocking the loop.

    ``sockets`` is the server's own list (index = the first half of a :data:`ClientKey`);
    ``on_gone(key, why)`` is called for a client that disconnected or stopped reading.
    """

    def __init__(
        self, sockets: list[zmq.Socket[bytes]], on_gone: Callable[[ClientKey, str], None]
    ) -> None:
        self.sockets = sockets
        self.on_gone = on_gone
        self._pending: deque[tuple[ClientKey, list[Any], float]] = deque()
        self._undelivered: dict[str, _Undelivered] = {}

    @property
    def waiting(self) -> bool:
        """Whether final replies wait behind a full pipe (the loop then polls sooner)."""
        return bool(self._pending)

    def reply(self, key: ClientKey, reply: Any) -> bool:
        return self.final(key, protocol.encode_reply(reply, server=SERVER_ID))

    def error(
        self,
        key: ClientKey,
        request_id: str,
        code: protocol.ErrorCode,
        message: str,
        fld: str | None,
        job: str | None = None,
    ) -> bool:
        frames = protocol.encode_error(
            request_id, code, message, server=SERVER_ID, field=fld, job=job
        )
        return self.final(key, frames)

    def progress(self, job: Job) -> None:
        done, total, octave, step = job.progress
        # Never 100 % before the result itself (the last step may still be encoding).
        done = min(done, max(0, total - 1))
        steps = job.params.steps_per_octave * job.params.iterations
        octaves = max(1, total // steps) if steps else 1
        job.last_sent = time.monotonic()
        picture = None
        if job.preview_frame is not None:  # sent once, with the next progress
            data, width, height = job.preview_frame
            picture = protocol.Image.raw(data, width, height, 3, "u8")
            job.preview_frame = None
        frames = protocol.encode_reply(
            protocol.Progress(job.id, done, total, max(0, octave - 1), octaves, step, picture),
            server=SERVER_ID,
        )
        # Progress may be dropped when the client is not reading: a newer one follows.
        self._send(job.client, frames, drop_when_full=True)

    def final(self, key: ClientKey, frames: list[Any]) -> bool:
        """Send a reply that must arrive; queue it briefly when the client's pipe is full."""
        return self._send(key, frames, drop_when_full=False)

    def result(self, job: Job, frames: list[Any]) -> None:
        """Send a job's result; keep it for a resend when its client cannot be reached."""
        if not self.final(job.client, frames):
            self._undelivered[job.id] = _Undelivered(
                job.fingerprint, frames, time.monotonic() + _UNDELIVERED_TTL
            )

    def resend_kept(self, key: ClientKey, job_id: str, fingerprint: tuple[Any, ...]) -> bool:
        """Send the kept result of the same job (same id, same request) to ``key``."""
        kept = self._undelivered.get(job_id)
        if kept is None or kept.fingerprint != fingerprint:
            return False
        del self._undelivered[job_id]
        self.final(key, kept.frames)
        return True

    def expire(self, now: float) -> None:
        """Forget kept results nobody came back for."""
        for job_id, item in list(self._undelivered.items()):
            if item.expires < now:
                del self._undelivered[job_id]

    def forget(self, key: ClientKey) -> None:
        """Drop what waits for a client that is gone."""
        self._pending = deque(p for p in self._pending if p[0] != key)

    def _send(self, key: ClientKey, frames: list[Any], drop_when_full: bool) -> bool:
        index, identity = key
        if index >= len(self.sockets):
            return False
        backlog = sum(1 for p in self._pending if p[0] == key) if self._pending else 0
        try:
            if backlog:
                raise zmq.Again()  # keep the order: behind what is already waiting
            self.sockets[index].send_multipart([identity, *frames], zmq.NOBLOCK, copy=False)
            return True
        except zmq.Again:
            if drop_when_full:
                return False
            if backlog < _PENDING_LIMIT:
                self._pending.append((key, frames, time.monotonic() + _PENDING_TIMEOUT))
                return True
            self.on_gone(key, "not reading its replies")
            return False
        except zmq.ZMQError as exc:
            if exc.errno == zmq.EHOSTUNREACH:
                self.on_gone(key, "disconnected")
                return False
            raise

    def flush(self) -> None:
        """Retry final replies that met a full pipe, in order, per client."""
        if not self._pending:
            return
        items, self._pending = list(self._pending), deque()
        now = time.monotonic()
        blocked: set[ClientKey] = set()
        gone: dict[ClientKey, str] = {}
        for key, frames, deadline in items:
            if key in gone:
                continue
            if key in blocked:
                self._pending.append((key, frames, deadline))
                continue
            index, identity = key
            try:
                self.sockets[index].send_multipart([identity, *frames], zmq.NOBLOCK, copy=False)
            except zmq.Again:
                if now > deadline:
                    gone[key] = "not reading its replies"
                else:
                    blocked.add(key)
                    self._pending.append((key, frames, deadline))
            except zmq.ZMQError as exc:
                if exc.errno != zmq.EHOSTUNREACH:
                    raise
                gone[key] = "disconnected"
        for key, why in gone.items():
            self.on_gone(key, why)
