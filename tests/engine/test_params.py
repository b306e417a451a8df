"""Dream parameters: defaults are the notebook's; bad values name their field."""

from __future__ import annotations

import math

import pytest

from dreamd.engine import DreamParams, InvalidParams, LayerSpec


def test_defaults_are_the_original_notebooks():
    """The notebook's, except the octave count: "auto" gives the notebook's 4 on pictures
    up to about 500 pixels on their short side, and more on larger ones (engine/_plan.py)."""
    p = DreamParams()
    assert (p.octave_count, p.octave_scale, p.steps_per_octave, p.iterations) == (
        "auto",
        1.3,
        10,
        1,
    )
    assert (p.step_size, p.jitter) == (1.5, 32)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("octave_count", 0),
        ("octave_scale", 1.0),
        ("octave_scale", math.nan),
        ("steps_per_octave", -1),
        ("steps_per_octave", 10**9),
        ("jitter", 10**6),
        ("step_size", math.inf),
        ("step_size", -1.0),
        ("iterations", 0),
        ("seed", -5),
        ("tile_size", 8),
        ("precision", "int4"),
        ("octave_count", True),
        ("jitter", 2.5),
    ],
)
def test_bad_values_name_the_field(field: str, value: object):
    with pytest.raises(InvalidParams) as info:
        DreamParams.from_mapping({field: value})
    assert info.value.field == field


def test_unknown_parameter_is_refused():
    with pytest.raises(InvalidParams, match="octaves"):
        DreamParams.from_mapping({"octaves": 3})


def test_layer_specs_parse_names_channels_and_mappings():
    p = DreamParams.from_mapping(
        {"layers": ["inception_4c/output:3,17", {"name": "conv2/3x3", "weight": 0.5}]}
    )
    assert p.layers == (
        LayerSpec("inception_4c/output", 1.0, (3, 17)),
        LayerSpec("conv2/3x3", 0.5, None),
    )
    assert DreamParams.from_mapping({"layers": "inception_3b/output"}).layers[0].name == (
        "inception_3b/output"
    )
    with pytest.raises(InvalidParams, match="channel"):
        LayerSpec.parse("inception_4c/output:a,b")
