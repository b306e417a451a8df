"""Setting up around the daemon: ``dreamd fetch-weights``, ``keygen`` and ``gimp``."""

from __future__ import annotations

import argparse

from ._errors import ExitCode
from ._log import print_error


def fetch_weights(args: argparse.Namespace) -> int:
    """``dreamd fetch-weights [MODEL] [--from FILE]``: weights into torch's hub cache, checked."""
    from . import _fetch

    try:
        message = _fetch.fetch(args.model, args.source)
    except _fetch.FetchError as exc:
        print_error(str(exc))
        return int(exc.exit_code)
    print(message)
    return ExitCode.OK


def keygen(args: argparse.Namespace) -> int:
    """``dreamd keygen``: CurveZMQ keys for tcp:// binds (and clients)."""
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


def gimp(args: argparse.Namespace) -> int:
    """``dreamd gimp install|uninstall|doctor``: the GIMP 3 plug-in."""
    if not getattr(args, "action", None):
        print_error("gimp needs an action: install, uninstall or doctor")
        return ExitCode.USAGE
    try:
        from dreamd.gimp import installer
    except ImportError as exc:  # an installation without the plug-in
        print_error(f"the GIMP plug-in installer is not available in this installation ({exc})")
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
        print_error(str(exc))
        return ExitCode.FAILED
    for check in checks:
        print(check)
    return ExitCode.OK if all(c.ok for c in checks) else ExitCode.FAILED
