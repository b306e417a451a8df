"""The client against a fake ROUTER daemon (tests/protocol/conftest.py): calls, progress,
several jobs on one connection, cancel, timeouts, unreachable endpoints, Lazy Pirate."""

from __future__ import annotations

import stat
import threading
import time
from pathlib import Path
from typing import Any

import msgpack
import pytest
import zmq

from dreamd.protocol import (
    PROTOCOL_VERSION,
    Cancelled,
    CancelRequest,
    Client,
    ClientError,
    CurveKeys,
    DreamRequest,
    ErrorCode,
    EstimateRequest,
    Image,
    MessageInvalid,
    PingRequest,
    Preview,
    Progress,
    Rejected,
    RequestTimeout,
    Timeout,
    Unreachable,
    Unsupported,
    VersionMismatch,
    create_keypair,
    encode_error,
)

from .conftest import SERVER, FakeDaemon, free_port

FAST = Timeout(connect=0.5, reply=0.5)


def image(width: int = 8, height: int = 6) -> Image:
    return Image.raw(bytes(i % 251 for i in range(width * height * 4)), width, height, 4)


def test_hello_status_ping(fake: FakeDaemon, endpoint: str) -> None:
    with Client(endpoint, timeout=FAST, name="tests") as client:
        info = client.hello()
        assert info["server"] == SERVER and info["protocols"] == [list(PROTOCOL_VERSION)]
        assert info["model"] == "fake" and client.server_info == info
        assert fake.received[0].client == "tests"  # type: ignore[union-attr]
        status = client.status(layers=True)
        assert status["layers"] == {"fake": ["conv1", "conv2"]} and status["server"] == SERVER
        assert "layers" not in client.status()
        assert 0 <= client.ping() < 0.5


def test_dream_with_progress(fake: FakeDaemon, endpoint: str) -> None:
    seen: list[Progress] = []
    threads: set[int] = set()

    def on_progress(p: Progress) -> None:
        seen.append(p)
        threads.add(threading.get_ident())

    with Client(endpoint, timeout=FAST) as client:
        sent = image()
        result = client.dream(sent, {"seed": 42, "octave_count": 2}, on_progress=on_progress)
    assert bytes(result.image.data) == sent.data and result.image.desc == sent.desc
    assert (result.model, result.layers, result.seed) == ("fake", ["conv2"], 42)
    assert result.params == {"seed": 42, "octave_count": 2}
    assert result.timings == {"total": 0.01} and result.notes == ["echo"]
    assert [p.done for p in seen] == [1, 2, 3] and all(p.total == 3 for p in seen)
    assert threads == {threading.get_ident()}  # callbacks run on the waiting thread


def test_several_jobs_in_flight(make_fake: Any, endpoint: str) -> None:
    fake = make_fake(endpoint, steps=5, tick=0.02)
    with Client(endpoint, timeout=FAST) as client:
        images = [image(4 + i, 4) for i in range(3)]
        counts = [0, 0, 0]
        jobs = [
            client.submit(
                img, {"seed": i}, on_progress=lambda p, i=i: counts.__setitem__(i, counts[i] + 1)
            )
            for i, img in enumerate(images)
        ]
        pending = list(jobs)
        while pending:
            for job in client.wait(pending, timeout=5):
                pending.remove(job)
        for i, job in enumerate(jobs):
            result = job.result()
            assert result.seed == i and bytes(result.image.data) == images[i].data
        assert counts == [5, 5, 5]
    assert fake.max_active == 3  # all three were running at once on one connection


def test_wait_timeout_returns_nothing(make_fake: Any, endpoint: str) -> None:
    make_fake(endpoint, hold=True)
    with Client(endpoint, timeout=FAST) as client:
        job = client.submit(image())
        started = time.monotonic()
        assert client.wait([job], timeout=0.2) == []
        assert time.monotonic() - started < 1
        assert job.position == 0 and not job.done
        assert client.cancel(job) and not client.cancel(job)


def test_cancel_with_event(make_fake: Any, endpoint: str) -> None:
    fake = make_fake(endpoint, hold=True, heartbeat=0.05)
    stop = threading.Event()
    with Client(endpoint, timeout=FAST) as client:
        started = time.monotonic()
        with pytest.raises(Cancelled):
            client.dream(image(), on_progress=lambda p: stop.set(), cancel=stop)
        assert time.monotonic() - started < 1
        deadline = time.monotonic() + 2
        while not fake.of_type(CancelRequest) and time.monotonic() < deadline:
            time.sleep(0.01)
    (dream,) = fake.of_type(DreamRequest)
    (cancel,) = fake.of_type(CancelRequest)
    assert cancel.job == dream.id


