"""Weights of the Caffe GoogLeNets from the files users have, the cache, or their homes.

Accepted, told apart by their first bytes rather than their names:

- a ``.caffemodel`` (either protobuf layout, see ``_caffe``);
- MIT's ``googlenet_places205.tar.gz`` (or any tar holding one ``.caffemodel``);
- neural-dream's converted state dict (``bvlc_googlenet.pth``, ``googlenet_places205.pth``).

Every failure is a :class:`WeightsCorrupt` or :class:`WeightsUnavailable` naming the file
and what is wrong with it, raised before any image is touched.
"""

from __future__ import annotations

import os
import shutil
import tarfile
import tempfile
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np
import torch

from .._errors import WeightsCorrupt, WeightsUnavailable
from .._weights import check_downloads_allowed, download, file_hash, load_state_dict
from . import bvlc_googlenet as bvlc
from ._caffe import CaffeFormatError, read_layers

Layers = dict[str, list[np.ndarray]]


@dataclass(frozen=True)
class Home:
    """Where a network's weights are published, and how to recognise the file."""

    url: str
    #: Cache file name without extension (``.caffemodel`` or ``.pth`` is added).
    stem: str
    size: int | None = None
    sha1: str | None = None


HOMES: dict[str, Home] = {
    # BVLC's model zoo: the file dream.py and the notebook load.
    bvlc.NAME: Home(
        "http://dl.caffe.berkeleyvision.org/bvlc_googlenet.caffemodel",
        "bvlc_googlenet",
        53_533_754,
        "405fc5acd08a3bb12de8ee5e23a96bec22f08204",
    ),
    # MIT publishes no checksum: the tarball is checked by what it holds (a caffemodel
    # that loads as a 205-class GoogLeNet).
    bvlc.PLACES_NAME: Home(
        "http://places.csail.mit.edu/model/googlenet_places205.tar.gz", "googlenet_places205"
    ),
}
_SUFFIXES = (".caffemodel", ".pth")


def cache_dir() -> Path:
    """The folder the other models' weights use too (torch's hub cache)."""
    return Path(torch.hub.get_dir()) / "checkpoints"


def cached(name: str) -> Path | None:
    """The cached weights file of ``name``, if one was installed."""
    for suffix in _SUFFIXES:
        path = cache_dir() / (HOMES[name].stem + suffix)
        if path.is_file():
            return path
    return None


def how_to_get(name: str) -> str:
    return (
        f"run `dreamd fetch-weights {name}` (with network), or `dreamd fetch-weights {name} "
        f"--from FILE` with your {HOMES[name].stem}.caffemodel, "
        f"{HOMES[name].url.rsplit('/', 1)[-1]} or neural-dream's .pth, or pass --weights FILE"
    )


def weights_path(name: str, weights: str | os.PathLike[str] | None, allow_download: bool) -> Path:
    """An explicit file, else the cache, else a download into the cache.

    Raises:
        WeightsUnavailable: none of them; the message says how to get the weights.
    """
    if weights is not None:
        return Path(weights).expanduser()
    found = cached(name)
    if found is not None:
        return found
    if not allow_download:
        raise WeightsUnavailable(
            f"{name} weights are not in {cache_dir()} and downloads are not allowed here. "
            f"Fix: {how_to_get(name)}."
        )
    try:
        return fetch(name)
    except WeightsUnavailable as exc:
        raise WeightsUnavailable(
            f"{name} weights are not available ({exc}). Fix: {how_to_get(name)}."
        ) from None


# -- reading ---------------------------------------------------------------------------------


def sniff(head: bytes) -> str:
    """``gzip``, ``tar``, ``torch`` (zip or pickle) or ``caffe``, from a file's first bytes."""
    if head[:2] == b"\x1f\x8b":
        return "gzip"
    if head[257:262] == b"ustar":
        return "tar"
    if head[:4] == b"PK\x03\x04" or head[:1] == b"\x80":
        return "torch"
    return "caffe"


def read_any(path: Path, name: str) -> Layers:
    """Caffe-named blobs from any accepted file.

    Raises:
        WeightsUnavailable: no such file. WeightsCorrupt: anything else wrong with it.
    """
    if not path.is_file():
        raise WeightsUnavailable(f"weights file {path} for {name} does not exist")
    head = _head(path)
    kind = sniff(head)
    if kind == "torch":
        layers = bvlc.layers_from_state_dict(load_state_dict(path, name))
        if not layers:
            raise WeightsCorrupt(
                f"{path} is a PyTorch file but not neural-dream's GoogLeNet state dict "
                "(no conv1_7x7_s2.weight …)"
            )
        return layers
    if kind in ("gzip", "tar"):
        data = _caffemodel_in_tar(path)
    else:
        if _looks_like_text(head):
            raise WeightsCorrupt(
                f"{path} is a text file (a deploy.prototxt?), not weights: pass the .caffemodel"
            )
        data = path.read_bytes()
    try:
        return read_layers(data)
    except CaffeFormatError as exc:
        raise WeightsCorrupt(f"{path} is not a readable caffemodel: {exc}") from None


