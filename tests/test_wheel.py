"""The wheel stands alone: installed into a fresh virtual environment in a temporary folder,
with the repository out of ``sys.path``, its commands work — ``dream-batch --samples`` and a
batch on them, every model, ``dreamd serve`` / ``status`` / ``stop`` with ``dream-batch
--connect`` in between, ``dreamd gimp install`` and ``doctor``.

Installing torch into a fresh venv costs minutes and gigabytes, so the fresh venv borrows the
third-party packages of this project's ``.venv``: a ``.pth`` file in its site-packages names
the ``.venv``'s site-packages folder. Python appends that folder to ``sys.path`` but does not
run the ``.pth`` files inside it, so the editable install's finder (which would import
dreamd from the checkout) stays out; the wheel is installed with ``--no-deps``. What this
proves: the wheel holds every module and data file the commands need, and its entry points
work from anywhere. What it does not: that pip resolves the dependencies from the package
index (they are the same ``pyproject.toml`` list the ``.venv`` was installed from).
"""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
import time
import venv
from dataclasses import dataclass
from pathlib import Path

import pytest

from harness.weights import random_weights

ROOT = Path(__file__).resolve().parents[1]
QUICK = ["--octave-count", "1", "--steps-per-octave", "1"]
# ipc:// sockets and a venv's bin/ as on the CI machines
pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="written for Linux")


