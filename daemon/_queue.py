"""The job scheduler: interactive before batch, round-robin between clients.

Only the server thread touches a :class:`Scheduler`; workers receive jobs through their
own inbox, so this module needs no locks.

Inside a priority class, each client (a ROUTER identity on one socket) has its own FIFO,
and clients take turns: the client just served goes to the back of the line. One client
with a thousand batch jobs therefore delays another client's job by at most one job per
worker.
"""

from __future__ import annotations

import enum
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Hashable, Iterator
from dataclasses import dataclass, field
from typing import Any

from dreamd import engine, protocol

#: Who sent a job: (index of the ROUTER socket, routing identity).
ClientKey = tuple[int, bytes]


class Priority(enum.IntEnum):
    """Scheduling classes; lower runs first."""

    INTERACTIVE = 0
    BATCH = 1

    @classmethod
    def parse(cls, value: object) -> Priority:
        if value in (None, "batch"):
            return cls.BATCH
        if value == "interactive":
            return cls.INTERACTIVE
        raise ValueError(f"priority must be 'interactive' or 'batch', got {value!r}")


class State(enum.Enum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"


@dataclass(eq=False)
class Job:
    """One dream request, from acceptance to its single final reply.

    ``image``, ``guide`` and ``style`` are the request's wire images (descriptor + the received
    frame, not yet decoded: the worker decodes them); ``reply_form`` says how to encode
    the result (the request's own form). ``cancel`` is set by the server and polled by the
    engine before every step. ``fingerprint`` tells a resent request from a new one.
    """

    id: str
    client: ClientKey
    priority: Priority
    image: Any
    params: engine.DreamParams
    reply_form: Any
    guide: Any = None
    style: Any = None
    #: protocol 1.2, a styled video frame's ``content``, ``previous`` and ``previous_weight``
    #: wire images, those sent, by name
    frame: dict[str, Any] = field(default_factory=dict)
    fingerprint: tuple[Any, ...] = ()
    received: float = field(default_factory=time.monotonic)
    started: float | None = None
    state: State = State.QUEUED
    worker: str | None = None
    progress: tuple[int, int, int, int] = (0, 0, 0, 0)
    last_sent: float = 0.0
    cancel: threading.Event = field(default_factory=threading.Event)
    cancel_code: protocol.ErrorCode | None = None
    cancel_reason: str = ""
    #: its client is gone: whatever the job ends with goes to nobody
    orphaned: bool = False
    #: protocol 1.1: the client asked for pictures of the dream as it forms
    preview: protocol.Preview | None = None
    #: the newest such picture not sent yet: (8-bit RGB bytes, width, height)
    preview_frame: tuple[bytes, int, int] | None = None

    def request_cancel(self, code: protocol.ErrorCode, reason: str) -> None:
        """Ask the job to stop; the first reason given is the one reported."""
        if self.cancel_code is None:
            self.cancel_code = code
            self.cancel_reason = reason
        self.cancel.set()


class _RoundRobin:
    """Per-client FIFOs visited in turn."""

    def __init__(self) -> None:
        self._fifos: OrderedDict[Hashable, deque[Job]] = OrderedDict()

    def push(self, job: Job) -> None:
        self._fifos.setdefault(job.client, deque()).append(job)

    def pop(self) -> Job | None:
        for client, fifo in self._fifos.items():
            job = fifo.popleft()
            if fifo:
                self._fifos.move_to_end(client)
            else:
                del self._fifos[client]
            return job
        return None

    def remove(self, job: Job) -> bool:
        fifo = self._fifos.get(job.client)
        if fifo is None or job not in fifo:
            return False
        fifo.remove(job)
        if not fifo:
            del self._fifos[job.client]
        return True

    def order(self) -> Iterator[Job]:
        """Jobs in the order :meth:`pop` would return them."""
        fifos = [list(f) for f in self._fifos.values()]
        depth = max((len(f) for f in fifos), default=0)
        for rank in range(depth):
            for fifo in fifos:
                if rank < len(fifo):
                    yield fifo[rank]

    def __len__(self) -> int:
        return sum(len(f) for f in self._fifos.values())


class Scheduler:
    """Queued jobs, by priority class then client turn."""

    def __init__(self) -> None:
        self._classes = {p: _RoundRobin() for p in Priority}

    def push(self, job: Job) -> None:
        job.state = State.QUEUED
        self._classes[job.priority].push(job)

    def pop(self) -> Job | None:
        """The next job to run, or None when the queue is empty."""
        for p in Priority:
            job = self._classes[p].pop()
            if job is not None:
                return job
        return None

    def remove(self, job: Job) -> bool:
        """Take a queued job out; False when it was not queued."""
        return self._classes[job.priority].remove(job)

    def order(self) -> list[Job]:
        """Every queued job, in the order they will run."""
        return [job for p in Priority for job in self._classes[p].order()]

    def position(self, job: Job) -> int | None:
        """How many queued jobs run before ``job`` (0: next), or None if not queued."""
        for i, queued in enumerate(self.order()):
            if queued is job:
                return i
        return None

    def count(self, client: ClientKey | None = None) -> int:
        if client is None:
            return len(self)
        return sum(1 for job in self.order() if job.client == client)

    def __len__(self) -> int:
        return sum(len(c) for c in self._classes.values())
