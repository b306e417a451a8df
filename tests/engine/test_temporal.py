"""A styled video frame (engine/_temporal.py): it keeps its raw frame's content while starting
from elsewhere, and the temporal term holds it to the previous styled frame only where the
weight says the flow is reliable. Real weights (efficientnet-lite0), pictures of 96×64."""

from __future__ import annotations

import numpy as np
import pytest

from dreamd import codec, engine
from dreamd.engine import DreamParams
from harness.styles import style_image

#: Two quick octaves of the style defaults, fp32 (bit-for-bit repeatable).
QUICK = DreamParams.from_mapping(
    {**engine.STYLE_DEFAULTS, "octave_count": 2, "steps_per_octave": 8, "seed": 0,
     "precision": "fp32"}
)  # fmt: skip


@pytest.fixture(scope="module")
def painting() -> np.ndarray:
    return codec.to_float(style_image("painting", (128, 128)))


@pytest.fixture(scope="module")
def frames(small_cat) -> tuple[np.ndarray, np.ndarray]:
    """(this raw frame, the previous styled frame as the flow would bring it here)."""
    raw = small_cat
    rng = np.random.default_rng(0)
    previous = np.clip(raw + rng.normal(0, 0.15, raw.shape), 0, 1).astype(np.float32)
    return raw, previous


def test_a_zero_weight_is_no_previous_at_all(lite0, frames, painting):
    raw, previous = frames
    start = (0.5 * raw + 0.5 * previous).astype(np.float32)
    plain = engine.dream(lite0, start, QUICK, style=painting, content=raw).image
    zero = np.zeros(raw.shape[:2], np.float32)
    held = engine.dream(
        lite0, start, QUICK, style=painting, content=raw, previous=previous, previous_weight=zero
    ).image
    assert np.array_equal(plain, held)


def test_the_temporal_term_holds_the_frame_to_the_previous_one(lite0, frames, painting):
    raw, previous = frames
    ones = np.ones(raw.shape[:2], np.float32)

    def distance(weight: float) -> float:
        out = engine.dream(
            lite0, raw, QUICK.with_(temporal_weight=weight), style=painting, content=raw,
            previous=previous, previous_weight=ones,
        ).image  # fmt: skip
        return float(np.abs(out - previous).mean())

    free, held = distance(0.0), distance(1000.0)
    assert held < 0.5 * free, (held, free)


def test_half_a_mask_holds_half_the_frame(lite0, frames, painting):
    raw, previous = frames
    left = np.zeros(raw.shape[:2], np.float32)
    left[:, : raw.shape[1] // 2] = 1.0
    out = engine.dream(
        lite0, raw, QUICK.with_(temporal_weight=1000.0), style=painting, content=raw,
        previous=previous, previous_weight=left,
    ).image  # fmt: skip
    half = raw.shape[1] // 2
    near = np.abs(out - previous).mean(axis=(0, 2))
    # a margin of a few pixels: octaves and the network blur the mask's edge a little
    assert near[: half - 8].mean() < 0.5 * near[half + 8 :].mean()


def test_the_content_kept_is_the_content_images(lite0, frames, painting):
    raw, previous = frames
    from_raw = engine.dream(lite0, previous, QUICK, style=painting, content=raw).image
    from_start = engine.dream(lite0, previous, QUICK, style=painting).image
    assert engine.content_distance(lite0, from_raw, raw) < engine.content_distance(
        lite0, from_start, raw
    )


def test_keep_colors_takes_the_content_images_colours(lite0, frames, painting):
    raw, previous = frames
    grey = np.repeat(previous.mean(axis=2, keepdims=True), 3, axis=2)
    out = engine.dream(
        lite0, grey, QUICK.with_(keep_colors=True), style=painting, content=raw,
        previous=grey, previous_weight=np.ones(raw.shape[:2], np.float32),
    ).image  # fmt: skip
    chroma = out - out.mean(axis=2, keepdims=True)
    assert np.abs(chroma).mean() > 0.02  # the raw frame's colours, not the grey start's


@pytest.mark.parametrize(
    "given, field",
    [
        ({"content": "small"}, "content"),
        ({"previous": "small"}, "previous"),
        ({"previous": "same", "previous_weight": "rgb"}, "previous_weight"),
        ({"previous": "same", "previous_weight": "small"}, "previous_weight"),
        ({"previous": "same", "previous_weight": "above one"}, "previous_weight"),
        ({"previous_weight": "mask"}, "previous_weight"),
    ],
)
def test_wrong_frames_are_refused_naming_the_field(lite0, frames, painting, given, field):
    raw, previous = frames
    h, w = raw.shape[:2]
    values = {
        "small": previous[: h // 2, : w // 2],
        "same": previous,
        "rgb": np.ones((h, w, 3), np.float32),
        "above one": np.full((h, w), 1.5, np.float32),
        "mask": np.ones((h, w), np.float32),
    }
    kwargs = {name: values[v] for name, v in given.items()}
    with pytest.raises(engine.InvalidParams, match=field) as caught:
        engine.dream(lite0, raw, QUICK, style=painting, **kwargs)
    assert caught.value.field == field


def test_a_dream_takes_no_previous_frame(lite0, frames):
    raw, previous = frames
    with pytest.raises(engine.InvalidParams, match="style image") as caught:
        engine.dream(lite0, raw, QUICK.with_(steps_per_octave=1), previous=previous)
    assert caught.value.field == "previous"
    with pytest.raises(engine.InvalidParams, match="temporal_weight"):
        DreamParams.from_mapping({"temporal_weight": -1})
