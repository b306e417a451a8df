"""Messages: one frozen dataclass per type, and the functions that put them on and take
them off the wire.

A message is a list of frames: frame 0 the msgpack header (``v``, ``type``, ``id`` and the
type's fields; replies also ``server``), then raw binary frames for images (image, then
guide, then the style image(s), then a video frame's content, previous and previous_weight,
each only when its descriptor is present).

Requests are decoded strictly (unknown fields refused) because they come from anyone who
can connect; replies leniently (unknown fields ignored) so that a newer daemon can add
optional fields without breaking older clients.

Longer than this project's ~400 lines on purpose: every message shape of PROTOCOL.md §3–4
stands here, next to the strict field readers they share, so the wire schema can be read
(and checked against the document) in one place.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from dataclasses import field as _field
from typing import Any, ClassVar, Literal, cast

from ._errors import ErrorCode, MessageInvalid, code_of
from ._estimate import (
    Estimate,
    EstimateRequest,
    Preview,
    check_preview,
    decode_estimate,
    decode_estimate_request,
)
from ._image import Image, ImageDesc, check_desc, check_frame
from ._limits import DEFAULT_LIMITS, Limits
from ._params import MAX_STYLES, check_params
from ._version import PROTOCOL_VERSION, SUPPORTED_VERSIONS
from ._wire import (
    COMMON_FIELDS,
    FrameLike,
    bad,
    check_float,
    check_id,
    check_known,
    check_version,
    get_bool,
    get_int,
    get_map,
    get_str,
    kind_of,
    pack_header,
    path,
    require_int,
    require_str,
    unpack_header,
    valid_id,
)

Priority = Literal["interactive", "batch"]
PRIORITIES: tuple[str, ...] = ("interactive", "batch")

MAX_NAME = 256  # client names, model names
#: A styled video frame's images (1.2), in the order of their frames.
FRAME_IMAGES: tuple[str, ...] = ("content", "previous", "previous_weight")
MAX_MESSAGE = 4096  # error messages
_INT64 = 2**63 - 1

Frames = list[bytes | memoryview]


# --------------------------------------------------------------------------- requests


@dataclass(frozen=True)
class HelloRequest:
    """``hello``: who is calling; answered with :class:`HelloReply`."""

    type: ClassVar[str] = "hello"
    id: str
    client: str = ""
    version: tuple[int, int] = _field(default=PROTOCOL_VERSION, kw_only=True)


@dataclass(frozen=True)
class StatusRequest:
    """``status``: daemon state; ``layers`` asks for each model's layer catalogue too."""

    type: ClassVar[str] = "status"
    id: str
    layers: bool = False
    version: tuple[int, int] = _field(default=PROTOCOL_VERSION, kw_only=True)


@dataclass(frozen=True)
class PingRequest:
    """``ping``: answered with :class:`Pong` straight away, even while jobs run."""

    type: ClassVar[str] = "ping"
    id: str
    version: tuple[int, int] = _field(default=PROTOCOL_VERSION, kw_only=True)


@dataclass(frozen=True)
class DreamRequest:
    """``dream``: a job. ``id`` is the job id; ``params`` uses the engine's field names."""

    type: ClassVar[str] = "dream"
    id: str
    image: Image
    params: dict[str, Any] = _field(default_factory=dict)
    guide: Image | None = None
    #: One style image, or (since 1.1) several to blend (``params.style_blend``).
    style: Image | tuple[Image, ...] | None = None
    model: str | None = None
    priority: Priority = "interactive"
    #: Since 1.1: previews in ``progress`` (:class:`Preview`); None: none.
    preview: Preview | None = None
    #: Since 1.2, a styled video frame (with ``style``): the picture whose content is kept
    #: (None: ``image``, then where the transfer starts), the previous styled frame warped
    #: to this one, and where that is reliable (one channel, 0–1; None: everywhere).
    content: Image | None = None
    previous: Image | None = None
    previous_weight: Image | None = None
    version: tuple[int, int] = _field(default=PROTOCOL_VERSION, kw_only=True)

    @property
    def styles(self) -> tuple[Image, ...]:
        """The style images, in order (none, one or several)."""
        if self.style is None:
            return ()
        return self.style if isinstance(self.style, tuple) else (self.style,)

    @property
    def frame_images(self) -> tuple[tuple[str, Image], ...]:
        """A video frame's images (1.2) that are present, by field name, in wire order."""
        named = (
            ("content", self.content),
            ("previous", self.previous),
            ("previous_weight", self.previous_weight),
        )
        return tuple((name, image) for name, image in named if image is not None)


