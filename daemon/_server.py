"""The daemon's lifecycle and poll loop: the only code that waits on the sockets.

One thread (the process's main thread) binds the ROUTER socket(s), starts one worker per
device and waits until each has its model, then polls the sockets and the workers'
:class:`~._worker.Outbox` until asked to stop. What it does with what arrives lives next
door, one job per module:

- ``_requests``: each message answered, or a ``dream`` checked and queued;
- ``_jobs``: jobs handed to workers, their events relayed, cancelled, heartbeats;
- ``_delivery``: every reply sent, with back-pressure per client;
- ``_status``: what ``hello`` and ``status`` say.

Workers run dreams in their own threads and never see a socket.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import zmq

from dreamd import engine, protocol

from . import __version__, _images, _jobs, _requests, _security
from ._delivery import Delivery
from ._errors import ConfigError
from ._jobs import Connection
from ._lock import EndpointLock
from ._log import log
from ._preflight import Preflight, preflight
from ._queue import ClientKey, Job, Scheduler
from ._speed import Speed
from ._worker import LoadFailed, Outbox, Ready, Worker


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


class Server:
    """``dreamd serve``: construct, :meth:`start`, :meth:`run` until stopped, :meth:`close`."""

    def __init__(self, config: ServeConfig, on_ready: Callable[[str], None] | None = None) -> None:
        self.config = config
        self.limits = config.limits
        self.on_ready = on_ready
        self.started = time.time()
        self.scheduler = Scheduler()
        self.jobs: dict[str, Job] = {}
        self.clients: dict[ClientKey, Connection] = {}
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
        self.delivery = Delivery(self.sockets, self._client_gone)
        self._ipc_files: list[Path] = []
        self.stats = {"done": 0, "failed": 0, "cancelled": 0, "rejected": 0}
        self.speed = Speed()

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
        self.sockets.clear()  # the list Delivery holds too
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
            events = dict(poller.poll(100 if self.delivery.waiting else 250))
            for index, sock in enumerate(self.sockets):
                if events.get(sock):
                    self._receive(index, sock)
            if events.get(self.outbox.fileno()):
                for event in self.outbox.drain():
                    _jobs.on_event(self, event)
            self.delivery.flush()
            now = time.monotonic()
            if now >= next_tick:
                next_tick = now + 0.5
                _jobs.tick(self, now)
            _jobs.dispatch(self)

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
            _requests.handle(self, (index, identity), frames[1:])

    def _client_gone(self, key: ClientKey, why: str) -> None:
        _jobs.client_gone(self, key, why)

    def _begin_shutdown(self) -> None:
        why = self.stop_reason or "stop requested"
        log.info(
            "shutting down (%s): %d queued, %d running",
            why,
            len(self.scheduler),
            _jobs.running(self),
        )
        _jobs.cancel_all(self, protocol.ErrorCode.SHUTTING_DOWN, "dreamd is shutting down")
        self._stop_deadline = time.monotonic() + self.config.shutdown_grace

    def _shutdown_done(self) -> bool:
        running = _jobs.running(self)
        if time.monotonic() >= self._stop_deadline:
            if running:
                log.warning("shutdown: gave up waiting for %d running job(s)", running)
            return True
        return running == 0 and not self.delivery.waiting


def _wait_readable(fd: int, timeout: float) -> None:
    poller = zmq.Poller()
    poller.register(fd, zmq.POLLIN)
    with contextlib.suppress(zmq.ZMQError):
        poller.poll(int(timeout * 1000))
