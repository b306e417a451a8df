"""Start-up refusals, shutdown, and the CLI commands, each against a real process."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from .conftest import (
    LONG,
    ROOT,
    Daemon,
    daemon_env,
    dream_frames,
    free_port,
    make_pixels,
    raw_client,
    start_daemon,
)


def dreamd(
    *args: str, env: dict[str, str] | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "dreamd.daemon", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env or daemon_env(ROOT),
        cwd=ROOT,
    )


def test_second_daemon_on_the_same_endpoint_is_refused(daemon: Daemon, tmp_path: Path) -> None:
    env = daemon_env(daemon.runtime)
    for bind in daemon.binds:
        t0 = time.monotonic()
        proc = dreamd("serve", "--bind", bind, "--model", "efficientnet-lite0", env=env)
        assert proc.returncode == 4, proc.stderr
        assert f"pid {daemon.proc.pid}" in proc.stderr
        assert "already serving" in proc.stderr
        assert time.monotonic() - t0 < 30  # refused before any model is loaded
    # ... and the first one is untouched.
    with daemon.client() as c:
        assert c.status()["pid"] == daemon.proc.pid


def test_public_bind_without_keys_is_refused(tmp_path: Path) -> None:
    proc = dreamd("serve", "--bind", f"tcp://0.0.0.0:{free_port()}", env=daemon_env(tmp_path))
    assert proc.returncode == 4
    assert "refusing to bind" in proc.stderr and "--curve-dir" in proc.stderr


def test_sigterm_mid_job_exits_cleanly(tmp_path: Path) -> None:
    sock = tmp_path / "run" / "d" / "dreamd.sock"
    sock.parent.mkdir(parents=True, mode=0o700)
    sock.write_bytes(b"")  # a stale socket left by a daemon that crashed
    port = free_port()
    d = start_daemon(tmp_path, [f"ipc://{sock}", f"tcp://0.0.0.0:{port}"], ["--insecure"])
    try:
        log = d.log()
        assert "INSECURE" in log and f"tcp://0.0.0.0:{port}" in log
        assert "removing stale socket" in log
        with raw_client(d.endpoint) as rc:
            rc.send(dream_frames(make_pixels(), dict(LONG), "long-1"))
            rc.recv_until({"progress"}, request_id="long-1")
            d.proc.send_signal(15)
            err, _ = rc.recv_until({"error"}, request_id="long-1")
            assert err["code"] == "SHUTTING_DOWN"
        assert d.proc.wait(60) == 0
    finally:
        d.terminate()
    assert not sock.exists()
    assert list(sock.parent.iterdir()) == []  # no socket, no lock
    assert "stopped" in d.log()


def test_cli_status_layers_stop(tmp_path: Path) -> None:
    notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    notify.bind(str(tmp_path / "notify"))
    notify.settimeout(30)
    runtime = tmp_path / "run"
    d = start_daemon(tmp_path, env=daemon_env(runtime, NOTIFY_SOCKET=str(tmp_path / "notify")))
    assert notify.recv(100) == b"READY=1"  # systemd Type=notify
    env = daemon_env(d.runtime)
    try:
        proc = dreamd("status", "--connect", d.endpoint, env=env)
        assert proc.returncode == 0, proc.stderr
        assert "efficientnet-lite0" in proc.stdout and f"pid {d.proc.pid}" in proc.stdout
        # DREAMD_ENDPOINT is honoured, --json is machine-readable.
        proc = dreamd("status", "--json", env={**env, "DREAMD_ENDPOINT": d.endpoint})
        assert proc.returncode == 0, proc.stderr
        status = json.loads(proc.stdout)
        assert status["pid"] == d.proc.pid
        assert status["model"] == "efficientnet-lite0"
        assert status["devices"][0]["device"] == "cpu"
        assert status["endpoints"] == [d.endpoint]
        assert status["weights"].endswith(".pth")

        proc = dreamd("layers", "--connect", d.endpoint, env=env)
        assert proc.returncode == 0, proc.stderr
        assert "block10" in proc.stdout and "* block10" in proc.stdout
        proc = dreamd("layers", "--json", "--connect", d.endpoint, env=env)
        names = [layer["name"] for layer in json.loads(proc.stdout)["efficientnet-lite0"]]
        assert names[0] == "stem" and "block10" in names

        # With the default endpoint taken from XDG_RUNTIME_DIR, no --connect is needed.
        proc = dreamd("stop", env=env)
        assert proc.returncode == 0, proc.stderr
        assert f"pid {d.proc.pid}" in proc.stdout
        assert d.proc.wait(30) == 0
        assert notify.recv(100) == b"STOPPING=1"
    finally:
        d.terminate()
        notify.close()
    sock_dir = d.runtime / "dreamd"
    assert list(sock_dir.iterdir()) == []


def test_client_commands_without_a_daemon(tmp_path: Path) -> None:
    env = daemon_env(tmp_path)
    endpoint = f"ipc://{tmp_path}/nothing.sock"
    for command in ("status", "layers", "stop"):
        proc = dreamd(command, "--connect", endpoint, "--timeout", "1", env=env)
        assert proc.returncode == 3, (command, proc.stdout, proc.stderr)
        assert "dreamd" in proc.stderr


def test_fetch_weights_refuses_a_wrong_file(tmp_path: Path) -> None:
    bad = tmp_path / "googlenet-1378be20.pth"
    bad.write_bytes(os.urandom(1000))
    env = {**daemon_env(tmp_path), "TORCH_HOME": str(tmp_path / "torch")}
    proc = dreamd("fetch-weights", "--from", str(bad), env=env)
    assert proc.returncode == 1
    assert "SHA-256" in proc.stderr
    assert not (tmp_path / "torch").exists()
    proc = dreamd("fetch-weights", env=env)  # DREAMD_OFFLINE=1: no download
    assert proc.returncode == 5
    assert "fetch-weights" in proc.stderr or "not available" in proc.stderr


@pytest.mark.parametrize("action", ["uninstall"])
def test_gimp_subcommand_is_wired(tmp_path: Path, action: str) -> None:
    profile = tmp_path / "GIMP" / "3.0"
    (profile / "plug-ins").mkdir(parents=True)
    proc = dreamd("gimp", action, "--gimp-dir", str(profile), env=daemon_env(tmp_path))
    assert proc.returncode == 0, proc.stderr
    assert "not installed" in proc.stdout
