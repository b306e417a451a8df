"""The parts of dream-batch's video support on their own: the flow mask and the carried
detail, reading videos, the working folder, lanes, the chain's steps, the zoom."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from dreamd.batch._blend import Blend
from dreamd.batch._chain import Chain
from dreamd.batch._errors import UnreadableImage
from dreamd.batch._flow import MAX_CARRY, FlowEstimator, carry, flicker, warp
from dreamd.batch._video_io import FrameReader, probe
from dreamd.batch._video_lanes import plan_lanes
from dreamd.batch._video_work import WorkFolder
from dreamd.batch._zoom import zoom
from harness import clips


def shifted(image: np.ndarray, dx: int) -> np.ndarray:
    """``image`` moved ``dx`` pixels right; the columns uncovered on the left are new."""
    out = np.roll(image, dx, axis=1)
    out[:, :dx] = np.flip(image[:, :dx], axis=0)  # content from outside the frame
    return out


@pytest.fixture(scope="module")
def frame() -> np.ndarray:
    return clips.photo_frames(1, (96, 64))[0]


def test_flow_follows_the_motion_and_trusts_nothing_from_outside_the_frame(frame) -> None:
    nxt = shifted(frame, 3)
    motion = FlowEstimator().motion(frame, nxt)
    xs = np.arange(96, dtype=np.float32)[None, :]
    inner = (slice(8, -8), slice(12, -8))
    assert np.abs(motion.map_x - (xs - 3))[inner].mean() < 0.3
    assert not motion.reliable[:, :3].any()  # came from outside the frame
    assert motion.reliable[inner].mean() > 0.9
    assert (motion.weight <= motion.reliable).all()  # the soft edge stays inside


def test_flow_does_not_trust_what_a_moving_object_uncovers() -> None:
    rng = np.random.default_rng(0)
    back = (rng.random((64, 96, 3)) * 255).astype(np.uint8)
    back = np.asarray(
        __import__("cv2").GaussianBlur(back, (0, 0), 1.5), dtype=np.uint8
    )  # texture the flow can follow
    square = np.full((20, 20, 3), (250, 30, 30), np.uint8)
    a, b = back.copy(), back.copy()
    a[22:42, 30:50] = square
    b[22:42, 38:58] = square  # the square moved 8 px right
    motion = FlowEstimator().motion(a, b)
    uncovered = motion.reliable[24:40, 31:37]  # background that was under the square
    assert uncovered.mean() < 0.5
    assert motion.reliable[5:15, 10:80].mean() > 0.9  # the still background is fine


def test_carried_detail_moves_with_the_picture_and_is_a_share_of_it(frame) -> None:
    raw0 = frame.astype(np.float32) / 255
    raw1 = shifted(frame, 3).astype(np.float32) / 255
    detail = np.zeros_like(raw0)
    detail[30:34, 40:44] = 0.2  # a dreamed spot
    motion = FlowEstimator().motion(raw0, raw1)
    out = carry(raw1, raw0, np.clip(raw0 + detail, 0, 1), motion, 0.5)
    added = (out - raw1)[:, :, 0]
    assert added[30:34, 43:47].mean() == pytest.approx(0.1, abs=0.02)  # moved 3 px, halved
    assert np.abs(added[30:34, 36:40]).mean() < 0.01  # not left behind
    full = carry(raw1, raw0, np.clip(raw0 + detail, 0, 1), motion, 1.0)
    assert (full - raw1)[30:34, 44:46, 0].mean() == pytest.approx(0.2 * MAX_CARRY, abs=0.03)


def test_flicker_is_near_zero_for_a_smooth_pan_and_high_for_noise(frame) -> None:
    pan = clips.photo_frames(6, (96, 64), step=2)
    assert flicker(pan, pan) < 0.5
    # half pixels: two resamplings (the clip's and the warp's) differ a little
    assert flicker(*[clips.photo_frames(6, (96, 64), step=1.5)] * 2) < 2.5
    rng = np.random.default_rng(0)
    noisy = [np.clip(f + rng.normal(0, 10, f.shape), 0, 255).astype(np.uint8) for f in pan]
    assert flicker(noisy, pan) > 8
    moved = warp(frame.astype(np.float32), FlowEstimator().motion(frame, shifted(frame, 2)))
    assert np.abs(moved[:, 10:-4] - shifted(frame, 2)[:, 10:-4]).mean() < 2


def test_probe_keeps_every_timestamp_and_the_reader_starts_anywhere(tmp_path: Path) -> None:
    pts = [0, 33, 66, 150, 183, 300, 333]
    frames = clips.photo_frames(7, (64, 48))
    clip = clips.write_clip(tmp_path / "v.mp4", frames, pts=pts, time_base=Fraction(1, 1000))
    info = probe(clip, 10**7)
    assert info.frames == 7 and (info.width, info.height) == (64, 48)
    assert [p * info.time_base for p in info.pts] == [Fraction(p, 1000) for p in pts]
    assert info.copied == ("audio aac",) and info.seekable
    whole = list(FrameReader(info))
    tail = list(FrameReader(info, 4))
    assert [i for i, _ in whole] == list(range(7)) and [i for i, _ in tail] == [4, 5, 6]
    for (i, a), (j, b) in zip(whole[4:], tail, strict=True):
        assert i == j and np.array_equal(a, b)


def test_probe_refuses_what_is_not_a_whole_video(tmp_path: Path) -> None:
    cut = clips.truncate(clips.write_clip(tmp_path / "cut.mp4", clips.photo_frames(8, (64, 48))))
    with pytest.raises(UnreadableImage, match="truncated"):
        probe(cut, 10**7)
    with pytest.raises(UnreadableImage, match="no video stream"):
        probe(clips.audio_only(tmp_path / "a.mp4"), 10**7)
    (tmp_path / "e.mp4").write_bytes(b"")
    with pytest.raises(UnreadableImage, match="empty"):
        probe(tmp_path / "e.mp4", 10**7)


def test_working_folder_resumes_only_what_the_same_settings_made(tmp_path: Path) -> None:
    rgb = np.zeros((8, 8, 3), np.uint8)
    work = WorkFolder(tmp_path / "w", {"params": 1}, keep=False)
    assert work.open() is None
    work.write(0, rgb, text='{"tool": "dream-batch"}')
    work.write(1, rgb)
    seed = work.remember("seed", 11)
    again = WorkFolder(tmp_path / "w", {"params": 1}, keep=False)
    again.open()
    assert again.count == 2 and again.remember("seed", 99) == seed
    other = WorkFolder(tmp_path / "w", {"params": 2}, keep=False)
    assert "2 frame(s) dreamed earlier" in (other.open() or "")
    assert other.count == 0 and other.remember("seed", 99) == 99
    (tmp_path / "w" / "000001.png").write_bytes(b"\x89PNG broken")
    other._done.add(0)
    with pytest.raises(UnreadableImage, match="damaged"):
        other.read(0)
    assert not other.done(0)  # dreamed again next time
    other.finish()
    assert not (tmp_path / "w").exists()


def test_lanes_are_contiguous_and_start_warm(tmp_path: Path) -> None:
    work = WorkFolder(tmp_path / "w", {}, keep=True)
    work.open()
    assert plan_lanes(12, work, 3, chained=True, warmup=3) == [
        (0, 0, 4), (1, 4, 8), (5, 8, 12)
    ]  # fmt: skip
    for i in range(5):
        work.write(i, np.zeros((4, 4, 3), np.uint8))
    # frames 0-4 dreamed: the first lane starts from frame 4, dreamed already
    assert plan_lanes(12, work, 2, chained=True, warmup=3) == [(4, 5, 9), (6, 9, 12)]
    assert plan_lanes(12, work, 2, chained=False, warmup=3) == [(5, 5, 12)]


def test_flow_frames_add_one_frame_share_of_dream() -> None:
    chain = Chain(Blend("constant", 0.8), flow="dis", steps=10, step_size=1.5)
    assert chain.overrides_for(0.8) == {"steps_per_octave": 2}
    small = Chain(Blend("constant", 0.8), flow="dis", steps=2, step_size=1.5)
    assert small.overrides_for(0.8) == {"steps_per_octave": 1, "step_size": 0.6}
    assert Chain(Blend(), steps=10).overrides_for(0.3) is None  # -b alone: all steps
    chosen = Chain(Blend(), flow="dis", steps=10, steps_after_first=4)
    assert chosen.overrides_for(0.8) == {"steps_per_octave": 4}


def test_zoom_magnifies_around_the_centre() -> None:
    img = np.zeros((61, 81, 3), np.uint8)
    img[30, 60] = 255  # 20 px right of the centre (40, 30)
    out = zoom(img, 1.5, 0.0)
    y, x = np.unravel_index(np.argmax(out[:, :, 0]), out.shape[:2])
    assert (y, x) == (30, 70)  # now 30 px right
    turned = zoom(img, 1.0, 90.0)  # a quarter turn counter-clockwise
    y, x = np.unravel_index(np.argmax(turned[:, :, 0]), turned.shape[:2])
    assert (y, x) == (10, 40)


def test_the_sample_clip_is_two_seconds_with_sound(tmp_path: Path) -> None:
    from dreamd.batch.samples import write_clip

    frames, times, facts = clips.decode(write_clip(tmp_path))
    assert len(frames) == 48 and times[-1] == Fraction(47, 24)
    assert facts["size"] == (320, 180) and facts["audio_codecs"] == ["aac"]


def test_an_encoder_the_container_cannot_hold_is_refused_before_dreaming() -> None:
    from dreamd.batch._errors import UsageError
    from dreamd.batch._video_write import check_container

    check_container("libx264", ".mp4")
    check_container("libvpx-vp9", ".webm")
    with pytest.raises(UsageError, match="cannot hold h264"):
        check_container("libx264", ".webm")
