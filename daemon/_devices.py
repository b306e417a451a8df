"""``--device`` parsing and per-device facts for ``status``."""

from __future__ import annotations

from typing import Any

import torch

from ._errors import ConfigError


def parse_devices(spec: str) -> list[str]:
    """``auto|cpu|cuda|cuda:N|cuda:0,cuda:1|mps`` → torch device strings, one per worker.

    ``auto`` means every visible CUDA GPU, else Apple's MPS, else the CPU. ``cuda`` means
    ``cuda:0`` (as in torch); list devices with commas for several workers.

    Raises:
        ConfigError: an unknown device, or one this machine does not have.
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
        raise ConfigError("--device needs at least one device")
    return out


def _mps_available() -> bool:
    backend = getattr(torch.backends, "mps", None)
    return bool(backend is not None and backend.is_available())


def _check(name: str) -> None:
    if name == "cpu":
        return
    if name == "mps":
        if not _mps_available():
            raise ConfigError("--device mps: Apple's MPS backend is not available here")
        return
    if name.startswith("cuda:"):
        index = name[len("cuda:") :]
        if not index.isdigit():
            raise ConfigError(f"--device {name}: expected cuda:N with N a GPU number")
        if not torch.cuda.is_available():
            raise ConfigError(
                f"--device {name}: no CUDA GPU is visible (torch.cuda.is_available() is "
                "false); use --device cpu or auto"
            )
        count = torch.cuda.device_count()
        if int(index) >= count:
            raise ConfigError(f"--device {name}: only {count} CUDA GPU(s) visible (0..{count - 1})")
        return
    raise ConfigError(f"unknown device {name!r}: use auto, cpu, cuda, cuda:N, cuda:0,cuda:1 or mps")


def describe(device: str) -> dict[str, Any]:
    """Name and memory of a device, for ``status``."""
    info: dict[str, Any] = {"device": device}
    dev = torch.device(device)
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
