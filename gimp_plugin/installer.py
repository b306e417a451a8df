"""Install, uninstall and check the GIMP 3 DeepDream plug-in.

``dreamd gimp install|uninstall|doctor`` are thin wrappers over :func:`install`,
:func:`uninstall` and :func:`doctor`. Everything here is plain Python (stdlib only) and can
run without GIMP being open.

What ``install`` does:

1. finds GIMP 3's profile folder (``--gimp-dir`` overrides; see :func:`find_gimp_plugin_dirs`),
2. copies the plug-in (``dreamd_deepdream/``) into ``PROFILE/plug-ins/dreamd_deepdream/``
   with the run bit on its script,
3. copies the ``protocol`` package next to it,
4. makes pyzmq and msgpack importable by GIMP's own Python: used as they are when that
   Python already has them, otherwise wheels for that exact Python version are installed
   into ``plug-ins/dreamd_deepdream/vendor`` with ``pip install --target``,
5. writes ``dreamd_deepdream.json``: the endpoint and how to start the daemon.
"""

from __future__ import annotations

import contextlib
import json
import os
import shlex
import shutil
import stat
import subprocess
import sys
import sysconfig
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .. import __version__

PLUGIN_NAME = "dreamd_deepdream"
SCRIPT_NAME = f"{PLUGIN_NAME}.py"
CONFIG_NAME = f"{PLUGIN_NAME}.json"
VENDOR_DIR = "vendor"
#: Where the plug-in's copy of dreamd.protocol goes, inside the plug-in's folder.
VENDORED_PROTOCOL = Path("dreamd", "protocol")
#: Requirements for GIMP's Python when it lacks them (pip syntax).
VENDOR_REQUIREMENTS = ("pyzmq>=25", "msgpack>=1.0")
#: Python modules the plug-in needs, and the distribution packages that provide them.
NEEDED_MODULES = {"zmq": "python3-zmq / pyzmq", "msgpack": "python3-msgpack / msgpack"}
FLATPAK_APP = "org.gimp.GIMP"

SOURCE_DIR = Path(__file__).resolve().parent / PLUGIN_NAME

#: A command that runs GIMP's Python: ``"/usr/bin/python3"`` or ``["flatpak", "run", ...]``.
PythonCommand = str | os.PathLike | Sequence[str]


class InstallError(Exception):
    """Installing or uninstalling failed; the message says what to do."""


@dataclass
class Check:
    """One line of ``dreamd gimp doctor``."""

    name: str
    ok: bool
    detail: str = ""
    fix: str = ""  # what to do when not ok

    def __str__(self) -> str:
        mark = "ok  " if self.ok else "FAIL"
        s = f"[{mark}] {self.name}: {self.detail}"
        if not self.ok and self.fix:
            s += f"\n       fix: {self.fix}"
        return s


@dataclass
class PythonInfo:
    """What GIMP's Python is: version "3.13", sysconfig platform, and which modules it has."""

    version: str
    platform: str
    has: dict[str, bool] = field(default_factory=dict)
    executable: str = ""


@dataclass
class InstallResult:
    plugin_dir: Path
    config: dict[str, Any]
    deps: str  # "system": GIMP's Python had pyzmq and msgpack; "vendor": wheels installed
    python: PythonInfo | None
    messages: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        return "\n".join([f"installed the DeepDream plug-in in {self.plugin_dir}", *self.messages])


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


def _as_command(cmd: PythonCommand) -> list[str]:
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
    cmd = _as_command(python)
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


def _pip_platforms(target: str) -> list[str]:
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
    for tag in _pip_platforms(platform) if platform else []:
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


# ---------------------------------------------------------------------------------------------
# install / uninstall / doctor


def _protocol_source() -> Path:
    from dreamd import protocol

    return Path(protocol.__file__).resolve().parent


def _vendor_protocol(plugin: Path) -> None:
    """Copy ``dreamd.protocol`` into ``plugin/dreamd/protocol``, under a ``dreamd`` package of
    its own that carries this dreamd's version, so the plug-in imports it by its real name."""
    _copytree(_protocol_source(), plugin / VENDORED_PROTOCOL)
    (plugin / "dreamd" / "__init__.py").write_text(
        '"""dreamd.protocol, vendored into the GIMP plug-in by `dreamd gimp install`."""\n'
        f"__version__ = {__version__!r}\n",
        encoding="utf-8",
    )


