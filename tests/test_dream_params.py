"""The protocol's ``params`` table and the engine's ``DreamParams`` state the same fields,
types, bounds and defaults. The protocol may not import the engine (GIMP's Python has no
torch), so this test is what ties the two: a bound changed on one side only fails here."""

from __future__ import annotations

import dataclasses
import math
import types
import typing

import pytest

from dreamd import engine, protocol
from dreamd.engine import _params as engine_params
from dreamd.protocol import _params as wire

FIELDS = {f.name: f for f in dataclasses.fields(engine.DreamParams)}
HINTS = typing.get_type_hints(engine.DreamParams)


def test_the_same_names():
    assert set(wire.PARAMS) == set(FIELDS) == protocol.PARAM_NAMES
    assert set(protocol.DREAM_PARAMS) | set(protocol.STYLE_PARAMS) == set(FIELDS)


def _kind(hint: object) -> tuple[str, bool]:
    """The protocol kind of an engine type hint, and whether it may be None."""
    args = typing.get_args(hint)
    nullable = type(None) in args
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        # None, and "auto" next to a number (octave_count), leave the number's kind
        plain = [a for a in args if a is not type(None)]
        base = next((a for a in plain if typing.get_origin(a) is not typing.Literal), plain[0])
    else:
        base = hint
    if base is int:
        return "int", nullable
    if base is float:
        return "number", nullable
    if base is bool:
        return "bool", nullable
    if base is str or typing.get_origin(base) is typing.Literal:
        return "str", nullable
    assert typing.get_origin(base) is tuple, hint
    item = typing.get_args(base)[0]
    return {engine.LayerSpec: "layers", str: "names", float: "numbers"}[item], nullable


@pytest.mark.parametrize("name", sorted(FIELDS))
def test_the_same_type_and_default(name: str):
    param = wire.PARAMS[name]
    assert (param.kind, param.nullable) == _kind(HINTS[name])
    assert param.default == FIELDS[name].default


@pytest.mark.parametrize("name", sorted(engine_params.RANGES))
def test_the_same_bounds(name: str):
    kind, low, high = engine_params.RANGES[name]
    param = wire.PARAMS[name]
    assert (param.kind, param.low, param.high) == ({int: "int", float: "number"}[kind], low, high)
    assert param.nullable == (name in engine_params.OPTIONAL)


def test_the_same_style_defaults():
    assert wire.STYLE_DEFAULTS == engine.STYLE_DEFAULTS
    engine.DreamParams.from_mapping(engine.STYLE_DEFAULTS)
    protocol.check_params(dict(wire.STYLE_DEFAULTS), protocol.Limits())


def test_the_same_choices_and_layer_weights():
    assert wire.PARAMS["precision"].choices == engine_params.PRECISIONS
    assert typing.get_args(engine_params.Precision) == engine_params.PRECISIONS
    assert wire.PARAMS["style_optimizer"].choices == engine_params.STYLE_OPTIMIZERS
    assert typing.get_args(engine_params.StyleOptimizer) == engine_params.STYLE_OPTIMIZERS
    assert engine_params.LAYER_WEIGHT == (-wire.MAX_LAYER_WEIGHT, wire.MAX_LAYER_WEIGHT)
    blend = wire.PARAMS["style_blend"]
    assert (blend.low, blend.high) == engine_params.BLEND_WEIGHT
    # the engine blends any number of styles; a request carries at most MAX_STYLES frames
    assert engine_params.MAX_STYLES >= wire.MAX_STYLES


@pytest.mark.parametrize(
    "value, ok",
    [
        ([0.7, 0.3], True),
        (2.0, True),
        ([], True),
        ([0.0, 0.0], False),
        ([-0.1, 1.0], False),
        ([1.0] * 5, False),
        (["a"], False),
        (True, False),
    ],
)
def test_style_blend_is_refused_alike(value: object, ok: bool):
    assert _protocol_accepts("style_blend", value) is ok, value
    if isinstance(value, list) and len(value) > 4:
        return  # the engine takes more styles than one request's frames can carry
    assert _engine_accepts("style_blend", value) is ok, value


@pytest.mark.parametrize("value, ok", [(True, True), (False, True), (1, False), ("yes", False)])
def test_keep_colors_is_refused_alike(value: object, ok: bool):
    assert _protocol_accepts("keep_colors", value) is ok
    assert _engine_accepts("keep_colors", value) is ok


def _protocol_accepts(name: str, value: object, rest: dict | None = None) -> bool:
    try:
        protocol.check_params({**(rest or {}), name: value}, protocol.Limits())
    except protocol.MessageInvalid:
        return False
    return True


def _engine_accepts(name: str, value: object) -> bool:
    try:
        engine.DreamParams.from_mapping({name: value})
    except engine.InvalidParams:
        return False
    return True


@pytest.mark.parametrize("name", sorted(engine_params.RANGES))
def test_both_sides_refuse_exactly_outside_the_bounds(name: str):
    """The validators themselves use the tables: each bound is accepted by both, the next
    value out is refused by both."""
    kind, low, high = engine_params.RANGES[name]
    below = low - 1 if kind is int else math.nextafter(low, -math.inf)
    above = high + 1 if kind is int else math.nextafter(high, math.inf)
    # One octave: the total step budget (its own rule) stays out of the way of the bounds.
    rest = {} if name == "octave_count" else {"octave_count": 1}
    for value, ok in ((kind(low), True), (kind(high), True), (below, False), (above, False)):
        assert _protocol_accepts(name, value, rest) is ok, (name, value)
        assert _engine_accepts(name, value) is ok, (name, value)


@pytest.mark.parametrize("value, ok", [("auto", True), (7, True), ("Auto", False), (0, False)])
def test_auto_octaves_is_accepted_alike(value: object, ok: bool):
    assert _protocol_accepts("octave_count", value) is ok
    assert _engine_accepts("octave_count", value) is ok


def test_auto_octaves_at_most_as_many_as_the_step_budget_counts():
    assert wire.AUTO_OCTAVES_MAX == engine.MAX_AUTO_OCTAVES
