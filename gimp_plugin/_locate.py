"""Where GIMP 3 keeps plug-ins, which Python it runs them with, and what that Python has."""

from __future__ import annotations

import contextlib
import json
import os
import shlex
import shutil
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ._errors import InstallError
from ._layout import FLATPAK_APP, NEEDED_MODULES

#: A command that runs GIMP's Python: ``"/usr/bin/python3"`` or ``["flatpak", "run", ...]``.
PythonCommand = str | os.PathLike | Sequence[str]


@dataclass
class PythonInfo:
    """What GIMP's Python is: version "3.13", sysconfig platform, and which modules it has."""

    version: str
    platform: str
    has: dict[str, bool] = field(default_factory=dict)
    executable: str = ""


# ---------------------------------------------------------------------------------------------
# Where GIMP keeps plug-ins


def _platform(platform: str | None) -> str:
    p = platform or sys.platform
    if p.startswith("win"):
        return "windows"
    if p == "darwin" or p.startswith("mac"):
        return "macos"
    return "linux"


def gimp_profile_candidates(
    platform: str | None = None,
    env: Mapping[str, str] | None = None,
    home: Path | None = None,
) -> list[Path]:
    """GIMP 3 profile folders that could exist on this machine, most specific first.

    ``GIMP3_DIRECTORY`` (GIMP's own override) comes first when set. Then, per platform:
    Linux ``$XDG_CONFIG_HOME/GIMP/3.x``, the Flatpak and the Snap profiles; macOS
    ``~/Library/Application Support/GIMP/3.x``; Windows ``%APPDATA%\\GIMP\\3.x``. For each
    base the newest existing ``3.x`` comes first, then ``3.0``.
    """
    env = os.environ if env is None else env
    home = home or Path(env.get("HOME") or env.get("USERPROFILE") or Path.home())
    kind = _platform(platform)
    out: list[Path] = []
    if env.get("GIMP3_DIRECTORY"):
        out.append(Path(env["GIMP3_DIRECTORY"]))
    bases: list[Path] = []
    if kind == "linux":
        xdg = Path(env.get("XDG_CONFIG_HOME") or home / ".config")
        bases += [
            xdg / "GIMP",
            home / ".var" / "app" / FLATPAK_APP / "config" / "GIMP",
            home / "snap" / "gimp" / "current" / ".config" / "GIMP",
        ]
    elif kind == "macos":
        bases.append(home / "Library" / "Application Support" / "GIMP")
    else:
        appdata = env.get("APPDATA")
        bases.append(Path(appdata) / "GIMP" if appdata else home / "AppData" / "Roaming" / "GIMP")
    for base in bases:
        versions: list[Path] = []
        with contextlib.suppress(OSError):
            versions = sorted(
                (p for p in base.glob("3.*") if p.is_dir()),
                key=lambda p: _version_key(p.name),
                reverse=True,
            )
        for p in [*versions, base / "3.0"]:
            if p not in out:
                out.append(p)
    return out


def _version_key(name: str) -> tuple[int, ...]:
    try:
        return tuple(int(x) for x in name.split("."))
    except ValueError:
        return (0,)


def find_gimp_plugin_dirs(
    platform: str | None = None,
    env: Mapping[str, str] | None = None,
    home: Path | None = None,
    existing_only: bool = False,
) -> list[Path]:
    """GIMP 3 ``plug-ins`` folders, those of existing profiles first.

    ``DREAMD_GIMP_DIR`` in ``env`` (a profile folder or its ``plug-ins``) overrides all.
    """
    env = os.environ if env is None else env
    if env.get("DREAMD_GIMP_DIR"):
        return [plugins_dir_of(Path(env["DREAMD_GIMP_DIR"]))]
    profiles = gimp_profile_candidates(platform, env, home)
    existing = [p for p in profiles if p.is_dir()]
    ordered = existing if existing_only else existing + [p for p in profiles if p not in existing]
    return [p / "plug-ins" for p in ordered]


def plugins_dir_of(gimp_dir: Path | str) -> Path:
    """``gimp_dir`` is a GIMP profile folder or already its ``plug-ins`` folder."""
    p = Path(gimp_dir).expanduser()
    return p if p.name == "plug-ins" else p / "plug-ins"


