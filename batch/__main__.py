"""``python -m dreamd.batch`` is ``dream-batch``."""

from .cli import main

raise SystemExit(main())
