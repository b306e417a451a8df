"""One step of gradient ascent on the image: jitter, tiles, per-group normalisation."""

from __future__ import annotations

import torch
from torch import Tensor

from . import _precision
from ._catalogue import Layer
from ._errors import OutOfMemory
from ._terms import ContentTerm, Group, StyleTerm, gram
from ._tiles import Tile, align, fit_side, layout
from .models import DreamModel

#: Smallest tile tried when the device runs out of memory.
MIN_TILE = 128
#: Guards the gradient normalisation against an all-zero gradient only: any larger epsilon
#: would stop dreams on networks whose activations are small (the step is scale-free).
_EPS = torch.finfo(torch.float32).tiny


class Stepper:
    """``x += step · Σ wₖ gₖ / mean|gₖ| / Σ wₖ`` with each group's gradient gₖ computed
    tile by tile and normalised over the whole image (one group: the notebook's step)."""

    def __init__(
        self,
        model: DreamModel,
        groups: list[Group],
        precision: str,
        tile: int | None,
        budget: int,
    ) -> None:
        """``tile``: the largest tile side, or ``None`` for the largest that ``budget``
        (pixels of a tile with its margins) allows, the whole image when it fits."""
        self.net = model.net
        self.device = model.device
        self.groups = groups
        self.precision = precision
        self.layers: list[Layer] = list(
            {lay.name: lay for g in groups for lay in g.layers}.values()
        )
        self._index = {lay.name: i for i, lay in enumerate(self.layers)}
        self.styles = [t for g in groups for t in g.terms if isinstance(t, StyleTerm)]
        self.contents = [t for g in groups for t in g.terms if isinstance(t, ContentTerm)]
        # Tiles and margins are multiples of the deepest stride, so that every feature
        # position belongs to exactly one tile's core.
        self.align = max(lay.stride for lay in self.layers)
        self.tile = None if tile is None else align(tile, self.align)
        self.budget = budget
        #: Set when running out of memory forced smaller tiles than asked for.
        self.shrunk_to: int | None = None
        self._side = self.tile or MIN_TILE
        self._fitted: dict[tuple[int, int], int] = {}
        # Context around each core: enough of the receptive field for equivalent gradients.
        self.margin = align(min(128, max(32, 6 * self.align)), self.align)
        self._content_base: list[Tensor] = []

    @property
    def jitter_quantum(self) -> int:
        """Content targets are rolled in feature space, so offsets are multiples of its stride."""
        return max((t.layers[0].stride for t in self.contents), default=1)

    def set_content(self, content: Tensor) -> None:
        """Content features of this octave's content image (unrolled)."""
        if not self.contents:
            return
        with torch.no_grad(), _precision.autocast(self.precision, self.device):
            feats = self.net.features(
                self.net.normalize(content), [t.layers[0] for t in self.contents]
            )
        self._content_base = [f.float() for f in feats]

    def step(self, img: Tensor, oy: int, ox: int, step: float) -> Tensor:
        rolled = torch.roll(img, shifts=(oy, ox), dims=(2, 3))
        for term, base in zip(self.contents, self._content_base, strict=True):
            s = term.layers[0].stride
            term.set_target(torch.roll(base, shifts=(oy // s, ox // s), dims=(2, 3)))
        grads, _ = self._retrying(rolled)
        total_weight = sum(abs(g.weight) for g in self.groups) or 1.0
        for group, g in zip(self.groups, grads, strict=True):
            # the mean stays a device tensor: no GPU→CPU synchronisation per step
            rolled.addcdiv_(
                g, g.abs().mean().clamp_min(_EPS), value=step * group.weight / total_weight
            )
        return torch.roll(rolled, shifts=(-oy, -ox), dims=(2, 3)).clamp_(0.0, 1.0)

    def evaluate(self, img: Tensor) -> tuple[list[Tensor], list[Tensor]]:
        """Per group, the gradient of its objective at ``img`` (not rolled) and the
        objective's value (a 0-d tensor): what an optimiser needs, tile-exact."""
        for term, base in zip(self.contents, self._content_base, strict=True):
            term.set_target(base)
        return self._retrying(img)

    def _retrying(self, x: Tensor) -> tuple[list[Tensor], list[Tensor]]:
        """:meth:`_gradients`, with tiles halved each time the device runs out of memory."""
        while True:
            try:
                return self._gradients(x)
            except torch.OutOfMemoryError:
                if self._side <= MIN_TILE:
                    raise OutOfMemory(
                        f"out of memory on {self.device} even with {MIN_TILE}-pixel tiles"
                    ) from None
                self.tile = self.shrunk_to = align(max(MIN_TILE, self._side // 2), self.align)
                if self.device.type == "cuda":
                    torch.cuda.empty_cache()

    # -- tiles ------------------------------------------------------------------------------

    def _windows(self, h: int, w: int) -> list[Tile]:
        if self.tile is not None:
            self._side = self.tile
        else:
            if (h, w) not in self._fitted:  # the same for every step of an octave
                self._fitted[(h, w)] = fit_side(
                    h, w, self.budget, self.margin, self.align, align(MIN_TILE, self.align)
                )
            self._side = self._fitted[(h, w)]
        return layout(h, w, self._side, self.margin, self.align)

    def _forward(self, x: Tensor) -> list[Tensor]:
        with _precision.autocast(self.precision, self.device):
            return self.net.features(self.net.normalize(x), self.layers)

    def _measure_style(self, x: Tensor, windows: list[Tile]) -> None:
        """Whole-image Gram matrices of the current image (a no-grad pass over the tiles)."""
        sums: dict[str, Tensor] = {}
        counts: dict[str, int] = {}
        wanted = {lay.name: lay for t in self.styles for lay in t.layers}
        with torch.no_grad():
            for window, ys, xs in windows:
                acts = self._forward(x[:, :, ys, xs])
                for name, lay in wanted.items():
                    f = window.crop(acts[self._index[name]], lay.stride)
                    sums[name] = sums[name] + gram(f) if name in sums else gram(f)
                    counts[name] = counts.get(name, 0) + f.shape[-1] * f.shape[-2]
        for term in self.styles:
            term.measure(
                [sums[lay.name] for lay in term.layers], [counts[lay.name] for lay in term.layers]
            )

    def _gradients(self, x: Tensor) -> tuple[list[Tensor], list[Tensor]]:
        """Per group, d(objective)/dx and the objective. Each tile's objective covers the
        activations of its core only, differentiated through core plus margin; summed over
        tiles this is exactly the whole image's gradient when the margin covers the
        receptive field. A style term's tile objective is a surrogate with the exact
        gradient: its value is the whole image's, taken from the measuring pass."""
        windows = self._windows(*x.shape[-2:])
        if self.styles:
            self._measure_style(x, windows)
        grads = [torch.zeros_like(x) for _ in self.groups]
        values = [x.new_zeros((), dtype=torch.float32) for _ in self.groups]
        for window, ys, xs in windows:
            part = x[:, :, ys, xs].detach().requires_grad_(True)
            acts = self._forward(part)
            losses = []
            for k, group in enumerate(self.groups):
                loss = acts[0].new_zeros((), dtype=torch.float32)
                for t in group.terms:
                    term_loss = t.loss([acts[self._index[lay.name]] for lay in t.layers], window)
                    loss = loss + term_loss
                    if not isinstance(t, StyleTerm):
                        values[k] += term_loss.detach()
                losses.append(loss)
            for k, loss in enumerate(losses):
                (g,) = torch.autograd.grad(loss, part, retain_graph=k < len(losses) - 1)
                grads[k][:, :, ys, xs] += g
        for k, group in enumerate(self.groups):
            for t in group.terms:
                if isinstance(t, StyleTerm):
                    values[k] += t.value()
        return grads, values
