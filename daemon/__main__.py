"""``python -m dreamd.daemon``: the same as the ``dreamd`` command."""

from __future__ import annotations

from .cli import main

if __name__ == "__main__":
    raise SystemExit(main())
