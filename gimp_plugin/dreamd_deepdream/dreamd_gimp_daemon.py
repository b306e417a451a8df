"""Reaching dreamd from the plug-in, without GIMP: the installer's config, the vendored
libraries, starting the daemon when the installer recorded how, and messages a painter
understands when something goes wrong.

Copied next to ``dreamd_deepdream.py`` into GIMP's plug-in folder and imported there as a
top-level module (``import dreamd_gimp_daemon``); the tests import it from the source tree
as ``dreamd.gimp.dreamd_deepdream.dreamd_gimp_daemon``. It runs under GIMP's own Python, so
it uses only the standard library, and imports no ``gi`` and no sibling module.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

CONFIG_NAME = "dreamd_deepdream.json"

# ---------------------------------------------------------------------------------------------
# Configuration recorded by the installer


def plugin_dir() -> Path:
    return Path(__file__).resolve().parent


def load_config(directory: Path | None = None) -> dict[str, Any]:
    """The installer's JSON config next to the plug-in, or ``{}``.

    Keys: ``endpoint`` (str or null), ``start_command`` (list of str or null), ``deps``
    ("system" or "vendor"), ``python`` ("3.13"), ``protocol_version``, ``installed_by``.
    ``DREAMD_ENDPOINT`` in the environment overrides ``endpoint``.
    """
    path = (directory or plugin_dir()) / CONFIG_NAME
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(data, dict):
            data = {}
    except (OSError, ValueError):
        data = {}
    env = os.environ.get("DREAMD_ENDPOINT")
    if env:
        data["endpoint"] = env
    return data


def setup_import_path(directory: Path | None = None) -> None:
    """Make the vendored ``protocol`` and wheels (``vendor/``) importable."""
    d = directory or plugin_dir()
    for p in (d / "vendor", d):
        s = str(p)
        if p.is_dir() and s not in sys.path:
            sys.path.insert(0, s)


# ---------------------------------------------------------------------------------------------
# Messages a painter understands


class PluginError(Exception):
    """An error whose text is already meant for the painter."""


def size_problem(width: int, height: int, limits: Mapping[str, Any]) -> str | None:
    """Why the daemon (whose ``hello`` announced ``limits``) would refuse this size, or None.

    Checked before sending: a frame over the daemon's ZeroMQ size cap would be dropped
    with the connection, which reads as a timeout rather than a clear refusal.
    """
    max_pixels = limits.get("max_pixels")
    max_side = limits.get("max_side")
    if max_side and max(width, height) > max_side:
        return (
            f"The image is too large for the daemon: {width}×{height}, and the daemon's "
            f"limit is {max_side} pixels per side. Dream a selection or scale it down."
        )
    if max_pixels and width * height > max_pixels:
        mp = max_pixels / 1e6
        return (
            f"The image is too large for the daemon: {width}×{height} is "
            f"{width * height / 1e6:.1f} megapixels, the limit is {mp:g} megapixels "
            f"({max_pixels} pixels). Dream a selection, scale the image down, or start "
            "dreamd with a higher --max-pixels."
        )
    return None


def start_hint(config: Mapping[str, Any]) -> str:
    cmd = config.get("start_command")
    if cmd:
        return "Start it with:  " + (cmd if isinstance(cmd, str) else shlex.join(cmd))
    return "Start it with:  dreamd serve"


def unreachable_note(config: Mapping[str, Any], endpoint: str | None) -> str:
    """The dialog's note when dreamd does not answer: what OK will do (start it, when the
    installer recorded how, or fail), and how to make it answer before pressing Retry."""
    where = f" at {endpoint}" if endpoint else ""
    cmd = config.get("start_command")
    if cmd:
        shown = cmd if isinstance(cmd, str) else shlex.join(cmd)
        return (
            f"dreamd is not running{where}. OK will start it ({shown}); the first dream "
            "then waits while it loads its model. The layer list fills once it runs: "
            "press Retry."
        )
    return (
        f"dreamd is not running{where}, so OK would fail and the layer list is empty. "
        f"{start_hint(config)}\nin a terminal, then press Retry."
    )


def friendly_error(exc: BaseException, config: Mapping[str, Any], endpoint: str | None) -> str:
    """A message for the painter, from any exception the client can raise."""
    name = type(exc).__name__
    text = str(exc).strip()
    if isinstance(exc, PluginError):
        return text
    where = f" at {endpoint}" if endpoint else ""
    if name == "Unreachable":
        return (
            f"The DeepDream daemon (dreamd) is not running{where}.\n{start_hint(config)}\n"
            "(or run `dreamd gimp doctor` to check the installation)"
        )
    if name == "RequestTimeout":
        return (
            f"The DeepDream daemon{where} stopped answering (timed out). It may be busy with "
            f"a very large job or stuck; restart it if this persists.\n{start_hint(config)}"
        )
    if name == "VersionMismatch":
        if getattr(exc, "update", "") == "client":
            todo = (
                "The daemon is newer: update this plug-in with `dreamd gimp install` "
                "(run with the daemon's dreamd), then restart GIMP."
            )
        else:
            todo = (
                "The daemon is older: update dreamd (`pip install -U dreamd`), restart it "
                "(`dreamd serve`), then run `dreamd gimp install` and restart GIMP."
            )
        return (
            "The DeepDream plug-in and the daemon speak different protocol versions. "
            f"{todo}\n({text})"
        )
    if name == "Cancelled":
        return "DeepDream was cancelled."
    if name == "Rejected":
        code = str(getattr(exc, "code", "") or "")
        detail = str(getattr(exc, "message", "") or text)
        if code.upper() == "TOO_LARGE":
            return (
                f"The daemon refused the image: it is too large ({detail}).\n"
                "Dream a selection, scale the image down, or start dreamd with a higher limit."
            )
        if code.upper() == "BUSY":
            return f"The daemon is busy (its queue is full): try again in a moment. ({detail})"
        if code.upper() in ("UNKNOWN_LAYER", "UNKNOWN_MODEL"):
            return f"The daemon does not know that {code.split('_')[1].lower()}: {detail}"
        return f"The daemon refused the dream: {text}"
    if isinstance(exc, ImportError):
        return (
            f"The DeepDream plug-in cannot load its libraries ({text}). "
            "Reinstall it with `dreamd gimp install`, or run `dreamd gimp doctor`."
        )
    return f"DeepDream failed: {name}: {text}"


# ---------------------------------------------------------------------------------------------
# Starting the daemon when the installer recorded how


def start_daemon(config: Mapping[str, Any], log_dir: Path | None = None) -> subprocess.Popen | None:
    """Start ``config["start_command"]`` detached (it outlives GIMP); None when not recorded."""
    cmd = config.get("start_command")
    if not cmd:
        return None
    argv = shlex.split(cmd) if isinstance(cmd, str) else [str(c) for c in cmd]
    log_dir = log_dir or Path(os.environ.get("TMPDIR", "/tmp"))
    try:
        log = open(log_dir / "dreamd-autostart.log", "ab")  # noqa: SIM115 (child keeps it)
    except OSError:
        log = subprocess.DEVNULL  # type: ignore[assignment]
    kwargs: dict[str, Any] = {"stdin": subprocess.DEVNULL, "stdout": log, "stderr": log}
    if os.name == "nt":
        kwargs["creationflags"] = 0x00000008 | 0x00000200  # DETACHED_PROCESS | NEW_PROCESS_GROUP
    else:
        kwargs["start_new_session"] = True
    return subprocess.Popen(argv, **kwargs)


def wait_until(predicate: Callable[[], object], timeout: float, interval: float = 0.25) -> bool:
    """Call ``predicate()`` until it returns true or ``timeout`` seconds pass."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            if predicate():
                return True
        except Exception:
            pass
        if time.monotonic() >= deadline:
            return False
        time.sleep(interval)
