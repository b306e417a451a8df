"""Which arithmetic a dream's forward/backward passes use. The image stays fp32 always."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import torch

from ._errors import InvalidParams

#: Below this many pixels a CPU dream is faster in fp32 even where bf16 is native: the
#: conversions cost more than the arithmetic saves (measured at 64×48: 0.15 s bf16 against
#: 0.10 s fp32; equal at 128×96 for GoogLeNet; bf16 1.3× faster from 192×144 up).
CPU_BF16_MIN_PIXELS = 128 * 128


def resolve(precision: str, device: torch.device, pixels: int | None = None) -> str:
    """``auto`` → the fastest precision that keeps dreams equivalent on ``device`` for an
    image of ``pixels`` pixels (None: a large one).

    CUDA: bf16 where supported (no overflow risk), else fp16. CPU: bf16 when the CPU has
    native bf16 arithmetic (AVX512-BF16 or AMX; measured 1.35–1.7× faster here, reaching
    the same objective — see benchmarks/) and the image is not tiny, else fp32. MPS: fp32.
    """
    if precision == "auto":
        if device.type == "cuda":
            return "bf16" if torch.cuda.is_bf16_supported() else "fp16"
        tiny = pixels is not None and pixels < CPU_BF16_MIN_PIXELS
        if device.type == "cpu" and cpu_has_fast_bf16() and not tiny:
            return "bf16"
        return "fp32"
    if precision == "fp16" and device.type == "cpu":
        raise InvalidParams("precision", "fp16 is not supported on the CPU; use fp32 or bf16")
    return precision


def cpu_has_fast_bf16() -> bool:
    """Whether this CPU computes bf16 natively (torch's own probes; absent → False)."""
    probes = ("_is_avx512_bf16_supported", "_is_amx_tile_supported")
    return any(bool(getattr(torch.cpu, name, lambda: False)()) for name in probes)


@contextlib.contextmanager
def autocast(precision: str, device: torch.device) -> Iterator[None]:
    """Autocast context for ``precision`` (a no-op for fp32)."""
    if precision == "fp32":
        yield
        return
    dtype = torch.bfloat16 if precision == "bf16" else torch.float16
    with torch.autocast(device_type=device.type, dtype=dtype):
        yield
