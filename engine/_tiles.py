"""Where a step's tiles go, and how big a tile the device's memory allows.

A tile is a *core* (the positions whose activations it owns) plus a *margin* of context on
each side. Margins cost computation (every internal border is computed twice, 2 × margin
wide), so the layout uses as few tiles as memory allows, the whole image when it fits,
and splits each side into equal cores rather than full tiles plus a sliver.
"""

from __future__ import annotations

import math
from pathlib import Path

import torch

from ._terms import WHOLE, Window

#: Resident bytes per pixel of a tile (core + margins) during a step: activations kept for
#: the backward pass, gradients, workspace. Measured to GoogLeNet's inception_4c and
#: EfficientNet-Lite0's block10 on 1–4 MP images: 420–500 bytes in bf16. fp32 doubles it.
BYTES_PER_PIXEL = {"fp32": 1000, "bf16": 500, "fp16": 500}
#: Largest tile on the CPU: 2048² (1080p runs whole; a 4K dream stays near 2.5 GB).
#: Bigger tiles buy nothing there: the margins' overhead is already under 15 %.
CPU_MAX_TILE_PIXELS = 2048 * 2048
#: Share of the free memory a step may use (the rest: images, the model, other programs).
MEMORY_SHARE = 0.5

Tile = tuple[Window, slice, slice]


def align(n: int, to: int) -> int:
    """``n`` rounded up to a multiple of ``to``."""
    return -(-n // to) * to


def tile_budget(device: torch.device, precision: str) -> int:
    """Pixels one tile (core + margins) may have on ``device`` right now."""
    per_pixel = BYTES_PER_PIXEL.get(precision, BYTES_PER_PIXEL["fp32"])
    if device.type == "cuda":
        free, _ = torch.cuda.mem_get_info(device)
        return int(free * MEMORY_SHARE / per_pixel)
    budget = CPU_MAX_TILE_PIXELS
    available = available_ram()
    if available is not None:
        budget = min(budget, int(available * MEMORY_SHARE / per_pixel))
    return budget


def available_ram() -> int | None:
    """Bytes of RAM the kernel says can be used without swapping (Linux), else None."""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def core_size(n: int, side: int, to: int) -> int:
    """Core length along a side of ``n`` pixels split into tiles of at most ``side``:
    equal parts, each a multiple of ``to`` (the last one takes the rest)."""
    return align(math.ceil(n / math.ceil(n / side)), to)


def fit_side(h: int, w: int, budget: int, margin: int, to: int, smallest: int) -> int:
    """The largest tile side (a multiple of ``to``, at least ``smallest``) whose padded
    tiles of an ``h`` × ``w`` image have at most ``budget`` pixels."""
    side = align(max(h, w), to)
    if h * w <= budget:
        return side
    while side > smallest:
        if _span(h, side, margin, to) * _span(w, side, margin, to) <= budget:
            return side
        side -= to
    return smallest


def _span(n: int, side: int, margin: int, to: int) -> int:
    """Pixels along one axis of the longest tile :func:`layout` makes there (O(1), so that
    searching every side stays cheap even for a 16384-px image)."""
    core = core_size(n, side, to)
    if core >= n:
        return n
    count = math.ceil(n / core)
    last = n - (count - 1) * core
    inner = core + 2 * margin if count > 2 else 0
    return min(n, max(core + margin, inner, last + margin))


def layout(h: int, w: int, side: int, margin: int, to: int) -> list[Tile]:
    """Tiles covering an ``h`` × ``w`` image: (window, rows, columns) each. Cores are
    multiples of ``to`` so that every feature position belongs to exactly one core."""
    if h <= side and w <= side:
        return [(WHOLE, slice(0, h), slice(0, w))]
    ch, cw = core_size(h, side, to), core_size(w, side, to)
    out = []
    for y0 in range(0, h, ch):
        for x0 in range(0, w, cw):
            y1, x1 = min(h, y0 + ch), min(w, x0 + cw)
            py0, px0 = max(0, y0 - margin), max(0, x0 - margin)
            py1, px1 = min(h, y1 + margin), min(w, x1 + margin)
            core = (y0 - py0, y1 - py0, x0 - px0, x1 - px0)
            out.append((Window(py0, px0, core), slice(py0, py1), slice(px0, px1)))
    return out
