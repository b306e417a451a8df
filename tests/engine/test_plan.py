"""A dream's plan: auto octaves, the detail size, the work it takes and the speed fitted to
finished dreams (engine/_plan.py: arithmetic only, no network)."""

from __future__ import annotations

import math

import pytest

from dreamd.engine import _plan as plan_mod  # the module under test (not a public import)


@pytest.mark.parametrize(
    ("size", "scale", "count", "smallest"),
    [
        ((300, 400), 1.3, 4, 137),  # small photos: the notebook's 4, never fewer
        ((768, 1024), 1.3, 6, 207),
        ((768, 1024), 1.4, 5, 200),
        ((4000, 6000), 1.3, 12, 223),
        ((4000, 6000), 1.4, 10, 194),
        ((16384, 16384), 1.3, 16, 320),  # at most 16
    ],
)
def test_auto_puts_the_smallest_octave_near_the_networks_size(size, scale, count, smallest):
    p = plan_mod.plan(size, "auto", scale, 10, 1, need=32)
    assert p.octave_count == count
    assert min(p.sizes[0]) == smallest
    assert p.sizes[-1] == size


def test_auto_keeps_features_the_same_size_relative_to_the_picture():
    """The first octave of a photo and of the same photo 10× larger are about the same
    size: what the network draws there covers the same share of the picture."""
    small = plan_mod.plan((400, 600), "auto", 1.3, 10, 1, need=32).sizes[0]
    big = plan_mod.plan((4000, 6000), "auto", 1.3, 10, 1, need=32).sizes[0]
    assert abs(small[0] - big[0]) / big[0] < 0.3
    fixed = plan_mod.plan((4000, 6000), 4, 1.3, 10, 1, need=32).sizes[0]
    assert fixed[0] > 8 * big[0], "4 fixed octaves leave the smallest far too big"


def test_an_explicit_count_keeps_meaning_that_count():
    assert plan_mod.plan((4000, 6000), 4, 1.3, 10, 1, need=32).octave_count == 4
    reduced = plan_mod.plan((64, 96), 4, 1.3, 10, 1, need=48)
    assert reduced.octave_count == 2 and "reduced from 4 to 2" in reduced.notes[0]


def test_detail_size_dreams_at_a_working_size():
    p = plan_mod.plan((4000, 6000), "auto", 1.3, 10, 1, need=32, detail_size=1500)
    assert p.working == (1000, 1500)
    assert p.sizes[-1] == (1000, 1500)
    assert p.octave_count == 7  # auto on the working size
    full = plan_mod.plan((4000, 6000), "auto", 1.3, 10, 1, need=32)
    assert full.pixel_steps > 15 * p.pixel_steps
    assert plan_mod.plan((800, 600), "auto", 1.3, 10, 1, need=32, detail_size=1500).working is None


def test_work_and_seconds():
    p = plan_mod.plan((100, 200), 2, 2.0, 3, 2, need=10)
    assert p.sizes == [(50, 100), (100, 200)]
    assert p.steps == 2 * 3 * 2
    assert p.pixel_steps == (50 * 100 + 100 * 200) * 3 * 2
    assert math.isclose(p.seconds(0.01, 1e-6), 12 * 0.01 + p.pixel_steps * 1e-6)


def test_speed_fit():
    a, b = 0.02, 3e-7
    samples = [(s, p, s * a + p * b) for s, p in ((10, 10**6), (40, 2 * 10**7), (20, 5 * 10**5))]
    fa, fb = plan_mod.fit_speed(samples)
    assert math.isclose(fa, a, rel_tol=1e-6) and math.isclose(fb, b, rel_tol=1e-6)
    assert plan_mod.fit_speed([]) is None
    one = plan_mod.fit_speed([(10, 10**6, 1.0)])
    assert one == (0.0, 1e-6)
