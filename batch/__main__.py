"""``python -m dreamd.batch`` is ``dream-batch``."""

from .cli import entry

entry()
