"""dream-batch end to end: the real engine on real and odd images, exit codes, Ctrl-C."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from dreamd.batch._imageio import read_image, read_params
from dreamd.batch.cli import main

from .conftest import QUICK, ROOT, photo, run_cli, write_bad_files, write_odd_images


def _names(folder: Path) -> list[str]:
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())


def test_odd_images_all_come_out_like_their_inputs(tmp_path, capsys):
    src = tmp_path / "in"
    expect = write_odd_images(src)
    code = main(["-s", str(src), "-d", str(tmp_path / "out"), *QUICK])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "embedded engine: efficientnet-lite0 on cpu" in out.splitlines()[0]
    assert _names(tmp_path / "out") == sorted(expect)
    for name, want in expect.items():
        back = read_image(tmp_path / "out" / name)
        orig = read_image(src / name)
        assert back.info.size == want["size"], name
        assert (back.info.mode, back.info.depth) == (orig.info.mode, orig.info.depth), name
        assert back.info.channels == orig.info.channels, name
        meta = read_params(tmp_path / "out" / name)
        if not name.endswith(".bmp"):
            assert meta is not None and meta["source"] == name, name
            assert meta["model"] == "efficientnet-lite0" and meta["seed"] == 3
            assert meta["params"]["steps_per_octave"] == 2
        if "alpha" in want:
            alpha = np.asarray(Image.open(tmp_path / "out" / name).convert("RGBA"))[:, :, 3]
            np.testing.assert_array_equal(alpha, want["alpha"], err_msg=name)
    dreamed = read_image(tmp_path / "out" / "rgb.jpg").pixels
    assert np.abs(dreamed - read_image(src / "rgb.jpg").pixels).mean() > 2 / 255


def test_resume_skips_existing_outputs_and_overwrite_redoes_them(photos, tmp_path, capsys):
    dest = tmp_path / "out"
    assert main(["-s", str(photos), "-d", str(dest), *QUICK]) == 0
    stamps = {p.name: p.stat().st_mtime_ns for p in dest.iterdir()}
    (dest / "b_astronaut.png").unlink()
    capsys.readouterr()
    assert main(["-s", str(photos), "-d", str(dest), *QUICK, "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert (summary["done"], summary["skipped"], summary["failed"]) == (1, 2, 0)
    assert [i["source"] for i in summary["images"] if i["status"] == "done"] == ["b_astronaut.png"]
    for name in ("a_chelsea.jpg", "c_coffee.jpg"):
        assert (dest / name).stat().st_mtime_ns == stamps[name]
    assert main(["-s", str(photos), "-d", str(dest), *QUICK, "--overwrite", "-q"]) == 0
    assert all((dest / n).stat().st_mtime_ns != stamps[n] for n in ("a_chelsea.jpg",))


def test_nothing_to_do_needs_no_model(photos, tmp_path, capsys, monkeypatch):
    dest = tmp_path / "out"
    dest.mkdir()
    for p in photos.iterdir():
        (dest / p.name).write_bytes(b"done before")

    def no_model(*a, **k):
        raise AssertionError("the model was loaded")

    monkeypatch.setattr("dreamd.batch._connect.choose_runner", no_model)
    assert main(["-s", str(photos), "-d", str(dest), *QUICK]) == 0
    assert "outputs exist already" in capsys.readouterr().out


def test_format_quality_recursive_guide_and_blend(tmp_path, capsys):
    src = tmp_path / "in"
    (src / "sub").mkdir(parents=True)
    Image.fromarray(photo("chelsea")).save(src / "a.png")
    Image.fromarray(photo("coffee")).save(src / "sub" / "b.jpg")
    guide = tmp_path / "guide.tif"
    Image.fromarray(photo("astronaut", (96, 96))).save(guide)
    dest = tmp_path / "out"
    flags = ["--recursive", "--format", "webp", "--quality", "70", "-g", str(guide), "-b",
             "--blend-mode", "gaussian"]  # fmt: skip
    code = main(["-s", str(src), "-d", str(dest), *QUICK, *flags])
    assert code == 0, capsys.readouterr()
    assert _names(dest) == ["a.webp", "sub/b.webp"]
    meta = read_params(dest / "sub" / "b.webp")
    assert meta["guide"] == "guide.tif"
    assert meta["blend"]["mode"] == "gaussian" and meta["blend"]["previous"] == "a.png"


def test_list_layers(capsys):
    assert main(["--list-layers", "--model", "efficientnet-lite0", "--device", "cpu"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("efficientnet-lite0 (default layer: ")
    assert main(["--list-layers", "--model", "efficientnet-lite0", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert listed["default"] in [lay["name"] for lay in listed["layers"]]


def test_usage_errors_exit_2_without_touching_anything(photos, tmp_path, capsys):
    dest = tmp_path / "out"
    for args, word in [
        (["-s", str(photos)], "required"),
        (["-s", str(tmp_path / "nope"), "-d", str(dest)], "does not exist"),
        (["-s", str(photos), "-d", str(dest), *QUICK, "-m", "blok10"], "block1"),
        (["-s", str(photos), "-d", str(dest), *QUICK, "--octave-scale", "9"], "octave_scale"),
        (["-s", str(photos), "-d", str(dest), *QUICK, "-g", str(tmp_path / "g.png")], "guide"),
        (["-s", str(photos), "-d", str(photos)], "overwritten by its own result"),
        (["-s", str(photos), "-d", str(dest), "-b", "--blend-factor", "2"], "blend-factor"),
    ]:
        assert main(args) == 2, args
        assert word in capsys.readouterr().err, args
    assert not dest.exists()


def test_exit_codes_through_the_command(photos, tmp_path):
    r = run_cli(["--version"])
    assert r.returncode == 0 and r.stdout.startswith("dream-batch ")
    r = run_cli(["-s", str(photos), "-d", str(tmp_path / "o"), "--quality", "500"])
    assert r.returncode == 2 and "--quality" in r.stderr
    write_bad_files(photos)
    r = run_cli(["-s", str(photos), "-d", str(tmp_path / "o"), *QUICK, "--json"])
    assert r.returncode == 1, r.stderr
    summary = json.loads(r.stdout)  # stdout holds nothing but the JSON
    assert (summary["done"], summary["failed"]) == (3, 4)
    assert "FAILED truncated.jpg: cannot decode" in r.stderr
    assert _names(tmp_path / "o") == ["a_chelsea.jpg", "b_astronaut.png", "c_coffee.jpg"]


def test_ctrl_c_leaves_no_partial_file_and_the_same_command_resumes(tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    for i, name in enumerate(["chelsea", "coffee", "astronaut", "rocket", "chelsea", "coffee"]):
        Image.fromarray(np.roll(photo(name), i * 5, axis=1)).save(src / f"f{i}.png")
    dest = tmp_path / "out"
    args = ["-s", str(src), "-d", str(dest), "--model", "efficientnet-lite0", "--device",
            "cpu", "--octave-count", "2", "--steps-per-octave", "40", "--seed", "1"]  # fmt: skip
    env = {**os.environ, "DREAMD_OFFLINE": "1", "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "dreamd.batch", *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            if line.startswith("[1/6]") or not line:
                break
        time.sleep(0.3)  # into the middle of the next image
        proc.send_signal(signal.SIGINT)
        _out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, err
    assert "To resume, run the same command again" in err
    assert "dream-batch -s " in err
    written = _names(dest)
    assert 1 <= len(written) < 6
    assert not [n for n in written if not n.endswith(".png") or n.startswith(".")]
    for n in written:
        Image.open(dest / n).load()  # every file there is complete
    r = run_cli(args, timeout=300)
    assert r.returncode == 0, r.stderr
    assert _names(dest) == [f"f{i}.png" for i in range(6)]
    assert f"{len(written)} already done, skipped" in r.stdout


@pytest.mark.parametrize("flag", ["--quiet", "--json"])
def test_quiet_and_json_keep_stdout_clean(photos, tmp_path, capsys, flag):
    assert main(["-s", str(photos), "-d", str(tmp_path / "o"), *QUICK, flag]) == 0
    out = capsys.readouterr().out
    if flag == "--quiet":
        assert out == ""
    else:
        assert json.loads(out)["done"] == 3


def test_png_missing_rows_fails_by_name_and_the_rest_are_dreamed(tmp_path, capsys):
    """Pillow would decode it with its last rows black; dream-batch refuses it instead."""
    from tests.codec.test_png import png_with_rows

    src, dest = tmp_path / "in", tmp_path / "out"
    src.mkdir()
    Image.fromarray(photo()).save(src / "good.png")
    (src / "short.png").write_bytes(png_with_rows(64, 48, 20))
    assert main(["-s", str(src), "-d", str(dest), *QUICK, "--json"]) == 1
    out = capsys.readouterr()
    summary = json.loads(out.out)
    assert (summary["done"], summary["failed"]) == (1, 1)
    assert "short.png" in out.err and "truncated" in out.err
    assert _names(dest) == ["good.png"]
