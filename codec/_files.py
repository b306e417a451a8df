"""Atomic writes: a file appears complete or not at all.

The file is written to a hidden temporary file beside its destination, flushed to disk and
renamed over it. A process killed half-way leaves only its temporary file, which
:func:`clean_stale_temps` removes once that process is gone (its id is in the name).
"""

from __future__ import annotations

import contextlib
import os
import threading
from pathlib import Path

import numpy as np

from ._errors import WriteFailed
from ._info import Comment, ImageInfo, format_for
from ._write import encode_into

#: Suffix of the temporary files (``.NAME.PID-N.dream-tmp``).
TMP_SUFFIX = ".dream-tmp"

_counter = iter(range(1, 1 << 62))
_counter_lock = threading.Lock()


def write(
    pixels: np.ndarray,
    info: ImageInfo,
    dest: str | Path,
    *,
    comment: Comment | None = None,
    quality: int | None = None,
) -> list[str]:
    """Write float32 ``pixels`` to ``dest`` as the same kind of file as ``info`` describes,
    in the format ``dest``'s suffix names (:func:`format_for`), atomically.

    Returns:
        Notes worth telling the user (alpha dropped, depth reduced, no metadata container).

    Raises:
        WriteFailed: nothing was written; a file already at ``dest`` is untouched.
    """
    out = Path(dest)
    with _counter_lock:
        n = next(_counter)
    tmp = out.with_name(f".{out.name}.{os.getpid()}-{n}{TMP_SUFFIX}")
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        with open(tmp, "xb") as fh:
            notes = encode_into(fh, pixels, info, format_for(out), comment, quality)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, out)
    except BaseException as exc:
        with contextlib.suppress(OSError):  # the folder may be what failed
            tmp.unlink(missing_ok=True)
        if isinstance(exc, (OSError, ValueError, TypeError, KeyError)):
            errno = exc.errno if isinstance(exc, OSError) else None
            text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
            reason = f"{type(exc).__name__}: {text}" if text else type(exc).__name__
            raise WriteFailed(f"cannot write: {reason}", out, errno) from None
        raise
    return notes


def clean_stale_temps(folder: str | Path) -> int:
    """Remove temporary files left in ``folder`` by processes no longer alive; returns
    how many."""
    removed = 0
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return 0
    for e in entries:
        if not (e.name.startswith(".") and e.name.endswith(TMP_SUFFIX)):
            continue
        try:
            pid = int(e.name[: -len(TMP_SUFFIX)].rsplit(".", 1)[1].split("-")[0])
        except (IndexError, ValueError):
            continue
        if pid != os.getpid() and not _alive(pid):
            try:
                os.unlink(e.path)
                removed += 1
            except OSError:
                pass
    return removed


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True  # alive, but someone else's
    return True
