"""Faults: a daemon killed mid-batch, a client killed mid-job, a stopped daemon, a full
disk. Nothing may be lost, half-written or left hanging."""

from __future__ import annotations

from pathlib import Path

from harness.reliability.faults import disk_full, kill_client, kill_mid_batch, sigstop
from harness.reliability.sizes import Sizes

from .conftest import assert_rows


def test_daemon_killed_mid_batch_and_restarted(sizes: Sizes, work: Path) -> None:
    assert_rows(kill_mid_batch(sizes, work))


def test_client_killed_mid_job_frees_the_daemon(sizes: Sizes, work: Path) -> None:
    assert_rows(kill_client(sizes, work))


def test_stopped_daemon_gives_clear_timeouts(sizes: Sizes, work: Path) -> None:
    assert_rows(sigstop(sizes, work))


def test_full_disk_during_a_batch(sizes: Sizes, work: Path) -> None:
    assert_rows(disk_full(sizes, work))
