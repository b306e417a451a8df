"""The DeepDream procedure without GIMP: its name and menu, its arguments, the dream
parameters they make, the new layer's name and what is recorded on it.

Copied next to ``dreamd_deepdream.py`` into GIMP's plug-in folder and imported there as a
top-level module (``import dreamd_gimp_params``); the tests import it from the source tree
as ``dreamd.gimp.dreamd_deepdream.dreamd_gimp_params``. It runs under GIMP's own Python, so
it uses only the standard library, and imports no ``gi`` and no sibling module.
"""

from __future__ import annotations

import json
import random
from collections.abc import Mapping
from typing import Any

PROCEDURE_NAME = "python-fu-deepdream"
MENU_PATH = "<Image>/Filters/Artistic"
MENU_LABEL = "DeepDream…"
PARASITE_NAME = "dreamd-dream"

#: (property name, params key, type, default, min, max, nick, blurb)
ARGUMENTS: tuple[tuple[str, str, type, Any, Any, Any, str, str], ...] = (
    (
        "iterations",
        "iterations",
        int,
        1,
        1,
        100,
        "_Iterations",
        "How many times the whole octave pyramid is run",
    ),
    (
        "octave-count",
        "octave_count",
        int,
        4,
        1,
        12,
        "Octa_ves",
        "Number of scales the image is dreamed at",
    ),
    (
        "octave-scale",
        "octave_scale",
        float,
        1.3,
        1.01,
        4.0,
        "Octave sc_ale",
        "Size ratio between two octaves",
    ),
    (
        "steps-per-octave",
        "steps_per_octave",
        int,
        10,
        0,
        1000,
        "S_teps per octave",
        "Gradient steps at each octave",
    ),
    (
        "step-size",
        "step_size",
        float,
        1.5,
        0.0,
        255.0,
        "Step si_ze",
        "Strength of each step, in 0–255 pixel units",
    ),
    (
        "jitter",
        "jitter",
        int,
        32,
        0,
        512,
        "_Jitter",
        "Random shift in pixels before each step (hides the network's grid)",
    ),
    (
        "seed",
        "seed",
        int,
        -1,
        -1,
        2**31 - 1,
        "See_d",
        "Random seed for the jitter; -1 picks a new one each time (the layer's name says which)",
    ),
)


#: Style transfer weights, sent only with a style: (property name, params key, default,
#: min, max, nick, blurb).
STYLE_ARGUMENTS: tuple[tuple[str, str, float, float, float, str, str], ...] = (
    (
        "style-weight",
        "style_weight",
        1.0,
        0.0,
        1000.0,
        "Style _weight",
        "With a style: how much of each step matches the style",
    ),
    (
        "content-weight",
        "content_weight",
        0.5,
        0.0,
        1000.0,
        "Co_ntent weight",
        "With a style: how much of each step keeps the layer's own content (lower: more style)",
    ),
)
#: The daemon never uses a style image larger than this (its default ``style_max_side``).
STYLE_MAX_SIDE = 1024


def split_layers(text: str) -> list[str]:
    """``"inception_4c/output; inception_4d/output:3,17"`` → two layer specs.

    Layers are separated by ``;`` or whitespace (a comma belongs to a channel list).
    """
    parts = [p.strip() for chunk in text.split(";") for p in chunk.split()]
    return [p for p in parts if p]


def build_params(values: Mapping[str, Any]) -> dict[str, Any]:
    """Dream parameters for the daemon from the procedure's values (property names).

    ``layer`` empty → the model's default layer; ``seed`` −1 → a new random seed. The
    style weights are sent only when ``style`` (a drawable) is set.
    """
    params: dict[str, Any] = {}
    for prop, key, typ, default, _lo, _hi, _nick, _blurb in ARGUMENTS:
        v = values.get(prop, default)
        params[key] = typ(v)
    if params["seed"] < 0:
        # Picked here rather than by the daemon so that the seed recorded in the layer's
        # name fits the dialog's Seed field and the dream can be repeated.
        params["seed"] = random.randrange(2**31)
    layers = split_layers(str(values.get("layer", "") or ""))
    if layers:
        params["layers"] = layers
    if values.get("style") is not None:
        for prop, key, default, *_rest in STYLE_ARGUMENTS:
            params[key] = float(values.get(prop, default))
    return params


def layer_name(
    source: str, params: Mapping[str, Any], model: str = "", layer: str = "", style: str = ""
) -> str:
    """The new layer's name: the source's, then what made it, e.g.
    ``Background · dream inception_4c/output 4×1.3 10 st 1.5 seed 7``, or with a style
    ``Background · style Painting 4×1.3 40 st 4 seed 7`` (``+ dream LAYER`` when a dream
    layer was given too).
    """
    used = layer or ", ".join(params.get("layers", ())) or "default layer"
    if style:
        dreamed = layer or ", ".join(params.get("layers", ()))
        bits = [f"{source} · style {style}" + (f" + dream {dreamed}" if dreamed else "")]
    else:
        bits = [f"{source} · dream {used}"]
    if model:
        bits.append(f"[{model}]")
    bits.append(f"{params.get('octave_count', 4)}×{params.get('octave_scale', 1.3):g}")
    bits.append(f"{params.get('steps_per_octave', 10)} st")
    bits.append(f"{params.get('step_size', 1.5):g}")
    if params.get("iterations", 1) != 1:
        bits.append(f"×{params['iterations']}")
    if params.get("seed") is not None:
        bits.append(f"seed {params['seed']}")
    return " ".join(bits)


def describe_result(info: Mapping[str, Any]) -> str:
    """JSON text recorded on the new layer (parasite) and returned to scripts."""
    return json.dumps(dict(info), sort_keys=True, default=str)


def layer_names(layers: Any) -> list[str]:
    """Names from a result's ``layers`` (names, or maps with a ``name``)."""
    out = []
    for layer in layers or ():
        name = layer.get("name") if isinstance(layer, Mapping) else layer
        if name:
            out.append(str(name))
    return out


def argument_names() -> list[str]:
    """The procedure's own arguments (after run-mode, image and drawables), in order."""
    return [
        "model",
        "layer",
        *(a[0] for a in ARGUMENTS),
        "guide",
        "style",
        *(a[0] for a in STYLE_ARGUMENTS),
    ]


def catalogue_from_status(
    status: Mapping[str, Any],
) -> tuple[dict[str, list[str]], str | None, dict[str, str]]:
    """(model → layer names, default model, model → default layer) from ``status(layers=True)``.

    The daemon answers ``model`` (the resident model), ``default_layer`` and ``layers``:
    ``{model: [{"name": ..., "aliases": [...], ...}, ...]}``; a layer may also be a plain name.
    """
    models: dict[str, list[str]] = {}
    raw = status.get("layers") or {}
    if isinstance(raw, Mapping):
        for model, layers in raw.items():
            names = []
            for layer in layers or ():
                name = layer if isinstance(layer, str) else (layer or {}).get("name")
                if name:
                    names.append(str(name))
            models[str(model)] = names
    default_model = status.get("model")
    default_model = str(default_model) if default_model else None
    if default_model and default_model not in models:
        models[default_model] = []
    defaults: dict[str, str] = {}
    if default_model and status.get("default_layer"):
        defaults[default_model] = str(status["default_layer"])
    return models, default_model, defaults
