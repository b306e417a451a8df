"""The client commands: ``dreamd status``, ``layers`` and ``stop`` (a daemon's state over
the protocol; ``stop`` signals its process)."""

from __future__ import annotations

import argparse
import json
import os
import signal
import time
from typing import TYPE_CHECKING, Any

from ._errors import ConfigError, DaemonError, ExitCode

if TYPE_CHECKING:
    from dreamd import protocol


def _client(args: argparse.Namespace) -> protocol.Client:
    from dreamd import protocol

    try:
        endpoint = protocol.resolve_endpoint(args.connect)
    except ValueError as exc:
        raise ConfigError(f"bad endpoint: {exc}") from None
    try:
        curve = protocol.load_curve_keys(args.server_key, args.client_key)
    except protocol.CurveKeyError as exc:
        raise DaemonError(str(exc)) from None
    timeout = protocol.Timeout(connect=args.timeout, reply=max(args.timeout, 2.0))
    return protocol.Client(endpoint, timeout=timeout, retries=0, curve=curve, name="dreamd-cli")


def _ask(args: argparse.Namespace, layers: bool = False) -> dict[str, Any]:
    from dreamd import protocol

    client = _client(args)
    try:
        with client:
            result: dict[str, Any] = client.status(layers=layers)
            return result
    except (protocol.Unreachable, protocol.RequestTimeout) as exc:
        raise _Unreachable(str(exc)) from None
    except protocol.DreamdError as exc:
        raise DaemonError(str(exc)) from None


class _Unreachable(DaemonError):
    exit_code = ExitCode.UNREACHABLE


def status(args: argparse.Namespace) -> int:
    """``dreamd status``: the daemon's state, as text or JSON."""
    fields = _ask(args)
    if args.json:
        print(json.dumps(fields, indent=2, sort_keys=True))
        return ExitCode.OK
    print(_format_status(fields))
    return ExitCode.OK


def _gib(n: Any) -> str:
    return f"{n / 2**30:.1f} GiB" if isinstance(n, (int, float)) else "?"


def _format_status(st: dict[str, Any]) -> str:
    lines = [
        f"dreamd {st.get('version', '?')} (protocol {st.get('protocol', '?')}), "
        f"pid {st.get('pid', '?')}, up {_duration(st.get('uptime', 0))}",
        f"endpoints: {', '.join(st.get('endpoints', []))}",
        f"model:     {st.get('model', '?')} (default layer {st.get('default_layer', '?')})",
        f"weights:   {st.get('weights', '?')}",
    ]
    for note in st.get("model_notes", []):
        lines.append(f"           {note}")
    for dev in st.get("devices", []):
        mem = ""
        if "memory_total" in dev:
            mem = f", memory {_gib(dev.get('memory_free'))} free of {_gib(dev['memory_total'])}"
        busy = "busy" if dev.get("busy") else "idle"
        lines.append(
            f"device:    {dev.get('device')} ({dev.get('name', '?')}{mem}), {busy}, "
            f"{dev.get('jobs_done', 0)} jobs done"
        )
    queued = st.get("queued", {})
    lines.append(
        f"queue:     {st.get('queue', 0)} waiting ({queued.get('interactive', 0)} interactive, "
        f"{queued.get('batch', 0)} batch)"
    )
    for job in st.get("running", []):
        total = job.get("total") or 0
        pct = f"{100 * job.get('done', 0) / total:.0f}%" if total else "starting"
        lines.append(
            f"running:   {job.get('id')} on {job.get('device')} ({job.get('priority')}): "
            f"{pct}, {job.get('seconds', 0):.1f} s"
        )
    jobs = st.get("jobs", {})
    lines.append(
        "jobs:      "
        + ", ".join(f"{jobs.get(k, 0)} {k}" for k in ("done", "failed", "cancelled", "rejected"))
    )
    if st.get("stopping"):
        lines.append("state:     shutting down")
    return "\n".join(lines)


def _duration(seconds: Any) -> str:
    s = int(seconds or 0)
    h, rem = divmod(s, 3600)
    m, s = divmod(rem, 60)
    return f"{h}h{m:02d}m{s:02d}s" if h else f"{m}m{s:02d}s"


def layers(args: argparse.Namespace) -> int:
    """``dreamd layers``: the loaded model's layers."""
    status = _ask(args, layers=True)
    catalogues: dict[str, list[dict[str, Any]]] = status.get("layers") or {}
    if args.json:
        print(json.dumps(catalogues, indent=2))
        return ExitCode.OK
    default = status.get("default_layer")
    for model, layers in catalogues.items():
        print(f"{model}: {len(layers)} layers (default {default})")
        for layer in layers:
            aliases = ", ".join(layer.get("aliases") or [])
            mark = "*" if layer.get("name") == default else " "
            print(
                f" {mark} {layer.get('name'):<28} {layer.get('channels'):>5} channels  "
                f"stride {layer.get('stride'):>3}" + (f"  (also: {aliases})" if aliases else "")
            )
    return ExitCode.OK


def stop(args: argparse.Namespace) -> int:
    """``dreamd stop``: SIGTERM to the daemon at the endpoint, then wait until it exits."""
    from dreamd import protocol

    from ._lock import LockInfo, default_lock_dir, is_held, lock_path

    endpoint = protocol.resolve_endpoint(args.connect)
    path = lock_path(endpoint, default_lock_dir())
    info = LockInfo.read(path) if is_held(path) else None
    pid = info.pid if info else None
    if pid is None:
        try:
            status = _ask(args)
        except _Unreachable as exc:
            raise _Unreachable(f"no dreamd is running at {endpoint} ({exc})") from None
        if not protocol.is_loopback(endpoint):
            raise DaemonError(
                f"the daemon at {endpoint} runs on another machine (pid {status.get('pid')}); "
                "stop it there"
            )
        pid = int(status["pid"])
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        raise _Unreachable(f"dreamd (pid {pid}) is not running") from None
    except PermissionError:
        raise DaemonError(f"not allowed to signal dreamd (pid {pid})") from None
    deadline = time.monotonic() + args.wait
    while time.monotonic() < deadline:
        if not _alive(pid):
            print(f"dreamd (pid {pid}) stopped")
            return ExitCode.OK
        time.sleep(0.1)
    raise DaemonError(f"dreamd (pid {pid}) is still running after {args.wait:g} s")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie (our own child, not yet reaped) counts as gone.
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True
