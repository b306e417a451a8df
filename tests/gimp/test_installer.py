"""The installer and the plug-in's GIMP-free logic, on the host (no GIMP needed)."""

from __future__ import annotations

import array
import json
import os
import stat
import sys
from pathlib import Path

import numpy as np
import pytest
from pngio import png_info, read_png, write_png

import dreamd
from dreamd.gimp import installer
from dreamd.gimp.dreamd_deepdream import dreamd_gimp_logic as logic

# ---------------------------------------------------------------------------------------------
# where GIMP lives


def test_linux_profile_candidates(tmp_path):
    (tmp_path / ".config" / "GIMP" / "3.0").mkdir(parents=True)
    (tmp_path / ".config" / "GIMP" / "3.2").mkdir(parents=True)
    dirs = installer.find_gimp_plugin_dirs("linux", env={}, home=tmp_path)
    assert dirs[0] == tmp_path / ".config" / "GIMP" / "3.2" / "plug-ins"
    assert dirs[1] == tmp_path / ".config" / "GIMP" / "3.0" / "plug-ins"
    flatpak = tmp_path / ".var/app/org.gimp.GIMP/config/GIMP/3.0/plug-ins"
    assert flatpak in dirs
    assert (
        installer.find_gimp_plugin_dirs("linux", env={}, home=tmp_path, existing_only=True)[:2]
        == dirs[:2]
    )


def test_xdg_and_gimp3_directory(tmp_path):
    env = {"XDG_CONFIG_HOME": str(tmp_path / "xdg"), "GIMP3_DIRECTORY": str(tmp_path / "p")}
    dirs = installer.find_gimp_plugin_dirs("linux", env=env, home=tmp_path)
    assert dirs[0] == tmp_path / "p" / "plug-ins" or tmp_path / "p" / "plug-ins" in dirs
    assert tmp_path / "xdg" / "GIMP" / "3.0" / "plug-ins" in dirs


def test_macos_and_windows_candidates(tmp_path):
    mac = installer.find_gimp_plugin_dirs("darwin", env={}, home=tmp_path)
    assert mac[0] == tmp_path / "Library" / "Application Support" / "GIMP" / "3.0" / "plug-ins"
    appdata = tmp_path / "AppData" / "Roaming"
    win = installer.find_gimp_plugin_dirs("win32", env={"APPDATA": str(appdata)}, home=tmp_path)
    assert win[0] == appdata / "GIMP" / "3.0" / "plug-ins"


def test_override_env(tmp_path):
    env = {"DREAMD_GIMP_DIR": str(tmp_path / "prof")}
    assert installer.find_gimp_plugin_dirs("linux", env=env) == [tmp_path / "prof" / "plug-ins"]
    assert installer.plugins_dir_of(tmp_path / "x" / "plug-ins") == tmp_path / "x" / "plug-ins"


# ---------------------------------------------------------------------------------------------
# install / uninstall / doctor


def _venv_has_deps() -> bool:
    try:
        import msgpack  # noqa: F401
        import zmq  # noqa: F401
    except ImportError:
        return False
    return True


