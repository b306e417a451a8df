"""The plug-in in real GIMP 3, against a real dreamd.

One GIMP batch run dreams every case (loading images, calling python-fu-deepdream
non-interactively, exporting PNGs); the tests then check the files from outside GIMP.
A second run, with no daemon at the endpoint, checks the failure message. Images are
small (96×64) and the dreams short (2 octaves × 2 steps) to keep the CPU time low.

Run:  python -m pytest tests/gimp        (root; the first run builds the chroot, ~1 min)
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from gimprunner import GimpRunner, dreamd_cli
from pngio import png_info, read_png, write_png

from .conftest import DAEMON_MAX_PIXELS

W, H = 96, 64
SELECTION = (8, 8, 24, 20)  # x, y, w, h: with the 32-pixel context, x < 64 is sent
PARAMS = {"octave-count": 2, "steps-per-octave": 2, "step-size": 2.0, "seed": 7}
STYLE_PARAMS = {**PARAMS, "steps-per-octave": 10, "step-size": 4.0, "style-weight": 2.0}
BATCH_SCRIPT = Path(__file__).with_name("batch_dream.py")


def _picture(seed: int = 0) -> np.ndarray:
    """A 96×64 float RGB picture in [0, 1] with edges, gradients and some texture."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:H, 0:W].astype(np.float64)
    r = 0.5 + 0.4 * np.sin(xx / 7.0) * np.cos(yy / 5.0)
    g = np.clip(((xx - 48) ** 2 + (yy - 32) ** 2) < 400, 0, 1) * 0.6 + 0.2
    b = (xx + yy) / (W + H)
    img = np.stack([r, g, b], axis=-1) + rng.normal(0, 0.03, (H, W, 3))
    return np.clip(img, 0, 1)


