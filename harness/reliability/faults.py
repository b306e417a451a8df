"""Faults: a daemon killed mid-batch, a client killed mid-job, a stopped daemon, a full
disk. Nothing may be lost, half-written or left hanging."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from dreamd import protocol

from ..batch import run_cli
from ..daemon import LONG, ROOT, daemon_env, raw_image, start_daemon, wait_status
from .jobs import (
    BATCH_FLAGS,
    OutputCheck,
    batch_env,
    check_outputs,
    describe,
    make_frames,
    spec_params,
    spec_pixels,
    summary_of,
)
from .processes import running_daemon, status_of, stop_daemon
from .rows import Row, skipped
from .sizes import Sizes


def kill_mid_batch(sizes: Sizes, work: Path) -> list[Row]:
    """SIGKILL the daemon in the middle of a ``batch_frames``-frame dream-batch and start
    it again at once: the batch must finish (on its own, or after a re-run) with every
    output complete and identical in size and mode to a clean run. With ``late_restart``
    also: the daemon stays dead until the batch gives up; a re-run finishes it."""
    n = sizes.batch_frames
    src, clean = work / "frames", work / "clean"
    make_frames(src, n)
    ref = run_cli(["-s", str(src), "-d", str(clean), *BATCH_FLAGS, "--embedded", "-q"], 600)
    if ref.returncode != 0:
        return [Row("fault: clean reference run", 1, ref.stderr[-300:], False)]
    rows = [_kill_once(work, src, clean, n, restart_late=False)]
    if sizes.late_restart:
        rows.append(_kill_once(work, src, clean, n, restart_late=True))
    return rows


def _kill_once(work: Path, src: Path, clean: Path, n: int, restart_late: bool) -> Row:
    tag = "late" if restart_late else "soon"
    dest = work / f"out-{tag}"
    dwork = work / f"d-{tag}"
    exits: list[int] = []
    d = start_daemon(dwork)
    at_kill = 0
    partial_at_exit: OutputCheck | None = None
    reran = False
    try:
        args = ["-s", str(src), "-d", str(dest), *BATCH_FLAGS, "-q", "--json",
                "--connect", d.endpoint]  # fmt: skip
        proc = subprocess.Popen(
            [sys.executable, "-m", "dreamd.batch", *args],
            cwd=ROOT,
            env=batch_env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline and proc.poll() is None:
            if dest.exists():
                at_kill = sum(1 for p in dest.iterdir() if not p.name.startswith("."))
                if at_kill >= n // 3:
                    break
            time.sleep(0.01)
        d.proc.kill()
        d.proc.wait()
        if not restart_late:
            d = start_daemon(dwork, d.binds)
        _, err = proc.communicate(timeout=600)
        first_code = proc.returncode
        partial_at_exit = check_outputs(dest, clean, require_all=False)
        if restart_late:
            d = start_daemon(dwork, d.binds)
        if first_code != 0:
            reran = True
            again = run_cli([*args[:-2], "--connect", d.endpoint], 600)
            final_code = again.returncode
        else:
            final_code = 0
    finally:
        stop_daemon(d, exits)
    check = check_outputs(dest, clean)
    how = (
        f"re-run finished it (first run exit {first_code}: {_last_error(err) or 'no message'})"
        if reran
        else "the batch reconnected and finished on its own (exit 0)"
    )
    ok = (
        final_code == 0
        and check.complete
        and check.identical == n
        and partial_at_exit is not None
        and partial_at_exit.intact
    )
    held = (
        f"killed with {at_kill} written; {how}; {describe(check)}; after the first run's exit "
        f"every file present was complete ({partial_at_exit.present if partial_at_exit else 0}"
        f" files, {len(partial_at_exit.hidden) if partial_at_exit else 0} partial)"
    )
    when = (
        "kept dead until dream-batch gave up, then restarted"
        if restart_late
        else "restarted at once"
    )
    return Row(f"fault: SIGKILL dreamd a third into a {n}-frame dream-batch, {when}", 1, held, ok)


def _last_error(text: str) -> str:
    """The last line of ``text`` that reports an error, paths shortened."""
    lines = [ln for ln in text.splitlines() if "error" in ln.lower()]
    if not lines:
        return ""
    line = re.sub(r"ipc://\S+", "ipc://…", lines[-1].strip())
    return re.sub(r"/\S+/", "…/", line)[:200]


CLIENT_CODE = """
import sys
import numpy as np
from dreamd import protocol
img = protocol.Image.raw(np.zeros((48, 64, 3), np.uint8), 64, 48, 3, "u8")
with protocol.Client(sys.argv[1], name="doomed") as c:
    c.dream(img, {"octave_count": 1, "steps_per_octave": 2000})
