"""The pipeline with stand-in slots: lanes, blending, warm-up, lost daemons, resume."""

from __future__ import annotations

import io
import threading
import time
from pathlib import Path

import numpy as np
from PIL import Image

from dreamd.batch._blend import Blend, mix
from dreamd.batch._errors import Interrupted, RunnerLost
from dreamd.batch._imageio import read_image, read_params
from dreamd.batch._pipeline import Job, Pipeline, Settings, plan_lanes
from dreamd.batch._planning import plan_jobs
from dreamd.batch._progress import Display
from dreamd.batch._report import Report
from dreamd.batch._runner import DreamOutput, Runner, Slot
from dreamd.batch._sources import find_sources

from .conftest import photo, write_bad_files


class FakeSlot(Slot):
    """Dreams by pulling every colour halfway to 0.8 — deterministic and contracting."""

    def __init__(self, name: str, group: str, log: list, die_after: int | None = None,
                 delay: float = 0.0) -> None:  # fmt: skip
        self.name, self.group, self.log = name, group, log
        self.die_after, self.delay, self.count = die_after, delay, 0
        self.lock = threading.Lock()

    def dream(self, image, on_progress, cancel, bits=16):
        with self.lock:
            if self.die_after is not None and self.count >= self.die_after:
                raise RunnerLost("daemon went away")
            self.count += 1
        end = time.monotonic() + self.delay
        while time.monotonic() < end:
            if cancel.is_set():
                raise Interrupted("cancelled")
            time.sleep(0.005)
        if on_progress:
            on_progress(1, 1, 1, 1)
        self.log.append((self.name, image.copy()))
        out = image.copy()
        c = out.shape[2]
        k = c - 1 if c in (2, 4) else c
        out[:, :, :k] = 0.5 * out[:, :, :k] + 0.4
        return DreamOutput(out, {"model": "fake", "seed": 1, "params": {}}, [], 0.0)


class FakeRunner(Runner):
    kind = "fake"

    def __init__(self, slots: list[Slot], fallback: Runner | None = None) -> None:
        self._slots, self._fallback = slots, fallback
        self.notes = []
        self.description = "fake runner"

    def slots(self, per_group=None):
        if per_group is None:
            return list(self._slots)
        seen: dict[str, int] = {}
        out = []
        for s in self._slots:
            if seen.get(s.group, 0) < per_group:
                seen[s.group] = seen.get(s.group, 0) + 1
                out.append(s)
        return out

    def fallback(self):
        return self._fallback


def frames(folder: Path, n: int = 10, size=(32, 24)) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    base = photo("chelsea", size).astype(np.float32)
    for i in range(n):
        shifted = np.roll(base, i * 2, axis=1)
        Image.fromarray(shifted.astype(np.uint8)).save(folder / f"frame_{i:04d}.png")
    return folder


def run(src: Path, dest: Path, runner: Runner, blend: Blend | None = None,
        overwrite: bool = False) -> tuple[Report, io.StringIO, io.StringIO]:  # fmt: skip
    out, err = io.StringIO(), io.StringIO()
    display = Display(out, err)
    everything = plan_jobs(find_sources(str(src)).sources, dest, None)
    report = Report(display, len(everything))
    todo = []
    for job in everything:
        if job.dest.exists() and not overwrite:
            report.skipped(job.name, str(job.dest))
        else:
            todo.append(job)
    display.start(len(todo))
    Pipeline(runner, todo, everything, Settings(blend=blend), report).run()
    return report, out, err


def test_all_images_spread_over_all_slots(tmp_path):
    log: list = []
    slots = [FakeSlot(f"s{i}", f"g{i % 2}", log, delay=0.02) for i in range(4)]
    report, _, _ = run(frames(tmp_path / "in", 12), tmp_path / "out", FakeRunner(slots))
    assert report.exit_code == 0 and report.count("done") == 12
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        f"frame_{i:04d}.png" for i in range(12)
    ]
    assert len({name for name, _ in log}) == 4  # every slot worked
    assert read_params(tmp_path / "out" / "frame_0003.png")["source"] == "frame_0003.png"


