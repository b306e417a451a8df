"""``dreamd fetch-weights`` for the Caffe networks and a daemon serving them, real processes.

The caffemodel has random weights (the real file cannot be downloaded here), written in
the 2014 layout of the published ``bvlc_googlenet.caffemodel``."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from dreamd import protocol

from ..engine import caffe_nets as cn
from .conftest import ROOT, daemon_env, make_pixels, raw_image, start_daemon


def dreamd(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "dreamd.daemon", *args],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
        cwd=ROOT,
    )


@pytest.fixture(scope="module")
def caffemodel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("caffe")
    return cn.write_caffemodel(d / "bvlc_googlenet.caffemodel", cn.random_layers(), legacy=True)


def test_installed_caffemodel_is_what_auto_serves(tmp_path: Path, caffemodel: Path) -> None:
    torch_home = tmp_path / "torch"
    env = daemon_env(tmp_path / "run", TORCH_HOME=str(torch_home))
    proc = dreamd("fetch-weights", "--from", str(caffemodel), env=env)
    assert proc.returncode == 0, proc.stderr
    assert "bvlc-googlenet" in proc.stdout
    cached = torch_home / "hub" / "checkpoints" / "bvlc_googlenet.caffemodel"
    assert cached.read_bytes() == caffemodel.read_bytes()

    daemon = start_daemon(tmp_path, extra=["--model", "auto"], env=env)
    try:
        with daemon.client() as client:
            status = client.status()
            assert status["model"] == "bvlc-googlenet"
            assert any("original DeepDream network" in n for n in status["model_notes"])
            pixels = make_pixels(64, 48, 3, "u8")
            result = client.dream(
                raw_image(pixels), {"octave_count": 1, "steps_per_octave": 1, "seed": 1}
            )
            assert result.model == "bvlc-googlenet"
            assert result.layers == ["inception_4c/output"]
        layers = dreamd("layers", "--connect", daemon.endpoint, env=env)
        assert layers.returncode == 0, layers.stderr
        assert "inception_4d/5x5_reduce" in layers.stdout and "conv2/norm2" in layers.stdout
    finally:
        daemon.terminate()


def test_refusals_write_nothing(tmp_path: Path, caffemodel: Path) -> None:
    torch_home = tmp_path / "torch"
    env = daemon_env(tmp_path / "run", TORCH_HOME=str(torch_home))
    proc = dreamd("fetch-weights", "places205-googlenet", "--from", str(caffemodel), env=env)
    assert proc.returncode == 1
    assert str(caffemodel) in proc.stderr and "--model bvlc-googlenet" in proc.stderr
    cut = tmp_path / "cut.caffemodel"
    cut.write_bytes(caffemodel.read_bytes()[:300_000])
    proc = dreamd("fetch-weights", "bvlc-googlenet", "--from", str(cut), env=env)
    assert proc.returncode == 1 and "cut short" in proc.stderr
    proc = dreamd("fetch-weights", "bvlc-googlenet", env=env)  # DREAMD_OFFLINE=1
    assert proc.returncode == 5 and "fetch-weights bvlc-googlenet" in proc.stderr
    proc = dreamd("fetch-weights", "efficientnet-lite0", env=env)
    assert proc.returncode == 2
    assert not torch_home.exists() or not any(p.is_file() for p in torch_home.rglob("*"))


def test_serve_with_a_weights_file(tmp_path: Path, caffemodel: Path) -> None:
    env = daemon_env(tmp_path / "run", TORCH_HOME=str(tmp_path / "torch"))
    daemon = start_daemon(
        tmp_path, extra=["--model", "bvlc-googlenet", "--weights", str(caffemodel)], env=env
    )
    try:
        with daemon.client() as client:
            status = client.status()
            assert status["model"] == "bvlc-googlenet"
            assert status["weights"] == str(caffemodel)
            with pytest.raises(protocol.DreamdError, match="block10"):
                client.dream(
                    raw_image(make_pixels(64, 48, 3, "u8")),
                    {"layers": ["block10"], "octave_count": 1, "steps_per_octave": 1},
                )
    finally:
        daemon.terminate()
