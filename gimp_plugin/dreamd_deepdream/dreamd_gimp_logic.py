"""The parts of the DeepDream plug-in that need no GIMP: formats, names, params, messages.

This file is copied next to ``dreamd_deepdream.py`` in GIMP's plug-in folder and imported
there as a top-level module; the tests import it from the source tree as
``dreamd.gimp.dreamd_deepdream.dreamd_gimp_logic``. It must only use the standard
library (it runs under GIMP's own Python) and must not import ``gi``.
"""

from __future__ import annotations

import array
import json
import os
import random
import shlex
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

PROCEDURE_NAME = "python-fu-deepdream"
PLUGIN_NAME = "dreamd_deepdream"
CONFIG_NAME = "dreamd_deepdream.json"
MENU_PATH = "<Image>/Filters/Artistic"
MENU_LABEL = "DeepDream…"
PARASITE_NAME = "dreamd-dream"

# ---------------------------------------------------------------------------------------------
# Pixel formats


@dataclass(frozen=True)
class PixelFormat:
    """How a layer's pixels are read from GEGL and described on the wire."""

    babl: str  # e.g. "R'G'B'A u16": always the non-linear (perceptual) encoding
    dtype: str  # protocol dtype: "u8", "u16" or "f32"
    channels: int  # 1 (Y'), 2 (Y'A), 3 (R'G'B'), 4 (R'G'B'A)

    @property
    def bytes_per_sample(self) -> int:
        return {"u8": 1, "u16": 2, "f32": 4}[self.dtype]

    @property
    def has_alpha(self) -> bool:
        return self.channels in (2, 4)

    def row_bytes(self, width: int) -> int:
        return width * self.channels * self.bytes_per_sample


def pixel_format(precision_name: str, is_gray: bool, has_alpha: bool) -> PixelFormat:
    """The format to read a drawable in, from its image's precision name.

    ``precision_name`` is a ``Gimp.Precision`` value's name such as
    ``GIMP_PRECISION_U16_NON_LINEAR`` (``U8_...``, ``U16_...``, ``U32_...``, ``HALF_...``,
    ``FLOAT_...``, ``DOUBLE_...``). 8- and 16-bit integer images travel as u8/u16; every
    other precision travels as 32-bit float (lossless for half and float). Pixels are always
    read non-linear (R'G'B'), the encoding DeepDream models were trained on; GEGL converts
    back to the layer's own encoding when the result is written.
    """
    name = precision_name.upper()
    if name.startswith("GIMP_PRECISION_"):
        name = name[len("GIMP_PRECISION_") :]
    if name.startswith("U8"):
        dtype, babl_type = "u8", "u8"
    elif name.startswith("U16"):
        dtype, babl_type = "u16", "u16"
    else:
        dtype, babl_type = "f32", "float"
    base = ("Y'" if is_gray else "R'G'B'") + ("A" if has_alpha else "")
    channels = (1 if is_gray else 3) + (1 if has_alpha else 0)
    return PixelFormat(f"{base} {babl_type}", dtype, channels)


_ARRAY_CODE = {"u8": "B", "u16": "H", "f32": "f"}


def restore_alpha(result: bytes, source: bytes, fmt: PixelFormat) -> bytes:
    """``result`` with its alpha samples replaced by ``source``'s (same size and format)."""
    if not fmt.has_alpha:
        return result
    if len(result) != len(source):
        raise ValueError(f"result has {len(result)} bytes, source {len(source)}")
    code = _ARRAY_CODE[fmt.dtype]
    out = array.array(code)
    out.frombytes(result)
    src = array.array(code)
    src.frombytes(source)
    c = fmt.channels
    out[c - 1 :: c] = src[c - 1 :: c]
    return out.tobytes()


# ---------------------------------------------------------------------------------------------
# Geometry


def dream_rect(
    intersect: tuple[int, int, int, int],
    layer_size: tuple[int, int],
    has_selection: bool,
    margin: int = 32,
) -> tuple[int, int, int, int]:
    """The part of the layer (layer coordinates) to send: the selection's bounds, grown by
    ``margin`` pixels of context and clamped to the layer; the whole layer without a selection.
    """
    lw, lh = layer_size
    if not has_selection:
        return (0, 0, lw, lh)
    x, y, w, h = intersect
    x0 = max(0, x - margin)
    y0 = max(0, y - margin)
    x1 = min(lw, x + w + margin)
    y1 = min(lh, y + h + margin)
    return (x0, y0, x1 - x0, y1 - y0)


