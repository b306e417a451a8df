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
from dataclasses import dataclass
from typing import Any

PROCEDURE_NAME = "python-fu-deepdream"
MENU_PATH = "<Image>/Filters/Artistic"
MENU_LABEL = "DeepDream…"
PARASITE_NAME = "dreamd-dream"
#: GIMP help domain of the page installed with the plug-in (``help/en/gimp-help.xml``).
HELP_DOMAIN = "dreamd-deepdream"

#: The Octaves field's value that sends ``octave_count`` ``"auto"`` (protocol 1.1).
AUTO_OCTAVES = 0
OCTAVES_DEFAULT = AUTO_OCTAVES

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
        OCTAVES_DEFAULT,
        0,
        32,
        "Octa_ves",
        "Number of scales the image is dreamed at; 0: automatic (enough that the smallest "
        "is near the size the network was made for, never fewer than 4)",
    ),
    (
        "octave-scale",
        "octave_scale",
        float,
        1.3,
        1.01,
        4.0,
        "Octave _factor",
        "Size ratio between two octaves",
    ),
    (
        "steps-per-octave",
        "steps_per_octave",
        int,
        10,
        0,
        1000,
        "Ste_ps per octave",
        "Gradient steps at each octave",
    ),
    (
        "step-size",
        "step_size",
        float,
        1.5,
        0.0,
        255.0,
        "S_trength",
        "Step size: how far each step pushes the pixels, in 0–255 pixel units",
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
#: min, max, nick, blurb). Weights of the style and content losses (the daemon's own
#: defaults: protocol 1.1).
STYLE_ARGUMENTS: tuple[tuple[str, str, float, float, float, str, str], ...] = (
    (
        "style-weight",
        "style_weight",
        1.0,
        0.0,
        1000.0,
        "Style wei_ght",
        "With a style: how much matching the style counts",
    ),
    (
        "content-weight",
        "content_weight",
        0.3,
        0.0,
        1000.0,
        "Co_ntent weight",
        "With a style: how much keeping the layer's own content counts (lower: more style)",
    ),
)
#: Arguments added later, after the others so that scripts passing values by position keep
#: working: (property name, params key, default, min, max, nick, blurb); 0 is "off".
LATER_ARGUMENTS: tuple[tuple[str, str, int, int, int, str, str], ...] = (
    (
        "detail-size",
        "detail_size",
        0,
        0,
        65_536,
        "Detail si_ze",
        "Dream a copy this many pixels long and carry the detail it adds up to full size "
        "(much faster on big photos); 0: dream at full size",
    ),
)
#: Style arguments added after those (protocol 1.1), sent only with a style: (property
#: name, params key, default, min, max, nick, blurb).
STYLE_LATER_ARGUMENTS: tuple[tuple[str, str, float, float, float, str, str], ...] = (
    (
        "style-scale",
        "style_scale",
        1.0,
        0.05,
        20.0,
        "Style scale",  # every fitting letter is taken
        "With a style: the style layer's size relative to this layer; larger, larger strokes",
    ),
)
#: With a style: transfer the lightness only, the layer keeps its own colours (protocol
#: 1.1): (property name, params key, default, nick, blurb).
KEEP_COLORS: tuple[str, str, bool, str, str] = (
    "keep-colors",
    "keep_colors",
    False,
    "_Keep colours",
    "With a style: take on the style's strokes and light only; the layer keeps its colours",
)

#: The choices the dialog offers for the detail size (pixels on the long side; 0: full).
DETAIL_SIZES = (0, 4096, 3072, 2048, 1536, 1024)

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
    if params["octave_count"] == AUTO_OCTAVES:
        params["octave_count"] = "auto"
    for prop, key, default, *_rest in LATER_ARGUMENTS:
        v = int(values.get(prop, default) or 0)
        if v:
            params[key] = v
    if params["seed"] < 0:
        # Picked here rather than by the daemon so that the seed recorded in the layer's
        # name fits the dialog's Seed field and the dream can be repeated.
        params["seed"] = random.randrange(2**31)
    layers = split_layers(str(values.get("layer", "") or ""))
    if layers:
        params["layers"] = layers
    if values.get("style") is not None:
        for prop, key, default, *_rest in (*STYLE_ARGUMENTS, *STYLE_LATER_ARGUMENTS):
            params[key] = float(values.get(prop, default))
        prop, key, default, *_rest = KEEP_COLORS
        if values.get(prop, default):
            params[key] = True
    return params


def short_layer(name: str) -> str:
    """``inception_4c/output`` → ``inception_4c``: the part a painter recognises."""
    name = name.strip()
    return name[: -len("/output")] if name.endswith("/output") else name


def layer_name(layers: Any = (), style: str = "", draft: bool = False) -> str:
    """The new layer's name, short: ``Dream — inception_4c``, ``Style — Painting`` or
    ``Style — Painting + inception_4c``. Everything else that made it is in the layer's
    parasite (:data:`PARASITE_NAME`), so dreaming a dream does not pile names up."""
    names = " + ".join(short_layer(n) for n in layer_names(layers)) if layers else ""
    if style:
        text = f"Style — {style}" + (f" + {names}" if names else "")
    else:
        text = f"Dream — {names or 'default layer'}"
    return f"{text} (draft)" if draft else text


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
        *(a[0] for a in LATER_ARGUMENTS),
        *(a[0] for a in STYLE_LATER_ARGUMENTS),
        KEEP_COLORS[0],
    ]


