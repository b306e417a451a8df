"""Weights files with random values, in the layouts of the published files: what loading
the real ones costs and exercises, for machines that cannot download them (tests,
benchmarks).

- ``googlenet``: torchvision's ``googlenet-1378be20.pth`` layout (batch norms, auxiliary
  heads, the classifier);
- ``bvlc-googlenet`` and ``places205-googlenet``: neural-dream's converted state dicts
  (``conv1_7x7_s2.weight`` … ``loss3_classifier_1.bias``).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import torch

if TYPE_CHECKING:
    from dreamd import engine

#: The models whose weights cannot be had without a download (efficientnet-lite0's ship
#: with its package).
MODELS = ("googlenet", "bvlc-googlenet", "places205-googlenet")


def random_weights(folder: Path, seed: int = 0) -> dict[str, Path]:
    """Write one random weights file per model of :data:`MODELS` into ``folder``."""
    from torchvision.models import GoogLeNet

    from dreamd.engine.models import bvlc_googlenet

    torch.manual_seed(seed)
    folder.mkdir(parents=True, exist_ok=True)
    out = {"googlenet": folder / "googlenet.pth"}
    net = GoogLeNet(aux_logits=True, transform_input=False, init_weights=True)
    torch.save(net.state_dict(), out["googlenet"])
    for name in (bvlc_googlenet.NAME, bvlc_googlenet.PLACES_NAME):
        caffe = bvlc_googlenet.BVLCGoogLeNet(name)
        state: dict[str, torch.Tensor] = {}
        for layer, module in caffe.caffe_layers().items():
            key = "loss3_classifier_1" if layer == bvlc_googlenet.CLASSIFIER else layer
            key = key.replace("/", "_")
            assert module.bias is not None
            state[f"{key}.weight"] = module.weight.detach().clone()
            state[f"{key}.bias"] = module.bias.detach().clone()
        out[name] = folder / f"{name}.pth"
        torch.save(state, out[name])
    return out


def model_or_random(name: str) -> engine.DreamModel:
    """``name`` on the CPU with its cached weights, or with seeded random ones when they are
    not cached (the same speed; what the benchmarks run where nothing can be downloaded)."""
    from dreamd import engine
    from dreamd.engine.models import bvlc_googlenet, googlenet

    try:
        return engine.load_model(name, "cpu", allow_download=False)
    except engine.WeightsUnavailable:
        torch.manual_seed(0)
        source = "random (real weights not cached)"
        if name in engine.CAFFE_MODELS:
            net = bvlc_googlenet.build(name, None, source)
        else:
            net = googlenet.build(None, source)
        net = net.to(memory_format=torch.channels_last)
        return engine.DreamModel(net, name, torch.device("cpu"), net.weights_source)