# ---------------------------------------------------------------------------------------------
# Parameters

#: (property name, params key, type, default, min, max, nick, blurb)
ARGUMENTS: tuple[tuple[str, str, type, Any, Any, Any, str, str], ...] = (
    (
        "iterations",
        "iterations",
        int,
        1,
        1,
        100,
        "_Iterations",
        "How many times the whole octave pyramid is run",
    ),
    (
        "octave-count",
        "octave_count",
        int,
        4,
        1,
        12,
        "Octa_ves",
        "Number of scales the image is dreamed at",
    ),
    (
        "octave-scale",
        "octave_scale",
        float,
        1.3,
        1.01,
        4.0,
        "Octave sc_ale",
        "Size ratio between two octaves",
    ),
    (
        "steps-per-octave",
        "steps_per_octave",
        int,
        10,
        0,
        1000,
        "S_teps per octave",
        "Gradient steps at each octave",
    ),
    (
        "step-size",
        "step_size",
        float,
        1.5,
        0.0,
        255.0,
        "Step si_ze",
        "Strength of each step, in 0–255 pixel units",
    ),
    (
        "jitter",
        "jitter",
        int,
        32,
        0,
        512,
        "_Jitter",
        "Random shift in pixels before each step (hides the network's grid)",
    ),
    (
        "seed",
        "seed",
        int,
        -1,
        -1,
        2**31 - 1,
        "See_d",
        "Random seed for the jitter; -1 picks a new one each time (the layer's name says which)",
    ),
)


#: Style transfer weights, sent only with a style: (property name, params key, default,
#: min, max, nick, blurb).
STYLE_ARGUMENTS: tuple[tuple[str, str, float, float, float, str, str], ...] = (
    (
        "style-weight",
        "style_weight",
        1.0,
        0.0,
        1000.0,
        "Style _weight",
        "With a style: how much of each step matches the style",
    ),
    (
        "content-weight",
        "content_weight",
        0.5,
        0.0,
        1000.0,
        "Co_ntent weight",
        "With a style: how much of each step keeps the layer's own content (lower: more style)",
    ),
)
#: The daemon never uses a style image larger than this (its default ``style_max_side``).
STYLE_MAX_SIDE = 1024


def split_layers(text: str) -> list[str]:
    """``"inception_4c/output; inception_4d/output:3,17"`` → two layer specs.

    Layers are separated by ``;`` or whitespace (a comma belongs to a channel list).
    """
    parts = [p.strip() for chunk in text.split(";") for p in chunk.split()]
    return [p for p in parts if p]


def build_params(values: Mapping[str, Any]) -> dict[str, Any]:
    """Dream parameters for the daemon from the procedure's values (property names).

    ``layer`` empty → the model's default layer; ``seed`` −1 → a new random seed. The
    style weights are sent only when ``style`` (a drawable) is set.
    """
    params: dict[str, Any] = {}
    for prop, key, typ, default, _lo, _hi, _nick, _blurb in ARGUMENTS:
        v = values.get(prop, default)
        params[key] = typ(v)
    if params["seed"] < 0:
        # Picked here rather than by the daemon so that the seed recorded in the layer's
        # name fits the dialog's Seed field and the dream can be repeated.
        params["seed"] = random.randrange(2**31)
    layers = split_layers(str(values.get("layer", "") or ""))
    if layers:
        params["layers"] = layers
    if values.get("style") is not None:
        for prop, key, default, *_rest in STYLE_ARGUMENTS:
            params[key] = float(values.get(prop, default))
    return params


def layer_name(
    source: str, params: Mapping[str, Any], model: str = "", layer: str = "", style: str = ""
) -> str:
    """The new layer's name: the source's, then what made it, e.g.
    ``Background · dream inception_4c/output 4×1.3 10 st 1.5 seed 7``, or with a style
    ``Background · style Painting 4×1.3 40 st 4 seed 7`` (``+ dream LAYER`` when a dream
    layer was given too).
    """
    used = layer or ", ".join(params.get("layers", ())) or "default layer"
    if style:
        dreamed = layer or ", ".join(params.get("layers", ()))
        bits = [f"{source} · style {style}" + (f" + dream {dreamed}" if dreamed else "")]
    else:
        bits = [f"{source} · dream {used}"]
    if model:
        bits.append(f"[{model}]")
    bits.append(f"{params.get('octave_count', 4)}×{params.get('octave_scale', 1.3):g}")
    bits.append(f"{params.get('steps_per_octave', 10)} st")
    bits.append(f"{params.get('step_size', 1.5):g}")
    if params.get("iterations", 1) != 1:
        bits.append(f"×{params['iterations']}")
    if params.get("seed") is not None:
        bits.append(f"seed {params['seed']}")
    return " ".join(bits)


