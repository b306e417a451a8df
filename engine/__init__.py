"""dreamd's engine: DeepDream in pure PyTorch.

    >>> model = engine.load_model("efficientnet-lite0")
    >>> result = engine.dream(model, image, engine.DreamParams(steps_per_octave=10))

Images are float32 (H, W, C) arrays in [0, 1]; see :func:`to_float` / :func:`from_float`.
Errors derive from :class:`EngineError` (see ``dreamd.engine._errors`` for the tree).
"""

from ._catalogue import Layer, LayerCatalogue
from ._dream import DreamResult, dream, style_distance
from ._errors import (
    Cancelled,
    EngineError,
    InvalidImage,
    InvalidParams,
    OutOfMemory,
    UnknownLayer,
    UnknownModel,
    WeightsCorrupt,
    WeightsError,
    WeightsUnavailable,
)
from ._image import from_float, to_float
from ._params import DreamParams, LayerSpec
from .models import AUTO, MODEL_NAMES, DreamModel, googlenet_weights_path, load_model

__all__ = [
    "AUTO",
    "MODEL_NAMES",
    "Cancelled",
    "DreamModel",
    "DreamParams",
    "DreamResult",
    "EngineError",
    "InvalidImage",
    "InvalidParams",
    "Layer",
    "LayerCatalogue",
    "LayerSpec",
    "OutOfMemory",
    "UnknownLayer",
    "UnknownModel",
    "WeightsCorrupt",
    "WeightsError",
    "WeightsUnavailable",
    "dream",
    "from_float",
    "googlenet_weights_path",
    "load_model",
    "style_distance",
    "to_float",
]
