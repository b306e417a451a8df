"""dream-batch: DeepDream for folders, single images, globs, video files and video frames.

Command line: ``dream-batch -s SOURCE -d DEST [options]`` (see :mod:`dreamd.batch.cli`).
Runs against a dreamd daemon when one answers, otherwise runs the engine in-process.

:func:`read_params` reads back the parameters recorded in an output file; :func:`flicker`
measures how much a dreamed sequence flickers beyond its input's own motion.
"""

from __future__ import annotations

from .. import __version__
from ._flow import flicker
from ._imageio import read_params

__all__ = ["__version__", "flicker", "read_params"]
