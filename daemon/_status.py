"""What the daemon says about itself: the ``hello`` info and the ``status`` fields."""

from __future__ import annotations

import os
import time
from dataclasses import asdict
from typing import TYPE_CHECKING, Any

import zmq

from dreamd import engine, protocol

from . import __version__
from ._queue import Priority

if TYPE_CHECKING:
    from ._server import Server


def hello_info(server: Server) -> dict[str, Any]:
    """The ``hello`` reply's fields: version, model, devices, limits."""
    assert server.model is not None
    return {
        "version": __version__,
        "model": server.model.name,
        "models": [server.model.name],
        "devices": [engine.device_info(w.device) for w in server.workers],
        "limits": limits_dict(server.limits),
        "max_queue": server.config.max_queue,
        "heartbeat": server.config.heartbeat,
    }


def status(server: Server, layers: bool) -> dict[str, Any]:
    """The ``status`` reply's fields (PROTOCOL.md, section 4); with ``layers`` the model's
    layer catalogue too."""
    model = server.model
    assert model is not None
    queued = server.scheduler.order()
    fields: dict[str, Any] = {
        "version": __version__,
        "protocol": ", ".join(f"{a}.{b}" for a, b in protocol.SUPPORTED_VERSIONS),
        "pid": os.getpid(),
        "uptime": round(time.time() - server.started, 3),
        "endpoints": [e for group in server.endpoints for e in group],
        "curve": [
            e
            for group, s in zip(server.endpoints, server.sockets, strict=True)
            for e in group
            if s.getsockopt(zmq.CURVE_SERVER)
        ],
        "devices": [
            {**engine.device_info(w.device), "jobs_done": w.jobs_done, "busy": w.job is not None}
            for w in server.workers
        ],
        "model": model.name,
        "weights": model.weights_source,
        "model_notes": list(model.notes),
        "default_layer": model.catalogue.default.name,
        "default_style_layers": [lay.name for lay in model.catalogue.style_defaults],
        "default_content_layer": model.catalogue.content_default.name,
        "queue": len(server.scheduler),
        "queued": {
            "interactive": sum(1 for j in queued if j.priority is Priority.INTERACTIVE),
            "batch": sum(1 for j in queued if j.priority is Priority.BATCH),
        },
        "running": _running(server),
        "clients": len(server.clients),
        "jobs": dict(server.stats),
        "limits": limits_dict(server.limits),
        "stopping": server.stopping,
    }
    if layers:
        fields["layers"] = {model.name: [layer.as_dict() for layer in model.catalogue]}
    return fields


def _running(server: Server) -> list[dict[str, Any]]:
    running = []
    for w in server.workers:
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
    return running


def limits_dict(limits: protocol.Limits) -> dict[str, int]:
    return {k: int(v) for k, v in asdict(limits).items()}
