"""``dreamd``'s arguments: one sub-command each for serve, status, layers, stop, doctor,
fetch-weights, keygen and gimp (see :mod:`.cli`)."""

from __future__ import annotations

import argparse
from pathlib import Path

from . import __version__, _cli_client, _cli_doctor, _cli_serve, _cli_setup


def parser() -> argparse.ArgumentParser:
    """``dreamd``'s command line; each command sets ``func``, which runs it."""
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
        help="auto (bvlc-googlenet, the original DeepDream network, when its weights are "
        "here; else googlenet; else efficientnet-lite0), bvlc-googlenet, places205-googlenet, "
        "googlenet or efficientnet-lite0 (default: auto)",
    )
    s.add_argument(
        "--weights",
        metavar="FILE",
        help="weights file for the model: a .caffemodel, MIT's Places205 tarball or "
        "neural-dream's .pth for the Caffe networks (auto: the model the file is for)",
    )
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
    s.set_defaults(func=_cli_serve.serve)

    for name, func, helptext in (
        ("status", _cli_client.status, "show the daemon's state"),
        ("layers", _cli_client.layers, "list the loaded model's layers"),
        ("stop", _cli_client.stop, "stop the daemon (SIGTERM) and wait until it has exited"),
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

    d = sub.add_parser(
        "doctor",
        help="check devices, weights, the daemon and the GIMP plug-in; say what to fix",
    )
    _client_args(d)
    d.add_argument("--gimp-dir", help="GIMP 3 profile folder (default: found)")
    d.add_argument("--gimp-python", help="the Python GIMP runs plug-ins with")
    d.add_argument("--json", action="store_true", help="print JSON")
    d.set_defaults(func=_cli_doctor.doctor, timeout=2.0)

    f = sub.add_parser(
        "fetch-weights", help="put a model's weights into torch's hub cache (checked)"
    )
    f.add_argument(
        "model",
        nargs="?",
        metavar="MODEL",
        help="bvlc-googlenet, places205-googlenet or googlenet (default: the model the --from "
        "file is for, else bvlc-googlenet)",
    )
    f.add_argument(
        "--from",
        dest="source",
        type=Path,
        metavar="FILE",
        help="install this file instead of downloading: a .caffemodel, "
        "googlenet_places205.tar.gz, neural-dream's .pth, or googlenet-1378be20.pth",
    )
    f.set_defaults(func=_cli_setup.fetch_weights)

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
    k.set_defaults(func=_cli_setup.keygen)

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
    gi.set_defaults(func=_cli_setup.gimp, action="install")
    gu.set_defaults(func=_cli_setup.gimp, action="uninstall")
    gd.set_defaults(func=_cli_setup.gimp, action="doctor")
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