@dataclass(frozen=True)
class CancelRequest:
    """``cancel``: stop job ``job`` (queued or running) of this connection."""

    type: ClassVar[str] = "cancel"
    id: str
    job: str
    version: tuple[int, int] = _field(default=PROTOCOL_VERSION, kw_only=True)


Request = (
    HelloRequest | StatusRequest | PingRequest | DreamRequest | CancelRequest | EstimateRequest
)


# ---------------------------------------------------------------------------- replies


@dataclass(frozen=True)
class HelloReply:
    """``hello``: the protocol versions the daemon speaks and free-form ``info``
    (``version``, ``model``, ``models``, ``devices``, ``limits``, …)."""

    type: ClassVar[str] = "hello"
    id: str
    protocols: tuple[tuple[int, int], ...] = SUPPORTED_VERSIONS
    info: dict[str, Any] = _field(default_factory=dict)
    server: str = _field(default="", kw_only=True)


@dataclass(frozen=True)
class StatusReply:
    """``status``: a free-form map of fields."""

    type: ClassVar[str] = "status"
    id: str
    fields: dict[str, Any] = _field(default_factory=dict)
    server: str = _field(default="", kw_only=True)


@dataclass(frozen=True)
class Pong:
    """``pong``: the answer to ``ping``."""

    type: ClassVar[str] = "pong"
    id: str
    server: str = _field(default="", kw_only=True)


@dataclass(frozen=True)
class Accepted:
    """``accepted``: job ``id`` is queued; ``position`` 0 means it runs now."""

    type: ClassVar[str] = "accepted"
    id: str
    position: int = 0
    server: str = _field(default="", kw_only=True)


@dataclass(frozen=True)
class Progress:
    """``progress`` of job ``id``: ``done`` of ``total`` steps overall; ``octave`` (0 is the
    smallest) of ``octaves``; ``step`` within the octave. Also the heartbeat of a job."""

    type: ClassVar[str] = "progress"
    id: str
    done: int
    total: int
    octave: int = 0
    octaves: int = 1
    step: int = 0
    #: Since 1.1, for a dream that asked for previews: the dream as it stands (raw, u8, RGB).
    preview: Image | None = None
    server: str = _field(default="", kw_only=True)

    @property
    def fraction(self) -> float:
        """done / total in [0, 1] (0 when total is 0)."""
        return min(1.0, self.done / self.total) if self.total else 0.0


@dataclass(frozen=True)
class DreamResult:
    """``result`` of job ``id``: the dreamed image and everything needed to reproduce it."""

    type: ClassVar[str] = "result"
    id: str
    image: Image
    model: str
    layers: list[Any] = _field(default_factory=list)
    params: dict[str, Any] = _field(default_factory=dict)
    seed: int | None = None
    timings: dict[str, float] = _field(default_factory=dict)
    notes: list[str] = _field(default_factory=list)
    server: str = _field(default="", kw_only=True)


@dataclass(frozen=True)
class ErrorReply:
    """``error``: request ``id`` (or job ``job``) failed with ``code``. ``id`` is ``""``
    when the request's id could not be read. ``protocols`` comes with
    UNSUPPORTED_VERSION."""

    type: ClassVar[str] = "error"
    id: str
    code: ErrorCode | str
    message: str
    field: str | None = None
    job: str | None = None
    protocols: tuple[tuple[int, int], ...] | None = None
    server: str = _field(default="", kw_only=True)


Reply = HelloReply | StatusReply | Pong | Accepted | Progress | DreamResult | ErrorReply | Estimate


# --------------------------------------------------------------------------- encoding


def _base(message: Request | Reply, version: tuple[int, int]) -> dict[str, Any]:
    return {"v": list(version), "type": message.type, "id": message.id}


