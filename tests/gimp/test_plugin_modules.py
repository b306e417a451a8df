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


def test_build_params():
    values = {a[0]: a[3] for a in procedure_args.ARGUMENTS}
    values.update({"layer": "inception_4c/output; inception_4d/output:3,17", "model": ""})
    params = procedure_args.build_params(values)
    assert 0 <= params["seed"] < 2**31  # -1: a new seed that fits the dialog's field
    assert params["layers"] == ["inception_4c/output", "inception_4d/output:3,17"]
    assert params["octave_count"] == "auto" and params["octave_scale"] == 1.3
    values["seed"] = 5
    values["layer"] = ""
    params = procedure_args.build_params(values)
    assert params["seed"] == 5 and "layers" not in params
    assert procedure_args.argument_names()[:2] == ["model", "layer"]


def test_layer_names_are_short():
    """A painter reads the network layer; the rest is in the parasite, so a dream of a
    dream does not pile names up."""
    assert procedure_args.layer_name(["inception_4c/output"]) == "Dream — inception_4c"
    assert procedure_args.layer_name([{"name": "block10"}, "block12:3,4"]) == (
        "Dream — block10 + block12:3,4"
    )
    assert procedure_args.layer_name([]) == "Dream — default layer"
    assert procedure_args.layer_name([], style="Painting") == "Style — Painting"
    assert procedure_args.layer_name(["block10"], style="Painting") == (
        "Style — Painting + block10"
    )


def test_style_params():
    values = {a[0]: a[3] for a in procedure_args.ARGUMENTS}
    values.update({"seed": 3, "layer": "", "style-weight": 2.0})
    assert "style_weight" not in procedure_args.build_params(values)  # no style: no style params
    values["style"] = object()  # a drawable
    params = procedure_args.build_params(values)
    assert (params["style_weight"], params["content_weight"]) == (2.0, 0.3)
    assert params["style_scale"] == 1.0 and "keep_colors" not in params
    values.update({"keep-colors": True, "style-scale": 2.0})
    params = procedure_args.build_params(values)
    assert params["keep_colors"] is True and params["style_scale"] == 2.0
    assert procedure_args.argument_names()[-6:] == [
        "style",
        "style-weight",
        "content-weight",
        "detail-size",
        "style-scale",
        "keep-colors",
    ]


def test_auto_octaves_and_detail_size():
    values = {a[0]: a[3] for a in procedure_args.ARGUMENTS}
    values.update({"seed": 3, "octave-count": procedure_args.AUTO_OCTAVES, "detail-size": 2048})
    params = procedure_args.build_params(values)
    assert params["octave_count"] == "auto" and params["detail_size"] == 2048
    values.update({"octave-count": 6, "detail-size": 0})
    params = procedure_args.build_params(values)
    assert params["octave_count"] == 6 and "detail_size" not in params


def test_presets_set_known_arguments_within_range():
    ranges = {a[0]: (a[4], a[5]) for a in procedure_args.ARGUMENTS}
    ranges.update({a[0]: (a[3], a[4]) for a in procedure_args.STYLE_ARGUMENTS})
    assert list(procedure_args.PRESETS) == ["subtle", "classic", "strong", "style"]
    style = procedure_args.PRESETS["style"].values
    # the Style preset is what the daemon advises for a style (protocol.STYLE_DEFAULTS)
    from dreamd import protocol

    for key, value in protocol.STYLE_DEFAULTS.items():
        assert style[key.replace("_", "-")] == value, key
    for preset in procedure_args.PRESETS.values():
        for prop, value in preset.values.items():
            lo, hi = ranges[prop]
            assert lo <= value <= hi, (preset.label, prop, value)
    strength = [p.values["step-size"] for p in procedure_args.PRESETS.values()]
    assert strength[:3] == sorted(strength[:3]), "Subtle < Classic < Strong"


def test_memory_round_trip_and_sanity():
    values = {a[0]: a[3] for a in procedure_args.ARGUMENTS}
    values.update({"model": "m", "layer": "block10", "guide": 12, "style": None})
    values["steps-per-octave"] = 33
    text = procedure_args.memory_text(values, 4242, session=7)
    back, seed = procedure_args.memory_values(text, session=7)
    assert seed == 4242
    assert back["steps-per-octave"] == 33 and back["layer"] == "block10" and back["guide"] == 12
    # Drawable ids mean nothing in another GIMP session; values out of range are dropped.
    back, _ = procedure_args.memory_values(text, session=8)
    assert "guide" not in back and back["style"] is None
    bad = json.dumps({"values": {"steps-per-octave": 10**9, "step-size": "x", "iterations": 2}})
    assert procedure_args.memory_values(bad, 1) == ({"iterations": 2}, None)
    assert procedure_args.memory_values("not json", 1) == ({}, None)


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


def test_unreachable_note_says_what_ok_will_do():
    started = daemon.unreachable_note({"start_command": ["dreamd", "serve"]}, "ipc:///s")
    assert "OK will start it (dreamd serve)" in started and "Retry" in started
    failing = daemon.unreachable_note({}, "ipc:///s")
    assert "not running at ipc:///s" in failing and "OK would fail" in failing
    assert "dreamd serve" in failing and "Retry" in failing


def test_start_daemon(tmp_path):
    marker = tmp_path / "started"
    cfg = {"start_command": [sys.executable, "-c", f"open({str(marker)!r}, 'w').write('x')"]}
    proc = daemon.start_daemon(cfg, log_dir=tmp_path)
    assert proc is not None
    proc.wait(timeout=30)
    assert daemon.wait_until(marker.exists, timeout=5)
    assert daemon.start_daemon({}, log_dir=tmp_path) is None
