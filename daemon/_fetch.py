"""``dreamd fetch-weights``: GoogLeNet's weights into torch's hub cache, checked.

Downloading goes through the engine (hash-checked, atomic). ``--from FILE`` copies a file
brought from elsewhere, after checking its SHA-256 prefix (the one torchvision puts in
the file name) and that it loads as GoogLeNet, so the daemon finds it next time without
network.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from dreamd import engine
from dreamd.engine import _weights
from dreamd.engine.models import googlenet

from ._errors import DaemonError, ExitCode


class FetchError(DaemonError):
    exit_code = ExitCode.FAILED


def cache_path() -> Path:
    """Where the daemon looks for GoogLeNet's weights (torch's hub cache)."""
    return _weights.hub_checkpoint_path(googlenet.WEIGHTS.url)


def fetch_googlenet(source: Path | None = None) -> str:
    """Fetch or copy the weights; return a line saying where they are.

    Raises:
        FetchError: no network / offline (exit 5), or a file that is not the weights.
    """
    dest = cache_path()
    prefix = _weights.hash_prefix(googlenet.WEIGHTS.url)
    if source is None:
        try:
            path = engine.googlenet_weights_path(None, allow_download=True)
        except engine.WeightsUnavailable as exc:
            err = FetchError(str(exc))
            err.exit_code = ExitCode.UNAVAILABLE
            raise err from None
        except engine.WeightsError as exc:
            raise FetchError(str(exc)) from None
        _check_loads(path)
        return f"GoogLeNet weights are in {path} (hash checked)"
    source = source.expanduser()
    if not source.is_file():
        raise FetchError(f"{source} does not exist")
    try:
        _weights.check_hash(source, prefix)
    except engine.WeightsCorrupt as exc:
        raise FetchError(
            f"{source} is not GoogLeNet's IMAGENET1K_V1 weights file: its SHA-256 does not "
            f"start with {prefix} ({exc})"
        ) from None
    _check_loads(source)
    if dest.exists() and os.path.samefile(source, dest):
        return f"GoogLeNet weights are already in {dest} (hash checked)"
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=dest.name, suffix=".part")
    os.close(fd)
    try:
        shutil.copyfile(source, tmp)
        os.replace(tmp, dest)
    finally:
        Path(tmp).unlink(missing_ok=True)
    return f"copied {source} to {dest} (hash checked); dreamd will use it for --model googlenet"


def _check_loads(path: Path) -> None:
    try:
        engine.load_model("googlenet", "cpu", weights=path, allow_download=False)
    except engine.WeightsError as exc:
        raise FetchError(str(exc)) from None
