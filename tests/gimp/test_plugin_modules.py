"""The plug-in's GIMP-free modules (pixels, parameters, reaching dreamd), on the host."""

from __future__ import annotations

import array
import json
import sys

import pytest

from dreamd.gimp.dreamd_deepdream import dreamd_gimp_daemon as daemon
from dreamd.gimp.dreamd_deepdream import dreamd_gimp_params as procedure_args
from dreamd.gimp.dreamd_deepdream import dreamd_gimp_pixels as pixels

# ---------------------------------------------------------------------------------------------
# pixels


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
    fmt = pixels.pixel_format(precision, gray, alpha)
    assert (fmt.babl, fmt.dtype, fmt.channels, fmt.has_alpha) == (babl, dtype, channels, alpha)


@pytest.mark.parametrize(("dtype", "code"), [("u8", "B"), ("u16", "H"), ("f32", "f")])
def test_restore_alpha(dtype, code):
    fmt = pixels.PixelFormat(f"R'G'B'A {dtype}", dtype, 4)
    src = array.array(code, [1, 2, 3, 4, 5, 6, 7, 8])
    out = array.array(code, [10, 20, 30, 40, 50, 60, 70, 80])
    got = array.array(code)
    got.frombytes(pixels.restore_alpha(out.tobytes(), src.tobytes(), fmt))
    assert list(got) == [10, 20, 30, 4, 50, 60, 70, 8]
    rgb = pixels.PixelFormat("R'G'B' u8", "u8", 3)
    assert pixels.restore_alpha(b"abc", b"xyz", rgb) == b"abc"


def test_dream_rect():
    assert pixels.dream_rect((0, 0, 96, 64), (96, 64), False) == (0, 0, 96, 64)
    assert pixels.dream_rect((40, 30, 10, 10), (200, 100), True, margin=8) == (32, 22, 26, 26)
    assert pixels.dream_rect((0, 0, 10, 10), (20, 20), True, margin=32) == (0, 0, 20, 20)


# ---------------------------------------------------------------------------------------------
# parameters


def test_build_params_and_name():
    values = {a[0]: a[3] for a in procedure_args.ARGUMENTS}
    values.update({"layer": "inception_4c/output; inception_4d/output:3,17", "model": ""})
    params = procedure_args.build_params(values)
    assert 0 <= params["seed"] < 2**31  # -1: a new seed that fits the dialog's field
    assert params["layers"] == ["inception_4c/output", "inception_4d/output:3,17"]
    assert params["octave_count"] == 4 and params["octave_scale"] == 1.3
    values["seed"] = 5
    values["layer"] = ""
    params = procedure_args.build_params(values)
    assert params["seed"] == 5 and "layers" not in params
    name = procedure_args.layer_name("Background", params, "googlenet", "inception_4c/output")
    assert name.startswith("Background · dream inception_4c/output")
    assert "seed 5" in name and "googlenet" in name
    assert procedure_args.argument_names()[:2] == ["model", "layer"]


def test_style_params_and_name():
    values = {a[0]: a[3] for a in procedure_args.ARGUMENTS}
    values.update({"seed": 3, "layer": "", "style-weight": 2.0})
    assert "style_weight" not in procedure_args.build_params(values)  # no style: no style params
    values["style"] = object()  # a drawable
    params = procedure_args.build_params(values)
    assert (params["style_weight"], params["content_weight"]) == (2.0, 0.5)
    name = procedure_args.layer_name("Photo", params, style="Painting")
    assert name.startswith("Photo · style Painting 4×1.3"), name
    params["layers"] = ["block10"]
    name = procedure_args.layer_name("Photo", params, style="Painting")
    assert name.startswith("Photo · style Painting + dream block10")
    assert procedure_args.argument_names()[-3:] == ["style", "style-weight", "content-weight"]


def test_catalogue_from_status():
    status = {
        "model": "googlenet",
        "default_layer": "inception_4c/output",
        "layers": {"googlenet": [{"name": "inception_4c/output", "channels": 512}, "conv2/3x3"]},
    }
    models, default, defaults = procedure_args.catalogue_from_status(status)
    assert models == {"googlenet": ["inception_4c/output", "conv2/3x3"]}
    assert default == "googlenet" and defaults == {"googlenet": "inception_4c/output"}
    models, default, defaults = procedure_args.catalogue_from_status({"model": "m"})
    assert models == {"m": []} and default == "m" and defaults == {}


# ---------------------------------------------------------------------------------------------
# reaching dreamd


def test_load_config_env_override(tmp_path, monkeypatch):
    (tmp_path / daemon.CONFIG_NAME).write_text(json.dumps({"endpoint": "ipc:///a"}))
    monkeypatch.delenv("DREAMD_ENDPOINT", raising=False)
    assert daemon.load_config(tmp_path)["endpoint"] == "ipc:///a"
    monkeypatch.setenv("DREAMD_ENDPOINT", "tcp://127.0.0.1:5999")
    assert daemon.load_config(tmp_path)["endpoint"] == "tcp://127.0.0.1:5999"
    assert daemon.load_config(tmp_path / "none")["endpoint"] == "tcp://127.0.0.1:5999"


def test_friendly_errors():
    protocol = pytest.importorskip("dreamd.protocol")
    cfg = {"start_command": ["dreamd", "serve", "--device", "cpu"]}
    msg = daemon.friendly_error(protocol.Unreachable("x"), cfg, "ipc:///s")
    assert "not running at ipc:///s" in msg and "dreamd serve --device cpu" in msg
    assert "dreamd serve" in daemon.friendly_error(protocol.Unreachable("x"), {}, None)
    err = protocol.Rejected("TOO_LARGE", "4000×4000 is 16000000 pixels, the limit is 8000000")
    msg = daemon.friendly_error(err, {}, None)
    assert "too large" in msg and "the limit is 8000000" in msg
    msg = daemon.friendly_error(protocol.VersionMismatch(((2, 0),)), {}, None)
    assert "update" in msg.lower() and "plug-in" in msg
    msg = daemon.friendly_error(protocol.VersionMismatch(((0, 1),)), {}, None)
    assert "daemon" in msg.lower()
    assert "timed out" in daemon.friendly_error(protocol.RequestTimeout("t"), {}, None)


def test_start_daemon(tmp_path):
    marker = tmp_path / "started"
    cfg = {"start_command": [sys.executable, "-c", f"open({str(marker)!r}, 'w').write('x')"]}
    proc = daemon.start_daemon(cfg, log_dir=tmp_path)
    assert proc is not None
    proc.wait(timeout=30)
    assert daemon.wait_until(marker.exists, timeout=5)
    assert daemon.start_daemon({}, log_dir=tmp_path) is None
