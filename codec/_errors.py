"""The codec's exception tree.

CodecError
├── UnreadableImage   the bytes cannot be decoded: missing, empty, truncated, corrupt, not an
│                     image, or a layout nothing installed can read (the message says what to do)
├── ImageTooLarge     refused before any pixel was decoded: over the pixel limit, not enough memory
└── WriteFailed       nothing was written: disk full, permissions, a bad destination
"""

from __future__ import annotations

from pathlib import Path


class CodecError(Exception):
    """Base of every error the codec raises on purpose.

    ``reason`` says what is wrong in words for the user; ``source`` is the file's path, or
    None when the image came as bytes.
    """

    def __init__(self, reason: str, source: str | Path | None = None) -> None:
        self.reason = reason
        self.source = Path(source) if source is not None else None
        super().__init__(f"{source}: {reason}" if source is not None else reason)


class UnreadableImage(CodecError):
    """The image cannot be decoded."""


class ImageTooLarge(CodecError):
    """The image was refused before decoding: too many pixels, or not enough memory."""


class WriteFailed(CodecError):
    """Nothing was written (an existing file at the destination is untouched). ``errno`` is
    the operating system's error number when there was one (``ENOSPC``: the disk is full)."""

    def __init__(self, reason: str, source: str | Path | None = None, errno: int | None = None):
        super().__init__(reason, source)
        self.errno = errno
