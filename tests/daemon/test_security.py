"""CurveZMQ: keys from ``dreamd keygen``, an allow-list, and what happens to strangers."""

from __future__ import annotations

import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import zmq.auth

from dreamd import protocol

from .conftest import (
    QUICK,
    ROOT,
    Daemon,
    daemon_env,
    free_port,
    make_pixels,
    raw_image,
    start_daemon,
)

#: The dreamd command, run from this checkout.
DREAMD_CMD = [sys.executable, "-m", "dreamd.daemon"]


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> Path:
    curve = tmp_path_factory.mktemp("curve")
    proc = subprocess.run(
        [*DREAMD_CMD, "keygen", "--curve-dir", str(curve), "--client", "alice"],
        capture_output=True,
        text=True,
        env=daemon_env(curve),
        cwd=ROOT,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    return curve


@pytest.fixture(scope="module")
def curve_daemon(tmp_path_factory: pytest.TempPathFactory, keys: Path) -> Iterator[Daemon]:
    work = tmp_path_factory.mktemp("curved")
    binds = [f"ipc://{work}/run/d/dreamd.sock", f"tcp://127.0.0.1:{free_port()}"]
    d = start_daemon(work, binds, ["--curve-dir", str(keys)])
    yield d
    assert d.terminate() == 0, d.log()


def _timeout() -> protocol.Timeout:
    return protocol.Timeout(connect=3, reply=10)


def test_keygen_makes_private_secret_keys_and_an_allow_list(keys: Path) -> None:
    for secret in (keys / "server.key_secret", keys / "clients" / "alice.key_secret"):
        assert stat.S_IMODE(secret.stat().st_mode) == 0o600
    assert (keys / "authorized_clients" / "alice.key").is_file()
    public, _ = zmq.auth.load_certificate(keys / "clients" / "alice.key")
    allowed, _ = zmq.auth.load_certificate(keys / "authorized_clients" / "alice.key")
    assert public == allowed


def test_authorised_client_is_served(curve_daemon: Daemon, keys: Path) -> None:
    curve = protocol.CurveKeys.from_files(
        keys / "server.key", keys / "clients" / "alice.key_secret"
    )
    with protocol.Client(curve_daemon.tcp, curve=curve, timeout=_timeout()) as c:
        assert c.status()["curve"] == [curve_daemon.tcp]
        result = c.dream(raw_image(make_pixels(seed=2)), {**QUICK, "seed": 2})
    assert result.image.nbytes == 64 * 48 * 3


def test_unauthorised_client_is_rejected(curve_daemon: Daemon, keys: Path, tmp_path: Path) -> None:
    _, secret = protocol.create_keypair(tmp_path, "mallory")
    curve = protocol.CurveKeys.from_files(keys / "server.key", secret)
    with (
        protocol.Client(curve_daemon.tcp, curve=curve, timeout=_timeout(), retries=0) as c,
        pytest.raises(protocol.Unreachable, match=r"allow-list|CURVE"),
    ):
        c.status()
    # No keys at all: the CURVE socket does not talk to it either.
    with (
        protocol.Client(curve_daemon.tcp, timeout=_timeout(), retries=0) as c,
        pytest.raises((protocol.Unreachable, protocol.RequestTimeout)),
    ):
        c.status()


def test_local_ipc_needs_no_keys_and_cli_passes_keys(curve_daemon: Daemon, keys: Path) -> None:
    with protocol.Client(curve_daemon.endpoint, timeout=_timeout()) as c:
        assert c.status()["curve"] == [curve_daemon.tcp]
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "dreamd.daemon",
            "status",
            "--connect",
            curve_daemon.tcp,
            "--server-key",
            str(keys / "server.key"),
            "--client-key",
            str(keys / "clients" / "alice.key_secret"),
        ],
        capture_output=True,
        text=True,
        env=daemon_env(curve_daemon.runtime),
        cwd=ROOT,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    assert "efficientnet-lite0" in proc.stdout


def test_missing_or_readable_keys_refuse_to_start(tmp_path: Path, keys: Path) -> None:
    def serve(curve_dir: Path) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [
                sys.executable,
                "-m",
                "dreamd.daemon",
                "serve",
                "--bind",
                f"tcp://0.0.0.0:{free_port()}",
                "--curve-dir",
                str(curve_dir),
            ],
            capture_output=True,
            text=True,
            env=daemon_env(tmp_path),
            cwd=ROOT,
            timeout=60,
        )

    proc = serve(tmp_path / "nothing")
    assert proc.returncode == 4 and "dreamd keygen" in proc.stderr
    leaky = tmp_path / "leaky"
    subprocess.run(
        [*DREAMD_CMD, "keygen", "--curve-dir", str(leaky)],
        check=True,
        capture_output=True,
        env=daemon_env(tmp_path),
        cwd=ROOT,
    )
    (leaky / "server.key_secret").chmod(0o644)
    proc = serve(leaky)
    assert proc.returncode == 4 and "chmod 600" in proc.stderr
