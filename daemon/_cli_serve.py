"""``dreamd serve``: the daemon in the foreground, configured from its flags.

The engine (and torch) is imported only once the endpoints are known to be free and safe
to bind, so that a start that cannot succeed is refused at once.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import socket
from pathlib import Path
from typing import TYPE_CHECKING

from ._errors import ConfigError, ExitCode

if TYPE_CHECKING:
    from dreamd import protocol

    from ._preflight import Preflight


def serve(args: argparse.Namespace) -> int:
    """``dreamd serve``: run the daemon in the foreground until SIGTERM/SIGINT."""
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
    limits: protocol.Limits,
    curve_dir: Path | None,
    checked: Preflight,
    log: logging.Logger,
    early: list[str],
) -> int:
    from dreamd import engine

    from ._server import ServeConfig, Server

    config = ServeConfig(
        binds=binds,
        devices=parse_devices(args.device),
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


def _positive(value: int | None, flag: str) -> int:
    if value is None or value <= 0:
        raise ConfigError(f"{flag} must be positive, got {value}")
    return value


def _limits(args: argparse.Namespace) -> protocol.Limits:
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


def parse_devices(spec: str) -> list[str]:
    """``--device``: the engine's device names (``auto``: every CUDA GPU, else MPS, else
    the CPU; a comma-separated list for several workers).

    Raises:
        ConfigError: an unknown device, or one this machine does not have.
    """
    from dreamd import engine

    try:
        return engine.resolve_devices(spec)
    except engine.DeviceUnavailable as exc:
        raise ConfigError(f"--device {exc}") from None
