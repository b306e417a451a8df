"""Getting the Caffe GoogLeNets' weights: installing the users' files, downloading from the
public homes (a real HTTP server on loopback stands in for them), and ``auto``'s choice."""

from __future__ import annotations

import hashlib
import http.server
import tarfile
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from dreamd import engine
from dreamd.engine.models import _caffe_weights

from . import caffe_nets as cn


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty torch hub cache of its own."""
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    return tmp_path / "torch" / "hub" / "checkpoints"


@pytest.fixture(scope="module")
def caffemodel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("files")
    return cn.write_caffemodel(d / "bvlc_googlenet.caffemodel", cn.random_layers(), legacy=True)


@pytest.fixture(scope="module")
def places_tarball(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("places")
    inner = cn.write_caffemodel(d / "p.caffemodel", cn.random_layers(205, seed=2), legacy=True)
    tarball = d / "googlenet_places205.tar.gz"
    with tarfile.open(tarball, "w:gz") as tar:
        tar.add(inner, "googlenet_places205/googlelet_places205_train_iter_2400000.caffemodel")
    return tarball


def test_install_from_a_file_then_auto_picks_the_original(cache: Path, caffemodel: Path):
    assert engine.load_model("auto", "cpu").name != "bvlc-googlenet"
    path = engine.fetch_weights("bvlc-googlenet", caffemodel)
    assert path == cache / "bvlc_googlenet.caffemodel"
    assert path.read_bytes() == caffemodel.read_bytes()
    assert engine.cached_weights("bvlc-googlenet") == path
    model = engine.load_model("auto", "cpu")
    assert model.name == "bvlc-googlenet"
    assert model.notes == ["using bvlc-googlenet (auto): the original DeepDream network"]


def test_install_a_neural_dream_pth_replaces_the_caffemodel(cache: Path, caffemodel, tmp_path):
    engine.fetch_weights("bvlc-googlenet", caffemodel)
    pth = cn.write_neural_dream_pth(tmp_path / "bvlc_googlenet.pth", cn.random_layers())
    path = engine.fetch_weights("bvlc-googlenet", pth)
    assert sorted(p.name for p in cache.iterdir()) == ["bvlc_googlenet.pth"]
    assert engine.load_model("bvlc-googlenet", "cpu").weights_source == str(path)


def test_places_tarball_is_installed_as_its_caffemodel(cache: Path, places_tarball: Path):
    path = engine.fetch_weights("places205-googlenet", places_tarball)
    assert path == cache / "googlenet_places205.caffemodel"
    assert engine.load_model("places205-googlenet", "cpu").name == "places205-googlenet"


def test_a_bad_file_installs_nothing(cache: Path, caffemodel: Path, tmp_path: Path):
    cut = tmp_path / "cut.caffemodel"
    cut.write_bytes(caffemodel.read_bytes()[:100_000])
    with pytest.raises(engine.WeightsCorrupt, match=r"cut\.caffemodel"):
        engine.fetch_weights("bvlc-googlenet", cut)
    with pytest.raises(engine.WeightsCorrupt, match="places205"):
        engine.fetch_weights("places205-googlenet", caffemodel)
    assert not cache.exists() or list(cache.iterdir()) == []


def test_offline_without_cache_says_how_to_get_them(cache: Path):
    with pytest.raises(engine.WeightsUnavailable) as info:
        engine.load_model("bvlc-googlenet", "cpu")
    assert "dreamd fetch-weights bvlc-googlenet" in str(info.value)
    assert "--weights" in str(info.value)
    assert not cache.exists()


class _Server:
    def __init__(self, root: Path) -> None:
        handler = lambda *a, **k: http.server.SimpleHTTPRequestHandler(  # noqa: E731
            *a, directory=str(root), **k
        )
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()


@pytest.fixture
def home(tmp_path: Path, caffemodel: Path, places_tarball: Path) -> Iterator[_Server]:
    root = tmp_path / "srv"
    root.mkdir()
    (root / caffemodel.name).write_bytes(caffemodel.read_bytes())
    (root / places_tarball.name).write_bytes(places_tarball.read_bytes())
    server = _Server(root)
    yield server
    server.httpd.shutdown()


def _publish(monkeypatch, name: str, url: str, size: int | None, sha1: str | None) -> None:
    stem = _caffe_weights.HOMES[name].stem
    monkeypatch.setitem(_caffe_weights.HOMES, name, _caffe_weights.Home(url, stem, size, sha1))


def test_download_checks_size_and_sha1(cache, home, caffemodel, monkeypatch):
    monkeypatch.delenv("DREAMD_OFFLINE", raising=False)
    data = caffemodel.read_bytes()
    url = f"{home.url}/{caffemodel.name}"
    _publish(monkeypatch, "bvlc-googlenet", url, len(data), "0" * 40)
    with pytest.raises(engine.WeightsCorrupt, match="SHA-1"):
        engine.fetch_weights("bvlc-googlenet")
    _publish(monkeypatch, "bvlc-googlenet", url, len(data) + 1, hashlib.sha1(data).hexdigest())
    with pytest.raises(engine.WeightsCorrupt, match="bytes"):
        engine.fetch_weights("bvlc-googlenet")
    assert list(cache.iterdir()) == []  # no part file, nothing cached
    _publish(monkeypatch, "bvlc-googlenet", url, len(data), hashlib.sha1(data).hexdigest())
    path = engine.fetch_weights("bvlc-googlenet")
    assert path.read_bytes() == data
    assert [p.name for p in cache.iterdir()] == ["bvlc_googlenet.caffemodel"]


def test_download_of_the_places_tarball_keeps_its_caffemodel(
    cache, home, places_tarball, monkeypatch
):
    monkeypatch.delenv("DREAMD_OFFLINE", raising=False)
    _publish(monkeypatch, "places205-googlenet", f"{home.url}/{places_tarball.name}", None, None)
    model = engine.load_model("places205-googlenet", "cpu")  # fetched on first use
    assert [p.name for p in cache.iterdir()] == ["googlenet_places205.caffemodel"]
    assert model.weights_source == str(cache / "googlenet_places205.caffemodel")


def test_unreachable_home_is_unavailable(cache, monkeypatch):
    monkeypatch.delenv("DREAMD_OFFLINE", raising=False)
    _publish(monkeypatch, "bvlc-googlenet", "http://127.0.0.1:9/bvlc_googlenet.caffemodel", 1, None)
    with pytest.raises(engine.WeightsUnavailable, match="fetch-weights bvlc-googlenet"):
        engine.load_model("bvlc-googlenet", "cpu")
