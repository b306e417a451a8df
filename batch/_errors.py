"""dream-batch's exception tree.

BatchError
├── UsageError          bad flags, missing source, nothing sensible to do  → exit 2
├── ImageError          one file cannot be used; the batch goes on        → exit 1 at the end
│   ├── UnreadableImage     missing, empty, corrupt, not an image, unsupported mode
│   ├── ImageTooLarge       decompression bomb or absurd size: refused, not attempted
│   └── WriteFailed         the output could not be written (disk full, permissions)
├── DreamFailed         the engine or the daemon refused or failed this image
├── RunnerLost          a daemon went away and did not come back (its jobs go elsewhere)
└── Interrupted         Ctrl-C / SIGTERM, or a dream cancelled because of it
"""

from __future__ import annotations

from pathlib import Path


class BatchError(Exception):
    """Base class of every error dream-batch raises on purpose."""


class UsageError(BatchError):
    """The command line asks for something impossible; nothing was processed."""


class ImageError(BatchError):
    """One image cannot be used; ``path`` names it and the message says why."""

    def __init__(self, path: str | Path, reason: str) -> None:
        self.path = Path(path)
        self.reason = reason
        super().__init__(f"{path}: {reason}")


class UnreadableImage(ImageError):
    """Missing, empty, truncated, corrupt, not an image, or a mode we cannot convert."""


class ImageTooLarge(ImageError):
    """A decompression bomb or an absurd size: refused before decoding."""


class WriteFailed(ImageError):
    """The output could not be written; nothing was left behind. ``errno`` is the
    operating system's error number when there was one (``ENOSPC``: the disk is full)."""

    def __init__(self, path: str | Path, reason: str, errno: int | None = None) -> None:
        super().__init__(path, reason)
        self.errno = errno


class DreamFailed(BatchError):
    """The engine or the daemon could not dream this image."""


class RunnerLost(BatchError):
    """A daemon stopped answering and did not come back within the retry budget."""


class Interrupted(BatchError):
    """The user asked to stop (Ctrl-C or SIGTERM)."""