def _protocol_version(protocol_dir: Path) -> str | None:
    """``PROTOCOL_VERSION`` of a protocol package ("1.0"), read without importing it."""
    import re

    for name in ("_version.py", "__init__.py"):
        try:
            text = (protocol_dir / name).read_text(encoding="utf-8")
        except OSError:
            continue
        m = re.search(r"^PROTOCOL_VERSION\b[^=]*=\s*\(\s*(\d+)\s*,\s*(\d+)\s*\)", text, re.M)
        if m:
            return f"{m.group(1)}.{m.group(2)}"
    return None


def _tree_digest(directory: Path) -> str | None:
    """A digest of the ``.py`` files under ``directory`` (names and contents)."""
    import hashlib

    if not directory.is_dir():
        return None
    h = hashlib.sha256()
    for path in sorted(directory.rglob("*.py")):
        if "__pycache__" in path.parts:
            continue
        h.update(path.relative_to(directory).as_posix().encode() + b"\0")
        h.update(path.read_bytes() + b"\0")
    return h.hexdigest()[:16]


def _copytree(src: Path, dst: Path) -> None:
    if dst.exists():
        shutil.rmtree(dst)
    shutil.copytree(
        src,
        dst,
        ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "*.pyo", "__init__.py")
        if src == SOURCE_DIR
        else shutil.ignore_patterns("__pycache__", "*.pyc", "*.pyo"),
    )


