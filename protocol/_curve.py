"""CurveZMQ keys for a client that talks to a daemon on a non-loopback address."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import zmq
import zmq.auth

from ._errors import CurveKeyError

_Z85_KEY_LENGTH = 40  # a 32-byte key in Z85 text


def _z85(value: bytes | str, what: str) -> bytes:
    key = value.encode("ascii") if isinstance(value, str) else bytes(value)
    if len(key) != _Z85_KEY_LENGTH:
        raise ValueError(f"{what} must be a {_Z85_KEY_LENGTH}-character Z85 key")
    return key


@dataclass(frozen=True)
class CurveKeys:
    """The daemon's public key and this client's key pair, all Z85 text.

    Build from files with :meth:`from_files` (``zmq.auth`` certificate files).
    """

    server_public: bytes
    client_public: bytes
    client_secret: bytes = field(repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "server_public", _z85(self.server_public, "server_public"))
        object.__setattr__(self, "client_public", _z85(self.client_public, "client_public"))
        object.__setattr__(self, "client_secret", _z85(self.client_secret, "client_secret"))

    @classmethod
    def from_files(
        cls, server_public: str | os.PathLike[str], client_secret: str | os.PathLike[str]
    ) -> CurveKeys:
        """Load the daemon's ``.key`` (public) file and this client's ``.key_secret`` file
        (which holds both halves of its pair)."""
        server, _ = zmq.auth.load_certificate(os.fspath(server_public))
        public, secret = zmq.auth.load_certificate(os.fspath(client_secret))
        if secret is None:
            raise ValueError(f"{client_secret} holds no secret key: pass the .key_secret file")
        return cls(server, public, secret)

    def apply(self, socket: zmq.Socket[bytes]) -> None:
        """Set the client-side CURVE options on ``socket`` (before it connects)."""
        if not zmq.has("curve"):
            raise RuntimeError("this libzmq was built without CURVE support")
        socket.curve_serverkey = self.server_public
        socket.curve_publickey = self.client_public
        socket.curve_secretkey = self.client_secret


def load_curve_keys(
    server_public: str | os.PathLike[str] | None, client_secret: str | os.PathLike[str] | None
) -> CurveKeys | None:
    """The keys a client command was given (``--server-key FILE --client-key FILE``):
    ``None`` when neither file is named, for a connection without CURVE.

    Raises:
        CurveKeyError: only one of the two is named, or a file cannot be read as a key.
    """
    if server_public is None and client_secret is None:
        return None
    if server_public is None or client_secret is None:
        raise CurveKeyError(
            "CURVE needs both the daemon's public key (--server-key) and this client's "
            ".key_secret file (--client-key)"
        )
    try:
        return CurveKeys.from_files(server_public, client_secret)
    except (OSError, ValueError) as exc:
        raise CurveKeyError(f"cannot read the CURVE keys: {exc}") from None


def create_keypair(directory: str | os.PathLike[str], name: str) -> tuple[Path, Path]:
    """Write ``NAME.key`` and ``NAME.key_secret`` into ``directory`` (created 0700) and
    return their paths. Unlike ``zmq.auth.create_certificates`` alone, the secret file is
    made readable by its owner only."""
    where = Path(directory)
    where.mkdir(mode=0o700, parents=True, exist_ok=True)
    public, secret = zmq.auth.create_certificates(os.fspath(where), name)
    os.chmod(secret, 0o600)
    return Path(public), Path(secret)