def encode_request(request: Request) -> Frames:
    """Frames for a request (header, then image/guide/style data, never copied)."""
    header = _base(request, request.version)
    images: list[Image] = []
    if isinstance(request, HelloRequest):
        header["client"] = request.client
    elif isinstance(request, StatusRequest):
        header["layers"] = request.layers
    elif isinstance(request, CancelRequest):
        header["job"] = request.job
    elif isinstance(request, DreamRequest):
        header["image"] = request.image.desc.to_wire()
        header["guide"] = request.guide.desc.to_wire() if request.guide else None
        styles = request.styles
        # one style travels as a descriptor (what a 1.0 daemon reads), several as an array
        header["style"] = (
            [i.desc.to_wire() for i in styles]
            if len(styles) > 1
            else styles[0].desc.to_wire()
            if styles
            else None
        )
        header["params"] = dict(request.params)
        header["model"] = request.model
        header["priority"] = request.priority
        if request.preview is not None:  # absent, not nil: a 1.0 daemon knows no such field
            header["preview"] = request.preview.to_wire()
        frame_images = request.frame_images
        for name, image in frame_images:  # absent when not given: 1.2 fields
            header[name] = image.desc.to_wire()
        images = [i for i in (request.image, request.guide) if i is not None] + list(styles)
        images += [image for _, image in frame_images]
    elif isinstance(request, EstimateRequest):
        header.update(request.header())
    return [pack_header(header), *(i.data for i in images)]


_RESERVED = frozenset({"v", "type", "id", "server"})


def encode_reply(reply: Reply, *, server: str | None = None) -> Frames:
    """Frames for a reply, with ``v`` and ``server`` (the daemon's version string, from
    ``server`` or else ``reply.server``) filled in."""
    who = server if server is not None else reply.server
    if not who:
        raise ValueError("every reply carries the daemon's version: pass server=")
    header = _base(reply, PROTOCOL_VERSION)
    header["server"] = who
    frames: Frames = []
    if isinstance(reply, HelloReply):
        extra = _RESERVED.union({"protocols"}).intersection(reply.info)
        if extra:
            raise ValueError(f"hello info may not use the reserved key(s) {sorted(extra)}")
        header["protocols"] = [list(v) for v in reply.protocols]
        header.update(reply.info)
    elif isinstance(reply, StatusReply):
        extra = _RESERVED.intersection(reply.fields)
        if extra:
            raise ValueError(f"status fields may not use the reserved key(s) {sorted(extra)}")
        header.update(reply.fields)
    elif isinstance(reply, Accepted):
        header["position"] = reply.position
    elif isinstance(reply, Progress):
        header.update(
            done=reply.done,
            total=reply.total,
            octave=reply.octave,
            octaves=reply.octaves,
            step=reply.step,
        )
        if reply.preview is not None:
            header["preview"] = reply.preview.desc.to_wire()
            frames = [reply.preview.data]
    elif isinstance(reply, Estimate):
        header.update(reply.header())
    elif isinstance(reply, DreamResult):
        header.update(
            image=reply.image.desc.to_wire(),
            model=reply.model,
            layers=list(reply.layers),
            params=dict(reply.params),
            seed=reply.seed,
            timings=dict(reply.timings),
            notes=list(reply.notes),
        )
        frames = [reply.image.data]
    elif isinstance(reply, ErrorReply):
        header.update(code=str(reply.code), message=reply.message, field=reply.field, job=reply.job)
        protocols = reply.protocols
        if protocols is None and reply.code == ErrorCode.UNSUPPORTED_VERSION:
            protocols = SUPPORTED_VERSIONS
        if protocols is not None:
            header["protocols"] = [list(v) for v in protocols]
    return [pack_header(header), *frames]


def encode_error(
    id: str,
    code: ErrorCode | str,
    message: str,
    *,
    server: str,
    field: str | None = None,
    job: str | None = None,
) -> Frames:
    """Frames for an ``error`` reply. ``id`` is the failed request's id (``""`` when it
    could not be read, e.g. ``MessageInvalid.request_id`` is ``None``). For
    UNSUPPORTED_VERSION the versions this side speaks are added, so the peer can say
    which side to update."""
    return encode_reply(ErrorReply(id, code, message[:MAX_MESSAGE], field, job), server=server)


# --------------------------------------------------------------------------- decoding


