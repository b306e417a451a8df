"""Logging to stderr: one line per event, one line per job."""

from __future__ import annotations

import logging
import sys

LOGGER_NAME = "dreamd"
log = logging.getLogger(LOGGER_NAME)


def setup(level: str | int = "INFO") -> logging.Logger:
    """Send the daemon's log to stderr as ``time level message`` lines."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        logging.Formatter("%(asctime)s dreamd %(levelname)s %(message)s", "%Y-%m-%dT%H:%M:%S")
    )
    log.handlers[:] = [handler]
    log.setLevel(level if isinstance(level, int) else level.upper())
    log.propagate = False
    return log


def print_error(message: str) -> None:
    """A command's one-line complaint on stderr: ``dreamd: message``."""
    print(f"dreamd: {message}", file=sys.stderr)
