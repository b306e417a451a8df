"""Devices: what ``auto`` means, which names exist here, and what a device has."""

from __future__ import annotations

import contextlib
from typing import Any

import torch

from . import _precision
from ._errors import DeviceUnavailable

#: The device names :func:`resolve_devices` accepts, for messages.
DEVICE_NAMES = "auto, cpu, cuda, cuda:N, cuda:0,cuda:1 or mps"


def resolve_devices(spec: str = "auto") -> list[str]:
    """``auto|cpu|cuda|cuda:N|cuda:0,cuda:1|mps`` → torch device names, checked.

    ``auto`` means every visible CUDA GPU, else Apple's MPS, else the CPU. ``cuda`` means
    ``cuda:0`` (as in torch); a comma-separated list names several devices (duplicates
    are dropped).

    Raises:
        DeviceUnavailable: an unknown name, or a device this machine does not have; the
            message starts with the offending name.
    """
    spec = spec.strip().lower()
    if spec == "auto":
        if torch.cuda.is_available():
            return [f"cuda:{i}" for i in range(torch.cuda.device_count())]
        if _mps_available():
            return ["mps"]
        return ["cpu"]
    out: list[str] = []
    for part in (p.strip() for p in spec.split(",")):
        if not part:
            continue
        name = "cuda:0" if part == "cuda" else part
        _check(name)
        if name not in out:
            out.append(name)
    if not out:
        raise DeviceUnavailable(spec, f"{spec!r} names no device; use {DEVICE_NAMES}")
    return out


def resolve_device(spec: str = "auto") -> str:
    """One device: ``auto`` → the first GPU, else MPS, else the CPU; any other name as
    :func:`resolve_devices` checks it.

    Raises:
        DeviceUnavailable: an unknown or absent device, or a list of several.
    """
    devices = resolve_devices(spec)
    if len(devices) > 1 and spec.strip().lower() != "auto":
        raise DeviceUnavailable(spec, f"{spec}: one device is needed here, not {len(devices)}")
    return devices[0]


def _mps_available() -> bool:
    backend = getattr(torch.backends, "mps", None)
    return bool(backend is not None and backend.is_available())


def _check(name: str) -> None:
    if name == "cpu":
        return
    if name == "mps":
        if not _mps_available():
            raise DeviceUnavailable(name, "mps: Apple's MPS backend is not available here")
        return
    if name.startswith("cuda:"):
        index = name[len("cuda:") :]
        if not index.isdigit():
            raise DeviceUnavailable(name, f"{name}: expected cuda:N with N a GPU number")
        if not torch.cuda.is_available():
            raise DeviceUnavailable(
                name,
                f"{name}: no CUDA GPU is visible (torch.cuda.is_available() is false); "
                "use cpu or auto",
            )
        count = torch.cuda.device_count()
        if int(index) >= count:
            raise DeviceUnavailable(
                name, f"{name}: only {count} CUDA GPU(s) visible (0..{count - 1})"
            )
        return
    raise DeviceUnavailable(name, f"{name}: unknown device; use {DEVICE_NAMES}")


def device_info(device: str) -> dict[str, Any]:
    """Name and memory of a device (``device``, ``name``, ``memory_total``/``_free`` in
    bytes where known, ``threads`` for the CPU) and the ``precision`` that ``auto`` picks
    there for images that are not tiny, for status displays."""
    info: dict[str, Any] = {"device": device}
    dev = torch.device(device)
    with contextlib.suppress(RuntimeError):
        info["precision"] = _precision.resolve("auto", dev)
    if dev.type == "cuda":
        try:
            free, total = torch.cuda.mem_get_info(dev)
            info["name"] = torch.cuda.get_device_name(dev)
            info["memory_total"] = int(total)
            info["memory_free"] = int(free)
            info["memory_allocated"] = int(torch.cuda.memory_allocated(dev))
        except RuntimeError as exc:
            info["error"] = str(exc)
    elif dev.type == "cpu":
        info["name"] = "cpu"
        info["threads"] = torch.get_num_threads()
        total, free = _host_memory()
        if total:
            info["memory_total"] = total
            info["memory_free"] = free
    else:
        info["name"] = dev.type
    return info


def release_cached_memory(device: torch.device) -> None:
    """Give the CUDA caching allocator's free blocks back after running out, so the next
    job (or another process) starts from a clean slate."""
    if device.type == "cuda":
        with contextlib.suppress(RuntimeError):
            torch.cuda.empty_cache()


def _host_memory() -> tuple[int, int]:
    try:
        fields = {}
        with open("/proc/meminfo", encoding="ascii") as fh:
            for line in fh:
                key, _, rest = line.partition(":")
                fields[key] = int(rest.split()[0]) * 1024
        return fields.get("MemTotal", 0), fields.get("MemAvailable", 0)
    except (OSError, ValueError, IndexError):
        return 0, 0
