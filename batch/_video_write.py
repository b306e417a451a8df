"""Writing videos with PyAV: dreamed frames encoded with the source's timestamps (variable
frame rate included: every frame keeps its pts and duration), colour tags and display matrix
(rotation), every audio and subtitle stream copied packet for packet, never re-encoded.

The video itself is re-encoded: 8-bit 4:2:0 H.264 (VP9 for WebM) unless ``--video-codec``
says otherwise; odd sizes, which 4:2:0 H.264 cannot code, are kept exactly as 4:4:4.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np

from ._errors import UsageError, WriteFailed
from ._video_io import (
    UNSPECIFIED_RANGE,
    UNSPECIFIED_SPACE,
    VideoInfo,
    container_format,
    open_video,
    reason,
)

_ALIASES = {
    "h264": "libx264", "x264": "libx264", "avc": "libx264",
    "h265": "libx265", "hevc": "libx265", "x265": "libx265",
    "vp9": "libvpx-vp9", "vp8": "libvpx", "av1": "libaom-av1",
}  # fmt: skip
#: ``--crf`` defaults: dream detail is fine and busy, so higher quality than the encoders'
#: own defaults (23 / 31), which smear it.
DEFAULT_CRF = {"libx264": 18, "libx265": 20, "libvpx-vp9": 24, "libaom-av1": 24, "libsvtav1": 24}
_CRF_MAX = {"libx264": 51, "libx265": 51, "libvpx-vp9": 63, "libaom-av1": 63, "libsvtav1": 63}
#: Encoders whose 4:2:0 output needs even sizes (chroma is subsampled by 2).
_EVEN_ONLY = frozenset({"libx264", "libx265", "libopenh264", "h264_nvenc", "hevc_nvenc"})
#: Temporary output names end like the image writer's, so the same clean-up finds them.
TMP_SUFFIX = ".dream-tmp"
_counter = iter(range(1, 1 << 62))
_counter_lock = threading.Lock()


@dataclass(frozen=True)
class Encoder:
    """How the dreamed frames are encoded."""

    codec: str
    pix_fmt: str
    options: dict[str, str] = field(default_factory=dict)
    notes: tuple[str, ...] = ()


def resolve_codec(name: str | None, suffix: str) -> str:
    """``--video-codec`` (or the default for ``suffix``) as an FFmpeg encoder name.

    Raises:
        UsageError: no such encoder in this PyAV build.
    """
    import av

    if name is None:
        name = "libvpx-vp9" if suffix.lower() == ".webm" else "libx264"
    codec = _ALIASES.get(name.lower(), name)
    if codec == "libaom-av1" and "libaom-av1" not in av.codecs_available:
        codec = "libsvtav1"
    try:
        c = av.Codec(codec, "w")
    except (av.FFmpegError, ValueError):
        common = ("libx264", "libx265", "libvpx-vp9", "libaom-av1", "libsvtav1", "ffv1")
        known = [k for k in common if k in av.codecs_available]
        raise UsageError(
            f"--video-codec {name}: this PyAV build has no such encoder (try {', '.join(known)})"
        ) from None
    if c.type != "video":
        raise UsageError(f"--video-codec {name}: {codec} is not a video encoder")
    return codec


def check_container(codec: str, suffix: str) -> None:
    """Refuse, before anything is dreamed, an encoder the output container cannot hold
    (H.264 in WebM).

    Raises:
        UsageError: the message names a container that can.
    """
    import os

    import av

    fmt = container_format(Path("x" + suffix))
    try:
        with av.open(os.devnull, "w", format=fmt) as probe_out:
            known = probe_out.supported_codecs
    except (av.FFmpegError, ValueError):
        return  # cannot tell: let the muxer say
    c = av.Codec(codec, "w")
    if codec not in known and c.canonical_name not in known:
        raise UsageError(
            f"--video-codec {codec}: a {suffix} file cannot hold {c.canonical_name} "
            "(.mkv holds any; .webm takes vp9 or av1)"
        )


def check_crf(crf: int | None, codec: str) -> None:
    if crf is None:
        return
    top = _CRF_MAX.get(codec)
    if top is None:
        raise UsageError(
            f"--crf applies to libx264, libx265, libvpx-vp9 and AV1, not to {codec} "
            "(which is written at its own default quality)"
        )
    if not 0 <= crf <= top:
        raise UsageError(f"--crf for {codec} must be between 0 and {top}, not {crf}")


def encoder_for(codec: str, crf: int | None, width: int, height: int, name: str) -> Encoder:
    """Pixel format and options for ``codec`` at this size; odd sizes keep every pixel."""
    import av

    formats = [f.name for f in (av.Codec(codec, "w").video_formats or ())]
    pix = "yuv420p" if not formats or "yuv420p" in formats else formats[0]
    notes: list[str] = []
    if codec in _EVEN_ONLY and (width % 2 or height % 2) and "yuv444p" in formats:
        # 4:2:0 H.264/H.265 cannot code an odd width or height; 4:4:4 keeps the exact size
        pix = "yuv444p"
        notes.append(
            f"{name} is {width}×{height} (odd): written as 4:4:4 {codec} to keep the exact "
            "size; some players (browsers, QuickTime) play only 4:2:0 — "
            "--video-codec vp9 plays widely at any size"
        )
    options: dict[str, str] = {}
    if codec in _CRF_MAX:
        options["crf"] = str(DEFAULT_CRF.get(codec, 24) if crf is None else crf)
        if codec in ("libvpx-vp9", "libaom-av1"):
            options["b:v"] = "0"  # constant quality, no bitrate cap
    return Encoder(codec, pix, options, tuple(notes))


def temp_path(dest: Path) -> Path:
    with _counter_lock:
        n = next(_counter)
    return dest.with_name(f".{dest.name}.{os.getpid()}-{n}{TMP_SUFFIX}")


def write_video(
    frames: Iterable[np.ndarray],
    dest: Path,
    encoder: Encoder,
    *,
    source: VideoInfo | None = None,
    rate: Fraction = Fraction(25),
    comment: str | None = None,
) -> None:
    """Encode ``frames`` (uint8 RGB, in order) to ``dest`` atomically: a hidden temporary
    file beside it, renamed when complete. With ``source`` the frames take its timestamps,
    colour tags and display matrix and its audio and subtitle streams are copied; without,
    they play at ``rate``. ``comment`` (what made it) goes in the container's metadata.

    Raises:
        WriteFailed: nothing was written (a file at ``dest`` is untouched).
        UnreadableImage: the source could not be read again for its audio.
    """
    import av

    tmp = temp_path(dest)
    fmt = container_format(dest)
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
        out = av.open(str(tmp), "w", format=fmt)
        if comment is not None:
            out.metadata["comment"] = comment
        try:
            _mux(out, frames, encoder, source, rate)
        finally:
            out.close()
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, dest)
    except BaseException as exc:
        tmp.unlink(missing_ok=True)
        if isinstance(exc, (av.FFmpegError, OSError, ValueError)):
            errno = exc.errno if isinstance(exc, OSError) else None
            raise WriteFailed(dest, f"cannot write the video: {reason(exc)}", errno) from None
        raise


def _mux(
    out: Any, frames: Iterable[np.ndarray], enc: Encoder, src: VideoInfo | None, rate: Fraction
) -> None:
    tb = src.time_base if src is not None else 1 / rate
    vs = out.add_stream(enc.codec, rate=src.rate if src is not None else rate)
    inp = None
    copies: dict[int, Any] = {}
    try:
        if src is not None:
            inp = open_video(src.path)
            for s in inp.streams:
                if s.type in ("audio", "subtitle"):
                    copies[s.index] = out.add_stream_from_template(s)
        pending = _copied_packets(inp, copies) if inp is not None else iter(())
        nxt = next(pending, None)
        written = 0
        durations: dict[int, int] = {}
        for k, rgb in enumerate(frames):
            if k == 0:
                _setup_video(vs, enc, rgb, tb, src)
            frame = _frame(rgb, enc, src)
            pts = src.pts[k] if src is not None else k
            frame.pts, frame.time_base = pts, tb
            frame.duration = _duration(src, k) if src is not None else 1
            t = pts * tb
            while nxt is not None and nxt[0] <= t:  # interleave: copied packets up to now
                out.mux(nxt[1])
                nxt = next(pending, None)
            durations[pts] = frame.duration
            for packet in vs.encode(frame):
                _mux_video(out, packet, durations)
            written += 1
        if not written:
            raise ValueError("no frames to write")
        for packet in vs.encode():
            _mux_video(out, packet, durations)
        while nxt is not None:
            out.mux(nxt[1])
            nxt = next(pending, None)
    finally:
        if inp is not None:
            inp.close()


def _mux_video(out: Any, packet: Any, durations: dict[int, int]) -> None:
    """Mux an encoded packet with its frame's own duration (encoders derive one from the
    average rate, which changes the last frame's length of a variable-rate video)."""
    d = durations.pop(packet.pts, None) if packet.pts is not None else None
    if d:
        packet.duration = d
    out.mux(packet)


