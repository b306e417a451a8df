"""Stem convolutions recast as space-to-depth convolutions compute the same thing."""

from __future__ import annotations

import copy

import pytest
import torch
from torch import nn

from dreamd import engine
from dreamd.engine.models._space_to_depth import SpaceToDepthConv, symmetric_pads
from dreamd.engine.models.efficientnet_lite0 import SameConv2d


def _pair(conv: nn.Conv2d) -> tuple[nn.Module, nn.Module]:
    conv = conv.double()
    pads = conv.pads if isinstance(conv, SameConv2d) else symmetric_pads(conv)
    assert pads is not None
    return conv, SpaceToDepthConv(copy.deepcopy(conv), pads)


@pytest.mark.parametrize(
    "make",
    [
        lambda: nn.Conv2d(3, 64, 7, 2, 3),  # GoogLeNet conv1
        lambda: SameConv2d(3, 32, 3, 2, 0, bias=False),  # EfficientNet-Lite0 stem
        lambda: nn.Conv2d(3, 8, 4, 2, 1),  # even kernel
        lambda: nn.Conv2d(1, 8, 5, 2, 0),  # gray, unpadded
    ],
    ids=["7x7-pad3", "3x3-tf-same", "4x4-even", "5x5-valid"],
)
@pytest.mark.parametrize("size", [(64, 64), (65, 47), (31, 30)])
def test_output_and_input_gradient_match(make, size: tuple[int, int]):
    torch.manual_seed(0)
    conv, recast = _pair(make())
    x = torch.rand(2, conv.in_channels, *size, dtype=torch.float64, requires_grad=True)
    want = conv(x)
    got = recast(x)
    assert got.shape == want.shape
    torch.testing.assert_close(got, want)
    g = torch.randn_like(want)
    (gx_want,) = torch.autograd.grad(want, x, g)
    (gx_got,) = torch.autograd.grad(got, x, g)
    torch.testing.assert_close(gx_got, gx_want)


def test_rejects_what_it_cannot_recast():
    with pytest.raises(ValueError, match="stride-2"):
        SpaceToDepthConv(nn.Conv2d(3, 8, 3, 1, 1), symmetric_pads(nn.Conv2d(3, 8, 3)))  # type: ignore[arg-type]


def test_loaded_models_use_the_fast_stem(lite0: engine.DreamModel):
    """What the benchmark's speed relies on: the real model's stem was recast."""
    stems = [m for m in lite0.net.modules() if isinstance(m, SpaceToDepthConv)]
    assert len(stems) == 1
    assert not any(isinstance(m, nn.Conv2d) and m.in_channels == 3 for m in lite0.net.modules())
