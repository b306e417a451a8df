#!/usr/bin/env python3
"""GIMP 3 plug-in: Filters ▸ Artistic ▸ DeepDream…, a client of the dreamd daemon.

The selected layer's pixels are read in the layer's own precision (8-bit, 16-bit or float;
RGB or grayscale; with or without alpha), sent raw to ``dreamd`` over ZeroMQ, and the dream
comes back as a new layer in the source's place, in one undo step; the source is hidden, so
the image looks exactly as if the layer's pixels had been replaced by the dream (through the
selection, when there is one). See dreamd_gimp_canvas.py.

Installed by ``dreamd gimp install`` (see gimp_plugin/README.md), which puts the
``protocol`` package and, when GIMP's Python lacks them, pyzmq and msgpack next to this file.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

# The plug-in's own modules, beside this file: top-level modules in GIMP (see sys.path above).
import dreamd_gimp_canvas as canvas
import dreamd_gimp_daemon as daemon
import dreamd_gimp_job as job
import dreamd_gimp_memory as memory
import dreamd_gimp_params as procedure_args
import dreamd_gimp_pixels as pixels

daemon.setup_import_path()

import gi  # noqa: E402

gi.require_version("Gimp", "3.0")
gi.require_version("Gegl", "0.4")
from gi.repository import Gegl, Gimp, Gio, GLib, GObject  # noqa: E402

READWRITE = GObject.ParamFlags.READWRITE


def _error(procedure, message, status=Gimp.PDBStatusType.EXECUTION_ERROR):
    return procedure.new_return_values(status, GLib.Error(message))


class DeepDream(Gimp.PlugIn):
    # -- registration -------------------------------------------------------------------------
    def do_query_procedures(self):
        # The dialog's Help button opens the page installed with the plug-in (help/en/),
        # not GIMP's user manual.
        self.set_help_domain(
            procedure_args.HELP_DOMAIN, Gio.File.new_for_path(str(daemon.plugin_dir() / "help"))
        )
        return [procedure_args.PROCEDURE_NAME]

    def do_set_i18n(self, name):
        return False

    def do_create_procedure(self, name):
        procedure = Gimp.ImageProcedure.new(self, name, Gimp.PDBProcType.PLUGIN, self.run, None)
        procedure.set_image_types("RGB*, GRAY*")
        procedure.set_sensitivity_mask(Gimp.ProcedureSensitivityMask.DRAWABLE)
        procedure.set_menu_label(procedure_args.MENU_LABEL)
        procedure.add_menu_path(procedure_args.MENU_PATH)
        procedure.set_documentation(
            "DeepDream the selected layer with the dreamd daemon",
            "Sends the selected layer (or the selection in it) to the dreamd daemon, which "
            "amplifies what a neural network sees in it, and puts the result in a new layer "
            "in the source's place (the source is hidden, not changed). Pixels travel in the "
            "layer's own precision. Needs a running dreamd (start it with `dreamd serve`).",
            name,
        )
        procedure.set_attribution("dreamd authors", "dreamd authors, MIT licence", "2025")

        procedure.add_string_argument(
            "model",
            "_Model",
            "Network to dream with (e.g. googlenet, efficientnet-lite0); empty: the daemon's "
            "default",
            "",
            READWRITE,
        )
        procedure.add_string_argument(
            "layer",
            "_Layer",
            "Layer(s) to amplify, e.g. inception_4c/output, or several separated by ';', "
            "with optional channels as name:3,17; empty: the model's default layer",
            "",
            READWRITE,
        )
        for prop, _key, typ, default, lo, hi, nick, blurb in procedure_args.ARGUMENTS:
            if typ is int:
                procedure.add_int_argument(prop, nick, blurb, lo, hi, default, READWRITE)
            else:
                procedure.add_double_argument(prop, nick, blurb, lo, hi, default, READWRITE)
        procedure.add_drawable_argument(
            "guide",
            "G_uide",
            "Optional guide: another layer (of this or another open image) whose features "
            "the dream follows",
            True,
            READWRITE,
        )
        procedure.add_drawable_argument(
            "style",
            "St_yle",
            "Optional style: another layer (of this or another open image) whose style the "
            "result takes on, keeping the selected layer's content (style transfer). Use the "
            "Style preset: a style needs more steps than a dream",
            True,
            READWRITE,
        )
        for prop, _key, default, lo, hi, nick, blurb in procedure_args.STYLE_ARGUMENTS:
            procedure.add_double_argument(prop, nick, blurb, lo, hi, default, READWRITE)
        for prop, _key, default, lo, hi, nick, blurb in procedure_args.LATER_ARGUMENTS:
            procedure.add_int_argument(prop, nick, blurb, lo, hi, default, READWRITE)
        for prop, _key, default, lo, hi, nick, blurb in procedure_args.STYLE_LATER_ARGUMENTS:
            procedure.add_double_argument(prop, nick, blurb, lo, hi, default, READWRITE)
        prop, _key, flag, nick, blurb = procedure_args.KEEP_COLORS
        procedure.add_boolean_argument(prop, nick, blurb, flag, READWRITE)
        procedure.add_layer_return_value(
            "dream-layer", "Dream layer", "The new layer holding the dream", False, READWRITE
        )
        procedure.add_string_return_value(
            "info",
            "Info",
            "JSON: model, layers, parameters and seed that made the dream",
            "",
            READWRITE,
        )
        return procedure

    # -- running ------------------------------------------------------------------------------
    def run(self, procedure, run_mode, image, drawables, config, run_data):
        Gegl.init(None)
        if len(drawables) != 1:
            return _error(procedure, "DeepDream works on one layer: select just one.")
        try:
            source = canvas.dreamable(drawables[0])
        except canvas.CanvasError as exc:
            return _error(procedure, str(exc))
        settings = daemon.load_config()

        try:
            from dreamd import protocol
        except ImportError as exc:
            return _error(procedure, daemon.friendly_error(exc, settings, None))

        endpoint = settings.get("endpoint") or None
        try:
            endpoint = protocol.resolve_endpoint(endpoint)
        except Exception:
            endpoint = endpoint or None

        preview = None
        if run_mode == Gimp.RunMode.INTERACTIVE:
            from dreamd_gimp_dialog import run_dialog

            try:
                rect, _selected = canvas.source_rect(image, source)
            except canvas.CanvasError as exc:
                return _error(procedure, str(exc))
            preview = canvas.PreviewLayer(image, source, rect)  # a quick draft shows there
            part = (image, source, rect, preview)
            if not run_dialog(procedure, config, protocol, endpoint, settings, part):
                preview.remove()
                return procedure.new_return_values(Gimp.PDBStatusType.CANCEL, None)

        values = {name: config.get_property(name) for name in procedure_args.argument_names()}
        params = procedure_args.build_params(values)
        if run_mode != Gimp.RunMode.NONINTERACTIVE:
            memory.remember(config, params["seed"])
        try:
            gui = run_mode != Gimp.RunMode.NONINTERACTIVE
            return self._dream(
                procedure, protocol, image, source, values, params, endpoint, settings, gui, preview
            )
        except canvas.CanvasError as exc:
            return _error(procedure, str(exc))
        except Exception as exc:  # the painter sees this, not a traceback
            if type(exc).__name__ == "Cancelled":
                return procedure.new_return_values(Gimp.PDBStatusType.CANCEL, None)
            return _error(procedure, daemon.friendly_error(exc, settings, endpoint))
        finally:
            if preview is not None:
                preview.remove()  # after an error before the dream, a draft may be there
            Gimp.progress_end()

    def _dream(
        self, procedure, protocol, image, source, values, params, endpoint, settings, gui, preview
    ):
        started = time.monotonic()
        src = canvas.read_source(image, source)
        x, y, w, h = src.rect
        fmt = src.fmt
        picture = protocol.Image.raw(src.data, w, h, fmt.channels, fmt.dtype)
        guide, style = values.get("guide"), values.get("style")
        guide_image = _rgb(protocol, guide, GUIDE_MAX_SIDE) if guide is not None else None
        style_image = (
            _rgb(protocol, style, procedure_args.STYLE_MAX_SIDE) if style is not None else None
        )
        model = (values.get("model") or "").strip()

        # With a display: a window of our own for the progress, whose Cancel can take the
        # live preview off the canvas (GIMP's status-bar cancel would end this process).
        window = None
        if gui:
            from dreamd_gimp_window import ProgressWindow

            window = ProgressWindow("DeepDream — dreaming")
            preview = preview or canvas.PreviewLayer(image, source, src.rect)
        bar = window.bar if window else job.GimpBar()
        try:
            if window is None:
                Gimp.progress_init("DeepDream: connecting to dreamd…")
            with protocol.Client(endpoint, name="gimp-dreamd_deepdream") as client:
                hello = job.hello_or_start(client, protocol, settings, bar)
                problem = daemon.size_problem(w, h, hello.get("limits") or {})
                if problem:
                    raise daemon.PluginError(problem)
                result = job.run(
                    client,
                    picture,
                    params,
                    model=model,
                    guide=guide_image,
                    style=style_image,
                    started=started,
                    should_stop=(lambda: window.cancelled) if window else (lambda: False),
                    pump=window.pump if window else (lambda: None),
                    preview=protocol.Preview(PREVIEW_SIDE, PREVIEW_EVERY) if preview else None,
                    on_preview=(lambda p: _show(preview, p)) if preview else None,
                    bar=bar,
                )
        finally:
            if preview is not None:
                preview.remove()
            if window is not None:
                window.close()
        out = result.image
        if (out.width, out.height, out.channels, out.dtype) != (w, h, fmt.channels, fmt.dtype):
            raise RuntimeError(
                f"the daemon answered a {out.width}×{out.height} {out.channels}-channel "
                f"{out.dtype} image for a {w}×{h} {fmt.channels}-channel {fmt.dtype} one"
            )
        out_bytes = pixels.restore_alpha(bytes(out.data), src.data, fmt)

        # With a style, the dream layers asked for (if any), not the style's own.
        if style is not None:
            layers_used = params.get("layers") or []
        else:
            layers_used = procedure_args.layer_names(result.layers) or params.get("layers") or []
        info = {
            "model": result.model or model,
            "layers": layers_used,
            "seed": result.seed if result.seed is not None else params.get("seed"),
            "params": dict(result.params) or params,
            "notes": list(result.notes),
            "source": source.get_name(),
            "rect": [x, y, w, h],
            "dtype": fmt.dtype,
            "seconds": round(time.monotonic() - started, 3),
        }
        if style is not None:
            info["style"] = style.get_name()
        name = procedure_args.layer_name(layers_used, style.get_name() if style else "")
        described = procedure_args.describe_result(info)
        layer = canvas.add_result(
            image, src, out_bytes, name, (procedure_args.PARASITE_NAME, described.encode())
        )
        if window is None:
            Gimp.progress_update(1.0)
        Gimp.displays_flush()

        retval = procedure.new_return_values(Gimp.PDBStatusType.SUCCESS, None)
        retval.truncate(1)  # keep the status, replace the default return values
        retval.append(GObject.Value(Gimp.Layer, layer))
        retval.append(GObject.Value(GObject.TYPE_STRING, described))
        return retval


#: The daemon scales a guide down to this long side anyway (``guide_max_side``).
GUIDE_MAX_SIDE = 448
#: The live preview: its long side, and the least seconds between two in the last octave.
PREVIEW_SIDE = 384
PREVIEW_EVERY = 2.0


def _show(preview, picture):
    if picture.channels == 3 and picture.dtype == "u8" and picture.desc.encoding == "raw":
        preview.show(bytes(picture.data), picture.width, picture.height)


def _rgb(protocol, drawable, max_side):
    data, w, h = canvas.read_rgb(drawable, max_side)
    return protocol.Image.raw(data, w, h, 3, "u8")


if __name__ == "__main__":
    if os.environ.get("DREAMD_GIMP_DEBUG"):
        print("dreamd_deepdream:", sys.version, sys.path[:3], file=sys.stderr)
    Gimp.main(DeepDream.__gtype__, sys.argv)