def _style_picture() -> np.ndarray:
    """A 120×80 style unlike the picture: warm diagonal stripes with a fine checker."""
    yy, xx = np.mgrid[0:80, 0:120].astype(np.float64)
    stripes = 0.5 + 0.5 * np.sin((xx + yy) / 3.0)
    checker = ((xx // 4 + yy // 4) % 2) * 0.3
    r = np.clip(0.6 + 0.4 * stripes, 0, 1)
    g = np.clip(0.2 + 0.3 * stripes + checker, 0, 1)
    b = np.clip(0.1 + checker * 0.5, 0, 1)
    return np.stack([r, g, b], axis=-1)


def _alpha() -> np.ndarray:
    """Alpha that varies: opaque left half, 25 % right half, a transparent-ish stripe."""
    a = np.full((H, W), 1.0)
    a[:, W // 2 :] = 0.25
    a[10:14, :] = 0.6
    return a


def _u8(x: np.ndarray) -> np.ndarray:
    return np.round(x * 255).astype(np.uint8)


def _u16(x: np.ndarray) -> np.ndarray:
    return np.round(x * 65535).astype(np.uint16)


def _run(gimp: GimpRunner, share: Path, profile: Path, job: dict[str, Any], endpoint: str):
    script = f"JOB = {json.dumps(job)!r}\nimport json as _j\nJOB = _j.loads(JOB)\n"
    script += BATCH_SCRIPT.read_text()
    res = gimp.run_batch(
        script,
        profile=profile,
        share=[share],
        env={"DREAMD_ENDPOINT": endpoint},
        timeout=600,
    )
    report_path = Path(job["report"])
    if not report_path.exists():
        pytest.fail(
            f"GIMP wrote no report (exit {res.returncode}):\n{res.output[-6000:]}", pytrace=False
        )
    report = json.loads(report_path.read_text())
    report["_output"] = res.output
    return report


@pytest.fixture(scope="module")
def images(share: Path) -> dict[str, Path]:
    d = share / "in"
    d.mkdir(exist_ok=True)
    pic = _picture(0)
    paths = {
        "rgba8": d / "rgba8.png",
        "rgb8": d / "rgb8.png",
        "rgb16": d / "rgb16.png",
        "graya8": d / "graya8.png",
        "guide": d / "guide.png",
        "style": d / "style.png",
        "big": d / "big.png",
    }
    write_png(paths["rgba8"], _u8(np.concatenate([pic, _alpha()[..., None]], axis=-1)))
    write_png(paths["rgb8"], _u8(pic))
    write_png(paths["rgb16"], _u16(pic))
    grey = pic.mean(axis=-1, keepdims=True)
    write_png(paths["graya8"], _u8(np.concatenate([grey, _alpha()[..., None]], axis=-1)))
    write_png(paths["guide"], _u8(_picture(5)[::-1, ::-1]))
    write_png(paths["style"], _u8(_style_picture()))
    write_png(paths["big"], np.zeros((160, 160, 3), np.uint8))  # over the daemon's limit
    return paths


@pytest.fixture(scope="module")
def dreamed(gimp, share, gimp_profile, dreamd_endpoint, images) -> dict[str, Any]:
    """Run every case in one GIMP session; returns the report (with exported file paths)."""
    out = share / "out"
    out.mkdir(exist_ok=True)
    cases = {
        "rgba8": {"input": str(images["rgba8"]), "params": PARAMS},
        "rgb16": {"input": str(images["rgb16"]), "params": PARAMS},
        "graya8": {"input": str(images["graya8"]), "params": PARAMS},
        "float": {
            "input": str(images["rgb8"]),
            "precision": "FLOAT_NON_LINEAR",
            "params": PARAMS,
        },
        "selection": {"input": str(images["rgb8"]), "select": SELECTION, "params": PARAMS},
        "guide": {"input": str(images["rgb8"]), "guide": str(images["guide"]), "params": PARAMS},
        "style": {
            "input": str(images["rgb8"]),
            "style": str(images["style"]),
            "params": STYLE_PARAMS,
        },
        "big": {"input": str(images["big"]), "params": PARAMS},
    }
    for name, case in cases.items():
        case["out"] = str(out / name)
    report = _run(
        gimp,
        share,
        gimp_profile,
        {"cases": cases, "report": str(out / "report.json")},
        dreamd_endpoint,
    )
    report["out"] = out
    return report


def _case(report: dict[str, Any], name: str) -> dict[str, Any]:
    case = report["cases"].get(name)
    assert case is not None, f"case {name} did not run:\n{report['_output'][-4000:]}"
    assert case["status"] == "success", (
        f"{name}: {case['status']}: {case.get('error')}\n{report['_output'][-4000:]}"
    )
    return case


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


def test_new_layer_above_source_same_size(dreamed):
    case = _case(dreamed, "rgba8")
    assert len(case["layers"]) == 2, case["layers"]
    assert case["new_index"] == case["source_index"] - 1 == 0, "new layer is not just above"
    new = case["new_layer"]
    assert (new["width"], new["height"]) == (W, H)
    assert new["offsets"] == [0, 0]
    assert not new["has_mask"], "no selection, so no mask"
    assert new["name"].startswith(case["source_name"]), new["name"]
    assert "dream" in new["name"]
    assert json.loads(case["parasite"])["params"]["octave_count"] == 2
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
    assert new["has_mask"], "the new layer has no selection mask"
    assert (new["width"], new["height"]) == (W, H)
    x, y, w, h = SELECTION
    inside = np.zeros((H, W), bool)
    inside[y : y + h, x : x + w] = True
    src = read_png(images["rgb8"]).astype(int)
    visible = read_png(dreamed["out"] / "selection-visible.png").astype(int)[..., :3]
    layer = read_png(dreamed["out"] / "selection-layer.png").astype(int)[..., :3]
    assert np.array_equal(visible[~inside], src[~inside]), "pixels outside the selection changed"
    assert np.abs(visible[inside] - src[inside]).mean() > 0.3, "the selection was not dreamed"
    # The layer itself: source pixels far outside the selection's bounds (beyond the context
    # margin), so hiding the mask does not reveal a dream of the whole layer.
    assert np.array_equal(layer[:, 64:], src[:, 64:])
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
    assert info["params"]["style_weight"] == 2.0 and info["params"]["content_weight"] == 0.5
    assert info["params"]["style_layers"] and info["params"]["content_layer"]
    assert case["new_layer"]["name"].startswith(case["source_name"] + " · style ")


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
    report = _run(gimp, share, gimp_profile, job, nobody)
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


DIALOG_DRIVER = r"""
set -u
Xvfb -displayfd 3 -screen 0 1280x900x24 -nolisten tcp 3>"$WORK/display" >"$WORK/xvfb.log" 2>&1 &
XPID=$!
for _ in $(seq 100); do [ -s "$WORK/display" ] && break; sleep 0.1; done
export DISPLAY=":$(cat "$WORK/display")"
timeout 300 gimp-3.0 --no-splash --batch-interpreter python-fu-eval -b - \
    < "$WORK/script.py" > "$WORK/gimp.log" 2>&1 &
GPID=$!
W=""
for _ in $(seq 240); do
    W=$(xdotool search --name '^DeepDream$' 2>/dev/null | head -1)
    [ -n "$W" ] && break
    kill -0 $GPID 2>/dev/null || break
    sleep 0.5
done
echo "dialog window: ${W:-none}"
if [ -n "$W" ]; then
    sleep 1
    xdotool windowfocus --sync "$W" key --clearmodifiers Return
fi
for _ in $(seq 600); do
    [ -f "$WORK/report.json" ] && break
    kill -0 $GPID 2>/dev/null || break
    sleep 0.5
done
kill $GPID 2>/dev/null; wait $GPID 2>/dev/null
kill $XPID 2>/dev/null; wait $XPID 2>/dev/null
true
"""


def test_dialog_ok_then_last_values(gimp, share, gimp_profile, dreamd_endpoint, images):
    """The real dialog (GIMP's GUI under Xvfb): it opens with the daemon's catalogue, OK
    dreams with the values it shows, and a WITH_LAST_VALS run reuses them."""
    probe = gimp.run(["sh", "-c", "command -v Xvfb && command -v xdotool && command -v gimp-3.0"])
    if probe.returncode != 0:
        pytest.skip("Xvfb, xdotool or gimp-3.0 missing where GIMP runs (setup_gimp.sh adds them)")
    work = share / "dialog"
    work.mkdir(exist_ok=True)
    preset = {"octave-count": 2, "steps-per-octave": 2, "seed": 1234}
    job = {"input": str(images["rgb8"]), "preset": preset, "report": str(work / "report.json")}
    (work / "script.py").write_text(
        f"JOB = {json.dumps(job)!r}\nimport json as _j\nJOB = _j.loads(JOB)\n"
        + Path(__file__).with_name("batch_dialog.py").read_text()
    )
    res = gimp.run(
        ["bash", "-c", DIALOG_DRIVER],
        env={
            "WORK": str(work),
            "HOME": str(gimp_profile),
            "GIMP3_DIRECTORY": str(gimp_profile),
            "DREAMD_ENDPOINT": dreamd_endpoint,
        },
        share=[share],
        timeout=400,
    )
    log = (work / "gimp.log").read_text(errors="replace") if (work / "gimp.log").exists() else ""
    assert (work / "report.json").exists(), f"{res.output}\n{log[-4000:]}"
    report = json.loads((work / "report.json").read_text())
    assert "exception" not in report, report["exception"]
    assert "dialog window: none" not in res.stdout, f"the dialog never opened\n{log[-4000:]}"
    first, second = report["interactive"], report["last_vals"]
    assert first["status"] == "success", (first, log[-4000:])
    assert first["info"]["params"]["octave_count"] == 2
    assert first["info"]["seed"] == 1234
    assert second["status"] == "success", (second, log[-4000:])
    assert second["info"]["params"]["octave_count"] == 2, "last values were not kept"
    assert second["info"]["seed"] == 1234
    assert len(report["layers"]) == 3
    assert "Traceback" not in log, log[-4000:]
