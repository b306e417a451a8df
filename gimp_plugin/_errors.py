"""The installer's one exception."""

from __future__ import annotations


class InstallError(Exception):
    """Installing or uninstalling failed; the message says what to do."""
