"""Expanding -s: folders, single files, globs, --recursive, ascii-betical order."""

from __future__ import annotations

from pathlib import Path

import pytest

from dreamd.batch._errors import UsageError
from dreamd.batch._sources import find_sources


def _touch(root: Path, *names: str) -> None:
    for n in names:
        p = root / n
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(b"x")


def test_folder_lists_images_in_code_point_order_and_ignores_the_rest(tmp_path):
    _touch(tmp_path, "b.png", "B.png", "a 1.jpg", "a10.jpg", "a2.jpg", "Ä.webp", "notes.txt",
           ".hidden.png", "sub/c.png")  # fmt: skip
    found = find_sources(str(tmp_path))
    assert [s.rel.as_posix() for s in found.sources] == [
        "B.png", "a 1.jpg", "a10.jpg", "a2.jpg", "b.png", "Ä.webp"
    ]  # fmt: skip
    assert [p.name for p in found.ignored] == ["notes.txt"]
    assert found.kind == "folder"


def test_recursive_mirrors_sub_folders_and_skips_the_destination(tmp_path):
    _touch(tmp_path, "a.png", "sub/b.png", "sub/deeper/c.jpg", ".git/d.png", "out/e.png")
    found = find_sources(str(tmp_path), recursive=True, exclude=tmp_path / "out")
    assert [s.rel.as_posix() for s in found.sources] == ["a.png", "sub/b.png", "sub/deeper/c.jpg"]


def test_single_file_of_any_name(tmp_path):
    _touch(tmp_path, "frame.raw-but-png")
    found = find_sources(str(tmp_path / "frame.raw-but-png"))
    assert [s.rel for s in found.sources] == [Path("frame.raw-but-png")]
    assert found.kind == "file"


def test_glob_relative_to_its_fixed_part(tmp_path):
    _touch(tmp_path, "f/0002.png", "f/0001.png", "f/x.jpg", "f/s/0003.png")
    found = find_sources(str(tmp_path / "f" / "*.png"))
    assert [s.rel.as_posix() for s in found.sources] == ["0001.png", "0002.png"]
    found = find_sources(str(tmp_path / "f" / "**" / "*.png"), recursive=True)
    assert [s.rel.as_posix() for s in found.sources] == ["0001.png", "0002.png", "s/0003.png"]


def test_missing_source_and_empty_glob_are_usage_errors(tmp_path):
    with pytest.raises(UsageError, match="does not exist"):
        find_sources(str(tmp_path / "nope"))
    with pytest.raises(UsageError, match="matches no file"):
        find_sources(str(tmp_path / "*.png"))
