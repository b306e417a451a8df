"""One daemon per endpoint: an advisory lock file held for the daemon's lifetime.

ZeroMQ lets a second process bind the same ``ipc://`` path and silently steal new
connections from the first. A lock file (``fcntl.flock``) next to the socket stops that:
the second daemon finds the lock held and refuses, naming the pid that holds it.

The file holds one JSON line: ``{"pid": ..., "endpoints": [...], "started": ...}``, which
``dreamd stop`` reads to find the process to signal.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from ._errors import ConfigError

if sys.platform == "win32":  # pragma: no cover - exercised on Windows only
    import msvcrt

    def _try_lock(fh: IO[str]) -> bool:
        try:
            msvcrt.locking(fh.fileno(), msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True

else:
    import fcntl

    def _try_lock(fh: IO[str]) -> bool:
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True


def default_lock_dir() -> Path:
    """Where locks of non-ipc endpoints live: the default socket's private folder."""
    from dreamd import protocol

    sock = protocol.ipc_path(protocol.default_endpoint())
    if sock is not None:
        return sock.parent
    return Path(tempfile.gettempdir()) / "dreamd"


def ipc_path(endpoint: str) -> Path | None:
    """The filesystem path of an ``ipc://`` endpoint (None for abstract or non-ipc)."""
    if not endpoint.startswith("ipc://"):
        return None
    rest = endpoint[len("ipc://") :]
    if not rest or rest.startswith("@"):
        return None
    return Path(rest)


def lock_path(endpoint: str, lock_dir: Path) -> Path:
    """Where the lock for ``endpoint`` lives.

    ``ipc://DIR/NAME`` → ``DIR/NAME.lock`` (next to the socket); anything else (tcp,
    abstract ipc) → ``lock_dir/<sanitised endpoint>.lock``.
    """
    path = ipc_path(endpoint)
    if path is not None:
        return path.with_name(path.name + ".lock")
    safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", endpoint).strip("_")
    return lock_dir / f"{safe}.lock"


@dataclass
class LockInfo:
    """What a lock file says about the daemon holding it."""

    pid: int
    endpoints: list[str]
    started: float

    @classmethod
    def read(cls, path: Path) -> LockInfo | None:
        try:
            data: Any = json.loads(path.read_text(encoding="utf-8") or "null")
        except (OSError, ValueError):
            return None
        if not isinstance(data, dict) or not isinstance(data.get("pid"), int):
            return None
        eps = data.get("endpoints")
        return cls(
            pid=data["pid"],
            endpoints=[str(e) for e in eps] if isinstance(eps, list) else [],
            started=float(data.get("started") or 0.0),
        )


def is_held(path: Path) -> bool:
    """True when some process holds the lock at ``path`` right now."""
    try:
        fh = path.open("a+", encoding="utf-8")
    except OSError:
        return False
    with fh:  # closing the file releases the probe's own lock
        return not _try_lock(fh)


class EndpointLock:
    """Exclusive locks for a set of endpoints, released (and the files removed) on close."""

    def __init__(self, endpoints: list[str], lock_dir: Path) -> None:
        self.endpoints = list(endpoints)
        self.lock_dir = lock_dir
        self.paths = list(dict.fromkeys(lock_path(e, lock_dir) for e in self.endpoints))
        self._held: list[tuple[Path, IO[str]]] = []

    def acquire(self) -> None:
        """Take every lock or none.

        Raises:
            ConfigError: another daemon holds one; the message names its pid.
        """
        info = json.dumps({"pid": os.getpid(), "endpoints": self.endpoints, "started": time.time()})
        try:
            for path in self.paths:
                fh = self._lock_one(path)
                fh.seek(0)
                fh.truncate()
                fh.write(info + "\n")
                fh.flush()
                self._held.append((path, fh))
        except BaseException:
            self.release()
            raise

    def _lock_one(self, path: Path) -> IO[str]:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        for _ in range(20):
            fh = path.open("a+", encoding="utf-8")
            if not _try_lock(fh):
                fh.close()
                other = LockInfo.read(path)
                who = f"pid {other.pid}" if other else "another process"
                raise ConfigError(
                    f"another dreamd ({who}) is already serving {self._endpoint_of(path)} "
                    f"(lock file {path}). Stop it first (`dreamd stop`), or bind another "
                    "endpoint with --bind."
                )
            # The holder may have removed the file between our open and our lock: then
            # we locked an orphan inode. Retry until the lock is on the file at ``path``.
            try:
                same = os.stat(path).st_ino == os.fstat(fh.fileno()).st_ino
            except FileNotFoundError:
                same = False
            if same:
                return fh
            fh.close()
        raise ConfigError(f"could not take the lock file {path}: it keeps changing")

    def _endpoint_of(self, path: Path) -> str:
        for e in self.endpoints:
            if lock_path(e, self.lock_dir) == path:
                return e
        return str(path)

    def release(self) -> None:
        """Remove the lock files and release the locks (idempotent)."""
        while self._held:
            path, fh = self._held.pop()
            with contextlib.suppress(OSError):
                path.unlink()
            with contextlib.suppress(OSError):
                fh.close()

    def __enter__(self) -> EndpointLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()
