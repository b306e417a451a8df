"""BVLC GoogLeNet and Places205-GoogLeNet: Caffe's network, read from the users' files.

No real weights can be downloaded here: the files are made with random weights in both
caffemodel layouts (with the auxiliary classifiers the real file carries) and as
neural-dream's .pth, and the network is checked against OpenCV's own Caffe importer.
"""

from __future__ import annotations

import re
import tarfile
from pathlib import Path

import numpy as np
import pytest
import torch

from dreamd import engine
from dreamd.engine.models import bvlc_googlenet

from . import caffe_nets as cn

cv2 = pytest.importorskip("cv2")

BLOBS = ["conv2/norm2", "inception_3b/output", "inception_4c/output", "inception_5b/output"]
H, W = 237, 229  # odd sizes: Caffe's ceil rounding of the pooling layers matters


@pytest.fixture(scope="module")
def layers() -> list[cn.Layer]:
    return cn.random_layers(1000, seed=0)


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory, layers: list[cn.Layer]) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("bvlc")
    return {
        "legacy": cn.write_caffemodel(d / "bvlc_googlenet.caffemodel", layers, legacy=True),
        "current": cn.write_caffemodel(d / "current.caffemodel", layers, legacy=False),
        "pth": cn.write_neural_dream_pth(d / "bvlc_googlenet.pth", layers),
    }


@pytest.fixture(scope="module")
def model(files: dict[str, Path]) -> engine.DreamModel:
    return engine.load_model("bvlc-googlenet", "cpu", weights=files["legacy"])


def _photo(h: int, w: int, seed: int = 1) -> np.ndarray:
    from skimage import data
    from skimage.transform import resize

    img = resize(data.chelsea(), (h, w), anti_aliasing=True).astype(np.float32)
    noise = np.random.default_rng(seed).random(img.shape, dtype=np.float32)
    return np.clip(0.9 * img + 0.1 * noise, 0, 1)


def _bgr(rgb: np.ndarray) -> np.ndarray:
    """The notebook's preprocess: RGB → BGR, 0–255, minus the mean, NCHW."""
    return (rgb[..., ::-1] * 255.0 - cn.MEAN_BGR).transpose(2, 0, 1)[None].copy()


def _rel(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.abs(a - b).max() / np.abs(b).max())


@pytest.mark.parametrize("layout", ["legacy", "current"])
def test_activations_match_opencvs_caffe_importer(
    files: dict[str, Path], layout: str, tmp_path: Path
):
    deploy = tmp_path / "deploy.prototxt"
    deploy.write_text(cn.deploy_prototxt(1000, H, W))
    cv_net = cv2.dnn.readNetFromCaffe(str(deploy), str(files[layout]))
    rgb = _photo(H, W)
    cv_net.setInput(_bgr(rgb))
    want = cv_net.forward(BLOBS)

    model = engine.load_model("bvlc-googlenet", "cpu", weights=files[layout])
    x = torch.from_numpy(rgb).permute(2, 0, 1)[None].contiguous(memory_format=torch.channels_last)
    with torch.no_grad():
        got = model.net.features(model.net.normalize(x), [model.catalogue[b] for b in BLOBS])
    for blob, g, w in zip(BLOBS, got, want, strict=True):
        assert g.shape == w.shape, blob
        assert _rel(g.numpy(), w) < 1e-4, blob


def test_lrn_divides_alpha_by_the_size_as_caffe(files: dict[str, Path], layers, tmp_path: Path):
    """What the comparison above is sensitive to: LRN with alpha not divided by 5 is off."""
    deploy = tmp_path / "deploy.prototxt"
    deploy.write_text(cn.deploy_prototxt(1000, H, W, head=False))
    cv_net = cv2.dnn.readNetFromCaffe(str(deploy), str(files["legacy"]))
    cv_net.setInput(_bgr(_photo(H, W)))
    want = cv_net.forward("pool1/norm1")
    pool1 = cn.reference_blobs(layers, torch.from_numpy(_bgr(_photo(H, W))), "pool1/3x3_s2")
    right = torch.nn.functional.local_response_norm(pool1, 5, 1e-4, 0.75, 1.0).numpy()
    wrong = torch.nn.functional.local_response_norm(pool1, 5, 5e-4, 0.75, 1.0).numpy()
    assert _rel(right, want) < 1e-5 < 1e-2 < _rel(wrong, want)


