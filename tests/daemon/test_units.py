"""The daemon's parts on their own: scheduler, lock, security plan, devices, errors."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from dreamd import engine
from dreamd.daemon import _errors, _security
from dreamd.daemon._cli_serve import parse_devices
from dreamd.daemon._errors import ConfigError
from dreamd.daemon._lock import EndpointLock, LockInfo, is_held, lock_path
from dreamd.daemon._queue import Job, Priority, Scheduler


def _job(name: str, client: int, priority: Priority = Priority.BATCH) -> Job:
    return Job(name, (0, bytes([client])), priority, None, engine.DreamParams(), None)


def test_scheduler_interactive_first_then_round_robin() -> None:
    s = Scheduler()
    a = [_job(f"a{i}", 1) for i in range(3)]
    b = [_job(f"b{i}", 2) for i in range(2)]
    for job in a + b:
        s.push(job)
    i = _job("i0", 3, Priority.INTERACTIVE)
    s.push(i)
    assert [j.id for j in s.order()] == ["i0", "a0", "b0", "a1", "b1", "a2"]
    assert s.position(a[2]) == 5 and s.position(i) == 0
    popped = [s.pop() for _ in range(6)]
    assert [j.id for j in popped if j] == ["i0", "a0", "b0", "a1", "b1", "a2"]
    assert s.pop() is None and len(s) == 0


def test_scheduler_new_client_waits_one_turn_not_the_whole_batch() -> None:
    s = Scheduler()
    for k in range(100):
        s.push(_job(f"big{k}", 1))
    s.pop()
    late = _job("late", 2)
    s.push(late)
    assert s.position(late) == 1
    assert [s.pop().id for _ in range(2)] == ["big1", "late"]  # type: ignore[union-attr]


def test_scheduler_remove_and_count() -> None:
    s = Scheduler()
    jobs = [_job(f"j{k}", k % 2) for k in range(4)]
    for job in jobs:
        s.push(job)
    assert s.remove(jobs[1]) and not s.remove(jobs[1])
    assert s.count((0, bytes([1]))) == 1 and len(s) == 3
    assert s.position(jobs[1]) is None


def test_lock_refuses_a_second_holder_naming_the_pid(tmp_path: Path) -> None:
    ep = f"ipc://{tmp_path}/d.sock"
    first = EndpointLock([ep], tmp_path)
    first.acquire()
    path = lock_path(ep, tmp_path)
    assert path == tmp_path / "d.sock.lock"
    assert is_held(path)
    info = LockInfo.read(path)
    assert info is not None and info.pid == os.getpid() and info.endpoints == [ep]
    with pytest.raises(ConfigError, match=f"pid {os.getpid()}"):
        EndpointLock([ep], tmp_path).acquire()
    first.release()
    assert not path.exists()
    with EndpointLock([ep, "tcp://127.0.0.1:5599"], tmp_path) as again:
        assert len(again.paths) == 2
        assert (tmp_path / "tcp_127.0.0.1_5599.lock").exists()


def test_security_plan() -> None:
    plan = _security.plan_sockets(["ipc:///x", "tcp://127.0.0.1:1"], None, False)
    assert [s.curve for s in plan.sockets] == [False] and not plan.warnings
    with pytest.raises(ConfigError, match="refusing"):
        _security.plan_sockets(["tcp://0.0.0.0:1"], None, False)
    with pytest.raises(ConfigError):
        _security.plan_sockets(["tcp://*:1"], None, False)
    with pytest.raises(ConfigError):
        _security.plan_sockets(["tcp://myhost.example:1"], None, False)
    plan = _security.plan_sockets(["tcp://0.0.0.0:1"], None, True)
    assert plan.warnings and "INSECURE" in plan.warnings[0]
    plan = _security.plan_sockets(["ipc:///x", "tcp://0.0.0.0:1"], Path("/k"), False)
    assert [(s.endpoints, s.curve) for s in plan.sockets] == [
        (["ipc:///x"], False),
        (["tcp://0.0.0.0:1"], True),
    ]
    assert _security.is_local("tcp://[::1]:5") and not _security.is_local("tcp://10.0.0.1:5")


def test_devices() -> None:
    assert parse_devices("cpu") == ["cpu"]
    assert parse_devices("auto") in (["cpu"], ["mps"]) or parse_devices("auto")[0] == "cuda:0"
    with pytest.raises(ConfigError, match="unknown device"):
        parse_devices("tpu")
    with pytest.raises(ConfigError):
        parse_devices("cuda:x")


def test_every_exception_has_a_code() -> None:
    cases = {
        engine.OutOfMemory("x"): "OUT_OF_MEMORY",
        engine.Cancelled("x"): "CANCELLED",
        engine.InvalidParams("jitter", "x"): "BAD_VALUE",
        engine.InvalidImage("x"): "BAD_IMAGE",
        engine.UnknownLayer("x", "m", []): "UNKNOWN_LAYER",
        MemoryError(): "OUT_OF_MEMORY",
        ZeroDivisionError("boom"): "INTERNAL",
    }
    for exc, code in cases.items():
        got, message, _ = _errors.classify(exc)
        assert got == code and message


def test_unexpected_exception_in_a_job_is_an_internal_error() -> None:
    from dreamd.daemon._worker import Failed, Outbox, Worker

    outbox = Outbox()

    def decode(_image: object, _where: str) -> tuple[object, list[str]]:
        raise ZeroDivisionError("a bug")

    worker = Worker("cpu", "efficientnet-lite0", None, outbox, decode, lambda a, f: ({}, b""))
    job = _job("boom", 1)
    job.image = object()
    got = worker._dream(None, job)  # type: ignore[arg-type]
    assert isinstance(got, Failed)
    assert got.code == "INTERNAL" and "ZeroDivisionError: a bug" in got.message
    outbox.close()


def test_cancelled_job_reports_the_reason_it_was_given() -> None:
    from dreamd.daemon._worker import Failed, Outbox, Worker

    outbox = Outbox()
    worker = Worker("cpu", "x", None, outbox, lambda i, w: (i, []), lambda a, f: ({}, b""))
    job = _job("stop", 1)
    job.request_cancel("SHUTTING_DOWN", "dreamd is shutting down")
    job.request_cancel("CANCELLED", "later reasons do not replace the first")
    got = worker._dream(None, job)  # type: ignore[arg-type]
    assert isinstance(got, Failed)
    assert (got.code, got.message) == ("SHUTTING_DOWN", "dreamd is shutting down")
    outbox.close()
