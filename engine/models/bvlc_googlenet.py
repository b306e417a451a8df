"""BVLC GoogLeNet and Places205-GoogLeNet: the Caffe networks of the original DeepDream.

Caffe's ``deploy.prototxt``, layer for layer: convolutions with bias and in-place ReLU,
max-pooling with Caffe's ceil rounding (PyTorch's ``ceil_mode`` gives the same sizes
throughout this net), local response normalisation across 5 channels (Caffe divides alpha
by the size, as ``F.local_response_norm`` does), true 5×5 convolutions, and each inception
output the concatenation of its 1×1, 3×3, 5×5 and pool_proj branches in that order.
Places205-GoogLeNet is the same trunk with a 205-class head.

The input is the notebook's: BGR, 0–255, minus the mean (104, 116, 122), so a step size of
1.5 means what it meant there.

Layers are named by Caffe's blobs, with ``net.forward(end=NAME)`` semantics: a convolution's
blob is its value *before* the in-place ReLU (``inception_4d/5x5_reduce``), a pooling,
LRN or concat blob its output. neural-dream's names (``inception_4d_5x5_reduce``) are
accepted as aliases. Weights come from the users' files: see :func:`from_caffe` and
:func:`from_state_dict`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .._catalogue import BranchFn, Layer, LayerCatalogue
from ._base import DreamNet

NAME = "bvlc-googlenet"
PLACES_NAME = "places205-googlenet"
#: Classes of each network's ``loss3/classifier``.
CLASSES = {NAME: 1000, PLACES_NAME: 205}
DEFAULT_LAYER = "inception_4c/output"
#: The layer the notebook's guided dreams used.
GUIDE_LAYER = "inception_3b/output"
STYLE_LAYERS = (
    "conv2/norm2",
    "inception_3a/output",
    "inception_3b/output",
    "inception_4a/output",
    "inception_4b/output",
)
CONTENT_LAYER = "inception_4b/output"
#: The notebook's mean, in BGR order and 0–255 units (training used 104, 117, 123).
MEAN_BGR = (104.0, 116.0, 122.0)
#: Caffe's LRN parameters in deploy.prototxt (local_size, alpha, beta, k).
LRN = (5, 1e-4, 0.75, 1.0)

# block, input channels, 1x1, 3x3_reduce, 3x3, 5x5_reduce, 5x5, pool_proj
_INCEPTIONS: list[tuple[str, int, int, int, int, int, int, int]] = [
    ("3a", 192, 64, 96, 128, 16, 32, 32),
    ("3b", 256, 128, 128, 192, 32, 96, 64),
    ("4a", 480, 192, 96, 208, 16, 48, 64),
    ("4b", 512, 160, 112, 224, 24, 64, 64),
    ("4c", 512, 128, 128, 256, 24, 64, 64),
    ("4d", 512, 112, 144, 288, 32, 64, 64),
    ("4e", 528, 256, 160, 320, 32, 128, 128),
    ("5a", 832, 256, 160, 320, 32, 128, 128),
    ("5b", 832, 384, 192, 384, 48, 128, 128),
]
# branch suffix, attribute of Inception
_BRANCH_CONVS = (
    ("1x1", "conv1x1"),
    ("3x3_reduce", "conv3x3_reduce"),
    ("3x3", "conv3x3"),
    ("5x5_reduce", "conv5x5_reduce"),
    ("5x5", "conv5x5"),
    ("pool_proj", "pool_proj"),
)
CLASSIFIER = "loss3/classifier"


def _max_pool(kernel: int, stride: int, padding: int = 0) -> nn.MaxPool2d:
    return nn.MaxPool2d(kernel, stride, padding, ceil_mode=True)


class CaffeLRN(nn.Module):
    """Caffe's LRN across channels: ``x / (k + alpha/size · Σ x²)^beta``, the sum over
    ``size`` neighbouring channels (zero beyond the ends) — ``F.local_response_norm``.

    The sum is a 1×1 convolution with a band matrix (``k`` its bias), and the backward pass
    is written out (:class:`_BandLRN`): ``F.local_response_norm`` runs ``avg_pool3d`` over a
    5-D view, which has no bf16 kernel on the CPU and was 1.5–3× slower here in fp32
    (forward + backward, channels-last). Per position, so tiles stay exact.
    """

    band: Tensor
    bias: Tensor

    def __init__(self, channels: int, size: int, alpha: float, beta: float, k: float) -> None:
        super().__init__()
        self.beta = beta
        i = torch.arange(channels)
        near = (i[:, None] - i[None, :]).abs() <= size // 2
        if size % 2 == 0:  # F.local_response_norm's window: size // 2 before, the rest after
            near &= (i[None, :] - i[:, None]) < size - size // 2
        band = near.float() * (alpha / size)
        self.register_buffer("band", band.reshape(channels, channels, 1, 1), persistent=False)
        self.register_buffer("bias", torch.full((channels,), float(k)), persistent=False)

    def forward(self, x: Tensor) -> Tensor:
        out: Tensor = _BandLRN.apply(x, self.band, self.bias, self.beta)
        return out


def _power(s: Tensor, beta: float) -> Tensor:
    """``s ** -beta``; for Caffe's 0.75 as s^-0.5 · (s^-0.5)^0.5, two cheap ops, not a pow."""
    if beta == 0.75:
        r = s.rsqrt()
        return r * r.sqrt()
    return s.pow(-beta)


