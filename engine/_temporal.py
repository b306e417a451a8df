"""A styled video frame: the picture whose content it keeps, and the temporal term that holds
it to the previous styled frame where the optical flow can be trusted (Ruder et al.,
"Artistic style transfer for videos", 2016).

Frame *t* of a styled video starts from the previous styled frame carried along the flow
(``image``), keeps the content of its own raw frame (``content``), and pays
``temporal_weight · mean(c · (x − ω)²) / var(content)`` for moving away from ``ω``, the
previous styled frame warped to this one, where ``c`` (``previous_weight``, in [0, 1]) says
the flow is reliable. Divided by the content's variance at the octave so that the weight
means the same on a dim picture as on a contrasty one: 1 makes a change as large as the
picture's own contrast, over the whole frame, cost 1 — about a whole style loss at its start.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from . import _image
from ._errors import InvalidParams
from ._style import resize

#: The content's variance below which the temporal weight stops scaling with it (a flat
#: picture would otherwise make the smallest change cost a fortune).
_VARIANCE_FLOOR = 1e-4

Resize = Callable[[Tensor], Tensor]


@dataclass(frozen=True)
class FrameRefs:
    """What a frame's transfer holds on to besides its start picture, all (1, C, H, W)
    tensors of the start picture's size: ``content`` RGB (None: the start picture),
    ``previous`` RGB and ``weight`` one channel (both None: no temporal term)."""

    content: Tensor | None = None
    previous: Tensor | None = None
    weight: Tensor | None = None

    def map(self, pictures: Resize, mask: Resize) -> FrameRefs:
        """The same references with ``pictures`` applied to content and previous, ``mask``
        to the weight (a resize for the working size, the lightness for ``keep_colors``)."""
        return FrameRefs(
            None if self.content is None else pictures(self.content),
            None if self.previous is None else pictures(self.previous),
            None if self.weight is None else mask(self.weight),
        )


def frame_refs(
    size: tuple[int, int],
    content: np.ndarray | None,
    previous: np.ndarray | None,
    previous_weight: np.ndarray | None,
    styled: bool,
    device: torch.device,
) -> FrameRefs:
    """Check a frame's reference pictures against the picture's ``size`` (H, W) and put
    them on ``device``.

    Raises:
        InvalidParams: naming the field: a reference without a style image, a size that
        differs from the picture's, a weight out of [0, 1] or with more than one channel,
        a weight without a previous frame.
    """
    given = [n for n, v in (("content", content), ("previous", previous)) if v is not None]
    if previous_weight is not None:
        given.append("previous_weight")
    if not given:
        return FrameRefs()
    if not styled:
        raise InvalidParams(given[0], "is for a style transfer's video frames: give a style image")
    if previous_weight is not None and previous is None:
        raise InvalidParams("previous_weight", "says where previous holds: give previous too")
    out: dict[str, Tensor] = {}
    for name, picture in (("content", content), ("previous", previous)):
        if picture is None:
            continue
        out[name] = _tensor(_same_size(name, _image.split(picture).rgb, size), device)
    if previous is not None:
        if previous_weight is None:
            mask = np.ones((*size, 1), np.float32)
        else:
            mask = _weight(previous_weight, size)
        out["weight"] = _tensor(mask, device)
    return FrameRefs(out.get("content"), out.get("previous"), out.get("weight"))


def _same_size(name: str, rgb: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    if tuple(rgb.shape[:2]) != tuple(size):
        raise InvalidParams(
            name, f"is {rgb.shape[1]}×{rgb.shape[0]}, the picture {size[1]}×{size[0]}: same size"
        )
    return rgb


def _weight(value: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    arr = np.asarray(value)
    if arr.ndim == 3 and arr.shape[2] == 1:
        arr = arr[:, :, 0]
    if arr.ndim != 2:
        raise InvalidParams(
            "previous_weight", f"must be one channel (H, W), got an array of shape {arr.shape}"
        )
    if tuple(arr.shape) != tuple(size):
        raise InvalidParams(
            "previous_weight",
            f"is {arr.shape[1]}×{arr.shape[0]}, the picture {size[1]}×{size[0]}: same size",
        )
    arr = arr.astype(np.float32, copy=False)
    if not np.isfinite(arr).all() or arr.min() < 0.0 or arr.max() > 1.0:
        raise InvalidParams("previous_weight", "must hold values in [0, 1]")
    return arr[:, :, None]


def _tensor(hwc: np.ndarray, device: torch.device) -> Tensor:
    t = torch.from_numpy(np.ascontiguousarray(hwc, dtype=np.float32)).to(device)
    return t.permute(2, 0, 1)[None].contiguous(memory_format=torch.channels_last)


class TemporalTerm:
    """``weight · mean(c · (x − ω)²)`` at one octave, ``weight`` already divided by the
    content's variance there; :meth:`add` puts its value and gradient into a closure's."""

    def __init__(self, temporal_weight: float, previous: Tensor, mask: Tensor, content: Tensor):
        variance = max(float(content.float().var()), _VARIANCE_FLOOR)
        self.weight = temporal_weight / variance
        self.previous = previous.float()
        self.mask = mask.float()

    def add(self, x: Tensor, grad: Tensor) -> Tensor:
        """The term's value at ``x``; its gradient is added to ``grad`` (same shape)."""
        with torch.no_grad():
            d = x.detach().float() - self.previous
            cd = self.mask * d
            n = d.numel()
            grad.add_(cd.to(grad.dtype), alpha=2.0 * self.weight / n)
            return (cd * d).sum() * (self.weight / n)


def term_at(temporal_weight: float, refs: FrameRefs, content: Tensor) -> TemporalTerm | None:
    """The temporal term of the octave whose content picture is ``content`` (None: no
    previous frame, or a weight of 0)."""
    if refs.previous is None or refs.weight is None or temporal_weight == 0:
        return None
    size = content.shape[-2:]
    previous = resize(refs.previous, size, antialias=True)
    mask = resize(refs.weight, size, antialias=True)
    return TemporalTerm(temporal_weight, previous, mask, content)