def test_catalogue_is_every_blob_of_deploy_prototxt(model: engine.DreamModel):
    tops = re.findall(r'top: "([^"]+)"', cn.deploy_prototxt())
    expected = [t for t in dict.fromkeys(tops) if t not in ("pool5/7x7_s1", "loss3/classifier")]
    assert sorted(model.catalogue.names()) == sorted(expected)
    assert model.catalogue.default.name == "inception_4c/output"
    assert bvlc_googlenet.GUIDE_LAYER in model.catalogue
    # neural-dream's names are aliases
    assert model.catalogue["inception_4d_5x5_reduce"].name == "inception_4d/5x5_reduce"
    assert model.catalogue["conv2/norm2"].channels == 192
    assert model.catalogue["inception_4e/output"].stride == 16


@pytest.mark.parametrize(
    "blob", ["conv1/7x7_s2", "conv2/3x3", "inception_4d/5x5_reduce", "inception_3a/pool_proj"]
)
def test_a_convolution_blob_is_its_value_before_the_relu(model, layers, blob: str):
    """``net.forward(end=conv)`` stops before the conv's in-place ReLU."""
    rgb = _photo(224, 224)
    x = torch.from_numpy(rgb).permute(2, 0, 1)[None]
    with torch.no_grad():
        got = model.net.features(model.net.normalize(x), [model.catalogue[blob]])[0].numpy()
    want = cn.reference_blobs(layers, torch.from_numpy(_bgr(rgb)), blob).numpy()
    assert (want < 0).any(), "a pre-ReLU blob has negative values"
    assert _rel(got, want) < 1e-4


def test_forward_stops_at_the_deepest_requested_layer(model: engine.DreamModel):
    """pool5's 7×7 window is never needed: a 64-pixel image dreams at inception_4c."""
    ran: list[str] = []
    for blob, stage in zip(model.net.blobs, model.net.stages, strict=True):
        stage.register_forward_hook(lambda *_, b=blob: ran.append(b))
    try:
        x = torch.rand(1, 3, 64, 64)
        model.net.features(model.net.normalize(x), [model.catalogue["inception_4c/output"]])
        assert ran[-1] == "inception_4c/output"
        assert "inception_4d/output" not in ran and "pool4/3x3_s2" not in ran
    finally:
        for stage in model.net.stages:
            stage._forward_hooks.clear()


@pytest.mark.parametrize("end", ["inception_4c/output", "inception_3b/output", "conv2/norm2"])
def test_one_step_is_the_notebooks_step(model, layers, end: str):
    """A dream of one octave, one step, jitter 0 against make_step written out here in
    float64. The engine works in float32: where two pooled values are within float32's
    rounding, the gradient may take the other one (float32 Caffe would too), so the images
    agree to well under an 8-bit level rather than bit for bit."""
    img = _photo(224, 240, seed=3)
    params = engine.DreamParams(
        octave_count=1, steps_per_octave=1, jitter=0, step_size=1.5, precision="fp32",
        layers=(engine.LayerSpec(end),), seed=0,
    )  # fmt: skip
    got = engine.dream(model, img, params).image
    want = cn.notebook_step(layers, img, end, step_size=1.5)
    step = want - img
    assert np.abs(step).max() > 10 / 255, "the step moves pixels"
    assert np.abs(got - want).max() < 0.25 / 255
    assert np.linalg.norm(got - want) < 1e-2 * np.linalg.norm(step)


def test_every_file_form_gives_the_same_dream(files: dict[str, Path]):
    img = _photo(96, 112)
    params = engine.DreamParams(octave_count=2, steps_per_octave=2, seed=5, precision="fp32")
    images = {
        form: engine.dream(engine.load_model("bvlc-googlenet", "cpu", weights=f), img, params)
        for form, f in files.items()
    }
    base = images["legacy"].image
    for form, result in images.items():
        np.testing.assert_array_equal(result.image, base, err_msg=form)
    assert np.abs(base - img).mean() > 1 / 255


def test_tiles_give_the_whole_images_step(model: engine.DreamModel):
    """LRN is per position: a step computed in 128-px tiles is the untiled step."""
    img = _photo(256, 288)
    base = engine.DreamParams(octave_count=1, steps_per_octave=1, jitter=0, precision="fp32")
    whole = engine.dream(model, img, base).image
    tiled = engine.dream(model, img, base.with_(tile_size=128)).image
    assert np.abs(whole - tiled).max() < 0.25 / 255


def test_weights_hash_is_the_files(files: dict[str, Path], model: engine.DreamModel):
    import hashlib

    digest = hashlib.sha256(files["legacy"].read_bytes()).hexdigest()
    assert model.weights_sha256 == digest
    params = engine.DreamParams(octave_count=1, steps_per_octave=1, seed=0)
    meta = engine.dream(model, _photo(64, 64), params).metadata()
    assert (meta["model"], meta["weights_sha256"]) == ("bvlc-googlenet", digest)


