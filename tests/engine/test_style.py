"""Style transfer on the resident network, at the style defaults (dream-batch's with
--style): real photos, real weights (efficientnet-lite0), style images made by
harness.styles. Pictures are 128–160 px so that this runs in CI on 2 cores."""

from __future__ import annotations

import numpy as np
import pytest

from dreamd import codec, engine
from dreamd.engine import DreamParams, LayerSpec
from harness.styles import colour_move, style_image

#: The style defaults, fp32 (bit-for-bit repeatable) and a fixed seed.
STYLE = DreamParams.from_mapping({**engine.STYLE_DEFAULTS, "seed": 0, "precision": "fp32"})


def _photo(name: str, size: tuple[int, int]) -> np.ndarray:
    from PIL import Image
    from skimage import data

    im = Image.fromarray(getattr(data, name)()).resize(size, Image.Resampling.LANCZOS)
    return codec.to_float(np.asarray(im))


def _style(name: str) -> np.ndarray:
    return codec.to_float(style_image(name, (192, 192)))


@pytest.fixture(scope="module")
def astronaut() -> np.ndarray:
    return _photo("astronaut", (128, 128))


@pytest.fixture(scope="module")
def cat() -> np.ndarray:
    return _photo("chelsea", (160, 106))


@pytest.fixture(scope="module")
def painting() -> np.ndarray:
    return _style("painting")


@pytest.fixture(scope="module")
def brick() -> np.ndarray:
    return _style("brick")


@pytest.fixture(scope="module")
def styled(lite0, astronaut, painting) -> engine.DreamResult:
    return engine.dream(lite0, astronaut, STYLE, style=painting)


def _edges(img: np.ndarray) -> np.ndarray:
    """Edge strength of the picture's shapes: blurred by a pixel first, so that the brush
    strokes a style adds do not count as the photo's edges."""
    from scipy import ndimage

    gray = ndimage.gaussian_filter(img[:, :, :3].mean(axis=2), 1.0)
    return np.hypot(ndimage.sobel(gray, 0), ndimage.sobel(gray, 1))


def _edge_correlation(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.corrcoef(_edges(a).ravel(), _edges(b).ravel())[0, 1])


def _lab(img: np.ndarray) -> np.ndarray:
    from skimage import color

    return color.rgb2lab(img[:, :, :3])


@pytest.mark.parametrize(
    "photo, size, style",
    [
        ("chelsea", (192, 128), "painting"),
        ("coffee", (192, 128), "painting"),
        ("astronaut", (128, 128), "gravel"),
    ],
)
def test_the_defaults_paint_the_photo_and_keep_it_recognisable(lite0, photo, size, style):
    image, style_pixels = _photo(photo, size), _style(style)
    out = engine.dream(lite0, image, STYLE, style=style_pixels).image
    assert colour_move(image, style_pixels, out) >= 0.3
    before = engine.style_distance(lite0, image, style_pixels)
    assert engine.style_distance(lite0, out, style_pixels) < before / 4
    # the photo's edges are still there, the style image's layout is not
    style_here = _photo_like(style_pixels, image.shape)
    assert _edge_correlation(out, image) > 0.4
    assert _edge_correlation(out, image) > 3 * abs(_edge_correlation(out, style_here))


