"""``dreamd gimp doctor``: check every piece the plug-in needs, each with its fix."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ._errors import InstallError
from ._install import read_config
from ._layout import (
    CONFIG_NAME,
    HELP_FILES,
    NEEDED_MODULES,
    PLUGIN_MODULES,
    PLUGIN_NAME,
    SCRIPT_NAME,
    VENDOR_DIR,
    VENDORED_PROTOCOL,
    protocol_source,
    protocol_version,
)
from ._locate import PythonCommand, as_command, find_gimp_python, probe_python, resolve_plugins_dir


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


def _tree_digest(directory: Path) -> str | None:
    """A digest of the ``.py`` files under ``directory`` (names and contents)."""
    if not directory.is_dir():
        return None
    h = hashlib.sha256()
    for path in sorted(directory.rglob("*.py")):
        if "__pycache__" in path.parts:
            continue
        h.update(path.relative_to(directory).as_posix().encode() + b"\0")
        h.update(path.read_bytes() + b"\0")
    return h.hexdigest()[:16]


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
    missing = [str(f) for f in (*PLUGIN_MODULES, *HELP_FILES) if not (target / f).is_file()]
    checks.append(
        Check(
            "plug-in files",
            not missing,
            "complete" if not missing else f"missing {', '.join(missing)}",
            "run `dreamd gimp install` again",
        )
    )
    checks.append(_check_protocol(target / VENDORED_PROTOCOL))

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
        (as_command(gimp_python) if gimp_python else None)
        or config.get("python_command")
        or find_gimp_python(plugins)
    )
    checks += _check_python(py_cmd, target / VENDOR_DIR, config)

    if check_daemon:
        checks.append(
            _check_daemon(
                endpoint or os.environ.get("DREAMD_ENDPOINT") or config.get("endpoint"), config
            )
        )
    return checks


def _check_protocol(vendored: Path) -> Check:
    """The plug-in's copy of the protocol is there and the same as this dreamd's."""
    have_proto = (vendored / "__init__.py").is_file()
    v_inst = protocol_version(vendored) if have_proto else None
    try:
        here = protocol_source()
        v_here, same = protocol_version(here), _tree_digest(here) == _tree_digest(vendored)
    except Exception:  # dreamd's own protocol cannot be found: nothing to compare with
        v_here, same = None, True
    if not have_proto:
        detail = "missing"
    elif same:
        detail = f"protocol {v_inst}, same as this dreamd's"
    else:
        detail = f"the plug-in's copy (protocol {v_inst}) differs from this dreamd's ({v_here})"
    return Check(
        "protocol package",
        have_proto and same,
        detail,
        "run `dreamd gimp install` to update the plug-in's copy",
    )


def _check_python(py_cmd: list[str] | None, vendor: Path, config: Mapping[str, Any]) -> list[Check]:
    """GIMP's Python runs, is the version installed for, and imports zmq and msgpack."""
    if not py_cmd:
        return [
            Check(
                "GIMP's Python",
                False,
                "not found",
                "pass --gimp-python PATH to `dreamd gimp doctor`",
            )
        ]
    checks: list[Check] = []
    try:
        info = probe_python(py_cmd, [vendor] if vendor.is_dir() else [])
    except InstallError as exc:
        return [
            Check(
                "GIMP's Python",
                False,
                str(exc),
                "pass --gimp-python PATH to `dreamd gimp doctor`",
            )
        ]
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
