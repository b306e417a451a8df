"""Real ``dreamd`` processes on real sockets with real weights (efficientnet-lite0, CPU),
tiny test pictures, and a bare DEALER for messages the client library would never send.

Used by ``tests/daemon`` (its session daemon and the tests that start their own) and by the
reliability scenarios. Images are tiny and dreams short (2 octaves × 2 steps), so whole
test folders run on two shared CPU cores.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import msgpack
import numpy as np
import zmq

from dreamd import protocol

ROOT = Path(__file__).resolve().parents[1]
READY_TIMEOUT = 120.0

#: Parameters of a cheap dream: every test job uses these unless it needs a long one.
QUICK = {"octave_count": 2, "steps_per_octave": 2}
#: A job that runs for many seconds unless cancelled.
LONG = {"octave_count": 1, "steps_per_octave": 2000}
W, H = 64, 48


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def daemon_env(runtime: Path, **extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        DREAMD_OFFLINE="1",
        XDG_RUNTIME_DIR=str(runtime),
        PYTHONPATH=os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")]).rstrip(os.pathsep),
        PYTHONUNBUFFERED="1",
    )
    env.pop("DREAMD_ENDPOINT", None)
    env.update(extra)
    return env


@dataclass
class Daemon:
    """A ``dreamd serve`` subprocess; its stderr goes to ``log_path``."""

    proc: subprocess.Popen[bytes]
    log_path: Path
    binds: list[str]
    runtime: Path
    args: list[str] = field(default_factory=list)

    @property
    def endpoint(self) -> str:
        return self.binds[0]

    @property
    def tcp(self) -> str:
        return next(b for b in self.binds if b.startswith("tcp://"))

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def wait_ready(self, timeout: float = READY_TIMEOUT) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            text = self.log()
            if " ready: " in text:
                return
            if self.proc.poll() is not None:
                raise AssertionError(f"dreamd exited with {self.proc.returncode}:\n{text}")
            time.sleep(0.05)
        raise AssertionError(f"dreamd not ready after {timeout} s:\n{self.log()}")

    def wait_log(self, text: str, timeout: float = 30.0) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            log = self.log()
            if text in log:
                return log
            time.sleep(0.05)
        raise AssertionError(f"{text!r} not in the daemon's log after {timeout} s:\n{self.log()}")

    def terminate(self, timeout: float = 60.0) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError(f"dreamd ignored SIGTERM:\n{self.log()}") from None

    def client(self, **kw: Any) -> protocol.Client:
        kw.setdefault("timeout", protocol.Timeout(connect=20, reply=30))
        return protocol.Client(self.endpoint, **kw)


def start_daemon(
    workdir: Path,
    binds: Sequence[str] | None = None,
    extra: Sequence[str] = (),
    wait: bool = True,
    env: dict[str, str] | None = None,
) -> Daemon:
    """Start ``python -m dreamd.daemon serve`` with efficientnet-lite0 on the CPU."""
    workdir.mkdir(parents=True, exist_ok=True)
    runtime = workdir / "run"
    runtime.mkdir(mode=0o700, exist_ok=True)
    binds = list(binds or [f"ipc://{runtime}/dreamd/dreamd.sock"])
    args = [sys.executable, "-m", "dreamd.daemon", "serve", "--model", "efficientnet-lite0"]
    args += ["--device", "cpu"]
    for b in binds:
        args += ["--bind", b]
    args += list(extra)
    log_path = workdir / f"dreamd-{uuid.uuid4().hex[:6]}.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            args,
            stdout=subprocess.DEVNULL,
            stderr=log,
            env=env or daemon_env(runtime),
            cwd=workdir,
        )
    daemon = Daemon(proc, log_path, binds, runtime, args)
    if wait:
        daemon.wait_ready()
    return daemon


# --------------------------------------------------------------------------- images


def make_pixels(
    width: int = W, height: int = H, channels: int = 3, dtype: str = "u8", seed: int = 0
) -> np.ndarray:
    """A smooth test picture with some texture, in the wire dtype."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    planes = [0.5 + 0.5 * np.sin(x / (5 + 3 * c) + y / (7 + 2 * c) + seed) for c in range(channels)]
    img = np.clip(np.stack(planes, axis=2) + rng.normal(0, 0.05, (height, width, channels)), 0, 1)
    if dtype == "u8":
        return np.rint(img * 255).astype(np.uint8)
    if dtype == "u16":
        return np.rint(img * 65535).astype("<u2")
    return img.astype("<f4")