# ---------------------------------------------------------------------------------------------
# Configuration recorded by the installer


def plugin_dir() -> Path:
    return Path(__file__).resolve().parent


def load_config(directory: Path | None = None) -> dict[str, Any]:
    """The installer's JSON config next to the plug-in, or ``{}``.

    Keys: ``endpoint`` (str or null), ``start_command`` (list of str or null), ``deps``
    ("system" or "vendor"), ``python`` ("3.13"), ``protocol_version``, ``installed_by``.
    ``DREAMD_ENDPOINT`` in the environment overrides ``endpoint``.
    """
    path = (directory or plugin_dir()) / CONFIG_NAME
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(data, dict):
            data = {}
    except (OSError, ValueError):
        data = {}
    env = os.environ.get("DREAMD_ENDPOINT")
    if env:
        data["endpoint"] = env
    return data


def setup_import_path(directory: Path | None = None) -> None:
    """Make the vendored ``protocol`` and wheels (``vendor/``) importable."""
    d = directory or plugin_dir()
    for p in (d / "vendor", d):
        s = str(p)
        if p.is_dir() and s not in sys.path:
            sys.path.insert(0, s)


# ---------------------------------------------------------------------------------------------
# Messages a painter understands


class PluginError(Exception):
    """An error whose text is already meant for the painter."""


def size_problem(width: int, height: int, limits: Mapping[str, Any]) -> str | None:
    """Why the daemon (whose ``hello`` announced ``limits``) would refuse this size, or None.

    Checked before sending: a frame over the daemon's ZeroMQ size cap would be dropped
    with the connection, which reads as a timeout rather than a clear refusal.
    """
    max_pixels = limits.get("max_pixels")
    max_side = limits.get("max_side")
    if max_side and max(width, height) > max_side:
        return (
            f"The image is too large for the daemon: {width}×{height}, and the daemon's "
            f"limit is {max_side} pixels per side. Dream a selection or scale it down."
        )
    if max_pixels and width * height > max_pixels:
        mp = max_pixels / 1e6
        return (
            f"The image is too large for the daemon: {width}×{height} is "
            f"{width * height / 1e6:.1f} megapixels, the limit is {mp:g} megapixels "
            f"({max_pixels} pixels). Dream a selection, scale the image down, or start "
            "dreamd with a higher --max-pixels."
        )
    return None


def start_hint(config: Mapping[str, Any]) -> str:
    cmd = config.get("start_command")
    if cmd:
        return "Start it with:  " + (cmd if isinstance(cmd, str) else shlex.join(cmd))
    return "Start it with:  dreamd serve"


def friendly_error(exc: BaseException, config: Mapping[str, Any], endpoint: str | None) -> str:
    """A message for the painter, from any exception the client can raise."""
    name = type(exc).__name__
    text = str(exc).strip()
    if isinstance(exc, PluginError):
        return text
    where = f" at {endpoint}" if endpoint else ""
    if name == "Unreachable":
        return (
            f"The DeepDream daemon (dreamd) is not running{where}.\n{start_hint(config)}\n"
            "(or run `dreamd gimp doctor` to check the installation)"
        )
    if name == "RequestTimeout":
        return (
            f"The DeepDream daemon{where} stopped answering (timed out). It may be busy with "
            f"a very large job or stuck; restart it if this persists.\n{start_hint(config)}"
        )
    if name == "VersionMismatch":
        if getattr(exc, "update", "") == "client":
            todo = (
                "The daemon is newer: update this plug-in with `dreamd gimp install` "
                "(run with the daemon's dreamd), then restart GIMP."
            )
        else:
            todo = (
                "The daemon is older: update dreamd (`pip install -U dreamd`), restart it "
                "(`dreamd serve`), then run `dreamd gimp install` and restart GIMP."
            )
        return (
            "The DeepDream plug-in and the daemon speak different protocol versions. "
            f"{todo}\n({text})"
        )
    if name == "Cancelled":
        return "DeepDream was cancelled."
    if name == "Rejected":
        code = str(getattr(exc, "code", "") or "")
        detail = str(getattr(exc, "message", "") or text)
        if code.upper() == "TOO_LARGE":
            return (
                f"The daemon refused the image: it is too large ({detail}).\n"
                "Dream a selection, scale the image down, or start dreamd with a higher limit."
            )
        if code.upper() == "BUSY":
            return f"The daemon is busy (its queue is full): try again in a moment. ({detail})"
        if code.upper() in ("UNKNOWN_LAYER", "UNKNOWN_MODEL"):
            return f"The daemon does not know that {code.split('_')[1].lower()}: {detail}"
        return f"The daemon refused the dream: {text}"
    if isinstance(exc, ImportError):
        return (
            f"The DeepDream plug-in cannot load its libraries ({text}). "
            "Reinstall it with `dreamd gimp install`, or run `dreamd gimp doctor`."
        )
    return f"DeepDream failed: {name}: {text}"


