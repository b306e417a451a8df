"""dreamd's wire protocol and client library.

Imports only pyzmq, msgpack and the standard library, so that GIMP's own Python can use
it. The protocol itself is specified in ``PROTOCOL.md`` next to this file.

Client side::

    from dreamd.protocol import Client, Image, Timeout

    with Client(timeout=Timeout(connect=5, reply=10)) as client:
        image = Image.raw(pixels, width, height, channels=4)
        result = client.dream(image, {"octave_count": 4}, on_progress=print)
        result.image.data  # the dreamed pixels, in the same form as sent

Daemon side: :func:`decode_request` turns received frames into a :data:`Request`
(or raises :class:`MessageInvalid`), :func:`encode_reply` and :func:`encode_error` build
the answers.
"""

from __future__ import annotations

# dreamd's version (the wire version is PROTOCOL_VERSION). In the GIMP plug-in's vendored copy
# the installer writes it into that copy's ``dreamd/__init__.py``.
from .. import __version__
from ._client import POLL_SLICE, CancelFlag, Client, Job, ProgressCallback
from ._curve import CurveKeys, create_keypair, load_curve_keys
from ._endpoints import (
    DEFAULT_PORT,
    ENDPOINT_ENV,
    check_endpoint,
    default_endpoint,
    ensure_socket_dir,
    ipc_path,
    is_loopback,
    resolve_endpoint,
)
from ._errors import (
    Cancelled,
    ClientError,
    CurveKeyError,
    DreamdError,
    ErrorCode,
    MessageInvalid,
    ProtocolError,
    Rejected,
    RequestTimeout,
    Unreachable,
    Unsupported,
    VersionMismatch,
)
from ._estimate import PREVIEW_VERSION, Estimate, EstimateRequest, Preview
from ._image import DTYPES, ENCODINGS, Dtype, Encoding, Image, ImageDesc
from ._limits import DEFAULT_LIMITS, Limits
from ._messages import (
    FRAME_IMAGES,
    PRIORITIES,
    Accepted,
    CancelRequest,
    DreamRequest,
    DreamResult,
    ErrorReply,
    Frames,
    HelloReply,
    HelloRequest,
    PingRequest,
    Pong,
    Priority,
    Progress,
    Reply,
    Request,
    StatusReply,
    StatusRequest,
    decode_reply,
    decode_request,
    encode_error,
    encode_reply,
    encode_request,
)
from ._params import (
    DREAM_PARAMS,
    PARAM_NAMES,
    STYLE_DEFAULTS,
    STYLE_OPTIMIZERS,
    STYLE_PARAMS,
    STYLE_PARAMS_1_1,
    STYLE_PARAMS_1_2,
    check_params,
)
from ._timeouts import Timeout
from ._version import HEARTBEAT_INTERVAL, PROTOCOL_VERSION, SUPPORTED_VERSIONS

__all__ = [
    "DEFAULT_LIMITS",
    "DEFAULT_PORT",
    "DREAM_PARAMS",
    "DTYPES",
    "ENCODINGS",
    "ENDPOINT_ENV",
    "FRAME_IMAGES",
    "HEARTBEAT_INTERVAL",
    "PARAM_NAMES",
    "POLL_SLICE",
    "PREVIEW_VERSION",
    "PRIORITIES",
    "PROTOCOL_VERSION",
    "STYLE_DEFAULTS",
    "STYLE_OPTIMIZERS",
    "STYLE_PARAMS",
    "STYLE_PARAMS_1_1",
    "STYLE_PARAMS_1_2",
    "SUPPORTED_VERSIONS",
    "Accepted",
    "CancelFlag",
    "CancelRequest",
    "Cancelled",
    "Client",
    "ClientError",
    "CurveKeyError",
    "CurveKeys",
    "DreamRequest",
    "DreamResult",
    "DreamdError",
    "Dtype",
    "Encoding",
    "ErrorCode",
    "ErrorReply",
    "Estimate",
    "EstimateRequest",
    "Frames",
    "HelloReply",
    "HelloRequest",
    "Image",
    "ImageDesc",
    "Job",
    "Limits",
    "MessageInvalid",
    "PingRequest",
    "Pong",
    "Preview",
    "Priority",
    "Progress",
    "ProgressCallback",
    "ProtocolError",
    "Rejected",
    "Reply",
    "Request",
    "RequestTimeout",
    "StatusReply",
    "StatusRequest",
    "Timeout",
    "Unreachable",
    "Unsupported",
    "VersionMismatch",
    "__version__",
    "check_endpoint",
    "check_params",
    "create_keypair",
    "decode_reply",
    "decode_request",
    "default_endpoint",
    "encode_error",
    "encode_reply",
    "encode_request",
    "ensure_socket_dir",
    "ipc_path",
    "is_loopback",
    "load_curve_keys",
    "resolve_endpoint",
]
