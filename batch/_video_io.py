"""Reading videos with PyAV: look at a video once (every frame's timing, its display matrix,
colour tags and the streams to copy), then decode its frames in order from any frame.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np

from ._errors import ImageTooLarge, UnreadableImage

#: File names read as videos (everything else goes to the image reader).
VIDEO_SUFFIXES = frozenset((
    ".mp4", ".m4v", ".mov", ".mkv", ".webm", ".avi", ".mpg", ".mpeg", ".ts", ".mts", ".m2ts",
    ".wmv", ".flv", ".ogv", ".3gp",
))  # fmt: skip
#: Output container per suffix kept as is; other videos are written as Matroska (.mkv),
#: which holds H.264 and any audio stream that may need copying.
_CONTAINERS = {
    ".mp4": "mp4", ".m4v": "mp4", ".mov": "mov", ".mkv": "matroska", ".webm": "webm",
    ".avi": "avi", ".ts": "mpegts", ".mts": "mpegts", ".m2ts": "mpegts",
}  # fmt: skip
UNSPECIFIED_RANGE = 0
UNSPECIFIED_SPACE = 2


def is_video(path: str | Path) -> bool:
    return Path(path).suffix.lower() in VIDEO_SUFFIXES


def output_suffix(path: str | Path) -> str:
    """The suffix of the dreamed video: the input's own when its container is written here
    (mp4, mov, mkv, webm, avi, ts), else ``.mkv``."""
    s = Path(path).suffix.lower()
    return Path(path).suffix if s in _CONTAINERS else ".mkv"


def container_format(dest: Path) -> str:
    """FFmpeg's name of the container ``dest``'s suffix asks for."""
    return _CONTAINERS.get(dest.suffix.lower(), "matroska")


@dataclass(frozen=True)
class VideoInfo:
    """What one look at a video found out: its first video stream, every frame's timing."""

    path: Path
    width: int
    height: int
    pts: tuple[int, ...]  # presentation timestamps of every frame, in ``time_base``
    durations: tuple[int, ...]  # each frame's duration in ``time_base`` (0: unknown)
    time_base: Fraction
    rate: Fraction  # average frame rate, for encoders that want one
    display_matrix: tuple[int, ...] | None
    colour: tuple[int, int, int, int]  # colorspace, color_range, primaries, transfer
    pix_fmt: str
    copied: tuple[str, ...]  # "audio aac", "subtitle mov_text": streams copied as they are
    seekable: bool  # pts are known and strictly increasing
    notes: tuple[str, ...] = ()

    @property
    def frames(self) -> int:
        return len(self.pts)

    @property
    def rotation(self) -> int:
        """Quarter turns counter-clockwise that show the stored frame upright (0 when there
        is no display matrix or it mirrors too: such frames are dreamed as stored)."""
        m = self.display_matrix
        if m is None:
            return 0
        a, b, c, d = m[0], m[1], m[3], m[4]
        if a * d - b * c <= 0:  # a mirror: dreamed as stored
            return 0
        return {(1, 0): 0, (0, 1): 3, (-1, 0): 2, (0, -1): 1}.get((_sign(a), _sign(b)), 0)

    def fingerprint(self) -> dict[str, Any]:
        """Enough to tell whether a working folder was made from this same video."""
        st = self.path.stat()
        return {
            "size": st.st_size,
            "mtime_ns": st.st_mtime_ns,
            "frames": self.frames,
            "width": self.width,
            "height": self.height,
        }


def _sign(v: int) -> int:
    return (v > 0) - (v < 0)


def reason(exc: BaseException) -> str:
    text = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
    return str(text).strip().splitlines()[0]


def _mp4_without_index(path: Path) -> bool:
    """An MP4/MOV whose top-level boxes run past the end of the file, or that has no
    ``moov`` (its index): a file cut short while it was written or copied."""
    try:
        size = path.stat().st_size
        with open(path, "rb") as fh:
            head = fh.read(12)
            if len(head) < 8 or head[4:8] != b"ftyp":
                return False
            pos, moov = 0, False
            while pos + 8 <= size:
                fh.seek(pos)
                box = fh.read(16)
                n = int.from_bytes(box[:4], "big")
                moov = moov or box[4:8] == b"moov"
                if n == 1 and len(box) >= 16:
                    n = int.from_bytes(box[8:16], "big")
                elif n == 0:
                    n = size - pos
                if n < 8 or pos + n > size:
                    return True
                pos += n
            return not moov
    except OSError:
        return False


def open_video(path: Path) -> Any:
    import av

    try:
        if path.stat().st_size == 0:
            raise UnreadableImage(path, "empty file")
        return av.open(str(path), metadata_errors="replace")
    except UnreadableImage:
        raise
    except (av.FFmpegError, OSError) as exc:
        if _mp4_without_index(path):
            raise UnreadableImage(
                path, "truncated: the video's data is cut short and it has no index (moov)"
            ) from None
        raise UnreadableImage(path, f"not a video that can be read ({reason(exc)})") from None


def probe(path: str | Path, max_pixels: int) -> VideoInfo:
    """Decode every frame of ``path``'s first video stream once, keeping only the timing,
    so that a broken file is refused before anything is dreamed or written.

    Raises:
        UnreadableImage: not a video, no video stream, truncated or corrupt.
        ImageTooLarge: frames over ``max_pixels``.
    """
    import av

    p = Path(path)
    container = open_video(p)
    try:
        return _probe(p, container, max_pixels)
    except (av.FFmpegError, OSError, MemoryError) as exc:
        raise UnreadableImage(p, f"cannot be decoded: {reason(exc)}") from None
    finally:
        container.close()