@pytest.mark.skipif(not _venv_has_deps(), reason="this Python lacks pyzmq/msgpack")
def test_install_with_system_deps_then_uninstall(tmp_path):
    profile = tmp_path / "GIMP" / "3.0"
    profile.mkdir(parents=True)
    res = installer.install(
        profile,
        endpoint="ipc:///tmp/x/dreamd.sock",
        start_command=["dreamd", "serve", "--device", "cpu"],
        gimp_python=sys.executable,
    )
    target = profile / "plug-ins" / "dreamd_deepdream"
    assert res.plugin_dir == target
    assert res.deps == "system"
    script = target / "dreamd_deepdream.py"
    assert script.is_file() and os.access(script, os.X_OK)
    assert script.stat().st_mode & stat.S_IXOTH
    assert (target / "dreamd_gimp_logic.py").is_file()
    assert (target / "dreamd" / "protocol" / "__init__.py").is_file()
    vendored_init = (target / "dreamd" / "__init__.py").read_text()
    assert f"__version__ = {dreamd.__version__!r}" in vendored_init
    assert not (target / "vendor").exists()
    assert not (target / "__init__.py").exists()
    config = json.loads((target / "dreamd_deepdream.json").read_text())
    assert config["endpoint"] == "ipc:///tmp/x/dreamd.sock"
    assert config["start_command"] == ["dreamd", "serve", "--device", "cpu"]
    assert config["deps"] == "system"
    checks = installer.doctor(profile, gimp_python=sys.executable, check_daemon=False)
    assert all(c.ok for c in checks), "\n".join(map(str, checks))
    # A stale copy of the protocol is caught.
    with open(target / "dreamd" / "protocol" / "__init__.py", "a") as f:
        f.write("\n# changed\n")
    checks = installer.doctor(profile, gimp_python=sys.executable, check_daemon=False)
    bad = [c for c in checks if not c.ok]
    assert [c.name for c in bad] == ["protocol package"], "\n".join(map(str, checks))
    assert "dreamd gimp install" in bad[0].fix
    # Reinstalling replaces it cleanly.
    installer.install(profile, gimp_python=sys.executable)
    assert json.loads((target / "dreamd_deepdream.json").read_text())["endpoint"] is None
    assert installer.uninstall(profile) == target
    assert not target.exists()
    assert installer.uninstall(profile) is None
    checks = installer.doctor(profile, gimp_python=sys.executable, check_daemon=False)
    bad = [c for c in checks if not c.ok]
    assert bad and bad[0].name == "plug-in installed" and "dreamd gimp install" in bad[0].fix


def test_install_vendors_wheels(tmp_path):
    """pip puts pyzmq and msgpack wheels for GIMP's Python version into vendor/."""
    version = f"{sys.version_info[0]}.{sys.version_info[1]}"
    try:
        res = installer.install(tmp_path / "prof", gimp_python=sys.executable, deps="vendor")
    except installer.InstallError as exc:
        if "pip could not install" in str(exc) and "CI" not in os.environ:
            pytest.skip(f"no package index reachable: {exc}")
        raise
    vendor = res.plugin_dir / "vendor"
    assert (vendor / "zmq").is_dir() and (vendor / "msgpack").is_dir()
    assert res.config["deps"] == "vendor" and res.config["python"] == version
    info = installer.probe_python(sys.executable, [vendor])
    assert info.has == {"zmq": True, "msgpack": True}


def test_install_system_deps_missing_is_an_error(tmp_path):
    fake = tmp_path / "python"
    fake.write_text(
        "#!/bin/sh\nexec "
        + sys.executable
        + ' -c \'import json; print(json.dumps({"version": "3.99", "platform": "linux-x86_64",'
        ' "has": {"zmq": False, "msgpack": True}, "executable": "x"}))\'\n'
    )
    fake.chmod(0o755)
    with pytest.raises(installer.InstallError, match="lacks zmq"):
        installer.install(tmp_path / "prof", gimp_python=str(fake), deps="system")
    assert not (tmp_path / "prof" / "plug-ins" / "dreamd_deepdream").exists()


def test_no_gimp_python_asks_for_it(tmp_path):
    with pytest.raises(installer.InstallError, match="--gimp-python"):
        installer.install(tmp_path / "prof", gimp_python=str(tmp_path / "missing-python"))


def test_pip_platform_tags():
    import sysconfig

    assert installer._pip_platforms(sysconfig.get_platform()) == []
    assert installer._pip_platforms("win-amd64") == ["win_amd64"]
    assert "macosx_11_0_arm64" in installer._pip_platforms("macosx-11.0-arm64")
    assert "manylinux2014_aarch64" in installer._pip_platforms("linux-aarch64")


# ---------------------------------------------------------------------------------------------
# the plug-in's logic


