"""A dream's plan before it runs: the size it is dreamed at, its octaves, the work it takes.

Pure arithmetic (no torch), so that the daemon can answer "how long will this take?" and
tests can check the rules without a network.

**Auto octaves.** The network was trained on photos about ``NATIVE_SIDE`` (224) pixels on
their short side; the shapes it draws have a size in *its* pixels. The first octave is the
one that decides what appears, so ``auto`` chooses the octave count that puts the smallest
octave's short side nearest to 224 pixels, never fewer than the notebook's 4 (at most
``MAX_AUTO_OCTAVES``): ``count = max(4, 1 + round(log(short / 224) / log(scale)))``. A
1024×768 photo gets 6 octaves at scale 1.3 (smallest 207 px), a 6000×4000 one 12 (223 px),
so features keep their size relative to the picture instead of shrinking to a fine texture.

**Detail size.** With ``detail_size`` the dream runs on a copy whose long side is that many
pixels, and only the detail it adds (dream − copy) is scaled up and added to the full-size
picture: a big photo keeps its own sharpness and dreams in a fraction of the time.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ._catalogue import LayerCatalogue
    from ._params import DreamParams

#: Short side, in pixels, of the photos ImageNet networks were trained on.
NATIVE_SIDE = 224
#: ``auto`` never runs fewer octaves than the original notebook, nor more than this.
MIN_AUTO_OCTAVES = 4
MAX_AUTO_OCTAVES = 16
AUTO = "auto"

Size = tuple[int, int]  # (height, width)


def auto_octave_count(short_side: int, octave_scale: float) -> int:
    """The octave count ``auto`` stands for (see the module's docstring)."""
    if short_side <= NATIVE_SIDE or octave_scale <= 1.0:
        return MIN_AUTO_OCTAVES
    n = 1 + round(math.log(short_side / NATIVE_SIDE) / math.log(octave_scale))
    return max(MIN_AUTO_OCTAVES, min(MAX_AUTO_OCTAVES, n))


def working_size(size: Size, detail_size: int | None) -> Size | None:
    """The size the dream runs at with ``detail_size`` (its long side), or None when the
    picture is not larger than that."""
    h, w = size
    if not detail_size or max(h, w) <= detail_size:
        return None
    f = detail_size / max(h, w)
    return (max(1, round(h * f)), max(1, round(w * f)))


@dataclass(frozen=True)
class Plan:
    """What a dream of a picture of ``size`` will do.

    ``working``: the size it is dreamed at (``detail_size``), else None; ``upscaled``: the
    size it is scaled up to first when too small for the layers, else None; ``sizes``: the
    octaves, smallest first; ``octave_count``: as run (``requested``: as asked, ``auto``
    or a number).
    """

    size: Size
    working: Size | None
    upscaled: Size | None
    sizes: list[Size]
    steps_per_octave: int
    iterations: int
    requested: int | str
    notes: list[str] = field(default_factory=list)

    @property
    def octave_count(self) -> int:
        return len(self.sizes)

    @property
    def steps(self) -> int:
        return len(self.sizes) * self.steps_per_octave * self.iterations

    @property
    def pixel_steps(self) -> int:
        """Pixels processed over all steps: what a dream's time grows with."""
        per_iteration = sum(h * w for h, w in self.sizes) * self.steps_per_octave
        return per_iteration * self.iterations

    def seconds(self, step_seconds: float, pixel_seconds: float) -> float:
        """Time at a device's speed: a cost per step plus a cost per pixel of each step."""
        return self.steps * step_seconds + self.pixel_steps * pixel_seconds


def plan(
    size: Size,
    octave_count: int | str,
    octave_scale: float,
    steps_per_octave: int,
    iterations: int,
    need: int,
    detail_size: int | None = None,
) -> Plan:
    """The plan for a picture of ``size`` (height, width); ``need`` is the smallest side the
    dream's layers can take (fewer octaves when the smallest would be under it; the whole
    picture scaled up when even one octave is)."""
    notes: list[str] = []
    work = working_size(size, detail_size)
    h, w = work or size
    if work is not None:
        notes.append(
            f"dreamed at {w}×{h} (detail size {detail_size}), the detail carried up to "
            f"{size[1]}×{size[0]}"
        )
    upscaled = None
    if min(h, w) < need:
        f = need / min(h, w)
        upscaled = (math.ceil(h * f), math.ceil(w * f))
        notes.append(
            f"image smaller than {need} px on a side: dreamed at {upscaled[1]}×{upscaled[0]} "
            "and scaled back"
        )
        h, w = upscaled
    wanted = (
        auto_octave_count(min(h, w), octave_scale) if octave_count == AUTO else int(octave_count)
    )
    count = wanted
    while count > 1 and min(h, w) / octave_scale ** (count - 1) < need:
        count -= 1
    if count < wanted:
        notes.append(
            f"octave count reduced from {wanted} to {count}: smaller octaves "
            f"would be under {need} px for this layer"
        )
    sizes = [
        (max(1, round(h / octave_scale**i)), max(1, round(w / octave_scale**i)))
        for i in range(count - 1, -1, -1)
    ]
    return Plan(
        tuple(size),  # type: ignore[arg-type]
        work,
        upscaled,
        sizes,
        steps_per_octave,
        iterations,
        octave_count,
        notes,
    )


def plan_params(
    catalogue: LayerCatalogue,
    size: Size,
    params: DreamParams,
    styled: bool = False,
    need: int | None = None,
) -> Plan:
    """:func:`plan` for ``params`` on a model with this ``catalogue``. Without ``need`` the
    smallest side the layers take is estimated as twice their largest stride (the dream
    itself measures it on the network: a picture a few dozen pixels wide may run one
    octave fewer than planned here)."""
    from ._layers import content_layer, dream_layers, style_layers

    if need is None:
        layers = [layer for layer, _spec in dream_layers(catalogue, params)]
        if styled:
            layers += [*style_layers(catalogue, params), content_layer(catalogue, params)]
        need = 2 * max(layer.stride for layer in layers)
    return plan(
        size,
        params.octave_count,
        params.octave_scale,
        params.steps_per_octave,
        params.iterations,
        need,
        getattr(params, "detail_size", None),
    )


def fit_speed(samples: Sequence[tuple[int, int, float]]) -> tuple[float, float] | None:
    """(seconds per step, seconds per pixel-step) fitted to ``(steps, pixel_steps, seconds)``
    of finished dreams (least squares through the origin, both kept ≥ 0); None with no
    sample. One sample, or samples all alike, give the per-pixel cost alone."""
    rows = [(s, p, t) for s, p, t in samples if s > 0 and t > 0]
    if not rows:
        return None
    ss = sum(s * s for s, _p, _t in rows)
    pp = sum(p * p for _s, p, _t in rows)
    sp = sum(s * p for s, p, _t in rows)
    st = sum(s * t for s, _p, t in rows)
    pt = sum(p * t for _s, p, t in rows)
    det = ss * pp - sp * sp
    if len(rows) >= 2 and det > 1e-9 * ss * pp:
        a = (st * pp - pt * sp) / det
        b = (pt * ss - st * sp) / det
        if a >= 0 and b >= 0:
            return a, b
    return 0.0, pt / pp if pp else 0.0