def test_cancel_with_callable_from_another_thread(make_fake: Any, endpoint: str) -> None:
    make_fake(endpoint, hold=True)
    flag = {"stop": False}
    threading.Timer(0.2, lambda: flag.update(stop=True)).start()
    with Client(endpoint, timeout=FAST) as client, pytest.raises(Cancelled) as info:
        client.dream(image(), cancel=lambda: flag["stop"])
    assert info.value.job is not None


def test_job_cancel(make_fake: Any, endpoint: str) -> None:
    fake = make_fake(endpoint, hold=True)
    with Client(endpoint, timeout=FAST) as client:
        mine = client.submit(image())
        other = client.submit(image())
        assert mine.cancel()
        with pytest.raises(Cancelled, match="this client"):
            mine.result()
        assert isinstance(mine.exception(), Cancelled)
        assert client.wait([mine, other], timeout=0.1) == [mine]
        assert not other.done  # cancelling one job leaves the others alone
        client.cancel(other)
        deadline = time.monotonic() + 2
        while len(fake.of_type(CancelRequest)) < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
    assert [c.job for c in fake.of_type(CancelRequest)] == [mine.id, other.id]


def test_daemon_cancelled_error_becomes_cancelled(make_fake: Any, endpoint: str) -> None:
    fake = make_fake(endpoint)
    fake.raw_replies.append(
        encode_error("ID", ErrorCode.CANCELLED, "daemon shutting down the job", server=SERVER)
    )
    with Client(endpoint, timeout=FAST) as client:
        # The fake sends the canned reply with the literal id "ID": patch the id in.
        client._new_id = lambda: "ID"  # type: ignore[method-assign]
        with pytest.raises(Cancelled, match="dreamd cancelled"):
            client.dream(image())


def test_rejected(fake: FakeDaemon, endpoint: str) -> None:
    with Client(endpoint, timeout=FAST) as client:
        with pytest.raises(Rejected) as info:
            client.dream(image(), model="nope")
        err = info.value
        assert (err.code, err.field) == (ErrorCode.UNKNOWN_MODEL, "model")
        assert "dreamd status" in str(err)
        # The connection is still good afterwards.
        assert client.ping() >= 0


def test_invalid_request_is_refused_before_sending(fake: FakeDaemon, endpoint: str) -> None:
    with Client(endpoint, timeout=FAST) as client:
        with pytest.raises(MessageInvalid) as info:
            client.submit(image(), {"jitter": -1})
        assert (info.value.code, info.value.field) == (ErrorCode.BAD_VALUE, "params.jitter")
        with pytest.raises(MessageInvalid) as info:
            client.submit(image(), {"octave_count": float("nan")})
        assert info.value.field == "params.octave_count"
        client.ping()
    assert not fake.of_type(DreamRequest)


def test_silent_server_times_out(make_fake: Any, endpoint: str) -> None:
    fake = make_fake(endpoint, silent=True)
    with Client(endpoint, timeout=Timeout(connect=0.3, reply=0.3), retries=1) as client:
        started = time.monotonic()
        with pytest.raises(RequestTimeout, match="did not answer"):
            client.dream(image())
        elapsed = time.monotonic() - started
    assert 0.5 < elapsed < 1.5  # (1 + retries) × connect
    ids = [r.id for r in fake.of_type(DreamRequest)]
    assert len(ids) == 2 and ids[0] == ids[1]  # resent once, with the same id


def test_server_going_silent_mid_job(make_fake: Any, endpoint: str) -> None:
    fake = make_fake(endpoint, mute_after_accept=True)
    with Client(endpoint, timeout=Timeout(connect=0.3, reply=0.4), retries=1) as client:
        job = client.submit(image())
        started = time.monotonic()
        with pytest.raises(RequestTimeout):
            job.result()
        elapsed = time.monotonic() - started
    assert elapsed < 1.5
    # Half-way through the silence the client probed with a ping.
    assert any(r.id.startswith("hb-") for r in fake.of_type(PingRequest))


def test_a_job_the_daemon_forgot_is_resent_although_pongs_arrive(
    make_fake: Any, endpoint: str
) -> None:
    # The connection stays alive (the client's heartbeat pings are answered), but nothing
    # more is said about the job: it must be resent, not waited for for ever.
    fake = make_fake(endpoint, forget_first_dream=True)
    with Client(endpoint, timeout=Timeout(connect=0.5, reply=0.5), retries=2) as client:
        job = client.submit(image())
        assert client.wait([job], timeout=5) == [job]
        assert job.result().model == "fake"
    ids = [r.id for r in fake.of_type(DreamRequest)]
    assert ids == [job.id, job.id]


def test_heartbeats_keep_a_long_job_alive(make_fake: Any, endpoint: str) -> None:
    make_fake(endpoint, hold=True, heartbeat=0.1)
    with Client(endpoint, timeout=Timeout(connect=0.5, reply=0.5), retries=0) as client:
        job = client.submit(image())
        assert client.wait([job], timeout=1.5) == []  # 3× the reply timeout, still alive
        client.cancel(job)