def resolve_plugins_dir(gimp_dir: Path | str | None) -> Path:
    if gimp_dir is not None:
        return plugins_dir_of(gimp_dir)
    found = find_gimp_plugin_dirs(existing_only=True)
    if not found:
        tried = ", ".join(str(p) for p in gimp_profile_candidates())
        raise InstallError(
            "no GIMP 3 profile folder found (tried " + tried + "). Start GIMP 3 once so it "
            "creates its profile, or pass --gimp-dir PROFILE_OR_PLUGINS_DIR."
        )
    return found[0]


# ---------------------------------------------------------------------------------------------
# GIMP's Python


_PROBE = r"""
import json, sys, sysconfig
def _imports(m):
    try:
        __import__(m)
        return True
    except Exception:
        return False
print(json.dumps({"version": "%d.%d" % sys.version_info[:2], "platform": sysconfig.get_platform(),
                  "has": {m: _imports(m) for m in sys.argv[1:]}, "executable": sys.executable}))
"""


def find_gimp_python(
    plugins_dir: Path | None = None,
    platform: str | None = None,
    env: Mapping[str, str] | None = None,
) -> list[str] | None:
    """A command that runs the Python GIMP 3 runs plug-ins with, or None if unknown.

    ``DREAMD_GIMP_PYTHON`` overrides (a path, or a command split on spaces). A Flatpak
    profile uses the Flatpak's Python. On Windows and macOS GIMP ships its own Python inside
    its install folder. On Linux GIMP runs ``#!/usr/bin/env python3`` scripts, so it is the
    system ``python3`` (``/usr/bin/python3`` first: GIMP's PATH rarely has a virtualenv).
    """
    env = os.environ if env is None else env
    if env.get("DREAMD_GIMP_PYTHON"):
        return env["DREAMD_GIMP_PYTHON"].split()
    kind = _platform(platform)
    if plugins_dir is not None and f"/{FLATPAK_APP}/" in plugins_dir.as_posix():
        return ["flatpak", "run", "--command=python3", FLATPAK_APP]
    candidates: list[Path] = []
    if kind == "windows":
        for base in (env.get("ProgramFiles"), env.get("ProgramW6432"), env.get("LOCALAPPDATA")):
            if base:
                root = Path(base) / "Programs" if base == env.get("LOCALAPPDATA") else Path(base)
                candidates += sorted(root.glob("GIMP 3*/bin/python.exe"), reverse=True)
                candidates += sorted(root.glob("GIMP 3*/bin/python3*.exe"), reverse=True)
    elif kind == "macos":
        for app in (Path("/Applications/GIMP.app"), Path.home() / "Applications" / "GIMP.app"):
            candidates += sorted(app.glob("Contents/MacOS/python3*"), reverse=True)
            candidates += sorted(app.glob("Contents/Resources/bin/python3*"), reverse=True)
    else:
        candidates.append(Path("/usr/bin/python3"))
        w = shutil.which("python3")
        if w:
            candidates.append(Path(w))
    for c in candidates:
        if c.is_file():
            return [str(c)]
    return None


def as_command(cmd: PythonCommand) -> list[str]:
    """A path, a command line as one string (split like a shell), or an argv list."""
    if isinstance(cmd, os.PathLike):
        return [os.fspath(cmd)]
    if isinstance(cmd, str):
        if os.path.exists(cmd) or not any(c.isspace() for c in cmd):
            return [cmd]
        return shlex.split(cmd, posix=os.name != "nt")
    return [str(c) for c in cmd]


def probe_python(
    python: PythonCommand, extra_path: Sequence[Path] = (), timeout: float = 60
) -> PythonInfo:
    """Run GIMP's Python once: its version, platform, and whether zmq and msgpack import.

    ``extra_path`` is prepended to its ``PYTHONPATH`` (to check vendored wheels).
    """
    cmd = as_command(python)
    env = dict(os.environ)
    env.pop("PYTHONHOME", None)
    env["PYTHONPATH"] = os.pathsep.join(str(p) for p in extra_path)
    if not extra_path:
        env.pop("PYTHONPATH")
    try:
        proc = subprocess.run(
            [*cmd, "-c", _PROBE, *NEEDED_MODULES],
            capture_output=True,
            text=True,
            timeout=timeout,
            env=env,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise InstallError(f"cannot run GIMP's Python {cmd}: {exc}") from exc
    if proc.returncode != 0:
        raise InstallError(f"GIMP's Python {cmd} failed: {proc.stderr.strip()[-500:]}")
    data = json.loads(proc.stdout.strip().splitlines()[-1])
    return PythonInfo(data["version"], data["platform"], data["has"], data["executable"])
