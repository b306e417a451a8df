"""The plug-in in real GIMP 3, against a real dreamd: pixel formats, selection, guide,
style, limits, no daemon and the doctor (the dialog: test_gimp_dialog.py).

One GIMP batch run dreams every case (the session fixture ``dreamed``, see dreamcases.py
and batch_dream.py); the tests then check the files from outside GIMP. A second run, with no
daemon at the endpoint, checks the failure message. Images are small (96×64) and the dreams
short (2 octaves × 2 steps) to keep the CPU time low.

Run:  python -m pytest tests/gimp        (root; the first run builds the chroot, ~1 min)
"""

from __future__ import annotations

import json

import numpy as np
from dreamcases import PARAMS, SELECTION, H, W, run_batch
from dreamcases import case as _case
from gimprunner import dreamd_cli
from pngio import png_info, read_png

from .conftest import DAEMON_MAX_PIXELS


def _as_unit(a: np.ndarray) -> np.ndarray:
    return a.astype(np.float64) / (65535.0 if a.dtype == np.uint16 else 255.0)


def _assert_dreamed(src: np.ndarray, out: np.ndarray, colour: slice = slice(0, 3)) -> None:
    """Different from the source, the way a dream is: a visible change that keeps the
    picture (strongly correlated), not noise, not a blank, not an inversion."""
    s, o = _as_unit(src)[..., colour], _as_unit(out)[..., colour]
    diff = np.abs(o - s)
    assert diff.mean() > 0.3 / 255, f"barely changed: mean |Δ| = {diff.mean() * 255:.3f}/255"
    assert diff.max() > 4 / 255, f"no visible change: max |Δ| = {diff.max() * 255:.2f}/255"
    corr = np.corrcoef(s.ravel(), o.ravel())[0, 1]
    assert corr > 0.5, f"the dream lost the picture (correlation {corr:.2f})"
    assert o.std() > 0.02, "the result is flat"


# ---------------------------------------------------------------------------------------------


def test_new_layer_in_the_sources_place_and_the_source_hidden(dreamed):
    case = _case(dreamed, "rgba8")
    assert len(case["layers"]) == 2, case["layers"]
    assert case["new_index"] == case["source_index"] - 1 == 0, "new layer is not just above"
    new = case["new_layer"]
    assert (new["width"], new["height"]) == (W, H)
    assert new["offsets"] == [0, 0]
    assert not new["has_mask"], "no selection, so no mask"
    assert new["name"] == "Dream — block10", "a short name: the rest is in the parasite"
    assert not case["source"]["visible"], "the source must be hidden, not shown under the dream"
    assert case["selected"] == [new["name"]]
    recorded = json.loads(case["parasite"])
    assert recorded["params"]["octave_count"] == 2 and recorded["seed"] == 7
    assert recorded["layers"] == ["block10"] and recorded["source"] == "Background"
    assert case["info"]["model"], case["info"]


def test_pixels_are_dreamed(dreamed):
    _case(dreamed, "rgba8")
    out = dreamed["out"]
    src = read_png(out / "rgba8-source.png")
    new = read_png(out / "rgba8-layer.png")
    assert src.shape == new.shape == (H, W, 4)
    _assert_dreamed(src, new)


def test_alpha_kept(dreamed, images):
    _case(dreamed, "rgba8")
    original = read_png(images["rgba8"])
    new = read_png(dreamed["out"] / "rgba8-layer.png")
    assert new.shape[-1] == 4, "alpha channel lost"
    assert np.array_equal(new[..., 3], original[..., 3]), "alpha changed"


def test_sixteen_bit_stays_sixteen_bit(dreamed, images):
    case = _case(dreamed, "rgb16")
    assert case["precision_before"].startswith("u16")
    assert case["precision"] == case["precision_before"]
    path = dreamed["out"] / "rgb16-layer.png"
    assert png_info(path)[2:] == (16, 3), "exported layer is not 16-bit RGB"
    src = read_png(images["rgb16"])
    new = read_png(path)
    assert new.dtype == np.uint16
    _assert_dreamed(src, new)
    # Real 16-bit values, not 8-bit ones scaled up (those are all multiples of 257).
    assert np.count_nonzero(new % 257) > new.size // 4, "result was squeezed through 8 bits"


def test_grayscale_with_alpha(dreamed, images):
    case = _case(dreamed, "graya8")
    assert case["new_layer"]["is_gray"] and case["new_layer"]["has_alpha"]
    src = read_png(images["graya8"])
    new = read_png(dreamed["out"] / "graya8-layer.png")
    assert new.shape == (H, W, 2)
    assert np.array_equal(new[..., 1], src[..., 1]), "alpha changed"
    _assert_dreamed(src, new, slice(0, 1))


