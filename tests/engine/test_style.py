"""Style transfer on the resident network: Gram matrices of a style image, content kept."""

from __future__ import annotations

import numpy as np
import pytest

from dreamd import engine
from dreamd.engine import DreamParams, LayerSpec

STYLE = DreamParams(
    octave_count=3, steps_per_octave=40, step_size=4.0, jitter=0, seed=0, precision="fp32"
)


@pytest.fixture(scope="module")
def astronaut() -> np.ndarray:
    from PIL import Image
    from skimage import data

    return engine.to_float(np.asarray(Image.fromarray(data.astronaut()).resize((128, 128))))


@pytest.fixture(scope="module")
def coffee() -> np.ndarray:
    from skimage import data

    return engine.to_float(data.coffee())


@pytest.fixture(scope="module")
def styled(lite0, astronaut, coffee) -> engine.DreamResult:
    return engine.dream(lite0, astronaut, STYLE, style=coffee)


def _edges(img: np.ndarray) -> np.ndarray:
    from scipy import ndimage

    gray = img[:, :, :3].mean(axis=2)
    return np.hypot(ndimage.sobel(gray, 0), ndimage.sobel(gray, 1))


def test_style_loss_falls_several_fold(lite0, astronaut, coffee, styled):
    before = engine.style_distance(lite0, astronaut, coffee)
    after = engine.style_distance(lite0, styled.image, coffee)
    assert after < before / 2.5, (before, after)
    cat = lite0.catalogue
    assert set(styled.layers) == {lay.name for lay in cat.style_defaults} | {
        cat.content_default.name
    }


def test_colours_move_towards_the_style(astronaut, coffee, styled):
    mean = lambda a: a.reshape(-1, 3).mean(axis=0)  # noqa: E731
    before = np.linalg.norm(mean(astronaut) - mean(coffee))
    after = np.linalg.norm(mean(styled.image) - mean(coffee))
    assert after < 0.85 * before


def test_content_structure_stays(astronaut, coffee, styled):
    from PIL import Image

    style_here = engine.to_float(
        np.asarray(Image.fromarray(engine.from_float(coffee, np.uint8)).resize((128, 128)))
    )
    out = _edges(styled.image).ravel()
    with_content = np.corrcoef(out, _edges(astronaut).ravel())[0, 1]
    with_style = np.corrcoef(out, _edges(style_here).ravel())[0, 1]
    assert with_content > 0.5 and with_content > 3 * abs(with_style)


def test_style_with_a_dream_is_a_weighted_sum(lite0, astronaut, coffee, styled):
    both = engine.dream(lite0, astronaut, STYLE.with_(layers=(LayerSpec("block10"),)), style=coffee)
    assert "block10" in both.layers
    assert not np.allclose(both.image, styled.image)
    # still styled: closer to the style than the photo was
    assert engine.style_distance(lite0, both.image, coffee) < engine.style_distance(
        lite0, astronaut, coffee
    )


def test_tiled_style_gradient_is_the_whole_images(lite0, astronaut, coffee):
    one = STYLE.with_(octave_count=1, steps_per_octave=1)
    whole = engine.dream(lite0, astronaut, one, style=coffee).image - astronaut
    tiled = engine.dream(lite0, astronaut, one.with_(tile_size=64), style=coffee).image - astronaut
    assert np.corrcoef(whole.ravel(), tiled.ravel())[0, 1] > 0.99


def test_style_keeps_alpha_and_gray(lite0, astronaut, coffee):
    alpha = np.full(astronaut.shape[:2], 0.5, np.float32)
    rgba = np.dstack([astronaut, alpha])
    out = engine.dream(lite0, rgba, STYLE.with_(steps_per_octave=2), style=coffee).image
    assert out.shape == rgba.shape and np.array_equal(out[:, :, 3], alpha)
    gray = astronaut.mean(axis=2, keepdims=True)
    assert engine.dream(lite0, gray, STYLE.with_(steps_per_octave=2), style=coffee).image.shape == (
        gray.shape
    )


def test_style_params_are_checked(lite0, astronaut, coffee):
    with pytest.raises(engine.UnknownLayer):
        engine.dream(lite0, astronaut, STYLE.with_(style_layers=("nope",)), style=coffee)
    with pytest.raises(engine.InvalidParams, match="style_weight"):
        DreamParams.from_mapping({"style_weight": -1.0})
    p = DreamParams.from_mapping({"style_layers": "block2", "content_layer": "block4"})
    assert p.style_layers == ("block2",) and p.content_layer == "block4"