def _photo_like(style: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    from PIL import Image

    im = Image.fromarray(codec.from_float(style, np.uint8)).resize((shape[1], shape[0]))
    return codec.to_float(np.asarray(im))


def test_the_result_records_the_style_layers_and_is_repeatable(lite0, astronaut, painting, styled):
    cat = lite0.catalogue
    assert set(styled.layers) == {lay.name for lay in cat.style_defaults} | {
        cat.content_default.name
    }
    assert styled.params.style_optimizer == STYLE.style_optimizer and styled.seed == 0
    again = engine.dream(lite0, astronaut, STYLE, style=painting)
    np.testing.assert_array_equal(again.image, styled.image)


def test_keep_colors_keeps_the_photos_chroma(lite0, cat, brick):
    quick = STYLE.with_(octave_count=2, steps_per_octave=20)
    kept = engine.dream(lite0, cat, quick.with_(keep_colors=True), style=brick).image
    free = engine.dream(lite0, cat, quick, style=brick).image
    ab = lambda img: _lab(img)[:, :, 1:]  # noqa: E731
    kept_off = np.abs(ab(kept) - ab(cat)).mean()
    assert kept_off < 3.0 and kept_off < np.abs(ab(free) - ab(cat)).mean() / 3
    # the lightness is styled all the same
    assert np.abs(_lab(kept)[:, :, 0] - _lab(cat)[:, :, 0]).mean() > 3.0
    assert _edge_correlation(kept, cat) > 0.4


def test_two_styles_blend(lite0, cat, painting, brick):
    quick = STYLE.with_(octave_count=2, steps_per_octave=20)
    both = engine.dream(lite0, cat, quick, style=[painting, brick]).image
    only_painting = engine.dream(lite0, cat, quick, style=painting).image
    only_brick = engine.dream(lite0, cat, quick, style=brick).image

    def loss(img: np.ndarray, style: np.ndarray) -> float:
        return engine.style_distance(lite0, img, style)

    assert loss(both, painting) < loss(only_brick, painting)
    assert loss(both, brick) < loss(only_painting, brick)
    # a blend leaning on the brick is closer to the brick than an even one
    leaning = engine.dream(
        lite0, cat, quick.with_(style_blend=(0.2, 0.8)), style=[painting, brick]
    ).image
    assert loss(leaning, brick) < loss(both, brick)
    with pytest.raises(engine.InvalidParams, match="style_blend"):
        engine.dream(lite0, cat, quick.with_(style_blend=(1.0,)), style=[painting, brick])


def test_style_scale_sizes_the_strokes(lite0, cat, brick):
    quick = STYLE.with_(octave_count=2, steps_per_octave=20)
    small = quick.with_(style_scale=0.5)
    large = quick.with_(style_scale=2.0)
    out_small = engine.dream(lite0, cat, small, style=brick).image
    out_large = engine.dream(lite0, cat, large, style=brick).image

    def loss(img: np.ndarray, params: DreamParams) -> float:
        return engine.style_distance(lite0, img, brick, params)

    # each result has the bricks of the size it asked for
    assert loss(out_small, small) < loss(out_large, small)
    assert loss(out_large, large) < loss(out_small, large)


def test_the_tv_weight_smooths(lite0, cat, painting):
    quick = STYLE.with_(octave_count=2, steps_per_octave=20)
    rough = engine.dream(lite0, cat, quick.with_(tv_weight=0.0), style=painting).image
    smooth = engine.dream(lite0, cat, quick.with_(tv_weight=1.0), style=painting).image

    def roughness(img: np.ndarray) -> float:
        return float((np.diff(img, axis=0) ** 2).mean() + (np.diff(img, axis=1) ** 2).mean())

    assert roughness(smooth) < 0.7 * roughness(rough)


@pytest.mark.parametrize("optimizer", ["lbfgs", "adam", "step"])
def test_every_optimiser_moves_towards_the_style(lite0, astronaut, painting, optimizer):
    quick = STYLE.with_(octave_count=1, steps_per_octave=15, style_optimizer=optimizer)
    out = engine.dream(lite0, astronaut, quick, style=painting).image
    before = engine.style_distance(lite0, astronaut, painting)
    assert engine.style_distance(lite0, out, painting) < 0.8 * before


def test_style_with_a_dream_is_a_weighted_sum(lite0, astronaut, painting, styled):
    with_dream = STYLE.with_(layers=(LayerSpec("block10"),))
    both = engine.dream(lite0, astronaut, with_dream, style=painting)
    assert "block10" in both.layers
    assert not np.allclose(both.image, styled.image)
    # still styled: closer to the style than the photo was
    assert engine.style_distance(lite0, both.image, painting) < engine.style_distance(
        lite0, astronaut, painting
    )


@pytest.mark.parametrize("optimizer", ["adam", "step"])
def test_tiled_style_gradient_is_the_whole_images(lite0, astronaut, painting, optimizer):
    one = STYLE.with_(octave_count=1, steps_per_octave=1, style_optimizer=optimizer, tv_weight=0)
    whole = engine.dream(lite0, astronaut, one, style=painting).image - astronaut
    tiled = engine.dream(lite0, astronaut, one.with_(tile_size=64), style=painting).image
    assert np.corrcoef(whole.ravel(), (tiled - astronaut).ravel())[0, 1] > 0.99


def test_style_keeps_alpha_and_gray(lite0, astronaut, painting):
    alpha = np.full(astronaut.shape[:2], 0.5, np.float32)
    rgba = np.dstack([astronaut, alpha])
    quick = STYLE.with_(steps_per_octave=2)
    out = engine.dream(lite0, rgba, quick, style=painting).image
    assert out.shape == rgba.shape and np.array_equal(out[:, :, 3], alpha)
    gray = astronaut.mean(axis=2, keepdims=True)
    assert engine.dream(lite0, gray, quick, style=painting).image.shape == gray.shape
    kept = engine.dream(lite0, rgba, quick.with_(keep_colors=True), style=painting).image
    assert np.array_equal(kept[:, :, 3], alpha)


def test_style_params_are_checked(lite0, astronaut, painting):
    with pytest.raises(engine.UnknownLayer):
        engine.dream(lite0, astronaut, STYLE.with_(style_layers=("nope",)), style=painting)
    for bad in ({"style_weight": -1.0}, {"style_optimizer": "sgd"}, {"tv_weight": -1},
                {"style_scale": 0.0}, {"keep_colors": "yes"}, {"style_blend": [0, 0]}):  # fmt: skip
        with pytest.raises(engine.InvalidParams, match=next(iter(bad))):
            DreamParams.from_mapping(bad)
    p = DreamParams.from_mapping({"style_layers": "block2", "content_layer": "block4"})
    assert p.style_layers == ("block2",) and p.content_layer == "block4"
    assert DreamParams.from_mapping({"style_blend": 2}).style_blend == (2,)
