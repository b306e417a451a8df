"""The DeepDream dialog (interactive runs only): presets, then three groups — Dream,
Guide & style, Advanced — of GIMP's own slider fields, with model and layer pickers filled
from the daemon's catalogue (one line per layer on what it tends to produce), typos flagged
before OK, the seed to repeat or renew, and a note with Retry when dreamd is not running.

Imported by ``dreamd_deepdream.py`` only when GIMP runs the procedure interactively, so
batch runs never need GTK or a display.
"""

from __future__ import annotations

import html
import os
from typing import Any

import dreamd_gimp_catalogue as catalogue
import dreamd_gimp_daemon as daemon
import dreamd_gimp_memory as memory
import dreamd_gimp_params as procedure_args
import gi
from dreamd_gimp_draft import EstimateAndDraft
from dreamd_gimp_report import write_report

gi.require_version("Gimp", "3.0")
gi.require_version("GimpUi", "3.0")
gi.require_version("Gtk", "3.0")
from gi.repository import GimpUi, GLib, Gtk  # noqa: E402

#: Slider ranges a painter needs (typed values may still go to the argument's full range).
SLIDER_LIMITS = {
    "step-size": (0.0, 6.0),
    "steps-per-octave": (1, 60),
    "iterations": (1, 8),
    "octave-scale": (1.1, 2.0),
    "jitter": (0, 128),
    "style-weight": (0.0, 10.0),
    "content-weight": (0.0, 5.0),
    "style-scale": (0.25, 4.0),
}
DIGITS = {
    "step-size": 1,
    "octave-scale": 2,
    "style-weight": 1,
    "content-weight": 1,
    "style-scale": 2,
}
STYLE_FIELDS = ("style-weight", "content-weight", "style-scale", "keep-colors")
#: Set by the tests: the dialog writes what it shows (labels, mnemonics, values) there.
REPORT_ENV = "DREAMD_GIMP_DIALOG_REPORT"


def fetch_catalogue(protocol: Any, endpoint: str | None) -> tuple[catalogue.Catalogue, str]:
    """(the daemon's catalogue, "" or why it could not be had), within a couple of seconds."""
    try:
        path = protocol.ipc_path(protocol.resolve_endpoint(endpoint))
        if path is not None and not path.exists():
            raise protocol.Unreachable(f"there is no socket {path}")
        timeout = protocol.Timeout(connect=1.0, reply=2.0)
        client = protocol.Client(endpoint, timeout=timeout, retries=0)
        try:
            status = client.status(layers=True)
        finally:
            client.close()
    except Exception as exc:
        return catalogue.Catalogue(), str(exc) or type(exc).__name__
    return catalogue.Catalogue.from_status(status), ""


def run_dialog(procedure, config, protocol, endpoint, settings, canvas_part) -> bool:
    """Show the dialog; True when the painter pressed OK (``config`` then holds the values).
    What it showed is kept either way (see dreamd_gimp_memory). ``canvas_part`` is (image,
    drawable, rect, preview layer), for the estimate and the quick draft."""
    GimpUi.init(procedure_args.PROCEDURE_NAME)
    last_seed = memory.restore(config)
    dialog = GimpUi.ProcedureDialog.new(procedure, config, "DeepDream")
    view = DreamDialog(dialog, config, protocol, endpoint, settings, last_seed)
    extra = EstimateAndDraft(view, *canvas_part)
    dialog.get_content_area().pack_end(extra.row, False, False, 0)
    ok = bool(dialog.run())
    view.report("closed", ok=ok, estimate=extra.label.get_text())
    extra.close()
    memory.remember(config)
    dialog.destroy()
    return ok


