"""The GIMP tests' pictures, the cases of the one batch run they share, and running a
batch script in GIMP with a JOB (see batch_dream.py)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from gimprunner import GimpRunner
from pngio import write_png

HERE = Path(__file__).resolve().parent
W, H = 96, 64
SELECTION = (8, 8, 24, 20)  # x, y, w, h: with the 32-pixel context, x < 64 is sent
PARAMS = {"octave-count": 2, "steps-per-octave": 2, "step-size": 2.0, "seed": 7}
STYLE_PARAMS = {**PARAMS, "steps-per-octave": 4, "step-size": 4.0, "style-weight": 2.0}


def picture(seed: int = 0) -> np.ndarray:
    """A 96×64 float RGB picture in [0, 1] with edges, gradients and some texture."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:H, 0:W].astype(np.float64)
    r = 0.5 + 0.4 * np.sin(xx / 7.0) * np.cos(yy / 5.0)
    g = np.clip(((xx - 48) ** 2 + (yy - 32) ** 2) < 400, 0, 1) * 0.6 + 0.2
    b = (xx + yy) / (W + H)
    img = np.stack([r, g, b], axis=-1) + rng.normal(0, 0.03, (H, W, 3))
    return np.clip(img, 0, 1)


def style_picture() -> np.ndarray:
    """A 120×80 style unlike the picture: warm diagonal stripes with a fine checker."""
    yy, xx = np.mgrid[0:80, 0:120].astype(np.float64)
    stripes = 0.5 + 0.5 * np.sin((xx + yy) / 3.0)
    checker = ((xx // 4 + yy // 4) % 2) * 0.3
    r = np.clip(0.6 + 0.4 * stripes, 0, 1)
    g = np.clip(0.2 + 0.3 * stripes + checker, 0, 1)
    b = np.clip(0.1 + checker * 0.5, 0, 1)
    return np.stack([r, g, b], axis=-1)


def large_picture() -> np.ndarray:
    """A 3000×2000 photo-sized picture (6 MP): the test picture scaled up, with waves and a
    pixel-fine grain (the detail a photo has at full size)."""
    small = picture(1)
    big = small.repeat(32, axis=0)[:2000].repeat(32, axis=1)[:, :3000]
    yy, xx = np.mgrid[0:2000, 0:3000].astype(np.float32)
    waves = 0.1 * np.sin(xx / 40.0) * np.cos(yy / 55.0)
    grain = np.random.default_rng(3).normal(0, 0.04, (2000, 3000, 1))  # full-size detail
    return np.clip(big * 0.8 + waves[..., None] + grain, 0, 1)


def alpha() -> np.ndarray:
    """Alpha that varies: opaque left half, 25 % right half, a transparent-ish stripe."""
    a = np.full((H, W), 1.0)
    a[:, W // 2 :] = 0.25
    a[10:14, :] = 0.6
    return a


def u8(x: np.ndarray) -> np.ndarray:
    return np.round(x * 255).astype(np.uint8)


def u16(x: np.ndarray) -> np.ndarray:
    return np.round(x * 65535).astype(np.uint16)


def write_images(d: Path) -> dict[str, Path]:
    d.mkdir(exist_ok=True)
    pic = picture(0)
    paths = {
        name: d / f"{name}.png"
        for name in ("rgba8", "rgb8", "rgb16", "graya8", "guide", "style", "big", "large", "medium")
    }
    write_png(paths["rgba8"], u8(np.concatenate([pic, alpha()[..., None]], axis=-1)))
    write_png(paths["rgb8"], u8(pic))
    write_png(paths["rgb16"], u16(pic))
    grey = pic.mean(axis=-1, keepdims=True)
    write_png(paths["graya8"], u8(np.concatenate([grey, alpha()[..., None]], axis=-1)))
    write_png(paths["guide"], u8(picture(5)[::-1, ::-1]))
    write_png(paths["style"], u8(style_picture()))
    write_png(paths["big"], np.zeros((2900, 2800, 1), np.uint8))  # over the daemon's limit
    write_png(paths["large"], u8(large_picture()))
    write_png(paths["medium"], u8(large_picture()[:384, :576]))
    return paths


def cases(images: dict[str, Path]) -> dict[str, dict[str, Any]]:
    """Every case of the shared batch run (see batch_dream.py for the keys)."""
    rgba = str(images["rgba8"])
    rgb = str(images["rgb8"])
    over = {"background": [40, 90, 200], "opacity": 60.0, "expect": True}
    return {
        "rgba8": {"input": rgba, "params": PARAMS},
        "rgb16": {"input": str(images["rgb16"]), "params": PARAMS},
        "graya8": {"input": str(images["graya8"]), "params": PARAMS},
        "float": {"input": rgb, "precision": "FLOAT_NON_LINEAR", "params": PARAMS},
        "selection": {"input": rgb, "select": SELECTION, "params": PARAMS},
        "guide": {"input": rgb, "guide": str(images["guide"]), "params": PARAMS},
        "style": {"input": rgb, "style": str(images["style"]), "params": STYLE_PARAMS},
        "big": {"input": str(images["big"]), "params": PARAMS},
        # Compositing: half-transparent layers at 60 % over a blue background.
        "composite": {"input": rgba, "params": PARAMS, **over},
        "composite_selection": {"input": rgba, "select": SELECTION, "params": PARAMS, **over},
        "composite_group": {"input": rgba, "group": True, "params": PARAMS, **over},
        "mask_picked": {"input": rgba, "pick": "mask", "params": PARAMS},
        "channel_picked": {"input": rgba, "pick": "channel", "params": PARAMS},
        # A 6 MP photo: auto octaves (planned only: no steps, so it costs no dreaming)...
        "auto_large": {
            "input": str(images["large"]),
            "params": {"octave-count": 0, "steps-per-octave": 0, "seed": 1},
            "export": "none",
        },
        # ...and a detail size: dreamed at 512 px, the detail carried up to 3000×2000.
        "detail_large": {
            "input": str(images["large"]),
            "params": {
                "octave-count": 0,
                "steps-per-octave": 2,
                "step-size": 3.0,
                "detail-size": 512,
                "seed": 1,
            },
            "crop": [1200, 800, 400, 300],  # a full-size piece is what the test looks at
        },
    }


def run_batch(
    gimp: GimpRunner, share: Path, profile: Path, job: dict[str, Any], endpoint: str
) -> dict[str, Any]:
    """Run batch_dream.py with ``job`` in GIMP; the report it wrote."""
    job = {**job, "plugin_dir": str(profile / "plug-ins" / "dreamd_deepdream")}
    script = f"JOB = {json.dumps(job)!r}\nimport json as _j\nJOB = _j.loads(JOB)\n"
    script += (HERE / "batch_dream.py").read_text()
    res = gimp.run_batch(
        script, profile=profile, share=[share], env={"DREAMD_ENDPOINT": endpoint}, timeout=600
    )
    report_path = Path(job["report"])
    if not report_path.exists():
        pytest.fail(
            f"GIMP wrote no report (exit {res.returncode}):\n{res.output[-6000:]}", pytrace=False
        )
    report = json.loads(report_path.read_text())
    report["_output"] = res.output
    return report


def case(report: dict[str, Any], name: str) -> dict[str, Any]:
    """A case that must have succeeded."""
    found = report["cases"].get(name)
    assert found is not None, f"case {name} did not run:\n{report['_output'][-4000:]}"
    assert found["status"] == "success", (
        f"{name}: {found['status']}: {found.get('error')}\n{report['_output'][-4000:]}"
    )
    return found
