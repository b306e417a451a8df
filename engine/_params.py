"""Dream parameters: one frozen dataclass, validated in one place."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from typing import Any, Literal

from ._errors import InvalidParams

#: ``octave_count`` ``"auto"``: enough octaves that the smallest is near the size the network
#: was trained on, never fewer than 4 (see ``_plan``).
AUTO_OCTAVES: Literal["auto"] = "auto"
Precision = Literal["auto", "fp32", "bf16", "fp16"]
PRECISIONS: tuple[str, ...] = ("auto", "fp32", "bf16", "fp16")
StyleOptimizer = Literal["lbfgs", "adam", "step"]
#: How a style transfer moves the picture: L-BFGS (Gatys et al.), Adam, or the dream's own
#: normalised-gradient step (before 0.2: slow to match Gram matrices, kept to compare).
STYLE_OPTIMIZERS: tuple[str, ...] = ("lbfgs", "adam", "step")

#: The numeric fields of :class:`DreamParams`: (int or float, lowest, highest), inclusive.
#: The protocol's ``params`` table states the same (a test compares the two: the protocol
#: may not import the engine).
RANGES: dict[str, tuple[type, float, float]] = {
    "octave_count": (int, 1, 32),
    "octave_scale": (float, 1.01, 4.0),
    "steps_per_octave": (int, 0, 10_000),
    "iterations": (int, 1, 1_000),
    "step_size": (float, 0.0, 255.0),
    "jitter": (int, 0, 4096),
    "seed": (int, 0, 2**63 - 1),
    "tile_size": (int, 64, 16384),
    "guide_max_side": (int, 32, 2048),
    "style_weight": (float, 0.0, 1e9),
    "content_weight": (float, 0.0, 1e9),
    "style_max_side": (int, 32, 4096),
    "tv_weight": (float, 0.0, 1e9),
    "temporal_weight": (float, 0.0, 1e9),
    "style_scale": (float, 0.05, 20.0),
    "detail_size": (int, 64, 65_536),
}
#: Numeric fields whose ``None`` means "choose for me" (a random seed, automatic tiles,
#: dreaming at full size).
OPTIONAL: frozenset[str] = frozenset({"seed", "tile_size", "detail_size"})
#: Numeric fields that may also be ``"auto"``.
AUTO: frozenset[str] = frozenset({"octave_count"})
#: A layer's weight in the objective (negative minimises it).
LAYER_WEIGHT: tuple[float, float] = (-1e6, 1e6)
#: Each style image's share in ``style_blend`` (relative: they are divided by their sum).
BLEND_WEIGHT: tuple[float, float] = (0.0, 1e6)
#: Style images one transfer can blend.
MAX_STYLES = 16


#: What a style transfer needs that a dream does not: fewer, larger octaves and more
#: steps. dream-batch and the GIMP plug-in start from these when a style image is given
#: (the protocol's ``STYLE_DEFAULTS`` says the same; ``DreamParams``' own defaults stay the
#: notebook's, for dreams). Chosen by looking at results: see benchmarks/style.py.
STYLE_DEFAULTS: dict[str, Any] = {
    "octave_count": 3,
    "octave_scale": 1.5,
    "steps_per_octave": 40,
    "step_size": 6.0,
}


@dataclass(frozen=True)
class LayerSpec:
    """A layer to maximise, its weight in the objective and, optionally, its channels."""

    name: str
    weight: float = 1.0
    channels: tuple[int, ...] | None = None

    @classmethod
    def parse(cls, value: str | LayerSpec | Mapping[str, Any]) -> LayerSpec:
        """Accept ``"inception_4c/output"``, ``"inception_4c/output:3,17"`` or a mapping."""
        if isinstance(value, LayerSpec):
            return value
        if isinstance(value, str):
            name, _, chan_list = value.partition(":")
            channels = None
            if chan_list.strip():
                try:
                    channels = tuple(int(c) for c in chan_list.split(","))
                except ValueError:
                    raise InvalidParams("layers", f"bad channel list in {value!r}") from None
            return cls(name.strip(), 1.0, channels)
        if isinstance(value, Mapping):
            unknown = set(value) - {"name", "weight", "channels"}
            if unknown:
                raise InvalidParams("layers", f"unknown key(s) {sorted(unknown)} in {dict(value)}")
            chans = value.get("channels")
            return cls(
                str(value.get("name", "")),
                float(value.get("weight", 1.0)),
                tuple(int(c) for c in chans) if chans is not None else None,
            )
        raise InvalidParams("layers", f"expected a name or a mapping, got {type(value).__name__}")


@dataclass(frozen=True)
class DreamParams:
    """Everything that decides a dream. Defaults are the original notebook's.

    ``layers`` empty means the model's default layer. ``step_size`` is in 0–255 pixel
    units, as in the original. ``tile_size`` ``None`` means automatic. ``octave_count``
    ``"auto"`` (the default) runs enough octaves that the smallest is near the size the
    network was trained on, never fewer than the notebook's 4; a number runs that many.
    ``detail_size`` dreams a copy whose long side is that many pixels and carries the
    detail it adds up to the full size (``None``: dream at full size).

    With a style image (Gatys-style transfer): ``style_weight`` and ``content_weight`` say
    how much of each step matches the style's Gram matrices on ``style_layers`` and keeps
    the content's features on ``content_layer`` (empty/None: the model's defaults). Dream
    ``layers`` given explicitly are climbed at the same time, with weight 1 (a weighted sum).
    ``style_optimizer`` moves the picture (``lbfgs``, ``adam``, or the dream's ``step``),
    ``tv_weight`` penalises pixel noise, ``style_scale`` sizes the style image relative to
    the picture (its strokes), ``style_blend`` weighs several style images, and
    ``keep_colors`` transfers lightness only, keeping the picture's own colours.
    ``temporal_weight`` holds a video frame to the previous styled frame where the optical
    flow is reliable (given to :func:`dream` as ``previous`` and ``previous_weight``).
    """

    layers: tuple[LayerSpec, ...] = ()
    octave_count: int | Literal["auto"] = AUTO_OCTAVES
    octave_scale: float = 1.3
    detail_size: int | None = None
    steps_per_octave: int = 10
    iterations: int = 1
    step_size: float = 1.5
    jitter: int = 32
    seed: int | None = None
    tile_size: int | None = None
    precision: Precision = "auto"
    guide_max_side: int = 448
    style_weight: float = 1.0
    content_weight: float = 0.3
    style_layers: tuple[str, ...] = ()
    content_layer: str | None = None
    style_max_side: int = 1024
    style_optimizer: StyleOptimizer = "adam"
    tv_weight: float = 0.01
    temporal_weight: float = 10.0
    style_scale: float = 1.0
    style_blend: tuple[float, ...] = ()
    keep_colors: bool = False

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> DreamParams:
        """Build from plain data (a protocol message, CLI flags); unknown keys are an error."""
        known = set(cls.__dataclass_fields__)
        unknown = set(values) - known
        if unknown:
            raise InvalidParams(sorted(unknown)[0], "unknown parameter")
        kw = dict(values)
        layers = kw.get("layers", ())
        if isinstance(layers, (str, Mapping)):
            layers = [layers]
        kw["layers"] = tuple(LayerSpec.parse(v) for v in layers)
        style_layers = kw.get("style_layers", ())
        kw["style_layers"] = (
            (style_layers,) if isinstance(style_layers, str) else tuple(style_layers)
        )
        blend = kw.get("style_blend", ())
        kw["style_blend"] = (blend,) if isinstance(blend, (int, float)) else tuple(blend)
        return cls(**kw).validated()

    def with_(self, **changes: Any) -> DreamParams:
        """A copy with some fields changed, validated."""
        return replace(self, **changes).validated()

    def as_dict(self) -> dict[str, Any]:
        """Plain data, as recorded in results and image metadata."""
        d = asdict(self)
        d["style_layers"] = list(self.style_layers)
        d["style_blend"] = list(self.style_blend)
        d["layers"] = [
            {
                "name": s.name,
                "weight": s.weight,
                "channels": list(s.channels) if s.channels else None,
            }
            for s in self.layers
        ]
        return d

    def validated(self) -> DreamParams:
        """Return self, or raise :class:`InvalidParams` naming the first bad field."""
        for name, (kind, lo, hi) in RANGES.items():
            value = getattr(self, name)
            if (value is None and name in OPTIONAL) or (value == AUTO_OCTAVES and name in AUTO):
                continue
            if kind is int:
                _int_in(name, value, int(lo), int(hi))
            else:
                _float_in(name, value, lo, hi)
        if self.precision not in PRECISIONS:
            raise InvalidParams("precision", f"must be one of {', '.join(PRECISIONS)}")
        if any(not isinstance(n, str) or not n for n in self.style_layers):
            raise InvalidParams("style_layers", "must be layer names")
        if self.content_layer is not None and not isinstance(self.content_layer, str):
            raise InvalidParams("content_layer", "must be a layer name")
        if self.style_optimizer not in STYLE_OPTIMIZERS:
            raise InvalidParams("style_optimizer", f"must be one of {', '.join(STYLE_OPTIMIZERS)}")
        if not isinstance(self.keep_colors, bool):
            raise InvalidParams("keep_colors", f"must be true or false, got {self.keep_colors!r}")
        if len(self.style_blend) > MAX_STYLES:
            raise InvalidParams("style_blend", f"at most {MAX_STYLES} weights")
        for weight in self.style_blend:
            _float_in("style_blend", weight, *BLEND_WEIGHT)
        if self.style_blend and not sum(self.style_blend) > 0:
            raise InvalidParams("style_blend", "at least one weight must be above 0")
        for spec in self.layers:
            if not spec.name:
                raise InvalidParams("layers", "a layer needs a name")
            _float_in("layers.weight", spec.weight, *LAYER_WEIGHT)
            if spec.channels is not None and (
                not spec.channels or any(c < 0 for c in spec.channels)
            ):
                raise InvalidParams("layers.channels", "channels must be non-negative indices")
        return self


def _int_in(name: str, value: object, lo: int, hi: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidParams(name, f"must be an integer, got {value!r}")
    if not lo <= value <= hi:
        raise InvalidParams(name, f"must be between {lo} and {hi}, got {value}")


def _float_in(name: str, value: object, lo: float, hi: float) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InvalidParams(name, f"must be a number, got {value!r}")
    if not math.isfinite(value) or not lo <= value <= hi:
        raise InvalidParams(name, f"must be between {lo} and {hi}, got {value}")


def parse_layers(values: Sequence[str | Mapping[str, Any] | LayerSpec]) -> tuple[LayerSpec, ...]:
    """Parse a list of layer specs (see :meth:`LayerSpec.parse`)."""
    return tuple(LayerSpec.parse(v) for v in values)
