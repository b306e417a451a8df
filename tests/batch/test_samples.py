"""The README's sample photos and the progress bar."""

from __future__ import annotations

import io
from pathlib import Path

from dreamd.batch._imageio import read_image
from dreamd.batch._progress import BarDisplay, make_display
from dreamd.batch.cli import main as batch_main
from dreamd.batch.samples import main as samples_main

ROOT = Path(__file__).resolve().parents[2]


def test_dream_batch_writes_the_shipped_samples(tmp_path, capsys):
    """``dream-batch --samples DIR``: the photos the package carries, byte for byte the
    checkout's samples/ (the README's first batch), without scikit-image."""
    assert batch_main(["--samples", str(tmp_path / "s")]) == 0
    written = sorted(p.name for p in (tmp_path / "s").iterdir())
    assert written == sorted(p.name for p in (ROOT / "samples").iterdir())
    for name in written:
        assert (tmp_path / "s" / name).read_bytes() == (ROOT / "samples" / name).read_bytes()
    assert len(capsys.readouterr().out.split()) == 5


def test_samples_cover_jpeg_alpha_and_16_bit(tmp_path, capsys):
    assert samples_main([str(tmp_path / "s"), "--max-side", "64"]) == 0
    names = sorted(p.name for p in (tmp_path / "s").iterdir())
    assert len(names) == 5 and len(capsys.readouterr().out.split()) == 5
    infos = {n: read_image(tmp_path / "s" / n).info for n in names}
    assert infos["astronaut-alpha.png"].has_alpha
    assert infos["camera-16bit.png"].depth == 16
    assert infos["chelsea.jpg"].format == "JPEG"
    assert all(max(i.size) <= 64 for i in infos.values())


def test_bar_display_counts_images_and_shows_steps():
    out = io.StringIO()
    bar = BarDisplay(out)
    bar.start(2)
    bar.step("embedded", "a.png", 5, 10)
    bar.line("note: hello")
    bar.finished("a.png", "a.png → o/a.png")
    bar.problem("FAILED b.png: bad")
    bar.finished("b.png", "b.png failed")
    bar.close()
    text = out.getvalue()
    assert "2/2" in text and "a.png step 5/10" in text
    assert "note: hello" in text and "FAILED b.png: bad" in text
    assert type(make_display(False, False, io.StringIO())).__name__ == "Display"  # not a TTY
