"""dream-batch on video files, as a user runs it: clips made here with PyAV from real photos
go in, videos (or PNG frames) come out with their timing, size, rotation and audio kept;
broken files are refused by name; Ctrl-C resumes; --flow holds the dream still without
drifting; --zoom animates a photo."""

from __future__ import annotations

import itertools
import json
import os
import signal
import subprocess
import sys
import time
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
from PIL import Image

from dreamd.batch import flicker
from dreamd.batch._imageio import read_params
from dreamd.batch.cli import main
from harness import clips

from .conftest import ROOT, photo

#: Cheap dreams on a shared CPU, efficientnet-lite0's real weights.
FAST = ["--model", "efficientnet-lite0", "--device", "cpu", "--embedded",
        "--octave-count", "2", "--steps-per-octave", "2", "--seed", "3"]  # fmt: skip
#: Five steps, so that --flow's later frames (a fifth of the steps) still take one.
FIVE = [*FAST[:-4], "--steps-per-octave", "5"]


def frames_of(folder: Path) -> list[np.ndarray]:
    return [np.asarray(Image.open(p).convert("RGB")) for p in sorted(folder.glob("*.png"))]


def strength(outs: list[np.ndarray], raws: list[np.ndarray]) -> np.ndarray:
    """Mean |dreamed − raw| per frame, 8-bit levels: how much dream each frame holds."""
    return np.array([np.abs(o.astype(float) - r).mean() for o, r in zip(outs, raws, strict=True)])


def leftovers(folder: Path) -> list[str]:
    """Hidden working folders and temporary files left in ``folder``."""
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


def test_video_in_video_out_keeps_frames_timing_size_and_audio(tmp_path: Path, capsys) -> None:
    src = tmp_path / "in"
    src.mkdir()
    pts = [0, 40, 80, 160, 200, 300, 340, 380, 460, 500]  # a variable frame rate, in ms
    clips.write_clip(
        src / "pan.mp4",
        clips.photo_frames(10, (96, 64)),
        pts=pts,
        time_base=Fraction(1, 1000),
        audio=2,  # two tracks, both copied
    )
    clips.write_clip(src / "cfr.mov", clips.photo_frames(8, (64, 48), step=3), rate=24)
    Image.fromarray(photo("chelsea")).save(src / "cat.png")  # photos and videos mix

    assert main(["-s", str(src), "-d", str(tmp_path / "out"), *FAST]) == 0
    out = capsys.readouterr().out
    assert "1 image(s) and 2 video(s)" in out

    for name in ("pan.mp4", "cfr.mov"):
        raw, t_in, f_in = clips.decode(src / name)
        got, t_out, f_out = clips.decode(tmp_path / "out" / name)
        assert len(got) == len(raw)
        assert t_out == t_in  # every frame at its own time
        assert f_out["size"] == f_in["size"]
        assert f_out["rate"] == f_in["rate"]
        assert (f_out["codec"], f_out["pix_fmt"]) == ("h264", "yuv420p")
        assert f_out["audio_codecs"] == ["aac"] * (2 if name == "pan.mp4" else 1)
        assert f_out["audio"] == f_in["audio"]  # every packet, same bytes, same time
        assert strength(got, raw).mean() > 2  # and it was dreamed
    assert (tmp_path / "out" / "cat.png").is_file()
    assert leftovers(tmp_path / "out") == []
    with av.open(str(tmp_path / "out" / "pan.mp4")) as c:
        recorded = json.loads(c.metadata["comment"])
    assert recorded["source"] == "pan.mp4" and recorded["frames"] == 10
    assert recorded["model"] == "efficientnet-lite0"