@pytest.mark.parametrize(
    ("precision", "gray", "alpha", "babl", "dtype", "channels"),
    [
        ("GIMP_PRECISION_U8_NON_LINEAR", False, True, "R'G'B'A u8", "u8", 4),
        ("GIMP_PRECISION_U8_LINEAR", False, False, "R'G'B' u8", "u8", 3),
        ("GIMP_PRECISION_U16_PERCEPTUAL", True, True, "Y'A u16", "u16", 2),
        ("GIMP_PRECISION_FLOAT_LINEAR", True, False, "Y' float", "f32", 1),
        ("GIMP_PRECISION_HALF_NON_LINEAR", False, True, "R'G'B'A float", "f32", 4),
        ("GIMP_PRECISION_U32_LINEAR", False, True, "R'G'B'A float", "f32", 4),
        ("GIMP_PRECISION_DOUBLE_LINEAR", False, False, "R'G'B' float", "f32", 3),
    ],
)
def test_pixel_format(precision, gray, alpha, babl, dtype, channels):
    fmt = logic.pixel_format(precision, gray, alpha)
    assert (fmt.babl, fmt.dtype, fmt.channels, fmt.has_alpha) == (babl, dtype, channels, alpha)


@pytest.mark.parametrize(("dtype", "code"), [("u8", "B"), ("u16", "H"), ("f32", "f")])
def test_restore_alpha(dtype, code):
    fmt = logic.PixelFormat(f"R'G'B'A {dtype}", dtype, 4)
    src = array.array(code, [1, 2, 3, 4, 5, 6, 7, 8])
    out = array.array(code, [10, 20, 30, 40, 50, 60, 70, 80])
    got = array.array(code)
    got.frombytes(logic.restore_alpha(out.tobytes(), src.tobytes(), fmt))
    assert list(got) == [10, 20, 30, 4, 50, 60, 70, 8]
    rgb = logic.PixelFormat("R'G'B' u8", "u8", 3)
    assert logic.restore_alpha(b"abc", b"xyz", rgb) == b"abc"


def test_dream_rect():
    assert logic.dream_rect((0, 0, 96, 64), (96, 64), False) == (0, 0, 96, 64)
    assert logic.dream_rect((40, 30, 10, 10), (200, 100), True, margin=8) == (32, 22, 26, 26)
    assert logic.dream_rect((0, 0, 10, 10), (20, 20), True, margin=32) == (0, 0, 20, 20)


def test_build_params_and_name():
    values = {a[0]: a[3] for a in logic.ARGUMENTS}
    values.update({"layer": "inception_4c/output; inception_4d/output:3,17", "model": ""})
    params = logic.build_params(values)
    assert 0 <= params["seed"] < 2**31  # -1: a new seed that fits the dialog's field
    assert params["layers"] == ["inception_4c/output", "inception_4d/output:3,17"]
    assert params["octave_count"] == 4 and params["octave_scale"] == 1.3
    values["seed"] = 5
    values["layer"] = ""
    params = logic.build_params(values)
    assert params["seed"] == 5 and "layers" not in params
    name = logic.layer_name("Background", params, "googlenet", "inception_4c/output")
    assert name.startswith("Background · dream inception_4c/output")
    assert "seed 5" in name and "googlenet" in name
    assert logic.argument_names()[:2] == ["model", "layer"]


def test_style_params_and_name():
    values = {a[0]: a[3] for a in logic.ARGUMENTS}
    values.update({"seed": 3, "layer": "", "style-weight": 2.0})
    assert "style_weight" not in logic.build_params(values)  # no style: no style params
    values["style"] = object()  # a drawable
    params = logic.build_params(values)
    assert (params["style_weight"], params["content_weight"]) == (2.0, 0.5)
    name = logic.layer_name("Photo", params, style="Painting")
    assert name.startswith("Photo · style Painting 4×1.3"), name
    params["layers"] = ["block10"]
    name = logic.layer_name("Photo", params, style="Painting")
    assert name.startswith("Photo · style Painting + dream block10")
    assert logic.argument_names()[-3:] == ["style", "style-weight", "content-weight"]


def test_load_config_env_override(tmp_path, monkeypatch):
    (tmp_path / logic.CONFIG_NAME).write_text(json.dumps({"endpoint": "ipc:///a"}))
    monkeypatch.delenv("DREAMD_ENDPOINT", raising=False)
    assert logic.load_config(tmp_path)["endpoint"] == "ipc:///a"
    monkeypatch.setenv("DREAMD_ENDPOINT", "tcp://127.0.0.1:5999")
    assert logic.load_config(tmp_path)["endpoint"] == "tcp://127.0.0.1:5999"
    assert logic.load_config(tmp_path / "none")["endpoint"] == "tcp://127.0.0.1:5999"


