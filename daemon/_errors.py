"""The daemon's errors, and how every failure maps to a protocol error code.

Job failures never escape a worker: :func:`classify` turns any exception into a
``(code, message, field)`` triple for an ``error`` reply, the code a
:class:`protocol.ErrorCode`. Start-up problems are :class:`ConfigError`, which the CLI
prints and turns into an exit status.
"""

from __future__ import annotations

import enum

from dreamd.protocol import FRAME_IMAGES, ErrorCode


class ExitCode(enum.IntEnum):
    """Exit statuses of the ``dreamd`` command."""

    OK = 0
    FAILED = 1  # the request was made but failed (error reply, bad weights file, …)
    USAGE = 2  # bad command line (argparse uses 2 as well)
    UNREACHABLE = 3  # no daemon answered at the endpoint
    CONFIG = 4  # serve refused to start: endpoint locked, insecure bind, bad keys, …
    UNAVAILABLE = 5  # an optional component (weights, GIMP installer) is missing


class DaemonError(Exception):
    """Base of the daemon's own errors."""

    exit_code: ExitCode = ExitCode.FAILED


class ConfigError(DaemonError):
    """The daemon cannot start with this configuration; the message says how to fix it."""

    exit_code = ExitCode.CONFIG


class JobError(DaemonError):
    """A request the daemon refuses or a job that failed, with its protocol error code."""

    def __init__(
        self, code: ErrorCode, message: str, field: str | None = None, job: str | None = None
    ) -> None:
        self.code = code
        self.field = field
        self.job = job
        super().__init__(message)


def classify(exc: BaseException) -> tuple[ErrorCode, str, str | None]:
    """``(code, human message, offending field or None)`` for any exception."""
    from dreamd import engine  # here: the client commands need none of the engine

    if isinstance(exc, JobError):
        return exc.code, str(exc), exc.field
    if isinstance(exc, engine.Cancelled):
        return ErrorCode.CANCELLED, "the job was cancelled", None
    if isinstance(exc, engine.OutOfMemory):
        return ErrorCode.OUT_OF_MEMORY, str(exc), None
    if isinstance(exc, engine.UnknownLayer):
        return ErrorCode.UNKNOWN_LAYER, str(exc), f"params.{exc.field}"
    if isinstance(exc, engine.InvalidParams):
        # a styled video frame's pictures are request fields of their own, not params
        fld = exc.field if exc.field in FRAME_IMAGES else f"params.{exc.field}"
        return ErrorCode.BAD_VALUE, str(exc), fld
    if isinstance(exc, engine.InvalidImage):
        return ErrorCode.BAD_IMAGE, str(exc), "image"
    if isinstance(exc, MemoryError):
        return ErrorCode.OUT_OF_MEMORY, "the daemon ran out of host memory for this job", None
    return ErrorCode.INTERNAL, f"internal error: {type(exc).__name__}: {exc}", None
