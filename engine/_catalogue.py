"""Layer catalogues: the named places in a network that a dream can maximise.

A model is a trunk of *stages* run one after another. A layer is either a stage's
output or a branch inside a stage (computed from the stage's input), so the forward
pass can stop exactly at the deepest layer a dream asks for.

This module needs no torch (tensors appear only in type hints), so that a front end can
check layer names against a catalogue described by a daemon without loading a network.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ._errors import UnknownLayer

if TYPE_CHECKING:
    from torch import Tensor, nn

#: Computes a branch layer from (stage module, stage input).
BranchFn = Callable[["nn.Module", "Tensor"], "Tensor"]

#: ``Layer.stage`` of a layer known from its description only (not part of a loaded net).
DESCRIBED = -1


@dataclass(frozen=True)
class Layer:
    """One dreamable layer.

    Attributes:
        name: canonical name (caffe style for googlenet, e.g. ``inception_4c/output``).
        stage: index of the trunk stage that holds it.
        channels: number of feature channels.
        stride: input pixels per feature position (cumulative stride).
        aliases: other accepted names (e.g. torchvision's ``inception4c``).
        branch: for a layer inside a stage, how to compute it from the stage's input;
            ``None`` for a stage's output.
    """

    name: str
    stage: int
    channels: int
    stride: int
    aliases: tuple[str, ...] = ()
    branch: BranchFn | None = field(default=None, compare=False, repr=False)

    def as_dict(self) -> dict[str, object]:
        """Plain-data description, for status replies and ``--list-layers``."""
        return {
            "name": self.name,
            "aliases": list(self.aliases),
            "channels": self.channels,
            "stride": self.stride,
        }

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> Layer:
        """The layer an :meth:`as_dict` describes (its stage unknown: :data:`DESCRIBED`)."""
        return cls(
            str(values["name"]),
            DESCRIBED,
            int(values.get("channels") or 0),
            int(values.get("stride") or 1),
            tuple(str(a) for a in values.get("aliases") or ()),
        )


class LayerCatalogue:
    """Ordered, name-addressable set of a model's layers."""

    def __init__(
        self,
        model: str,
        layers: Iterable[Layer],
        default: str,
        style: Iterable[str] = (),
        content: str | None = None,
    ) -> None:
        self.model = model
        self._layers = list(layers)
        self._index: dict[str, Layer] = {}
        for layer in self._layers:
            for key in (layer.name, *layer.aliases):
                self._index[key.lower()] = layer
        self.default = self[default]
        #: Default layers for style transfer: Gram matrices on ``style``, features on ``content``.
        self.style_defaults = [self[name] for name in style]
        self.content_default = self[content] if content else self.default

    @classmethod
    def from_dicts(
        cls,
        model: str,
        layers: Iterable[Mapping[str, Any]],
        default: str,
        style: Sequence[str] = (),
        content: str | None = None,
    ) -> LayerCatalogue:
        """The catalogue a ``status`` reply describes (``Layer.as_dict`` entries and the
        model's default layers), to check names without loading the network."""
        return cls(model, [Layer.from_dict(d) for d in layers], default, style, content)

    def __getitem__(self, name: str) -> Layer:
        return self.find(name)

    def find(self, name: str, field: str = "layers") -> Layer:
        """The layer called ``name`` (or one of its aliases; case and surrounding spaces do
        not matter).

        Raises:
            UnknownLayer: naming ``field`` and suggesting the closest names.
        """
        layer = self._index.get(name.strip().lower())
        if layer is None:
            close = difflib.get_close_matches(name.lower(), list(self._index), n=5, cutoff=0.5)
            names = [self._index[c].name for c in close]
            raise UnknownLayer(name, self.model, list(dict.fromkeys(names)), field)
        return layer

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.strip().lower() in self._index

    def __iter__(self) -> Iterator[Layer]:
        return iter(self._layers)

    def __len__(self) -> int:
        return len(self._layers)

    def names(self) -> list[str]:
        """Canonical names in network order."""
        return [layer.name for layer in self._layers]