def _open(
    frames: Sequence[FrameLike], limits: Limits, *, allow_empty_id: bool = False
) -> tuple[dict[str, Any], str | None, tuple[int, int]]:
    """Checks shared by both directions, in the order that lets an error reply still
    reach its request: header bytes, msgpack, map, id (read leniently first), frame
    count, version."""
    if not frames:
        raise MessageInvalid(ErrorCode.BAD_MESSAGE, "empty message: no header frame")
    header = unpack_header(frames[0], limits)
    raw_id = header.get("id")
    request_id = raw_id if valid_id(raw_id) else None
    try:
        if len(frames) > limits.max_frames:
            raise MessageInvalid(
                ErrorCode.TOO_LARGE,
                f"{len(frames)} frames, at most {limits.max_frames} are allowed",
            )
        version = check_version(header, SUPPORTED_VERSIONS)
        if "type" not in header:
            raise MessageInvalid(ErrorCode.BAD_MESSAGE, "header has no 'type'", "type")
        if not isinstance(header["type"], str):
            raise MessageInvalid(ErrorCode.BAD_MESSAGE, "'type' must be a string", "type")
        if "id" not in header:
            raise MessageInvalid(ErrorCode.BAD_MESSAGE, "header has no 'id'", "id")
        if not (allow_empty_id and raw_id == ""):
            check_id(raw_id, "id")
    except MessageInvalid as exc:
        exc.request_id = request_id
        raise
    return header, request_id, version


def _frame_count(frames: Sequence[FrameLike], expected: int, what: str) -> None:
    if len(frames) != expected:
        raise MessageInvalid(
            ErrorCode.BAD_MESSAGE,
            f"{what} takes {expected} frame(s), got {len(frames)}",
        )


def decode_request(frames: Sequence[FrameLike], limits: Limits = DEFAULT_LIMITS) -> Request:
    """Validate and decode a request, before anything is allocated for it.

    ``frames`` are the message's frames without the ROUTER's routing id: ``bytes``,
    memoryviews or ``zmq.Frame`` (from ``recv_multipart(copy=False)``; image data then
    stays in the frame). Raises :class:`MessageInvalid` carrying the code, field and,
    when it could be read, ``request_id`` for the ``error`` reply.
    """
    header, request_id, version = _open(frames, limits)
    try:
        return _decode_request(header, frames, limits, version)
    except MessageInvalid as exc:
        exc.request_id = request_id
        raise


def _decode_request(
    h: dict[str, Any], frames: Sequence[FrameLike], limits: Limits, version: tuple[int, int]
) -> Request:
    kind = h["type"]
    rid: str = h["id"]
    if kind == "hello":
        check_known(h, COMMON_FIELDS | {"client"}, "")
        _frame_count(frames, 1, "hello")
        client = get_str(h, "client", "", max_len=MAX_NAME, default="")
        assert client is not None
        return HelloRequest(rid, client, version=version)
    if kind == "status":
        check_known(h, COMMON_FIELDS | {"layers"}, "")
        _frame_count(frames, 1, "status")
        return StatusRequest(rid, get_bool(h, "layers", "", False), version=version)
    if kind == "ping":
        check_known(h, COMMON_FIELDS, "")
        _frame_count(frames, 1, "ping")
        return PingRequest(rid, version=version)
    if kind == "cancel":
        check_known(h, COMMON_FIELDS | {"job"}, "")
        _frame_count(frames, 1, "cancel")
        if "job" not in h:
            raise bad("job", "is required")
        return CancelRequest(rid, check_id(h["job"], "job"), version=version)
    if kind == "dream":
        return _decode_dream(h, frames, limits, version)
    if kind == "estimate":
        _frame_count(frames, 1, "estimate")
        return decode_estimate_request(h, limits, version)
    raise MessageInvalid(
        ErrorCode.UNKNOWN_TYPE,
        f"unknown request type {kind!r}; known: cancel, dream, estimate, hello, ping, status",
        "type",
    )


_DREAM_FIELDS = COMMON_FIELDS | {
    "image",
    "guide",
    "style",
    "params",
    "model",
    "priority",
    "preview",
    *FRAME_IMAGES,
}


