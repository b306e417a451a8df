"""What every dream model provides: a trunk of stages, a layer catalogue, truncated forward."""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence

import torch
from torch import Tensor, nn

from .._catalogue import Layer, LayerCatalogue
from ._space_to_depth import PadFn, recast_stem_convs, symmetric_pads


class DreamNet(nn.Module):
    """A network seen as stages run in order, so a forward pass can stop early.

    Subclasses fill ``stages`` (an ``nn.ModuleList``) and ``catalogue`` and define
    :meth:`normalize`. Parameters are frozen: dreams differentiate the input only.
    """

    stages: nn.ModuleList
    catalogue: LayerCatalogue
    #: Human-readable description of where the weights came from.
    weights_source: str = "random"

    def normalize(self, x: Tensor) -> Tensor:
        """Map an image batch in [0, 1], shape (N, 3, H, W), to the network's input range."""
        raise NotImplementedError

    def features(self, x: Tensor, layers: Sequence[Layer]) -> list[Tensor]:
        """Activations of ``layers`` for an input batch already :meth:`normalize`\\ d.

        Args:
            x: (N, 3, H, W) network input.
            layers: catalogue entries, any order.

        Returns:
            One (N, C, h, w) tensor per requested layer, in the same order. Stages past
            the deepest requested layer are never run.
        """
        wanted: dict[int, list[int]] = {}
        for i, layer in enumerate(layers):
            wanted.setdefault(layer.stage, []).append(i)
        out: list[Tensor | None] = [None] * len(layers)
        deepest = max(wanted)
        for index in range(deepest + 1):
            stage = self.stages[index]
            needs_output = index < deepest
            for i in wanted.get(index, ()):
                branch = layers[i].branch
                if branch is None:
                    needs_output = True
                else:
                    out[i] = branch(stage, x)
            if needs_output:
                x = stage(x)
                for i in wanted.get(index, ()):
                    if layers[i].branch is None:
                        out[i] = x
        return [t for t in out if t is not None]

    def stem_pads(self, conv: nn.Conv2d) -> PadFn | None:
        """How a strided stem convolution pads its input (``None``: leave the conv as is)."""
        return symmetric_pads(conv)

    def freeze(self) -> DreamNet:
        """Eval mode, no parameter gradients, batch norms folded into their convolutions,
        stem convolutions recast for a fast input gradient (see ``_space_to_depth``)."""
        self.eval()
        fold_batchnorms(self)
        recast_stem_convs(self, self.stem_pads)
        for p in self.parameters():
            p.requires_grad_(False)
        return self


def fold_batchnorms(module: nn.Module) -> None:
    """Fold every ``Conv2d`` directly followed by a ``BatchNorm2d`` sibling into the conv.

    Relies on the convention, held by all our models, that a conv and its batch norm are
    attributes registered one after the other in the same parent module. The conv keeps
    its weight tensor's storage (scaled in place, not copied: loading stays cheap).
    """
    for parent in module.modules():
        children = list(parent.named_children())
        for (_, conv), (bn_name, bn) in itertools.pairwise(children):
            if isinstance(conv, nn.Conv2d) and isinstance(bn, nn.BatchNorm2d):
                _fold(conv, bn)
                setattr(parent, bn_name, nn.Identity())


def _fold(conv: nn.Conv2d, bn: nn.BatchNorm2d) -> None:
    assert bn.running_mean is not None and bn.running_var is not None
    with torch.no_grad():
        scale = torch.rsqrt(bn.running_var + bn.eps)
        if bn.weight is not None:
            scale = scale * bn.weight
        bias = -bn.running_mean * scale
        if conv.bias is not None:
            bias = bias + conv.bias * scale
        if bn.bias is not None:
            bias = bias + bn.bias
        weight = conv.weight.mul_(scale.reshape(-1, *([1] * (conv.weight.dim() - 1))))
    conv.weight = nn.Parameter(weight, requires_grad=False)
    conv.bias = nn.Parameter(bias, requires_grad=False)


def min_input_side(net: DreamNet, layers: Iterable[Layer], device: torch.device) -> int:
    """Smallest square input side for which every layer in ``layers`` yields ≥ 1×1 features.

    Found by trying sizes: cheap because the inputs are tiny, and exact for any
    architecture (pooling with ceil_mode, 'same' padding, …).
    """
    layers = list(layers)
    key = tuple(layer.name for layer in layers)
    cache: dict[tuple[str, ...], int] = net.__dict__.setdefault("_min_side_cache", {})
    if key not in cache:
        cache[key] = _search_min_side(net, layers, device)
    return cache[key]


def _search_min_side(net: DreamNet, layers: list[Layer], device: torch.device) -> int:
    # Doubling, then bisection: whether a side yields features only gets truer as the side
    # grows, and each new side costs the backend kernels made for its shapes, so a handful
    # of probes instead of one per pixel (a one-shot run pays for all of them).
    low, high = 0, 1  # a side known too small (0: none yet), one not yet tried
    while high < 4096 and not _yields_features(net, layers, device, high):
        low, high = high, high * 2
    high = min(high, 4096)
    while high - low > 1:
        mid = (low + high) // 2
        if _yields_features(net, layers, device, mid):
            high = mid
        else:
            low = mid
    return high


def _yields_features(net: DreamNet, layers: list[Layer], device: torch.device, side: int) -> bool:
    with torch.no_grad():
        try:
            x = torch.zeros(1, 3, side, side, device=device)
            feats = net.features(x, layers)
        except RuntimeError:
            return False
    return all(f.shape[-1] >= 1 and f.shape[-2] >= 1 for f in feats)
