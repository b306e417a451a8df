"""The package's shape: one import name, ``dreamd``, over the design's top-level folders.

``pyproject.toml`` maps each part to its folder (what a wheel is built from); ``dreamd/``
holds a symlink per part for the tools that walk a package's folder. These tests keep the
two in step and check what a user installing the wheel gets.
"""

from __future__ import annotations

import os
import subprocess
import tarfile
import venv
import zipfile
from pathlib import Path

import pytest
import tomllib

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
SETUPTOOLS = PYPROJECT["tool"]["setuptools"]


def test_every_part_is_mapped_and_linked_to_the_same_folder() -> None:
    mapping = SETUPTOOLS["package-dir"]
    parts = {name.split(".", 1)[1]: folder for name, folder in mapping.items() if "." in name}
    links = {p.name: p for p in (ROOT / "dreamd").iterdir() if p.is_symlink()}
    assert set(parts) == set(links), "dreamd/ symlinks and pyproject's package-dir differ"
    for name, folder in parts.items():
        assert links[name].resolve() == (ROOT / folder).resolve(), name
        assert (ROOT / folder / "__init__.py").is_file(), folder


def test_every_python_package_folder_is_in_the_wheel() -> None:
    listed = set(SETUPTOOLS["packages"])
    found = set()
    for name, folder in SETUPTOOLS["package-dir"].items():
        for init in (ROOT / folder).rglob("__init__.py"):
            rel = init.parent.relative_to(ROOT / folder)
            found.add(".".join((name, *rel.parts)) if rel.parts else name)
    assert found == listed, f"packages missing from pyproject: {found - listed}"


@pytest.fixture(scope="module")
def wheel(dist: tuple[Path, Path]) -> Path:
    return dist[1]


def test_the_wheel_has_one_top_level_name(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as z:
        names = z.namelist()
    tops = {n.split("/", 1)[0] for n in names if not n.split("/", 1)[0].endswith(".dist-info")}
    assert tops == {"dreamd"}
    for part in ("engine", "protocol", "daemon", "batch", "gimp"):
        assert f"dreamd/{part}/__init__.py" in names
    assert "dreamd/gimp/dreamd_deepdream/dreamd_deepdream.py" in names
    assert "dreamd/protocol/PROTOCOL.md" in names
    assert not [n for n in names if "/tests/" in n or n.startswith("tests/")]


def test_the_wheel_carries_its_data_files(dist: tuple[Path, Path]) -> None:
    """What the commands read at run time: the sample photos, the plug-in's modules and help
    pages (as the installer lists them), the systemd unit; the sdist holds them too."""
    from dreamd.gimp import installer

    sdist, wheel = dist
    with zipfile.ZipFile(wheel) as z:
        names = set(z.namelist())
    photos = {f"dreamd/batch/sample_photos/{p.name}" for p in (ROOT / "samples").iterdir()}
    assert len(photos) == 5 and photos <= names
    plugin = "dreamd/gimp/dreamd_deepdream/"
    wanted = [installer.SCRIPT_NAME, *installer.PLUGIN_MODULES]
    wanted += [f.as_posix() for f in installer.HELP_FILES]
    assert not [w for w in wanted if plugin + w not in names]
    assert "dreamd/daemon/dreamd.service" in names
    with tarfile.open(sdist) as tar:
        inside = {n.split("/", 1)[1] for n in tar.getnames() if "/" in n}
    assert {"pyproject.toml", "README.md", "batch/sample_photos/chelsea.jpg"} <= inside
    assert "gimp_plugin/dreamd_deepdream/help/en/index.html" in inside


def test_the_wheel_installs_beside_python_daemon(wheel: Path, tmp_path: Path) -> None:
    """python-daemon's import name is ``daemon``: with both installed, both work."""
    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=True).create(env_dir)
    py = env_dir / "bin" / "python"
    pip = [str(py), "-m", "pip", "install", "-q", "--disable-pip-version-check"]
    subprocess.run([*pip, "--no-deps", str(wheel)], check=True, capture_output=True)
    subprocess.run([*pip, "python-daemon", "pyzmq", "msgpack"], check=True, capture_output=True)
    code = (
        "import daemon, daemon.pidfile\n"
        "assert hasattr(daemon, 'DaemonContext'), daemon.__file__\n"
        "import dreamd, dreamd.daemon, dreamd.protocol\n"
        "from dreamd.protocol import PROTOCOL_VERSION\n"
        "assert dreamd.daemon.__version__ == dreamd.__version__ != '0+unknown'\n"
        "print(dreamd.__version__, PROTOCOL_VERSION)\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    done = subprocess.run(
        [str(py), "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    version = PYPROJECT["project"]["version"]
    assert done.stdout.startswith(version)
    help_run = subprocess.run(
        [str(env_dir / "bin" / "dreamd"), "--version"], cwd=tmp_path, env=env,
        capture_output=True, text=True,
    )  # fmt: skip
    assert help_run.stdout.strip() == f"dreamd {version}", help_run.stderr
