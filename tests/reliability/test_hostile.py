"""Hostile input: generated broken messages against the decoder and a live daemon."""

from __future__ import annotations

from pathlib import Path

from dreamd import protocol
from harness.reliability.broken import png_claiming
from harness.reliability.hostile import flood, fuzz_decoder, fuzz_live, oversized
from harness.reliability.sizes import Sizes

from .conftest import assert_rows


def test_decoder_raises_only_message_invalid(sizes: Sizes) -> None:
    assert_rows(fuzz_decoder(sizes))


def test_live_daemon_answers_every_broken_message_with_an_error(sizes: Sizes, work: Path) -> None:
    assert_rows(fuzz_live(sizes, work))


def test_frames_over_the_size_cap_cost_the_daemon_nothing(sizes: Sizes, work: Path) -> None:
    assert_rows(oversized(sizes, work))


def test_a_flooding_connection_does_not_starve_others(sizes: Sizes, work: Path) -> None:
    assert_rows(flood(sizes, work))


def test_png_truncated_at_a_row_boundary_is_refused() -> None:
    # Found by the fuzzing: Pillow decodes such a file without a word (missing rows black).
    import pytest

    from dreamd.daemon._errors import JobError
    from dreamd.daemon._images import decode

    desc = protocol.ImageDesc(333, 535, 3, "u8", "png")  # 10 000 bytes = exactly 10 rows
    with pytest.raises(JobError, match="truncated"):
        decode(protocol.Image(desc, png_claiming(333, 535)))