def test_float_precision_kept(dreamed):
    case = _case(dreamed, "float")
    assert case["precision"] == case["precision_before"] == "float-non-linear"
    src = read_png(dreamed["out"] / "float-source.png")
    new = read_png(dreamed["out"] / "float-layer.png")
    _assert_dreamed(src, new)


def test_selection_respected(dreamed, images):
    case = _case(dreamed, "selection")
    new = case["new_layer"]
    assert not new["has_mask"], "the dream is blended in through the selection, no mask"
    assert (new["width"], new["height"]) == (W, H)
    x, y, w, h = SELECTION
    inside = np.zeros((H, W), bool)
    inside[y : y + h, x : x + w] = True
    src = read_png(images["rgb8"]).astype(int)
    visible = read_png(dreamed["out"] / "selection-visible.png").astype(int)[..., :3]
    layer = read_png(dreamed["out"] / "selection-layer.png").astype(int)[..., :3]
    assert np.array_equal(visible[~inside], src[~inside]), "pixels outside the selection changed"
    assert np.abs(visible[inside] - src[inside]).mean() > 0.3, "the selection was not dreamed"
    # The layer itself holds the source's pixels outside the selection.
    assert np.array_equal(layer[~inside], src[~inside])
    rect = case["info"]["rect"]
    assert rect[2] < W or rect[3] < H, f"the whole layer was sent: {rect}"


def test_guide_image(dreamed):
    case = _case(dreamed, "guide")
    src = read_png(dreamed["out"] / "guide-source.png")
    new = read_png(dreamed["out"] / "guide-layer.png")
    _assert_dreamed(src, new)
    assert case["info"]["params"]["octave_count"] == 2


def test_style_layer(dreamed, images):
    """A style source gives a new, styled layer: changed, its colours moved towards the
    style's, the picture still there, and the style recorded."""
    case = _case(dreamed, "style")
    src = _as_unit(read_png(dreamed["out"] / "style-source.png"))[..., :3]
    new = _as_unit(read_png(dreamed["out"] / "style-layer.png"))[..., :3]
    style = _as_unit(read_png(images["style"]))[..., :3]
    assert new.shape == src.shape == (H, W, 3)
    assert np.abs(new - src).mean() > 4 / 255, "the styled layer is hardly different"
    mean = lambda a: a.reshape(-1, 3).mean(axis=0)  # noqa: E731
    assert np.linalg.norm(mean(new) - mean(style)) < np.linalg.norm(mean(src) - mean(style))
    assert np.corrcoef(src.mean(-1).ravel(), new.mean(-1).ravel())[0, 1] > 0.3
    info = case["info"]
    assert info["style"] == case["style_name"]
    assert info["params"]["style_weight"] == 2.0 and info["params"]["content_weight"] == 0.3
    assert info["params"]["style_layers"] and info["params"]["content_layer"]
    assert case["new_layer"]["name"] == f"Style — {case['style_name']}"


def test_too_large_fails_with_the_limit(dreamed):
    case = dreamed["cases"]["big"]
    assert case["status"] == "execution-error", case
    message = case["error"] or ""
    assert "too large" in message and f"{DAEMON_MAX_PIXELS}" in message, message
    assert len(case["layers"]) == 1, "a layer was added although the dream failed"


def test_no_daemon_fails_with_message(gimp, share, gimp_profile, images):
    """With nothing listening, the procedure returns an error status naming the fix."""
    out = share / "out-nodaemon"
    out.mkdir(exist_ok=True)
    nobody = f"ipc://{share}/nobody-here.sock"
    job = {
        "cases": {"rgba8": {"input": str(images["rgba8"]), "params": PARAMS, "out": str(out)}},
        "report": str(out / "report.json"),
    }
    report = run_batch(gimp, share, gimp_profile, job, nobody)
    case = report["cases"]["rgba8"]
    assert case["status"] == "execution-error", case
    message = case["error"] or ""
    assert "not running" in message, message
    assert "dreamd serve" in message, message
    assert nobody in message, message
    assert len(case["layers"]) == 1, "a layer was added although the dream failed"


def test_doctor_all_ok(gimp, share, gimp_profile, dreamd_endpoint):
    """``dreamd gimp doctor`` finds everything in place, the daemon included."""
    import shlex

    res = dreamd_cli(
        "gimp", "doctor", "--gimp-dir", str(gimp_profile),
        "--gimp-python", shlex.join(gimp.python_command([share])),
        "--connect", dreamd_endpoint,
    )  # fmt: skip
    assert res.returncode == 0, res.stdout + res.stderr
    assert "FAIL" not in res.stdout
    assert "daemon reachable" in res.stdout and "import zmq" in res.stdout
