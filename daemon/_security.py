"""CurveZMQ for binds that other machines can reach.

Layout of a key folder (``dreamd keygen``, default ``$XDG_CONFIG_HOME/dreamd/curve``)::

    server.key            the server's public key: give it to clients
    server.key_secret     the server's secret key (mode 0600)
    authorized_clients/   the allow-list: one client public key (*.key) per file
    clients/NAME.key      client pairs made by ``dreamd keygen --client NAME``
    clients/NAME.key_secret

Rules (see :func:`plan_sockets`): ``ipc://`` and loopback ``tcp://`` endpoints are local
and served without CURVE; any other tcp endpoint requires CURVE (a key folder) unless
the operator passes ``--insecure``, in which case every start logs a warning. With a key
folder, every tcp endpoint uses CURVE.
"""

from __future__ import annotations

import ipaddress
import os
import shutil
import stat
from dataclasses import dataclass, field
from pathlib import Path

import zmq
import zmq.auth
from zmq.auth.thread import ThreadAuthenticator

from ._errors import ConfigError

SERVER_NAME = "server"
ALLOW_DIR = "authorized_clients"
CLIENTS_DIR = "clients"


def default_curve_dir() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
    return Path(base) / "dreamd" / "curve"


def endpoint_host(endpoint: str) -> str | None:
    """The host part of a ``tcp://HOST:PORT`` endpoint (brackets removed), else None."""
    if not endpoint.startswith("tcp://"):
        return None
    rest = endpoint[len("tcp://") :]
    if ";" in rest:  # tcp://source;dest: the destination is what we bind
        rest = rest.split(";", 1)[1]
    host, _, _port = rest.rpartition(":")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    return host


def is_local(endpoint: str) -> bool:
    """True for endpoints only this machine can reach: ipc, inproc, loopback tcp.

    Anything ambiguous (``*``, interface names, host names other than ``localhost``)
    counts as reachable from outside.
    """
    if endpoint.startswith(("ipc://", "inproc://")):
        return True
    host = endpoint_host(endpoint)
    if host is None:
        return False
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@dataclass
class SocketPlan:
    """Which endpoints share a ROUTER socket, and whether that socket uses CURVE."""

    endpoints: list[str]
    curve: bool


@dataclass
class SecurityPlan:
    sockets: list[SocketPlan]
    warnings: list[str] = field(default_factory=list)
    curve_dir: Path | None = None


def plan_sockets(binds: list[str], curve_dir: Path | None, insecure: bool) -> SecurityPlan:
    """Split ``binds`` into a plain socket and a CURVE socket, or refuse.

    Raises:
        ConfigError: a non-local tcp bind without keys and without ``insecure``.
    """
    exposed = [e for e in binds if not is_local(e)]
    warnings: list[str] = []
    if curve_dir is None and exposed:
        if not insecure:
            raise ConfigError(
                f"refusing to bind {', '.join(exposed)} without encryption: other machines "
                "could reach it. Create keys with `dreamd keygen` and pass --curve-dir DIR, "
                "bind a loopback address (tcp://127.0.0.1:PORT), or pass --insecure if this "
                "network is trusted."
            )
        warnings.append(
            f"INSECURE: {', '.join(exposed)} accepts unauthenticated, unencrypted "
            "connections from the network (--insecure)"
        )
    if curve_dir is None:
        return SecurityPlan([SocketPlan(list(binds), curve=False)], warnings)
    plain = [e for e in binds if not e.startswith("tcp://")]
    curved = [e for e in binds if e.startswith("tcp://")]
    sockets = []
    if plain:
        sockets.append(SocketPlan(plain, curve=False))
    if curved:
        sockets.append(SocketPlan(curved, curve=True))
    return SecurityPlan(sockets, warnings, curve_dir)


@dataclass
class ServerKeys:
    public: bytes
    secret: bytes
    allow_dir: Path


def load_server_keys(curve_dir: Path) -> ServerKeys:
    """Read the server key pair and check the allow-list folder.

    Raises:
        ConfigError: missing or unreadable keys, a secret key others can read, no allow-list.
    """
    secret_file = curve_dir / f"{SERVER_NAME}.key_secret"
    allow_dir = curve_dir / ALLOW_DIR
    if not secret_file.is_file():
        raise ConfigError(
            f"no server secret key at {secret_file}. Create one with "
            f"`dreamd keygen --curve-dir {curve_dir}`."
        )
    mode = stat.S_IMODE(secret_file.stat().st_mode)
    if os.name == "posix" and mode & 0o077:
        raise ConfigError(
            f"{secret_file} is readable by other users (mode {mode:04o}); "
            f"fix it with `chmod 600 {secret_file}`."
        )
    if not allow_dir.is_dir():
        raise ConfigError(
            f"no allow-list folder {allow_dir}: create it and put the public keys of the "
            "clients allowed to connect in it (`dreamd keygen --client NAME` does that)."
        )
    try:
        public, secret = zmq.auth.load_certificate(secret_file)
    except (OSError, ValueError) as exc:
        raise ConfigError(f"cannot read {secret_file}: {exc}") from None
    if secret is None:
        raise ConfigError(f"{secret_file} holds no secret key")
    return ServerKeys(public, secret, allow_dir)


def start_authenticator(context: zmq.Context, keys: ServerKeys) -> ThreadAuthenticator:
    """ZAP handler: CURVE clients whose public key is in the allow-list folder get in."""
    auth = ThreadAuthenticator(context)
    auth.start()
    auth.configure_curve(domain="*", location=str(keys.allow_dir))
    return auth


def make_curve_server(sock: zmq.Socket, keys: ServerKeys) -> None:
    sock.curve_secretkey = keys.secret
    sock.curve_publickey = keys.public
    sock.curve_server = True


def _private(path: Path) -> None:
    if os.name == "posix":
        path.chmod(0o600)


@dataclass
class KeygenResult:
    curve_dir: Path
    server_public: Path
    server_secret: Path
    created_server: bool
    clients: list[tuple[Path, Path]]


def keygen(curve_dir: Path, clients: list[str], force: bool = False) -> KeygenResult:
    """Create the server pair (unless it exists) and one pair per client name.

    Secret keys are made mode 0600 (``zmq.auth.create_certificates`` leaves them
    world-readable); each client's public key is added to the allow-list.

    Raises:
        ConfigError: a key to create already exists and ``force`` is false.
    """
    curve_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    (curve_dir / ALLOW_DIR).mkdir(mode=0o700, exist_ok=True)
    server_pub = curve_dir / f"{SERVER_NAME}.key"
    server_sec = curve_dir / f"{SERVER_NAME}.key_secret"
    created = False
    if force or not server_sec.exists():
        pub, sec = zmq.auth.create_certificates(curve_dir, SERVER_NAME)
        _private(Path(sec))
        created = True
    made: list[tuple[Path, Path]] = []
    for name in clients:
        if not name or "/" in name or name.startswith(".") or name == SERVER_NAME:
            raise ConfigError(f"bad client name {name!r}: use letters, digits, - and _")
        cdir = curve_dir / CLIENTS_DIR
        cdir.mkdir(mode=0o700, exist_ok=True)
        if (cdir / f"{name}.key_secret").exists() and not force:
            raise ConfigError(
                f"client key {cdir / name}.key_secret exists; pass --force to replace it"
            )
        pub, sec = zmq.auth.create_certificates(cdir, name)
        _private(Path(sec))
        shutil.copyfile(pub, curve_dir / ALLOW_DIR / f"{name}.key")
        made.append((Path(pub), Path(sec)))
    return KeygenResult(curve_dir, server_pub, server_sec, created, made)
