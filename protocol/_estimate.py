"""Version 1.1's additions: live previews in ``progress`` (asked for with a dream's
``preview``) and the ``estimate`` request, which asks how long a dream would take.

Kept apart from ``_messages`` so that the 1.0 messages read as they were; ``_messages``
puts these on and takes them off the wire with the rest.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field as _field
from typing import Any, ClassVar

from ._limits import Limits
from ._params import check_params
from ._version import PROTOCOL_VERSION
from ._wire import (
    COMMON_FIELDS,
    bad,
    check_float,
    check_known,
    get_float,
    get_int,
    get_str,
    kind_of,
    require_int,
)

#: The first version with previews and ``estimate``.
PREVIEW_VERSION: tuple[int, int] = (1, 1)
MAX_NAME = 256


@dataclass(frozen=True)
class Preview:
    """What a ``dream`` asks for with ``preview``: a picture of the dream as it stands, at
    most ``max_side`` pixels on its long side, in ``progress`` at the end of each octave and
    at most every ``interval`` seconds within the full-size one."""

    max_side: int = 256
    interval: float = 2.0

    def to_wire(self) -> dict[str, Any]:
        return {"max_side": self.max_side, "interval": self.interval}


PREVIEW_SIDE = (16, 1024)
PREVIEW_INTERVAL = (0.5, 3600.0)


def check_preview(value: object, field: str = "preview") -> Preview | None:
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise bad(field, f"must be a map or nil, got {kind_of(value)}")
    check_known(value, {"max_side", "interval"}, field)
    side = get_int(value, "max_side", field, *PREVIEW_SIDE, default=256)
    interval = get_float(value, "interval", field, *PREVIEW_INTERVAL, default=2.0)
    assert side is not None and interval is not None
    return Preview(side, interval)


@dataclass(frozen=True)
class EstimateRequest:
    """``estimate``: how long would a dream of a ``width`` × ``height`` picture with
    ``params`` take on ``model`` (None: the daemon's)? Answered with :class:`Estimate`."""

    type: ClassVar[str] = "estimate"
    id: str
    width: int
    height: int
    params: dict[str, Any] = _field(default_factory=dict)
    model: str | None = None
    version: tuple[int, int] = _field(default=PROTOCOL_VERSION, kw_only=True)

    def header(self) -> dict[str, Any]:
        return {
            "width": self.width,
            "height": self.height,
            "params": dict(self.params),
            "model": self.model,
        }


@dataclass(frozen=True)
class Estimate:
    """``estimate``: the dream's plan and, once the daemon has measured its speed,
    ``seconds``. ``octaves``: [width, height] of each octave, smallest first;
    ``working``: the size it is dreamed at with ``detail_size``, else None."""

    type: ClassVar[str] = "estimate"
    id: str
    seconds: float | None
    octaves: list[list[int]] = _field(default_factory=list)
    working: list[int] | None = None
    steps: int = 0
    notes: list[str] = _field(default_factory=list)
    server: str = _field(default="", kw_only=True)

    def header(self) -> dict[str, Any]:
        return {
            "seconds": self.seconds,
            "octaves": [list(o) for o in self.octaves],
            "working": list(self.working) if self.working else None,
            "steps": self.steps,
            "notes": list(self.notes),
        }


_ESTIMATE_FIELDS = COMMON_FIELDS | {"width", "height", "params", "model"}


def decode_estimate_request(
    h: dict[str, Any], limits: Limits, version: tuple[int, int]
) -> EstimateRequest:
    check_known(h, _ESTIMATE_FIELDS, "")
    width = require_int(h, "width", "", 1, limits.max_side)
    height = require_int(h, "height", "", 1, limits.max_side)
    params = check_params(h.get("params") if h.get("params") is not None else {}, limits)
    model = get_str(h, "model", "", max_len=MAX_NAME, min_len=1, nullable=True)
    return EstimateRequest(h["id"], width, height, params, model, version=version)


def decode_estimate(h: dict[str, Any], server: str) -> Estimate:
    seconds = h.get("seconds")
    if seconds is not None:
        seconds = check_float(seconds, "seconds", 0.0, 1e12)
    octaves = h.get("octaves") or []
    if not isinstance(octaves, list) or not all(_pair(o) for o in octaves):
        raise bad("octaves", "must be a list of [width, height]")
    working = h.get("working")
    if working is not None and not _pair(working):
        raise bad("working", "must be [width, height] or nil")
    notes = h.get("notes") or []
    if not isinstance(notes, list) or not all(isinstance(n, str) for n in notes):
        raise bad("notes", "must be a list of strings")
    steps = get_int(h, "steps", "", 0, 2**63 - 1, default=0)
    return Estimate(h["id"], seconds, octaves, working, steps or 0, notes, server=server)


def _pair(value: object) -> bool:
    return (
        isinstance(value, list)
        and len(value) == 2
        and all(isinstance(n, int) and not isinstance(n, bool) and n > 0 for n in value)
    )