def _setup_video(
    vs: Any, enc: Encoder, rgb: np.ndarray, tb: Fraction, src: VideoInfo | None
) -> None:
    vs.width, vs.height = rgb.shape[1], rgb.shape[0]
    vs.pix_fmt = enc.pix_fmt
    vs.time_base = tb
    vs.codec_context.time_base = tb
    vs.codec_context.options = dict(enc.options)
    if src is not None:
        space, rng, prim, trc = src.colour
        cc = vs.codec_context
        cc.colorspace, cc.color_range, cc.color_primaries, cc.color_trc = space, rng, prim, trc
        if src.display_matrix is not None:
            vs.set_display_matrix(list(src.display_matrix))


def _frame(rgb: np.ndarray, enc: Encoder, src: VideoInfo | None) -> Any:
    import av

    frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb), format="rgb24")
    kw: dict[str, Any] = {"format": enc.pix_fmt}
    if src is not None:
        space, rng, _, _ = src.colour
        if space != UNSPECIFIED_SPACE:
            kw["dst_colorspace"] = space
        if rng != UNSPECIFIED_RANGE:
            kw["dst_color_range"] = rng
    return frame.reformat(**kw)


def _duration(src: VideoInfo, k: int) -> int:
    if k + 1 < src.frames:
        return src.pts[k + 1] - src.pts[k]
    own = src.durations[k] if k < len(src.durations) else 0
    if own > 0:
        return own
    return src.pts[k] - src.pts[k - 1] if k > 0 else max(1, round(1 / (src.rate * src.time_base)))


def _copied_packets(inp: Any, copies: dict[int, Any]) -> Iterator[tuple[Fraction, Any]]:
    """(time, packet) of the streams copied, in file order, each re-addressed to its output
    stream."""
    if not copies:
        return
    streams = [s for s in inp.streams if s.index in copies]
    for packet in inp.demux(*streams):
        if packet.size == 0 or (packet.dts is None and packet.pts is None):
            continue
        ts = packet.dts if packet.dts is not None else packet.pts
        t = ts * packet.time_base
        packet.stream = copies[packet.stream.index]
        yield t, packet
