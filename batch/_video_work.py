"""Where a video's dreamed frames wait until the video is written: one lossless PNG per
frame, each written atomically, so a stopped run (Ctrl-C, a crash, a full disk) resumes
from the frames already there.

For ``out/clip.mp4`` the folder is hidden beside it, ``out/.clip.mp4.dreamd/``, and goes when
the video is complete; with ``--frames`` the frames are the result, ``out/clip/000001.png``…,
and only the folder's hidden state file goes. The state file records what made the frames
(the source file's size and date, the dream, blend and flow settings): frames made from
another source or with other settings are never mixed with new ones.
"""

from __future__ import annotations

import json
import os
import shutil
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, PngImagePlugin

from ._errors import UnreadableImage, WriteFailed
from ._imageio import clean_stale_temps

STATE = ".dreamd-work.json"
#: Temporary names end like the image writer's, so its clean-up of stale files finds them.
TMP_SUFFIX = ".dream-tmp"
_counter = iter(range(1, 1 << 62))
_lock = threading.Lock()


def hidden_folder(dest: Path) -> Path:
    """The working folder of the video ``dest``: ``.NAME.dreamd`` beside it."""
    return dest.with_name(f".{dest.name}.dreamd")


def frame_name(index: int) -> str:
    """``000001.png`` for the first frame: six digits, more when a video has more frames."""
    return f"{index + 1:06d}.png"


class WorkFolder:
    """The dreamed frames of one video (or zoom animation)."""

    def __init__(self, path: Path, state: Mapping[str, Any], *, keep: bool) -> None:
        self.path = path
        self.state = dict(state)
        self.keep = keep  # the frames are the result (--frames): only the state file goes
        self._done: set[int] = set()
        self._kept: dict[str, Any] = {}

    # ---------------------------------------------------------------- lifecycle

    def open(self, fresh: bool = False) -> str | None:
        """Create the folder, or take up the frames it has when they were made the same way.

        Returns:
            A note when earlier frames were thrown away (other source or settings).
        """
        note = None
        state_file = self.path / STATE
        clean_stale_temps(self.path)  # frames a killed run was writing
        if self.path.is_dir():
            saved = _read_state(state_file)
            old = saved.get("state") if isinstance(saved, dict) else None
            if fresh or old != _jsonable(self.state):
                n = self._clear()
                if n and not fresh:
                    note = (
                        f"{n} frame(s) dreamed earlier from another source or with other "
                        "settings were thrown away"
                    )
            elif isinstance(saved, dict) and isinstance(saved.get("kept"), dict):
                self._kept = saved["kept"]
        try:
            self.path.mkdir(parents=True, exist_ok=True)
            self._save()
        except OSError as exc:
            raise WriteFailed(
                self.path, f"cannot make the working folder: {exc}", exc.errno
            ) from None
        self._done = self._scan()
        return note

    def remember(self, key: str, value: Any) -> Any:
        """``key``'s value from the run that dreamed the frames here, else ``value`` (kept
        for the next run): what a resumed run must reuse, such as a drawn seed."""
        if key not in self._kept:
            self._kept[key] = value
            self._save()
        return self._kept[key]

    def _save(self) -> None:
        data = {"state": self.state, "kept": self._kept}
        _atomic_bytes(self.path / STATE, json.dumps(data, sort_keys=True).encode())

    def _clear(self) -> int:
        frames = self._scan()
        for i in frames:
            (self.path / frame_name(i)).unlink(missing_ok=True)
        (self.path / STATE).unlink(missing_ok=True)
        return len(frames)

    def _scan(self) -> set[int]:
        found: set[int] = set()
        try:
            names = os.listdir(self.path)
        except OSError:
            return found
        for name in names:
            stem, dot, ext = name.partition(".")
            if dot and ext == "png" and stem.isdigit() and int(stem) > 0:
                found.add(int(stem) - 1)
        return found

    def finish(self) -> None:
        """The result is complete: remove the working folder (or, with --frames, its state
        file, which marks the frames as unfinished)."""
        if self.keep:
            (self.path / STATE).unlink(missing_ok=True)
        else:
            shutil.rmtree(self.path, ignore_errors=True)

    @staticmethod
    def complete(frames_folder: Path) -> bool:
        """Whether a --frames folder holds a finished result."""
        return frames_folder.is_dir() and not (frames_folder / STATE).exists()

    # ---------------------------------------------------------------- frames

    def done(self, index: int) -> bool:
        return index in self._done

    @property
    def count(self) -> int:
        return len(self._done)

    def frame_path(self, index: int) -> Path:
        return self.path / frame_name(index)

    def write(self, index: int, rgb: np.ndarray, text: str | None = None) -> None:
        """Keep frame ``index`` (uint8 RGB) losslessly, atomically, with ``text`` (what made
        it) in a PNG text chunk ``dream-batch``, where ``batch.read_params`` finds it.

        Raises:
            WriteFailed: not written (``errno`` ENOSPC when the disk is full).
        """
        dest = self.frame_path(index)
        with _lock:
            n = next(_counter)
        tmp = dest.with_name(f".{dest.name}.{os.getpid()}-{n}{TMP_SUFFIX}")
        info = None
        if text is not None:
            info = PngImagePlugin.PngInfo()
            info.add_text("dream-batch", text)
        try:
            # compress level 1: several times faster than the default, a few % larger
            Image.fromarray(rgb).save(tmp, "PNG", compress_level=1, pnginfo=info)
            os.replace(tmp, dest)
        except OSError as exc:
            tmp.unlink(missing_ok=True)
            raise WriteFailed(dest, f"cannot write: {exc.strerror or exc}", exc.errno) from None
        with _lock:
            self._done.add(index)

    def read(self, index: int) -> np.ndarray:
        """Frame ``index`` as uint8 RGB.

        Raises:
            UnreadableImage: missing or damaged (it is removed, so a new run dreams it again).
        """
        path = self.frame_path(index)
        try:
            with Image.open(path) as im:
                im.load()
                return np.asarray(im.convert("RGB"))
        except (OSError, ValueError) as exc:
            path.unlink(missing_ok=True)
            with _lock:
                self._done.discard(index)
            raise UnreadableImage(
                path, f"a dreamed frame is damaged ({exc}); run the same command again"
            ) from None


def _jsonable(state: Mapping[str, Any]) -> Any:
    return json.loads(json.dumps(state, sort_keys=True))


def _read_state(path: Path) -> Any:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def _atomic_bytes(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}{TMP_SUFFIX}")
    tmp.write_bytes(data)
    os.replace(tmp, path)