class DreamDialog:
    def __init__(self, dialog, config, protocol, endpoint, settings, last_seed) -> None:
        self.dialog, self.config = dialog, config
        self.protocol, self.endpoint, self.settings = protocol, endpoint, settings
        self.last_seed = last_seed
        self.cat, self.error = fetch_catalogue(protocol, endpoint)
        self._syncing = False
        self.widgets: dict[str, Gtk.Widget] = {}
        self.after_retry: Any = lambda: None  # the estimate asks again

        for prop, (lo, hi) in SLIDER_LIMITS.items():
            w = dialog.get_widget(prop, GimpUi.SpinScale.__gtype__)
            w.set_scale_limits(lo, hi)
            if prop in DIGITS:
                w.set_digits(DIGITS[prop])
            self.widgets[prop] = w
        self.widgets["keep-colors"] = dialog.get_widget("keep-colors", Gtk.CheckButton.__gtype__)

        octaves = [(procedure_args.AUTO_OCTAVES, "Automatic (4 or more: big photos get more)")]
        octaves += [(n, str(n)) for n in range(1, 17)]
        dialog.get_int_combo("octave-count", _int_store(octaves))
        details = [(0, "Full size")] + [
            (n, f"{n} px on the long side") for n in procedure_args.DETAIL_SIZES if n
        ]
        dialog.get_int_combo("detail-size", _int_store(details))

        area = dialog.get_content_area()
        presets = self._presets_row()
        area.pack_start(presets, False, False, 0)

        dream = dialog.fill_box(
            "dream-box", ["step-size", "steps-per-octave", "iterations", "detail-size"]
        )
        dream.pack_start(self._seed_row(), False, False, 0)
        pickers = self._pickers()
        dream.pack_start(pickers, False, False, 0)
        dream.reorder_child(pickers, 0)
        dialog.get_label("dream-title", "Dream", False, False)
        dialog.fill_frame("dream-frame", "dream-title", False, "dream-box")

        guide = dialog.fill_box("guide-box", ["guide", "style", *STYLE_FIELDS])
        self.style_note = Gtk.Label(xalign=0, wrap=True, max_width_chars=60)
        self.style_note.get_style_context().add_class("dim-label")
        guide.pack_start(self.style_note, False, False, 0)
        dialog.get_label("guide-title", "Guide & style", False, False)
        dialog.fill_frame("guide-frame", "guide-title", False, "guide-box")

        advanced = dialog.fill_box("advanced-box", ["octave-count", "octave-scale", "jitter"])
        advanced.set_margin_start(12)
        dialog.get_label("advanced-title", "_Advanced", False, True)
        dialog.fill_expander("advanced", "advanced-title", False, "advanced-box")

        self.note_box = self._daemon_note()
        area.pack_end(self.note_box, False, False, 0)
        self._show_note()
        dialog.fill(["dream-frame", "guide-frame", "advanced"])
        area.reorder_child(presets, 0)
        presets.show_all()

        for prop in STYLE_FIELDS:
            self.widgets[prop].set_no_show_all(True)
        config.connect("notify::style", lambda *_a: self._style_changed())
        config.connect("notify::layer", lambda *_a: self._layer_from_config())
        config.connect("notify::model", lambda *_a: self._model_from_config())
        self._style_changed()
        self._refill()
        if os.environ.get(REPORT_ENV):
            dialog.connect("map", lambda *_a: GLib.timeout_add(800, self._report_shown))

    # -- presets and seed ---------------------------------------------------------------------
    def _presets_row(self) -> Gtk.Box:
        row = Gtk.Box(orientation=Gtk.Orientation.HORIZONTAL, spacing=6, margin_bottom=6)
        row.pack_start(Gtk.Label(label="Start from:", xalign=0), False, False, 0)
        for key, preset in procedure_args.PRESETS.items():
            button = Gtk.Button(label=preset.label, tooltip_text=preset.tooltip)
            button.connect("clicked", lambda _b, k=key: self.apply_preset(k))
            row.pack_start(button, True, True, 0)
        return row

    def apply_preset(self, key: str) -> None:
        for prop, value in procedure_args.PRESETS[key].values.items():
            self.config.set_property(prop, value)
        if key == "style" and self.config.get_property("style") is None:
            self.style_note.set_text("Now choose the Style layer: the picture to paint like.")
            self.style_note.show()

    def _seed_row(self) -> Gtk.Box:
        row = Gtk.Box(orientation=Gtk.Orientation.HORIZONTAL, spacing=6)
        seed = self.dialog.get_widget("seed", GimpUi.LabelSpin.__gtype__)
        row.pack_start(seed, True, True, 0)
        again = Gtk.Button(label="Same seed again")  # every fitting letter is taken
        again.connect("clicked", lambda _b: self.config.set_property("seed", self.last_seed))
        if self.last_seed is None:
            again.set_sensitive(False)
            again.set_tooltip_text("Dream once first: then this repeats that dream's seed")
        else:
            again.set_tooltip_text(f"Use the last dream's seed again ({self.last_seed})")
        new = Gtk.Button.new_with_mnemonic("Ne_w seed")
        new.set_tooltip_text("Back to −1: a new seed at every dream (the layer records it)")
        new.connect("clicked", lambda _b: self.config.set_property("seed", -1))
        row.pack_start(again, False, False, 0)
        row.pack_start(new, False, False, 0)
        row.show_all()
        return row

    # -- model and layer ----------------------------------------------------------------------
    def _pickers(self) -> Gtk.Grid:
        grid = Gtk.Grid(row_spacing=4, column_spacing=12, margin_bottom=6)
        self.model_combo = Gtk.ComboBoxText.new_with_entry()
        self.model_combo.set_hexpand(True)
        self.layers = Gtk.ListStore(str, str)
        self.layer_combo = Gtk.ComboBox.new_with_model_and_entry(self.layers)
        self.layer_combo.set_entry_text_column(0)
        hint = Gtk.CellRendererText(foreground="gray", xalign=0)
        self.layer_combo.pack_start(hint, True)
        self.layer_combo.add_attribute(hint, "markup", 1)
        self.layer_combo.set_hexpand(True)
        for combo in (self.model_combo, self.layer_combo):
            combo.get_child().set_activates_default(True)  # Return presses OK, as elsewhere
        self.layer_combo.set_tooltip_text(
            "The network layer whose features the dream amplifies: shallow layers draw "
            "fine textures, deeper ones eyes, faces and creatures. Several: separate them "
            "with ‘;’. Only some channels: name:3,17. Empty: the model's default layer."
        )
        self.model_combo.set_tooltip_text("The network to dream with; empty: the daemon's own")
        self.layer_hint = Gtk.Label(xalign=0, wrap=True, max_width_chars=60)
        for row, (text, widget) in enumerate(
            (("_Model", self.model_combo), ("Lay_er", self.layer_combo))
        ):
            label = Gtk.Label.new_with_mnemonic(text)
            label.set_xalign(0)
            label.set_mnemonic_widget(widget.get_child())
            grid.attach(label, 0, row, 1, 1)
            grid.attach(widget, 1, row, 1, 1)
        grid.attach(self.layer_hint, 1, 2, 1, 1)
        self.model_combo.get_child().set_text(self.config.get_property("model") or "")
        self.layer_combo.get_child().set_text(self.config.get_property("layer") or "")
        self.model_combo.connect("changed", lambda *_a: self._model_changed())
        self.layer_combo.connect("changed", lambda *_a: self._layer_changed())
        grid.show_all()
        return grid

    def _model(self) -> str:
        return self.model_combo.get_child().get_text().strip()

    def _refill(self) -> None:
        """Fill the model and layer lists from the catalogue, keeping what is typed."""
        self._syncing = True
        try:
            model_text = self._model()
            self.model_combo.remove_all()
            for name in self.cat.models:
                self.model_combo.append_text(name)
            self.model_combo.get_child().set_text(model_text)
            default = self.cat.default_model
            self.model_combo.get_child().set_placeholder_text(
                f"the daemon's: {default}" if default else "the daemon's model"
            )
            layer_text = self.layer_combo.get_child().get_text()
            self.layers.clear()
            for layer in self.cat.layers(self._model()):
                hint = html.escape(self.cat.hint(self._model(), layer))
                self.layers.append([layer.name, f"<small>{hint}</small>"])
            self.layer_combo.get_child().set_text(layer_text)
            default_layer = self.cat.default_layer(self._model())
            self.layer_combo.get_child().set_placeholder_text(
                f"the model's default: {default_layer}" if default_layer else "model default"
            )
        finally:
            self._syncing = False
        self._check_layer()

    def _model_changed(self) -> None:
        if self._syncing:
            return
        self.config.set_property("model", self._model())
        self._refill()

    def _layer_changed(self) -> None:
        if self._syncing:
            return
        self.config.set_property("layer", self.layer_combo.get_child().get_text().strip())
        self._check_layer()

    def _model_from_config(self) -> None:
        value = self.config.get_property("model") or ""
        if value.strip() != self._model():
            self.model_combo.get_child().set_text(value)

    def _layer_from_config(self) -> None:
        entry = self.layer_combo.get_child()
        value = self.config.get_property("layer") or ""
        if value.strip() != entry.get_text().strip():
            entry.set_text(value)

    def _check_layer(self) -> None:
        """Flag a typo at once (red, OK greyed out), or say what the layer draws."""
        entry = self.layer_combo.get_child()
        specs = procedure_args.split_layers(entry.get_text())
        problem = self.cat.check(self._model(), specs)
        ok_button = self.dialog.get_widget_for_response(Gtk.ResponseType.OK)
        if ok_button is not None:
            ok_button.set_sensitive(problem is None)
        if problem:
            entry.set_icon_from_icon_name(Gtk.EntryIconPosition.SECONDARY, "dialog-warning")
            entry.set_icon_tooltip_text(Gtk.EntryIconPosition.SECONDARY, problem)
            self.layer_hint.set_markup(f'<span foreground="#c01c28">{html.escape(problem)}</span>')
            self.report("checked")
            return
        entry.set_icon_from_icon_name(Gtk.EntryIconPosition.SECONDARY, None)
        hints = []
        for spec in specs or [self.cat.default_layer(self._model())]:
            layer = self.cat.find(self._model(), spec.partition(":")[0]) if spec else None
            if layer is not None:
                hints.append(f"{layer.name}: {self.cat.hint(self._model(), layer)}")
        self.layer_hint.set_markup(f"<small>{html.escape('; '.join(hints))}</small>")
        self.report("checked")

    # -- style --------------------------------------------------------------------------------
    def _style_changed(self) -> None:
        styled = self.config.get_property("style") is not None
        for prop in STYLE_FIELDS:
            self.widgets[prop].set_visible(styled)
        if styled:
            self.style_note.set_text("")
            self.style_note.hide()

    # -- the daemon ---------------------------------------------------------------------------
    def _daemon_note(self) -> Gtk.Box:
        box = Gtk.Box(orientation=Gtk.Orientation.HORIZONTAL, spacing=12, margin_top=6)
        self.note = Gtk.Label(xalign=0, wrap=True, max_width_chars=60)
        box.pack_start(self.note, True, True, 0)
        retry = Gtk.Button(label="Retry", tooltip_text="Ask dreamd again")
        retry.connect("clicked", lambda _b: self.retry())
        box.pack_start(retry, False, False, 0)
        box.set_no_show_all(True)
        self.note.show()
        retry.show()
        return box

    def _show_note(self) -> None:
        """The note says what OK will do without a daemon: start it, or fail."""
        if not self.error:
            self.note_box.hide()
            return
        text = daemon.unreachable_note(self.settings, self.endpoint)
        self.note.set_text(text)
        self.note_box.show()

    def retry(self) -> None:
        self.cat, self.error = fetch_catalogue(self.protocol, self.endpoint)
        self._show_note()
        self._refill()
        self.after_retry()

    # -- for the tests ------------------------------------------------------------------------
    def _report_shown(self) -> bool:
        self.report("shown")
        return False

    def report(self, event: str, **extra: Any) -> None:
        """With :data:`REPORT_ENV` set: append what the dialog shows to that file (JSON
        lines), so tests see the labels, their mnemonics and the values."""
        path = os.environ.get(REPORT_ENV)
        if path:
            write_report(path, self, event, extra)


def _int_store(pairs: list[tuple[int, str]]) -> Any:
    """A GimpIntStore of (value, label) rows, for GIMP's int combo fields."""
    store = GimpUi.IntStore.new([label for _value, label in pairs])
    it = store.get_iter_first()
    for value, _label in pairs:
        store.set_value(it, GimpUi.IntStoreColumns.VALUE, value)
        it = store.iter_next(it)
    return store