def test_total_timeout_cancels_the_job(make_fake: Any, endpoint: str) -> None:
    fake = make_fake(endpoint, hold=True, heartbeat=0.05)
    with Client(endpoint, timeout=Timeout(connect=0.5, reply=0.5, total=0.3)) as client:
        started = time.monotonic()
        with pytest.raises(RequestTimeout, match="total"):
            client.dream(image())
        assert time.monotonic() - started < 1
        time.sleep(0.1)
        client.ping()
    assert fake.of_type(CancelRequest)


def test_unreachable_tcp_fails_fast() -> None:
    endpoint = f"tcp://127.0.0.1:{free_port()}"  # nothing listens there
    with Client(endpoint, timeout=Timeout(connect=0.3), retries=5) as client:
        started = time.monotonic()
        with pytest.raises(Unreachable, match="dreamd serve"):
            client.hello()
        assert time.monotonic() - started < 1.5
        with pytest.raises(Unreachable):
            client.dream(image())


def test_unreachable_ipc_names_the_socket(tmp_path: Path) -> None:
    sock = tmp_path / "none.sock"
    with (
        Client(f"ipc://{sock}", timeout=Timeout(connect=0.2)) as client,
        pytest.raises(Unreachable, match="there is no socket"),
    ):
        client.ping()


def test_ipc_endpoint(make_fake: Any, tmp_path: Path) -> None:
    endpoint = f"ipc://{tmp_path}/d.sock"
    if len(endpoint) > 100:
        pytest.skip("tmp path too long for a Unix socket")
    make_fake(endpoint)
    with Client(endpoint, timeout=FAST) as client:
        assert client.dream(image()).model == "fake"


def test_lazy_pirate_resend_after_restart(make_fake: Any, endpoint: str) -> None:
    first = make_fake(endpoint, die_on_dream=True)
    with Client(endpoint, timeout=Timeout(connect=0.3, reply=0.3), retries=5) as client:
        job = client.submit(image())
        deadline = time.monotonic() + 3
        while not first.stopped and time.monotonic() < deadline:
            client.wait([job], timeout=0.02)
        assert first.stopped  # crashed without answering
        second = make_fake(endpoint)  # dreamd comes back on the same endpoint
        result = job.result()
    assert result.model == "fake"
    (crashed,) = first.of_type(DreamRequest)
    resent = second.of_type(DreamRequest)
    assert resent and all(r.id == crashed.id == job.id for r in resent)


def test_a_restarted_daemon_gets_the_requests_at_once(make_fake: Any, endpoint: str) -> None:
    # Long timeouts: only the reconnection itself can make the client resend this soon.
    first = make_fake(endpoint, die_on_dream=True)
    with Client(endpoint, timeout=Timeout(connect=30, reply=30), retries=2) as client:
        job = client.submit(image())
        deadline = time.monotonic() + 3
        while not first.stopped and time.monotonic() < deadline:
            client.wait([job], timeout=0.02)
        assert first.stopped
        second = make_fake(endpoint)
        started = time.monotonic()
        assert client.wait([job], timeout=10) == [job]
        assert time.monotonic() - started < 5
        assert job.result().model == "fake"
    assert [r.id for r in second.of_type(DreamRequest)] == [job.id]


def test_version_mismatch_from_newer_daemon(make_fake: Any, endpoint: str) -> None:
    fake = make_fake(endpoint)
    with Client(endpoint, timeout=FAST) as client:
        client._new_id = lambda: "ID"  # type: ignore[method-assign]
        fake.raw_replies.append(
            [msgpack.packb({"v": [2, 0], "type": "pong", "id": "ID", "server": "dreamd 9"})]
        )
        with pytest.raises(VersionMismatch) as info:
            client.ping()
    assert info.value.update == "client" and "update this client" in str(info.value)


def test_version_mismatch_from_older_daemon(make_fake: Any, endpoint: str) -> None:
    fake = make_fake(endpoint)
    reply = msgpack.packb(
        {
            "v": [1, 0],
            "type": "error",
            "id": "ID",
            "server": "dreamd 0.1",
            "code": "UNSUPPORTED_VERSION",
            "message": "protocol 1.0 is not spoken here",
            "field": "v",
            "job": None,
            "protocols": [[0, 9]],
        }
    )
    fake.raw_replies.append([reply])
    with Client(endpoint, timeout=FAST) as client:
        client._new_id = lambda: "ID"  # type: ignore[method-assign]
        with pytest.raises(VersionMismatch) as info:
            client.hello()
    assert info.value.update == "daemon" and "update dreamd" in str(info.value)


