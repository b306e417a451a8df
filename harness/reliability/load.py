"""Load and soak: many clients at once, then thousands of jobs through one daemon."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import zmq

from dreamd import protocol

from ..daemon import LONG, RawClient, dream_frames, raw_image, wait_status
from .jobs import SPECS, TINY, spec_params, spec_pixels
from .processes import proc_stats, running_daemon, settled_stats, status_of
from .rows import Row
from .sizes import Sizes


def load(sizes: Sizes, work: Path) -> list[Row]:
    """``load_clients`` clients at once, ``load_jobs`` tiny jobs each, all submitted before
    any result is read. Half the clients are bare DEALER sockets that count every final
    message on the wire; the other half use the client library. Every job must get exactly
    one result, byte-identical to the same job run alone, and the daemon must end idle."""
    clients, per_client = sizes.load_clients, sizes.load_jobs
    total = clients * per_client
    with running_daemon(work) as d:
        refs: dict[int, bytes] = {}
        with d.client() as c:
            for k in range(len(SPECS)):
                refs[k] = c.dream(raw_image(spec_pixels(k)), spec_params(k)).image.tobytes()
        before = status_of(d)["jobs"]
        finals: dict[str, list[tuple[str, bytes]]] = {}
        expect: dict[str, int] = {}
        problems: list[str] = []
        lock = threading.Lock()

        def record(job_id: str, kind: str, data: bytes) -> None:
            with lock:
                finals.setdefault(job_id, []).append((kind, data))

        busy = [0]  # BUSY answers (queue full): the job is sent again, as dream-batch does

        def raw_dealer(n: int) -> None:
            rc = RawClient(d.endpoint, zmq.Context())
            try:
                sent: dict[str, list[bytes]] = {}
                for j in range(per_client):
                    k, job_id = n + j, f"load-{n}-{j}"
                    with lock:
                        expect[job_id] = k
                    prio = "batch" if j % 2 else "interactive"
                    sent[job_id] = dream_frames(
                        spec_pixels(k), spec_params(k), job_id, priority=prio
                    )
                    rc.send(sent[job_id])
                waiting = set(sent)
                again: list[tuple[float, str]] = []
                deadline = time.monotonic() + 300
                while waiting and time.monotonic() < deadline:
                    now = time.monotonic()
                    for due, job_id in [a for a in again if a[0] <= now]:
                        again.remove((due, job_id))
                        rc.send(sent[job_id])
                    got = rc.recv(timeout=0.05)
                    if got is None:
                        continue
                    header, frames = got
                    if header.get("type") == "error" and header.get("code") == "BUSY":
                        with lock:
                            busy[0] += 1
                        again.append((time.monotonic() + 0.2, header["id"]))
                    elif header.get("type") in ("result", "error"):
                        record(header["id"], header["type"], frames[0] if frames else b"")
                        waiting.discard(header["id"])
                # Anything more would be a second final reply to a job.
                while (extra := rc.recv(timeout=0.3)) is not None:
                    if extra[0].get("type") in ("result", "error"):
                        record(extra[0]["id"], extra[0]["type"], b"")
            finally:
                rc.close()
                rc.ctx.destroy(0)

        def library(n: int) -> None:
            with d.client(name=f"load-{n}") as c:
                pending: list[tuple[protocol.Job, int]] = []
                for j in range(per_client):
                    k = n + j
                    prio = "batch" if j % 2 else "interactive"
                    job = c.submit(raw_image(spec_pixels(k)), spec_params(k), priority=prio)
                    with lock:
                        expect[job.id] = k
                    pending.append((job, k))
                while pending:
                    job, k = pending.pop(0)
                    try:
                        record(job.id, "result", job.result().image.tobytes())
                    except protocol.Rejected as exc:
                        if exc.code != "BUSY":
                            record(job.id, "error", str(exc).encode())
                            continue
                        with lock:
                            busy[0] += 1
                            del expect[job.id]
                        time.sleep(0.2)
                        job = c.submit(raw_image(spec_pixels(k)), spec_params(k))
                        with lock:
                            expect[job.id] = k
                        pending.append((job, k))
                    except protocol.DreamdError as exc:
                        record(job.id, "error", str(exc).encode())

        def run(n: int) -> None:
            try:
                (raw_dealer if n % 2 else library)(n)
            except BaseException as exc:
                with lock:
                    problems.append(f"client {n}: {exc!r}")

        started = time.monotonic()
        threads = [threading.Thread(target=run, args=(n,)) for n in range(clients)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(600)
        seconds = time.monotonic() - started
        after = wait_status(d, lambda s: not s["running"] and s["queue"] == 0, what="idle")
    one = sum(1 for v in finals.values() if len(v) == 1)
    dup = sum(1 for v in finals.values() if len(v) > 1)
    missing = len(set(expect) - set(finals))
    correct = sum(
        1
        for job_id, got in finals.items()
        if len(got) == 1
        and got[0][0] == "result"
        and got[0][1] == refs[expect[job_id] % len(SPECS)]
    )
    done = after["jobs"]["done"] - before["done"]
    other = {k: after["jobs"][k] - before[k] for k in ("failed", "cancelled", "rejected")}
    ok = (
        not problems
        and len(expect) == total
        and one == total
        and correct == total
        and done == total
        and other["failed"] == other["cancelled"] == 0
        and other["rejected"] == busy[0]
        and after["queue"] == 0
        and not after["running"]
    )
    held = (
        f"{one}/{total} jobs got exactly one final reply ({dup} twice, {missing} none); "
        f"{correct}/{total} byte-identical to the job run alone; daemon counted {done} done, "
        f"{other['failed']} failed, {other['cancelled']} cancelled; {busy[0]} times BUSY (queue "
        f"full: sent again, as dream-batch does); queue {after['queue']}, "
        f"running {len(after['running'])} after; {total / seconds:.0f} jobs/s"
    )
    if problems:
        held += f"; problems: {'; '.join(problems[:3])}"
    return [
        Row(
            f"load: {clients} clients at once × {per_client} jobs each, all sent before "
            "reading (half bare DEALERs counting wire replies, half the client library)",
            total,
            held,
            ok,
            numbers={"jobs_per_s": total / seconds, "seconds": seconds},
        )
    ]


# -------------------------------------------------------------------------------- soak


def soak(sizes: Sizes, work: Path) -> list[Row]:
    """``soak_jobs`` tiny jobs through one daemon: a new connection every 20 jobs (ipc and
    tcp in turn), two jobs in flight per connection, one request in 50 refused (unknown
    layer) and one job in 50 cancelled while it runs. Resident memory after the first
    ``soak_first`` jobs and after the last must differ by less than 10 %; descriptors and
    threads must not grow."""
    n, first = sizes.soak_jobs, sizes.soak_first
    per_connection = 20
    with running_daemon(work, tcp=True) as d:
        done = refused = cancelled = 0
        samples: list[float] = []
        errors: list[str] = []

        def run(count: int, offset: int) -> None:
            nonlocal done, refused, cancelled
            for start in range(offset, offset + count, per_connection):
                endpoint = d.binds[(start // per_connection) % 2]
                timeout = protocol.Timeout(connect=20, reply=30)
                with protocol.Client(endpoint, timeout=timeout) as c:
                    in_flight: list[protocol.Job] = []
                    for k in range(start, min(offset + count, start + per_connection)):
                        if k % 50 == 17:
                            try:
                                c.dream(raw_image(spec_pixels(k)), {**TINY, "layers": ["nope"]})
                                errors.append("an unknown layer was accepted")
                            except protocol.Rejected:
                                refused += 1
                        elif k % 50 == 33:
                            job = c.submit(raw_image(spec_pixels(k)), LONG)
                            while job.progress is None and not job.done:
                                c.wait([job], timeout=0.05)
                            job.cancel()
                            cancelled += 1
                        else:
                            in_flight.append(c.submit(raw_image(spec_pixels(k)), spec_params(k)))
                            if len(in_flight) == 2:
                                in_flight.pop(0).result()
                                done += 1
                    for job in in_flight:
                        job.result()
                        done += 1
                if start % 100 == 0:
                    samples.append(proc_stats(d.proc.pid).rss_mb)

        run(first, 0)
        s1 = settled_stats(d)
        run(n - first, first)
        s2 = settled_stats(d, fds_at_most=s1.fds)
        st = status_of(d)
    growth = (s2.rss - s1.rss) / s1.rss
    ok = (
        not errors
        and abs(growth) < 0.10
        and s2.fds <= s1.fds
        and s2.threads <= s1.threads
        and st["queue"] == 0
        and not st["running"]
        and done + refused + cancelled == n
    )
    held = (
        f"RSS after the first {first}: {s1.rss_mb:.0f} MB, after all {n}: {s2.rss_mb:.0f} MB "
        f"({100 * growth:+.1f} %, peak {max(samples, default=s2.rss_mb):.0f} MB); "
        f"fds {s1.fds} → {s2.fds}; threads {s1.threads} → {s2.threads}; "
        f"{done} results, {refused} refused, {cancelled} cancelled"
    )
    if errors:
        held += f"; {errors[0]}"
    return [
        Row(
            f"soak: {n} jobs through one daemon, a new connection every {per_connection} "
            "(ipc and tcp), 1 in 50 refused, 1 in 50 cancelled while running",
            n,
            held,
            ok,
            numbers={"rss_first_mb": s1.rss_mb, "rss_last_mb": s2.rss_mb, "growth": growth},
        )
    ]
