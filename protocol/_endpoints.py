"""Where the daemon listens: defaults per platform, the environment override, and the
private directory for an ``ipc://`` socket."""

from __future__ import annotations

import ipaddress
import os
import stat
import sys
import tempfile
from pathlib import Path
from urllib.parse import urlsplit

#: Environment variable that overrides the default endpoint for daemon and clients alike.
ENDPOINT_ENV = "DREAMD_ENDPOINT"
#: TCP port of the default endpoint where there are no ``ipc://`` sockets (Windows).
DEFAULT_PORT = 5599

_SOCKET_NAME = "dreamd.sock"
# sun_path is 108 bytes on Linux (104 on macOS) including the terminating NUL.
_MAX_IPC_PATH = 103


def default_endpoint() -> str:
    """The platform default: ``ipc://$XDG_RUNTIME_DIR/dreamd/dreamd.sock``; without
    ``XDG_RUNTIME_DIR``, ``ipc://<tmp>/dreamd-<uid>/dreamd.sock``; on Windows
    ``tcp://127.0.0.1:5599``."""
    if sys.platform == "win32":
        return f"tcp://127.0.0.1:{DEFAULT_PORT}"
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    if runtime and os.path.isabs(runtime):
        directory = Path(runtime) / "dreamd"
    else:
        # A per-user name, because /tmp is shared; ensure_socket_dir checks ownership.
        directory = Path(tempfile.gettempdir()) / f"dreamd-{os.getuid()}"
    return f"ipc://{directory / _SOCKET_NAME}"


def resolve_endpoint(explicit: str | None = None) -> str:
    """The endpoint to use: ``explicit`` if given, else ``$DREAMD_ENDPOINT``, else
    :func:`default_endpoint`. Raises ``ValueError`` for a malformed endpoint."""
    endpoint = explicit or os.environ.get(ENDPOINT_ENV) or default_endpoint()
    check_endpoint(endpoint)
    return endpoint


def check_endpoint(endpoint: str) -> None:
    """Raise ``ValueError`` unless ``endpoint`` is ``ipc://PATH`` or ``tcp://HOST:PORT``."""
    if endpoint.startswith("ipc://"):
        if not endpoint[6:]:
            raise ValueError(f"{endpoint!r}: ipc:// needs a socket path")
        return
    if endpoint.startswith("tcp://"):
        host, port = _tcp_parts(endpoint)
        if not host or port is None:
            raise ValueError(f"{endpoint!r}: expected tcp://HOST:PORT")
        return
    raise ValueError(f"{endpoint!r}: expected ipc://PATH or tcp://HOST:PORT")


def _tcp_parts(endpoint: str) -> tuple[str, int | None]:
    parts = urlsplit(endpoint)
    try:
        port = parts.port
    except ValueError:
        port = None
    # urlsplit drops the brackets of [::1]; "*" (bind to all) survives as the hostname.
    host = parts.hostname or ("*" if parts.netloc.startswith("*") else "")
    return host, port


def ipc_path(endpoint: str) -> Path | None:
    """The socket file of an ``ipc://`` endpoint, else ``None``."""
    return Path(endpoint[6:]) if endpoint.startswith("ipc://") else None


def is_loopback(endpoint: str) -> bool:
    """Whether only this machine can reach ``endpoint``: ``ipc://`` and ``inproc://``,
    or ``tcp://`` on 127.0.0.0/8, ``::1`` or ``localhost``. Binding anywhere else needs
    CURVE keys (or an explicit ``--insecure``)."""
    if endpoint.startswith(("ipc://", "inproc://")):
        return True
    if not endpoint.startswith("tcp://"):
        return False
    host, _ = _tcp_parts(endpoint)
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        # "*", an interface name or any other host name may be reachable from outside.
        return False


def ensure_socket_dir(endpoint: str) -> Path | None:
    """Create the private (0700) directory of an ``ipc://`` endpoint and return the socket
    path; ``None`` for other endpoints.

    An existing directory must belong to this user, or someone else could be listening
    there or reading our socket; a group/world-accessible one of ours is tightened to 0700.
    Raises ``PermissionError`` for a directory owned by someone else and ``ValueError``
    for a path too long for a Unix socket.
    """
    sock = ipc_path(endpoint)
    if sock is None:
        return None
    if len(os.fsencode(sock)) > _MAX_IPC_PATH:
        raise ValueError(
            f"socket path {str(sock)!r} is longer than the {_MAX_IPC_PATH} bytes a Unix "
            f"socket allows: choose a shorter one with ${ENDPOINT_ENV}"
        )
    directory = sock.parent
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    info = directory.lstat()
    if stat.S_ISLNK(info.st_mode) or not stat.S_ISDIR(info.st_mode):
        raise PermissionError(f"{directory} is not a plain directory; refusing to use it")
    if hasattr(os, "getuid") and info.st_uid != os.getuid():
        raise PermissionError(
            f"{directory} belongs to another user (uid {info.st_uid}); refusing to put the "
            f"socket there: remove it, or choose another endpoint with ${ENDPOINT_ENV}"
        )
    if stat.S_IMODE(info.st_mode) & 0o077:
        directory.chmod(0o700)
    return sock
