"""Which arithmetic a dream's forward/backward passes use. The image stays fp32 always."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import torch

from ._errors import InvalidParams


def resolve(precision: str, device: torch.device) -> str:
    """``auto`` → the fastest precision that keeps dreams equivalent on ``device``.

    CUDA: bf16 where supported (no overflow risk), else fp16. CPU and MPS: fp32 — on the
    CPUs measured here bf16 autocast was not faster end to end (see benchmarks/).
    """
    if precision == "auto":
        if device.type == "cuda":
            return "bf16" if torch.cuda.is_bf16_supported() else "fp16"
        return "fp32"
    if precision == "fp16" and device.type == "cpu":
        raise InvalidParams("precision", "fp16 is not supported on the CPU; use fp32 or bf16")
    return precision


@contextlib.contextmanager
def autocast(precision: str, device: torch.device) -> Iterator[None]:
    """Autocast context for ``precision`` (a no-op for fp32)."""
    if precision == "fp32":
        yield
        return
    dtype = torch.bfloat16 if precision == "bf16" else torch.float16
    with torch.autocast(device_type=device.type, dtype=dtype):
        yield
