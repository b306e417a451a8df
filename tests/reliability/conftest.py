"""Reliability tests: load, soak, faults, hostile input, access — scaled down for CI.

``DREAMD_RELIABILITY_SCALE=full`` runs issue 6's full sizes (what
``benchmarks/reliability.py`` does, with a table). The scenarios themselves live in
``scenarios.py`` and ``hostile.py``; they start their own daemons.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from .scenarios import Sizes, short_dir


@pytest.fixture(scope="session")
def sizes() -> Sizes:
    return Sizes.from_env()


@pytest.fixture
def work(request: pytest.FixtureRequest) -> Iterator[Path]:
    """A fresh folder with a short path (ipc sockets live in it), removed afterwards."""
    path = short_dir(request.node.name.removeprefix("test_")[:16])
    yield path
    shutil.rmtree(path, ignore_errors=True)
