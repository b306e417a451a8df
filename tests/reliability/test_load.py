"""Load and soak: many clients at once, then thousands of jobs through one daemon."""

from __future__ import annotations

from pathlib import Path

from harness.reliability.load import load, soak
from harness.reliability.sizes import Sizes

from .conftest import assert_rows


def test_many_clients_at_once_each_job_one_identical_result(sizes: Sizes, work: Path) -> None:
    assert_rows(load(sizes, work))


def test_soak_keeps_memory_descriptors_and_threads_flat(sizes: Sizes, work: Path) -> None:
    assert_rows(soak(sizes, work))
