"""Style transfer through the real daemon: the style frame, its parameters, its errors."""

from __future__ import annotations

import io
import uuid

import numpy as np
import pytest

from dreamd import codec, engine, protocol

from .conftest import Daemon, RawClient, dream_frames, header, raw_client, raw_image

#: A style that shows in few steps (2 octaves × 10 steps, cheap at 96×96 on a CPU).
STYLE = {
    "octave_count": 2,
    "steps_per_octave": 10,
    "step_size": 4.0,
    "jitter": 0,
    "seed": 0,
    "precision": "fp32",
}


def _photo(name: str, size: tuple[int, int]) -> np.ndarray:
    from PIL import Image
    from skimage import data

    return np.asarray(Image.fromarray(getattr(data, name)()).resize(size, Image.Resampling.LANCZOS))


@pytest.fixture(scope="module")
def content() -> np.ndarray:
    return _photo("astronaut", (96, 96))


@pytest.fixture(scope="module")
def style_png() -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(_photo("coffee", (120, 80))).save(buf, "PNG")
    return buf.getvalue()


def _png(data: bytes, width: int = 120, height: int = 80, channels: int = 3) -> protocol.Image:
    return protocol.Image.encoded(data, "png", width, height, channels)


def _pixels(result: protocol.DreamResult) -> np.ndarray:
    d = result.image.desc
    dtype = {"u8": np.uint8, "u16": np.dtype("<u2"), "f32": np.dtype("<f4")}[d.dtype]
    arr = np.frombuffer(bytes(result.image.data), dtype=dtype)
    return arr.reshape(d.height, d.width, d.channels)


def test_a_style_job_moves_the_picture_towards_the_style(daemon: Daemon, content, style_png, lite0):
    with daemon.client() as c:
        styled = c.dream(raw_image(content), STYLE, style=_png(style_png))
        plain = c.dream(raw_image(content), STYLE)
    out, dreamed = _pixels(styled), _pixels(plain)
    assert out.shape == content.shape and out.dtype == np.uint8
    assert np.abs(out.astype(int) - dreamed.astype(int)).mean() > 2, "no different from a dream"

    from PIL import Image

    style = codec.to_float(np.asarray(Image.open(io.BytesIO(style_png))))
    before = engine.style_distance(lite0, codec.to_float(content), style)
    after = engine.style_distance(lite0, codec.to_float(out), style)
    assert after < 0.7 * before, (before, after)

    cat = lite0.catalogue
    defaults = [lay.name for lay in cat.style_defaults]
    assert styled.params["style_layers"] == defaults
    assert styled.params["content_layer"] == cat.content_default.name
    assert styled.params["style_weight"] == 1.0 and styled.params["content_weight"] == 0.3
    assert styled.params["style_optimizer"] == "adam"
    assert set(styled.layers) == {*defaults, cat.content_default.name}
    assert styled.seed == 0


def test_style_params_and_a_dream_layer_are_honoured(daemon: Daemon, content, style_png):
    params = {
        **STYLE,
        "steps_per_octave": 2,
        "style_layers": ["block2", "BLOCK4"],
        "content_layer": "block7",
        "style_weight": 3.0,
        "content_weight": 0.25,
        "style_max_side": 64,
        "layers": ["block10"],
    }
    with daemon.client() as c:
        result = c.dream(raw_image(content), params, style=_png(style_png))
        status = c.status()
    assert result.params["style_layers"] == ["block2", "block4"]  # canonical names
    assert result.params["content_layer"] == "block7"
    assert (result.params["style_weight"], result.params["content_weight"]) == (3.0, 0.25)
    assert result.params["style_max_side"] == 64
    assert set(result.layers) == {"block10", "block2", "block4", "block7"}
    assert status["default_style_layers"] and status["default_content_layer"]


