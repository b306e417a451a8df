"""The engine's exception tree.

EngineError
├── WeightsError
│   ├── WeightsUnavailable   no file, no cache, no network
│   └── WeightsCorrupt       a file that is not the model's weights
├── UnknownModel
├── UnknownLayer             names the field, carries close matches
├── DeviceUnavailable        a device name that is unknown or absent on this machine
├── InvalidImage             shape, dtype or value range of an input image
├── InvalidParams            names the offending field
├── OutOfMemory              the device ran out even at the smallest tile
└── Cancelled                should_cancel() said stop
"""

from __future__ import annotations

from collections.abc import Sequence


class EngineError(Exception):
    """Base class of every error the engine raises on purpose."""


class WeightsError(EngineError):
    """Model weights could not be loaded."""


class WeightsUnavailable(WeightsError):
    """The weights are neither in a given file, the cache, nor downloadable."""


class WeightsCorrupt(WeightsError):
    """A weights file exists but does not hold this model's weights."""


class UnknownModel(EngineError):
    """A model name that the engine does not know."""


class UnknownLayer(EngineError):
    """A layer name that the model's catalogue does not have.

    ``field`` names the parameter that held it (``layers[i]`` for the i-th dream layer,
    ``style_layers`` or ``content_layer``); ``suggestions`` are the model's closest names.
    """

    def __init__(
        self, name: str, model: str, suggestions: Sequence[str], field: str = "layers"
    ) -> None:
        self.name = name
        self.model = model
        self.suggestions = list(suggestions)
        self.field = field
        hint = (
            f" Did you mean: {', '.join(self.suggestions)}?"
            if self.suggestions
            else " List the layers with `dream-batch --list-layers` or `dreamd layers`."
        )
        super().__init__(f"{field}: model {model!r} has no layer {name!r}.{hint}")


class DeviceUnavailable(EngineError):
    """A device name the engine does not know, or a device this machine does not have;
    ``device`` is the name as given."""

    def __init__(self, device: str, message: str) -> None:
        self.device = device
        super().__init__(message)


class InvalidImage(EngineError):
    """An input image of the wrong shape, dtype or range."""


class InvalidParams(EngineError):
    """A dream parameter out of range; ``field`` names it."""

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        super().__init__(f"{field}: {message}")


class OutOfMemory(EngineError):
    """The device ran out of memory even with the smallest tile size."""


class Cancelled(EngineError):
    """The caller asked to stop; raised within one step of the request."""
