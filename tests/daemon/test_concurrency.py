"""Eight clients at once, several jobs each: every job gets exactly one, correct result."""

from __future__ import annotations

import threading
from typing import Any

import numpy as np

from dreamd import protocol

from .conftest import QUICK, Daemon, make_pixels, raw_image

# Distinct jobs: (channels, dtype, seed). Each is first run alone for its reference.
SPECS = [(3, "u8", 11), (4, "u8", 12), (1, "u16", 13), (2, "f32", 14)]
CLIENTS = 8
JOBS_PER_CLIENT = 3


def _spec_image(spec: tuple[int, str, int]) -> protocol.Image:
    channels, dtype, seed = spec
    return raw_image(make_pixels(channels=channels, dtype=dtype, seed=seed))


def _params(spec: tuple[int, str, int]) -> dict[str, Any]:
    return {**QUICK, "seed": spec[2]}


def test_eight_clients_each_job_one_correct_result(daemon: Daemon) -> None:
    references: dict[int, bytes] = {}
    with daemon.client() as c:
        for i, spec in enumerate(SPECS):
            result = c.dream(_spec_image(spec), _params(spec), priority="batch")
            references[i] = result.image.tobytes()
            assert result.image.desc == _spec_image(spec).desc

    outcomes: dict[tuple[int, int], list[Any]] = {}
    errors: list[BaseException] = []
    lock = threading.Lock()

    def run_client(n: int) -> None:
        try:
            with daemon.client(name=f"client-{n}") as c:
                jobs = []
                for k in range(JOBS_PER_CLIENT):
                    spec_index = (n + k) % len(SPECS)
                    spec = SPECS[spec_index]
                    job = c.submit(_spec_image(spec), _params(spec), priority="batch")
                    jobs.append((k, spec_index, job))
                for k, spec_index, job in jobs:
                    result = job.result()
                    with lock:
                        outcomes.setdefault((n, k), []).append((spec_index, result))
        except BaseException as exc:
            with lock:
                errors.append(exc)

    threads = [threading.Thread(target=run_client, args=(n,)) for n in range(CLIENTS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=600)
    assert not errors, errors
    assert len(outcomes) == CLIENTS * JOBS_PER_CLIENT
    ids = set()
    for (_n, _k), got in outcomes.items():
        assert len(got) == 1  # exactly one result per job
        spec_index, result = got[0]
        ids.add(result.id)
        assert result.image.tobytes() == references[spec_index], "differs from the job run alone"
        assert result.seed == SPECS[spec_index][2]
        assert result.model == "efficientnet-lite0"
        assert result.layers
        assert result.params["steps_per_octave"] == QUICK["steps_per_octave"]
        assert set(result.timings) >= {"queued", "dream", "total"}
        assert result.timings["total"] >= result.timings["dream"] > 0
    assert len(ids) == CLIENTS * JOBS_PER_CLIENT

    with daemon.client() as c:
        st = c.status()
    assert st["queue"] == 0 and st["running"] == []


def test_tcp_endpoint_serves_too(daemon: Daemon) -> None:
    pixels = make_pixels(seed=3)
    with protocol.Client(daemon.tcp, timeout=protocol.Timeout(connect=20, reply=30)) as c:
        seen: list[protocol.Progress] = []
        result = c.dream(raw_image(pixels), {**QUICK, "seed": 1}, on_progress=seen.append)
    out = np.frombuffer(result.image.data, np.uint8).reshape(pixels.shape)
    assert out.shape == pixels.shape
    assert not np.array_equal(out, pixels)
    assert all(p.done < p.total for p in seen)