def test_friendly_errors():
    protocol = pytest.importorskip("dreamd.protocol")
    cfg = {"start_command": ["dreamd", "serve", "--device", "cpu"]}
    msg = logic.friendly_error(protocol.Unreachable("x"), cfg, "ipc:///s")
    assert "not running at ipc:///s" in msg and "dreamd serve --device cpu" in msg
    assert "dreamd serve" in logic.friendly_error(protocol.Unreachable("x"), {}, None)
    err = protocol.Rejected("TOO_LARGE", "4000×4000 is 16000000 pixels, the limit is 8000000")
    msg = logic.friendly_error(err, {}, None)
    assert "too large" in msg and "the limit is 8000000" in msg
    msg = logic.friendly_error(protocol.VersionMismatch(((2, 0),)), {}, None)
    assert "update" in msg.lower() and "plug-in" in msg
    msg = logic.friendly_error(protocol.VersionMismatch(((0, 1),)), {}, None)
    assert "daemon" in msg.lower()
    assert "timed out" in logic.friendly_error(protocol.RequestTimeout("t"), {}, None)


def test_catalogue_from_status():
    status = {
        "model": "googlenet",
        "default_layer": "inception_4c/output",
        "layers": {"googlenet": [{"name": "inception_4c/output", "channels": 512}, "conv2/3x3"]},
    }
    models, default, defaults = logic.catalogue_from_status(status)
    assert models == {"googlenet": ["inception_4c/output", "conv2/3x3"]}
    assert default == "googlenet" and defaults == {"googlenet": "inception_4c/output"}
    models, default, defaults = logic.catalogue_from_status({"model": "m"})
    assert models == {"m": []} and default == "m" and defaults == {}


def test_start_daemon(tmp_path):
    marker = tmp_path / "started"
    cfg = {"start_command": [sys.executable, "-c", f"open({str(marker)!r}, 'w').write('x')"]}
    proc = logic.start_daemon(cfg, log_dir=tmp_path)
    assert proc is not None
    proc.wait(timeout=30)
    assert logic.wait_until(marker.exists, timeout=5)
    assert logic.start_daemon({}, log_dir=tmp_path) is None


# ---------------------------------------------------------------------------------------------
# the test helpers themselves


@pytest.mark.parametrize("shape", [(5, 7, 1), (5, 7, 2), (5, 7, 3), (5, 7, 4)])
@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
def test_png_roundtrip(tmp_path, shape, dtype):
    rng = np.random.default_rng(1)
    data = rng.integers(0, np.iinfo(dtype).max, shape, dtype=dtype, endpoint=True)
    write_png(tmp_path / "a.png", data)
    assert png_info(tmp_path / "a.png") == (7, 5, 8 * data.itemsize, shape[2])
    assert np.array_equal(read_png(tmp_path / "a.png"), data)


def test_png_reader_matches_pillow_on_filtered_files(tmp_path):
    Image = pytest.importorskip("PIL.Image")
    rng = np.random.default_rng(2)
    yy, xx = np.mgrid[0:40, 0:50]
    data = np.stack([xx * 5, yy * 6, (xx + yy) * 2, rng.integers(0, 255, (40, 50))], axis=-1)
    data = data.astype(np.uint8)
    Image.fromarray(data, "RGBA").save(tmp_path / "p.png", optimize=True)  # uses all filters
    assert np.array_equal(read_png(tmp_path / "p.png"), data)


def test_setup_script_check_mode_is_quick():
    """``setup_gimp.sh --check`` never builds anything: 0 (ready) or 3 (not yet)."""
    import subprocess

    script = Path(__file__).with_name("setup_gimp.sh")
    proc = subprocess.run(["bash", str(script), "--check"], capture_output=True, timeout=60)
    assert proc.returncode in (0, 3), proc.stderr
