"""Messages broken in their fields (hypothesis strategies): wrong types, parameter
extremes, bad header fields — each in otherwise valid msgpack."""

from __future__ import annotations

import math
import uuid
from typing import Any

from hypothesis import strategies as st

from dreamd import protocol

from .broken import INT64_MIN, PIXELS, UINT64_MAX, Hostile, pack, valid_dream

_WRONG_TYPED = st.one_of(
    st.text(max_size=6),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.lists(st.integers(0, 9), max_size=3),
    st.dictionaries(st.text(max_size=3), st.integers(0, 9), max_size=2),
)
_INT_PARAMS = {  # name: (lowest valid, highest valid)
    "octave_count": (1, 32),
    "steps_per_octave": (0, 10_000),
    "iterations": (1, 1000),
    "jitter": (0, 4096),
    "seed": (0, 2**63 - 1),
    "tile_size": (64, 16_384),
    "guide_max_side": (32, 2048),
    "style_max_side": (32, 4096),
}
_FLOAT_PARAMS = {
    "octave_scale": (1.01, 4.0),
    "step_size": (0.0, 255.0),
    "style_weight": (0.0, 1e9),
    "content_weight": (0.0, 1e9),
}


def _in_range(value: object, lo: float, hi: float) -> bool:
    """Would the protocol take ``value`` as a number in [lo, hi]?"""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    return math.isfinite(value) and lo <= value <= hi


@st.composite
def wrong_types(draw: st.DrawFn, job_id: str) -> Hostile:
    header = valid_dream(job_id)
    kind = draw(
        st.sampled_from(
            ["dtype", "channels", "encoding", "colorspace", "descriptor", "field", "unknown"]
        )
    )
    if kind == "dtype":
        header["image"]["dtype"] = draw(
            st.one_of(
                st.text(max_size=8).filter(lambda t: t not in ("u8", "u16", "f32")),
                st.sampled_from(["U8", "u32", "f16", "f64", "i8", "uint8", "float32"]),
                _WRONG_TYPED.filter(lambda v: not isinstance(v, str)),
            )
        )
    elif kind == "channels":
        header["image"]["channels"] = draw(
            st.one_of(st.sampled_from([0, 5, 255, -1, INT64_MIN, UINT64_MAX, None]), _WRONG_TYPED)
        )
    elif kind == "encoding":
        header["image"]["encoding"] = draw(
            st.one_of(
                st.text(max_size=8).filter(lambda t: t not in protocol.ENCODINGS),
                _WRONG_TYPED.filter(lambda v: not isinstance(v, str)),
            )
        )
    elif kind == "colorspace":
        header["image"]["colorspace"] = draw(
            st.one_of(
                st.text(max_size=16).filter(lambda t: t != "sRGB"),
                st.integers(INT64_MIN, UINT64_MAX),
            )
        )
    elif kind == "descriptor":
        key = draw(st.sampled_from(["width", "height"]))
        header["image"][key] = draw(
            st.one_of(st.just("8"), st.just(8.0), st.booleans(), st.just([8]), st.none())
        )
    elif kind == "field":
        key, value = draw(
            st.sampled_from(
                [
                    ("image", []),
                    ("image", "8x8"),
                    ("image", 1),
                    ("image", None),
                    ("params", []),
                    ("params", "fast"),
                    ("params", 3),
                    ("model", 1),
                    ("model", ""),
                    ("model", "x" * 300),
                    ("model", "vgg19"),
                    ("priority", 1),
                    ("priority", "urgent"),
                    ("priority", ""),
                    ("guide", []),
                    ("style", "yes"),
                ]
            )
        )
        header[key] = value
        return Hostile(
            "wrong types",
            [pack(header), PIXELS],
            key != "model" or value != "vgg19",
            f"{key}={value!r}"[:40],
        )
    else:
        where = draw(st.sampled_from(["top", "image", "params", "layer"]))
        name = draw(st.text(min_size=1, max_size=12))
        if where == "top" and name not in header:
            header[name] = 1
        elif where == "image" and name not in header["image"]:
            header["image"][name] = 1
        elif where == "params" and name not in protocol.PARAM_NAMES:
            header["params"][name] = 1
        else:
            header["params"]["layers"] = [{"name": "block10", "weight": 1, "bogus": 1}]
    return Hostile("wrong types", [pack(header), PIXELS], detail=kind)


