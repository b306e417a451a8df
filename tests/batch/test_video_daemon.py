"""Videos through real dreamd processes (efficientnet-lite0 on the CPU, ipc sockets): one
daemon, and two that share a --flow video as contiguous chunks with warm-up frames."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from dreamd.batch._imageio import read_params
from dreamd.batch.cli import main
from harness import clips
from harness.daemon import Daemon, start_daemon

QUICK = ["--octave-count", "2", "--steps-per-octave", "5", "--seed", "3"]


@pytest.fixture(scope="module")
def daemons(tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[Daemon]]:
    started = [start_daemon(tmp_path_factory.mktemp(f"dreamd{k}")) for k in range(2)]
    try:
        yield started
    finally:
        for d in started:
            d.terminate()


def test_a_video_through_a_daemon_keeps_its_audio(tmp_path: Path, daemons) -> None:
    clip = clips.write_clip(tmp_path / "clip.mp4", clips.photo_frames(6, (64, 48)))
    dest = tmp_path / "out"
    assert main(["-s", str(clip), "-d", str(dest), *QUICK, "--connect", daemons[0].endpoint]) == 0
    raw, times, facts = clips.decode(clip)
    got, got_times, got_facts = clips.decode(dest / "clip.mp4")
    assert len(got) == 6 and got_times == times
    assert got_facts["audio"] == facts["audio"]
    assert np.mean([np.abs(a.astype(float) - r).mean() for a, r in zip(got, raw, strict=True)]) > 2


def test_two_daemons_share_a_flow_video_in_warm_chunks(tmp_path: Path, daemons) -> None:
    clip = clips.write_clip(tmp_path / "pan.mp4", clips.photo_frames(12, (64, 48)))
    dest = tmp_path / "out"
    connect = [a for d in daemons for a in ("--connect", d.endpoint)]
    assert main(["-s", str(clip), "-d", str(dest), *QUICK, "--flow", "--frames", *connect]) == 0
    recorded = [read_params(dest / "pan" / f"{i:06d}.png") for i in range(1, 13)]
    assert all(r is not None for r in recorded)
    where = [r["daemon"] for r in recorded if r is not None]
    assert where == [daemons[0].endpoint] * 6 + [daemons[1].endpoint] * 6  # one chunk each
    # every frame after the first starts from the one before, the second chunk's first too
    # (its daemon dreamed warm-up frames before it)
    chained = [r is not None and "flow" in r.get("blend", {}) for r in recorded]
    assert chained == [False] + [True] * 11


def test_a_styled_flow_video_through_a_daemon(tmp_path: Path, daemons) -> None:
    """--style with --flow sends each frame's raw content, the previous styled frame warped
    along the flow and its reliability (protocol 1.2): steadier than independent frames."""
    from PIL import Image

    from dreamd.batch import flicker
    from harness.styles import style_image

    clip = clips.write_clip(tmp_path / "pan.mp4", clips.photo_frames(4, (64, 48)), crf=0)
    Image.fromarray(style_image("painting", (96, 96))).save(tmp_path / "style.png")
    raw, _, _ = clips.decode(clip)
    styled = ["--style", str(tmp_path / "style.png"), "--octave-count", "2",
              "--steps-per-octave", "10", "--seed", "3", "--frames", "-q"]  # fmt: skip
    outs = {}
    for name, extra in (("independent", []), ("flow", ["--flow"])):
        dest = tmp_path / name
        args = ["-s", str(clip), "-d", str(dest), *styled, *extra]
        assert main([*args, "--connect", daemons[0].endpoint]) == 0
        outs[name] = [np.asarray(Image.open(p)) for p in sorted((dest / "pan").glob("*.png"))]
    assert flicker(outs["flow"], raw) < 0.5 * flicker(outs["independent"], raw)
    meta = read_params(tmp_path / "flow" / "pan" / "000003.png")
    assert meta is not None and meta["daemon"] == daemons[0].endpoint
    assert meta["params"]["temporal_weight"] == 10.0 and "flow" in meta["blend"]
