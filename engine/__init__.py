"""dreamd's engine: DeepDream in pure PyTorch.

    >>> model = engine.load_model("efficientnet-lite0")
    >>> result = engine.dream(model, image, engine.DreamParams(steps_per_octave=10))

Images are float32 (H, W, C) arrays in [0, 1]; ``dreamd.codec.to_float`` / ``from_float``
convert pixels to and from them.
Errors derive from :class:`EngineError` (see ``dreamd.engine._errors`` for the tree).
"""

import importlib
from typing import TYPE_CHECKING

from ._catalogue import Layer, LayerCatalogue
from ._errors import (
    Cancelled,
    DeviceUnavailable,
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
from ._layers import content_layer, dream_layers, resolve_layers, style_layers
from ._params import STYLE_DEFAULTS, DreamParams, LayerSpec
from ._plan import (
    MAX_AUTO_OCTAVES,
    MIN_AUTO_OCTAVES,
    NATIVE_SIDE,
    Plan,
    auto_octave_count,
    fit_speed,
    plan,
    plan_params,
)

# These need torch, whose import takes seconds and about a gigabyte: they are imported on
# first use, so that a front end can check parameters and layer names and catch the
# engine's errors without it (dream-batch talking to a daemon, dreamd's client commands).
_NEEDS_TORCH = {
    "AUTO": ".models",
    "CAFFE_MODELS": ".models",
    "MODEL_NAMES": ".models",
    "DreamModel": ".models",
    "cached_weights": ".models",
    "fetch_weights": ".models",
    "googlenet_weights_path": ".models",
    "load_model": ".models",
    "model_for_file": ".models",
    "DreamResult": "._dream",
    "dream": "._dream",
    "style_distance": "._dream",
    "content_distance": "._dream",
    "device_info": "._devices",
    "inventory": "._inventory",
    "resolve_device": "._devices",
    "resolve_devices": "._devices",
}

if TYPE_CHECKING:
    from ._devices import device_info, resolve_device, resolve_devices
    from ._dream import DreamResult, content_distance, dream, style_distance
    from ._inventory import inventory
    from .models import (
        AUTO,
        CAFFE_MODELS,
        MODEL_NAMES,
        DreamModel,
        cached_weights,
        fetch_weights,
        googlenet_weights_path,
        load_model,
        model_for_file,
    )
else:

    def __getattr__(name: str) -> object:
        module = _NEEDS_TORCH.get(name)
        if module is None:
            raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module, __name__), name)
        globals()[name] = value
        return value


__all__ = [
    "AUTO",
    "CAFFE_MODELS",
    "MAX_AUTO_OCTAVES",
    "MIN_AUTO_OCTAVES",
    "MODEL_NAMES",
    "NATIVE_SIDE",
    "STYLE_DEFAULTS",
    "Cancelled",
    "DeviceUnavailable",
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
    "Plan",
    "UnknownLayer",
    "UnknownModel",
    "WeightsCorrupt",
    "WeightsError",
    "WeightsUnavailable",
    "auto_octave_count",
    "cached_weights",
    "content_distance",
    "content_layer",
    "device_info",
    "dream",
    "dream_layers",
    "fetch_weights",
    "fit_speed",
    "googlenet_weights_path",
    "inventory",
    "load_model",
    "model_for_file",
    "plan",
    "plan_params",
    "resolve_device",
    "resolve_devices",
    "resolve_layers",
    "style_distance",
    "style_layers",
]