# ---------------------------------------------------------------------------------------------
# Presets: a starting point for each kind of result, set from the dialog's buttons. Tuned by
# looking at chelsea.jpg dreamed with each (efficientnet-lite0): Subtle leaves the cat a cat
# under a fine texture, Classic is the notebook's, Strong turns eyes and noses into creatures
# without the noise of a second pass.


@dataclass(frozen=True)
class Preset:
    label: str
    tooltip: str
    values: Mapping[str, Any]


PRESETS: dict[str, Preset] = {
    "subtle": Preset(
        "Subtle",
        "A light touch: the picture stays, with a fine dreamy texture over it",
        {"iterations": 1, "steps-per-octave": 8, "step-size": 0.8, "octave-scale": 1.4},
    ),
    "classic": Preset(
        "Classic",
        "The original DeepDream notebook's settings",
        {"iterations": 1, "steps-per-octave": 10, "step-size": 1.5, "octave-scale": 1.4},
    ),
    "strong": Preset(
        "Strong",
        "Dream harder: bold shapes take over the picture",
        {"iterations": 1, "steps-per-octave": 20, "step-size": 2.0, "octave-scale": 1.4},
    ),
    "style": Preset(
        "Style",
        "Paint the layer in the style of the Style layer chosen below (style transfer): "
        "more, stronger steps",
        {  # the daemon's STYLE_DEFAULTS (protocol 1.1)
            "iterations": 1,
            "octave-count": 3,
            "octave-scale": 1.5,
            "steps-per-octave": 40,
            "step-size": 6.0,
            "style-weight": 1.0,
            "content-weight": 0.3,
        },
    ),
}


# ---------------------------------------------------------------------------------------------
# What the dialog showed last, kept across Cancel and failed dreams (GIMP itself keeps a
# procedure's values only after a successful run).

#: Global GIMP parasite holding :func:`memory_text`.
MEMORY_PARASITE = "dreamd-deepdream-dialog"


def memory_text(values: Mapping[str, Any], last_seed: int | None, session: int) -> str:
    """JSON for the dialog's values (property names; ``guide``/``style`` as drawable ids,
    meaningful only in GIMP ``session``) and the seed of the last dream."""
    kept = {k: values[k] for k in argument_names() if k in values}
    return json.dumps({"values": kept, "last_seed": last_seed, "session": session})


def memory_values(text: str | bytes | None, session: int) -> tuple[dict[str, Any], int | None]:
    """(values to put back into the dialog, last seed) from :func:`memory_text`'s JSON.

    Values of the wrong type or out of range are dropped; drawable ids only come back in
    the GIMP session that wrote them (ids are reused by later sessions).
    """
    try:
        data = json.loads(text or "{}")
    except (TypeError, ValueError):
        return {}, None
    if not isinstance(data, dict):
        return {}, None
    raw = data.get("values")
    if not isinstance(raw, dict):
        raw = {}
    ranges = {a[0]: (a[2], a[4], a[5]) for a in ARGUMENTS}
    ranges.update({a[0]: (float, a[3], a[4]) for a in STYLE_ARGUMENTS})
    ranges.update({a[0]: (int, a[3], a[4]) for a in LATER_ARGUMENTS})
    ranges.update({a[0]: (float, a[3], a[4]) for a in STYLE_LATER_ARGUMENTS})
    out: dict[str, Any] = {}
    for key, value in raw.items():
        if key in ("model", "layer") and isinstance(value, str):
            out[key] = value
        elif key in ("guide", "style"):
            if value is None or (isinstance(value, int) and data.get("session") == session):
                out[key] = value
        elif key == KEEP_COLORS[0] and isinstance(value, bool):
            out[key] = value
        elif key in ranges and isinstance(value, (int, float)) and not isinstance(value, bool):
            typ, lo, hi = ranges[key]
            if lo <= value <= hi and (typ is float or float(value).is_integer()):
                out[key] = typ(value)
    seed = data.get("last_seed")
    return out, seed if isinstance(seed, int) and not isinstance(seed, bool) else None