def _decode_dream(
    h: dict[str, Any], frames: Sequence[FrameLike], limits: Limits, version: tuple[int, int]
) -> DreamRequest:
    check_known(h, _DREAM_FIELDS, "")
    if "image" not in h or h["image"] is None:
        raise bad("image", "is required")
    # Every descriptor and the pixel caps are checked before any frame is looked at.
    image_desc = check_desc(h["image"], "image", limits, limits.max_pixels)
    guide_desc = (
        check_desc(h["guide"], "guide", limits, limits.max_guide_pixels)
        if h.get("guide") is not None
        else None
    )
    style_descs = _style_descs(h.get("style"), limits)
    frame_descs = _frame_descs(h, image_desc, bool(style_descs), limits)
    named = ["image"] + (["guide"] if guide_desc else []) + [where for where, _ in style_descs]
    named += [name for name, _ in frame_descs]
    _frame_count(frames, 1 + len(named), "this dream (header, " + ", ".join(named) + ")")
    params = check_params(h.get("params") if h.get("params") is not None else {}, limits)
    model = get_str(h, "model", "", max_len=MAX_NAME, min_len=1, nullable=True)
    priority = get_str(h, "priority", "", max_len=16, default="interactive", choices=PRIORITIES)
    preview = check_preview(h.get("preview"))
    image = check_frame(image_desc, frames[1], "image", limits)
    rest = iter(frames[2:])
    guide = check_frame(guide_desc, next(rest), "guide", limits) if guide_desc else None
    styles = tuple(check_frame(desc, next(rest), where, limits) for where, desc in style_descs)
    style = (
        (styles if len(styles) > 1 or isinstance(h.get("style"), list) else styles[0])
        if styles
        else None
    )
    frame = {name: check_frame(desc, next(rest), name, limits) for name, desc in frame_descs}
    return DreamRequest(
        h["id"],
        image,
        params,
        guide,
        style,
        model,
        cast(Priority, priority),
        preview,
        frame.get("content"),
        frame.get("previous"),
        frame.get("previous_weight"),
        version=version,
    )


def _frame_descs(
    h: dict[str, Any], image: ImageDesc, styled: bool, limits: Limits
) -> list[tuple[str, ImageDesc]]:
    """A styled video frame's ``content``, ``previous`` and ``previous_weight`` (1.2), those
    present: each the image's size, the weight one channel and only with ``previous``, all
    only with a style image (what they are for)."""
    out = []
    for name in FRAME_IMAGES:
        if h.get(name) is None:
            continue
        desc = check_desc(h[name], name, limits, limits.max_pixels)
        if (desc.width, desc.height) != (image.width, image.height):
            raise bad(
                name,
                f"is {desc.width}×{desc.height}, the image {image.width}×{image.height}: "
                "a video frame's pictures are all the same size",
            )
        out.append((name, desc))
    if not out:
        return out
    if not styled:
        raise bad(out[0][0], "is for a styled video frame: send a style image too")
    weight = dict(out).get("previous_weight")
    if weight is not None:
        if weight.channels != 1:
            raise bad("previous_weight", f"must have 1 channel, not {weight.channels}")
        if h.get("previous") is None:
            raise bad("previous_weight", "says where previous holds: send previous too")
    return out


def _style_descs(value: object, limits: Limits) -> list[tuple[str, ImageDesc]]:
    """``style``: nil, one descriptor, or (1.1) an array of 1 to ``MAX_STYLES``; each with
    the field path its errors name (``style``, or ``style[i]`` in an array)."""
    if value is None:
        return []
    if not isinstance(value, list):
        return [("style", check_desc(value, "style", limits, limits.max_style_pixels))]
    if not 1 <= len(value) <= MAX_STYLES:
        raise bad("style", f"must hold 1 to {MAX_STYLES} style images, got {len(value)}")
    return [
        (path("style", i), check_desc(item, path("style", i), limits, limits.max_style_pixels))
        for i, item in enumerate(value)
    ]


def decode_reply(frames: Sequence[FrameLike], limits: Limits | None = None) -> Reply:
    """Validate and decode a reply (the client side). Unknown fields are ignored, for
    forward compatibility; ``limits`` defaults to :meth:`Limits.permissive`.

    Raises :class:`MessageInvalid`; its ``request_id`` says which request the broken reply
    was for, when that could be read.
    """
    limits = limits or _PERMISSIVE
    header, request_id, _ = _open(frames, limits, allow_empty_id=True)
    try:
        return _decode_reply(header, frames, limits)
    except MessageInvalid as exc:
        exc.request_id = request_id
        raise


