"""Jobs once accepted: handed to idle workers, their events relayed, cancelled when asked,
when their client goes away, or when the daemon stops.

Functions of the :class:`~._server.Server` whose job book (``jobs``, ``clients``,
``scheduler``, ``stats``) they keep; they run on the server's thread only.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from dreamd import protocol

from ._delivery import SERVER_ID
from ._log import log
from ._queue import ClientKey, Job, State
from ._worker import Calibrated, Failed, Finished, LoadFailed, PreviewReady, Progress

if TYPE_CHECKING:
    from ._server import Server

ErrorCode = protocol.ErrorCode


@dataclass
class Connection:
    """What the server knows about one connection (ROUTER identity on one socket)."""

    key: ClientKey
    name: str = ""
    last_seen: float = field(default_factory=time.monotonic)
    jobs: set[str] = field(default_factory=set)


def who(key: ClientKey) -> str:
    """A connection, for the log: socket index and routing id."""
    return f"{key[0]}:{key[1].hex()}"


# ------------------------------------------------------------------------- to workers


def dispatch(server: Server) -> None:
    """Give each idle worker the next queued job."""
    for worker in server.workers:
        if worker.job is not None:
            continue
        job = server.scheduler.pop()
        if job is None:
            return
        job.state = State.RUNNING
        job.started = time.monotonic()
        job.worker = worker.device
        worker.submit(job)


def on_event(server: Server, event: object) -> None:
    """Relay what a worker reported: progress, a result or a failure."""
    if isinstance(event, Progress):
        job = event.job
        if job.state is State.RUNNING and not job.cancel.is_set():
            server.delivery.progress(job)
    elif isinstance(event, PreviewReady):
        job = event.job
        if job.state is State.RUNNING and not job.cancel.is_set():
            job.preview_frame = (event.data, event.width, event.height)
            server.delivery.progress(job)
    elif isinstance(event, Finished):
        _worker_done(server, event.job)
        if event.work is not None and event.dream_seconds > 0:
            server.speed.add(*event.work, event.dream_seconds)
        _finished(server, event)
    elif isinstance(event, Calibrated):
        server.speed.calibrated(event.samples)
        log.info("speed measured on %s: %s", event.worker.device, server.speed.fit())
    elif isinstance(event, Failed):
        _worker_done(server, event.job)
        _failed(server, event)
    elif isinstance(event, LoadFailed):  # pragma: no cover - only during start()
        log.error("worker %s failed: %s", event.worker.device, event.error)


def _worker_done(server: Server, job: Job) -> None:
    for worker in server.workers:
        if worker.job is job:
            worker.job = None
            worker.jobs_done += 1
    finish(server, job)


def _finished(server: Server, ev: Finished) -> None:
    job = ev.job
    if job.orphaned:
        server.stats["cancelled"] += 1
        log.info("job %s finished, but its client is gone", job.id)
        return
    now = time.monotonic()
    started = job.started or now
    timings = {
        "queued": round(started - job.received, 4),
        "dream": round(ev.dream_seconds, 4),
        "total": round(now - job.received, 4),
    }
    meta = ev.metadata
    result = protocol.DreamResult(
        job.id,
        protocol.Image(protocol.ImageDesc(**ev.descriptor), ev.frame),
        model=str(meta["model"]),
        layers=list(meta["layers"]),
        params=dict(meta["params"]),
        seed=int(meta["seed"]),
        timings=timings,
        notes=ev.notes,
    )
    frames = protocol.encode_reply(result, server=SERVER_ID)
    server.stats["done"] += 1
    d = ev.descriptor
    log.info(
        "job %s done: %dx%dx%d %s/%s on %s, %s, queued %.2f s, dream %.2f s, total %.2f s",
        job.id,
        d["width"],
        d["height"],
        d["channels"],
        d["dtype"],
        d["encoding"],
        job.worker,
        meta["model"],
        timings["queued"],
        timings["dream"],
        timings["total"],
    )
    server.delivery.result(job, frames)


def _failed(server: Server, ev: Failed) -> None:
    job = ev.job
    if job.orphaned:
        server.stats["cancelled"] += 1
        log.info("job %s stopped: %s", job.id, ev.message)
        return
    if ev.code == ErrorCode.CANCELLED or job.cancel_code is not None:
        server.stats["cancelled"] += 1
    else:
        server.stats["failed"] += 1
    log.info("job %s failed on %s: %s: %s", job.id, job.worker, ev.code, ev.message)
    server.delivery.error(job.client, job.id, ev.code, ev.message, ev.field, job=job.id)


def finish(server: Server, job: Job) -> None:
    """The job has had its final reply (or never will): forget it."""
    job.state = State.DONE
    if server.jobs.get(job.id) is not job:
        return  # orphaned: the id (and maybe its client) now belong to someone else
    del server.jobs[job.id]
    client = server.clients.get(job.client)
    if client is not None:
        client.jobs.discard(job.id)
        forget_idle(server, client)


# -------------------------------------------------------------------------- cancelling


def cancel(server: Server, job: Job, code: ErrorCode, reason: str) -> None:
    """Stop a job: a queued one is answered at once, a running one within one step."""
    if job.state is State.QUEUED and server.scheduler.remove(job):
        log.info("job %s: %s while queued", job.id, reason)
        server.stats["cancelled"] += 1
        finish(server, job)
        server.delivery.error(job.client, job.id, code, reason, None, job=job.id)
    elif job.state is State.RUNNING:
        job.request_cancel(code, reason)


def client_gone(server: Server, key: ClientKey, why: str) -> None:
    """A connection closed, went silent or stopped reading: cancel its jobs."""
    client = server.clients.pop(key, None)
    if client is None:
        return
    if client.jobs:
        log.info("client %s is gone (%s): cancelling %d job(s)", who(key), why, len(client.jobs))
    for job_id in list(client.jobs):
        job = server.jobs.get(job_id)
        if job is None:
            continue
        # Forget the id now: a resend from a reconnected client starts afresh.
        del server.jobs[job_id]
        job.orphaned = True
        if job.state is State.QUEUED and server.scheduler.remove(job):
            job.state = State.DONE
            server.stats["cancelled"] += 1
            log.info("job %s cancelled while queued: client gone", job.id)
        elif job.state is State.RUNNING:
            job.request_cancel(ErrorCode.CANCELLED, f"client disconnected ({why})")
    server.delivery.forget(key)


def forget_idle(server: Server, client: Connection) -> None:
    # Only clients with jobs are tracked between messages (bounded memory).
    if not client.jobs:
        server.clients.pop(client.key, None)


def cancel_all(server: Server, code: ErrorCode, reason: str) -> None:
    """Shutting down: answer every queued job, ask every running one to stop."""
    while True:
        job = server.scheduler.pop()
        if job is None:
            break
        finish(server, job)
        server.stats["cancelled"] += 1
        server.delivery.error(job.client, job.id, code, reason, None, job=job.id)
    for worker in server.workers:
        if worker.job is not None:
            worker.job.request_cancel(code, reason)


# ------------------------------------------------------------------------ housekeeping


def tick(server: Server, now: float) -> None:
    """Heartbeats for every job, and cancellation for clients gone silent."""
    for job in list(server.jobs.values()):
        if job.state is State.DONE or now - job.last_sent < server.config.heartbeat:
            continue
        if job.state is State.RUNNING:
            if not job.cancel.is_set():
                server.delivery.progress(job)
        else:
            job.last_sent = now
            server.delivery.reply(job.client, protocol.Accepted(job.id, position(server, job)))
    timeout = server.config.client_timeout
    if timeout > 0:
        for client in list(server.clients.values()):
            if client.jobs and now - client.last_seen > timeout:
                client_gone(server, client.key, f"silent for more than {timeout:g} s")
    server.delivery.expire(now)


def running(server: Server) -> int:
    """Jobs on a worker now."""
    return sum(1 for w in server.workers if w.job is not None)


def position(server: Server, job: Job) -> int:
    """A job's place in line for ``accepted``: 0 running, 1 next, …"""
    if job.state is State.RUNNING:
        return 0
    ahead = server.scheduler.position(job)
    return 1 + (ahead or 0)
