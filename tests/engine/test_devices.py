"""Devices: ``auto`` and device names resolved once, for dreamd and dream-batch alike."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from dreamd import engine


def test_auto_is_every_gpu_else_the_cpu():
    if torch.cuda.is_available():
        count = torch.cuda.device_count()
        assert engine.resolve_devices("auto") == [f"cuda:{i}" for i in range(count)]
        assert engine.resolve_device("auto") == "cuda:0"
    elif not torch.backends.mps.is_available():
        assert engine.resolve_devices("auto") == ["cpu"]
        assert engine.resolve_device("auto") == "cpu"
        assert engine.resolve_device() == "cpu"


def test_names_are_normalised_and_lists_deduplicated():
    assert engine.resolve_devices(" CPU ") == ["cpu"]
    assert engine.resolve_devices("cpu,cpu,") == ["cpu"]
    assert engine.resolve_device("cpu") == "cpu"


@pytest.mark.parametrize(
    ("spec", "says"),
    [
        ("tpu", "unknown device"),
        ("cuda:x", "cuda:N"),
        (",", "names no device"),
    ],
)
def test_unknown_devices_are_typed_errors_that_list_the_choices(spec, says):
    with pytest.raises(engine.DeviceUnavailable, match=says) as info:
        engine.resolve_devices(spec)
    assert isinstance(info.value, engine.EngineError)


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a GPU")
def test_a_gpu_that_is_not_there_says_what_to_use_instead():
    with pytest.raises(engine.DeviceUnavailable, match="use cpu or auto"):
        engine.resolve_device("cuda")


def test_device_info_describes_the_cpu():
    info = engine.device_info("cpu")
    assert info["device"] == "cpu" and info["name"] == "cpu" and info["threads"] >= 1
    assert info["precision"] in ("fp32", "bf16")  # what auto picks here (dreamd doctor)


def test_torch_out_of_memory_anywhere_in_a_dream_is_the_engines_error(
    lite0: engine.DreamModel, small_cat: np.ndarray, monkeypatch: pytest.MonkeyPatch
):
    """Not only in the tiled steps (those shrink their tiles first): the guide's features,
    computed once, run out too. Callers catch engine.OutOfMemory, never torch's error."""
    features = lite0.net.features

    def guide_too_big(x: torch.Tensor, layers):  # type: ignore[no-untyped-def]
        if not torch.is_grad_enabled() and tuple(x.shape[-2:]) == small_cat.shape[:2]:
            raise torch.OutOfMemoryError("simulated\nsecond line")
        return features(x, layers)

    monkeypatch.setattr(lite0.net, "features", guide_too_big)
    params = engine.DreamParams(octave_count=1, steps_per_octave=1, seed=0)
    with pytest.raises(engine.OutOfMemory, match=r"^out of memory on cpu: simulated$"):
        engine.dream(lite0, small_cat, params, guide=small_cat)
