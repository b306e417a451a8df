"""Fixtures for the real-GIMP tests: GIMP 3 (native or trixie chroot), a running dreamd,
and a fresh GIMP profile with the plug-in installed by the installer.

GIMP is provided by tests/gimp/setup_gimp.sh (see gimprunner.py). Where this machine cannot
provide it (not root, no debootstrap, no Debian mirror) the tests are skipped with the
reason, except under CI (``CI=true``) or with ``DREAMD_REQUIRE_GIMP=1``, where that is an
error: CI must run them.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
sys.path.insert(0, str(HERE))
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from gimprunner import GimpRunner, GimpUnavailable, dreamd_cli  # noqa: E402

#: The test daemon's pixel limit: above the 3000×2000 test image, below the "too large" one.
DAEMON_MAX_PIXELS = 8_000_000
DAEMON_START_TIMEOUT = float(os.environ.get("DREAMD_TEST_START_TIMEOUT", "180"))


def _required() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes") or os.environ.get(
        "DREAMD_REQUIRE_GIMP", ""
    ) not in ("", "0")


def _unavailable(reason: str) -> None:
    message = f"GIMP 3 is not available on this machine, GIMP tests NOT RUN: {reason}"
    if _required():
        pytest.fail(message + " (required here: CI or DREAMD_REQUIRE_GIMP)", pytrace=False)
    sys.stderr.write(f"\n*** {message}\n")
    pytest.skip(message)


@pytest.fixture(scope="session")
def gimp() -> GimpRunner:
    """A :class:`GimpRunner`, building the trixie chroot on first use (~1 min)."""
    native = shutil.which("gimp-console-3.0") is not None
    if not native and hasattr(os, "geteuid") and os.geteuid() != 0:
        _unavailable("no gimp-console-3.0 here, and building the Debian 13 chroot needs root")
    if not native and not shutil.which("unshare"):
        _unavailable("unshare (util-linux) is missing")
    try:
        return GimpRunner.setup()
    except GimpUnavailable as exc:
        _unavailable(str(exc))
        raise  # unreachable: _unavailable skips or fails


@pytest.fixture(scope="session")
def share(gimp: GimpRunner) -> Iterator[Path]:
    """A short /tmp folder visible at the same path to GIMP (bind-mounted in the chroot):
    profiles, images, reports and the daemon's ipc socket live here. Kept for inspection
    when ``DREAMD_GIMP_KEEP=1``."""
    path = Path(tempfile.mkdtemp(prefix="dg-", dir="/tmp"))
    path.chmod(0o755)
    yield path
    gimp.remove_mountpoint(path)
    if os.environ.get("DREAMD_GIMP_KEEP"):
        sys.stderr.write(f"\nGIMP test files kept in {path}\n")
    else:
        shutil.rmtree(path, ignore_errors=True)


def _hello(endpoint: str) -> bool:
    from dreamd import protocol

    client = protocol.Client(endpoint, timeout=protocol.Timeout(connect=1.0, reply=2.0))
    try:
        client.hello()
        return True
    except (protocol.Unreachable, protocol.RequestTimeout):
        return False
    finally:
        close = getattr(client, "close", None)
        if close:
            close()


@pytest.fixture(scope="session")
def dreamd_endpoint(share: Path) -> Iterator[str]:
    """A real daemon on ``ipc://SHARE/run/dreamd.sock`` (efficientnet-lite0 on the CPU,
    at most :data:`DAEMON_MAX_PIXELS` pixels per image)."""
    sock_dir = share / "run"
    sock_dir.mkdir(mode=0o700, exist_ok=True)
    endpoint = f"ipc://{sock_dir}/dreamd.sock"
    log_path = share / "dreamd.log"
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    cmd = [
        sys.executable, "-m", "dreamd.daemon", "serve", "--bind", endpoint,
        "--model", "efficientnet-lite0", "--device", "cpu",
        "--max-pixels", str(DAEMON_MAX_PIXELS),
    ]  # fmt: skip
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + DAEMON_START_TIMEOUT
        while not _hello(endpoint):
            if proc.poll() is not None:
                pytest.fail(
                    f"dreamd exited with {proc.returncode} before answering:\n"
                    + log_path.read_text(errors="replace")[-4000:],
                    pytrace=False,
                )
            if time.monotonic() > deadline:
                pytest.fail(
                    f"dreamd did not answer hello within {DAEMON_START_TIMEOUT} s:\n"
                    + log_path.read_text(errors="replace")[-4000:],
                    pytrace=False,
                )
            time.sleep(0.5)
        yield endpoint
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture(scope="session")
def gimp_profile(gimp: GimpRunner, share: Path) -> Path:
    """A fresh GIMP 3 profile with the plug-in installed by ``dreamd gimp install``.

    No endpoint is recorded: each GIMP run passes ``DREAMD_ENDPOINT``, so the same
    profile serves the with-daemon and the no-daemon runs.
    """
    profile = share / "profile"
    profile.mkdir()
    gimp_python = shlex.join(gimp.python_command([share]))
    res = dreamd_cli("gimp", "install", "--gimp-dir", str(profile), "--gimp-python", gimp_python)
    assert res.returncode == 0, f"dreamd gimp install failed:\n{res.stdout}{res.stderr}"
    return profile


@pytest.fixture(scope="session")
def images(share: Path) -> dict[str, Path]:
    from dreamcases import write_images

    return write_images(share / "in")


@pytest.fixture(scope="session")
def dreamed(gimp, share, gimp_profile, dreamd_endpoint, images) -> dict[str, Any]:
    """Every case of dreamcases.cases() in one GIMP session; the report, with ``out`` the
    folder of the exported PNGs (``CASE-layer.png``, ``-source.png``, ``-visible.png``, and
    ``-before.png``/``-expected.png`` for the compositing cases)."""
    from dreamcases import cases, run_batch

    out = share / "out"
    out.mkdir(exist_ok=True)
    todo = cases(images)
    for name, case in todo.items():
        case["out"] = str(out / name)
    job = {"cases": todo, "report": str(out / "report.json")}
    report = run_batch(gimp, share, gimp_profile, job, dreamd_endpoint)
    report["out"] = out
    return report