class _BandLRN(torch.autograd.Function):
    """``y = x · t``, ``t = s^-β``, ``s = k + A x²`` (``A`` the band matrix); then
    ``dL/dx = g·t − 2β · x · Aᵀ(g · y / s)``: five elementwise passes and one 1×1
    convolution, where autograd's chain takes about twelve."""

    @staticmethod
    def forward(ctx: Any, x: Tensor, band: Tensor, bias: Tensor, beta: float) -> Tensor:
        s = F.conv2d(x * x, band.to(x.dtype), bias.to(x.dtype))
        t = _power(s, beta)
        ctx.save_for_backward(x, band, s, t)
        ctx.beta = beta
        return x * t

    @staticmethod
    def backward(ctx: Any, g: Tensor) -> tuple[Tensor, None, None, None]:
        x, band, s, t = ctx.saved_tensors
        inner = g * x * t / s
        back = F.conv2d(inner, band.transpose(0, 1).to(inner.dtype))
        return torch.addcmul(g * t, x, back, value=-2.0 * ctx.beta), None, None, None


class Inception(nn.Module):
    """One inception block; the attributes carry Caffe's branch names."""

    def __init__(self, cin: int, c1: int, c3r: int, c3: int, c5r: int, c5: int, cp: int) -> None:
        super().__init__()
        self.conv1x1 = nn.Conv2d(cin, c1, 1)
        self.conv3x3_reduce = nn.Conv2d(cin, c3r, 1)
        self.conv3x3 = nn.Conv2d(c3r, c3, 3, padding=1)
        self.conv5x5_reduce = nn.Conv2d(cin, c5r, 1)
        self.conv5x5 = nn.Conv2d(c5r, c5, 5, padding=2)
        self.pool = _max_pool(3, 1, 1)
        self.pool_proj = nn.Conv2d(cin, cp, 1)

    def forward(self, x: Tensor) -> Tensor:
        return torch.cat(
            [
                # in place: a convolution's backward needs its input, not its output
                F.relu_(self.conv1x1(x)),
                F.relu_(self.conv3x3(F.relu_(self.conv3x3_reduce(x)))),
                F.relu_(self.conv5x5(F.relu_(self.conv5x5_reduce(x)))),
                F.relu_(self.pool_proj(self.pool(x))),
            ],
            1,
        )


class ReluThen(nn.Sequential):
    """The in-place ReLU of the convolution before, then ``module`` (a blob boundary: the
    stage before ends at the convolution's pre-ReLU value)."""

    def __init__(self, module: nn.Module) -> None:
        super().__init__(nn.ReLU(), module)


class ThenRelu(nn.Sequential):
    """``module`` then the ReLU: for a max-pooling, ``relu(max(x)) = max(relu(x))`` on a
    quarter of the values."""

    def __init__(self, module: nn.Module) -> None:
        super().__init__(module, nn.ReLU(inplace=True))  # pooling's backward needs no output


