"""A request in flight (:class:`Call`) and a dream in flight (:class:`Job`): what the
client keeps of each until its answer, and how each answer is read."""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING

from ._errors import (
    Cancelled,
    ClientError,
    DreamdError,
    ErrorCode,
    ProtocolError,
    Rejected,
    VersionMismatch,
)
from ._messages import Accepted, DreamResult, ErrorReply, Frames, Progress, Reply

if TYPE_CHECKING:
    from ._client import Client

#: ``dream(cancel=...)``: an Event, or anything callable returning true to cancel.
CancelFlag = threading.Event | Callable[[], bool]
ProgressCallback = Callable[[Progress], None]


def _error_for(reply: ErrorReply) -> ClientError:
    """The exception a client raises for an ``error`` reply."""
    if reply.code == ErrorCode.CANCELLED:
        return Cancelled(f"dreamd cancelled the job: {reply.message}", reply.job or reply.id)
    if reply.code == ErrorCode.UNSUPPORTED_VERSION:
        return VersionMismatch(reply.protocols or (), detail=reply.message)
    return Rejected(reply.code, reply.message, reply.field, reply.job)


class Call:
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


class Job(Call):
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


def fired(flag: CancelFlag) -> bool:
    if isinstance(flag, threading.Event):
        return flag.is_set()
    return bool(flag())