@st.composite
def parameter_extremes(draw: st.DrawFn, job_id: str) -> Hostile:
    header = valid_dream(job_id)
    params: dict[str, Any] = header["params"]
    params["jitter"] = draw(st.integers(0, 32))
    params["step_size"] = draw(st.floats(0, 3))
    kind = draw(st.sampled_from(["issue", "int", "float", "total", "layers", "style", "other"]))
    decoder = True
    if kind == "issue":  # the extremes named in issue 6
        name, value = draw(
            st.sampled_from(
                [
                    ("steps_per_octave", 10**9),
                    ("octave_scale", 1.0001),
                    ("jitter", 10**6),
                    ("step_size", math.nan),
                    ("octave_scale", math.nan),
                    ("step_size", -1.5),
                    ("octave_count", -4),
                ]
            )
        )
        params[name] = value
    elif kind == "int":
        name = draw(st.sampled_from(sorted(_INT_PARAMS)))
        lo, hi = _INT_PARAMS[name]
        params[name] = draw(
            st.one_of(
                st.integers(INT64_MIN, lo - 1),
                st.integers(hi + 1, UINT64_MAX),
                st.floats(allow_nan=True, allow_infinity=True),  # integers must be integers
                st.booleans(),
                st.text(max_size=4),
            )
        )
    elif kind == "float":
        name = draw(st.sampled_from(sorted(_FLOAT_PARAMS)))
        lo, hi = _FLOAT_PARAMS[name]
        params[name] = draw(
            st.one_of(
                st.sampled_from([math.nan, math.inf, -math.inf]),
                st.floats(max_value=lo, exclude_max=True, allow_infinity=True),
                st.floats(min_value=hi, exclude_min=True, allow_infinity=True),
                st.integers(INT64_MIN, math.floor(lo) - 1),
                st.booleans(),
                st.text(max_size=4),
            ).filter(lambda v: not _in_range(v, lo, hi))  # -0.0 is not below 0.0
        )
    elif kind == "total":
        params.update(octave_count=draw(st.integers(11, 32)), steps_per_octave=10_000)
    elif kind == "layers":
        layer = draw(
            st.sampled_from(
                [
                    ["block10"] * 65,
                    [""],
                    ["x" * 257],
                    [{"name": "block10", "channels": []}],
                    [{"name": "block10", "channels": [-1]}],
                    [{"name": "block10", "channels": [70_000]}],
                    [{"name": "block10", "channels": ["a"]}],
                    [{"name": "block10", "weight": math.nan}],
                    [{"name": "block10", "weight": 1e7}],
                    [{"name": "block10", "weight": -math.inf}],
                    [{"weight": 1}],
                    [3],
                    "block10:999999",
                    ["inception_9z/output"],
                    [{"name": "block10", "channels": [5000]}],
                ]
            )
        )
        params["layers"] = layer
        decoder = layer not in (["inception_9z/output"], [{"name": "block10", "channels": [5000]}])
        decoder = decoder and layer != "block10:999999"
    elif kind == "style":
        name, value = draw(
            st.sampled_from(
                [
                    ("style_layers", ["block10"] * 65),
                    ("style_layers", [""]),
                    ("style_layers", 3),
                    ("content_layer", ""),
                    ("content_layer", "x" * 300),
                    ("style_weight", -1.0),
                    ("content_weight", math.inf),
                ]
            )
        )
        params[name] = value
    else:
        name, value = draw(
            st.sampled_from(
                [
                    ("precision", "fp8"),
                    ("precision", 16),
                    ("seed", -1),
                    ("seed", 2**63),
                    ("tile_size", 1),
                    ("iterations", 0),
                    ("octave_count", 0),
                    ("octave_count", 2.0),
                    ("octave_count", True),
                ]
            )
        )
        params[name] = value
    header["params"] = params
    return Hostile("parameter extremes", [pack(header), PIXELS], decoder, kind)


@st.composite
def bad_header(draw: st.DrawFn, job_id: str) -> Hostile:
    kind = draw(st.sampled_from(["v", "type", "id", "cancel", "hello", "status", "reply type"]))
    base: dict[str, Any] = {"v": [1, 0], "type": "ping", "id": job_id}
    decoder = True
    if kind == "v":
        v = draw(
            st.sampled_from(
                [
                    None,
                    [2, 0],
                    [1],
                    "1.0",
                    [-1, 0],
                    [1, 0, 0],
                    [True, 0],
                    [1.0, 0],
                    {},
                    [UINT64_MAX, 0],
                ]
            )
        )
        if v is None:
            del base["v"]
        else:
            base["v"] = v
    elif kind == "type":
        t = draw(st.one_of(st.none(), st.text(max_size=10), st.integers(INT64_MIN, UINT64_MAX)))
        if t in ("hello", "status", "ping", "dream", "cancel"):
            t = t + "!"
        if t is None:
            del base["type"]
        else:
            base["type"] = t
    elif kind == "id":
        i = draw(st.sampled_from([None, "", "x" * 65, "\x00abc", "a\nb", 7, ["x"], {"a": 1}]))
        if i is None:
            del base["id"]
        else:
            base["id"] = i
    elif kind == "cancel":
        base["type"] = "cancel"
        choice = draw(st.sampled_from(["missing", "unknown", "int", "long"]))
        if choice == "unknown":
            base["job"] = uuid.uuid4().hex
            decoder = False  # well formed: UNKNOWN_JOB comes from the daemon
        elif choice == "int":
            base["job"] = 5
        elif choice == "long":
            base["job"] = "j" * 65
    elif kind == "hello":
        base["type"] = "hello"
        base["client"] = draw(st.sampled_from(["c" * 257, 5, ["gimp"]]))
    elif kind == "status":
        base["type"] = "status"
        base["layers"] = draw(st.sampled_from(["yes", 1, None, [True]]))
        if base["layers"] is None:
            base["extra"] = True
    else:
        base["type"] = draw(st.sampled_from(["result", "pong", "error", "accepted", "progress"]))
    return Hostile("bad header fields", [pack(base)], decoder, kind)
