"""Queue order, cancellation and clients that vanish, on the shared daemon."""

from __future__ import annotations

import re
import subprocess
import sys
import textwrap
import time
from typing import Any

import pytest

from dreamd import protocol

from .conftest import (
    LONG,
    QUICK,
    ROOT,
    Daemon,
    dream_frames,
    header,
    make_pixels,
    raw_client,
    raw_image,
    wait_status,
)


def _done_order(daemon: Daemon, ids: list[str]) -> list[str]:
    """The ids among ``ids`` in the order the daemon's log says they finished."""
    found = re.findall(r"job (\w+) done", daemon.log())
    return [i for i in found if i in ids]


def _blocker(daemon: Daemon, c: protocol.Client) -> protocol.Job:
    """A long interactive job, returned once it runs (the worker is then busy)."""
    job = c.submit(raw_image(make_pixels(seed=99)), {**LONG, "seed": 1})
    deadline = time.monotonic() + 60
    while job.progress is None:
        assert time.monotonic() < deadline, "blocker never started"
        c.wait([job], timeout=0.05)
    return job


def _wait_queued(daemon: Daemon, n: int) -> None:
    wait_status(daemon, lambda st: st["queue"] == n, what=f"{n} queued jobs")


def test_interactive_jobs_go_before_batch_jobs(daemon: Daemon) -> None:
    with daemon.client() as a, daemon.client() as b, daemon.client() as c:
        blocker = _blocker(daemon, a)
        batch = [
            b.submit(raw_image(make_pixels(seed=s)), {**QUICK, "seed": s}, priority="batch")
            for s in range(3)
        ]
        _wait_queued(daemon, 3)
        interactive = c.submit(raw_image(make_pixels(seed=7)), {**QUICK, "seed": 7})
        _wait_queued(daemon, 4)
        blocker.cancel()
        interactive.result()
        for job in batch:
            job.result()
        ids = [interactive.id] + [j.id for j in batch]
        assert _done_order(daemon, ids)[0] == interactive.id


def test_round_robin_between_clients(daemon: Daemon) -> None:
    with daemon.client() as a, daemon.client() as b, daemon.client() as c:
        blocker = _blocker(daemon, a)
        big = [
            b.submit(raw_image(make_pixels(seed=s)), {**QUICK, "seed": s}, priority="batch")
            for s in range(4)
        ]
        _wait_queued(daemon, 4)
        small = c.submit(raw_image(make_pixels(seed=9)), {**QUICK, "seed": 9}, priority="batch")
        _wait_queued(daemon, 5)
        deadline = time.monotonic() + 30
        while small.position is None and time.monotonic() < deadline:
            c.wait([small], timeout=0.05)
        assert small.position == 2  # behind b's first job only, not all four
        blocker.cancel()
        for job in [*big, small]:
            job.result()
        order = _done_order(daemon, [j.id for j in [*big, small]])
        assert order.index(small.id) == 1, order


def test_cancel_queued_and_running_jobs(daemon: Daemon) -> None:
    pixels = make_pixels(seed=5)
    with raw_client(daemon.endpoint) as rc:
        running_id, queued_id = "cancel-running-1", "cancel-queued-1"
        rc.send(dream_frames(pixels, {**LONG, "seed": 2}, running_id))
        rc.recv_until({"progress"}, request_id=running_id)
        rc.send(dream_frames(pixels, {**QUICK, "seed": 2}, queued_id))
        accepted, _ = rc.recv_until({"accepted"}, request_id=queued_id)
        assert accepted["position"] >= 1
        # A waiting job's heartbeat: ``accepted`` again, at least every 2 s.
        t0 = time.monotonic()
        again, _ = rc.recv_until({"accepted"}, timeout=10, request_id=queued_id)
        assert again["position"] == accepted["position"]
        assert time.monotonic() - t0 < 4

        # Cancel the queued one: answered at once with CANCELLED for that job.
        rc.send([header("cancel", job=queued_id)])
        err, _ = rc.recv_until({"error"}, request_id=queued_id)
        assert err["code"] == "CANCELLED" and err["job"] == queued_id

        # Cancel the running one: it stops within a step.
        t0 = time.monotonic()
        rc.send([header("cancel", job=running_id)])
        err, _ = rc.recv_until({"error"}, request_id=running_id)
        assert err["code"] == "CANCELLED"
        assert time.monotonic() - t0 < 20

        # Cancelling what is no longer there is an error for the cancel request itself.
        cancel_id = "cancel-again-1"
        rc.send([header("cancel", cancel_id, job=running_id)])
        err, _ = rc.recv_until({"error"}, request_id=cancel_id)
        assert err["code"] == "UNKNOWN_JOB" and err["field"] == "job"
    st = wait_status(daemon, lambda s: not s["running"] and s["queue"] == 0)
    assert st["jobs"]["cancelled"] >= 2


