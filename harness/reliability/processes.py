"""The daemons scenarios run: started and stopped, their memory, descriptors and threads."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..daemon import Daemon, free_port, start_daemon, wait_status


@dataclass(frozen=True)
class ProcStats:
    rss: int  # bytes
    fds: int
    threads: int

    @property
    def rss_mb(self) -> float:
        return self.rss / 2**20


def proc_stats(pid: int) -> ProcStats:
    """Resident memory, open file descriptors and threads of a process (Linux /proc)."""
    status = Path(f"/proc/{pid}/status").read_text()
    match = re.search(r"^VmRSS:\s+(\d+) kB", status, re.M)
    rss = int(match.group(1)) * 1024 if match else 0
    return ProcStats(rss, len(os.listdir(f"/proc/{pid}/fd")), len(os.listdir(f"/proc/{pid}/task")))


def settled_stats(daemon: Daemon, fds_at_most: int | None = None, wait: float = 3.0) -> ProcStats:
    """The daemon's numbers once it is idle and connections it no longer has are closed
    (ZeroMQ closes a departed peer's descriptor in the background)."""
    wait_status(daemon, lambda s: not s["running"] and s["queue"] == 0, what="an idle daemon")
    deadline = time.monotonic() + wait
    while True:
        time.sleep(0.2)
        stats = proc_stats(daemon.proc.pid)
        if fds_at_most is None or stats.fds <= fds_at_most or time.monotonic() > deadline:
            return stats


@contextlib.contextmanager
def running_daemon(
    work: Path, *, tcp: bool = False, extra: Sequence[str] = (), exits: list[int] | None = None
) -> Iterator[Daemon]:
    """A ``dreamd serve`` (efficientnet-lite0, CPU) on ``ipc://WORK/run/dreamd/dreamd.sock``
    (plus a loopback tcp port with ``tcp``), stopped with SIGTERM at the end; its exit
    status is appended to ``exits``."""
    binds = [f"ipc://{work}/run/dreamd/dreamd.sock"]
    if tcp:
        binds.append(f"tcp://127.0.0.1:{free_port()}")
    daemon = start_daemon(work, binds, list(extra))
    try:
        yield daemon
    finally:
        stop_daemon(daemon, exits)


def stop_daemon(daemon: Daemon, exits: list[int] | None = None) -> None:
    if daemon.proc.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.kill(daemon.proc.pid, signal.SIGCONT)  # in case a test left it stopped
    try:
        code = daemon.terminate()
    except AssertionError:
        code = -9
    if exits is not None:
        exits.append(code)


def short_dir(prefix: str) -> Path:
    """A fresh folder with a short path (ipc socket paths are limited to ~100 bytes)."""
    return Path(tempfile.mkdtemp(prefix=f"drel-{prefix}-"))


def status_of(daemon: Daemon) -> dict[str, Any]:
    with daemon.client() as c:
        return c.status()
