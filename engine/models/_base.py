"""What every dream model provides: a trunk of stages, a layer catalogue, truncated forward."""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence

import torch
from torch import Tensor, nn
from torch.nn.utils.fusion import fuse_conv_bn_eval

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

    Relies on the convention, held by both our models, that a conv and its batch norm are
    attributes registered one after the other in the same parent module.
    """
    for parent in module.modules():
        children = list(parent.named_children())
        for (conv_name, conv), (bn_name, bn) in itertools.pairwise(children):
            if isinstance(conv, nn.Conv2d) and isinstance(bn, nn.BatchNorm2d):
                setattr(parent, conv_name, fuse_conv_bn_eval(conv, bn))
                setattr(parent, bn_name, nn.Identity())


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
    side = 1
    with torch.no_grad():
        while side < 4096:
            try:
                x = torch.zeros(1, 3, side, side, device=device)
                feats = net.features(x, layers)
                if all(f.shape[-1] >= 1 and f.shape[-2] >= 1 for f in feats):
                    return side
            except RuntimeError:
                pass
            side += 1
    return side
