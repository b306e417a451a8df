"""The DeepDream dialog (interactive runs only): a GimpProcedureDialog plus model and layer
pickers filled from the daemon's catalogue.

Imported by ``dreamd_deepdream.py`` only when GIMP runs the procedure interactively, so
batch runs never need GTK or a display.
"""

from __future__ import annotations

import gi

gi.require_version("Gimp", "3.0")
gi.require_version("GimpUi", "3.0")
gi.require_version("Gtk", "3.0")
import dreamd_gimp_daemon as daemon  # noqa: E402
import dreamd_gimp_params as procedure_args  # noqa: E402
from gi.repository import GimpUi, Gtk  # noqa: E402

FILLED = (
    [a[0] for a in procedure_args.ARGUMENTS]
    + ["guide", "style"]
    + [a[0] for a in procedure_args.STYLE_ARGUMENTS]
)


def fetch_catalogue(protocol, endpoint):
    """(models, default model, default layers, error text) from the daemon, quickly."""
    try:
        timeout = protocol.Timeout(connect=1.0, reply=2.0)
    except Exception:
        timeout = None
    try:
        kwargs = {"timeout": timeout} if timeout is not None else {}
        client = protocol.Client(endpoint, **kwargs) if endpoint else protocol.Client(**kwargs)
        try:
            status = client.status(layers=True)
        finally:
            close = getattr(client, "close", None)
            if close:
                close()
    except Exception as exc:
        return {}, None, {}, str(exc) or type(exc).__name__
    models, default_model, defaults = procedure_args.catalogue_from_status(status)
    return models, default_model, defaults, None


def _combo(values, current):
    combo = Gtk.ComboBoxText.new_with_entry()
    for v in values:
        combo.append_text(v)
    entry = combo.get_child()
    entry.set_text(current or "")
    entry.set_activates_default(True)  # Return in the field presses OK, as elsewhere
    combo.set_hexpand(True)
    return combo


def run_dialog(procedure, config, protocol, endpoint, settings):
    """Show the dialog; True when the painter pressed OK (``config`` then holds the values)."""
    GimpUi.init(procedure_args.PROCEDURE_NAME)
    models, default_model, default_layers, error = fetch_catalogue(protocol, endpoint)

    dialog = GimpUi.ProcedureDialog.new(procedure, config, "DeepDream")
    box = dialog.get_content_area()
    grid = Gtk.Grid(row_spacing=6, column_spacing=12, margin=6)
    box.pack_start(grid, False, False, 0)

    model_now = (config.get_property("model") or "").strip()
    layer_now = (config.get_property("layer") or "").strip()
    if models and model_now and model_now not in models:
        model_now = ""

    model_combo = _combo(["", *list(models)], model_now)
    model_combo.get_child().set_placeholder_text(
        f"daemon default ({default_model})" if default_model else "daemon default"
    )
    layer_combo = _combo([], layer_now)

    def refill_layers(*_args):
        name = model_combo.get_active_text() or default_model or ""
        layer_combo.remove_all()
        layer_combo.append_text("")
        for layer in models.get(name, []):
            layer_combo.append_text(layer)
        default = default_layers.get(name)
        layer_combo.get_child().set_placeholder_text(
            f"model default ({default})" if default else "model default"
        )

    refill_layers()
    model_combo.connect("changed", refill_layers)

    grid.attach(Gtk.Label(label="Model", xalign=0), 0, 0, 1, 1)
    grid.attach(model_combo, 1, 0, 1, 1)
    grid.attach(Gtk.Label(label="Layer", xalign=0), 0, 1, 1, 1)
    grid.attach(layer_combo, 1, 1, 1, 1)
    if error:
        where = f" at {endpoint}" if endpoint else ""
        note = Gtk.Label(xalign=0, wrap=True, max_width_chars=50)
        note.set_text(
            f"dreamd is not reachable{where}, so the layer list is empty.\n"
            f"{daemon.start_hint(settings)}"
        )
        grid.attach(note, 0, 2, 2, 1)
    grid.show_all()

    dialog.fill(FILLED)
    ok = dialog.run()
    if ok:
        config.set_property("model", (model_combo.get_active_text() or "").strip())
        config.set_property("layer", (layer_combo.get_active_text() or "").strip())
    dialog.destroy()
    return bool(ok)