def test_odd_size_rotation_and_webm(tmp_path: Path, capsys) -> None:
    src = tmp_path / "in"
    src.mkdir()
    clips.write_clip(src / "odd.mp4", clips.photo_frames(4, (67, 49)), rotation=90)
    clips.write_clip(src / "web.webm", clips.photo_frames(4, (65, 47)), codec="libvpx-vp9")
    assert main(["-s", str(src), "-d", str(tmp_path / "out"), *FAST]) == 0
    out = capsys.readouterr().out
    assert "odd.mp4 is 67×49 (odd): written as 4:4:4" in out

    _, _, odd = clips.decode(tmp_path / "out" / "odd.mp4")
    assert odd["size"] == (67, 49) and odd["pix_fmt"] == "yuv444p"
    assert odd["rotation"] == 90  # still shown upright
    frames, _, web = clips.decode(tmp_path / "out" / "web.webm")
    assert len(frames) == 4 and web["size"] == (65, 47)
    assert (web["codec"], web["pix_fmt"]) == ("vp9", "yuv420p")
    assert web["audio_codecs"] == ["opus"]


def test_frames_writes_pngs_that_record_their_parameters(tmp_path: Path) -> None:
    clip = clips.write_clip(tmp_path / "clip.mp4", clips.photo_frames(5, (64, 48)))
    dest = tmp_path / "out"
    assert main(["-s", str(clip), "-d", str(dest), *FAST, "--frames"]) == 0
    names = sorted(p.name for p in (dest / "clip").iterdir())
    assert names == [f"{i:06d}.png" for i in range(1, 6)]  # no state file left
    params = read_params(dest / "clip" / "000003.png")
    assert params is not None
    assert (params["source"], params["frame"], params["seed"]) == ("clip.mp4", 3, 3)
    # finished: the same command skips it
    assert main(["-s", str(clip), "-d", str(dest), *FAST, "--frames"]) == 0


def test_broken_videos_are_refused_by_name_and_the_batch_goes_on(tmp_path: Path, capsys) -> None:
    src = tmp_path / "in"
    src.mkdir()
    clips.write_clip(src / "good.mp4", clips.photo_frames(3, (64, 48)))
    clips.truncate(clips.write_clip(src / "cut.mp4", clips.photo_frames(12, (64, 48))))
    clips.audio_only(src / "song.mp4")
    (src / "notes.mkv").write_text("not a video at all\n")
    dest = tmp_path / "out"

    assert main(["-s", str(src), "-d", str(dest), *FAST]) == 1
    err = capsys.readouterr().err
    assert "FAILED cut.mp4: truncated" in err
    assert "FAILED song.mp4: no video stream in it (audio aac)" in err
    assert "FAILED notes.mkv: not a video" in err
    assert sorted(os.listdir(dest)) == ["good.mp4"]  # nothing for the broken ones


