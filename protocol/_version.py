"""Protocol version numbers.

The major number changes when a message that an older peer understands changes meaning
or shape; the minor number when optional fields or message types are added. A daemon
accepts every minor of a major it speaks, a client ignores reply fields it does not know.
"""

from __future__ import annotations

#: The version this package writes into every header's ``v``.
PROTOCOL_VERSION: tuple[int, int] = (1, 2)

#: Every version this package can read (one entry per major: the highest minor known).
SUPPORTED_VERSIONS: tuple[tuple[int, int], ...] = (PROTOCOL_VERSION,)

#: The daemon sends ``progress`` for a running job at least this often (seconds), so any
#: traffic counts as a heartbeat and a client can tell a busy daemon from a dead one.
HEARTBEAT_INTERVAL: float = 2.0


def format_versions(versions: tuple[tuple[int, int], ...] = SUPPORTED_VERSIONS) -> str:
    """``"1.0"`` or ``"1.0, 2.1"``: versions as people read them."""
    return ", ".join(f"{major}.{minor}" for major, minor in versions)
