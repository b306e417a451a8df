"""Atomic writes: the file appears complete or not at all; leftovers of dead writers go."""

from __future__ import annotations

import os

import numpy as np
import pytest

from dreamd import codec

INFO = codec.ImageInfo.plain("PNG", 3, 8, (8, 6))
PIXELS = np.full((6, 8, 3), 0.5, np.float32)


def test_a_failed_write_leaves_the_old_file_and_nothing_else(tmp_path, monkeypatch):
    dest = tmp_path / "x.png"
    dest.write_bytes(b"old complete file")

    def disk_full(fh, *args, **kwargs):
        fh.write(b"half a file")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("dreamd.codec._files.encode_into", disk_full)
    with pytest.raises(codec.WriteFailed, match="No space left") as info:
        codec.write(PIXELS, INFO, dest)
    assert info.value.errno == 28 and info.value.source == dest
    assert dest.read_bytes() == b"old complete file"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.png"]


def test_a_write_makes_its_folders_and_replaces_the_old_file(tmp_path):
    dest = tmp_path / "a" / "b" / "x.png"
    codec.write(PIXELS, INFO, dest)
    codec.write(PIXELS * 0, INFO, dest)
    assert codec.read(dest).pixels.max() == 0
    assert [p.name for p in dest.parent.iterdir()] == ["x.png"]


def test_stale_temporary_files_of_dead_processes_are_cleaned(tmp_path):
    dead = tmp_path / f".x.png.999999999-1{codec.TMP_SUFFIX}"
    mine = tmp_path / f".y.png.{os.getpid()}-1{codec.TMP_SUFFIX}"
    other = tmp_path / ".notes.txt"
    for p in (dead, mine, other):
        p.write_bytes(b"partial")
    assert codec.clean_stale_temps(tmp_path) == 1
    assert not dead.exists() and mine.exists() and other.exists()