def _trunk() -> list[tuple[str, nn.Module, int, int]]:
    """(blob name, stage module, cumulative stride, channels) of the trunk, in order."""
    stages: list[tuple[str, nn.Module, int, int]] = [
        ("conv1/7x7_s2", nn.Conv2d(3, 64, 7, 2, 3), 2, 64),
        ("pool1/3x3_s2", ThenRelu(_max_pool(3, 2)), 4, 64),
        ("pool1/norm1", CaffeLRN(64, *LRN), 4, 64),
        ("conv2/3x3_reduce", nn.Conv2d(64, 64, 1), 4, 64),
        ("conv2/3x3", ReluThen(nn.Conv2d(64, 192, 3, padding=1)), 4, 192),
        ("conv2/norm2", ReluThen(CaffeLRN(192, *LRN)), 4, 192),
        ("pool2/3x3_s2", _max_pool(3, 2), 8, 192),
    ]
    stride = 8
    for block, cin, c1, c3r, c3, c5r, c5, cp in _INCEPTIONS:
        if block in ("4a", "5a"):
            stages.append((f"pool{int(block[0]) - 1}/3x3_s2", _max_pool(3, 2), stride * 2, cin))
            stride *= 2
        stages.append(
            (
                f"inception_{block}/output",
                Inception(cin, c1, c3r, c3, c5r, c5, cp),
                stride,
                c1 + c3 + c5 + cp,
            )
        )
    return stages


def _branch(attr: str, before: tuple[str, ...] = ()) -> BranchFn:
    """A branch blob from the inception's input: ``attr`` after ``before`` (each followed
    by its ReLU), ``attr``'s own value pre-ReLU."""

    def run(stage: nn.Module, x: Tensor) -> Tensor:
        for name in before:
            x = F.relu(getattr(stage, name)(x))
        return getattr(stage, attr)(x)

    return run


def _pool_branch(stage: nn.Module, x: Tensor) -> Tensor:
    return stage.get_submodule("pool")(x)


def _pool_proj_branch(stage: nn.Module, x: Tensor) -> Tensor:
    return stage.get_submodule("pool_proj")(stage.get_submodule("pool")(x))


_BRANCHES: list[tuple[str, BranchFn, str]] = [
    ("1x1", _branch("conv1x1"), "conv1x1"),
    ("3x3_reduce", _branch("conv3x3_reduce"), "conv3x3_reduce"),
    ("3x3", _branch("conv3x3", ("conv3x3_reduce",)), "conv3x3"),
    ("5x5_reduce", _branch("conv5x5_reduce"), "conv5x5_reduce"),
    ("5x5", _branch("conv5x5", ("conv5x5_reduce",)), "conv5x5"),
    ("pool", _pool_branch, ""),
    ("pool_proj", _pool_proj_branch, "pool_proj"),
]


def _alias(blob: str) -> tuple[str, ...]:
    """neural-dream's name of a blob (``/`` → ``_``)."""
    return (blob.replace("/", "_"),)


class BVLCGoogLeNet(DreamNet):
    """The Caffe network as dream stages, plus pool5 and the classifier for :meth:`classify`."""

    mean: Tensor

    def __init__(self, name: str = NAME, weights_source: str = "random") -> None:
        super().__init__()
        trunk = _trunk()
        self.stages = nn.ModuleList(module for _, module, _, _ in trunk)
        self.blobs = [blob for blob, _, _, _ in trunk]
        self.classifier = nn.Linear(1024, CLASSES[name])
        self.weights_source = weights_source
        self.register_buffer(
            "mean", torch.tensor(MEAN_BGR).reshape(1, 3, 1, 1) / 255.0, persistent=False
        )
        layers: list[Layer] = []
        for index, (blob, module, stride, channels) in enumerate(trunk):
            if isinstance(module, Inception):
                block = blob.split("/")[0]
                for suffix, fn, attr in _BRANCHES:
                    ch = getattr(module, attr).out_channels if attr else module.conv1x1.in_channels
                    sub = f"{block}/{suffix}"
                    layers.append(Layer(sub, index, ch, stride, _alias(sub), fn))
            layers.append(Layer(blob, index, channels, stride, _alias(blob)))
        self.catalogue = LayerCatalogue(name, layers, DEFAULT_LAYER, STYLE_LAYERS, CONTENT_LAYER)

    def normalize(self, x: Tensor) -> Tensor:
        # RGB [0, 1] → BGR 0–255 minus the mean: the flip costs a copy of 3 channels only
        return (x.flip(1) - self.mean.to(x.dtype)) * 255.0

    def classify(self, x: Tensor) -> Tensor:
        """Logits for a [0, 1] RGB batch of 224×224 (pool5: average over 7×7)."""
        feats = self.features(self.normalize(x), [self.catalogue["inception_5b/output"]])[0]
        return self.classifier(torch.flatten(F.avg_pool2d(feats, 7, 1), 1))

    # -- weights ----------------------------------------------------------------------------

    def caffe_layers(self) -> dict[str, nn.Conv2d | nn.Linear]:
        """The modules that hold weights, by Caffe layer name (before :meth:`freeze`)."""
        out: dict[str, nn.Conv2d | nn.Linear] = {}
        for blob, module in zip(self.blobs, self.stages, strict=True):
            if isinstance(module, Inception):
                block = blob.split("/")[0]
                for suffix, attr in _BRANCH_CONVS:
                    out[f"{block}/{suffix}"] = getattr(module, attr)
            else:
                for sub in module.modules():
                    if isinstance(sub, nn.Conv2d):
                        out[blob] = sub
        out[CLASSIFIER] = self.classifier
        return out


