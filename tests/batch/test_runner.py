"""The embedded runner: the real engine with real (efficientnet-lite0) weights."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from dreamd.batch._errors import DreamFailed, Interrupted, UsageError
from dreamd.batch._runner import EmbeddedRunner, list_layers, resolve_device

from .conftest import photo

QUICK = {"octave_count": 2, "steps_per_octave": 2, "seed": 3}


def test_dreams_with_progress_and_records_what_made_it(lite0_model):
    runner = EmbeddedRunner(QUICK, loaded=lite0_model)
    assert runner.description == "embedded engine: efficientnet-lite0 on cpu"
    (slot,) = runner.slots()
    image = photo().astype(np.float32) / 255
    steps: list[tuple[int, int]] = []
    out = slot.dream(image, lambda d, t, o, s: steps.append((d, t)), threading.Event())
    assert out.image.shape == image.shape and not np.allclose(out.image, image)
    assert steps[-1] == (4, 4)
    assert out.metadata["model"] == "efficientnet-lite0" and out.metadata["seed"] == 3
    again = slot.dream(image, None, threading.Event())
    np.testing.assert_array_equal(again.image, out.image)  # same seed, same dream


def test_cancel_interrupts_within_a_step(lite0_model):
    (slot,) = EmbeddedRunner(QUICK, loaded=lite0_model).slots()
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(Interrupted):
        slot.dream(photo().astype(np.float32) / 255, None, cancel)


def test_bad_layer_and_bad_params_are_usage_errors(lite0_model):
    with pytest.raises(UsageError, match="block1"):
        EmbeddedRunner({**QUICK, "layers": ["blok10"]}, loaded=lite0_model)
    with pytest.raises(UsageError, match="octave_scale"):
        EmbeddedRunner({**QUICK, "octave_scale": 0.5}, loaded=lite0_model)


def test_engine_refusals_fail_one_image(lite0_model):
    (slot,) = EmbeddedRunner(QUICK, loaded=lite0_model).slots()
    with pytest.raises(DreamFailed, match="NaN"):
        slot.dream(np.full((8, 8, 3), np.nan, np.float32), None, threading.Event())


def test_list_layers_and_device():
    name, default, layers = list_layers("efficientnet-lite0", "cpu")
    assert name == "efficientnet-lite0" and default in [lay["name"] for lay in layers]
    assert resolve_device("cpu") == "cpu"
    assert resolve_device("auto") in ("cpu", "mps") or resolve_device("auto").startswith("cuda:")
    with pytest.raises(UsageError, match="--device tpu: unknown device"):
        resolve_device("tpu")
