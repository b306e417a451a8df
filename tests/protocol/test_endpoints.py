"""Endpoint defaults, the environment override, loopback detection and the socket dir."""

from __future__ import annotations

import os
import stat
import sys
from pathlib import Path

import pytest

from dreamd.protocol import (
    ENDPOINT_ENV,
    check_endpoint,
    default_endpoint,
    ensure_socket_dir,
    ipc_path,
    is_loopback,
    resolve_endpoint,
)

posix_only = pytest.mark.skipif(sys.platform == "win32", reason="ipc:// needs a Unix system")


@posix_only
def test_default_uses_xdg_runtime_dir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path))
    assert default_endpoint() == f"ipc://{tmp_path}/dreamd/dreamd.sock"


@posix_only
def test_default_without_xdg_runtime_dir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("XDG_RUNTIME_DIR", raising=False)
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", None)  # forget the cached temp dir
    assert default_endpoint() == f"ipc://{tmp_path}/dreamd-{os.getuid()}/dreamd.sock"


def test_windows_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "platform", "win32")
    assert default_endpoint() == "tcp://127.0.0.1:5599"


def test_resolve_order(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENDPOINT_ENV, "tcp://127.0.0.1:7000")
    assert resolve_endpoint() == "tcp://127.0.0.1:7000"
    assert resolve_endpoint("ipc:///tmp/x.sock") == "ipc:///tmp/x.sock"
    monkeypatch.delenv(ENDPOINT_ENV)
    assert resolve_endpoint() == default_endpoint()


@pytest.mark.parametrize(
    "endpoint", ["http://x", "tcp://host", "tcp://:5", "ipc://", "tcp://h:port", "localhost:5599"]
)
def test_malformed_endpoints(endpoint: str) -> None:
    with pytest.raises(ValueError):
        check_endpoint(endpoint)
    with pytest.raises(ValueError):
        resolve_endpoint(endpoint)


@pytest.mark.parametrize(
    ("endpoint", "loopback"),
    [
        ("ipc:///run/user/1000/dreamd/dreamd.sock", True),
        ("inproc://x", True),
        ("tcp://127.0.0.1:5599", True),
        ("tcp://127.1.2.3:5599", True),
        ("tcp://localhost:5599", True),
        ("tcp://[::1]:5599", True),
        ("tcp://0.0.0.0:5599", False),
        ("tcp://*:5599", False),
        ("tcp://192.168.1.4:5599", False),
        ("tcp://[::]:5599", False),
        ("tcp://dreambox.lan:5599", False),
        ("tcp://eth0:5599", False),
    ],
)
def test_is_loopback(endpoint: str, loopback: bool) -> None:
    assert is_loopback(endpoint) is loopback


def test_ipc_path() -> None:
    assert ipc_path("ipc:///a/b.sock") == Path("/a/b.sock")
    assert ipc_path("tcp://127.0.0.1:1") is None


@posix_only
def test_ensure_socket_dir_creates_private_dir(tmp_path: Path) -> None:
    sock = ensure_socket_dir(f"ipc://{tmp_path}/d/dreamd.sock")
    assert sock == tmp_path / "d" / "dreamd.sock"
    assert stat.S_IMODE((tmp_path / "d").stat().st_mode) == 0o700


@posix_only
def test_ensure_socket_dir_tightens_own_dir(tmp_path: Path) -> None:
    directory = tmp_path / "open"
    directory.mkdir(mode=0o755)
    directory.chmod(0o755)
    ensure_socket_dir(f"ipc://{directory}/dreamd.sock")
    assert stat.S_IMODE(directory.stat().st_mode) == 0o700


@posix_only
def test_ensure_socket_dir_refuses_foreign_or_odd_dirs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "real"
    target.mkdir()
    link = tmp_path / "link"
    link.symlink_to(target)
    with pytest.raises(PermissionError, match="plain directory"):
        ensure_socket_dir(f"ipc://{link}/dreamd.sock")
    monkeypatch.setattr(os, "getuid", lambda: os.stat(target).st_uid + 1)
    with pytest.raises(PermissionError, match="another user"):
        ensure_socket_dir(f"ipc://{target}/dreamd.sock")


def test_ensure_socket_dir_other_endpoints_and_long_paths(tmp_path: Path) -> None:
    assert ensure_socket_dir("tcp://127.0.0.1:5599") is None
    with pytest.raises(ValueError, match="longer"):
        ensure_socket_dir(f"ipc://{tmp_path}/{'x' * 120}/dreamd.sock")