class WeightsMismatch(ValueError):
    """The file's layers do not fit the network; the message names the layer."""


def load_layers(net: BVLCGoogLeNet, layers: Mapping[str, list[np.ndarray]]) -> None:
    """Copy Caffe-named blobs (weight, bias) into ``net``.

    Layers of the file that the deploy net does not use (``loss1/*``, ``loss2/*``) are
    ignored; the classifier may be absent (a trunk-only file), but when present it must
    have this network's classes.

    Raises:
        WeightsMismatch: a layer missing or of the wrong shape; the message names it.
    """
    name = net.catalogue.model
    with torch.no_grad():
        for layer, module in net.caffe_layers().items():
            blobs = layers.get(layer)
            if blobs is None:
                if layer == CLASSIFIER:
                    continue
                raise WeightsMismatch(f"layer {layer!r} is missing")
            if len(blobs) != 2:
                raise WeightsMismatch(f"layer {layer!r} has {len(blobs)} blobs, not weight+bias")
            for param, blob in zip((module.weight, module.bias), blobs, strict=True):
                assert param is not None
                if _squeeze(blob.shape) != _squeeze(param.shape):
                    raise WeightsMismatch(_wrong_shape(name, layer, blob.shape, param.shape))
                param.copy_(torch.from_numpy(np.array(blob, np.float32)).reshape(param.shape))


def _squeeze(shape: tuple[int, ...] | torch.Size) -> tuple[int, ...]:
    """A shape without its leading 1s (legacy blobs pad every shape to 4-D)."""
    dims = list(shape)
    while dims and dims[0] == 1:
        dims.pop(0)
    return tuple(dims)


def _wrong_shape(name: str, layer: str, got: tuple[int, ...], want: torch.Size) -> str:
    msg = f"layer {layer!r} has shape {tuple(got)}, {name} needs {tuple(want)}"
    if layer == CLASSIFIER:
        for other, classes in CLASSES.items():
            if other != name and _squeeze(got)[:1] == (classes,):
                msg += f": these are {other}'s weights (use --model {other})"
    return msg


def layers_from_state_dict(state: Mapping[str, Tensor]) -> dict[str, list[np.ndarray]]:
    """neural-dream's converted state dict (``conv1_7x7_s2.weight``,
    ``inception_4c_5x5.bias``, ``loss3_classifier_1.weight`` …) as Caffe-named blobs."""
    by_key = {_alias(layer)[0]: layer for layer in BVLCGoogLeNet().caffe_layers()}
    by_key["loss3_classifier_1"] = CLASSIFIER
    out: dict[str, list[np.ndarray]] = {}
    for prefix, layer in by_key.items():
        w, b = state.get(f"{prefix}.weight"), state.get(f"{prefix}.bias")
        if w is not None and b is not None:
            out[layer] = [w.detach().float().numpy(), b.detach().float().numpy()]
    return out


def build(
    name: str, layers: Mapping[str, list[np.ndarray]] | None, weights_source: str
) -> BVLCGoogLeNet:
    """A frozen dream net from Caffe-named blobs (``None``: random weights, as Caffe's
    xavier/constant fillers would give, for tests and benchmarks)."""
    net = BVLCGoogLeNet(name, weights_source)
    if layers is not None:
        load_layers(net, layers)
    return net.freeze()  # type: ignore[return-value]
