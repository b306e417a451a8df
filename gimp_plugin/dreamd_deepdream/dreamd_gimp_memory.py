"""What the dialog showed last, kept in a global GIMP parasite so that Cancel and failed
dreams do not lose it (GIMP keeps a procedure's values only after a successful run), and
the seed of the last dream for "Same seed again".

GIMP-only (imported by ``dreamd_deepdream.py`` and the dialog).
"""

from __future__ import annotations

import contextlib
import os
from typing import Any

import dreamd_gimp_params as procedure_args
import gi

gi.require_version("Gimp", "3.0")
from gi.repository import Gimp  # noqa: E402


def _session() -> int:
    # Plug-ins are GIMP's children: its pid tells one GIMP session from the next, and
    # drawable ids mean something only within one session.
    return os.getppid()


def recall() -> tuple[dict[str, Any], int | None]:
    """(the dialog's last values by property name, the last dream's seed)."""
    parasite = Gimp.get_parasite(procedure_args.MEMORY_PARASITE)
    if parasite is None:
        return {}, None
    text = bytes(parasite.get_data()).decode("utf-8", "replace")
    return procedure_args.memory_values(text, _session())


def remember(config: Any, last_seed: int | None = None) -> None:
    """Keep the config's values (and ``last_seed``, or the one kept before)."""
    values: dict[str, Any] = {}
    for name in procedure_args.argument_names():
        value = config.get_property(name)
        if name in ("guide", "style"):
            value = value.get_id() if value is not None else None
        values[name] = value
    if last_seed is None:
        last_seed = recall()[1]
    text = procedure_args.memory_text(values, last_seed, _session())
    with contextlib.suppress(Exception):  # a memory that cannot be kept is no reason to fail
        parasite = procedure_args.MEMORY_PARASITE
        Gimp.attach_parasite(Gimp.Parasite.new(parasite, Gimp.PARASITE_PERSISTENT, text.encode()))


def restore(config: Any) -> int | None:
    """Put the kept values back into ``config``; returns the last dream's seed."""
    values, last_seed = recall()
    for name, value in values.items():
        if name in ("guide", "style"):
            drawable = Gimp.Drawable.get_by_id(value) if value is not None else None
            if value is not None and (drawable is None or not drawable.is_valid()):
                continue
            value = drawable
        with contextlib.suppress(Exception):
            config.set_property(name, value)
    return last_seed
