"""Which files a batch reads: a folder, a single file or a glob, in ascii-betical order."""

from __future__ import annotations

import glob
import os
from dataclasses import dataclass
from pathlib import Path

from PIL import Image

from ._errors import UsageError
from ._video_io import VIDEO_SUFFIXES

_MAGIC = frozenset("*?[")


@dataclass(frozen=True)
class Source:
    """One input file and where it sits relative to the source root (mirrored under -d)."""

    path: Path
    rel: Path

    @property
    def key(self) -> tuple[str, ...]:
        """Sort key: code-point ("ascii-betical") order, folder by folder."""
        return self.rel.parts


@dataclass
class SourceList:
    """What a ``-s`` argument expands to."""

    sources: list[Source]
    ignored: list[Path]  # files in a folder walk whose names are not image names
    kind: str  # "folder", "file" or "glob"
    root: Path


def image_extensions() -> frozenset[str]:
    """Lower-case suffixes (with the dot) of every format Pillow can open."""
    Image.init()
    return frozenset(
        ext.lower() for ext, fmt in Image.registered_extensions().items() if fmt in Image.OPEN
    )


def is_hidden(name: str) -> bool:
    return name.startswith(".")


def find_sources(source: str, recursive: bool = False, exclude: Path | None = None) -> SourceList:
    """Expand ``source`` into files, sorted by relative path in code-point order.

    A folder yields the files with an image or video suffix (sub-folders with ``recursive``); hidden
    files and folders, and ``exclude`` (the destination, when it lies inside the source),
    are left out. A file yields itself, whatever its name. Anything else with ``*``, ``?``
    or ``[`` is a glob (``**`` crosses folders with ``recursive``).

    Raises:
        UsageError: the source does not exist or the glob matches nothing.
    """
    path = Path(source).expanduser()
    excluded = exclude.resolve() if exclude is not None else None
    if path.is_dir():
        found, ignored = _walk(path, recursive, excluded)
        return SourceList(sorted(found, key=lambda s: s.key), ignored, "folder", path)
    if path.is_file():
        return SourceList([Source(path, Path(path.name))], [], "file", path.parent)
    if any(c in source for c in _MAGIC):
        root = _glob_root(path)
        matches = [
            Path(m)
            for m in glob.glob(os.path.expanduser(source), recursive=recursive)
            if os.path.isfile(m)
        ]
        if excluded is not None:
            matches = [m for m in matches if not _inside(m.resolve(), excluded)]
        if not matches:
            raise UsageError(f"source {source!r} matches no file")
        found = [Source(m, _relative(m, root)) for m in matches]
        return SourceList(sorted(found, key=lambda s: s.key), [], "glob", root)
    if path.exists():
        raise UsageError(f"source {source!r} is neither a file nor a folder")
    raise UsageError(f"source {source!r} does not exist")


def _walk(root: Path, recursive: bool, excluded: Path | None) -> tuple[list[Source], list[Path]]:
    exts = image_extensions() | VIDEO_SUFFIXES
    found: list[Source] = []
    ignored: list[Path] = []
    for dirpath, dirnames, filenames in os.walk(root):
        here = Path(dirpath)
        if recursive:
            dirnames[:] = sorted(
                d
                for d in dirnames
                if not is_hidden(d)
                and not (excluded is not None and (here / d).resolve() == excluded)
            )
        else:
            dirnames[:] = []
        for name in filenames:
            if is_hidden(name):
                continue
            p = here / name
            if not p.is_file():
                continue
            if p.suffix.lower() in exts:
                found.append(Source(p, p.relative_to(root)))
            else:
                ignored.append(p)
    return found, sorted(ignored)


def _glob_root(pattern: Path) -> Path:
    """The leading part of a glob pattern that has no wildcard in it."""
    parts: list[str] = []
    for part in pattern.parts:
        if any(c in part for c in _MAGIC):
            break
        parts.append(part)
    return Path(*parts) if parts else Path(".")


def _relative(path: Path, root: Path) -> Path:
    try:
        return path.relative_to(root)
    except ValueError:
        return Path(path.name)


def _inside(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents
