"""dreamd: DeepDream as a tool for people who edit images and make videos.

The one top-level import name of the project. Its parts, each a folder of the repository
mapped here by ``pyproject.toml``:

- :mod:`dreamd.engine`: the algorithm in pure PyTorch (models, layers, octaves, tiles, style)
- :mod:`dreamd.codec`: image files ⇄ arrays (every format and mode, 16-bit exact, atomic writes)
- :mod:`dreamd.protocol`: the wire format and client library (pyzmq, msgpack, stdlib only)
- :mod:`dreamd.daemon`: ``dreamd``, the resident-model daemon
- :mod:`dreamd.batch`: ``dream-batch``, files in, files out
- :mod:`dreamd.gimp`: the GIMP 3 plug-in and its installer

``__version__`` comes from the installed distribution's metadata, whose only source is
``pyproject.toml``.
"""

from __future__ import annotations

from importlib import metadata as _metadata

try:
    __version__ = _metadata.version("dreamd")
except _metadata.PackageNotFoundError:  # a source tree on sys.path that was never installed
    __version__ = "0+unknown"

__all__ = ["__version__"]