def install(
    gimp_dir: Path | str | None = None,
    endpoint: str | None = None,
    start_command: str | Sequence[str] | None = None,
    *,
    gimp_python: PythonCommand | None = None,
    deps: str = "auto",
    python_version: str | None = None,
    python_platform: str | None = None,
    pip: Sequence[str] | None = None,
) -> InstallResult:
    """Install (or update) the plug-in into a GIMP 3 profile.

    Args:
        gimp_dir: GIMP profile folder (or its ``plug-ins``); None finds it
            (:func:`find_gimp_plugin_dirs`).
        endpoint: the daemon endpoint the plug-in connects to; None = the protocol's
            default (``DREAMD_ENDPOINT`` at GIMP's run time still overrides).
        start_command: how the plug-in may start the daemon when it is not running (argv
            list or a shell-like string); None = never start it, just say how.
        gimp_python: command running GIMP's Python; None finds it (:func:`find_gimp_python`).
        deps: "auto" (use GIMP Python's pyzmq/msgpack if it has them, else vendor wheels),
            "system" (require them there), "vendor" (always install wheels).
        python_version, python_platform: GIMP's Python version ("3.13") and sysconfig
            platform, needed only when GIMP's Python cannot be run from here.
        pip: command that runs pip for vendoring (default ``sys.executable -m pip``).

    Raises:
        InstallError: with a message saying what to do.
    """
    if deps not in ("auto", "system", "vendor"):
        raise InstallError(f"deps must be auto, system or vendor, not {deps!r}")
    plugins = resolve_plugins_dir(gimp_dir)
    target = plugins / PLUGIN_NAME
    messages: list[str] = []

    py_cmd = _as_command(gimp_python) if gimp_python else find_gimp_python(plugins)
    info: PythonInfo | None = None
    if py_cmd:
        try:
            info = probe_python(py_cmd)
        except InstallError as exc:
            if not python_version:
                raise InstallError(
                    f"{exc}\nPass --gimp-python PATH (the Python GIMP 3 uses), or "
                    "--python-version X.Y to install wheels blindly."
                ) from exc
            messages.append(f"warning: {exc}")
    elif not python_version:
        raise InstallError(
            "cannot find the Python GIMP 3 runs plug-ins with. Pass --gimp-python PATH, "
            "or --python-version X.Y (and --python-platform) to install wheels blindly."
        )

    has_all = bool(info and all(info.has.get(m) for m in NEEDED_MODULES))
    if deps == "system" and not has_all:
        missing = [m for m in NEEDED_MODULES if not (info and info.has.get(m))]
        raise InstallError(
            f"GIMP's Python lacks {', '.join(missing)}. Install them (Debian/Ubuntu: apt "
            "install python3-zmq python3-msgpack), or use --deps vendor."
        )
    use_vendor = deps == "vendor" or not has_all

    plugins.mkdir(parents=True, exist_ok=True)
    staging = plugins / f".{PLUGIN_NAME}.new"
    if staging.exists():
        shutil.rmtree(staging)
    try:
        _copytree(SOURCE_DIR, staging)
        script = staging / SCRIPT_NAME
        script.chmod(script.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
        _vendor_protocol(staging)
        if use_vendor:
            version = info.version if info else python_version
            platform = info.platform if info else python_platform
            assert version
            vendor_wheels(staging / VENDOR_DIR, version, platform, pip)
            messages.append(
                f"installed pyzmq and msgpack wheels for Python {version} into "
                f"{target / VENDOR_DIR}"
            )
            if py_cmd and info:
                check = probe_python(py_cmd, [staging / VENDOR_DIR])
                broken = [m for m in NEEDED_MODULES if not check.has.get(m)]
                if broken:
                    raise InstallError(
                        f"GIMP's Python still cannot import {', '.join(broken)} from the "
                        "installed wheels; install them into GIMP's Python yourself "
                        "(apt install python3-zmq python3-msgpack) and use --deps system."
                    )
        else:
            messages.append("GIMP's Python already has pyzmq and msgpack: using them")
        if isinstance(start_command, str):
            start_argv: list[str] | None = shlex.split(start_command)
        else:
            start_argv = list(start_command) if start_command else None
        config = {
            "endpoint": endpoint,
            "start_command": start_argv,
            "deps": "vendor" if use_vendor else "system",
            "python": info.version if info else python_version,
            "python_command": py_cmd,
            "protocol_version": _protocol_version(staging / VENDORED_PROTOCOL),
            "installed_by": f"dreamd {__version__}",
        }
        (staging / CONFIG_NAME).write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")
        if target.exists():
            shutil.rmtree(target)
        staging.rename(target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    if not start_argv:
        messages.append("the plug-in will not start the daemon itself: run `dreamd serve`")
    messages.append("restart GIMP, then use Filters ▸ Artistic ▸ DeepDream…")
    return InstallResult(target, config, "vendor" if use_vendor else "system", info, messages)


def uninstall(gimp_dir: Path | str | None = None) -> Path | None:
    """Remove the plug-in; returns the folder removed, or None when it was not installed."""
    plugins = resolve_plugins_dir(gimp_dir)
    target = plugins / PLUGIN_NAME
    shutil.rmtree(plugins / f".{PLUGIN_NAME}.new", ignore_errors=True)
    if not target.exists():
        return None
    shutil.rmtree(target)
    return target


def read_config(plugin_dir: Path) -> dict[str, Any] | None:
    try:
        data = json.loads((plugin_dir / CONFIG_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def doctor(
    gimp_dir: Path | str | None = None,
    *,
    gimp_python: PythonCommand | None = None,
    endpoint: str | None = None,
    check_daemon: bool = True,
) -> list[Check]:
    """Check every piece the plug-in needs; each :class:`Check` says what to fix.

    ``endpoint`` overrides the one recorded at install time for the daemon check.
    """
    checks: list[Check] = []
    try:
        plugins = resolve_plugins_dir(gimp_dir)
    except InstallError as exc:
        return [Check("GIMP 3 profile", False, str(exc), "start GIMP 3 once, or pass --gimp-dir")]
    profile = plugins.parent
    checks.append(
        Check(
            "GIMP 3 profile",
            profile.is_dir(),
            str(profile),
            "start GIMP 3 once so it creates it, or pass --gimp-dir",
        )
    )
    target = plugins / PLUGIN_NAME
    script = target / SCRIPT_NAME
    installed = script.is_file()
    checks.append(Check("plug-in installed", installed, str(script), "run `dreamd gimp install`"))
    if not installed:
        return checks
    executable = os.name == "nt" or os.access(script, os.X_OK)
    checks.append(
        Check(
            "plug-in executable",
            executable,
            "run bit set" if executable else "no run bit: GIMP will ignore it",
            "run `dreamd gimp install` again",
        )
    )
    missing = [
        f for f in ("dreamd_gimp_logic.py", "dreamd_gimp_dialog.py") if not (target / f).is_file()
    ]
    checks.append(
        Check(
            "plug-in files",
            not missing,
            "complete" if not missing else f"missing {', '.join(missing)}",
            "run `dreamd gimp install` again",
        )
    )

    vendored = target / VENDORED_PROTOCOL
    have_proto = (vendored / "__init__.py").is_file()
    v_inst = _protocol_version(vendored) if have_proto else None
    try:
        here = _protocol_source()
        v_here, same = _protocol_version(here), _tree_digest(here) == _tree_digest(vendored)
    except Exception:  # dreamd's own protocol cannot be found: nothing to compare with
        v_here, same = None, True
    if not have_proto:
        detail = "missing"
    elif same:
        detail = f"protocol {v_inst}, same as this dreamd's"
    else:
        detail = f"the plug-in's copy (protocol {v_inst}) differs from this dreamd's ({v_here})"
    checks.append(
        Check(
            "protocol package",
            have_proto and same,
            detail,
            "run `dreamd gimp install` to update the plug-in's copy",
        )
    )

    config = read_config(target)
    checks.append(
        Check(
            "plug-in config",
            config is not None,
            str(target / CONFIG_NAME),
            "run `dreamd gimp install` again",
        )
    )
    config = config or {}

    py_cmd = (
        (_as_command(gimp_python) if gimp_python else None)
        or config.get("python_command")
        or find_gimp_python(plugins)
    )
    if not py_cmd:
        checks.append(
            Check(
                "GIMP's Python",
                False,
                "not found",
                "pass --gimp-python PATH to `dreamd gimp doctor`",
            )
        )
    else:
        try:
            vendor = target / VENDOR_DIR
            info = probe_python(py_cmd, [vendor] if vendor.is_dir() else [])
            detail = f"Python {info.version} ({' '.join(py_cmd)})"
            checks.append(Check("GIMP's Python", True, detail))
            if config.get("python") and config["python"] != info.version:
                checks.append(
                    Check(
                        "Python version",
                        False,
                        f"installed for {config['python']}, GIMP's is {info.version}",
                        "run `dreamd gimp install` again",
                    )
                )
            for mod, pkg in NEEDED_MODULES.items():
                ok = bool(info.has.get(mod))
                where = "vendored" if vendor.is_dir() else "GIMP's Python"
                checks.append(
                    Check(
                        f"import {mod}",
                        ok,
                        f"{where}: {'importable' if ok else 'missing'}",
                        f"run `dreamd gimp install --deps vendor`, or install {pkg}",
                    )
                )
        except InstallError as exc:
            checks.append(
                Check(
                    "GIMP's Python",
                    False,
                    str(exc),
                    "pass --gimp-python PATH to `dreamd gimp doctor`",
                )
            )

    if check_daemon:
        checks.append(
            _check_daemon(
                endpoint or os.environ.get("DREAMD_ENDPOINT") or config.get("endpoint"), config
            )
        )
    return checks


def _check_daemon(endpoint: str | None, config: Mapping[str, Any]) -> Check:
    try:
        from dreamd import protocol
    except ImportError as exc:
        return Check(
            "daemon reachable", False, f"cannot import protocol: {exc}", "reinstall dreamd"
        )
    ep: str | None
    try:
        ep = protocol.resolve_endpoint(endpoint)
    except Exception:
        ep = endpoint
    start = config.get("start_command")
    how = " ".join(start) if start else "dreamd serve"
    try:
        try:
            timeout = protocol.Timeout(connect=2.0, reply=5.0)
            client = protocol.Client(ep, timeout=timeout)
        except TypeError:
            client = protocol.Client(ep)
        try:
            reply = client.hello()
        finally:
            close = getattr(client, "close", None)
            if close:
                close()
    except Exception as exc:
        name = type(exc).__name__
        if name == "VersionMismatch":
            return Check(
                "daemon reachable",
                False,
                f"{ep}: {exc}",
                "update the older side, then `dreamd gimp install`",
            )
        if start:
            return Check(
                "daemon reachable",
                True,
                f"not running at {ep}; the plug-in will start it with: {how}",
            )
        return Check("daemon reachable", False, f"{ep}: {name}: {exc}", f"start it: {how}")
    return Check("daemon reachable", True, f"{ep}: {_short(reply)}")


def _short(reply: Any) -> str:
    text = str(reply)
    return text if len(text) < 200 else text[:197] + "..."
