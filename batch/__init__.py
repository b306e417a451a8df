"""dream-batch: DeepDream for folders, single images, globs and video frames.

Command line: ``dream-batch -s SOURCE -d DEST [options]`` (see :mod:`batch.cli`).
Runs against a dreamd daemon when one answers, otherwise runs the engine in-process.
"""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__"]