def _probe(path: Path, container: Any, max_pixels: int) -> VideoInfo:
    if not container.streams.video:
        kinds = ", ".join(f"{s.type} {s.codec_context.name}" for s in container.streams)
        raise UnreadableImage(path, f"no video stream in it ({kinds or 'no streams at all'})")
    vs = container.streams.video[0]
    w, h = vs.codec_context.width, vs.codec_context.height
    if w * h > max_pixels:
        raise ImageTooLarge(path, f"frames of {w}×{h} are too large (--max-megapixels)")
    vs.thread_type = "AUTO"
    copied = tuple(
        f"{s.type} {s.codec_context.name}"
        for s in container.streams
        if s.type in ("audio", "subtitle")
    )
    pts: list[int | None] = []
    durations: list[int] = []
    matrix = None
    colour = (UNSPECIFIED_SPACE, UNSPECIFIED_RANGE, 2, 2)
    pix_fmt = vs.codec_context.pix_fmt or "?"
    for frame in container.decode(vs):
        if not pts:
            w, h = frame.width, frame.height
            pix_fmt = frame.format.name
            colour = (frame.colorspace, frame.color_range, frame.color_primaries, frame.color_trc)
            matrix = _display_matrix(frame)
        pts.append(frame.pts)
        durations.append(int(frame.duration or 0))
    if not pts:
        raise UnreadableImage(path, "no frame could be decoded")
    expected = vs.frames
    if expected and len(pts) < expected:
        raise UnreadableImage(
            path, f"truncated or corrupt: {len(pts)} of its {expected} frames could be decoded"
        )
    notes: list[str] = []
    rate = vs.average_rate or vs.guessed_rate or Fraction(25)
    tb = vs.time_base or Fraction(1, 90000)
    known = [p for p in pts if p is not None]
    seekable = len(known) == len(pts) and all(b > a for a, b in itertools.pairwise(known))
    if seekable:
        times = tuple(int(p) for p in known)
        if vs.duration and vs.start_time is not None:  # the container's own last duration
            last = vs.start_time + vs.duration - times[-1]
            if last > 0:
                durations[-1] = int(last)
    else:
        tb = 1 / Fraction(rate)
        times = tuple(range(len(pts)))
        notes.append("its frames carry no usable timestamps: written at a constant rate")
    if _depth(pix_fmt) > 8:
        notes.append(f"{pix_fmt} video: dreamed and written with 8 bits per sample")
    return VideoInfo(
        path=path,
        width=w,
        height=h,
        pts=times,
        durations=tuple(durations),
        time_base=Fraction(tb),
        rate=Fraction(rate),
        display_matrix=matrix,
        colour=colour,
        pix_fmt=pix_fmt,
        copied=copied,
        seekable=seekable,
        notes=tuple(notes),
    )


def _display_matrix(frame: Any) -> tuple[int, ...] | None:
    for sd in frame.side_data:
        if "DISPLAYMATRIX" in str(sd.type):
            values = np.frombuffer(bytes(sd), dtype="<i4")
            if values.size == 9:
                return tuple(int(v) for v in values)
    return None


def _depth(pix_fmt: str) -> int:
    import av

    try:
        return max(c.bits for c in av.VideoFormat(pix_fmt).components)
    except (ValueError, av.FFmpegError):
        return 8


def to_rgb(frame: Any) -> np.ndarray:
    """A decoded frame as uint8 RGB (H, W, 3), converted with the frame's own colour matrix
    and range (untagged: BT.601, limited range, as players assume)."""
    kw: dict[str, Any] = {"format": "rgb24"}
    if frame.color_range != UNSPECIFIED_RANGE:
        kw["src_color_range"] = frame.color_range
    return np.asarray(frame.to_ndarray(**kw))


class FrameReader:
    """Decodes a video's frames in order from ``start``, seeking to the keyframe before it
    when the timestamps allow, else decoding from the first frame."""

    def __init__(self, info: VideoInfo, start: int = 0) -> None:
        self.info = info
        self.start = max(0, start)
        self._index = {p: i for i, p in enumerate(info.pts)} if info.seekable else None

    def __iter__(self) -> Iterator[tuple[int, np.ndarray]]:
        seek = self._index is not None and self.start > 0
        while True:
            restart = False
            for item in self._decode(seek):
                if item is None:  # the seek landed past the frame wanted
                    restart = True
                    break
                yield item
            if not restart:
                return
            seek = False

    def _decode(self, seek: bool) -> Iterator[tuple[int, np.ndarray] | None]:
        import av

        container = open_video(self.info.path)
        try:
            vs = container.streams.video[0]
            vs.thread_type = "AUTO"
            if seek:
                container.seek(self.info.pts[self.start], stream=vs, backward=True)
            count = -1
            expected = self.start
            for frame in container.decode(vs):
                count += 1
                i = self._index.get(frame.pts, -1) if self._index is not None else count
                if seek and count == 0 and i > self.start:
                    yield None  # the seek landed past the frame wanted: decode from the start
                    return
                if i < self.start:
                    continue
                if i != expected:
                    raise UnreadableImage(
                        self.info.path, f"frame {expected + 1} could not be decoded again"
                    )
                expected += 1
                yield i, to_rgb(frame)
                if expected >= self.info.frames:
                    return
            if expected < self.info.frames:
                raise UnreadableImage(
                    self.info.path, f"ends after {expected} of its {self.info.frames} frames"
                )
        except av.FFmpegError as exc:
            raise UnreadableImage(self.info.path, f"cannot be decoded: {reason(exc)}") from None
        finally:
            container.close()