def _head(path: Path) -> bytes:
    with path.open("rb") as fh:
        return fh.read(512)


def _looks_like_text(head: bytes) -> bool:
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return all(c.isprintable() or c in "\t\r\n" for c in text)


def _caffemodel_in_tar(path: Path) -> bytes:
    try:
        with tarfile.open(path) as tar:
            members = [m for m in tar.getmembers() if m.isfile() and m.name.endswith(".caffemodel")]
            if len(members) != 1:
                found = ", ".join(m.name for m in members) or "none"
                raise WeightsCorrupt(f"{path} should hold exactly one .caffemodel (found: {found})")
            fh = tar.extractfile(members[0])
            assert fh is not None
            return fh.read()
    except (tarfile.TarError, EOFError, OSError, zlib.error) as exc:
        raise WeightsCorrupt(f"{path} is a damaged or cut-short archive ({exc})") from None


def build(name: str, layers: Mapping[str, list[np.ndarray]], path: Path) -> bvlc.BVLCGoogLeNet:
    """The frozen network, or :class:`WeightsCorrupt` naming the file and the layer."""
    try:
        return bvlc.build(name, layers, str(path))
    except bvlc.WeightsMismatch as exc:
        raise WeightsCorrupt(f"{path} does not hold {name} weights: {exc}") from None


def classes_in(layers: Mapping[str, list[np.ndarray]]) -> int | None:
    """The classifier's class count, when the file has one."""
    blobs = layers.get(bvlc.CLASSIFIER)
    if not blobs:
        return None
    dims = [d for d in blobs[0].shape if d != 1]
    return dims[0] if dims else None


# -- getting and installing ------------------------------------------------------------------


def check_published(path: Path, name: str) -> None:
    """Size and SHA-1 against the published ones (where published)."""
    home = HOMES[name]
    if home.size is not None and path.stat().st_size != home.size:
        raise WeightsCorrupt(
            f"{path} has {path.stat().st_size} bytes, {home.url} has {home.size}: "
            "incomplete or not the published file"
        )
    if home.sha1 is not None and file_hash(path, "sha1") != home.sha1:
        raise WeightsCorrupt(f"{path} does not match the published SHA-1 {home.sha1}")


def fetch(name: str) -> Path:
    """Download ``name``'s weights from their public home into the cache (checked).

    Raises:
        WeightsUnavailable: offline or the server failed. WeightsCorrupt: wrong bytes.
    """
    home = HOMES[name]
    check_downloads_allowed()
    with tempfile.TemporaryDirectory(dir=_cache_dir_made()) as tmp:
        got = download(
            home.url,
            Path(tmp) / home.url.rsplit("/", 1)[-1],
            check=lambda p: check_published(p, name),
        )
        return install(name, got)


def install(name: str, source: Path) -> Path:
    """Check that ``source`` loads as ``name``, then put it into the cache atomically (a
    tarball's caffemodel extracted). Returns the cached file.

    Raises:
        WeightsUnavailable, WeightsCorrupt: naming ``source``; nothing is written then.
    """
    source = source.expanduser()
    layers = read_any(source, name)
    build(name, layers, source)
    kind = sniff(_head(source))
    suffix = ".pth" if kind == "torch" else ".caffemodel"
    dest = _cache_dir_made() / (HOMES[name].stem + suffix)
    if kind in ("gzip", "tar"):
        _write_atomic(dest, _caffemodel_in_tar(source))
    else:
        copy_atomic(source, dest)
    for other in _SUFFIXES:  # one cached file per network: the one just installed
        stale = dest.with_suffix(other)
        if other != suffix and stale.exists():
            stale.unlink()
    return dest


def copy_atomic(source: Path, dest: Path) -> Path:
    """Copy ``source`` to ``dest`` through a temporary file in the same folder: ``dest`` is
    either the old file or the whole new one, never a part."""
    if dest.exists() and os.path.samefile(source, dest):
        return dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    with source.open("rb") as src:
        return _write_atomic(dest, src)


def _write_atomic(dest: Path, data: bytes | BinaryIO) -> Path:
    fd, tmp_name = tempfile.mkstemp(dir=dest.parent, prefix=dest.name, suffix=".part")
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as out:
            if isinstance(data, bytes):
                out.write(data)
            else:
                shutil.copyfileobj(data, out)
        os.replace(tmp, dest)
    finally:
        tmp.unlink(missing_ok=True)
    return dest


def _cache_dir_made() -> Path:
    path = cache_dir()
    path.mkdir(parents=True, exist_ok=True)
    return path
