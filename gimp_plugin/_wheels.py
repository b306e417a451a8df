"""pyzmq and msgpack wheels for GIMP's Python, when it lacks them (``pip install --target``)."""

from __future__ import annotations

import shutil
import subprocess
import sys
import sysconfig
from collections.abc import Sequence
from pathlib import Path

from ._errors import InstallError
from ._layout import VENDOR_REQUIREMENTS


def pip_platforms(target: str) -> list[str]:
    """pip ``--platform`` tags for a sysconfig platform, or [] when it is this machine's."""
    if target == sysconfig.get_platform():
        return []
    t = target.replace("-", "_").replace(".", "_")
    if t.startswith("linux_"):
        arch = t[len("linux_") :]
        return [
            f"manylinux_2_28_{arch}",
            f"manylinux2014_{arch}",
            f"manylinux_2_17_{arch}",
            f"musllinux_1_1_{arch}",
        ]
    if t.startswith("macosx_"):
        arch = t.rsplit("_", 1)[-1]
        tags = [f"macosx_11_0_{arch}", f"macosx_10_9_{arch}", "macosx_10_9_universal2"]
        if arch == "arm64":
            tags.append("macosx_11_0_universal2")
        return tags
    if t in ("win_amd64", "win32", "win_arm64"):
        return [t]
    return [t]


def vendor_wheels(
    vendor_dir: Path,
    python_version: str,
    platform: str | None = None,
    pip: Sequence[str] | None = None,
    requirements: Sequence[str] = VENDOR_REQUIREMENTS,
) -> None:
    """``pip install --target vendor_dir`` wheels of ``requirements`` for GIMP's Python.

    ``pip`` is the command that runs pip (default: this Python's ``-m pip``). Only binary
    wheels are used, chosen for ``python_version`` ("3.13") and ``platform`` (a sysconfig
    platform string such as ``win-amd64``; None = this machine's).
    """
    pip_cmd = list(pip) if pip else [sys.executable, "-m", "pip"]
    if vendor_dir.exists():
        shutil.rmtree(vendor_dir)
    vendor_dir.mkdir(parents=True)
    abi = "cp" + python_version.replace(".", "")
    cmd = [
        *pip_cmd,
        "install",
        "--disable-pip-version-check",
        "--no-input",
        "--quiet",
        "--target",
        str(vendor_dir),
        "--python-version",
        python_version,
        "--implementation",
        "cp",
        "--abi",
        abi,
        "--abi",
        "abi3",
        "--abi",
        "none",
        "--only-binary=:all:",
        "--upgrade",
    ]
    for tag in pip_platforms(platform) if platform else []:
        cmd += ["--platform", tag]
    cmd += list(requirements)
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise InstallError(
            f"pip could not install {', '.join(requirements)} for Python {python_version}"
            f" ({platform or 'this platform'}):\n{proc.stderr.strip()[-2000:]}\n"
            "Install them into GIMP's Python yourself (on Debian/Ubuntu: apt install "
            "python3-zmq python3-msgpack) and run `dreamd gimp install --deps system`."
        )