def test_bad_files_are_reported_and_the_rest_is_done(tmp_path):
    src = frames(tmp_path / "in", 3)
    bad = write_bad_files(src)
    report, _out, err = run(src, tmp_path / "out", FakeRunner([FakeSlot("s", "g", [])]))
    assert report.exit_code == 1
    assert report.count("done") == 3 and report.count("failed") == len(bad)
    for name, word in bad.items():
        assert f"FAILED {name}: " in err.getvalue()
        line = next(ln for ln in err.getvalue().splitlines() if f" {name}:" in ln)
        assert word in line
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        f"frame_{i:04d}.png" for i in range(3)
    ]


def test_blend_feeds_the_previous_dreamed_frame_into_the_next_raw_frame(tmp_path):
    src = frames(tmp_path / "in", 6)
    log: list = []
    blend = Blend("random", seed=5)
    run(src, tmp_path / "out", FakeRunner([FakeSlot("s", "g", log)]), blend)
    raws = [read_image(p).pixels for p in sorted(src.iterdir())]
    assert np.array_equal(log[0][1], raws[0])  # the first frame has nothing to blend with
    prev = 0.5 * log[0][1] + 0.4
    for i in range(1, 6):
        want = mix(raws[i], prev, blend.factor_for(i))
        np.testing.assert_allclose(log[i][1], want, atol=1e-6)
        prev = 0.5 * log[i][1] + 0.4
    meta = read_params(tmp_path / "out" / "frame_0003.png")
    assert meta["blend"]["previous"] == "frame_0002.png"
    assert meta["blend"]["factor"] == round(blend.factor_for(3), 6)


def test_blend_is_reproducible_with_a_seed(tmp_path):
    src = frames(tmp_path / "in", 5)
    outs = []
    for k in range(2):
        run(src, tmp_path / f"out{k}", FakeRunner([FakeSlot("s", "g", [])]),
            Blend("gaussian", 0.3, 0.1, seed=9))  # fmt: skip
        outs.append([np.asarray(Image.open(p)) for p in sorted((tmp_path / f"out{k}").iterdir())])
    for a, b in zip(*outs, strict=True):
        np.testing.assert_array_equal(a, b)


def test_several_daemons_with_blend_get_warm_chunks_and_the_same_outputs(tmp_path):
    src = frames(tmp_path / "in", 12)
    one, many = tmp_path / "one", tmp_path / "many"
    blend = Blend("constant", factor=0.45, seed=1)
    run(src, one, FakeRunner([FakeSlot("a", "A", [])]), blend)
    log: list = []
    slots = [FakeSlot(n, n, log, delay=0.01) for n in ("a", "b", "c")]
    report, _, _ = run(src, many, FakeRunner(slots), blend)
    assert report.count("done") == 12
    names = sorted(p.name for p in one.iterdir())
    assert names == sorted(p.name for p in many.iterdir())
    # 12 frames + 3 warm-up frames for each of the 2 later chunks
    assert len(log) == 12 + 2 * 3
    worst = max(
        np.abs(
            np.asarray(Image.open(one / n), float) - np.asarray(Image.open(many / n), float)
        ).max()
        for n in names
    )
    assert worst <= 2  # chunk boundaries are as smooth as the rest (8-bit rounding aside)


def test_plan_lanes_adds_warmup_only_where_no_earlier_output_exists(tmp_path):
    src = find_sources(str(frames(tmp_path / "in", 9))).sources
    jobs = [Job(i, s, tmp_path / "out" / s.rel) for i, s in enumerate(src)]
    plans = plan_lanes(jobs, jobs, 3, blend=True, warmup=2)
    assert [[j.index for j in p] for p in plans] == [[0, 1, 2], [1, 2, 3, 4, 5], [4, 5, 6, 7, 8]]
    assert [j.warmup for j in plans[1]] == [True, True, False, False, False]
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / src[2].rel).write_bytes(b"x")  # frame 2 done: lane 2 starts from it
    plans = plan_lanes(jobs[3:], jobs, 2, blend=True, warmup=2)
    assert [[j.index for j in p] for p in plans] == [[3, 4, 5], [4, 5, 6, 7, 8]]
    assert plan_lanes(jobs, jobs, 3, blend=False, warmup=2) == [jobs]


