"""The ROUTER loop: the only code that touches the sockets.

One thread (the process's main thread) polls the ROUTER socket(s) and the workers'
:class:`~daemon._worker.Outbox`, decodes requests, answers ``hello``/``status``/``ping``
at once, queues ``dream`` jobs in the :class:`~daemon._queue.Scheduler`, hands them to idle
workers, and relays progress, results and errors. Workers run dreams in their own threads
and never see a socket.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import zmq

from dreamd import engine, protocol

from . import __version__, _devices, _errors, _images, _security
from ._errors import ConfigError, JobError
from ._lock import EndpointLock
from ._log import log
from ._preflight import Preflight, preflight
from ._queue import ClientKey, Job, Priority, Scheduler, State
from ._worker import Failed, Finished, LoadFailed, Outbox, Progress, Ready, Worker

SERVER_ID = f"dreamd {__version__}"


@dataclass
class ServeConfig:
    """Everything ``dreamd serve`` was asked to do."""

    binds: list[str]
    devices: list[str]
    model: str = "auto"
    weights: str | None = None
    limits: protocol.Limits = field(default_factory=protocol.Limits)
    curve_dir: Path | None = None
    insecure: bool = False
    max_queue: int = 256
    max_client_jobs: int = 64
    client_timeout: float = 0.0  # 0: off (liveness comes from ZMTP heartbeats)
    progress_interval: float = 0.25
    heartbeat: float = protocol.HEARTBEAT_INTERVAL
    hwm: int = 16
    linger_ms: int = 1000
    shutdown_grace: float = 10.0
    allow_download: bool = True
    lock_dir: Path | None = None


@dataclass
class _Client:
    """What the server knows about one connection (ROUTER identity on one socket)."""

    key: ClientKey
    name: str = ""
    last_seen: float = field(default_factory=time.monotonic)
    jobs: set[str] = field(default_factory=set)


@dataclass
class _Undelivered:
    """A final reply that could not be routed: kept briefly for a client that reconnects
    and resends the same job id (Lazy Pirate)."""

    fingerprint: tuple[Any, ...]
    frames: list[Any]
    expires: float


# Final replies queued behind a full pipe, per client. A busy CPU can leave the ROUTER's
# 16-message pipe full for a moment while a client that is reading fine pipelines a few
# dozen jobs (every one answered ``accepted``, then ``result``): found by the reliability
# tests, where a limit of 4 dropped such a client as "not reading" and left its jobs
# hanging. A client counts as not reading only when a reply waits _PENDING_TIMEOUT
# seconds, or when it floods requests without reading any of the answers.
_PENDING_LIMIT = 256
_PENDING_TIMEOUT = 30.0  # seconds a client may leave them unread
_UNDELIVERED_TTL = 60.0


class Server:
    """``dreamd serve``: construct, :meth:`start`, :meth:`run` until stopped, :meth:`close`."""

    def __init__(self, config: ServeConfig, on_ready: Callable[[str], None] | None = None) -> None:
        self.config = config
        self.limits = config.limits
        self.on_ready = on_ready
        self.started = time.time()
        self.scheduler = Scheduler()
        self.jobs: dict[str, Job] = {}
        self.clients: dict[ClientKey, _Client] = {}
        self.outbox = Outbox()
        self.workers: list[Worker] = []
        self.model: engine.DreamModel | None = None
        self.sockets: list[zmq.Socket[bytes]] = []
        self.endpoints: list[list[str]] = []
        self.context: zmq.Context[zmq.Socket[bytes]] | None = None
        self.auth: Any = None
        self.lock: EndpointLock | None = None
        self.stopping = False
        self.stop_reason = ""
        self._stop_deadline = 0.0
        self._pending: deque[tuple[ClientKey, list[Any], float]] = deque()
        self._undelivered: dict[str, _Undelivered] = {}
        self._ipc_files: list[Path] = []
        self.stats = {"done": 0, "failed": 0, "cancelled": 0, "rejected": 0}

    # ------------------------------------------------------------------ start and stop

    def start(self, checked: Preflight | None = None) -> None:
        """Check the configuration, lock the endpoints (unless ``checked`` did both),
        bind, load and warm the models.

        Raises:
            ConfigError: a start-up problem the operator can fix (the message says how).
            engine.WeightsError: the model's weights are missing or damaged.
        """
        cfg = self.config
        if checked is None:
            checked = preflight(cfg.binds, cfg.curve_dir, cfg.insecure, cfg.lock_dir)
        self.lock = checked.lock
        plan, keys = checked.plan, checked.keys
        self.context = zmq.Context()
        if keys is not None:
            self.auth = _security.start_authenticator(self.context, keys)
        for sp in plan.sockets:
            sock = self._router()
            if sp.curve:
                assert keys is not None
                _security.make_curve_server(sock, keys)
            for endpoint in sp.endpoints:
                self._bind(sock, endpoint)
            self.sockets.append(sock)
            self.endpoints.append(list(sp.endpoints))
        self._load_workers()

    def _router(self) -> zmq.Socket[bytes]:
        assert self.context is not None
        sock = self.context.socket(zmq.ROUTER)
        sock.setsockopt(zmq.ROUTER_MANDATORY, 1)
        # protocol.Client keeps its routing id across reopened sockets (Lazy Pirate): the
        # new connection takes over from the old one instead of being ignored.
        sock.setsockopt(zmq.ROUTER_HANDOVER, 1)
        sock.setsockopt(zmq.MAXMSGSIZE, self.limits.max_frame_bytes)
        sock.setsockopt(zmq.SNDHWM, self.config.hwm)
        sock.setsockopt(zmq.RCVHWM, self.config.hwm)
        sock.setsockopt(zmq.LINGER, self.config.linger_ms)
        # ZMTP heartbeats: a peer whose host vanished (half-open TCP) is dropped, so the
        # next reply to it is unroutable and its jobs are cancelled.
        sock.setsockopt(zmq.HEARTBEAT_IVL, 5000)
        sock.setsockopt(zmq.HEARTBEAT_TIMEOUT, 15000)
        return sock

    def _bind(self, sock: zmq.Socket[bytes], endpoint: str) -> None:
        ipc = protocol.ipc_path(endpoint)
        if ipc is not None and (ipc.exists() or ipc.is_symlink()):
            # We hold the endpoint's lock, so whatever is there was left by a daemon
            # that died without cleaning up.
            log.info("removing stale socket %s", ipc)
            ipc.unlink()
        try:
            sock.bind(endpoint)
        except zmq.ZMQError as exc:
            raise ConfigError(f"cannot bind {endpoint}: {exc}") from None
        if ipc is not None:
            self._ipc_files.append(ipc)
        log.info("listening on %s", endpoint)

    def _load_workers(self) -> None:
        cfg = self.config
        for device in cfg.devices:
            self.workers.append(
                Worker(
                    device,
                    cfg.model,
                    cfg.weights,
                    self.outbox,
                    _images.decode_pixels,
                    _images.encode,
                    cfg.progress_interval,
                    cfg.allow_download,
                )
            )
        log.info("loading model %s on %s", cfg.model, ", ".join(cfg.devices))
        for w in self.workers:
            w.start()
        waiting = set(self.workers)
        failure: BaseException | None = None
        while waiting:
            if self.stopping:
                raise KeyboardInterrupt
            _wait_readable(self.outbox.fileno(), 0.25)
            for event in self.outbox.drain():
                if isinstance(event, Ready):
                    waiting.discard(event.worker)
                    self.model = self.model or event.model
                    log.info(
                        "%s ready on %s in %.1f s (weights: %s)",
                        event.model.name,
                        event.worker.device,
                        event.seconds,
                        event.model.weights_source,
                    )
                    for note in event.model.notes:
                        log.info("%s: %s", event.worker.device, note)
                elif isinstance(event, LoadFailed):
                    waiting.discard(event.worker)
                    failure = failure or event.error
        if failure is not None:
            if isinstance(failure, engine.EngineError):
                raise failure
            raise ConfigError(f"loading the model failed: {type(failure).__name__}: {failure}")

    def request_stop(self, reason: str = "") -> None:
        """Ask the loop to shut down (safe from a signal handler); a second call hurries."""
        if self.stopping:
            self._stop_deadline = 0.0
        else:
            self.stopping = True
            self.stop_reason = reason
        self.outbox.wake()

    def close(self) -> None:
        """Release everything; idempotent. The ipc socket files and locks are removed."""
        for w in self.workers:
            w.stop()
        for w in self.workers:
            w.join(timeout=2.0)
        for sock in self.sockets:
            with contextlib.suppress(zmq.ZMQError):
                sock.close(linger=self.config.linger_ms)
        self.sockets = []
        if self.auth is not None:
            with contextlib.suppress(Exception):
                self.auth.stop()
            self.auth = None
        if self.context is not None:
            self.context.term()
            self.context = None
        for path in self._ipc_files:
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
        self._ipc_files = []
        if self.lock is not None:
            self.lock.release()
            self.lock = None
        self.outbox.close()

    # ----------------------------------------------------------------------- the loop

    def run(self) -> None:
        """Serve until :meth:`request_stop`; then refuse new work, cancel what runs,
        flush the last replies and return."""
        assert self.model is not None
        if self.on_ready is not None:
            self.on_ready(self._ready_line())
        poller = zmq.Poller()
        for sock in self.sockets:
            poller.register(sock, zmq.POLLIN)
        poller.register(self.outbox.fileno(), zmq.POLLIN)
        next_tick = 0.0
        shutdown_started = False
        while True:
            if self.stopping and not shutdown_started:
                shutdown_started = True
                self._begin_shutdown()
            if shutdown_started and self._shutdown_done():
                break
            events = dict(poller.poll(100 if self._pending else 250))
            for index, sock in enumerate(self.sockets):
                if events.get(sock):
                    self._receive(index, sock)
            if events.get(self.outbox.fileno()):
                for event in self.outbox.drain():
                    self._on_event(event)
            self._flush_pending()
            now = time.monotonic()
            if now >= next_tick:
                next_tick = now + 0.5
                self._tick(now)
            self._dispatch()

    def _ready_line(self) -> str:
        assert self.model is not None
        eps = ", ".join(e for group in self.endpoints for e in group)
        return (
            f"dreamd {__version__} ready: model {self.model.name} on "
            f"{', '.join(w.device for w in self.workers)}, listening on {eps} (pid {os.getpid()})"
        )

    def _receive(self, index: int, sock: zmq.Socket[bytes]) -> None:
        # A bounded batch per wake-up, so one chatty client cannot starve the workers.
        for _ in range(64):
            try:
                frames = sock.recv_multipart(zmq.NOBLOCK, copy=False)
            except zmq.Again:
                return
            identity = frames[0].bytes
            self._handle((index, identity), frames[1:])

    # ---------------------------------------------------------------------- requests

    def _handle(self, key: ClientKey, frames: list[zmq.Frame]) -> None:
        client = self.clients.get(key)
        if client is None:
            client = self.clients[key] = _Client(key)
        client.last_seen = time.monotonic()
        try:
            request = protocol.decode_request(frames, self.limits)
        except protocol.MessageInvalid as exc:
            self.stats["rejected"] += 1
            log.info("rejected a message from %s: %s", _who(key), exc)
            self._send_error(key, exc.request_id or "", exc.code, exc.message, exc.field)
            self._forget_idle(client)
            return
        try:
            if isinstance(request, protocol.PingRequest):
                self._reply(key, protocol.Pong(request.id))
            elif isinstance(request, protocol.HelloRequest):
                client.name = request.client
                self._reply(key, protocol.HelloReply(request.id, info=self._hello_info()))
            elif isinstance(request, protocol.StatusRequest):
                self._reply(key, protocol.StatusReply(request.id, self._status(request.layers)))
            elif isinstance(request, protocol.CancelRequest):
                self._cancel(client, request)
            elif isinstance(request, protocol.DreamRequest):
                self._submit(client, request)
        except JobError as exc:
            self.stats["rejected"] += 1
            log.info("refused %s from %s: %s %s", request.id, _who(key), exc.code, exc)
            self._send_error(key, request.id, exc.code, str(exc), exc.field, job=exc.job)
        except Exception as exc:  # a bug here must not take the daemon down
            log.exception("internal error handling %s from %s", request.type, _who(key))
            code, message, fld = _errors.classify(exc)
            self._send_error(key, request.id, code, message, fld)
        self._forget_idle(client)

    def _submit(self, client: _Client, req: protocol.DreamRequest) -> None:
        assert self.model is not None
        if self.stopping:
            raise JobError(_errors.SHUTTING_DOWN, "dreamd is shutting down and takes no new jobs")
        existing = self.jobs.get(req.id)
        fingerprint = _fingerprint(req)
        if existing is not None:
            self._resent(client, existing, fingerprint)
            return
        undelivered = self._undelivered.get(req.id)
        if undelivered is not None and undelivered.fingerprint == fingerprint:
            del self._undelivered[req.id]
            log.info("job %s: resending its result to %s", req.id, _who(client.key))
            self._send_final(client.key, undelivered.frames)
            return
        if req.model not in (None, "auto", self.model.name):
            raise JobError(
                _errors.UNKNOWN_MODEL,
                f"this daemon has model {self.model.name!r}, not {req.model!r}; restart it "
                f"with --model {req.model} to use that one",
                "model",
            )
        params = _params(req.params, self.model, styled=req.style is not None)
        _images.check_encodable(req.image.desc)
        if len(self.scheduler) >= self.config.max_queue:
            raise JobError(
                _errors.BUSY, f"the queue is full ({self.config.max_queue} jobs); retry later"
            )
        if len(client.jobs) >= self.config.max_client_jobs:
            raise JobError(
                _errors.BUSY,
                f"this connection already has {len(client.jobs)} jobs queued or running "
                f"(limit {self.config.max_client_jobs})",
            )
        job = Job(
            id=req.id,
            client=client.key,
            priority=Priority.parse(req.priority),
            image=req.image,
            params=params,
            reply_form=_images.ReplyForm.of(req.image.desc),
            guide=req.guide,
            style=req.style,
            fingerprint=fingerprint,
        )
        self.jobs[job.id] = job
        client.jobs.add(job.id)
        self.scheduler.push(job)
        self._dispatch()
        job.last_sent = time.monotonic()
        self._reply(client.key, protocol.Accepted(job.id, self._position(job)))

    def _resent(self, client: _Client, job: Job, fingerprint: tuple[Any, ...]) -> None:
        """A dream whose id is already queued or running: a resend after a timeout."""
        if job.fingerprint != fingerprint:
            raise JobError(
                _errors.BAD_VALUE,
                f"job id {job.id!r} is already in use by another job; use unique ids",
                "id",
            )
        if job.client != client.key:
            # The client reconnected (new routing id) and resent: follow it.
            old = self.clients.get(job.client)
            if old is not None:
                old.jobs.discard(job.id)
                self._forget_idle(old)
            job.client = client.key
            client.jobs.add(job.id)
            log.info("job %s: client reconnected as %s", job.id, _who(client.key))
        self._reply(client.key, protocol.Accepted(job.id, self._position(job)))

    def _cancel(self, client: _Client, req: protocol.CancelRequest) -> None:
        job = self.jobs.get(req.job)
        if job is None or job.client != client.key:
            raise JobError(
                _errors.UNKNOWN_JOB,
                f"no job {req.job!r} is queued or running for this connection",
                "job",
                job=req.job,
            )
        self._cancel_job(job, _errors.CANCELLED, "cancelled by the client")

    def _cancel_job(self, job: Job, code: str, reason: str) -> None:
        """Stop a job: a queued one is answered at once, a running one within one step."""
        if job.state is State.QUEUED and self.scheduler.remove(job):
            log.info("job %s: %s while queued", job.id, reason)
            self.stats["cancelled"] += 1
            self._finish(job)
            self._send_error(job.client, job.id, code, reason, None, job=job.id)
        elif job.state is State.RUNNING:
            job.request_cancel(code, reason)

    # ------------------------------------------------------------------------ workers

    def _dispatch(self) -> None:
        for worker in self.workers:
            if worker.job is not None:
                continue
            job = self.scheduler.pop()
            if job is None:
                return
            job.state = State.RUNNING
            job.started = time.monotonic()
            job.worker = worker.device
            worker.submit(job)

    def _on_event(self, event: object) -> None:
        if isinstance(event, Progress):
            job = event.job
            if job.state is State.RUNNING and not job.cancel.is_set():
                self._send_progress(job)
        elif isinstance(event, Finished):
            self._worker_done(event.job)
            self._finished(event)
        elif isinstance(event, Failed):
            self._worker_done(event.job)
            self._failed(event)
        elif isinstance(event, LoadFailed):  # pragma: no cover - only during start()
            log.error("worker %s failed: %s", event.worker.device, event.error)

    def _worker_done(self, job: Job) -> None:
        for worker in self.workers:
            if worker.job is job:
                worker.job = None
                worker.jobs_done += 1
        self._finish(job)

    def _finished(self, ev: Finished) -> None:
        job = ev.job
        if job.orphaned:
            self.stats["cancelled"] += 1
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
        self.stats["done"] += 1
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
        if not self._send_final(job.client, frames):
            self._undelivered[job.id] = _Undelivered(
                job.fingerprint, frames, now + _UNDELIVERED_TTL
            )

    def _failed(self, ev: Failed) -> None:
        job = ev.job
        if job.orphaned:
            self.stats["cancelled"] += 1
            log.info("job %s stopped: %s", job.id, ev.message)
            return
        if ev.code == _errors.CANCELLED or job.cancel_code is not None:
            self.stats["cancelled"] += 1
        else:
            self.stats["failed"] += 1
        log.info("job %s failed on %s: %s: %s", job.id, job.worker, ev.code, ev.message)
        self._send_error(job.client, job.id, ev.code, ev.message, ev.field, job=job.id)

    def _finish(self, job: Job) -> None:
        job.state = State.DONE
        if self.jobs.get(job.id) is not job:
            return  # orphaned: the id (and maybe its client) now belong to someone else
        del self.jobs[job.id]
        client = self.clients.get(job.client)
        if client is not None:
            client.jobs.discard(job.id)
            self._forget_idle(client)

    # ----------------------------------------------------------------------- housekeeping

    def _tick(self, now: float) -> None:
        """Heartbeats for every job, and cancellation for clients gone silent."""
        for job in list(self.jobs.values()):
            if job.state is State.DONE or now - job.last_sent < self.config.heartbeat:
                continue
            if job.state is State.RUNNING:
                if not job.cancel.is_set():
                    self._send_progress(job)
            else:
                job.last_sent = now
                self._reply(job.client, protocol.Accepted(job.id, self._position(job)))
        timeout = self.config.client_timeout
        if timeout > 0:
            for client in list(self.clients.values()):
                if client.jobs and now - client.last_seen > timeout:
                    self._client_gone(client.key, f"silent for more than {timeout:g} s")
        for job_id, item in list(self._undelivered.items()):
            if item.expires < now:
                del self._undelivered[job_id]

    def _client_gone(self, key: ClientKey, why: str) -> None:
        client = self.clients.pop(key, None)
        if client is None:
            return
        if client.jobs:
            log.info(
                "client %s is gone (%s): cancelling %d job(s)", _who(key), why, len(client.jobs)
            )
        for job_id in list(client.jobs):
            job = self.jobs.get(job_id)
            if job is None:
                continue
            # Forget the id now: a resend from a reconnected client starts afresh.
            del self.jobs[job_id]
            job.orphaned = True
            if job.state is State.QUEUED and self.scheduler.remove(job):
                job.state = State.DONE
                self.stats["cancelled"] += 1
                log.info("job %s cancelled while queued: client gone", job.id)
            elif job.state is State.RUNNING:
                job.request_cancel(_errors.CANCELLED, f"client disconnected ({why})")
        self._pending = deque(p for p in self._pending if p[0] != key)

    def _forget_idle(self, client: _Client) -> None:
        # Only clients with jobs are tracked between messages (bounded memory).
        if not client.jobs:
            self.clients.pop(client.key, None)

    def _begin_shutdown(self) -> None:
        why = self.stop_reason or "stop requested"
        log.info(
            "shutting down (%s): %d queued, %d running", why, len(self.scheduler), self._running()
        )
        while True:
            job = self.scheduler.pop()
            if job is None:
                break
            self._finish(job)
            self.stats["cancelled"] += 1
            self._send_error(
                job.client,
                job.id,
                _errors.SHUTTING_DOWN,
                "dreamd is shutting down",
                None,
                job=job.id,
            )
        for worker in self.workers:
            if worker.job is not None:
                worker.job.request_cancel(_errors.SHUTTING_DOWN, "dreamd is shutting down")
        self._stop_deadline = time.monotonic() + self.config.shutdown_grace

    def _shutdown_done(self) -> bool:
        if time.monotonic() >= self._stop_deadline:
            if self._running():
                log.warning("shutdown: gave up waiting for %d running job(s)", self._running())
            return True
        return self._running() == 0 and not self._pending

    def _running(self) -> int:
        return sum(1 for w in self.workers if w.job is not None)

    def _position(self, job: Job) -> int:
        if job.state is State.RUNNING:
            return 0
        ahead = self.scheduler.position(job)
        return 1 + (ahead or 0)

    # --------------------------------------------------------------------- status, hello

    def _hello_info(self) -> dict[str, Any]:
        assert self.model is not None
        return {
            "version": __version__,
            "model": self.model.name,
            "models": [self.model.name],
            "devices": [_devices.describe(w.device) for w in self.workers],
            "limits": _limits_dict(self.limits),
            "max_queue": self.config.max_queue,
            "heartbeat": self.config.heartbeat,
        }

    def _status(self, layers: bool) -> dict[str, Any]:
        assert self.model is not None
        running = []
        for w in self.workers:
            job = w.job
            if job is None:
                continue
            done, total, octave, step = job.progress
            running.append(
                {
                    "id": job.id,
                    "device": w.device,
                    "priority": job.priority.name.lower(),
                    "done": done,
                    "total": total,
                    "octave": octave,
                    "step": step,
                    "seconds": round(time.monotonic() - (job.started or time.monotonic()), 3),
                }
            )
        fields: dict[str, Any] = {
            "version": __version__,
            "protocol": ", ".join(f"{a}.{b}" for a, b in protocol.SUPPORTED_VERSIONS),
            "pid": os.getpid(),
            "uptime": round(time.time() - self.started, 3),
            "endpoints": [e for group in self.endpoints for e in group],
            "curve": [
                e
                for group, s in zip(self.endpoints, self.sockets)
                for e in group
                if s.getsockopt(zmq.CURVE_SERVER)
            ],
            "devices": [
                {**_devices.describe(w.device), "jobs_done": w.jobs_done, "busy": w.job is not None}
                for w in self.workers
            ],
            "model": self.model.name,
            "weights": self.model.weights_source,
            "model_notes": list(self.model.notes),
            "default_layer": self.model.catalogue.default.name,
            "default_style_layers": [lay.name for lay in self.model.catalogue.style_defaults],
            "default_content_layer": self.model.catalogue.content_default.name,
            "queue": len(self.scheduler),
            "queued": {
                "interactive": sum(
                    1 for j in self.scheduler.order() if j.priority is Priority.INTERACTIVE
                ),
                "batch": sum(1 for j in self.scheduler.order() if j.priority is Priority.BATCH),
            },
            "running": running,
            "clients": len(self.clients),
            "jobs": dict(self.stats),
            "limits": _limits_dict(self.limits),
            "stopping": self.stopping,
        }
        if layers:
            fields["layers"] = {
                self.model.name: [layer.as_dict() for layer in self.model.catalogue]
            }
        return fields

    # -------------------------------------------------------------------------- sending

    def _reply(self, key: ClientKey, reply: Any) -> bool:
        return self._send_final(key, protocol.encode_reply(reply, server=SERVER_ID))

    def _send_error(
        self,
        key: ClientKey,
        request_id: str,
        code: str,
        message: str,
        fld: str | None,
        job: str | None = None,
    ) -> bool:
        frames = protocol.encode_error(
            request_id, code, message, server=SERVER_ID, field=fld, job=job
        )
        return self._send_final(key, frames)

    def _send_progress(self, job: Job) -> None:
        done, total, octave, step = job.progress
        # Never 100 % before the result itself (the last step may still be encoding).
        done = min(done, max(0, total - 1))
        steps = job.params.steps_per_octave * job.params.iterations
        octaves = max(1, total // steps) if steps else 1
        job.last_sent = time.monotonic()
        frames = protocol.encode_reply(
            protocol.Progress(job.id, done, total, max(0, octave - 1), octaves, step),
            server=SERVER_ID,
        )
        # Progress may be dropped when the client is not reading: a newer one follows.
        self._send(job.client, frames, drop_when_full=True)

    def _send_final(self, key: ClientKey, frames: list[Any]) -> bool:
        """Send a reply that must arrive; queue it briefly when the client's pipe is full."""
        return self._send(key, frames, drop_when_full=False)

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
            self._client_gone(key, "not reading its replies")
            return False
        except zmq.ZMQError as exc:
            if exc.errno == zmq.EHOSTUNREACH:
                self._client_gone(key, "disconnected")
                return False
            raise

    def _flush_pending(self) -> None:
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
            self._client_gone(key, why)