_PERMISSIVE = Limits.permissive()


def _versions(value: object, field_name: str) -> tuple[tuple[int, int], ...]:
    if not isinstance(value, list) or not value:
        raise bad(field_name, "must be a non-empty list of [major, minor]")
    result = []
    for i, item in enumerate(value):
        if (
            not isinstance(item, list)
            or len(item) != 2
            or any(isinstance(n, bool) or not isinstance(n, int) or n < 0 for n in item)
        ):
            raise bad(path(field_name, i), "must be [major, minor]")
        result.append((item[0], item[1]))
    return tuple(result)


def _decode_reply(h: dict[str, Any], frames: Sequence[FrameLike], limits: Limits) -> Reply:
    kind = h["type"]
    rid: str = h["id"]
    server = get_str(h, "server", "", max_len=MAX_NAME, required=True)
    assert server is not None
    if kind == "error":
        _frame_count(frames, 1, "error")
        code = require_str(h, "code", "", max_len=64)
        message = require_str(h, "message", "", max_len=limits.max_string)
        field_name = get_str(h, "field", "", max_len=limits.max_string, nullable=True)
        job = get_str(h, "job", "", max_len=64, nullable=True)
        protocols = _versions(h["protocols"], "protocols") if h.get("protocols") else None
        return ErrorReply(rid, code_of(code), message, field_name, job, protocols, server=server)
    if not rid:
        raise bad("id", "only an error reply may have an empty id")
    if kind == "hello":
        _frame_count(frames, 1, "hello")
        if "protocols" not in h:
            raise bad("protocols", "is required")
        protocols = _versions(h["protocols"], "protocols")
        info = {k: v for k, v in h.items() if k not in _RESERVED and k != "protocols"}
        return HelloReply(rid, protocols, info, server=server)
    if kind == "status":
        _frame_count(frames, 1, "status")
        return StatusReply(rid, {k: v for k, v in h.items() if k not in _RESERVED}, server=server)
    if kind == "pong":
        _frame_count(frames, 1, "pong")
        return Pong(rid, server=server)
    if kind == "accepted":
        _frame_count(frames, 1, "accepted")
        return Accepted(rid, require_int(h, "position", "", 0, _INT64), server=server)
    if kind == "progress":
        preview = None
        if h.get("preview") is not None:
            desc = check_desc(h["preview"], "preview", limits, limits.max_pixels)
            _frame_count(frames, 2, "progress with a preview")
            preview = check_frame(desc, frames[1], "preview", limits)
        else:
            _frame_count(frames, 1, "progress")
        done, total, octave, octaves, step = (
            require_int(h, name, "", 0, _INT64)
            for name in ("done", "total", "octave", "octaves", "step")
        )
        return Progress(rid, done, total, octave, octaves, step, preview, server=server)
    if kind == "estimate":
        _frame_count(frames, 1, "estimate")
        return decode_estimate(h, server)
    if kind == "result":
        return _decode_result(h, frames, limits, server)
    raise MessageInvalid(ErrorCode.UNKNOWN_TYPE, f"unknown reply type {kind!r}", "type")


def _decode_result(
    h: dict[str, Any], frames: Sequence[FrameLike], limits: Limits, server: str
) -> DreamResult:
    if "image" not in h:
        raise bad("image", "is required")
    desc = check_desc(h["image"], "image", limits, limits.max_pixels)
    _frame_count(frames, 2, "result (header, image)")
    model = require_str(h, "model", "", max_len=MAX_NAME)
    layers = h.get("layers", [])
    if not isinstance(layers, list):
        raise bad("layers", f"must be a list, got {kind_of(layers)}")
    params = get_map(h, "params", "") or {}
    seed = get_int(h, "seed", "", -(2**63), 2**64 - 1, nullable=True)
    timings_in = get_map(h, "timings", "") or {}
    timings = {
        str(k): check_float(v, path("timings", k), -1e300, 1e300) for k, v in timings_in.items()
    }
    notes = h.get("notes") or []
    if not isinstance(notes, list) or not all(isinstance(n, str) for n in notes):
        raise bad("notes", "must be a list of strings")
    image = check_frame(desc, frames[1], "image", limits)
    return DreamResult(h["id"], image, model, layers, params, seed, timings, notes, server=server)
