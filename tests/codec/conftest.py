"""Codec fixtures: the odd files, made once per module."""

from __future__ import annotations

from pathlib import Path

import pytest

from .odd_files import write_odd_images


@pytest.fixture(scope="module")
def odd(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, dict[str, object]]]:
    folder = tmp_path_factory.mktemp("odd")
    return folder, write_odd_images(folder)