def raw_image(pixels: np.ndarray) -> protocol.Image:
    h, w, c = pixels.shape
    dtype = {np.dtype(np.uint8): "u8", np.dtype("<u2"): "u16", np.dtype("<f4"): "f32"}[pixels.dtype]
    return protocol.Image.raw(np.ascontiguousarray(pixels), w, h, c, dtype)  # type: ignore[arg-type]


# ------------------------------------------------------------------ raw socket helpers


class RawClient:
    """A bare DEALER, for messages the client library would never send."""

    def __init__(self, endpoint: str, ctx: zmq.Context[Any] | None = None) -> None:
        self.ctx = ctx or zmq.Context.instance()
        self.sock = self.ctx.socket(zmq.DEALER)
        self.sock.linger = 0
        self.sock.connect(endpoint)

    def send(self, frames: Sequence[bytes | memoryview]) -> None:
        self.sock.send_multipart(list(frames))

    def recv(self, timeout: float = 30.0) -> tuple[dict[str, Any], list[bytes]] | None:
        if not self.sock.poll(int(timeout * 1000)):
            return None
        frames = self.sock.recv_multipart()
        return msgpack.unpackb(frames[0], raw=False), frames[1:]

    def recv_until(
        self, types: set[str], timeout: float = 60.0, request_id: str | None = None
    ) -> tuple[dict[str, Any], list[bytes]]:
        """Skip progress/accepted (or other ids) until a message of one of ``types``."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            got = self.recv(max(0.01, deadline - time.monotonic()))
            if got is None:
                break
            header, frames = got
            if header.get("type") in types and (request_id is None or header["id"] == request_id):
                return header, frames
        raise AssertionError(f"no {types} reply within {timeout} s")

    def request(
        self, frames: Sequence[bytes | memoryview], timeout: float = 30.0
    ) -> dict[str, Any]:
        self.send(frames)
        got = self.recv(timeout)
        assert got is not None, "the daemon did not answer"
        return got[0]

    def close(self) -> None:
        self.sock.close(0)


def header(type_: str, id_: str | None = None, **fields: Any) -> bytes:
    return msgpack.packb(
        {"v": [1, 0], "type": type_, "id": id_ or uuid.uuid4().hex, **fields}, use_bin_type=True
    )


def dream_frames(
    pixels: np.ndarray, params: dict[str, Any] | None = None, id_: str | None = None, **extra: Any
) -> list[bytes]:
    h, w, c = pixels.shape
    dtype = {1: "u8", 2: "u16", 4: "f32"}[pixels.dtype.itemsize]
    desc = {"width": w, "height": h, "channels": c, "dtype": dtype, "encoding": "raw"}
    fields: dict[str, Any] = {"image": desc, "params": params or dict(QUICK)}
    fields.update(extra)
    return [header("dream", id_, **fields), pixels.tobytes()]


@contextlib.contextmanager
def raw_client(endpoint: str) -> Iterator[RawClient]:
    c = RawClient(endpoint)
    try:
        yield c
    finally:
        c.close()


def wait_status(
    daemon: Daemon, predicate: Any, timeout: float = 30.0, what: str = "condition"
) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    with daemon.client() as c:
        while True:
            st = c.status()
            if predicate(st):
                return st
            if time.monotonic() > deadline:
                raise AssertionError(f"{what} not reached: {st}")
            time.sleep(0.05)
