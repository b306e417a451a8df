"""The image after the filter looks exactly as if the layer's pixels had been replaced by the
dream, for any alpha, opacity and selection: the visible result is compared with a copy of
the image taken before the filter whose layer pixels were replaced by the daemon's own dream
of them (batch_dream.py, ``expected``), composited once by GIMP.

Before this, the dream sat above a still-visible source with the same alpha, so a
half-transparent layer came out more opaque (covered twice).
"""

from __future__ import annotations

import numpy as np
from dreamcases import SELECTION
from dreamcases import case as _case
from pngio import read_png


def _views(dreamed, name):
    out = dreamed["out"]
    return tuple(
        read_png(out / f"{name}-{kind}.png").astype(int)
        for kind in ("before", "visible", "expected")
    )


def _assert_replaced_once(before, after, expected):
    assert after.shape == expected.shape
    assert np.abs(after - before).max() > 8, "nothing visible changed"
    diff = np.abs(after - expected)
    assert diff.max() <= 2, f"composited unlike the layer's own pixels: max |Δ| {diff.max()}"


def test_half_transparent_layer_stays_as_transparent(dreamed):
    case = _case(dreamed, "composite")
    assert not case["source"]["visible"]
    assert case["new_layer"]["opacity"] == case["source"]["opacity"] == 60.0
    before, after, expected = _views(dreamed, "composite")
    _assert_replaced_once(before, after, expected)
    # Where the layer is 25 % opaque, the blue background must show as much as before.
    blue_before = before[:, 60:, 2].mean()
    assert abs(after[:, 60:, 2].mean() - blue_before) < 6, "the layer became more opaque"


def test_selection_blends_the_dream_in_and_nothing_else_changes(dreamed):
    case = _case(dreamed, "composite_selection")
    before, after, expected = _views(dreamed, "composite_selection")
    _assert_replaced_once(before, after, expected)
    x, y, w, h = SELECTION
    outside = np.ones(before.shape[:2], bool)
    outside[y : y + h, x : x + w] = False
    assert np.array_equal(after[outside], before[outside])
    assert not case["new_layer"]["has_mask"]


def test_a_layer_group_is_dreamed_as_it_looks(dreamed):
    """The menu item cannot be disabled for groups in GIMP 3.0 (its sensitivity mask knows
    no groups), so a group works: its picture is dreamed into a layer in its place."""
    case = _case(dreamed, "composite_group")
    assert case["source"]["is_group"] and not case["source"]["visible"]
    assert not case["new_layer"]["is_group"]
    assert case["new_index"] == case["source_index"] - 1
    _assert_replaced_once(*_views(dreamed, "composite_group"))


def test_a_picked_layer_mask_dreams_its_layer(dreamed):
    case = _case(dreamed, "mask_picked")
    assert case["new_layer"]["has_mask"], "the layer's own mask comes along"
    assert case["new_layer"]["name"] == "Dream — block10"


def test_a_channel_is_refused_with_what_to_do(dreamed):
    case = dreamed["cases"]["channel_picked"]
    assert case["status"] == "execution-error", case
    assert "select a layer" in (case["error"] or ""), case["error"]
