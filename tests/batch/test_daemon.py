"""dream-batch against real dreamd processes: one, two, a dying one, the default endpoint."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from dreamd.batch import _connect, _daemon
from dreamd.batch._errors import UsageError
from dreamd.batch._imageio import read_params
from dreamd.batch.cli import main

from .conftest import QUICK, ROOT, photo

protocol = pytest.importorskip("dreamd.protocol")


DREAMD = [sys.executable, "-m", "dreamd.daemon", "serve"]
DREAMD_MODEL = ["--model", "efficientnet-lite0", "--device", "cpu"]


class Dreamd:
    """A ``dreamd serve`` process on an ipc endpoint in a short private folder."""

    def __init__(self, folder: Path, name: str) -> None:
        self.endpoint = f"ipc://{folder}/{name}.sock"
        self.log = folder / f"{name}.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> Dreamd:
        env = {**os.environ, "DREAMD_OFFLINE": "1"}
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(
                [*DREAMD, "--bind", self.endpoint, *DREAMD_MODEL],
                cwd=ROOT,
                env=env,
                stdout=log,
                stderr=log,
                stdin=subprocess.DEVNULL,
            )
        return self

    def wait_ready(self, timeout: float = 180) -> Dreamd:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.proc is not None
            if self.proc.poll() is not None:
                pytest.fail(f"dreamd exited: {self.log.read_text()[-2000:]}")
            try:
                with protocol.Client(
                    self.endpoint, timeout=protocol.Timeout(connect=1, reply=2), retries=0
                ) as c:
                    c.hello()
                return self
            except protocol.ClientError:
                time.sleep(0.3)
        pytest.fail(f"dreamd did not answer in {timeout} s: {self.log.read_text()[-2000:]}")

    def status(self) -> dict:
        with protocol.Client(self.endpoint, timeout=protocol.Timeout(connect=2, reply=5)) as c:
            return c.status()

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(30)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()


@pytest.fixture(scope="module")
def short_dir() -> Iterator[Path]:
    folder = Path(tempfile.mkdtemp(prefix="dbd"))  # ipc paths must stay short
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="module")
def two_daemons(short_dir: Path) -> Iterator[tuple[Dreamd, Dreamd]]:
    a, b = Dreamd(short_dir, "a").start(), Dreamd(short_dir, "b").start()
    try:
        yield a.wait_ready(), b.wait_ready()
    finally:
        a.stop()
        b.stop()


@pytest.fixture
def frames(tmp_path: Path) -> Path:
    src = tmp_path / "frames"
    src.mkdir()
    base = photo("chelsea")
    for i in range(6):
        Image.fromarray(np.roll(base, 3 * i, axis=1)).save(src / f"{i:03d}.png")
    return src


def _pixels(folder: Path) -> dict[str, np.ndarray]:
    return {p.name: np.asarray(Image.open(p)) for p in sorted(folder.iterdir())}


def test_one_daemon_dreams_exactly_like_the_embedded_engine(two_daemons, frames, tmp_path, capsys):
    a, _ = two_daemons
    assert main(["-s", str(frames), "-d", str(tmp_path / "emb"), *QUICK, "--embedded"]) == 0
    capsys.readouterr()
    assert main(["-s", str(frames), "-d", str(tmp_path / "dmn"), *QUICK,
                 "--connect", a.endpoint, "--json"]) == 0  # fmt: skip
    summary = json.loads(capsys.readouterr().out)
    assert summary["runner"].startswith(f"daemon at {a.endpoint}")
    emb, dmn = _pixels(tmp_path / "emb"), _pixels(tmp_path / "dmn")
    assert emb.keys() == dmn.keys()
    for name in emb:
        np.testing.assert_array_equal(emb[name], dmn[name], err_msg=name)
    meta = read_params(tmp_path / "dmn" / "002.png")
    assert meta["runner"] == "daemon" and meta["daemon"] == a.endpoint and meta["seed"] == 3


def test_several_daemons_share_the_work_and_give_the_same_outputs(two_daemons, frames, tmp_path):
    a, b = two_daemons
    before = [d.status()["jobs"]["done"] for d in (a, b)]
    args = ["-s", str(frames), *QUICK, "-q"]
    assert main([*args, "-d", str(tmp_path / "one"), "--connect", a.endpoint]) == 0
    assert main([*args, "-d", str(tmp_path / "two"), "--connect", a.endpoint,
                 "--connect", b.endpoint]) == 0  # fmt: skip
    one, two = _pixels(tmp_path / "one"), _pixels(tmp_path / "two")
    assert one.keys() == two.keys()
    for name in one:
        np.testing.assert_array_equal(one[name], two[name], err_msg=name)
    after = [d.status()["jobs"]["done"] for d in (a, b)]
    assert after[1] > before[1]  # b did some of the second batch
    used = {read_params(tmp_path / "two" / n)["daemon"] for n in two}
    assert used == {a.endpoint, b.endpoint}


def test_blend_over_two_daemons_gives_the_same_set_of_frames(two_daemons, frames, tmp_path):
    a, b = two_daemons
    args = ["-s", str(frames), *QUICK, "-q", "-b", "--blend-mode", "constant"]
    assert main([*args, "-d", str(tmp_path / "one"), "--connect", a.endpoint]) == 0
    assert main([*args, "-d", str(tmp_path / "two"), "--connect", a.endpoint,
                 "--connect", b.endpoint]) == 0  # fmt: skip
    assert sorted(os.listdir(tmp_path / "one")) == sorted(os.listdir(tmp_path / "two"))
    metas = [read_params(tmp_path / "two" / n) for n in sorted(os.listdir(tmp_path / "two"))]
    assert {m["daemon"] for m in metas} == {a.endpoint, b.endpoint}
    assert all(m["blend"]["previous"] for m in metas[1:])


def test_runner_keeps_two_jobs_in_flight_per_device_and_checks_layers(two_daemons):
    a, _ = two_daemons
    d = _daemon.connect(a.endpoint)
    try:
        runner = _daemon.DaemonRunner([d], {"octave_count": 2})
        assert len(runner.slots()) == 2 * d.devices
        assert len(runner.slots(per_group=1)) == 1
        with pytest.raises(Exception, match="block1"):
            _daemon.DaemonRunner([d], {"layers": ["blok10"]})
        # The engine's rules over the catalogue the daemon described: every layer field.
        with pytest.raises(UsageError, match=r"^style_layers: .*Did you mean: .*block4"):
            _daemon.DaemonRunner([d], {"style_layers": ["blok4"]})
        with pytest.raises(UsageError, match=r"^layers\[0\]\.channels: .*block10 has \d+ channels"):
            _daemon.DaemonRunner([d], {"layers": ["block10:99999"]})
        with pytest.raises(Exception, match="restart it"):
            _daemon.DaemonRunner([d], {}, model="googlenet")
    finally:
        d.client.close()


def test_unreachable_daemons_are_skipped_or_stop_the_batch(two_daemons, frames, tmp_path, capsys):
    a, _ = two_daemons
    nowhere = f"ipc://{tempfile.gettempdir()}/no-such-dreamd.sock"
    code = main(["-s", str(frames), "-d", str(tmp_path / "o"), *QUICK,
                 "--connect", nowhere, "--connect", a.endpoint])  # fmt: skip
    out = capsys.readouterr().out
    assert code == 0 and "skipping a daemon" in out
    code = main(["-s", str(frames), "-d", str(tmp_path / "p"), *QUICK, "--connect", nowhere])
    assert code == 1 and "no daemon answers" in capsys.readouterr().err
    assert not (tmp_path / "p").exists()


@pytest.fixture
def fast_give_up(monkeypatch):
    """Lose a dead daemon within seconds instead of the production half-minute."""
    monkeypatch.setattr(_daemon, "REPLY_TIMEOUT", 2.0)
    monkeypatch.setattr(_daemon, "CONNECT_TIMEOUT", 2.0)
    monkeypatch.setattr(_daemon, "RETRIES", 1)


def _kill_after_first_output(daemon: Dreamd, folder: Path) -> threading.Thread:
    def watch() -> None:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if folder.exists() and any(not p.name.startswith(".") for p in folder.iterdir()):
                daemon.kill()
                return
            time.sleep(0.02)

    t = threading.Thread(target=watch, daemon=True)
    t.start()
    return t


BATCH = [sys.executable, "-m", "dreamd.batch"]
SLOW = ["--model", "efficientnet-lite0", "--octave-count", "2", "--steps-per-octave", "25",
        "--seed", "3"]  # fmt: skip


def test_a_dying_daemon_stops_cleanly_and_the_rerun_resumes(
    short_dir, frames, tmp_path, capsys, fast_give_up
):
    d = Dreamd(short_dir, "dying").start().wait_ready()
    dest = tmp_path / "out"
    try:
        watcher = _kill_after_first_output(d, dest)
        code = main(["-s", str(frames), "-d", str(dest), *SLOW, "--connect", d.endpoint])
        watcher.join(5)
    finally:
        d.kill()
    err = capsys.readouterr().err
    assert code == 1, err
    assert "no dream runner left" in err
    done = sorted(os.listdir(dest))
    assert 1 <= len(done) < 6 and all(not n.startswith(".") for n in done)
    for n in done:
        Image.open(dest / n).load()
    assert main(["-s", str(frames), "-d", str(dest), *QUICK, "--embedded", "-q"]) == 0
    assert len(os.listdir(dest)) == 6


def test_the_local_default_daemon_dying_hands_over_to_the_embedded_engine(
    short_dir, frames, tmp_path, capsys, monkeypatch, fast_give_up
):
    d = Dreamd(short_dir, "default").start().wait_ready()
    monkeypatch.setenv("DREAMD_ENDPOINT", d.endpoint)
    assert _connect._default_endpoint() == d.endpoint
    dest = tmp_path / "out"
    try:
        watcher = _kill_after_first_output(d, dest)
        code = main(["-s", str(frames), "-d", str(dest), *SLOW])
        watcher.join(5)
    finally:
        d.kill()
    out = capsys.readouterr().out
    assert code == 0, out
    assert f"with the daemon at {d.endpoint}" in out.splitlines()[0]
    assert "continuing with embedded engine" in out
    assert sorted(os.listdir(dest)) == [f"{i:03d}.png" for i in range(6)]
    runners = {read_params(dest / n)["runner"] for n in os.listdir(dest)}
    assert runners == {"daemon", "embedded"}


def test_no_default_daemon_means_embedded(frames, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("DREAMD_ENDPOINT", f"ipc://{tempfile.gettempdir()}/absent-dreamd.sock")
    assert main(["-s", str(frames), "-d", str(tmp_path / "o"), *QUICK]) == 0
    assert "embedded engine" in capsys.readouterr().out.splitlines()[0]


def test_ctrl_c_cancels_the_daemons_jobs(two_daemons, frames, tmp_path):
    _, b = two_daemons
    before = b.status()["jobs"]
    env = {**os.environ, "DREAMD_OFFLINE": "1", "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [
            *BATCH,
            "-s",
            str(frames),
            "-d",
            str(tmp_path / "o"),
            *SLOW[:-2],
            "--steps-per-octave",
            "200",
            "--connect",
            b.endpoint,
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not b.status()["running"]:
            time.sleep(0.1)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, err
    assert "To resume" in err
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and b.status()["running"]:
        time.sleep(0.1)
    status = b.status()
    assert not status["running"] and status["queue"] == 0
    assert status["jobs"]["cancelled"] > before["cancelled"]
    assert not any(p.name.startswith(".") for p in (tmp_path / "o").glob("*"))


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_curve_keys_reach_a_daemon_that_requires_them(short_dir, frames, tmp_path, capsys,
                                                       fast_give_up):  # fmt: skip
    keys = short_dir / "curve"
    subprocess.run([*DREAMD[:-1], "keygen", "--curve-dir", str(keys), "--client", "batch"],
                   cwd=ROOT, check=True, capture_output=True)  # fmt: skip
    d = Dreamd(short_dir, "curve")
    d.endpoint = f"tcp://127.0.0.1:{_free_port()}"
    env = {**os.environ, "DREAMD_OFFLINE": "1"}
    with open(d.log, "ab") as log:
        d.proc = subprocess.Popen(
            [*DREAMD, "--bind", d.endpoint, "--curve-dir", str(keys), *DREAMD_MODEL],
            cwd=ROOT, env=env, stdout=log, stderr=log, stdin=subprocess.DEVNULL,
        )  # fmt: skip
    try:
        # wait for the port, then talk with the keys
        curve = protocol.CurveKeys.from_files(
            keys / "server.key", keys / "clients/batch.key_secret"
        )
        deadline = time.monotonic() + 180
        while True:
            try:
                with protocol.Client(d.endpoint, timeout=protocol.Timeout(connect=1, reply=2),
                                     retries=0, curve=curve) as c:  # fmt: skip
                    c.hello()
                break
            except protocol.ClientError:
                assert time.monotonic() < deadline, d.log.read_text()[-2000:]
                time.sleep(0.3)
        with_keys = ["--server-key", str(keys / "server.key"),
                     "--client-key", str(keys / "clients" / "batch.key_secret")]  # fmt: skip
        code = main(["-s", str(frames), "-d", str(tmp_path / "o"), *QUICK, "-q",
                     "--connect", d.endpoint, *with_keys])  # fmt: skip
        assert code == 0, capsys.readouterr().err
        assert len(os.listdir(tmp_path / "o")) == 6
        assert read_params(tmp_path / "o" / "000.png")["daemon"] == d.endpoint
        code = main(["-s", str(frames), "-d", str(tmp_path / "p"), *QUICK, "--connect", d.endpoint])
        assert code == 1 and "no daemon answers" in capsys.readouterr().err
    finally:
        d.stop()


def test_list_layers_asks_the_daemon(two_daemons, capsys):
    a, _ = two_daemons
    assert main(["--list-layers", "--connect", a.endpoint, "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert listed["model"] == "efficientnet-lite0"
    assert listed["default"] in [lay["name"] for lay in listed["layers"]]


def test_a_daemon_too_old_for_what_is_asked_is_told_before_the_first_image():
    """Several styles and the 1.1 style flags need protocol 1.1; --style with --flow and
    --temporal-weight need 1.2: said up front, naming the flags, not refused frame by frame."""

    class OldClient:
        def __init__(self, minor: int) -> None:
            self.minor = minor

        def speaks(self, version: tuple[int, int]) -> bool:
            return version <= (1, self.minor)

    def daemon(minor: int) -> _daemon.Daemon:
        return _daemon.Daemon("ipc://old", OldClient(minor), "efficientnet-lite0", 1, [], "", "x")

    pixels = np.zeros((8, 8, 3), np.float32)
    with pytest.raises(UsageError, match=r"protocol 1\.1 or older: --style with --flow need"):
        _daemon.DaemonRunner([daemon(1)], {}, style=pixels, video_frames=True)
    with pytest.raises(UsageError, match="--temporal-weight"):
        _daemon.DaemonRunner([daemon(1)], {"temporal_weight": 3.0}, style=pixels)
    with pytest.raises(UsageError, match=r"protocol 1\.0: --keep-colors"):
        _daemon.DaemonRunner([daemon(0)], {"keep_colors": True}, style=pixels)
    _daemon.DaemonRunner([daemon(2)], {"temporal_weight": 3.0}, style=pixels, video_frames=True)
