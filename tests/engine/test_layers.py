"""Layer names resolved against a model: one set of rules for the engine, dreamd and
dream-batch (typos name their field and suggest the right name)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from dreamd import engine
from dreamd.engine import DreamParams, LayerSpec


def test_a_typo_in_a_style_layer_names_the_field_and_the_right_name(lite0):
    params = DreamParams(style_layers=("block2", "blok4"))
    with pytest.raises(engine.UnknownLayer) as info:
        engine.resolve_layers(lite0.catalogue, params, styled=True)
    assert info.value.field == "style_layers"
    assert "block4" in info.value.suggestions
    assert str(info.value).startswith("style_layers:") and "Did you mean" in str(info.value)


@pytest.mark.parametrize(
    ("params", "field"),
    [
        (DreamParams(layers=(LayerSpec("block4"), LayerSpec("blok10"))), "layers[1]"),
        (DreamParams(content_layer="blok7"), "content_layer"),
    ],
)
def test_every_layer_field_is_checked_and_named(lite0, params, field):
    with pytest.raises(engine.UnknownLayer) as info:
        engine.resolve_layers(lite0.catalogue, params)
    assert info.value.field == field and info.value.suggestions


def test_a_channel_the_layer_lacks_is_refused_with_its_range(lite0):
    channels = lite0.catalogue["block10"].channels
    params = DreamParams(layers=(LayerSpec("block10", 1.0, (3, channels)),))
    with pytest.raises(engine.InvalidParams) as info:
        engine.dream_layers(lite0.catalogue, params)
    assert info.value.field == "layers[0].channels"
    assert f"0..{channels - 1}" in str(info.value)


def test_defaults_are_filled_in_and_names_made_canonical(lite0):
    cat = lite0.catalogue
    ((layer, spec),) = engine.dream_layers(cat, DreamParams())
    assert layer is cat.default and spec.channels is None
    assert engine.style_layers(cat, DreamParams()) == cat.style_defaults
    assert engine.content_layer(cat, DreamParams()) is cat.content_default
    styled = engine.resolve_layers(
        cat, DreamParams(style_layers=("BLOCK2", "block2 "), content_layer="Block7"), styled=True
    )
    assert styled.style_layers == ("block2",) and styled.content_layer == "block7"
    # Without a style image the style layers are only checked; the dream layers are the
    # ones that will run, so a result can record them.
    plain = engine.resolve_layers(cat, DreamParams(style_layers=("BLOCK2",)))
    assert plain.style_layers == ("BLOCK2",)
    assert [s.name for s in plain.layers] == [cat.default.name]
    named = engine.resolve_layers(cat, DreamParams.from_mapping({"layers": ["BLOCK4:1,2"]}))
    assert [(s.name, s.channels) for s in named.layers] == [("block4", (1, 2))]
    # A style transfer with no dream layer named dreams on none.
    assert engine.resolve_layers(cat, DreamParams(), styled=True).layers == ()


def test_a_catalogue_described_by_a_status_reply_checks_names_alike(lite0):
    """What dream-batch does with a daemon's ``status``: the same rules, no network."""
    cat = lite0.catalogue
    described = engine.LayerCatalogue.from_dicts(
        cat.model,
        [layer.as_dict() for layer in cat],
        cat.default.name,
        [layer.name for layer in cat.style_defaults],
        cat.content_default.name,
    )
    assert described.names() == cat.names()
    params = DreamParams(layers=(LayerSpec("_blocks.9"),), style_layers=("BLOCK2",))
    assert engine.resolve_layers(described, params, styled=True) == engine.resolve_layers(
        cat, params, styled=True
    )
    with pytest.raises(engine.UnknownLayer) as info:
        engine.resolve_layers(described, DreamParams(content_layer="blok7"))
    assert info.value.field == "content_layer" and "block7" in info.value.suggestions


def test_parameters_and_layer_names_are_checked_without_importing_torch():
    """dream-batch talking to a daemon checks layers without paying for torch."""
    code = (
        "import sys\n"
        "from dreamd import engine\n"
        "cat = engine.LayerCatalogue.from_dicts('m', [{'name': 'a', 'channels': 4}], 'a')\n"
        "p = engine.DreamParams.from_mapping({'layers': ['A:3']})\n"
        "engine.resolve_layers(cat, p)\n"
        "assert 'torch' not in sys.modules, 'torch was imported'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)