# ---- files that are not the weights ------------------------------------------------------------


def _refused(path: Path, *words: str, name: str = "bvlc-googlenet") -> str:
    with pytest.raises(engine.WeightsCorrupt) as info:
        engine.load_model(name, "cpu", weights=path)
    message = str(info.value)
    assert str(path) in message
    for word in words:
        assert word in message
    return message


def test_truncated_file_is_refused_by_name(files, tmp_path: Path):
    data = files["legacy"].read_bytes()
    cut = tmp_path / "cut.caffemodel"
    cut.write_bytes(data[: len(data) * 2 // 3])
    _refused(cut, "cut short")


def test_file_cut_between_layers_is_refused_naming_the_missing_layer(layers, tmp_path: Path):
    short = cn.write_caffemodel(tmp_path / "short.caffemodel", layers[:-20], legacy=True)
    _refused(short, "missing", "inception_")


def test_foreign_files_are_refused(tmp_path: Path, files):
    png = tmp_path / "photo.caffemodel"
    png.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 40)
    _refused(png, "not a readable caffemodel")
    deploy = tmp_path / "deploy.prototxt"
    deploy.write_text(cn.deploy_prototxt())
    _refused(deploy, "prototxt")
    other = tmp_path / "state.pth"
    torch.save({"features.0.weight": torch.zeros(3)}, other)
    _refused(other, "neural-dream")


def test_wrong_shape_is_refused_naming_the_layer(layers, tmp_path: Path):
    # torchvision's port has a 3x3 where Caffe has the 5x5: such a file must not load
    bad = [
        (n, k, [np.zeros((64, 24, 3, 3), np.float32), b[1]] if n == "inception_4c/5x5" else b)
        for n, k, b in layers
    ]
    path = cn.write_caffemodel(tmp_path / "wrong.caffemodel", bad, legacy=False)
    _refused(path, "inception_4c/5x5", "(64, 24, 5, 5)")


def test_places_and_bvlc_weights_are_told_apart(tmp_path: Path, files):
    places = cn.write_caffemodel(
        tmp_path / "places.caffemodel", cn.random_layers(205, seed=2), legacy=True
    )
    _refused(places, "--model places205-googlenet")
    _refused(files["legacy"], "--model bvlc-googlenet", name="places205-googlenet")


def test_places205_tarball_loads_and_auto_recognises_it(tmp_path: Path):
    inner = cn.write_caffemodel(tmp_path / "g.caffemodel", cn.random_layers(205, seed=2), True)
    tarball = tmp_path / "googlenet_places205.tar.gz"
    deploy = tmp_path / "deploy.prototxt"
    deploy.write_text(cn.deploy_prototxt(205))
    with tarfile.open(tarball, "w:gz") as tar:
        tar.add(deploy, "googlenet_places205/deploy_places205.protxt")
        tar.add(inner, "googlenet_places205/googlelet_places205_train_iter_2400000.caffemodel")
    model = engine.load_model("auto", "cpu", weights=tarball)
    assert model.name == "places205-googlenet"
    assert model.catalogue.default.name == "inception_4c/output"
    assert model.net.classify(torch.rand(1, 3, 224, 224)).shape == (1, 205)
    cut = tmp_path / "cut.tar.gz"
    cut.write_bytes(tarball.read_bytes()[:5000])
    _refused(cut, "archive", name="places205-googlenet")


@pytest.mark.parametrize("channels", [64, 192, 7])
def test_lrn_is_torchs_local_response_norm(channels: int):
    """The band-matrix LRN computes F.local_response_norm, gradient included."""
    lrn = bvlc_googlenet.CaffeLRN(channels, *bvlc_googlenet.LRN).double()
    x = (torch.randn(2, channels, 9, 11, dtype=torch.float64) * 100).requires_grad_(True)
    want = torch.nn.functional.local_response_norm(x, 5, 1e-4, 0.75, 1.0)
    got = lrn(x)
    torch.testing.assert_close(got, want)
    g = torch.randn_like(want)
    torch.testing.assert_close(torch.autograd.grad(got, x, g), torch.autograd.grad(want, x, g))


def test_bf16_dream_runs_where_the_cpu_has_it(model: engine.DreamModel):
    """LRN has a bf16 path (torch's avg_pool3d has none on the CPU)."""
    img = _photo(160, 160)
    params = engine.DreamParams(octave_count=1, steps_per_octave=2, seed=1, precision="bf16")
    out = engine.dream(model, img, params)
    assert out.precision == "bf16"
    assert np.isfinite(out.image).all() and np.abs(out.image - img).mean() > 1 / 255
