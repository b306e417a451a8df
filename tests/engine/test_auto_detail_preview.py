"""Auto octaves, the detail size and live previews in a real dream (efficientnet-lite0)."""

from __future__ import annotations

import numpy as np
import pytest

from dreamd import engine


@pytest.fixture(scope="module")
def lite0() -> engine.DreamModel:
    return engine.load_model("efficientnet-lite0", "cpu")


def _photo(h: int, w: int) -> np.ndarray:
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    img = np.stack(
        [np.sin(xx / 9) * 0.3 + 0.5, np.cos(yy / 7) * 0.3 + 0.5, (xx + yy) / (h + w)], -1
    )
    return np.clip(img + rng.normal(0, 0.02, img.shape), 0, 1).astype(np.float32)


def test_auto_is_the_default_and_runs_the_planned_octaves(lite0):
    assert engine.DreamParams().octave_count == "auto"
    img = _photo(700, 1000)
    result = engine.dream(lite0, img, engine.DreamParams(steps_per_octave=0, seed=1))
    assert result.octave_count == 1 + round(np.log(700 / 224) / np.log(1.3))  # 5
    assert result.params.octave_count == result.octave_count  # recorded as run
    four = engine.dream(lite0, img, engine.DreamParams(octave_count=4, steps_per_octave=0))
    assert four.octave_count == 4


def test_detail_size_carries_the_dream_up_to_full_size(lite0):
    img = _photo(600, 900)
    params = engine.DreamParams(steps_per_octave=2, step_size=3.0, seed=1, detail_size=300)
    result = engine.dream(lite0, img, params)
    assert result.image.shape == img.shape
    assert any("dreamed at 300×200" in n for n in result.notes), result.notes
    change = np.abs(result.image - img)
    assert change.mean() > 1 / 255, "no dream carried up"
    # The full-size picture's own fine detail is still there: only the dream was scaled.
    fine = lambda a: np.diff(a[..., 0], axis=1)  # noqa: E731
    assert np.corrcoef(fine(img).ravel(), fine(result.image).ravel())[0, 1] > 0.8


def test_previews_at_the_end_of_each_octave_and_within_the_last(lite0):
    img = _photo(240, 360)
    shapes, steps = [], []
    params = engine.DreamParams(octave_count=3, steps_per_octave=3, seed=1)

    def on_progress(done, total, octave, step):
        steps.append((octave, step))

    result = engine.dream(
        lite0, img, params, on_progress=on_progress,
        on_preview=lambda p: shapes.append((p.shape, p.dtype, float(p.min()), float(p.max()))),
        preview_side=120, preview_every=0.0,
    )  # fmt: skip
    # 3 octave ends, and 2 within the full-size octave (after its steps 1 and 2)
    assert len(shapes) == 5
    assert all(s[0] == (80, 120, 3) and s[1] == np.float32 for s in shapes)
    assert all(s[2] >= 0.0 and s[3] <= 1.0 for s in shapes)
    none = []
    engine.dream(lite0, img, params, on_preview=none.append, preview_every=3600.0)
    assert len(none) == 3, "only the octave ends when the interval is long"
    assert result.octave_count == 3
