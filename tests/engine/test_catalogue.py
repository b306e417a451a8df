"""Layer catalogues: the notebook's names, suggestions for typos, every layer dreams."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from dreamd import engine
from dreamd.engine.models import googlenet as gn


@pytest.fixture(scope="module")
def googlenet_random() -> engine.DreamModel:
    """GoogLeNet's architecture with random weights (the real ones cannot be fetched here)."""
    torch.manual_seed(0)
    net = gn.build(None, "random")
    return engine.DreamModel(net, "googlenet", torch.device("cpu"), "random")


def test_googlenet_has_the_notebooks_layer_names(googlenet_random: engine.DreamModel):
    cat = googlenet_random.catalogue
    for name in (
        "conv2/3x3",
        "inception_3a/output",
        "inception_4c/output",
        "inception_5b/output",
        "inception_4d/3x3_reduce",
        "inception_4c/pool_proj",
    ):
        assert name in cat
    assert cat.default.name == "inception_4c/output"
    assert cat["inception4c"] is cat["inception_4c/output"]
    assert cat["inception4d.branch2.0"] is cat["inception_4d/3x3_reduce"]


def test_branch_layers_have_their_channel_counts(googlenet_random: engine.DreamModel):
    """Each layer's activations have the channel count the catalogue claims."""
    net = googlenet_random.net
    x = net.normalize(torch.rand(1, 3, 96, 96))
    layers = list(net.catalogue)
    for layer, act in zip(layers, net.features(x, layers), strict=True):
        assert act.shape[1] == layer.channels, layer.name


def test_unknown_layer_suggests_close_matches(googlenet_random: engine.DreamModel):
    with pytest.raises(engine.UnknownLayer) as info:
        googlenet_random.catalogue["inception_4c/outptu"]
    assert "inception_4c/output" in info.value.suggestions
    assert "Did you mean" in str(info.value)


def test_forward_stops_at_the_deepest_requested_layer(googlenet_random: engine.DreamModel):
    net = googlenet_random.net
    ran: list[str] = []
    hooks = [
        stage.register_forward_hook(lambda m, i, o, n=n: ran.append(n))
        for n, stage in zip(gn._TRUNK, net.stages, strict=True)
    ]
    try:
        net.features(
            net.normalize(torch.rand(1, 3, 64, 64)), [net.catalogue["inception_3b/output"]]
        )
    finally:
        for h in hooks:
            h.remove()
    assert ran[-1][0] == "inception_3b/output"
    assert not any(n[0].startswith(("inception_4", "inception_5")) for n in ran)


@pytest.mark.parametrize("which", ["googlenet", "efficientnet-lite0"])
def test_every_layer_dreams(
    which: str, googlenet_random: engine.DreamModel, lite0: engine.DreamModel, small_cat: np.ndarray
):
    model = googlenet_random if which == "googlenet" else lite0
    params = engine.DreamParams(octave_count=1, steps_per_octave=1, jitter=4, seed=0)
    for layer in model.catalogue:
        out = engine.dream(model, small_cat, params.with_(layers=(engine.LayerSpec(layer.name),)))
        assert out.image.shape == small_cat.shape, layer.name
        assert np.isfinite(out.image).all(), layer.name
        assert not np.array_equal(out.image, small_cat), layer.name
