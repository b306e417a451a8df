"""The CUDA path: the same dreams on a GPU, autocast, bounded GPU memory.

These run where a CUDA GPU is visible and skip elsewhere (this project's CI has none;
they are run by hand on a lent GPU machine: ``pytest tests/engine/test_cuda.py``).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from dreamd import engine
from dreamd.engine import DreamParams

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA GPU visible")

ONE = DreamParams(octave_count=1, steps_per_octave=1, seed=3, precision="fp32")


@pytest.fixture(scope="module")
def lite0_cuda() -> engine.DreamModel:
    return engine.load_model("efficientnet-lite0", "cuda")


def _gain(model: engine.DreamModel, before: np.ndarray, after: np.ndarray) -> float:
    net = model.net

    def obj(img: np.ndarray) -> float:
        x = torch.from_numpy(np.ascontiguousarray(img)).permute(2, 0, 1)[None].to(model.device)
        with torch.no_grad():
            a = net.features(net.normalize(x), [net.catalogue.default])[0].float()
        return float(0.5 * (a * a).mean())

    return obj(after) / obj(before)


def test_a_cuda_step_is_the_cpu_step(
    lite0: engine.DreamModel, lite0_cuda: engine.DreamModel, chelsea: np.ndarray
):
    img = chelsea[:256, :320].copy()
    cpu = engine.dream(lite0, img, ONE).image - img
    gpu = engine.dream(lite0_cuda, img, ONE).image - img
    assert np.corrcoef(cpu.ravel(), gpu.ravel())[0, 1] > 0.99


def test_cuda_loads_with_cudnn_autotuning(lite0_cuda: engine.DreamModel):
    assert lite0_cuda.device.type == "cuda"
    assert torch.backends.cudnn.benchmark


@pytest.mark.parametrize("precision", ["bf16", "fp16"])
def test_half_precision_reaches_the_fp32_objective(
    lite0_cuda: engine.DreamModel, chelsea: np.ndarray, precision: str
):
    if precision == "bf16" and not torch.cuda.is_bf16_supported():
        pytest.skip("this GPU has no bf16")
    img = chelsea[:256, :320].copy()
    params = DreamParams(octave_count=2, steps_per_octave=6, seed=1)
    full = engine.dream(lite0_cuda, img, params.with_(precision="fp32"))
    half = engine.dream(lite0_cuda, img, params.with_(precision=precision))
    assert half.precision == precision
    g_full, g_half = _gain(lite0_cuda, img, full.image), _gain(lite0_cuda, img, half.image)
    assert g_half > 1.5
    assert abs(g_half - g_full) < 0.1 * g_full


def test_gpu_memory_is_bounded_by_the_tile(lite0_cuda: engine.DreamModel):
    img = np.random.default_rng(0).random((1536, 1536, 3), dtype=np.float32)
    params = DreamParams(octave_count=1, steps_per_octave=1, seed=0)

    def peak(tile: int | None) -> int:
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()
        engine.dream(lite0_cuda, img, params.with_(tile_size=tile))
        return torch.cuda.max_memory_allocated()

    whole, tiled = peak(None), peak(256)
    # a 256-px tile with its margins is ~10 % of the image's pixels
    assert tiled < 0.4 * whole
