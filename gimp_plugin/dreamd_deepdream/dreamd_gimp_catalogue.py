"""The daemon's layer catalogue as the dialog shows it, without GIMP: one line per layer on
what it tends to produce, the default marked, and typed layer names checked before OK.

The daemon stays the source: a layer's ``description`` from ``status(layers=True)`` is
shown as it comes. A daemon that sends none gets a line made from what it does send, the
layer's stride (how many pixels one feature spans), which is what decides the size of what a
layer draws.

Copied next to ``dreamd_deepdream.py`` into GIMP's plug-in folder and imported there as a
top-level module (``import dreamd_gimp_catalogue``); the tests import it from the source tree
as ``dreamd.gimp.dreamd_deepdream.dreamd_gimp_catalogue``. Standard library only, no ``gi``,
no sibling module.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class LayerInfo:
    """One layer of a model's catalogue, as ``status(layers=True)`` describes it."""

    name: str
    aliases: tuple[str, ...] = ()
    channels: int = 0
    stride: int = 0
    description: str = ""

    @classmethod
    def from_wire(cls, value: Any) -> LayerInfo | None:
        if isinstance(value, str):
            return cls(value) if value else None
        if not isinstance(value, Mapping) or not value.get("name"):
            return None
        return cls(
            str(value["name"]),
            tuple(str(a) for a in value.get("aliases") or ()),
            _int(value.get("channels")),
            _int(value.get("stride")),
            str(value.get("description") or "").strip(),
        )


def _int(value: Any) -> int:
    try:
        return int(value or 0)
    except (TypeError, ValueError):
        return 0


# What a layer draws depends mostly on how many pixels one of its features spans: the
# network's first layers see a few pixels, its deepest ones a large part of a 224-pixel photo.
_BY_STRIDE = (
    (4, "fine grain and edges"),
    (8, "strokes, swirls and woven textures"),
    (16, "eyes, fur, scales and feathers"),
    (32, "whole creatures, faces and buildings"),
)


def stride_hint(stride: int) -> str:
    """A line on what a layer of this stride tends to draw ("" when unknown)."""
    if stride <= 0:
        return ""
    for most, text in _BY_STRIDE:
        if stride <= most:
            return text
    return _BY_STRIDE[-1][1]


@dataclass
class Catalogue:
    """Models and their layers as the running daemon describes them."""

    models: dict[str, list[LayerInfo]] = field(default_factory=dict)
    default_model: str | None = None
    default_layers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_status(cls, status: Mapping[str, Any]) -> Catalogue:
        """From ``status(layers=True)``: ``model`` (the resident one), ``default_layer`` and
        ``layers`` ``{model: [{"name", "aliases", "channels", "stride", "description"?}]}``
        (a layer may also be a plain name)."""
        models: dict[str, list[LayerInfo]] = {}
        raw = status.get("layers") or {}
        if isinstance(raw, Mapping):
            for model, layers in raw.items():
                infos = [LayerInfo.from_wire(v) for v in layers or ()]
                models[str(model)] = [i for i in infos if i is not None]
        default_model = str(status["model"]) if status.get("model") else None
        if default_model and default_model not in models:
            models[default_model] = []
        defaults: dict[str, str] = {}
        if default_model and status.get("default_layer"):
            defaults[default_model] = str(status["default_layer"])
        return cls(models, default_model, defaults)

    @property
    def known(self) -> bool:
        """Whether there is anything to check names against."""
        return any(self.models.values())

    def model_name(self, model: str) -> str:
        """``model``, or the daemon's own when empty."""
        return (model or "").strip() or self.default_model or ""

    def layers(self, model: str) -> list[LayerInfo]:
        return self.models.get(self.model_name(model), [])

    def default_layer(self, model: str) -> str:
        return self.default_layers.get(self.model_name(model), "")

    def hint(self, model: str, layer: LayerInfo) -> str:
        """The line shown next to a layer in the list: what it tends to produce, and
        "(default)" for the model's default layer."""
        text = layer.description or stride_hint(layer.stride)
        if layer.name == self.default_layer(model):
            text = f"{text} (default)" if text else "(default)"
        return text

    def find(self, model: str, name: str) -> LayerInfo | None:
        key = name.strip().lower()
        for layer in self.layers(model):
            if key == layer.name.lower() or key in (a.lower() for a in layer.aliases):
                return layer
        return None

    def check(self, model: str, specs: list[str]) -> str | None:
        """Why the Layer field's ``specs`` (``name`` or ``name:3,17``, as
        ``dreamd_gimp_params.split_layers`` cuts the field) would be refused, with the
        closest names; None when they are fine, or there is no catalogue to check against."""
        if not self.layers(model):
            return None
        for spec in specs:
            name, _, channels = spec.partition(":")
            layer = self.find(model, name)
            if layer is None:
                return _unknown(name.strip(), self.layers(model), self.model_name(model))
            problem = _check_channels(spec, channels, layer)
            if problem:
                return problem
        return None


def _unknown(name: str, layers: list[LayerInfo], model: str) -> str:
    keys: dict[str, str] = {}
    for layer in layers:
        for key in (layer.name, *layer.aliases):
            keys.setdefault(key.lower(), layer.name)
    close = difflib.get_close_matches(name.lower(), list(keys), n=3, cutoff=0.5)
    names = list(dict.fromkeys(keys[c] for c in close))
    said = f"{model} has no layer “{name}”"
    return f"{said}: did you mean {' or '.join(names)}?" if names else f"{said}."


def _check_channels(spec: str, channels: str, layer: LayerInfo) -> str | None:
    if not channels.strip():
        return None
    try:
        wanted = [int(c) for c in channels.split(",")]
    except ValueError:
        return f"“{spec}”: channels are numbers separated by commas, e.g. {layer.name}:3,17"
    if layer.channels and any(c < 0 or c >= layer.channels for c in wanted):
        return f"{layer.name} has channels 0 to {layer.channels - 1}"
    return None
