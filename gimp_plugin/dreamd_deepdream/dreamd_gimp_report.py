"""What the dialog shows, written for the tests (only with ``DREAMD_GIMP_DIALOG_REPORT``
set): every visible label with its mnemonic key, the values, whether OK can be pressed,
the note, the layer list and its hints, one JSON line per event.

GIMP-only (imported by the dialog).
"""

from __future__ import annotations

import json
from typing import Any

import dreamd_gimp_params as procedure_args
import gi

gi.require_version("GimpUi", "3.0")
gi.require_version("Gtk", "3.0")
from gi.repository import GimpUi, Gtk  # noqa: E402


def write_report(path: str, view: Any, event: str, extra: dict[str, Any]) -> None:
    """Append a line about ``view`` (a DreamDialog) to ``path``."""
    labels: list[dict[str, Any]] = []
    _walk(view.dialog, labels)
    values = {}
    for name in procedure_args.argument_names():
        v = view.config.get_property(name)
        values[name] = v.get_name() if hasattr(v, "get_name") else v
    ok_button = view.dialog.get_widget_for_response(Gtk.ResponseType.OK)
    line = {
        "event": event,
        "labels": labels,
        "values": values,
        "ok_sensitive": bool(ok_button and ok_button.get_sensitive()),
        "note": view.note.get_text() if view.note_box.get_visible() else "",
        "layer_hint": view.layer_hint.get_text(),
        "layers": [row[0] for row in view.layers],
        "hints": [row[1] for row in view.layers],
        **extra,
    }
    with open(path, "a", encoding="utf-8") as f:
        f.write(json.dumps(line) + "\n")


def _walk(widget: Gtk.Widget, out: list[dict[str, Any]]) -> None:
    """Every visible label (with its mnemonic key) under ``widget``."""
    if not widget.get_visible():
        return
    text, underline = None, False
    if isinstance(widget, Gtk.Label):
        text, underline = widget.get_label(), widget.get_use_underline()
    elif isinstance(widget, GimpUi.SpinScale):
        text, underline = widget.get_property("label"), True
    if text:
        key = ""
        if underline and "_" in text:
            i = text.index("_")
            key = text[i + 1 : i + 2].lower()
        out.append({"text": text.replace("_", ""), "key": key, "mapped": widget.get_mapped()})
    if isinstance(widget, Gtk.Container):
        widget.forall(lambda child: _walk(child, out))
