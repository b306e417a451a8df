"""GoogLeNet (Inception v1) for dreaming, with the caffe layer names of the original notebook.

The ImageNet weights are torchvision's (``IMAGENET1K_V1``); the architecture is written here
with the module names of that file, so torchvision itself is not imported (importing it
costs a second or more of start-up: it pulls in torch's compiler stack). Layer names
follow the BVLC caffe model the DeepDream notebook used (``inception_4c/output``,
``inception_4d/3x3_reduce`` …); torchvision's names (``inception4c``,
``inception4d.branch2.0``) are accepted as aliases.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

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


@dataclass(frozen=True)
class Published:
    """Where torchvision publishes weights; the URL's hash prefix is checked on download."""

    url: str


WEIGHTS = Published("https://download.pytorch.org/models/googlenet-1378be20.pth")


class BasicConv2d(nn.Module):
    """Convolution without bias, batch norm (eps 1e-3), ReLU: torchvision's unit."""

    def __init__(self, cin: int, cout: int, kernel: int, stride: int = 1, padding: int = 0):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, kernel, stride, padding, bias=False)
        self.bn = nn.BatchNorm2d(cout, eps=0.001)

    def forward(self, x: Tensor) -> Tensor:
        return F.relu(self.bn(self.conv(x)), inplace=True)


class Inception(nn.Module):
    """Four branches concatenated: 1×1; 1×1 then 3×3; 1×1 then 3×3 (the published port's
    "5×5"); 3×3 max pool then 1×1."""

    def __init__(self, cin: int, c1: int, c3r: int, c3: int, c5r: int, c5: int, cp: int):
        super().__init__()
        self.branch1 = BasicConv2d(cin, c1, 1)
        self.branch2 = nn.Sequential(BasicConv2d(cin, c3r, 1), BasicConv2d(c3r, c3, 3, 1, 1))
        self.branch3 = nn.Sequential(BasicConv2d(cin, c5r, 1), BasicConv2d(c5r, c5, 3, 1, 1))
        self.branch4 = nn.Sequential(
            nn.MaxPool2d(3, stride=1, padding=1, ceil_mode=True), BasicConv2d(cin, cp, 1)
        )

    def forward(self, x: Tensor) -> Tensor:
        branches = (self.branch1, self.branch2, self.branch3, self.branch4)
        return torch.cat([b(x) for b in branches], 1)


# stage name -> Inception's (in, 1×1, 3×3 reduce, 3×3, "5×5" reduce, "5×5", pool proj)
_INCEPTIONS: dict[str, tuple[int, int, int, int, int, int, int]] = {
    "inception3a": (192, 64, 96, 128, 16, 32, 32),
    "inception3b": (256, 128, 128, 192, 32, 96, 64),
    "inception4a": (480, 192, 96, 208, 16, 48, 64),
    "inception4b": (512, 160, 112, 224, 24, 64, 64),
    "inception4c": (512, 128, 128, 256, 24, 64, 64),
    "inception4d": (512, 112, 144, 288, 32, 64, 64),
    "inception4e": (528, 256, 160, 320, 32, 128, 128),
    "inception5a": (832, 256, 160, 320, 32, 128, 128),
    "inception5b": (832, 384, 192, 384, 48, 128, 128),
}


class GoogLeNet(nn.Module):
    """The trunk of torchvision's GoogLeNet, with its module names (no auxiliary heads; the
    classifier is kept so that the published file loads strictly)."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = BasicConv2d(3, 64, 7, 2, 3)
        self.maxpool1 = nn.MaxPool2d(3, stride=2, ceil_mode=True)
        self.conv2 = BasicConv2d(64, 64, 1)
        self.conv3 = BasicConv2d(64, 192, 3, 1, 1)
        self.maxpool2 = nn.MaxPool2d(3, stride=2, ceil_mode=True)
        for name in ("inception3a", "inception3b"):
            setattr(self, name, Inception(*_INCEPTIONS[name]))
        self.maxpool3 = nn.MaxPool2d(3, stride=2, ceil_mode=True)
        for name in ("inception4a", "inception4b", "inception4c", "inception4d", "inception4e"):
            setattr(self, name, Inception(*_INCEPTIONS[name]))
        self.maxpool4 = nn.MaxPool2d(2, stride=2, ceil_mode=True)
        for name in ("inception5a", "inception5b"):
            setattr(self, name, Inception(*_INCEPTIONS[name]))
        self.fc = nn.Linear(1024, 1000)


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
    """A frozen dream net from a torchvision GoogLeNet state dict (``None``: random init,
    for tests and benchmarks)."""
    if state_dict is None:
        net = GoogLeNet()
        _init_random(net)
    else:
        # Built without storage, then given the file's tensors themselves: no random
        # initialisation to throw away, no copy.
        with torch.device("meta"):
            net = GoogLeNet()
        # aux classifiers are in the published file but not in the net
        trunk = {k: v for k, v in state_dict.items() if not k.startswith("aux")}
        net.load_state_dict(trunk, strict=True, assign=True)
    return GoogLeNetDream(net, weights_source).freeze()  # type: ignore[return-value]


def _init_random(net: nn.Module) -> None:
    """Random weights that keep activations in range through the trunk (truncated normal
    convolutions, unit batch norms), so that dreams with them behave like real ones."""
    for m in net.modules():
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            nn.init.trunc_normal_(m.weight, mean=0.0, std=0.01, a=-2, b=2)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)