def test_alpha_and_sixteen_bits_survive_a_style(daemon: Daemon, content):
    alpha = np.tile(np.linspace(0, 65535, 96).astype("<u2"), (96, 1))
    rgba = np.dstack([content.astype("<u2") * 257, alpha]).astype("<u2")
    gray_style = _photo("camera", (64, 64))[:, :, None]  # a 1-channel raw style
    with daemon.client() as c:
        quick = {**STYLE, "steps_per_octave": 2}
        result = c.dream(raw_image(rgba), quick, style=raw_image(gray_style))
    out = _pixels(result)
    assert result.image.desc.dtype == "u16" and out.shape == rgba.shape
    np.testing.assert_array_equal(out[:, :, 3], alpha)
    assert np.count_nonzero(out[:, :, :3] % 257) > out[:, :, :3].size // 4, "squeezed to 8 bits"


def _job_error(rc: RawClient, frames: list[bytes]) -> dict:
    import msgpack

    rc.send(frames)
    job = str(msgpack.unpackb(frames[0])["id"])
    reply, _ = rc.recv_until({"error", "result"}, request_id=job)
    assert reply["type"] == "error", reply
    return reply


def _with_style(content: np.ndarray, desc: dict, data: bytes, **params: object) -> list[bytes]:
    frames = dream_frames(content, {**STYLE, "steps_per_octave": 1, **params}, style=desc)
    return [*frames, data]


PNG_DESC = {"width": 120, "height": 80, "channels": 3, "dtype": "u8", "encoding": "png"}


def test_bad_style_images_are_refused_naming_the_style(daemon: Daemon, content, style_png):
    with raw_client(daemon.endpoint) as rc:
        # not a PNG at all: refused before queueing (signature)
        reply = _job_error(rc, _with_style(content, PNG_DESC, b"GIF89a" + b"\0" * 64))
        assert (reply["code"], reply["field"]) == ("BAD_IMAGE", "style")
        # a PNG whose body is damaged: fails in the worker, still naming the style
        broken = style_png[:60] + b"\0" * 200
        reply = _job_error(rc, _with_style(content, PNG_DESC, broken))
        assert (reply["code"], reply["field"]) == ("BAD_IMAGE", "style"), reply
        # a PNG that is not the size its descriptor says
        wrong = {**PNG_DESC, "width": 121}
        reply = _job_error(rc, _with_style(content, wrong, style_png))
        assert reply["code"] == "BAD_IMAGE" and reply["field"].startswith("style"), reply
        # raw bytes of the wrong length
        raw = {"width": 8, "height": 8, "channels": 3, "dtype": "u8", "encoding": "raw"}
        reply = _job_error(rc, _with_style(content, raw, b"\0" * 10))
        assert (reply["code"], reply["field"]) == ("BAD_IMAGE", "style"), reply
        # NaN in a float style
        nan = {**raw, "dtype": "f32"}
        nans = np.full((8, 8, 3), np.nan, "<f4").tobytes()
        reply = _job_error(rc, _with_style(content, nan, nans))
        assert (reply["code"], reply["field"]) == ("BAD_IMAGE", "style"), reply
        # a style frame announced but missing
        frames = dream_frames(content, dict(STYLE), style=raw)
        reply = _job_error(rc, frames)
        assert reply["code"] == "BAD_MESSAGE", reply
        # unknown style layer, with a style image
        reply = _job_error(rc, _with_style(content, PNG_DESC, style_png, style_layers=["blok4"]))
        assert (reply["code"], reply["field"]) == ("UNKNOWN_LAYER", "params.style_layers")
        assert "block4" in reply["message"]
    # and the daemon carries on
    with raw_client(daemon.endpoint) as rc:
        assert rc.request([header("ping", uuid.uuid4().hex)])["type"] == "pong"


def test_the_client_library_reports_a_bad_style(daemon: Daemon, content):
    bad = protocol.Image.encoded(b"\x89PNG\r\n\x1a\n" + b"\0" * 100, "png", 120, 80, 3)
    with daemon.client() as c, pytest.raises(protocol.Rejected) as err:
        c.dream(raw_image(content), STYLE, style=bad)
    assert err.value.code == "BAD_IMAGE" and err.value.field == "style"


