"""Video clips made on the spot with PyAV from real photos (scikit-image), for the video
tests and benchmarks: a pan across a photo, a still shot, an AAC tone, odd sizes, variable
frame rates, rotation; and reading them back whole."""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction
from pathlib import Path

import numpy as np
from PIL import Image

#: The photo every clip is cut from (coffee: textured, 600×400).
PHOTO = "coffee"


def photo_frames(
    count: int,
    size: tuple[int, int] = (64, 48),
    step: float = 2.0,
    name: str = PHOTO,
    scale: float = 0.5,
) -> list[np.ndarray]:
    """``count`` uint8 RGB crops of ``size`` (w, h) from a real photo scaled by ``scale``,
    the window moving ``step`` pixels right per frame (0: a static shot). Sub-pixel steps
    are resampled, so the pan is smooth."""
    from skimage import data

    arr = getattr(data, name)()
    base = Image.fromarray(arr)
    base = base.resize((round(base.width * scale), round(base.height * scale)), Image.LANCZOS)
    w, h = size
    x0 = 8.0
    y0 = max(0, (base.height - h) // 2)
    if x0 + step * (count - 1) + w > base.width:
        raise ValueError("the pan runs off the photo: smaller step or size")
    out = []
    for i in range(count):
        x = x0 + step * i
        box = (x, y0, x + w, y0 + h)
        out.append(np.asarray(base.resize((w, h), Image.BICUBIC, box=box)))
    return out


def write_clip(
    path: Path,
    frames: Sequence[np.ndarray],
    *,
    rate: int = 25,
    pts: Sequence[int] | None = None,
    time_base: Fraction | None = None,
    audio: int = 1,
    rotation: int | None = None,
    codec: str = "libx264",
    crf: int = 12,
) -> Path:
    """Encode ``frames`` (uint8 RGB) to ``path`` with PyAV: ``pts`` in ``time_base`` for a
    variable frame rate (default: ``rate`` frames per second), ``audio`` stereo tracks (AAC;
    Opus in WebM), each a tone as long as the video, a display rotation when asked."""
    import av

    tb = time_base or Fraction(1, rate)
    times = list(pts) if pts is not None else list(range(len(frames)))
    h, w = frames[0].shape[:2]
    with av.open(str(path), "w") as out:
        vs = out.add_stream(codec, rate=rate)
        vs.width, vs.height = w, h
        vs.pix_fmt = "yuv420p" if (w % 2 == 0 and h % 2 == 0) or codec != "libx264" else "yuv444p"
        vs.time_base = tb
        vs.codec_context.time_base = tb
        vs.codec_context.options = {"crf": str(crf)} if codec == "libx264" else {}
        if rotation is not None:
            vs.set_display_rotation(rotation)
        sound = "libopus" if path.suffix == ".webm" else "aac"
        tracks = [out.add_stream(sound, rate=48000, layout="stereo") for _ in range(audio)]
        for arr, p in zip(frames, times, strict=True):
            fr = av.VideoFrame.from_ndarray(np.ascontiguousarray(arr), format="rgb24")
            fr.pts, fr.time_base = p, tb
            for pk in vs.encode(fr):
                out.mux(pk)
        for pk in vs.encode():
            out.mux(pk)
        for k, au in enumerate(tracks):
            _tone(out, au, float((times[-1] + 1) * tb), 440 * (k + 1))
    return path


def _tone(out: object, au: object, seconds: float, pitch: float = 440) -> None:
    import av

    n = int(seconds * 48000)
    t = np.arange(n) / 48000
    wave = (0.2 * np.sin(2 * np.pi * pitch * t)).astype(np.float32)
    for k in range(0, n, 960):  # 20 ms: a frame size AAC and Opus both take
        piece = wave[k : k + 960]
        chunk = np.ascontiguousarray(np.stack([np.pad(piece, (0, 960 - piece.size))] * 2))
        af = av.AudioFrame.from_ndarray(chunk, format="fltp", layout="stereo")
        af.sample_rate, af.pts, af.time_base = 48000, k, Fraction(1, 48000)
        for pk in au.encode(af):  # type: ignore[attr-defined]
            out.mux(pk)  # type: ignore[attr-defined]
    for pk in au.encode():  # type: ignore[attr-defined]
        out.mux(pk)  # type: ignore[attr-defined]


def audio_only(path: Path, seconds: float = 0.5) -> Path:
    """An MP4 holding only an AAC track (no video stream)."""
    import av

    with av.open(str(path), "w") as out:
        au = out.add_stream("aac", rate=48000, layout="stereo")
        _tone(out, au, seconds)
    return path


def truncate(path: Path, keep: float = 0.5) -> Path:
    """``path`` cut to ``keep`` of its bytes, as a copy that stopped half-way."""
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * keep)])
    return path


def decode(path: Path) -> tuple[list[np.ndarray], list[Fraction], dict[str, object]]:
    """Every frame (uint8 RGB), its time in seconds, and facts about the file: size, rate,
    pix_fmt, rotation, codec, and each audio stream's packets as (pts, bytes)."""
    import av

    frames: list[np.ndarray] = []
    times: list[Fraction] = []
    facts: dict[str, object] = {}
    with av.open(str(path)) as c:
        vs = c.streams.video[0]
        facts["codec"] = vs.codec_context.name
        facts["rate"] = vs.average_rate
        for f in c.decode(vs):
            if not frames:
                facts["size"] = (f.width, f.height)
                facts["pix_fmt"] = f.format.name
                facts["rotation"] = f.rotation
            frames.append(f.to_ndarray(format="rgb24"))
            times.append(Fraction(f.pts) * f.time_base)
    with av.open(str(path)) as c:
        audio = [s for s in c.streams if s.type == "audio"]
        packets: dict[int, list[tuple[int, bytes]]] = {s.index: [] for s in audio}
        for pk in c.demux(*audio) if audio else ():
            if pk.size:
                packets[pk.stream.index].append((pk.pts, bytes(pk)))
        facts["audio"] = [packets[s.index] for s in audio]
        facts["audio_codecs"] = [s.codec_context.name for s in audio]
    return frames, times, facts


def strip(frames: Sequence[np.ndarray], path: Path, every: int = 1, rows: int = 1) -> Path:
    """Save frames side by side (every ``every``-th) as one PNG, to look at."""
    chosen = list(frames)[::every]
    per_row = -(-len(chosen) // rows)
    h, w = chosen[0].shape[:2]
    canvas = np.zeros((h * rows, w * per_row, 3), np.uint8)
    for k, f in enumerate(chosen):
        r, c = divmod(k, per_row)
        canvas[r * h : (r + 1) * h, c * w : (c + 1) * w] = f[:, :, :3]
    Image.fromarray(canvas).save(path)
    return path
