"""Tile layouts: exact cover, memory budget respected, the OOM fallback keeps dreaming."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from dreamd import engine
from dreamd.engine import _tiles
from dreamd.engine._params import DreamParams


def largest_tile(tiles: list[_tiles.Tile]) -> int:
    """Pixels of the largest tile, margins included."""
    return max((ys.stop - ys.start) * (xs.stop - xs.start) for _, ys, xs in tiles)


@pytest.mark.parametrize("h,w,side", [(1080, 1920, 1024), (2160, 3840, 2144), (200, 300, 96)])
def test_cores_cover_every_pixel_once(h: int, w: int, side: int):
    cover = np.zeros((h, w), dtype=np.int32)
    for window, ys, xs in _tiles.layout(h, w, side, margin=96, to=16):
        assert window.core is not None
        r0, r1, c0, c1 = window.core
        assert (ys.start + r0) % 16 == 0 and (xs.start + c0) % 16 == 0
        assert r1 - r0 <= side and c1 - c0 <= side
        cover[ys.start + r0 : ys.start + r1, xs.start + c0 : xs.start + c1] += 1
    assert (cover == 1).all()


def test_balanced_cores_instead_of_a_sliver():
    """1080 rows in 1024-px tiles: two cores of ~540, not 1024 + a 56-row sliver."""
    rows = {ys.start for _, ys, _ in _tiles.layout(1080, 1920, 1024, 96, 16)}
    assert len(rows) == 2
    cores = sorted({w.core[1] - w.core[0] for w, _, _ in _tiles.layout(1080, 1920, 1024, 96, 16)})  # type: ignore[index]
    assert cores[-1] - cores[0] <= 16


@pytest.mark.parametrize("budget", [8_400_000, 2_500_000, 600_000])
def test_fit_side_keeps_tiles_within_budget(budget: int):
    side = _tiles.fit_side(2160, 3840, budget, margin=96, to=16, smallest=128)
    assert largest_tile(_tiles.layout(2160, 3840, side, 96, 16)) <= budget
    # and not needlessly small: every bigger side breaks the budget or adds no tile
    count = len(_tiles.layout(2160, 3840, side, 96, 16))
    for bigger in range(side + 16, 3856, 16):
        tiles = _tiles.layout(2160, 3840, bigger, 96, 16)
        assert largest_tile(tiles) > budget or len(tiles) == count


def test_a_1080p_image_runs_whole_on_the_cpu():
    budget = _tiles.tile_budget(torch.device("cpu"), "bf16")
    if budget < 1920 * 1080:
        pytest.skip(f"this machine has too little free memory ({budget} px budget)")
    assert _tiles.fit_side(1080, 1920, budget, 96, 16, 128) >= 1920


def test_running_out_of_memory_shrinks_tiles_and_says_so(
    lite0: engine.DreamModel, chelsea: np.ndarray, monkeypatch: pytest.MonkeyPatch
):
    """A device that cannot hold more than 330×330 pixels (a GPU's OOM, simulated: no
    GPU here) still finishes the dream in smaller tiles and tells the user."""
    features = lite0.net.features

    def tight(x: torch.Tensor, layers):  # type: ignore[no-untyped-def]
        if x.requires_grad and x.shape[-1] * x.shape[-2] > 330 * 330:
            raise torch.OutOfMemoryError("simulated")
        return features(x, layers)

    monkeypatch.setattr(lite0.net, "features", tight)
    img = chelsea[:384, :448].copy()
    result = engine.dream(lite0, img, DreamParams(octave_count=1, steps_per_octave=2, seed=0))
    assert any("tile size reduced" in n for n in result.notes)
    assert not np.allclose(result.image, img)


def test_out_of_memory_at_the_smallest_tile_is_a_typed_error(
    lite0: engine.DreamModel, chelsea: np.ndarray, monkeypatch: pytest.MonkeyPatch
):
    def never(x: torch.Tensor, layers):  # type: ignore[no-untyped-def]
        raise torch.OutOfMemoryError("simulated")

    monkeypatch.setattr(lite0.net, "features", never)
    with pytest.raises(engine.OutOfMemory, match="128-pixel tiles"):
        engine.dream(lite0, chelsea[:256, :256].copy(), DreamParams(steps_per_octave=1))


@pytest.mark.parametrize("h,w", [(16384, 16384), (16384, 200), (1081, 1921), (100, 100)])
@pytest.mark.parametrize("budget", [100_000, 1_000_000, 4_194_304])
def test_fit_side_for_any_size_respects_the_budget(h: int, w: int, budget: int):
    side = _tiles.fit_side(h, w, budget, margin=96, to=16, smallest=128)
    tiles = _tiles.layout(h, w, side, 96, 16)
    assert largest_tile(tiles) <= budget or side == 128


@pytest.mark.parametrize("n", [100, 1080, 1081, 2160, 3840, 5000])
def test_the_quick_span_is_the_layouts_longest_tile(n: int):
    """fit_side sizes tiles without building layouts; it must agree with them."""
    for side in range(128, 4096, 48):
        tiles = _tiles.layout(n, 64, side, 96, 16)
        longest = max(ys.stop - ys.start for _, ys, _ in tiles)
        assert _tiles._span(n, side, 96, 16) == longest, side