def test_ctrl_c_keeps_the_dreamed_frames_and_the_same_command_resumes(tmp_path: Path) -> None:
    clip = clips.write_clip(tmp_path / "clip.mp4", clips.photo_frames(16, (96, 64)))
    dest = tmp_path / "out"
    work = dest / ".clip.mp4.dreamd"
    args = ["-s", str(clip), "-d", str(dest), *FIVE]
    env = {**os.environ, "DREAMD_OFFLINE": "1", "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "dreamd.batch", *args], cwd=ROOT, env=env,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    deadline = time.monotonic() + 300
    while len(list(work.glob("*.png"))) < 2 and time.monotonic() < deadline:
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert "To resume, run the same command again" in err
    kept = len(list(work.glob("*.png")))
    assert 2 <= kept < 16
    assert not (dest / "clip.mp4").exists()

    done = subprocess.run(
        [sys.executable, "-m", "dreamd.batch", *args], cwd=ROOT, env=env,
        capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert f"resuming, {kept} of 16 frames dreamed before" in done.stdout
    frames, times, _ = clips.decode(dest / "clip.mp4")
    assert len(frames) == 16 and times == clips.decode(clip)[1]
    assert leftovers(dest) == []


def test_flow_holds_a_panning_dream_still(tmp_path: Path) -> None:
    """The flicker figure (mean |o_t − W(o_{t−1})| where the input's flow is consistent)
    of -b --flow is at most half that of independent frames, and it is still a dream."""
    clip = clips.write_clip(tmp_path / "pan.mp4", clips.photo_frames(12, (96, 64)), crf=0)
    raw, _, _ = clips.decode(clip)
    outs = {}
    for name, extra in (("independent", []), ("flow", ["--flow"])):
        dest = tmp_path / name
        assert main(["-s", str(clip), "-d", str(dest), *FIVE, "--frames", "-q", *extra]) == 0
        outs[name] = frames_of(dest / "pan")
    ind, flow = flicker(outs["independent"], raw), flicker(outs["flow"], raw)
    assert flow <= 0.5 * ind, (flow, ind)  # measured: 0.35×
    assert strength(outs["flow"], raw).mean() > 0.6 * strength(outs["independent"], raw).mean()
    clips.strip(raw[::3] + outs["independent"][::3] + outs["flow"][::3], tmp_path / "pan.png")


def test_flow_does_not_drift_on_a_still_shot_of_100_frames(tmp_path: Path) -> None:
    """No brightening, no detail piling up frame after frame (DeepDreamAnim #11)."""
    rng = np.random.default_rng(1)
    still = clips.photo_frames(1, (64, 64))[0]
    noisy = [np.clip(still + rng.normal(0, 2, still.shape), 0, 255).astype(np.uint8)
             for _ in range(100)]  # fmt: skip
    clip = clips.write_clip(tmp_path / "still.mp4", noisy, audio=0)
    raw, _, _ = clips.decode(clip)
    dest = tmp_path / "out"
    assert main(["-s", str(clip), "-d", str(dest), *FIVE, "--frames", "-q", "--flow"]) == 0
    outs = frames_of(dest / "still")
    assert len(outs) == 100
    s = strength(outs, raw)
    bright = np.array([o.mean() - r.mean() for o, r in zip(outs, raw, strict=True)])
    early, late = slice(10, 30), slice(80, 100)
    assert abs(bright[late].mean() - bright[early].mean()) < 0.5  # levels of 255
    assert s[late].mean() < 1.15 * s[early].mean()
    assert s[late].mean() < 1.3 * s[0]  # near one dream's detail, not a pile


def test_zoom_makes_an_animation_of_a_photo(tmp_path: Path) -> None:
    Image.fromarray(photo("astronaut", (80, 64))).save(tmp_path / "astro.png")
    dest = tmp_path / "out"
    args = ["-s", str(tmp_path / "astro.png"), "-d", str(dest), *FAST, "--zoom", "6"]
    assert main([*args, "--zoom-rotate", "2", "--fps", "12"]) == 0
    frames, times, facts = clips.decode(dest / "astro.mp4")
    assert len(frames) == 6 and facts["size"] == (80, 64)
    assert times == [Fraction(k, 12) for k in range(6)]
    assert facts["audio"] == []
    change = [np.abs(a.astype(float) - b).mean() for a, b in itertools.pairwise(frames)]
    assert min(change) > 1  # every frame moves on
    assert leftovers(dest) == []


@pytest.mark.parametrize("flags", [["--zoom-scale", "1.1"], ["--flow", "--zoom", "3"],
                                   ["--steps-after-first", "2"], ["--frames", "--crf", "20"],
                                   ["--video-codec", "nosuchcodec"], ["--crf", "60"],
                                   ["--video-codec", "h264", "-d", "{here}"]])  # fmt: skip
def test_video_flags_that_do_not_fit_are_usage_errors(tmp_path: Path, flags: list[str]) -> None:
    clip = clips.write_clip(tmp_path / "clip.mp4", clips.photo_frames(2, (64, 48)))
    flags = [f.format(here=tmp_path) for f in flags]  # -d the source's own folder
    assert main(["-s", str(clip), "-d", str(tmp_path / "out"), *FAST, *flags]) == 2
    assert not (tmp_path / "out" / "clip.mp4").exists()
    assert clips.decode(clip)[0]  # the source untouched


def test_frame_folders_take_flow_too(tmp_path: Path) -> None:
    src = tmp_path / "frames"
    src.mkdir()
    for i, f in enumerate(clips.photo_frames(4, (64, 48))):
        Image.fromarray(f).save(src / f"f{i:03d}.png")
    assert main(["-s", str(src), "-d", str(tmp_path / "out"), *FIVE, "--flow"]) == 0
    params = read_params(tmp_path / "out" / "f002.png")
    assert params is not None
    blend = params["blend"]
    assert (blend["mode"], blend["factor"], blend["flow"]["method"]) == ("constant", 0.8, "dis")
    assert blend["previous"] == "f001.png" and blend["steps_per_octave"] == 1


#: A quick style transfer (two octaves of 20 steps; the style defaults' size and steps).
STYLED = [*FAST[:5], "--octave-count", "2", "--steps-per-octave", "20", "--seed", "3"]


def test_a_styled_video_with_flow_holds_still_and_stays_styled(tmp_path: Path, lite0) -> None:
    """--style with -b --flow (Ruder et al.): each frame starts from the previous styled one
    carried along the flow, keeps its own raw frame's content, and the temporal term holds
    it where the flow is reliable: far less flicker than independent frames, and more than
    with the term off; every frame still takes on the style."""
    from dreamd import codec, engine
    from harness.styles import style_image

    clip = clips.write_clip(tmp_path / "pan.mp4", clips.photo_frames(6, (96, 64)), crf=0)
    Image.fromarray(style_image("painting", (128, 128))).save(tmp_path / "style.png")
    raw, _, _ = clips.decode(clip)
    outs = {}
    for name, extra in (("independent", []), ("flow", ["--flow"]),
                        ("off", ["--flow", "--temporal-weight", "0"])):  # fmt: skip
        dest = tmp_path / name
        args = ["-s", str(clip), "-d", str(dest), *STYLED, "--frames", "-q", *extra]
        assert main([*args, "--style", str(tmp_path / "style.png")]) == 0
        outs[name] = frames_of(dest / "pan")
    ind, flow, off = (flicker(outs[n], raw) for n in ("independent", "flow", "off"))
    assert flow < 0.3 * ind and flow < 0.6 * off, (flow, off, ind)  # measured: 6.6, 20.6, 34.3
    style = codec.to_float(style_image("painting", (128, 128)))
    params = engine.DreamParams.from_mapping({"style_max_side": 1024})

    def loss(frame: np.ndarray) -> float:
        return engine.style_distance(lite0, codec.to_float(frame), style, params)

    for k, (frame, alone, source) in enumerate(
        zip(outs["flow"], outs["independent"], raw, strict=True)
    ):
        assert loss(frame) < 0.5 * loss(source), k  # styled, as far as a frame alone is
        assert loss(frame) < 1.5 * loss(alone), k
    meta = read_params(tmp_path / "flow" / "pan" / "000004.png")
    assert meta is not None and meta["params"]["temporal_weight"] == 10.0
    assert meta["blend"]["flow"]["method"] == "dis" and meta["blend"]["steps_per_octave"] == 10
    clips.strip(raw[::2] + outs["independent"][::2] + outs["flow"][::2], tmp_path / "styled.png")


def test_styled_frame_folders_are_held_by_the_flow_too(tmp_path: Path) -> None:
    from harness.styles import style_image

    src = tmp_path / "frames"
    src.mkdir()
    for i, f in enumerate(clips.photo_frames(3, (64, 48))):
        Image.fromarray(f).save(src / f"f{i:03d}.png")
    Image.fromarray(style_image("brick", (64, 64))).save(tmp_path / "style.png")
    style = ["--style", str(tmp_path / "style.png"), "--temporal-weight", "30"]
    args = ["-s", str(src), "-d", str(tmp_path / "out"), *STYLED[:-4], "--steps-per-octave",
            "4", "--flow", *style]  # fmt: skip
    assert main(args) == 0
    params = read_params(tmp_path / "out" / "f002.png")
    assert params is not None and params["params"]["temporal_weight"] == 30.0
    blend = params["blend"]
    assert (blend["previous"], blend["flow"]["method"], blend["steps_per_octave"]) == (
        "f001.png",
        "dis",
        2,
    )
