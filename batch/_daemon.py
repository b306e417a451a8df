"""Dreaming on one or more dreamd daemons through the protocol's client library.

Each daemon gets one :class:`protocol.Client` (thread-safe, Lazy Pirate reconnects and
resends on its own) and a few slots — two jobs per device in flight, so a device finds the
next image queued when it finishes one. Pixels travel as raw frames, 8-bit images as
``u8`` and deeper ones as ``u16``; the daemon answers in the same form.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ._errors import DreamFailed, Interrupted, RunnerLost, UsageError
from ._runner import DreamOutput, ProgressFn, Runner, Slot

#: Jobs kept in flight per device of a daemon.
JOBS_PER_DEVICE = 2
#: How long a daemon may take to answer hello before it counts as absent.
CONNECT_TIMEOUT = 5.0
#: Longest silence from a daemon that has answered (it sends progress every 2 s).
REPLY_TIMEOUT = 20.0
#: Resends (Lazy Pirate reconnects) before a silent daemon counts as lost.
RETRIES = 3
#: Pause before resending a job the daemon refused as BUSY.
BUSY_PAUSE = 0.5


@dataclass
class Daemon:
    """One connected daemon and what it said about itself."""

    endpoint: str
    client: Any  # protocol.Client
    model: str
    devices: int
    layers: list[dict[str, Any]]
    default_layer: str
    server: str
    default_style_layers: list[str] = field(default_factory=list)
    default_content_layer: str | None = None


def connect(
    endpoint: str,
    connect_timeout: float | None = None,
    retries: int | None = None,
    curve: Any = None,
) -> Daemon:
    """Say hello to the daemon at ``endpoint`` and read its model and layers.

    Raises:
        RunnerLost: nothing answers there, or it does not speak our protocol.
    """
    from dreamd import protocol

    sock = protocol.ipc_path(endpoint) if endpoint.startswith("ipc://") else None
    if sock is not None and not sock.exists():
        raise RunnerLost(f"nothing listens at {endpoint} (no socket {sock}): is dreamd running?")
    try:
        client = protocol.Client(
            endpoint,
            timeout=protocol.Timeout(
                connect=connect_timeout or CONNECT_TIMEOUT, reply=REPLY_TIMEOUT
            ),
            retries=RETRIES if retries is None else retries,
            curve=curve,
            name="dream-batch",
        )
    except ValueError as exc:
        raise UsageError(f"--connect {endpoint}: {exc}") from None
    try:
        info = client.hello()
        status = client.status(layers=True)
    except protocol.ClientError as exc:
        client.close()
        raise RunnerLost(str(exc)) from None
    model = str(info.get("model", "?"))
    layers = list((status.get("layers") or {}).get(model, []))
    return Daemon(
        endpoint=client.endpoint,
        client=client,
        model=model,
        devices=max(1, len(info.get("devices") or ())),
        layers=layers,
        default_layer=str(status.get("default_layer", "")),
        server=str(info.get("server", "dreamd")),
        default_style_layers=[str(n) for n in status.get("default_style_layers") or ()],
        default_content_layer=status.get("default_content_layer") or None,
    )


def curve_keys(endpoints: list[str], server_keys: list[Any] | None, client_key: Any) -> list[Any]:
    """CURVE keys per endpoint (None where none are used) from --server-key/--client-key:
    one server key for every endpoint, or one per endpoint."""
    from dreamd import protocol

    servers = server_keys or [None]
    if len(servers) not in (1, len(endpoints)):
        raise UsageError(
            f"give --server-key once, or once per --connect ({len(endpoints)}), "
            f"not {len(servers)} times"
        )
    try:
        return [
            protocol.load_curve_keys(server, client_key)
            for server in (servers if len(servers) > 1 else servers * len(endpoints))
        ]
    except protocol.CurveKeyError as exc:
        raise UsageError(str(exc)) from None


def check_layers(daemon: Daemon, params: Mapping[str, Any]) -> None:
    """Refuse, before the first image, layer names the daemon's model does not have (and
    channels its layers lack), by the engine's own rules over the catalogue the daemon
    described: the same answer the daemon would give, without loading torch here."""
    if not daemon.layers:
        return
    from dreamd import engine

    names = {str(lay.get("name")) for lay in daemon.layers}
    default = daemon.default_layer if daemon.default_layer in names else daemon.layers[0]["name"]
    content = daemon.default_content_layer if daemon.default_content_layer in names else None
    style = [n for n in daemon.default_style_layers if n in names]
    try:
        catalogue = engine.LayerCatalogue.from_dicts(
            daemon.model, daemon.layers, default, style, content
        )
        engine.resolve_layers(catalogue, engine.DreamParams.from_mapping(dict(params)))
    except (engine.UnknownLayer, engine.InvalidParams) as exc:
        raise UsageError(f"{exc} (asked of the daemon at {daemon.endpoint})") from None


class DaemonRunner(Runner):
    """Dreams spread over the given daemons (already connected)."""

    kind = "daemon"

    def __init__(
        self,
        daemons: list[Daemon],
        params: Mapping[str, Any],
        *,
        model: str | None = None,
        guide: np.ndarray | None = None,
        style: np.ndarray | Sequence[np.ndarray] | None = None,
        fallback: Callable[[], Runner] | None = None,
        jobs_per_device: int = JOBS_PER_DEVICE,
        video_frames: bool = False,
    ) -> None:
        """``video_frames``: styled frames held to the previous one (--style with --flow)
        will be sent, which needs a daemon speaking protocol 1.2."""
        self.daemons = daemons
        self.params = dict(params)
        self.model = None if model in (None, "auto") else model
        self.guide = _wire_image(guide, 16) if guide is not None else None
        self.style = _wire_styles(style)
        self._fallback = fallback
        self.notes = []
        for d in daemons:
            _check_version(d, self.params, self.style, video_frames)
            if self.model is not None and d.model != self.model:
                raise UsageError(
                    f"the daemon at {d.endpoint} runs {d.model}, not {self.model}: restart it "
                    f"with --model {self.model}, or use --embedded"
                )
            check_layers(d, self.params)
        self._slots: list[Slot] = [
            _DaemonSlot(self, d, i)
            for d in daemons
            for i in range(max(1, jobs_per_device * d.devices))
        ]
        if len(daemons) == 1:
            d = daemons[0]
            self.description = f"daemon at {d.endpoint} ({d.server}: {d.model})"
        else:
            models = ", ".join(sorted({d.model for d in daemons}))
            self.description = f"{len(daemons)} daemons ({models})"

    def slots(self, per_group: int | None = None) -> list[Slot]:
        if per_group is None:
            return list(self._slots)
        out: list[Slot] = []
        count: dict[str, int] = {}
        for s in self._slots:
            if count.get(s.group, 0) < per_group:
                count[s.group] = count.get(s.group, 0) + 1
                out.append(s)
        return out

    def fallback(self) -> Runner | None:
        if self._fallback is None:
            return None
        factory, self._fallback = self._fallback, None
        return factory()

    def close(self) -> None:
        for d in self.daemons:
            d.client.close()


class _DaemonSlot(Slot):
    def __init__(self, runner: DaemonRunner, daemon: Daemon, index: int) -> None:
        self.runner = runner
        self.daemon = daemon
        self.group = daemon.endpoint
        self.name = daemon.endpoint if index == 0 else f"{daemon.endpoint} #{index + 1}"

    def dream(
        self,
        image: np.ndarray,
        on_progress: ProgressFn | None,
        cancel: threading.Event,
        bits: int = 16,
        overrides: Mapping[str, Any] | None = None,
        frame: Mapping[str, np.ndarray] | None = None,
    ) -> DreamOutput:
        from dreamd import protocol

        r = self.runner
        params = {**r.params, **overrides} if overrides else r.params
        wire = _wire_image(image, bits)
        # a styled video frame's pictures (protocol 1.2); the weight as one channel
        pictures = {
            name: _wire_image(p if p.ndim == 3 else p[:, :, None], bits)
            for name, p in (frame or {}).items()
        }

        def progress(p: Any) -> None:
            if on_progress is not None:
                on_progress(int(p.done), int(p.total), int(p.octave) + 1, int(p.step))

        started = time.perf_counter()
        while True:
            if cancel.is_set():
                raise Interrupted("cancelled")
            try:
                result = self.daemon.client.dream(
                    wire,
                    params,
                    guide=r.guide,
                    style=r.style,
                    model=r.model,
                    priority="batch",
                    on_progress=progress,
                    cancel=cancel,
                    **pictures,
                )
                break
            except protocol.Cancelled:
                if cancel.is_set():
                    raise Interrupted("cancelled") from None
                raise DreamFailed(f"the daemon at {self.daemon.endpoint} cancelled it") from None
            except protocol.Rejected as exc:
                code = str(exc.code)
                if code == "BUSY":
                    time.sleep(BUSY_PAUSE)
                    continue
                if code == "SHUTTING_DOWN":
                    raise RunnerLost(f"{self.daemon.endpoint} is shutting down") from None
                raise DreamFailed(f"{code}: {exc.message}") from None
            except protocol.MessageInvalid as exc:
                raise DreamFailed(f"not sendable: {exc}") from None
            except protocol.Unsupported as exc:  # the daemon is there, but too old for this
                raise DreamFailed(f"the daemon at {self.daemon.endpoint}: {exc}") from None
            except protocol.ClientError as exc:  # Unreachable, RequestTimeout, closed, version
                raise RunnerLost(str(exc)) from None
        pixels = _from_wire(result.image)
        meta: dict[str, Any] = {
            "model": result.model,
            "layers": list(result.layers),
            "params": dict(result.params),
            "seed": result.seed,
            "daemon": self.daemon.endpoint,
            "server": result.server or self.daemon.server,
        }
        return DreamOutput(pixels, meta, list(result.notes), time.perf_counter() - started)


def _wire_styles(style: np.ndarray | Sequence[np.ndarray] | None) -> Any:
    """One style image as one wire image, several as a tuple (protocol 1.1)."""
    if style is None:
        return None
    if isinstance(style, np.ndarray):
        return _wire_image(style, 16)
    images = tuple(_wire_image(s, 16) for s in style)
    return images[0] if len(images) == 1 else images


def _check_version(
    daemon: Daemon, params: Mapping[str, Any], style: Any, video_frames: bool = False
) -> None:
    """Several styles and the style flags of protocol 1.1 need a daemon that speaks it, a
    styled video with --flow and --temporal-weight one that speaks 1.2."""
    from dreamd import protocol

    newest = [f"--{n.replace('_', '-')}" for n in sorted(protocol.STYLE_PARAMS_1_2 & set(params))]
    if video_frames:
        newest.insert(0, "--style with --flow")
    if newest and not daemon.client.speaks((1, 2)):
        raise UsageError(
            f"the daemon at {daemon.endpoint} speaks protocol 1.1 or older: "
            f"{', '.join(newest)} need a newer dreamd; update it, or use --embedded"
        )

    newer = [f"--{n.replace('_', '-')}" for n in sorted(protocol.STYLE_PARAMS_1_1 & set(params))]
    if isinstance(style, tuple):
        newer.insert(0, "several --style images")
    if newer and not daemon.client.speaks((1, 1)):
        raise UsageError(
            f"the daemon at {daemon.endpoint} speaks protocol 1.0: {', '.join(newer)} need a "
            "newer dreamd; update it, or use --embedded"
        )


def _wire_image(pixels: np.ndarray, bits: int) -> Any:
    """float32 (H, W, C) → a raw protocol image: u8 for 8-bit sources, else u16."""
    from dreamd import protocol

    h, w, c = pixels.shape
    clipped = np.clip(pixels, 0.0, 1.0)
    if bits <= 8:
        data = np.ascontiguousarray(np.rint(clipped * 255.0).astype(np.uint8))
        return protocol.Image.raw(data, w, h, c, "u8")
    data = np.ascontiguousarray(np.rint(clipped * 65535.0).astype("<u2"))
    return protocol.Image.raw(data, w, h, c, "u16")


_WIRE_DTYPES: dict[str, np.dtype[Any]] = {
    "u8": np.dtype(np.uint8),
    "u16": np.dtype("<u2"),
    "f32": np.dtype("<f4"),
}


def _from_wire(image: Any) -> np.ndarray:
    desc = image.desc
    if desc.encoding != "raw":
        raise DreamFailed(f"the daemon answered with an encoded {desc.encoding} image")
    dtype = _WIRE_DTYPES[desc.dtype]
    arr = np.frombuffer(memoryview(image.data), dtype=dtype).reshape(
        desc.height, desc.width, desc.channels
    )
    if desc.dtype == "u8":
        return arr.astype(np.float32) / 255.0
    if desc.dtype == "u16":
        return arr.astype(np.float32) / 65535.0
    return arr.astype(np.float32)
