"""The ``dreamd`` command.

::

    dreamd serve [--bind EP]... [--device auto|cpu|cuda|cuda:N|cuda:0,cuda:1|mps]
                 [--model auto|googlenet|efficientnet-lite0] [--weights FILE]
                 [--curve-dir DIR | --insecure] [limits…]
    dreamd status [--connect EP] [--json]
    dreamd layers [--connect EP] [--json]
    dreamd stop   [--connect EP] [--timeout S]
    dreamd fetch-weights [--from FILE]
    dreamd keygen [--curve-dir DIR] [--client NAME]... [--force]
    dreamd gimp install|uninstall|doctor

Client commands (status, layers, stop) take ``--connect`` and honour ``DREAMD_ENDPOINT``;
``--server-key``/``--client-key`` talk to a CURVE endpoint. Exit statuses are
:class:`~daemon._errors.ExitCode`: 0 ok, 1 failed, 2 usage, 3 no daemon answers,
4 serve refused to start, 5 a component is unavailable.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from . import __version__
from ._errors import ConfigError, DaemonError, ExitCode


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help(sys.stderr)
        return ExitCode.USAGE
    try:
        return int(args.func(args))
    except DaemonError as exc:
        _err(str(exc))
        return int(exc.exit_code)
    except KeyboardInterrupt:
        return 130


def _err(message: str) -> None:
    print(f"dreamd: {message}", file=sys.stderr)


# ------------------------------------------------------------------------------ parser


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="dreamd",
        description="DeepDream daemon: keeps a dream model resident and serves dreams over "
        "ZeroMQ to the GIMP plug-in, dream-batch and any other client.",
    )
    p.add_argument("--version", action="version", version=f"dreamd {__version__}")
    sub = p.add_subparsers(metavar="COMMAND")

    s = sub.add_parser("serve", help="run the daemon (in the foreground)")
    s.add_argument(
        "--bind",
        action="append",
        metavar="ENDPOINT",
        help="endpoint to listen on (repeatable): ipc://PATH or tcp://HOST:PORT; default "
        "$DREAMD_ENDPOINT or the platform default (ipc://$XDG_RUNTIME_DIR/dreamd/dreamd.sock)",
    )
    s.add_argument(
        "--device",
        default="auto",
        help="auto (every CUDA GPU, else MPS, else CPU), cpu, cuda, cuda:N, cuda:0,cuda:1, "
        "mps: one worker with its own resident model per device (default: auto)",
    )
    s.add_argument(
        "--model",
        default="auto",
        help="auto (googlenet when its weights are available, else efficientnet-lite0), "
        "googlenet or efficientnet-lite0 (default: auto)",
    )
    s.add_argument("--weights", metavar="FILE", help="weights file for the model")
    s.add_argument(
        "--offline",
        action="store_true",
        help="never download weights (same as DREAMD_OFFLINE=1)",
    )
    sec = s.add_argument_group("security")
    sec.add_argument(
        "--curve-dir",
        type=Path,
        metavar="DIR",
        help="CurveZMQ key folder from `dreamd keygen`: every tcp:// bind then requires a "
        "client key listed in DIR/authorized_clients",
    )
    sec.add_argument(
        "--insecure",
        action="store_true",
        help="allow a non-loopback tcp:// bind without CURVE (a warning is logged)",
    )
    lim = s.add_argument_group("limits")
    lim.add_argument("--max-pixels", type=int, help="largest image, width × height")
    lim.add_argument("--max-guide-pixels", type=int, help="largest guide image")
    lim.add_argument("--max-side", type=int, help="largest width or height")
    lim.add_argument("--max-encoded-mb", type=float, help="largest encoded file, MiB")
    lim.add_argument("--max-header-bytes", type=int, help="largest msgpack header")
    lim.add_argument("--max-total-steps", type=int, help="octaves × steps × iterations cap")
    lim.add_argument("--max-queue", type=int, default=256, help="queued jobs (default 256)")
    lim.add_argument(
        "--max-client-jobs", type=int, default=64, help="jobs per connection (default 64)"
    )
    lim.add_argument(
        "--client-timeout",
        type=float,
        default=0.0,
        help="also cancel the jobs of a client that has sent nothing for this many seconds "
        "(default 0: off; a vanished client is detected anyway, by its connection closing "
        "or by ZeroMQ heartbeats within 15 s)",
    )
    lim.add_argument(
        "--progress-interval",
        type=float,
        default=0.25,
        help="minimum seconds between progress messages of a job (default 0.25)",
    )
    lim.add_argument("--hwm", type=int, default=16, help="ZeroMQ high-water marks (messages)")
    s.add_argument("--log-level", default="INFO", help="DEBUG, INFO, WARNING (default INFO)")
    s.set_defaults(func=_cmd_serve)

    for name, func, helptext in (
        ("status", _cmd_status, "show the daemon's state"),
        ("layers", _cmd_layers, "list the loaded model's layers"),
        ("stop", _cmd_stop, "stop the daemon (SIGTERM) and wait until it has exited"),
    ):
        c = sub.add_parser(name, help=helptext)
        _client_args(c)
        if name in ("status", "layers"):
            c.add_argument("--json", action="store_true", help="print JSON")
        if name == "stop":
            c.add_argument(
                "--wait", type=float, default=30.0, help="seconds to wait for it to exit"
            )
        c.set_defaults(func=func)

    f = sub.add_parser(
        "fetch-weights", help="put GoogLeNet's weights into torch's hub cache (checked)"
    )
    f.add_argument(
        "--from",
        dest="source",
        type=Path,
        metavar="FILE",
        help="copy this file (googlenet-1378be20.pth) instead of downloading",
    )
    f.set_defaults(func=_cmd_fetch_weights)

    k = sub.add_parser("keygen", help="create CurveZMQ keys for tcp:// binds")
    k.add_argument("--curve-dir", type=Path, metavar="DIR", help="key folder")
    k.add_argument(
        "--client",
        action="append",
        default=[],
        metavar="NAME",
        help="also create a client key pair NAME and allow it (repeatable)",
    )
    k.add_argument("--force", action="store_true", help="replace existing keys")
    k.set_defaults(func=_cmd_keygen)

    g = sub.add_parser("gimp", help="install, remove or check the GIMP 3 plug-in")
    gsub = g.add_subparsers(metavar="ACTION")
    gi = gsub.add_parser("install", help="install or update the plug-in")
    gu = gsub.add_parser("uninstall", help="remove the plug-in")
    gd = gsub.add_parser("doctor", help="check everything the plug-in needs")
    for q in (gi, gu, gd):
        q.add_argument("--gimp-dir", help="GIMP 3 profile folder (default: found)")
    for q in (gi, gd):
        q.add_argument("--gimp-python", help="the Python GIMP runs plug-ins with")
        q.add_argument("--connect", metavar="ENDPOINT", help="endpoint the plug-in uses")
    gi.add_argument("--deps", choices=("auto", "system", "vendor"), default="auto")
    gi.add_argument("--python-version", help="GIMP's Python X.Y, when it cannot be run")
    gi.add_argument("--python-platform", help="GIMP's Python platform, with --python-version")
    gi.add_argument(
        "--start-command",
        help="how the plug-in may start dreamd when it is not running (default: never)",
    )
    gd.add_argument("--no-daemon", action="store_true", help="do not check the daemon")
    gi.set_defaults(func=_cmd_gimp, action="install")
    gu.set_defaults(func=_cmd_gimp, action="uninstall")
    gd.set_defaults(func=_cmd_gimp, action="doctor")
    return p


def _client_args(c: argparse.ArgumentParser) -> None:
    c.add_argument(
        "--connect",
        metavar="ENDPOINT",
        help="the daemon's endpoint (default: $DREAMD_ENDPOINT or the platform default)",
    )
    c.add_argument("--timeout", type=float, default=5.0, help="seconds to wait for an answer")
    c.add_argument("--server-key", type=Path, help="CURVE: the daemon's public key file")
    c.add_argument("--client-key", type=Path, help="CURVE: this client's .key_secret file")


# ------------------------------------------------------------------------------- serve


def _cmd_serve(args: argparse.Namespace) -> int:
    from dreamd import protocol

    from . import _log
    from ._preflight import preflight

    log = _log.setup(args.log_level)
    # Until the server exists, a SIGTERM/SIGINT is remembered (start-up then stops cleanly).
    early: list[str] = []
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda signum, _f: early.append(signal.Signals(signum).name))
    if args.offline:
        os.environ["DREAMD_OFFLINE"] = "1"
    try:
        binds = list(dict.fromkeys(args.bind or [protocol.resolve_endpoint(None)]))
    except ValueError as exc:
        raise ConfigError(f"bad endpoint: {exc}") from None
    limits = _limits(args)
    curve_dir = args.curve_dir.expanduser() if args.curve_dir else None
    # Refuse at once, before torch is even imported, when the start cannot succeed.
    try:
        checked = preflight(binds, curve_dir, args.insecure)
    except ConfigError as exc:
        log.error("%s", exc)
        return ExitCode.CONFIG
    try:
        return _serve(args, binds, limits, curve_dir, checked, log, early)
    finally:
        checked.lock.release()


def _serve(
    args: argparse.Namespace,
    binds: list[str],
    limits: Any,
    curve_dir: Path | None,
    checked: Any,
    log: Any,
    early: list[str],
) -> int:
    from . import _devices
    from ._server import ServeConfig, Server

    config = ServeConfig(
        binds=binds,
        devices=_devices.parse_devices(args.device),
        model=args.model,
        weights=args.weights,
        limits=limits,
        curve_dir=curve_dir,
        insecure=args.insecure,
        max_queue=_positive(args.max_queue, "--max-queue"),
        max_client_jobs=_positive(args.max_client_jobs, "--max-client-jobs"),
        client_timeout=max(0.0, args.client_timeout),
        progress_interval=max(0.0, args.progress_interval),
        hwm=_positive(args.hwm, "--hwm"),
        allow_download=os.environ.get("DREAMD_OFFLINE", "") in ("", "0"),
    )

    def on_ready(line: str) -> None:
        log.info("%s", line)
        _sd_notify("READY=1")

    server = Server(config, on_ready=on_ready)

    def on_signal(signum: int, _frame: object) -> None:
        server.request_stop(signal.Signals(signum).name)

    old = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGTERM, signal.SIGINT)}
    if early:
        server.request_stop(early[0])
    from dreamd import engine

    try:
        server.start(checked)
        server.run()
    except KeyboardInterrupt:
        log.info("stopped during start-up")
    except engine.WeightsError as exc:
        log.error("%s", exc)
        return ExitCode.UNAVAILABLE
    except engine.EngineError as exc:
        log.error("%s", exc)
        return ExitCode.CONFIG
    except ConfigError as exc:
        log.error("%s", exc)
        return ExitCode.CONFIG
    finally:
        _sd_notify("STOPPING=1")
        server.close()
        for sig, handler in old.items():
            signal.signal(sig, handler)
    log.info("stopped")
    return ExitCode.OK


def _positive(value: Any, flag: str) -> Any:
    if value is None or value <= 0:
        raise ConfigError(f"{flag} must be positive, got {value}")
    return value


def _limits(args: argparse.Namespace) -> Any:
    from dreamd import protocol

    changes: dict[str, int] = {}
    for flag, name in (
        ("max_pixels", "max_pixels"),
        ("max_guide_pixels", "max_guide_pixels"),
        ("max_side", "max_side"),
        ("max_header_bytes", "max_header_bytes"),
        ("max_total_steps", "max_total_steps"),
    ):
        value = getattr(args, flag)
        if value is not None:
            changes[name] = value
    if args.max_encoded_mb is not None:
        changes["max_encoded_bytes"] = int(args.max_encoded_mb * 1024 * 1024)
    try:
        return protocol.Limits(**changes)
    except ValueError as exc:
        raise ConfigError(str(exc)) from None


def _sd_notify(state: str) -> None:
    """Tell systemd (Type=notify units) about our state; nothing without $NOTIFY_SOCKET."""
    address = os.environ.get("NOTIFY_SOCKET")
    if not address or not hasattr(socket, "AF_UNIX"):
        return
    if address.startswith("@"):
        address = "\0" + address[1:]
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
            sock.connect(address)
            sock.sendall(state.encode())
    except OSError:
        pass


# ----------------------------------------------------------------------- client commands


def _client(args: argparse.Namespace) -> Any:
    from dreamd import protocol

    try:
        endpoint = protocol.resolve_endpoint(args.connect)
    except ValueError as exc:
        raise ConfigError(f"bad endpoint: {exc}") from None
    curve = None
    if args.server_key or args.client_key:
        if not (args.server_key and args.client_key):
            raise DaemonError("CURVE needs both --server-key and --client-key")
        try:
            curve = protocol.CurveKeys.from_files(args.server_key, args.client_key)
        except (OSError, ValueError) as exc:
            raise DaemonError(f"cannot read the CURVE keys: {exc}") from None
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


def _cmd_status(args: argparse.Namespace) -> int:
    status = _ask(args)
    if args.json:
        print(json.dumps(status, indent=2, sort_keys=True))
        return ExitCode.OK
    print(_format_status(status))
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


def _cmd_layers(args: argparse.Namespace) -> int:
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


def _cmd_stop(args: argparse.Namespace) -> int:
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


# ----------------------------------------------------------------------------- weights


def _cmd_fetch_weights(args: argparse.Namespace) -> int:
    from . import _fetch

    try:
        message = _fetch.fetch_googlenet(args.source)
    except _fetch.FetchError as exc:
        _err(str(exc))
        return int(exc.exit_code)
    print(message)
    return ExitCode.OK


# ------------------------------------------------------------------------------ keygen


def _cmd_keygen(args: argparse.Namespace) -> int:
    from . import _security

    curve_dir = (args.curve_dir or _security.default_curve_dir()).expanduser()
    result = _security.keygen(curve_dir, args.client, args.force)
    if result.created_server:
        print(f"server key pair: {result.server_public} (public), {result.server_secret} (secret)")
    else:
        print(f"server key pair exists: {result.server_public} (use --force to replace it)")
    for public, secret in result.clients:
        print(f"client key pair: {public} (allowed), {secret} (secret: give it to that client)")
    print(f"allow-list: {curve_dir / _security.ALLOW_DIR} (one client public key per file)")
    print(
        f"serve with: dreamd serve --bind tcp://0.0.0.0:5599 --curve-dir {curve_dir}\n"
        f"clients pass: --server-key {result.server_public} --client-key CLIENT.key_secret"
    )
    return ExitCode.OK


# -------------------------------------------------------------------------------- gimp


def _cmd_gimp(args: argparse.Namespace) -> int:
    if not getattr(args, "action", None):
        _err("gimp needs an action: install, uninstall or doctor")
        return ExitCode.USAGE
    import importlib

    try:
        # Imported by name: the plug-in package is optional and type-checked on its own.
        installer: Any = importlib.import_module("dreamd.gimp.installer")
    except ImportError as exc:
        _err(f"the GIMP plug-in installer is not available in this installation ({exc})")
        return ExitCode.UNAVAILABLE
    try:
        if args.action == "install":
            result = installer.install(
                args.gimp_dir,
                args.connect,
                args.start_command,
                gimp_python=args.gimp_python,
                deps=args.deps,
                python_version=args.python_version,
                python_platform=args.python_platform,
            )
            print(result)
            return ExitCode.OK
        if args.action == "uninstall":
            removed = installer.uninstall(args.gimp_dir)
            print(f"removed {removed}" if removed else "the plug-in was not installed")
            return ExitCode.OK
        checks = installer.doctor(
            args.gimp_dir,
            gimp_python=args.gimp_python,
            endpoint=args.connect,
            check_daemon=not args.no_daemon,
        )
    except installer.InstallError as exc:
        _err(str(exc))
        return ExitCode.FAILED
    for check in checks:
        print(check)
    return ExitCode.OK if all(c.ok for c in checks) else ExitCode.FAILED
