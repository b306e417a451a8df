"""The small window a dream runs in when GIMP has a display: the progress (bar and text:
where the dream is, how long it has run, about how long it still needs) and a Cancel
button that the plug-in handles.

Why not GIMP's status-bar progress: its cancel button ends the plug-in's process at once,
so the preview layer on the canvas could not be taken away. Here Cancel stops the dream,
removes the preview and leaves the image as it was.

GIMP-only (imported by ``dreamd_deepdream.py`` for interactive and Repeat runs).
"""

from __future__ import annotations

import dreamd_gimp_params as procedure_args
import gi

gi.require_version("GimpUi", "3.0")
gi.require_version("Gtk", "3.0")
from gi.repository import GimpUi, Gtk  # noqa: E402


class Bar:
    """A Gtk progress bar and its text, with the three calls of ``dreamd_gimp_job.GimpBar``."""

    def __init__(self) -> None:
        self.widget = Gtk.ProgressBar(show_text=True)
        self.widget.set_text("")

    def update(self, fraction: float) -> None:
        self.widget.set_fraction(max(0.0, min(1.0, fraction)))

    def pulse(self) -> None:
        self.widget.pulse()

    def text(self, text: str) -> None:
        self.widget.set_text(text.removeprefix("DeepDream: "))


class ProgressWindow:
    def __init__(self, title: str) -> None:
        GimpUi.init(procedure_args.PROCEDURE_NAME)
        self.cancelled = False
        self.window = Gtk.Window(title=title)
        self.window.set_default_size(460, -1)
        self.window.set_keep_above(True)
        box = Gtk.Box(orientation=Gtk.Orientation.VERTICAL, spacing=8, margin=12)
        self.bar = Bar()
        box.pack_start(self.bar.widget, False, False, 0)
        self.note = Gtk.Label(xalign=0, wrap=True, max_width_chars=60)
        self.note.get_style_context().add_class("dim-label")
        box.pack_start(self.note, False, False, 0)
        buttons = Gtk.ButtonBox(layout_style=Gtk.ButtonBoxStyle.END)
        cancel = Gtk.Button.new_with_mnemonic("_Cancel")
        cancel.connect("clicked", lambda _b: self.cancel())
        buttons.pack_start(cancel, False, False, 0)
        box.pack_start(buttons, False, False, 0)
        self.window.add(box)
        self.window.connect("delete-event", self._closing)
        self.window.show_all()
        self.pump()

    def _closing(self, *_args: object) -> bool:
        self.cancel()
        return True  # stays open until the dream has stopped

    def cancel(self) -> None:
        self.cancelled = True
        self.note.set_text("Stopping…")

    def say(self, text: str) -> None:
        self.note.set_text(text)

    def pump(self) -> None:
        """Let the window draw and take clicks (the plug-in's thread runs no main loop)."""
        while Gtk.events_pending():
            Gtk.main_iteration_do(False)

    def close(self) -> None:
        self.window.destroy()
        self.pump()