def test_library_cancel_flag_stops_the_job(daemon: Daemon) -> None:
    with daemon.client() as c:
        calls = 0

        def stop_after_first(_p: protocol.Progress) -> None:
            nonlocal calls
            calls += 1

        with pytest.raises(protocol.Cancelled):
            c.dream(
                raw_image(make_pixels(seed=6)),
                {**LONG, "seed": 6},
                on_progress=stop_after_first,
                cancel=lambda: calls > 0,
            )
    wait_status(daemon, lambda s: not s["running"], what="the running job to stop")
    with daemon.client() as c:
        assert c.dream(raw_image(make_pixels(seed=6)), {**QUICK, "seed": 6}).image.nbytes


_VANISHING_CLIENT = textwrap.dedent(
    """
    import sys, time
    sys.path.insert(0, {root!r})
    import numpy as np
    from dreamd import protocol
    pixels = np.zeros((48, 64, 3), np.uint8)
    c = protocol.Client({endpoint!r}, timeout=protocol.Timeout(connect=20, reply=30))
    image = protocol.Image.raw(pixels.tobytes(), 64, 48, 3)
    running = c.submit(image, {long!r})
    queued = c.submit(image, {long!r})
    while running.progress is None:
        c.wait([running], timeout=0.05)
    print("running", running.id, queued.id, flush=True)
    time.sleep(600)
    """
)


def test_killed_client_has_its_jobs_cancelled(daemon: Daemon) -> None:
    script = _VANISHING_CLIENT.format(
        root=str(ROOT), endpoint=daemon.endpoint, long={**LONG, "seed": 3}
    )
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline() if proc.stdout else ""
        assert line.startswith("running"), line
        _, running_id, queued_id = line.split()
        st = wait_status(daemon, lambda s: s["queue"] >= 1 and s["running"])
        assert st["running"][0]["id"] == running_id
    finally:
        proc.kill()
        proc.wait()
    t0 = time.monotonic()
    wait_status(
        daemon, lambda s: not s["running"] and s["queue"] == 0, what="the dead client's jobs gone"
    )
    assert time.monotonic() - t0 < 20
    log = daemon.wait_log(f"job {queued_id} cancelled while queued")
    assert "is gone (disconnected)" in log
    # The next client is served.
    with daemon.client() as c:
        result = c.dream(raw_image(make_pixels(seed=8)), {**QUICK, "seed": 8})
    assert result.image.nbytes == 64 * 48 * 3


def test_resent_job_id_is_not_run_twice(daemon: Daemon) -> None:
    pixels = make_pixels(seed=4)
    frames = dream_frames(pixels, {**QUICK, "seed": 4}, "resend-1")
    with raw_client(daemon.endpoint) as rc:
        rc.send(frames)
        rc.send(frames)  # a Lazy Pirate resend of the same job
        results: list[dict[str, Any]] = []
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            got = rc.recv(timeout=3.0 if results else 60.0)
            if got is None:
                break
            if got[0]["type"] in ("result", "error"):
                results.append(got[0])
        assert [r["type"] for r in results] == ["result"]
        # The same id with a different job is refused.
        other = dream_frames(make_pixels(seed=5), {**LONG, "seed": 5}, "resend-2")
        rc.send(other)
        rc.recv_until({"progress"}, request_id="resend-2")
        clash = dream_frames(make_pixels(seed=5), {**QUICK, "seed": 6}, "resend-2")
        rc.send(clash)
        err, _ = rc.recv_until({"error"}, request_id="resend-2")
        assert err["code"] == "BAD_VALUE" and err["field"] == "id"
        rc.send([header("cancel", job="resend-2")])
        err, _ = rc.recv_until({"error"}, request_id="resend-2")
        assert err["code"] == "CANCELLED"
