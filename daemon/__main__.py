"""``python -m dreamd.daemon``: the same as the ``dreamd`` command."""

from __future__ import annotations

from .cli import entry

if __name__ == "__main__":
    entry()
