"""Blend factors: the original's random range, constant, gaussian; seeded per frame."""

from __future__ import annotations

import numpy as np
import pytest

from dreamd.batch._blend import RANDOM_RANGE, Blend, mix
from dreamd.batch._errors import UsageError


def test_random_keeps_the_original_range_and_is_reproducible():
    a = [Blend("random", seed=11).factor_for(i) for i in range(200)]
    b = [Blend("random", seed=11).factor_for(i) for i in range(200)]
    c = [Blend("random", seed=12).factor_for(i) for i in range(200)]
    assert a == b and a != c
    assert RANDOM_RANGE[0] <= min(a) and max(a) < RANDOM_RANGE[1]
    assert max(a) - min(a) > 0.3  # it does vary over the range


def test_factor_depends_on_the_frame_not_on_the_order_of_asking():
    blend = Blend("gaussian", factor=0.3, sigma=0.05, seed=4)
    forward = [blend.factor_for(i) for i in range(50)]
    backward = [blend.factor_for(i) for i in reversed(range(50))][::-1]
    assert forward == backward
    assert abs(np.mean(forward) - 0.3) < 0.03
    assert all(0 <= f <= 1 for f in forward)


def test_constant():
    assert {Blend("constant", factor=0.4).factor_for(i) for i in range(10)} == {0.4}


def test_mix_blends_colour_and_keeps_the_raw_alpha():
    raw = np.zeros((2, 3, 4), np.float32)
    raw[..., 3] = 0.5
    prev = np.ones((2, 3, 4), np.float32)
    out = mix(raw, prev, 0.25)
    np.testing.assert_allclose(out[..., :3], 0.25)
    np.testing.assert_allclose(out[..., 3], 0.5)
    with pytest.raises(ValueError):
        mix(raw, np.ones((2, 2, 4), np.float32), 0.5)


def test_bad_settings_are_usage_errors():
    for kw in ({"mode": "loop"}, {"factor": 1.5}, {"sigma": -1}):
        with pytest.raises(UsageError):
            Blend(**kw)  # type: ignore[arg-type]
