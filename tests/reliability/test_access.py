"""Access: who can reach the daemon, and who cannot."""

from __future__ import annotations

from pathlib import Path

from harness.reliability.access import access_binds, access_curve, access_ipc
from harness.reliability.sizes import Sizes

from .conftest import assert_rows


def test_ipc_socket_is_private_to_its_user(sizes: Sizes, work: Path) -> None:
    assert_rows(access_ipc(sizes, work))


def test_public_binds_without_keys_are_refused(sizes: Sizes, work: Path) -> None:
    assert_rows(access_binds(sizes, work))


def test_curve_keys_are_private_and_strangers_get_nothing(sizes: Sizes, work: Path) -> None:
    assert_rows(access_curve(sizes, work))