"""


def kill_client(sizes: Sizes, work: Path) -> list[Row]:
    """SIGKILL a client process while its job runs, with another client's job queued
    behind it: the daemon must cancel the dead client's job and serve the next client
    within a second."""
    n = sizes.kill_clients
    latencies: list[float] = []
    problems: list[str] = []
    with running_daemon(work) as d:
        before = status_of(d)["jobs"]
        for i in range(n):
            proc = subprocess.Popen(
                [sys.executable, "-c", CLIENT_CODE, d.endpoint], env=daemon_env(d.runtime)
            )
            try:
                wait_status(d, lambda s: bool(s["running"]), timeout=60, what="a running job")
                with d.client() as c:
                    nxt = c.submit(raw_image(spec_pixels(i)), spec_params(i))
                    while nxt.position is None and not nxt.done:
                        c.wait([nxt], timeout=0.01)
                    if nxt.position != 1:
                        problems.append(f"next job at position {nxt.position}")
                    killed = time.monotonic()
                    proc.kill()
                    proc.wait()
                    nxt.result()
                    latencies.append(time.monotonic() - killed)
            finally:
                if proc.poll() is None:
                    proc.kill()
                    proc.wait()
        after = wait_status(d, lambda s: not s["running"] and s["queue"] == 0, what="idle")
    cancelled = after["jobs"]["cancelled"] - before["cancelled"]
    worst = max(latencies, default=float("inf"))
    ok = not problems and len(latencies) == n and worst < sizes.serve_within and cancelled == n
    held = (
        f"daemon cancelled {cancelled}/{n} dead clients' jobs; the next client's job "
        f"finished {statistics.median(latencies) if latencies else float('nan'):.2f} s "
        f"(median), {worst:.2f} s (worst) after the kill"
    )
    if problems:
        held += f"; {'; '.join(problems[:3])}"
    what = (
        "fault: SIGKILL a client mid-job, another client's job queued behind "
        f"(must be served within {sizes.serve_within:g} s)"
    )
    return [Row(what, n, held, ok)]


def sigstop(sizes: Sizes, work: Path) -> list[Row]:
    """SIGSTOP the daemon: a client with a running job, a new client, ``dreamd status``
    (and with ``stopped_batch`` a dream-batch) must each fail with a clear timeout error
    within their timeouts instead of hanging; after SIGCONT the daemon serves again."""
    timeout = protocol.Timeout(connect=2, reply=4)
    outcomes: list[tuple[str, str, float, bool]] = []  # who, what happened, seconds, clear
    exits: list[int] = []
    with running_daemon(work, exits=exits) as d:
        c = protocol.Client(d.endpoint, timeout=timeout, retries=1)
        try:
            job = c.submit(raw_image(spec_pixels(0)), LONG)
            while job.progress is None and not job.done:
                c.wait([job], timeout=0.05)
            os.kill(d.proc.pid, signal.SIGSTOP)
            outcomes.append(_timed("a client with a running job", job.result))
        finally:
            c.close()

        def hello() -> Any:
            with protocol.Client(d.endpoint, timeout=timeout, retries=1) as c2:
                return c2.hello()

        outcomes.append(_timed("a new client's hello", hello))

        def status_cli() -> Any:
            p = subprocess.run(
                [sys.executable, "-m", "dreamd.daemon", "status", "--connect", d.endpoint,
                 "--timeout", "2"],
                cwd=ROOT, env=daemon_env(d.runtime), capture_output=True, text=True, timeout=60,
            )  # fmt: skip
            raise RuntimeError(f"exit {p.returncode}: {p.stderr.strip()[:200]}")

        outcomes.append(_timed("`dreamd status --timeout 2`", status_cli))
        if sizes.stopped_batch:
            src = work / "one"
            make_frames(src, 4)

            def batch() -> Any:
                p = run_cli(["-s", str(src), "-d", str(work / "o"), *BATCH_FLAGS,
                             "--connect", d.endpoint], 300)  # fmt: skip
                raise RuntimeError(f"exit {p.returncode}: {_last_error(p.stderr)}")

            outcomes.append(_timed("dream-batch --connect", batch, bound=60))
        os.kill(d.proc.pid, signal.SIGCONT)
        t = time.monotonic()
        with d.client() as c3:
            c3.status()
            resumed = time.monotonic() - t
            c3.dream(raw_image(spec_pixels(1)), spec_params(1))
        idle = wait_status(d, lambda s: not s["running"], timeout=30, what="the job dropped")
    ok_all = all(ok for *_, ok in outcomes) and not idle["running"] and exits == [0]
    parts = [f"{who}: {what} after {secs:.1f} s" for who, what, secs, _ in outcomes]
    held = (
        "; ".join(parts)
        + f"; after SIGCONT status answered in {resumed:.2f} s, a dream ran, the abandoned "
        f"job was dropped, SIGTERM exit {exits[0] if exits else '?'}"
    )
    bad = [o[0] for o in outcomes if not o[3]]
    if bad:
        held += f"; NOT CLEAR or too slow: {', '.join(bad)}"
    return [Row("fault: SIGSTOP dreamd while clients talk to it", len(outcomes), held, ok_all)]


def _timed(who: str, call: Callable[[], Any], bound: float = 14.0) -> tuple[str, str, float, bool]:
    """Run ``call``, which must fail with a clear timeout message within ``bound`` s."""
    clear = re.compile(r"(did not answer the \w+ for [\d.]+ s|nothing answers|no daemon answers)")
    t = time.monotonic()
    try:
        call()
        return who, "answered (?)", time.monotonic() - t, False
    except Exception as exc:
        secs = time.monotonic() - t
        text = f"{type(exc).__name__}: {exc}"
        found = clear.search(text)
        code = re.search(r"exit (\d+)", text)
        short = (
            f"“{found.group(1)}”"
            + (f", exit {code.group(1)}" if code else f" ({type(exc).__name__})")
            if found
            else text[:120]
        )
        return who, short, secs, found is not None and secs <= bound


def disk_full(sizes: Sizes, work: Path) -> list[Row]:
    """A small tmpfs fills up during a dream-batch (through a daemon): a clear error,
    earlier outputs intact, no partial file; once there is room the same command finishes."""
    what = f"fault: the disk (a {sizes.disk_kib} KiB tmpfs) fills up during a dream-batch"
    if not hasattr(os, "geteuid") or os.geteuid() != 0:
        return [skipped(what, "needs root to mount a tmpfs")]
    n = sizes.disk_frames
    src, clean, mnt = work / "frames", work / "clean", work / "full"
    make_frames(src, n)
    ref = run_cli(["-s", str(src), "-d", str(clean), *BATCH_FLAGS, "--embedded", "-q"], 600)
    if ref.returncode != 0:
        return [Row(what, 1, f"clean run failed: {ref.stderr[-300:]}", False)]
    mnt.mkdir()
    mount = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={sizes.disk_kib}k,mode=0755", "tmpfs", str(mnt)],
        capture_output=True,
        text=True,
    )
    if mount.returncode != 0:
        return [skipped(what, f"cannot mount a tmpfs: {mount.stderr.strip()}")]
    try:
        dest = mnt / "out"
        with running_daemon(work / "d") as d:
            args = ["-s", str(src), "-d", str(dest), *BATCH_FLAGS, "-q", "--json",
                    "--connect", d.endpoint]  # fmt: skip
            full = run_cli(args, 600)
            summary = summary_of(full)
            check = check_outputs(dest, clean, require_all=False)
            subprocess.run(["mount", "-o", f"remount,size={4 * sizes.disk_kib + 4096}k",
                            str(mnt)], check=True)  # fmt: skip
            resumed = run_cli(args, 600)
            after = check_outputs(dest, clean)
    finally:
        subprocess.run(["umount", "-l", str(mnt)], check=False)
        with contextlib.suppress(OSError):
            mnt.rmdir()
    full_lines = [ln for ln in full.stderr.splitlines() if "disk is full" in ln]
    message = re.sub(
        r"\), stopping.*", ")", _last_error(full_lines[-1] if full_lines else full.stderr)
    )
    failed = summary.get("failed", -1)
    left = summary.get("left", -1)
    ok = (
        full.returncode == 1
        and "No space left on device" in full.stderr
        and "disk is full" in full.stderr
        and check.intact
        and check.identical == check.present > 0
        and left > 0
        and resumed.returncode == 0
        and after.complete
    )
    held = (
        f"exit {full.returncode}, “{message}”; stopped with "
        f"{check.present} written, {failed} failed, {left} not started (not dreamed only to "
        f"fail); {describe(check)}; after making room the same command finished: "
        f"{describe(after)}"
    )
    return [Row(what + f", {n} frames", 1, held, ok)]
