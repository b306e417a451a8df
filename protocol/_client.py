"""The client library: :class:`Client`, dreamd's requests as Python calls. The socket
and its liveness rules are in ``_connection``, the requests in flight in ``_calls``."""

from __future__ import annotations

import platform
import time
from collections.abc import Iterable, Mapping
from typing import Any

import zmq

from ._calls import CancelFlag, Job, ProgressCallback, fired
from ._connection import POLL_SLICE, Connection
from ._curve import CurveKeys
from ._endpoints import resolve_endpoint
from ._errors import Cancelled, Unsupported, VersionMismatch
from ._estimate import PREVIEW_VERSION, Estimate, EstimateRequest, Preview
from ._image import Image
from ._limits import Limits
from ._messages import (
    FRAME_IMAGES,
    DreamRequest,
    DreamResult,
    HelloReply,
    HelloRequest,
    PingRequest,
    Priority,
    StatusReply,
    StatusRequest,
    decode_request,
    encode_request,
)
from ._params import STYLE_PARAMS_1_1, STYLE_PARAMS_1_2
from ._timeouts import Timeout
from ._version import PROTOCOL_VERSION

__all__ = ["POLL_SLICE", "CancelFlag", "Client", "Job", "ProgressCallback"]

# Requests are checked locally before they are sent, for their shape and values; the size
# caps are the daemon's business (it may have raised them), hence permissive limits.
_LOCAL_CHECK = Limits.permissive()
#: Several style images and the style parameters of STYLE_PARAMS_1_1 came with 1.1.
STYLE_VERSION: tuple[int, int] = (1, 1)
#: A styled video frame's content, previous and previous_weight images, and temporal_weight.
FRAME_VERSION: tuple[int, int] = (1, 2)


class Client(Connection):
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
        self.name = name or f"dreamd-protocol python-{platform.python_version()}"
        #: What :meth:`hello` last returned.
        self.server_info: dict[str, Any] | None = None
        super().__init__(
            resolve_endpoint(endpoint),
            timeout or Timeout(),
            retries,
            curve,
            limits or Limits.permissive(),
            context,
        )

    # ------------------------------------------------------------------ public API

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<Client {self.endpoint} {'closed' if self._closed else 'open'}>"

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
                if cancel is not None and fired(cancel):
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
