"""Big photos in real GIMP: automatic octaves and the detail size (protocol 1.1)."""

from __future__ import annotations

import numpy as np
from dreamcases import case as _case
from pngio import read_png


def test_auto_octaves_fit_a_big_photo(dreamed):
    """Octaves 0 (automatic) on a 3000×2000 photo runs 9 octaves, the smallest about the
    network's 224 pixels on its short side: 1 + round(log(2000 / 224) / log(1.3))."""
    case = _case(dreamed, "auto_large")
    assert case["info"]["params"]["octave_count"] == 9
    assert case["info"]["rect"] == [0, 0, 3000, 2000]


def test_detail_size_dreams_small_and_keeps_full_size(dreamed):
    case = _case(dreamed, "detail_large")
    info = case["info"]
    assert any("dreamed at 512×341" in note for note in info["notes"]), info["notes"]
    assert info["params"]["octave_count"] == 4  # auto, on the 512-pixel copy
    new = case["new_layer"]
    assert (new["width"], new["height"]) == (3000, 2000)
    src = read_png(dreamed["out"] / "detail_large-source.png").astype(int)
    out = read_png(dreamed["out"] / "detail_large-layer.png").astype(int)
    diff = np.abs(out - src)
    assert diff.mean() > 1.0, "no dream carried up"
    # The photo keeps its own full-size detail: the dream adds to it, it is not a blow-up
    # of the 512-pixel copy (whose fine detail would be gone).
    assert (
        np.corrcoef(np.diff(src[..., 1], axis=1).ravel(), np.diff(out[..., 1], axis=1).ravel())[
            0, 1
        ]
        > 0.5
    )