@dataclass
class Installed:
    """A fresh venv with the wheel in it, and a work folder outside the repository."""

    prefix: Path
    work: Path
    env: dict[str, str]

    def run(self, *cmd: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
        """Run one of the venv's commands in the work folder; it must succeed."""
        exe = str(self.prefix / "bin" / cmd[0])
        done = subprocess.run(
            [exe, *cmd[1:]], cwd=self.work, env=self.env, capture_output=True, text=True,
            timeout=timeout,
        )  # fmt: skip
        assert done.returncode == 0, f"{cmd}: {done.returncode}\n{done.stdout}{done.stderr}"
        return done


@pytest.fixture(scope="module")
def installed(dist: tuple[Path, Path], tmp_path_factory: pytest.TempPathFactory) -> Installed:
    tmp = tmp_path_factory.mktemp("fresh")
    prefix = tmp / "venv"
    venv.EnvBuilder(with_pip=False).create(prefix)
    py = prefix / "bin" / "python"
    site = subprocess.run(
        [str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    (Path(site) / "project-venv.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    work = tmp / "work"
    (work / "run").mkdir(parents=True, mode=0o700)
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "DREAMD_ENDPOINT")}
    env.update(
        PATH=f"{prefix / 'bin'}{os.pathsep}{env.get('PATH', '')}",
        DREAMD_OFFLINE="1",
        XDG_RUNTIME_DIR=str(work / "run"),
        XDG_CONFIG_HOME=str(work / "config"),
        TORCH_HOME=str(work / "torch"),  # no cached weights: every model from its own file
        PYTHONNOUSERSITE="1",
    )
    # --ignore-installed: the .venv's editable dreamd is visible through the .pth file;
    # pip must install the wheel here, not count that one as already installed.
    pip = [str(py), "-m", "pip", "install", "-q", "--no-deps", "--ignore-installed", "--no-index"]
    done = subprocess.run([*pip, str(dist[1])], cwd=work, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return Installed(prefix, work, env)


def test_dreamd_comes_from_the_wheel_not_the_checkout(installed: Installed) -> None:
    code = (
        "import sys, dreamd, dreamd.engine, dreamd.gimp\n"
        "print(dreamd.__file__)\n"
        "from pathlib import Path\n"
        f"print(any(Path(p or '.').resolve() == Path({str(ROOT)!r}) for p in sys.path))\n"
    )
    where, root_on_path = installed.run("python", "-c", code).stdout.split()
    assert Path(where).is_relative_to(installed.prefix), where
    assert root_on_path == "False"


def test_samples_then_a_batch_on_them(installed: Installed) -> None:
    installed.run("dream-batch", "--samples", "photos")
    photos = sorted(p.name for p in (installed.work / "photos").iterdir())
    assert photos == sorted(p.name for p in (ROOT / "samples").iterdir())
    done = installed.run(
        "dream-batch", "-s", "photos", "-d", "dreamed", "--embedded",
        "--model", "efficientnet-lite0", *QUICK,
    )  # fmt: skip
    assert "5 done" in done.stdout, done.stdout
    assert sorted(p.name for p in (installed.work / "dreamed").iterdir()) == photos


def test_every_model_dreams(installed: Installed) -> None:
    """efficientnet-lite0 with its package's weights, the others from files in their
    published layouts (random values: the real files cannot be downloaded here)."""
    files = random_weights(installed.work / "weights")
    (installed.work / "photos").mkdir(exist_ok=True)
    installed.run("dream-batch", "--samples", "photos")
    for model, path in files.items():
        done = installed.run(
            "dream-batch", "-s", "photos/coffee.jpg", "-d", f"by-{model}", "--embedded",
            "--model", model, "--weights", str(path), *QUICK,
        )  # fmt: skip
        assert f"embedded engine: {model} on cpu" in done.stdout, done.stdout
        assert (installed.work / f"by-{model}" / "coffee.jpg").is_file()


def test_serve_status_connect_stop(installed: Installed) -> None:
    endpoint = f"ipc://{installed.work / 'run' / 'wheel.sock'}"
    log = (installed.work / "serve.log").open("w")
    serve = subprocess.Popen(
        [str(installed.prefix / "bin" / "dreamd"), "serve", "--bind", endpoint,
         "--model", "efficientnet-lite0", "--device", "cpu"],
        cwd=installed.work, env=installed.env, stderr=log, stdout=log,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 180
        while " ready: " not in (installed.work / "serve.log").read_text():
            assert serve.poll() is None, (installed.work / "serve.log").read_text()
            assert time.monotonic() < deadline, "dreamd serve did not get ready in 180 s"
            time.sleep(0.5)
        status = installed.run("dreamd", "status", "--connect", endpoint)
        assert "efficientnet-lite0" in status.stdout, status.stdout
        installed.run("dream-batch", "--samples", "photos")
        done = installed.run(
            "dream-batch", "-s", "photos/rocket.jpg", "-d", "via-daemon",
            "--connect", endpoint, *QUICK,
        )  # fmt: skip
        assert "daemon" in done.stdout and (installed.work / "via-daemon" / "rocket.jpg").is_file()
        installed.run("dreamd", "stop", "--connect", endpoint)
        assert serve.wait(timeout=60) == 0
    finally:
        if serve.poll() is None:
            serve.kill()
            serve.wait()
        log.close()


def test_gimp_install_and_doctor(installed: Installed) -> None:
    """The plug-in's files are package data: installed from the wheel into a GIMP profile
    folder, with the fresh venv's Python standing in for GIMP's (it has pyzmq and msgpack)."""
    from dreamd.gimp import installer

    profile = installed.work / "gimp-profile"
    profile.mkdir()
    python = str(installed.prefix / "bin" / "python")
    installed.run(
        "dreamd", "gimp", "install", "--gimp-dir", str(profile), "--gimp-python", python,
        "--deps", "system",
    )  # fmt: skip
    plugin = profile / "plug-ins" / installer.PLUGIN_NAME
    for name in (installer.SCRIPT_NAME, *installer.PLUGIN_MODULES, *installer.HELP_FILES):
        assert (plugin / name).is_file(), name
    assert (plugin / installer.VENDORED_PROTOCOL / "__init__.py").is_file()
    doctor = installed.run(
        "dreamd", "gimp", "doctor", "--gimp-dir", str(profile), "--gimp-python", python,
        "--no-daemon",
    )  # fmt: skip
    assert "FAIL" not in doctor.stdout, doctor.stdout
