"""Stride-2 stem convolutions recast as stride-1 convolutions of a space-to-depth image.

A dream differentiates the input, so every step runs each convolution's backward-to-input.
For a stem convolution (3 input channels, stride 2) oneDNN's backward-to-input is ~4× slower
than its forward (16 ms against 4 ms for GoogLeNet's 7×7 conv1 at 512², bf16): the
gradient has only 3 channels to vectorise over. Rearranging each 2×2 pixel block into
channels (``pixel_unshuffle``) turns the same arithmetic into a stride-1 convolution with
12 input channels, whose backward costs ~1.5× its forward (conv1 forward + backward 20.5 →
11.5 ms). The result is the same up to rounding; only the order of the sums differs.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import Tensor, nn

#: Returns ``F.pad``'s ``[left, right, top, bottom]`` for an input.
PadFn = Callable[[Tensor], list[int]]


def symmetric_pads(conv: nn.Conv2d) -> PadFn | None:
    """The zero padding an ordinary ``Conv2d`` applies itself (``None``: a padding string)."""
    if isinstance(conv.padding, str):
        return None
    return _SymmetricPads(*conv.padding)


class _SymmetricPads:
    """A picklable ``PadFn`` (no lambda) for fixed padding."""

    def __init__(self, ph: int, pw: int) -> None:
        self.pads = [pw, pw, ph, ph]

    def __call__(self, x: Tensor) -> list[int]:
        return self.pads


class SpaceToDepthConv(nn.Module):
    """Computes ``conv(pad(x))`` of a stride-2, undilated, ungrouped ``conv``.

    Shapes: (N, C, H, W) → (N, O, ⌊(H + pads − k) / 2⌋ + 1, …), as the original.
    """

    def __init__(self, conv: nn.Conv2d, pads: PadFn) -> None:
        super().__init__()
        if not recastable(conv):
            raise ValueError(
                "only stride-2, undilated, ungrouped, zero-padded convolutions are recast"
            )
        o, c, kh, kw = conv.weight.shape
        self.kernel = (kh, kw)
        self.pads = pads
        half_h, half_w = math.ceil(kh / 2), math.ceil(kw / 2)
        w = F.pad(conv.weight.detach(), (0, 2 * half_w - kw, 0, 2 * half_h - kh))
        # w[o, c, 2q + r, 2p + s] → w[o, 4c + 2r + s, q, p]: pixel_unshuffle's channel order
        w = w.reshape(o, c, half_h, 2, half_w, 2).permute(0, 1, 3, 5, 2, 4)
        self.weight = nn.Parameter(w.reshape(o, 4 * c, half_h, half_w).contiguous(), False)
        bias = conv.bias
        self.bias = None if bias is None else nn.Parameter(bias.detach().clone(), False)

    def forward(self, x: Tensor) -> Tensor:
        left, right, top, bottom = self.pads(x)
        h, w = x.shape[-2] + top + bottom, x.shape[-1] + left + right
        out_h, out_w = (h - self.kernel[0]) // 2 + 1, (w - self.kernel[1]) // 2 + 1
        # Pad (or crop: F.pad takes negative sizes) the far sides to exactly the even size
        # that yields the output size, so the result needs no crop (a crop's backward is a
        # full-size zero fill and copy, as slow as the conv itself at this resolution).
        half_h, half_w = self.weight.shape[-2:]
        far_h = 2 * (out_h + half_h - 1) - x.shape[-2] - top
        far_w = 2 * (out_w + half_w - 1) - x.shape[-1] - left
        blocks = F.pixel_unshuffle(F.pad(x, [left, far_w, top, far_h]), 2)
        if x.is_contiguous(memory_format=torch.channels_last):
            # pixel_unshuffle returns NCHW; a format change would follow the conv otherwise
            blocks = blocks.contiguous(memory_format=torch.channels_last)
        return F.conv2d(blocks, self.weight, self.bias)


def recastable(conv: nn.Conv2d) -> bool:
    """Whether :class:`SpaceToDepthConv` computes what ``conv`` computes."""
    return (
        conv.stride == (2, 2)
        and conv.dilation == (1, 1)
        and conv.groups == 1
        and conv.padding_mode == "zeros"
    )


def recast_stem_convs(module: nn.Module, pads_of: Callable[[nn.Conv2d], PadFn | None]) -> None:
    """Replace every stride-2 convolution with ≤ 4 input channels by a
    :class:`SpaceToDepthConv`. ``pads_of(conv)`` gives its padding (``None``: keep it)."""
    for parent in list(module.modules()):
        for name, child in list(parent.named_children()):
            if isinstance(child, nn.Conv2d) and child.in_channels <= 4 and recastable(child):
                pads = pads_of(child)
                if pads is not None:
                    setattr(parent, name, SpaceToDepthConv(child, pads))


__all__ = ["SpaceToDepthConv", "recast_stem_convs", "symmetric_pads"]