def test_several_styles_keep_colors_and_a_scale(daemon: Daemon, content, style_png, lite0):
    """Two style images blended, in one request (protocol 1.1), as the engine does it."""
    from PIL import Image

    gravel = _photo("gravel", (64, 64))[:, :, None].repeat(3, axis=2)
    params = {**STYLE, "style_blend": [0.25, 0.75], "style_scale": 0.5}
    with daemon.client() as c:
        both = c.dream(raw_image(content), params, style=[_png(style_png), raw_image(gravel)])
        kept = c.dream(raw_image(content), {**STYLE, "keep_colors": True}, style=_png(style_png))
    assert both.params["style_blend"] == [0.25, 0.75] and both.params["style_scale"] == 0.5
    coffee = codec.to_float(np.asarray(Image.open(io.BytesIO(style_png))))
    expected = engine.dream(
        lite0,
        codec.to_float(content),
        engine.DreamParams.from_mapping(params),
        style=[coffee, codec.to_float(gravel)],
    ).image
    np.testing.assert_array_equal(_pixels(both), codec.from_float(expected, np.uint8))
    assert kept.params["keep_colors"] is True
    from skimage import color

    ab = lambda img: color.rgb2lab(img)[:, :, 1:]  # noqa: E731
    assert np.abs(ab(_pixels(kept)) - ab(content)).mean() < 3.0


def test_a_blend_that_does_not_fit_the_styles_is_refused_before_queueing(
    daemon: Daemon, content, style_png
):
    with raw_client(daemon.endpoint) as rc:
        blend = {**STYLE, "style_blend": [1.0, 2.0]}
        frames = [*dream_frames(content, blend, style=PNG_DESC), style_png]
        reply = _job_error(rc, frames)
        assert (reply["code"], reply["field"]) == ("BAD_VALUE", "params.style_blend")
        # several styles, the second one broken: named by its entry
        desc = [PNG_DESC, PNG_DESC]
        frames = [*dream_frames(content, dict(STYLE), style=desc), style_png, b"GIF89a" + bytes(64)]
        reply = _job_error(rc, frames)
        assert (reply["code"], reply["field"]) == ("BAD_IMAGE", "style[1]"), reply


def test_a_styled_video_frame_is_the_engines(daemon: Daemon, content, style_png, lite0):
    """Protocol 1.2: a frame that starts elsewhere, keeps ``content``'s content and is held
    to ``previous`` where ``previous_weight`` says so, exactly as the engine makes it."""
    from PIL import Image

    rng = np.random.default_rng(0)
    start = np.clip(content + rng.normal(0, 20, content.shape), 0, 255).astype(np.uint8)
    previous = np.clip(content + rng.normal(0, 40, content.shape), 0, 255).astype(np.uint8)
    weight = np.zeros((96, 96, 1), np.uint8)
    weight[:, :48] = 255
    params = {**STYLE, "steps_per_octave": 4, "temporal_weight": 100.0}
    with daemon.client() as c:
        result = c.dream(
            raw_image(start), params, style=_png(style_png), content=raw_image(content),
            previous=raw_image(previous), previous_weight=raw_image(weight),
        )  # fmt: skip
    assert result.params["temporal_weight"] == 100.0
    coffee = codec.to_float(np.asarray(Image.open(io.BytesIO(style_png))))
    expected = engine.dream(
        lite0, codec.to_float(start), engine.DreamParams.from_mapping(params), style=coffee,
        content=codec.to_float(content), previous=codec.to_float(previous),
        previous_weight=codec.to_float(weight),
    ).image  # fmt: skip
    np.testing.assert_array_equal(_pixels(result), codec.from_float(expected, np.uint8))


def test_a_previous_weight_out_of_range_is_refused_naming_it(daemon: Daemon, content, style_png):
    weight = np.full((96, 96, 1), 2.0, "<f4")
    with daemon.client() as c, pytest.raises(protocol.Rejected) as err:
        c.dream(
            raw_image(content), STYLE, style=_png(style_png), previous=raw_image(content),
            previous_weight=protocol.Image.raw(weight.tobytes(), 96, 96, 1, "f32"),
        )  # fmt: skip
    assert (err.value.code, err.value.field) == ("BAD_VALUE", "previous_weight")
