"""Reliability tests: load, soak, faults, hostile input, access — scaled down for CI.

``DREAMD_RELIABILITY_SCALE=full`` runs issue 6's full sizes (what
``benchmarks/reliability.py`` does, with a table). The scenarios themselves live in
``harness/reliability`` (shared with that benchmark); they start their own daemons.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.reliability.processes import short_dir
from harness.reliability.rows import Row
from harness.reliability.sizes import Sizes


@pytest.fixture(scope="session")
def sizes() -> Sizes:
    return Sizes.from_env()


@pytest.fixture
def work(request: pytest.FixtureRequest) -> Iterator[Path]:
    """A fresh folder with a short path (ipc sockets live in it), removed afterwards."""
    path = short_dir(request.node.name.removeprefix("test_")[:16])
    yield path
    shutil.rmtree(path, ignore_errors=True)


def assert_rows(rows: list[Row]) -> None:
    """Print every row (``pytest -s`` shows them), skip when no row could run here, fail
    with the rows that did not hold."""
    for row in rows:
        print(row)
    why = [r.skipped for r in rows if r.skipped]
    bad = [str(r) for r in rows if not r.ok and not r.skipped]
    assert not bad, "\n".join(bad)
    if why and len(why) == len(rows):
        pytest.skip("; ".join(w for w in why if w))
