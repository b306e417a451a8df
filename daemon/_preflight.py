"""Start-up checks that need no model (and no torch): endpoints, security, the lock.

``dreamd serve`` runs these first, so a refused start (endpoint taken, unencrypted public
bind, missing keys) is reported at once instead of after loading the model.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from dreamd import protocol

from . import _security
from ._errors import ConfigError
from ._lock import EndpointLock, default_lock_dir
from ._log import log


@dataclass
class Preflight:
    """What passed the checks: the socket plan, the server keys, the held lock."""

    plan: _security.SecurityPlan
    keys: _security.ServerKeys | None
    lock: EndpointLock


def preflight(
    binds: list[str], curve_dir: Path | None, insecure: bool, lock_dir: Path | None = None
) -> Preflight:
    """Check the endpoints and security settings, then lock the endpoints.

    Raises:
        ConfigError: the message says what is wrong and how to fix it.
    """
    for endpoint in binds:
        try:
            protocol.check_endpoint(endpoint)
        except ValueError as exc:
            raise ConfigError(f"--bind {exc}") from None
    plan = _security.plan_sockets(binds, curve_dir, insecure)
    keys = _security.load_server_keys(curve_dir) if curve_dir else None
    for warning in plan.warnings:
        log.warning("%s", warning)
    for endpoint in binds:
        try:
            protocol.ensure_socket_dir(endpoint)
        except (PermissionError, ValueError) as exc:
            raise ConfigError(str(exc)) from None
    lock = EndpointLock(binds, lock_dir or default_lock_dir())
    lock.acquire()
    return Preflight(plan, keys, lock)
