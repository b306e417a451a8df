"""Install (or update) and uninstall the plug-in in a GIMP 3 profile."""

from __future__ import annotations

import json
import shlex
import shutil
import stat
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .. import __version__
from ._errors import InstallError
from ._layout import (
    CONFIG_NAME,
    NEEDED_MODULES,
    PLUGIN_NAME,
    SCRIPT_NAME,
    SOURCE_DIR,
    VENDOR_DIR,
    VENDORED_PROTOCOL,
    protocol_source,
    protocol_version,
)
from ._locate import (
    PythonCommand,
    PythonInfo,
    as_command,
    find_gimp_python,
    probe_python,
    resolve_plugins_dir,
)
from ._wheels import vendor_wheels


@dataclass
class InstallResult:
    plugin_dir: Path
    config: dict[str, Any]
    deps: str  # "system": GIMP's Python had pyzmq and msgpack; "vendor": wheels installed
    python: PythonInfo | None
    messages: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        return "\n".join([f"installed the DeepDream plug-in in {self.plugin_dir}", *self.messages])


def _vendor_protocol(plugin: Path) -> None:
    """Copy ``dreamd.protocol`` into ``plugin/dreamd/protocol``, under a ``dreamd`` package of
    its own that carries this dreamd's version, so the plug-in imports it by its real name."""
    _copytree(protocol_source(), plugin / VENDORED_PROTOCOL)
    (plugin / "dreamd" / "__init__.py").write_text(
        '"""dreamd.protocol, vendored into the GIMP plug-in by `dreamd gimp install`."""\n'
        f"__version__ = {__version__!r}\n",
        encoding="utf-8",
    )


def _copytree(src: Path, dst: Path) -> None:
    if dst.exists():
        shutil.rmtree(dst)
    shutil.copytree(
        src,
        dst,
        # The plug-in's own __init__.py is left out: in GIMP its modules are top-level ones.
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

    py_cmd = as_command(gimp_python) if gimp_python else find_gimp_python(plugins)
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
            "protocol_version": protocol_version(staging / VENDORED_PROTOCOL),
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
