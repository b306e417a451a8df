"""The ``params`` map of a ``dream``: one entry per field of the engine's ``DreamParams``
(the dream's and the style transfer's), with its kind, bounds and default.

The bounds here are what keeps a hostile or mistaken request from tying up the daemon
(time, memory, NaN in arithmetic). The engine validates meaning again; its table says the
same (``tests/test_dream_params.py`` compares the two, since this package may not import
the engine), so that a request passing here is not refused later for a range.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from ._errors import ErrorCode, MessageInvalid
from ._limits import Limits
from ._wire import (
    bad,
    check_float,
    check_known,
    get_bool,
    get_float,
    get_int,
    get_str,
    kind_of,
    path,
)

PRECISIONS: tuple[str, ...] = ("auto", "fp32", "bf16", "fp16")
STYLE_OPTIMIZERS: tuple[str, ...] = ("lbfgs", "adam", "step")

MAX_LAYERS = 64  # layers in one objective
MAX_LAYER_NAME = 256  # "inception_4c/output:3,17,…" included
MAX_CHANNEL = 65_535  # no network here has more channels in one layer
MAX_LAYER_WEIGHT = 1e6
MAX_STYLE_WEIGHT = 1e9
MAX_SEED = 2**63 - 1
#: ``octave_count`` ``"auto"`` runs at most this many octaves (the step budget counts them).
AUTO_OCTAVES_MAX = 16
MAX_BLEND_WEIGHT = 1e6
#: Style images one dream may blend (each one a frame of its own).
MAX_STYLES = 4


@dataclass(frozen=True)
class Param:
    """One field of ``params``: its kind, inclusive bounds (a length for ``str``) and the
    value the engine uses when it is left out."""

    kind: Literal["int", "number", "str", "bool", "layers", "names", "numbers"]
    low: float = 0
    high: float = 0
    default: Any = None
    nullable: bool = False
    choices: tuple[str, ...] = ()


#: Every field, in the order they are checked (a request's first bad field is answered).
PARAMS: dict[str, Param] = {
    "layers": Param("layers", default=()),
    # "auto" (1.1): enough octaves that the smallest is near the network's own size, 4 to
    # AUTO_OCTAVES_MAX of them (the engine's rule, engine/_plan.py)
    "octave_count": Param("int", 1, 32, "auto", choices=("auto",)),
    "octave_scale": Param("number", 1.01, 4.0, 1.3),
    "detail_size": Param("int", 64, 65_536, None, nullable=True),
    "steps_per_octave": Param("int", 0, 10_000, 10),
    "iterations": Param("int", 1, 1_000, 1),
    "step_size": Param("number", 0.0, 255.0, 1.5),
    "jitter": Param("int", 0, 4096, 32),
    "seed": Param("int", 0, MAX_SEED, None, nullable=True),
    "tile_size": Param("int", 64, 16_384, None, nullable=True),
    "precision": Param("str", 1, 8, "auto", choices=PRECISIONS),
    "guide_max_side": Param("int", 32, 2048, 448),
    "style_weight": Param("number", 0.0, MAX_STYLE_WEIGHT, 1.0),
    "content_weight": Param("number", 0.0, MAX_STYLE_WEIGHT, 0.3),
    "style_layers": Param("names", default=()),
    "content_layer": Param("str", 1, MAX_LAYER_NAME, None, nullable=True),
    "style_max_side": Param("int", 32, 4096, 1024),
    "style_optimizer": Param("str", 1, 8, "adam", choices=STYLE_OPTIMIZERS),
    "tv_weight": Param("number", 0.0, MAX_STYLE_WEIGHT, 0.01),
    # 1.2: holds a video frame to the previous styled one (the request's ``previous``)
    "temporal_weight": Param("number", 0.0, MAX_STYLE_WEIGHT, 10.0),
    "style_scale": Param("number", 0.05, 20.0, 1.0),
    "style_blend": Param("numbers", 0.0, MAX_BLEND_WEIGHT, ()),
    "keep_colors": Param("bool", default=False),
}

#: Style transfer (``DreamParams`` fields too): they matter only with a ``style`` image.
STYLE_PARAMS: tuple[str, ...] = (
    "style_weight",
    "content_weight",
    "style_layers",
    "content_layer",
    "style_max_side",
    "style_optimizer",
    "tv_weight",
    "temporal_weight",
    "style_scale",
    "style_blend",
    "keep_colors",
)
#: Style parameters added in protocol 1.1 (a 1.0 daemon refuses them as unknown).
STYLE_PARAMS_1_1: frozenset[str] = frozenset(
    {"style_optimizer", "tv_weight", "style_scale", "style_blend", "keep_colors"}
)
#: Style parameters added in protocol 1.2 (with the ``content`` and ``previous`` images).
STYLE_PARAMS_1_2: frozenset[str] = frozenset({"temporal_weight"})
#: The dream's own fields.
DREAM_PARAMS: tuple[str, ...] = tuple(name for name in PARAMS if name not in STYLE_PARAMS)
PARAM_NAMES: frozenset[str] = frozenset(PARAMS)

#: What a style transfer needs that a dream does not (the engine's ``STYLE_DEFAULTS``):
#: clients send these with a style image unless their user chose otherwise — the
#: ``params`` defaults above stay a dream's. dream-batch and the GIMP plug-in do.
STYLE_DEFAULTS: dict[str, Any] = {
    "octave_count": 3,
    "octave_scale": 1.5,
    "steps_per_octave": 40,
    "step_size": 6.0,
}

_LAYER_FIELDS = frozenset({"name", "weight", "channels"})


def check_params(params: object, limits: Limits, field: str = "params") -> dict[str, Any]:
    """Validate a ``params`` map and return it (values unchanged: the engine parses them).

    Raises :class:`MessageInvalid` (UNKNOWN_FIELD or BAD_VALUE, ``field`` the dotted path).
    """
    if not isinstance(params, Mapping):
        raise bad(field, f"must be a map, got {kind_of(params)}")
    check_known(params, PARAM_NAMES, field)
    for name, param in PARAMS.items():
        _check(params, name, param, field)
    total = 1
    for name in ("octave_count", "steps_per_octave", "iterations"):
        value = params.get(name, PARAMS[name].default)
        total *= AUTO_OCTAVES_MAX if value == "auto" else value
    if total > limits.max_total_steps:
        raise MessageInvalid(
            ErrorCode.TOO_LARGE,
            f"octave_count × steps_per_octave × iterations is {total} steps, "
            f"the limit is {limits.max_total_steps}",
            path(field, "steps_per_octave"),
        )
    return dict(params)


def _check(params: Mapping[str, Any], name: str, param: Param, field: str) -> None:
    if param.kind == "int" and params.get(name) in param.choices:
        return  # "auto"
    if param.kind == "int":
        get_int(params, name, field, int(param.low), int(param.high), nullable=param.nullable)
    elif param.kind == "number":
        get_float(params, name, field, param.low, param.high)
    elif param.kind == "str":
        get_str(
            params,
            name,
            field,
            min_len=int(param.low),
            max_len=int(param.high),
            nullable=param.nullable,
            choices=param.choices or None,
        )
    elif param.kind == "bool":
        get_bool(params, name, field, param.default)
    elif name in params and param.kind == "numbers":
        _check_numbers(params[name], path(field, name), param.low, param.high)
    elif name in params:
        check = _check_layers if param.kind == "layers" else _check_names
        check(params[name], path(field, name))


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


def _check_numbers(value: object, field: str, low: float, high: float) -> None:
    """``style_blend``: a number or a list of at most :data:`MAX_STYLES` numbers, not all 0
    (they are shares: only their ratios matter)."""
    items = value if isinstance(value, list) else [value]
    if len(items) > MAX_STYLES:
        raise bad(field, f"at most {MAX_STYLES} weights, got {len(items)}")
    for i, item in enumerate(items):
        check_float(item, path(field, i) if isinstance(value, list) else field, low, high)
    if items and not sum(items) > 0:
        raise bad(field, "at least one weight must be above 0")


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
