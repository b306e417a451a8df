"""``--device``: the engine's device names, refused as a start-up problem."""

from __future__ import annotations

from dreamd import engine

from ._errors import ConfigError


def parse_devices(spec: str) -> list[str]:
    """``auto|cpu|cuda|cuda:N|cuda:0,cuda:1|mps`` → one device per worker, as
    :func:`engine.resolve_devices` reads them (``auto``: every CUDA GPU, else MPS, else
    the CPU).

    Raises:
        ConfigError: an unknown device, or one this machine does not have.
    """
    try:
        return engine.resolve_devices(spec)
    except engine.DeviceUnavailable as exc:
        raise ConfigError(f"--device {exc}") from None