def test_resume_skips_existing_outputs_and_blends_from_the_last_one(tmp_path):
    src = frames(tmp_path / "in", 6)
    out = tmp_path / "out"
    blend = Blend("constant", factor=0.4, seed=2)
    run(src, out, FakeRunner([FakeSlot("s", "g", [])]), blend)
    first = {p.name: np.asarray(Image.open(p)) for p in out.iterdir()}
    for p in sorted(out.iterdir())[3:]:
        p.unlink()
    log: list = []
    report, _, _ = run(src, out, FakeRunner([FakeSlot("s", "g", log)]), blend)
    assert report.count("skipped") == 3 and report.count("done") == 3 and len(log) == 3
    for name, pixels in first.items():
        diff = np.abs(np.asarray(Image.open(out / name), float) - pixels).max()
        assert diff <= 1, name  # the previous frame came back from its 8-bit file
    assert read_params(out / "frame_0003.png")["blend"]["previous"] == "frame_0002.png"


def test_a_lost_daemon_hands_its_images_to_the_others(tmp_path):
    log: list = []
    slots = [FakeSlot("ok", "A", log, delay=0.02), FakeSlot("dying", "B", log, die_after=1)]
    report, _, err = run(frames(tmp_path / "in", 8), tmp_path / "out", FakeRunner(slots))
    assert report.exit_code == 0 and report.count("done") == 8
    assert "B lost" in err.getvalue()


def test_a_lost_daemon_with_blend_hands_over_its_chunk(tmp_path):
    log: list = []
    slots = [FakeSlot("ok", "A", log, delay=0.01), FakeSlot("dying", "B", log, die_after=2)]
    report, _, _ = run(frames(tmp_path / "in", 8), tmp_path / "out", FakeRunner(slots),
                       Blend("constant", 0.3, seed=1))  # fmt: skip
    assert report.exit_code == 0 and report.count("done") == 8


def test_all_daemons_lost_falls_back_or_stops_cleanly(tmp_path):
    src = frames(tmp_path / "in", 5)
    backup = FakeRunner([FakeSlot("embedded", "E", [])])
    dead = FakeRunner([FakeSlot("d", "D", [], die_after=2)], fallback=backup)
    report, out, _ = run(src, tmp_path / "a", dead)
    assert report.exit_code == 0 and report.count("done") == 5
    assert "continuing with fake runner" in out.getvalue()

    report, _, err = run(src, tmp_path / "b", FakeRunner([FakeSlot("d", "D", [], die_after=2)]))
    assert report.exit_code == 1 and report.count("done") == 2 and report.left == 3
    assert "no dream runner left" in err.getvalue()
    assert len(list((tmp_path / "b").iterdir())) == 2  # and nothing half-written


def test_a_full_disk_stops_the_batch_once_with_a_clear_error(tmp_path, monkeypatch):
    # The real thing (a tmpfs filling up) is in tests/reliability; here the fourth write
    # fails as a full disk does, and nothing after it is dreamed only to fail the same way.
    import errno

    from dreamd.batch import _pipeline
    from dreamd.batch._errors import WriteFailed

    real = _pipeline.write_image
    writes = {"n": 0}

    def write(image, info, dest, **kw):
        writes["n"] += 1
        if writes["n"] >= 4:
            raise WriteFailed(dest, "cannot write: OSError: No space left", errno.ENOSPC)
        return real(image, info, dest, **kw)

    monkeypatch.setattr(_pipeline, "write_image", write)
    log: list = []
    report, _, err = run(frames(tmp_path / "in", 20), tmp_path / "out",
                         FakeRunner([FakeSlot("s", "g", log, delay=0.01)]))  # fmt: skip
    assert report.exit_code == 1
    assert "the disk is full" in err.getvalue() and err.getvalue().count("disk is full") == 1
    assert report.count("done") == 3 and report.left > 10 and len(log) < 10
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        f"frame_{i:04d}.png" for i in range(3)
    ]
