"""Requests: each decoded message answered or turned into a queued job.

``hello``, ``status``, ``ping`` and ``estimate`` are answered at once; a ``dream`` is
checked completely (model, parameters, layers, image form, queue room) before it is queued,
so a refusal is its first and only reply; ``cancel`` stops a job of the same connection.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import zmq

from dreamd import engine, protocol

from . import _errors, _images, _jobs, _speed, _status
from ._errors import JobError
from ._jobs import Connection, who
from ._log import log
from ._queue import ClientKey, Job, Priority

if TYPE_CHECKING:
    from ._server import Server

ErrorCode = protocol.ErrorCode


def handle(server: Server, key: ClientKey, frames: list[zmq.Frame]) -> None:
    """Answer one received message (everything after the routing id)."""
    client = server.clients.get(key)
    if client is None:
        client = server.clients[key] = Connection(key)
    client.last_seen = time.monotonic()
    try:
        request = protocol.decode_request(frames, server.limits)
    except protocol.MessageInvalid as exc:
        server.stats["rejected"] += 1
        log.info("rejected a message from %s: %s", who(key), exc)
        server.delivery.error(key, exc.request_id or "", exc.code, exc.message, exc.field)
        _jobs.forget_idle(server, client)
        return
    try:
        if isinstance(request, protocol.PingRequest):
            server.delivery.reply(key, protocol.Pong(request.id))
        elif isinstance(request, protocol.HelloRequest):
            client.name = request.client
            info = _status.hello_info(server)
            server.delivery.reply(key, protocol.HelloReply(request.id, info=info))
        elif isinstance(request, protocol.StatusRequest):
            fields = _status.status(server, request.layers)
            server.delivery.reply(key, protocol.StatusReply(request.id, fields))
        elif isinstance(request, protocol.CancelRequest):
            _cancel(server, client, request)
        elif isinstance(request, protocol.DreamRequest):
            _submit(server, client, request)
        elif isinstance(request, protocol.EstimateRequest):
            server.delivery.reply(key, _estimate(server, request))
    except JobError as exc:
        server.stats["rejected"] += 1
        log.info("refused %s from %s: %s %s", request.id, who(key), exc.code, exc)
        server.delivery.error(key, request.id, exc.code, str(exc), exc.field, job=exc.job)
    except Exception as exc:  # a bug here must not take the daemon down
        log.exception("internal error handling %s from %s", request.type, who(key))
        code, message, fld = _errors.classify(exc)
        server.delivery.error(key, request.id, code, message, fld)
    _jobs.forget_idle(server, client)


def _submit(server: Server, client: Connection, req: protocol.DreamRequest) -> None:
    model = server.model
    assert model is not None
    if server.stopping:
        raise JobError(ErrorCode.SHUTTING_DOWN, "dreamd is shutting down and takes no new jobs")
    existing = server.jobs.get(req.id)
    fingerprint = _fingerprint(req)
    if existing is not None:
        _resent(server, client, existing, fingerprint)
        return
    if server.delivery.resend_kept(client.key, req.id, fingerprint):
        log.info("job %s: resent its result to %s", req.id, who(client.key))
        return
    _check_model(server, req.model)
    params = dream_params(req.params, model, styled=bool(req.styles))
    if params.style_blend and req.styles and len(params.style_blend) != len(req.styles):
        raise JobError(
            ErrorCode.BAD_VALUE,
            f"{len(req.styles)} style image(s) need as many style_blend weights, "
            f"got {len(params.style_blend)}",
            "params.style_blend",
        )
    _images.check_file(req.image)
    for name, image in req.frame_images:
        _images.check_file(image, name)
    if len(server.scheduler) >= server.config.max_queue:
        raise JobError(
            ErrorCode.BUSY, f"the queue is full ({server.config.max_queue} jobs); retry later"
        )
    if len(client.jobs) >= server.config.max_client_jobs:
        raise JobError(
            ErrorCode.BUSY,
            f"this connection already has {len(client.jobs)} jobs queued or running "
            f"(limit {server.config.max_client_jobs})",
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
        frame=dict(req.frame_images),
        fingerprint=fingerprint,
        preview=req.preview,
    )
    server.jobs[job.id] = job
    client.jobs.add(job.id)
    server.scheduler.push(job)
    _jobs.dispatch(server)
    job.last_sent = time.monotonic()
    server.delivery.reply(client.key, protocol.Accepted(job.id, _jobs.position(server, job)))


def _check_model(server: Server, name: str | None) -> engine.DreamModel:
    model = server.model
    assert model is not None
    if name not in (None, "auto", model.name):
        raise JobError(
            ErrorCode.UNKNOWN_MODEL,
            f"this daemon has model {model.name!r}, not {name!r}; restart it "
            f"with --model {name} to use that one",
            "model",
        )
    return model


def _estimate(server: Server, req: protocol.EstimateRequest) -> protocol.Estimate:
    """The dream's plan, and its time at the speed measured so far (None before the first
    measure, which the first estimate starts on the first worker)."""
    model = _check_model(server, req.model)
    params = dream_params(req.params, model)
    plan = engine.plan_params(model.catalogue, (req.height, req.width), params)
    if not server.speed.measured and not server.speed.calibrating and server.workers:
        server.speed.calibrating = True
        server.workers[0].calibrate(_speed.CALIBRATION_SIDES, _speed.CALIBRATION_STEPS)
    seconds = server.speed.seconds(plan)
    return protocol.Estimate(
        req.id,
        None if seconds is None else round(seconds, 3),
        [[w, h] for h, w in plan.sizes],
        [plan.working[1], plan.working[0]] if plan.working else None,
        plan.steps,
        list(plan.notes),
    )


def _resent(server: Server, client: Connection, job: Job, fingerprint: tuple[Any, ...]) -> None:
    """A dream whose id is already queued or running: a resend after a timeout."""
    if job.fingerprint != fingerprint:
        raise JobError(
            ErrorCode.BAD_VALUE,
            f"job id {job.id!r} is already in use by another job; use unique ids",
            "id",
        )
    if job.client != client.key:
        # The client reconnected (new routing id) and resent: follow it.
        old = server.clients.get(job.client)
        if old is not None:
            old.jobs.discard(job.id)
            _jobs.forget_idle(server, old)
        job.client = client.key
        client.jobs.add(job.id)
        log.info("job %s: client reconnected as %s", job.id, who(client.key))
    server.delivery.reply(client.key, protocol.Accepted(job.id, _jobs.position(server, job)))


def _cancel(server: Server, client: Connection, req: protocol.CancelRequest) -> None:
    job = server.jobs.get(req.job)
    if job is None or job.client != client.key:
        raise JobError(
            ErrorCode.UNKNOWN_JOB,
            f"no job {req.job!r} is queued or running for this connection",
            "job",
            job=req.job,
        )
    _jobs.cancel(server, job, ErrorCode.CANCELLED, "cancelled by the client")


def dream_params(
    values: dict[str, Any], model: engine.DreamModel, styled: bool = False
) -> engine.DreamParams:
    """Engine parameters from the wire map, with every layer checked against the model
    now, so that a typo is answered before the job waits in the queue; with a style image
    the style and content layers as the result will record them (see
    :func:`engine.resolve_layers`).

    Raises:
        JobError: the code and field the engine's error maps to.
    """
    try:
        params = engine.DreamParams.from_mapping(values)
        return engine.resolve_layers(model.catalogue, params, styled=styled)
    except (engine.EngineError, TypeError, ValueError) as exc:
        code, message, fld = _errors.classify(exc)
        if code == ErrorCode.INTERNAL:
            code, message, fld = ErrorCode.BAD_VALUE, f"bad parameters: {exc}", "params"
        raise JobError(code, message, fld) from None


def _fingerprint(req: protocol.DreamRequest) -> tuple[Any, ...]:
    """What tells a resent request (same id, same content) from a new one."""

    def image(img: Any) -> Any:
        return None if img is None else (img.desc, img.nbytes)

    return (
        image(req.image),
        image(req.guide),
        tuple(image(s) for s in req.styles),
        tuple((name, image(i)) for name, i in req.frame_images),
        repr(sorted(req.params.items())),
        req.priority,
    )
