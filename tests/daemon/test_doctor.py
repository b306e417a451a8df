"""``dreamd doctor``: each line says what is here and, when something is missing or broken,
what to do; the exit status is 1 only when something is broken."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest

from dreamd.daemon.cli import main
from dreamd.engine.models import googlenet
from dreamd.gimp import installer
from harness.weights import random_weights

from .conftest import Daemon


def _doctor(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict[str, Any]]:
    code = main(["doctor", "--json", *args])
    lines = json.loads(capsys.readouterr().out)
    by_topic = {line["topic"]: line for line in lines}
    assert all(line["state"] in ("ok", "note", "FAIL") for line in lines)
    assert all(line["fix"] for line in lines if line["state"] != "ok"), lines
    return code, by_topic


@pytest.fixture
def machine(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A weights cache with googlenet's file in it, no daemon at the default endpoint."""
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path / "run"))
    monkeypatch.delenv("DREAMD_ENDPOINT", raising=False)
    (tmp_path / "run").mkdir(mode=0o700)
    cache = tmp_path / "torch" / "hub" / "checkpoints"
    cache.mkdir(parents=True)
    file = random_weights(tmp_path / "w")["googlenet"]
    file.rename(cache / googlenet.WEIGHTS.url.rsplit("/", 1)[-1])
    return tmp_path


def test_weights_devices_cache_and_no_daemon(machine: Path, capsys) -> None:
    code, lines = _doctor(capsys, "--gimp-dir", str(machine / "no-gimp"))
    assert code == 0
    assert lines["weights googlenet"]["state"] == "ok"
    assert str(machine / "torch") in lines["weights googlenet"]["detail"]
    assert lines["weights efficientnet-lite0"]["state"] == "ok"
    bvlc = lines["weights bvlc-googlenet"]
    assert bvlc["state"] == "note" and "dreamd fetch-weights bvlc-googlenet" in bvlc["fix"]
    assert lines["model auto"]["detail"] == "googlenet"
    assert lines["device cpu"]["state"] in ("ok", "note")
    assert "dreams in " in lines["device cpu"]["detail"]
    assert lines["cuda"]["state"] in ("ok", "note")
    assert lines["weights cache"]["state"] == "ok"
    assert str(machine / "torch") in lines["weights cache"]["detail"]
    assert lines["daemon"]["state"] == "note" and "dreamd serve" in lines["daemon"]["fix"]
    assert lines["GIMP plug-in"]["state"] == "note"


def test_a_running_daemon_is_named(daemon: Daemon, capsys) -> None:
    _, lines = _doctor(capsys, "--connect", daemon.endpoint)
    assert lines["daemon"]["state"] == "ok"
    assert daemon.endpoint in lines["daemon"]["detail"]
    assert "efficientnet-lite0" in lines["daemon"]["detail"]


def test_gimp_plug_in_installed_then_out_of_date(machine: Path, capsys) -> None:
    profile = machine / "gimp"
    profile.mkdir()
    installer.install(profile, gimp_python=[sys.executable], deps="system")
    code, lines = _doctor(capsys, "--gimp-dir", str(profile), "--gimp-python", sys.executable)
    assert code == 0 and lines["GIMP plug-in"]["state"] == "ok", lines
    # an older dreamd's copy of the protocol: the plug-in no longer matches this dreamd
    vendored = profile / "plug-ins" / installer.PLUGIN_NAME / installer.VENDORED_PROTOCOL
    with (vendored / "_limits.py").open("a") as fh:
        fh.write("\n# changed\n")
    code, lines = _doctor(capsys, "--gimp-dir", str(profile), "--gimp-python", sys.executable)
    assert code == 1
    broken = lines["GIMP plug-in: protocol package"]
    assert broken["state"] == "FAIL" and "dreamd gimp install" in broken["fix"]


def test_text_report_has_a_fix_under_each_note(machine: Path, capsys) -> None:
    assert main(["doctor", "--gimp-dir", str(machine / "no-gimp")]) == 0
    out = capsys.readouterr().out.splitlines()
    for i, line in enumerate(out):
        if line.startswith("[note]"):
            assert out[i + 1].strip().startswith("fix: "), out