# ---------------------------------------------------------------------------- helpers


def _params(
    values: dict[str, Any], model: engine.DreamModel, styled: bool = False
) -> engine.DreamParams:
    """Engine parameters from the wire map; layers checked against the model now, so a
    typo is answered before the job waits in the queue. The style and content layers are
    checked too; with a style image they are resolved (canonical names, the model's
    defaults filled in), so that the result's ``params`` say which were used."""
    try:
        params = engine.DreamParams.from_mapping(values)
        resolved = _style_layers(params, model)
        if styled:
            params = resolved
        for spec in params.layers:
            layer = model.catalogue[spec.name]
            if spec.channels is not None and max(spec.channels) >= layer.channels:
                raise engine.InvalidParams(
                    "layers.channels",
                    f"layer {layer.name} has {layer.channels} channels (0..{layer.channels - 1}), "
                    f"got {max(spec.channels)}",
                )
    except (engine.EngineError, TypeError, ValueError) as exc:
        code, message, fld = _errors.classify(exc)
        if code == _errors.INTERNAL:
            code, message = _errors.BAD_VALUE, f"bad parameters: {exc}"
            fld = "params"
        raise JobError(code, message, fld) from None
    return params


def _style_layers(params: engine.DreamParams, model: engine.DreamModel) -> engine.DreamParams:
    """``params`` with the style and content layers the engine will use, by canonical name.

    Raises:
        JobError(UNKNOWN_LAYER): naming ``params.style_layers`` or ``params.content_layer``.
    """
    cat = model.catalogue
    try:
        style = [cat[n] for n in params.style_layers] or cat.style_defaults
    except engine.UnknownLayer as exc:
        raise JobError(_errors.UNKNOWN_LAYER, str(exc), "params.style_layers") from None
    try:
        content = cat[params.content_layer] if params.content_layer else cat.content_default
    except engine.UnknownLayer as exc:
        raise JobError(_errors.UNKNOWN_LAYER, str(exc), "params.content_layer") from None
    return params.with_(
        style_layers=tuple(dict.fromkeys(lay.name for lay in style)), content_layer=content.name
    )


def _fingerprint(req: protocol.DreamRequest) -> tuple[Any, ...]:
    def image(img: Any) -> Any:
        return None if img is None else (img.desc, img.nbytes)

    return (
        image(req.image),
        image(req.guide),
        image(req.style),
        repr(sorted(req.params.items())),
        req.priority,
    )


def _limits_dict(limits: protocol.Limits) -> dict[str, int]:
    from dataclasses import asdict

    return {k: int(v) for k, v in asdict(limits).items()}


def _who(key: ClientKey) -> str:
    return f"{key[0]}:{key[1].hex()}"


def _wait_readable(fd: int, timeout: float) -> None:
    poller = zmq.Poller()
    poller.register(fd, zmq.POLLIN)
    with contextlib.suppress(zmq.ZMQError):
        poller.poll(int(timeout * 1000))
