"""GoogLeNet (Inception v1) for dreaming, with the caffe layer names of the original notebook.

The architecture and ImageNet weights are torchvision's (``IMAGENET1K_V1``). Layer names
follow the BVLC caffe model the DeepDream notebook used (``inception_4c/output``,
``inception_4d/3x3_reduce`` …); torchvision's names (``inception4c``,
``inception4d.branch2.0``) are accepted as aliases.
"""

from __future__ import annotations

from torch import Tensor, nn
from torchvision.models import GoogLeNet, GoogLeNet_Weights

from .._catalogue import BranchFn, Layer, LayerCatalogue
from ._base import DreamNet

NAME = "googlenet"
DEFAULT_LAYER = "inception_4c/output"
STYLE_LAYERS = (
    "conv2/3x3",
    "inception_3a/output",
    "inception_3b/output",
    "inception_4a/output",
    "inception_4b/output",
)
CONTENT_LAYER = "inception_4b/output"
#: What torchvision publishes for these weights; the URL's hash prefix is checked on download.
WEIGHTS = GoogLeNet_Weights.IMAGENET1K_V1

# (caffe name, torchvision stage name, cumulative stride, channels)
_TRUNK: list[tuple[str, str, int, int]] = [
    ("conv1/7x7_s2", "conv1", 2, 64),
    ("pool1/3x3_s2", "maxpool1", 4, 64),
    ("conv2/3x3_reduce", "conv2", 4, 64),
    ("conv2/3x3", "conv3", 4, 192),
    ("pool2/3x3_s2", "maxpool2", 8, 192),
    ("inception_3a/output", "inception3a", 8, 256),
    ("inception_3b/output", "inception3b", 8, 480),
    ("pool3/3x3_s2", "maxpool3", 16, 480),
    ("inception_4a/output", "inception4a", 16, 512),
    ("inception_4b/output", "inception4b", 16, 512),
    ("inception_4c/output", "inception4c", 16, 512),
    ("inception_4d/output", "inception4d", 16, 528),
    ("inception_4e/output", "inception4e", 16, 832),
    ("pool4/3x3_s2", "maxpool4", 32, 832),
    ("inception_5a/output", "inception5a", 32, 832),
    ("inception_5b/output", "inception5b", 32, 1024),
]


def _path(branch: str, upto: int | None) -> BranchFn:
    """Compute ``stage.<branch>`` (or its first ``upto`` modules) from the stage input."""

    def run(stage: nn.Module, x: Tensor) -> Tensor:
        module = getattr(stage, branch)
        if upto is None:
            return module(x)
        for sub in list(module)[:upto]:
            x = sub(x)
        return x

    return run


# caffe branch suffix -> (torchvision branch, modules to run (None = all), torchvision alias)
_BRANCHES: list[tuple[str, str, int | None, str]] = [
    ("1x1", "branch1", None, "branch1"),
    ("3x3_reduce", "branch2", 1, "branch2.0"),
    ("3x3", "branch2", None, "branch2"),
    ("5x5_reduce", "branch3", 1, "branch3.0"),
    ("5x5", "branch3", None, "branch3"),  # torchvision uses a 3x3 conv here (its port's quirk)
    ("pool", "branch4", 1, "branch4.0"),
    ("pool_proj", "branch4", None, "branch4"),
]


def _catalogue(net: GoogLeNet) -> LayerCatalogue:
    layers: list[Layer] = []
    for index, (caffe, tv, stride, channels) in enumerate(_TRUNK):
        if tv.startswith("inception"):
            block = caffe.split("/")[0]
            stage = getattr(net, tv)
            for suffix, branch, upto, alias in _BRANCHES:
                mod = getattr(stage, branch)
                last = list(mod)[(upto or len(mod)) - 1] if isinstance(mod, nn.Sequential) else mod
                ch = _out_channels(last, stage)
                layers.append(
                    Layer(
                        f"{block}/{suffix}",
                        index,
                        ch,
                        stride,
                        (f"{tv}.{alias}",),
                        _path(branch, upto),
                    )
                )
        layers.append(Layer(caffe, index, channels, stride, (tv,)))
    return LayerCatalogue(NAME, layers, DEFAULT_LAYER, STYLE_LAYERS, CONTENT_LAYER)


def _out_channels(module: nn.Module, stage: nn.Module) -> int:
    """Output channels of a BasicConv2d, or of the stage input for a bare pooling layer."""
    conv = getattr(module, "conv", None)
    if isinstance(conv, nn.Conv2d):
        return conv.out_channels
    first = stage.get_submodule("branch1.conv")
    assert isinstance(first, nn.Conv2d)
    return first.in_channels


class GoogLeNetDream(DreamNet):
    """torchvision's GoogLeNet split into named stages (no auxiliary heads, no classifier)."""

    def __init__(self, net: GoogLeNet, weights_source: str = "random") -> None:
        super().__init__()
        self.stages = nn.ModuleList(getattr(net, tv) for _, tv, _, _ in _TRUNK)
        self.catalogue = _catalogue(net)
        self.weights_source = weights_source

    def normalize(self, x: Tensor) -> Tensor:
        # torchvision's IMAGENET1K_V1 GoogLeNet was ported from TF and wants (x - 0.5) / 0.5
        # (that is what its transform_input does after ImageNet normalisation).
        return x * 2.0 - 1.0


def build(state_dict: dict[str, Tensor] | None, weights_source: str) -> GoogLeNetDream:
    """A frozen dream net from a torchvision GoogLeNet state dict (``None``: random init)."""
    net = GoogLeNet(
        num_classes=1000, aux_logits=False, transform_input=False, init_weights=state_dict is None
    )
    if state_dict is not None:
        # aux classifiers are in the published file but not in a net built without them
        filtered = {k: v for k, v in state_dict.items() if not k.startswith("aux")}
        net.load_state_dict(filtered, strict=True)
    return GoogLeNetDream(net, weights_source).freeze()  # type: ignore[return-value]
