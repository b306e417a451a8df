"""``estimate`` (protocol 1.1) against the real daemon: the plan as the dream would run it,
and a time once the daemon has measured its speed (a short calibration that the first
estimate starts, then every finished dream). No time is asserted, only its shape."""

from __future__ import annotations

import time

import pytest

from dreamd import protocol

from .conftest import Daemon


def _estimate(client: protocol.Client, width: int, height: int, **params) -> protocol.Estimate:
    return client.estimate(width, height, params)


def test_the_plan_is_the_dreams(daemon: Daemon) -> None:
    with protocol.Client(daemon.endpoint) as client:
        est = _estimate(client, 600, 400, octave_count=3, octave_scale=2.0, steps_per_octave=5)
    assert est.octaves == [[150, 100], [300, 200], [600, 400]]
    assert est.steps == 15 and est.working is None


def test_seconds_once_measured_and_growing_with_the_picture(daemon: Daemon) -> None:
    with protocol.Client(daemon.endpoint) as client:
        deadline = time.monotonic() + 120
        while (est := _estimate(client, 640, 480)).seconds is None:
            assert time.monotonic() < deadline, "the daemon never measured its speed"
            time.sleep(0.5)
        small = est.seconds
        big = _estimate(client, 1280, 960).seconds
        more_steps = _estimate(client, 640, 480, steps_per_octave=20).seconds
    assert small is not None and big is not None and more_steps is not None
    assert 0 < small < big and more_steps > small


def test_estimate_refusals_name_the_field(daemon: Daemon) -> None:
    with protocol.Client(daemon.endpoint) as client:
        with pytest.raises(protocol.Rejected) as err:
            client.estimate(640, 480, {"layers": ["no_such_layer"]})
        assert err.value.field == "params.layers[0]"
        with pytest.raises(protocol.Rejected) as err:
            client.estimate(640, 480, {}, model="nope")
        assert err.value.code == protocol.ErrorCode.UNKNOWN_MODEL