# ---------------------------------------------------------------------------------------------
# Starting the daemon when the installer recorded how


def start_daemon(config: Mapping[str, Any], log_dir: Path | None = None) -> subprocess.Popen | None:
    """Start ``config["start_command"]`` detached (it outlives GIMP); None when not recorded."""
    cmd = config.get("start_command")
    if not cmd:
        return None
    argv = shlex.split(cmd) if isinstance(cmd, str) else [str(c) for c in cmd]
    log_dir = log_dir or Path(os.environ.get("TMPDIR", "/tmp"))
    try:
        log = open(log_dir / "dreamd-autostart.log", "ab")  # noqa: SIM115 (child keeps it)
    except OSError:
        log = subprocess.DEVNULL  # type: ignore[assignment]
    kwargs: dict[str, Any] = {"stdin": subprocess.DEVNULL, "stdout": log, "stderr": log}
    if os.name == "nt":
        kwargs["creationflags"] = 0x00000008 | 0x00000200  # DETACHED_PROCESS | NEW_PROCESS_GROUP
    else:
        kwargs["start_new_session"] = True
    return subprocess.Popen(argv, **kwargs)


def wait_until(predicate, timeout: float, interval: float = 0.25) -> bool:
    """Call ``predicate()`` until it returns true or ``timeout`` seconds pass."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            if predicate():
                return True
        except Exception:
            pass
        if time.monotonic() >= deadline:
            return False
        time.sleep(interval)


def describe_result(info: Mapping[str, Any]) -> str:
    """JSON text recorded on the new layer (parasite) and returned to scripts."""
    return json.dumps(dict(info), sort_keys=True, default=str)


def layer_names(layers: Any) -> list[str]:
    """Names from a result's ``layers`` (names, or maps with a ``name``)."""
    out = []
    for layer in layers or ():
        name = layer.get("name") if isinstance(layer, Mapping) else layer
        if name:
            out.append(str(name))
    return out


def argument_names() -> list[str]:
    """The procedure's own arguments (after run-mode, image and drawables), in order."""
    return [
        "model",
        "layer",
        *(a[0] for a in ARGUMENTS),
        "guide",
        "style",
        *(a[0] for a in STYLE_ARGUMENTS),
    ]


def catalogue_from_status(
    status: Mapping[str, Any],
) -> tuple[dict[str, list[str]], str | None, dict[str, str]]:
    """(model → layer names, default model, model → default layer) from ``status(layers=True)``.

    The daemon answers ``model`` (the resident model), ``default_layer`` and ``layers``:
    ``{model: [{"name": ..., "aliases": [...], ...}, ...]}``; a layer may also be a plain name.
    """
    models: dict[str, list[str]] = {}
    raw = status.get("layers") or {}
    if isinstance(raw, Mapping):
        for model, layers in raw.items():
            names = []
            for layer in layers or ():
                name = layer if isinstance(layer, str) else (layer or {}).get("name")
                if name:
                    names.append(str(name))
            models[str(model)] = names
    default_model = status.get("model")
    default_model = str(default_model) if default_model else None
    if default_model and default_model not in models:
        models[default_model] = []
    defaults: dict[str, str] = {}
    if default_model and status.get("default_layer"):
        defaults[default_model] = str(status["default_layer"])
    return models, default_model, defaults
