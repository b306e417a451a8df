"""The ``params`` map of a ``dream``: the field names of ``engine/_params.py`` (the dream's
and the style transfer's), each with its type and bounds.

The bounds here are what keeps a hostile or mistaken request from tying up the daemon
(time, memory, NaN in arithmetic). The engine validates meaning again; the numbers agree
with it so that a request passing here is not refused later for a range.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ._errors import ErrorCode, MessageInvalid
from ._limits import Limits
from ._wire import (
    bad,
    check_float,
    check_known,
    get_float,
    get_int,
    get_str,
    kind_of,
    path,
)

#: Fields of the engine's ``DreamParams``: the daemon passes these to
#: ``DreamParams.from_mapping``.
DREAM_PARAMS: tuple[str, ...] = (
    "layers",
    "octave_count",
    "octave_scale",
    "steps_per_octave",
    "iterations",
    "step_size",
    "jitter",
    "seed",
    "tile_size",
    "precision",
    "guide_max_side",
)

#: Style transfer (``DreamParams`` fields too): they matter only with a ``style`` image.
STYLE_PARAMS: tuple[str, ...] = (
    "style_weight",
    "content_weight",
    "style_layers",
    "content_layer",
    "style_max_side",
)

PARAM_NAMES: frozenset[str] = frozenset(DREAM_PARAMS + STYLE_PARAMS)
PRECISIONS: tuple[str, ...] = ("auto", "fp32", "bf16", "fp16")

MAX_LAYERS = 64  # layers in one objective
MAX_LAYER_NAME = 256  # "inception_4c/output:3,17,…" included
MAX_CHANNEL = 65_535  # no network here has more channels in one layer
MAX_LAYER_WEIGHT = 1e6
MAX_STYLE_WEIGHT = 1e9
MAX_SEED = 2**63 - 1

_LAYER_FIELDS = frozenset({"name", "weight", "channels"})


def check_params(params: object, limits: Limits, field: str = "params") -> dict[str, Any]:
    """Validate a ``params`` map and return it (values unchanged: the engine parses them).

    Raises :class:`MessageInvalid` (UNKNOWN_FIELD or BAD_VALUE, ``field`` the dotted path).
    """
    if not isinstance(params, Mapping):
        raise bad(field, f"must be a map, got {kind_of(params)}")
    check_known(params, PARAM_NAMES, field)
    octaves = get_int(params, "octave_count", field, 1, 32, default=4)
    get_float(params, "octave_scale", field, 1.01, 4.0)
    steps = get_int(params, "steps_per_octave", field, 0, 10_000, default=10)
    iterations = get_int(params, "iterations", field, 1, 1_000, default=1)
    get_float(params, "step_size", field, 0.0, 255.0)
    get_int(params, "jitter", field, 0, 4096)
    get_int(params, "seed", field, 0, MAX_SEED, nullable=True)
    get_int(params, "tile_size", field, 64, 16_384, nullable=True)
    get_str(params, "precision", field, max_len=8, choices=PRECISIONS)
    get_int(params, "guide_max_side", field, 32, 2048)
    if "layers" in params:
        _check_layers(params["layers"], path(field, "layers"))
    get_float(params, "style_weight", field, 0.0, MAX_STYLE_WEIGHT)
    get_float(params, "content_weight", field, 0.0, MAX_STYLE_WEIGHT)
    if "style_layers" in params:
        _check_names(params["style_layers"], path(field, "style_layers"))
    get_str(params, "content_layer", field, max_len=MAX_LAYER_NAME, min_len=1, nullable=True)
    get_int(params, "style_max_side", field, 32, 4096)
    assert octaves is not None and steps is not None and iterations is not None
    total = octaves * steps * iterations
    if total > limits.max_total_steps:
        raise MessageInvalid(
            ErrorCode.TOO_LARGE,
            f"octave_count × steps_per_octave × iterations is {total} steps, "
            f"the limit is {limits.max_total_steps}",
            path(field, "steps_per_octave"),
        )
    return dict(params)


def _check_name(value: object, field: str) -> None:
    if not isinstance(value, str):
        raise bad(field, f"must be a layer name, got {kind_of(value)}")
    if not 1 <= len(value) <= MAX_LAYER_NAME:
        raise bad(field, f"must be 1 to {MAX_LAYER_NAME} characters long")


def _check_names(value: object, field: str) -> None:
    """A layer name or a list of names."""
    if isinstance(value, str):
        _check_name(value, field)
        return
    if not isinstance(value, list):
        raise bad(field, f"must be a layer name or a list of names, got {kind_of(value)}")
    if len(value) > MAX_LAYERS:
        raise bad(field, f"at most {MAX_LAYERS} layers, got {len(value)}")
    for i, item in enumerate(value):
        _check_name(item, path(field, i))


def _check_layers(value: object, field: str) -> None:
    """``"name"``, ``"name:3,17"``, ``{name, weight, channels}`` or a list of those."""
    items = value if isinstance(value, list) else [value]
    if len(items) > MAX_LAYERS:
        raise bad(field, f"at most {MAX_LAYERS} layers, got {len(items)}")
    for i, item in enumerate(items):
        where = path(field, i) if isinstance(value, list) else field
        if isinstance(item, str):
            _check_name(item, where)
        elif isinstance(item, Mapping):
            check_known(item, _LAYER_FIELDS, where)
            if "name" not in item:
                raise bad(path(where, "name"), "is required")
            _check_name(item["name"], path(where, "name"))
            if "weight" in item:
                # Negative weights are meaningful: they minimise a layer instead.
                weight_field = path(where, "weight")
                check_float(item["weight"], weight_field, -MAX_LAYER_WEIGHT, MAX_LAYER_WEIGHT)
            channels = item.get("channels")
            if channels is not None:
                _check_channels(channels, path(where, "channels"))
        else:
            raise bad(where, f"must be a layer name or a map, got {kind_of(item)}")


def _check_channels(value: object, field: str) -> None:
    if not isinstance(value, list) or not value:
        raise bad(field, "must be a non-empty list of channel indices")
    for i, channel in enumerate(value):
        if isinstance(channel, bool) or not isinstance(channel, int):
            raise bad(path(field, i), f"must be an integer, got {kind_of(channel)}")
        if not 0 <= channel <= MAX_CHANNEL:
            raise bad(path(field, i), f"must be between 0 and {MAX_CHANNEL}, got {channel}")
