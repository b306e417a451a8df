"""Where model weights come from: an explicit file, torch's hub cache, or a download."""

from __future__ import annotations

import hashlib
import os
import tempfile
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

import torch
from torch import Tensor

from ._errors import WeightsCorrupt, WeightsUnavailable

#: Set to 1 to forbid downloads (the daemon's tests and air-gapped machines).
OFFLINE_ENV = "DREAMD_OFFLINE"
DOWNLOAD_TIMEOUT_S = 30.0


def load_state_dict(path: str | os.PathLike[str], what: str) -> dict[str, Tensor]:
    """Read a state dict from ``path`` without executing pickled code.

    Raises:
        WeightsUnavailable: the file does not exist.
        WeightsCorrupt: it exists but is not a tensor dictionary.
    """
    p = Path(path).expanduser()
    if not p.is_file():
        raise WeightsUnavailable(f"weights file {p} for {what} does not exist")
    try:
        state = torch.load(p, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises many types for a bad file; all mean the same here
        raise WeightsCorrupt(
            f"{p} is not a readable {what} weights file ({type(exc).__name__}: {exc}). "
            "Delete it and fetch the weights again (`dreamd fetch-weights`)."
        ) from None
    if isinstance(state, dict) and "state_dict" in state and isinstance(state["state_dict"], dict):
        state = state["state_dict"]
    if not isinstance(state, dict) or not all(isinstance(v, Tensor) for v in state.values()):
        raise WeightsCorrupt(f"{p} does not hold a {what} state dict (tensor mapping)")
    return state


def hub_checkpoint_path(url: str) -> Path:
    """Where torch's hub cache keeps the file downloaded from ``url``."""
    return Path(torch.hub.get_dir()) / "checkpoints" / os.path.basename(url)


def hash_prefix(url: str) -> str:
    """The sha256 prefix torchvision encodes in its file names (``name-<prefix>.pth``)."""
    stem = os.path.basename(url).rsplit(".", 1)[0]
    return stem.rsplit("-", 1)[-1]


def file_hash(path: Path, algorithm: str = "sha256") -> str:
    """Hex digest of a file, read in chunks; remembered for this process while the file's
    size and modification time stay the same (a cached file is checked, then loaded and
    recorded: hashed once, not twice)."""
    st = path.stat()
    key = (str(path.resolve()), st.st_size, st.st_mtime_ns, algorithm)
    known = _HASHES.get(key)
    if known is not None:
        return known
    digest = hashlib.new(algorithm)
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    _HASHES[key] = digest.hexdigest()
    return _HASHES[key]


_HASHES: dict[tuple[str, int, int, str], str] = {}


def check_hash(path: Path, prefix: str) -> None:
    """Raise :class:`WeightsCorrupt` unless the file's sha256 starts with ``prefix``."""
    if not file_hash(path).startswith(prefix):
        raise WeightsCorrupt(
            f"{path} does not match the published hash ({prefix}…): it is damaged or not "
            "the right file. Delete it and fetch again (`dreamd fetch-weights`)."
        )


def check_downloads_allowed() -> None:
    """Raise :class:`WeightsUnavailable` when ``DREAMD_OFFLINE`` forbids downloads."""
    if os.environ.get(OFFLINE_ENV, "") not in ("", "0"):
        raise WeightsUnavailable(f"downloads are disabled ({OFFLINE_ENV} is set)")


def download(
    url: str,
    dest: Path,
    timeout: float = DOWNLOAD_TIMEOUT_S,
    check: Callable[[Path], None] | None = None,
) -> Path:
    """Download ``url`` to ``dest`` atomically, checking the hash prefix in its name (or
    with ``check``, which raises :class:`WeightsCorrupt` on the downloaded file).

    Raises:
        WeightsUnavailable: offline, forbidden by ``DREAMD_OFFLINE``, or the server failed.
        WeightsCorrupt: the downloaded bytes do not match the published hash.
    """
    check_downloads_allowed()
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=dest.parent, prefix=dest.name, suffix=".part")
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as out, urllib.request.urlopen(url, timeout=timeout) as resp:
            for chunk in iter(lambda: resp.read(1 << 20), b""):
                out.write(chunk)
        if check is None:
            check_hash(tmp, hash_prefix(url))
        else:
            check(tmp)
        os.replace(tmp, dest)
    except (urllib.error.URLError, OSError) as exc:
        raise WeightsUnavailable(f"could not download {url}: {exc}") from None
    finally:
        tmp.unlink(missing_ok=True)
    return dest