def test_threads_share_one_client(make_fake: Any, endpoint: str) -> None:
    make_fake(endpoint, steps=4)
    results: list[Any] = []
    errors: list[BaseException] = []
    with Client(endpoint, timeout=FAST) as client:

        def work(n: int) -> None:
            try:
                results.append(client.dream(image(4, 4 + n), {"seed": n}).seed)
            except BaseException as exc:  # pragma: no cover - reported below
                errors.append(exc)

        threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(10)
    assert not errors and sorted(results) == [0, 1, 2, 3]


def test_close_fails_jobs_in_flight(make_fake: Any, endpoint: str) -> None:
    make_fake(endpoint, hold=True)
    client = Client(endpoint, timeout=FAST)
    job = client.submit(image())
    client.close()
    client.close()
    with pytest.raises(ClientError, match="closed"):
        job.result()
    with pytest.raises(ClientError, match="closed"):
        client.ping()


def test_curve(make_fake: Any, endpoint: str, tmp_path: Path) -> None:
    if not zmq.has("curve"):
        pytest.skip("libzmq without CURVE")
    server_public, server_secret = create_keypair(tmp_path / "keys", "server")
    client_public, client_secret = create_keypair(tmp_path / "keys", "client")
    assert stat.S_IMODE(client_secret.stat().st_mode) == 0o600
    _, secret = zmq.auth.load_certificate(str(server_secret))
    make_fake(endpoint, curve_secret=secret)
    keys = CurveKeys.from_files(server_public, client_secret)
    assert "client_secret" not in repr(keys)
    with Client(endpoint, timeout=FAST, curve=keys) as client:
        assert client.hello()["server"] == SERVER
    with pytest.raises(ValueError, match="secret"):
        CurveKeys.from_files(server_public, client_public)


def test_timeout_and_client_arguments() -> None:
    with pytest.raises(ValueError):
        Timeout(connect=0)
    with pytest.raises(ValueError):
        Timeout(reply=float("inf"))
    with pytest.raises(ValueError):
        Timeout(total=-1)
    with pytest.raises(ValueError):
        Client("tcp://127.0.0.1:1", retries=-1)
    with pytest.raises(ValueError):
        Client("bogus://x")


# ------------------------------------------------------------------ 1.1: previews, estimate


def test_previews_come_with_progress_when_asked(fake: FakeDaemon) -> None:
    seen: list[Progress] = []
    with Client(fake.endpoint, timeout=FAST) as client:
        client.dream(image(), {"seed": 1}, on_progress=seen.append, preview=Preview(64, 1.0))
        plain: list[Progress] = []
        client.dream(image(), {"seed": 1}, on_progress=plain.append)
    request = fake.of_type(DreamRequest)[0]
    assert request.preview == Preview(64, 1.0)
    previews = [p.preview for p in seen if p.preview is not None]
    assert previews and bytes(previews[-1].data) == bytes([fake.steps]) * 12
    assert all(p.preview is None for p in plain), "no preview unless asked"


def test_an_old_daemon_is_not_sent_what_it_cannot_read(make_fake, endpoint: str) -> None:
    """A 1.0 daemon refuses unknown fields: a 1.1 client leaves the preview out (the dream
    runs, without previews) and refuses to ask it for an estimate."""
    old = make_fake(endpoint, protocols=((1, 0),))
    with Client(endpoint, timeout=FAST) as client:
        client.dream(image(), {"seed": 1}, preview=Preview())
        with pytest.raises(Unsupported, match="update it"):
            client.estimate(640, 480, {})
    assert old.of_type(DreamRequest)[0].preview is None
    assert not old.invalid


def test_estimate(fake: FakeDaemon) -> None:
    with Client(fake.endpoint, timeout=FAST) as client:
        est = client.estimate(1000, 800, {"steps_per_octave": 10}, model="fake")
    assert est.seconds == pytest.approx(0.8)
    assert est.octaves == [[500, 400], [1000, 800]] and est.steps == 20
    sent = fake.of_type(EstimateRequest)[0]
    assert (sent.width, sent.height, sent.params, sent.model) == (
        1000,
        800,
        {"steps_per_octave": 10},
        "fake",
    )


def test_auto_octaves_and_detail_size_for_an_old_daemon(make_fake, endpoint: str) -> None:
    """A 1.0 daemon knows no "auto": it is left out (the daemon runs its default, 4); a
    detail size it cannot do is refused here, before sending."""
    old = make_fake(endpoint, protocols=((1, 0),))
    with Client(endpoint, timeout=FAST) as client:
        client.dream(image(), {"octave_count": "auto", "seed": 1})
        with pytest.raises(Unsupported, match="detail_size"):
            client.dream(image(), {"detail_size": 512})
    assert "octave_count" not in old.of_type(DreamRequest)[0].params
