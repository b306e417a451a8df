"""Error codes on the wire and the exception tree of the package.

::

    DreamdError                    base of everything raised on purpose here
    ├── CurveKeyError              key files missing or unreadable (also a ValueError)
    ├── ProtocolError              a message that breaks the protocol
    │   └── MessageInvalid         a message failed validation: code, message, field
    └── ClientError                raised by :class:`~protocol.Client` calls
        ├── Unreachable            nothing answers at the endpoint (also a ConnectionError)
        ├── RequestTimeout         the daemon went silent, or ``Timeout.total`` ran out
        │                          (also a TimeoutError)
        ├── Rejected               the daemon answered ``error``: code, message, field, job
        ├── Cancelled              the job was cancelled (by this client or the daemon)
        └── VersionMismatch        the two sides speak different major versions; says
                                   which side to update

The daemon turns a :class:`MessageInvalid` from :func:`~protocol.decode_request` into an
``error`` reply; the client turns an ``error`` reply into :class:`Rejected` (or
:class:`Cancelled` / :class:`VersionMismatch` for those codes).
"""

from __future__ import annotations

from enum import Enum

from ._version import PROTOCOL_VERSION, format_versions


class ErrorCode(str, Enum):
    """The ``code`` of an ``error`` reply. A ``str`` so it compares equal to the wire text."""

    BAD_MESSAGE = "BAD_MESSAGE"  # not a protocol message at all (framing, msgpack, shape)
    UNSUPPORTED_VERSION = "UNSUPPORTED_VERSION"  # major version not spoken
    UNKNOWN_TYPE = "UNKNOWN_TYPE"  # ``type`` not known for this direction
    UNKNOWN_FIELD = "UNKNOWN_FIELD"  # a field this type does not have
    BAD_VALUE = "BAD_VALUE"  # a field of the wrong type or out of range
    TOO_LARGE = "TOO_LARGE"  # over a limit: frames, header bytes, pixels, encoded bytes
    BAD_IMAGE = "BAD_IMAGE"  # pixel frame does not match its descriptor, or undecodable
    UNKNOWN_LAYER = "UNKNOWN_LAYER"  # the model has no such layer
    UNKNOWN_MODEL = "UNKNOWN_MODEL"  # the daemon has no such model
    UNKNOWN_JOB = "UNKNOWN_JOB"  # cancel for a job that is not queued or running
    BUSY = "BUSY"  # queue full: retry later
    CANCELLED = "CANCELLED"  # the job was cancelled
    OUT_OF_MEMORY = "OUT_OF_MEMORY"  # the device ran out even at the smallest tile
    SHUTTING_DOWN = "SHUTTING_DOWN"  # the daemon is stopping and takes no more work
    INTERNAL = "INTERNAL"  # a bug in the daemon: its log has the details

    def __str__(self) -> str:
        return self.value


def code_of(text: str) -> ErrorCode | str:
    """The :class:`ErrorCode` for ``text``, or ``text`` itself when a newer peer sent a
    code this version does not know (kept, so it can still be shown and compared)."""
    try:
        return ErrorCode(text)
    except ValueError:
        return text


class DreamdError(Exception):
    """Base class of every error this package raises on purpose."""


class CurveKeyError(DreamdError, ValueError):
    """CURVE key files that were not both given, or could not be read as keys."""


class ProtocolError(DreamdError):
    """A message broke the protocol (framing, encoding, shape or values)."""


class MessageInvalid(ProtocolError):
    """A message failed validation.

    ``code`` is the :class:`ErrorCode` to answer with, ``field`` the dotted path of the
    offending field (``"params.jitter"``, ``"image.width"``) or ``None`` when the message
    as a whole is at fault, ``request_id`` the message's ``id`` when it could be read, so
    that the ``error`` reply reaches the right request.
    """

    def __init__(
        self,
        code: ErrorCode,
        message: str,
        field: str | None = None,
        request_id: str | None = None,
    ) -> None:
        self.code = code
        self.message = message
        self.field = field
        self.request_id = request_id
        where = f" (field {field!r})" if field else ""
        super().__init__(f"{code.value}: {message}{where}")


class ClientError(DreamdError):
    """A client call failed; the subclass says how."""


class Unreachable(ClientError, ConnectionError):
    """Nothing answered at the endpoint: the daemon is not running, or refused us."""


class RequestTimeout(ClientError, TimeoutError):
    """The daemon stopped answering for longer than the timeout, after all retries, or
    ``Timeout.total`` ran out."""


# What to tell a person for codes where there is something to do about it.
_HINTS: dict[str, str] = {
    ErrorCode.BUSY: "the daemon's queue is full: try again in a moment",
    ErrorCode.OUT_OF_MEMORY: "try a smaller image, a smaller tile_size or precision 'bf16'",
    ErrorCode.UNKNOWN_MODEL: "`dreamd status` lists the models this daemon has",
    ErrorCode.UNKNOWN_LAYER: "`dreamd status --layers` lists the layers of each model",
    ErrorCode.SHUTTING_DOWN: "the daemon is stopping: start it again with `dreamd serve`",
    ErrorCode.INTERNAL: "this is a bug in dreamd: its log has the details",
    ErrorCode.TOO_LARGE: "the daemon's limits can be raised with its command-line flags",
}


class Rejected(ClientError):
    """The daemon answered with an ``error`` reply: ``code``, ``message``, ``field``, ``job``."""

    def __init__(
        self,
        code: ErrorCode | str,
        message: str,
        field: str | None = None,
        job: str | None = None,
    ) -> None:
        self.code = code
        self.message = message
        self.field = field
        self.job = job
        text = f"dreamd refused the request: {code}: {message}"
        if field:
            text += f" (field {field!r})"
        hint = _HINTS.get(str(code))
        if hint:
            text += f"; {hint}"
        super().__init__(text)


class Cancelled(ClientError):
    """The job was cancelled, by this client or by the daemon; ``job`` is its id."""

    def __init__(self, message: str = "the job was cancelled", job: str | None = None) -> None:
        self.job = job
        super().__init__(message)


class Unsupported(ClientError):
    """The daemon speaks an older minor version that lacks what was asked: update it."""


class VersionMismatch(ClientError):
    """Client and daemon speak different major protocol versions.

    ``client_versions`` and ``server_versions`` are what each side speaks (the daemon's
    may be empty when it did not say); ``update`` is ``"client"`` or ``"daemon"``: the
    side that is older and should be updated.
    """

    def __init__(
        self,
        server_versions: tuple[tuple[int, int], ...],
        client_versions: tuple[tuple[int, int], ...] = (PROTOCOL_VERSION,),
        detail: str = "",
    ) -> None:
        self.server_versions = server_versions
        self.client_versions = client_versions
        newest_server = max((v[0] for v in server_versions), default=None)
        newest_client = max(v[0] for v in client_versions)
        # With no version list from the daemon, it is the one that did not understand us;
        # a daemon that cannot read our major is taken to be the older side.
        self.update = (
            "client" if newest_server is not None and newest_server > newest_client else "daemon"
        )
        server_text = format_versions(server_versions) if server_versions else "another version"
        what = (
            "update this client (the GIMP plug-in or dream-batch)"
            if self.update == "client"
            else "update dreamd and restart it"
        )
        text = (
            f"protocol version mismatch: dreamd speaks {server_text}, this client speaks "
            f"{format_versions(client_versions)}: {what}"
        )
        if detail:
            text += f" ({detail})"
        super().__init__(text)
