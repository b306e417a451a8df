"""A real ``dreamd`` process on real sockets with real weights (efficientnet-lite0, CPU).

The session daemon binds an ipc socket in a temporary folder and a tcp port on
127.0.0.1; tests that need their own daemon (shutdown, CURVE, a second daemon) start one
with :func:`start_daemon`. The helpers live in ``harness.daemon`` (the reliability
scenarios use them too); they are re-exported here for the tests of this folder.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from harness.daemon import (
    LONG,
    QUICK,
    READY_TIMEOUT,
    ROOT,
    Daemon,
    H,
    RawClient,
    W,
    daemon_env,
    dream_frames,
    free_port,
    header,
    make_pixels,
    raw_client,
    raw_image,
    start_daemon,
    wait_status,
)

__all__ = [
    "LONG",
    "QUICK",
    "READY_TIMEOUT",
    "ROOT",
    "Daemon",
    "H",
    "RawClient",
    "W",
    "daemon_env",
    "dream_frames",
    "free_port",
    "header",
    "make_pixels",
    "raw_client",
    "raw_image",
    "start_daemon",
    "wait_status",
]


@pytest.fixture(scope="session")
def daemon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Daemon]:
    """The shared daemon: ipc + tcp 127.0.0.1, small limits so limit tests stay cheap."""
    work = tmp_path_factory.mktemp("dreamd")
    binds = [f"ipc://{work}/run/dreamd/dreamd.sock", f"tcp://127.0.0.1:{free_port()}"]
    d = start_daemon(
        work,
        binds,
        [
            "--max-pixels",
            "250000",
            "--max-encoded-mb",
            "2",
            "--progress-interval",
            "0.05",
            "--max-client-jobs",
            "16",
        ],
    )
    yield d
    code = d.terminate()
    assert code == 0, d.log()
