"""The installer, on the host (no GIMP needed); and the GIMP tests' own helpers."""

from __future__ import annotations

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
    assert all((target / name).is_file() for name in installer.PLUGIN_MODULES)
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

    assert installer.pip_platforms(sysconfig.get_platform()) == []
    assert installer.pip_platforms("win-amd64") == ["win_amd64"]
    assert "macosx_11_0_arm64" in installer.pip_platforms("macosx-11.0-arm64")
    assert "manylinux2014_aarch64" in installer.pip_platforms("linux-aarch64")


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
