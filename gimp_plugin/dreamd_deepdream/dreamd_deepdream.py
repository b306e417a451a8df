#!/usr/bin/env python3
"""GIMP 3 plug-in: Filters ▸ Artistic ▸ DeepDream…, a client of the dreamd daemon.

The selected layer's pixels are read in the layer's own precision (8-bit, 16-bit or float;
RGB or grayscale; with or without alpha), sent raw to ``dreamd`` over ZeroMQ, and the dream
comes back as a new layer above the source, in one undo group. With a selection only the
selection is dreamed and the new layer gets the selection as its mask.

Installed by ``dreamd gimp install`` (see gimp_plugin/README.md), which puts the
``protocol`` package and, when GIMP's Python lacks them, pyzmq and msgpack next to this file.
"""

from __future__ import annotations

import contextlib
import os
import queue
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

# The plug-in's own modules, beside this file: top-level modules in GIMP (see sys.path above).
import dreamd_gimp_daemon as daemon
import dreamd_gimp_params as procedure_args
import dreamd_gimp_pixels as pixels

daemon.setup_import_path()

import gi  # noqa: E402

gi.require_version("Gimp", "3.0")
gi.require_version("Gegl", "0.4")
from gi.repository import Gegl, Gimp, GLib, GObject  # noqa: E402

READWRITE = GObject.ParamFlags.READWRITE


def _error(procedure, message, status=Gimp.PDBStatusType.EXECUTION_ERROR):
    return procedure.new_return_values(status, GLib.Error(message))


class DeepDream(Gimp.PlugIn):
    # -- registration -------------------------------------------------------------------------
    def do_query_procedures(self):
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
            "amplifies what a neural network sees in it, and adds the result as a new layer "
            "above the source. Pixels travel in the layer's own precision. Needs a running "
            "dreamd (start it with `dreamd serve`).",
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
            "_Guide",
            "Optional guide: another layer (of this or another open image) whose features "
            "the dream follows",
            True,
            READWRITE,
        )
        procedure.add_drawable_argument(
            "style",
            "_Style",
            "Optional style: another layer (of this or another open image) whose style the "
            "result takes on, keeping the selected layer's content (style transfer). For a "
            "strong style raise Steps per octave (40) and Step size (4)",
            True,
            READWRITE,
        )
        for prop, _key, default, lo, hi, nick, blurb in procedure_args.STYLE_ARGUMENTS:
            procedure.add_double_argument(prop, nick, blurb, lo, hi, default, READWRITE)
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
        if len(drawables) != 1 or not drawables[0].is_layer():
            return _error(
                procedure,
                "DeepDream works on exactly one selected layer.",
                Gimp.PDBStatusType.CALLING_ERROR,
            )
        source = drawables[0]
        if source.is_group():
            return _error(
                procedure,
                "DeepDream cannot dream a layer group: select one of its layers, or merge it.",
                Gimp.PDBStatusType.CALLING_ERROR,
            )
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

        if run_mode == Gimp.RunMode.INTERACTIVE:
            from dreamd_gimp_dialog import run_dialog

            if not run_dialog(procedure, config, protocol, endpoint, settings):
                return procedure.new_return_values(Gimp.PDBStatusType.CANCEL, None)

        values = {name: config.get_property(name) for name in procedure_args.argument_names()}
        params = procedure_args.build_params(values)
        model = (values.get("model") or "").strip()
        guide = values.get("guide")
        style = values.get("style")

        try:
            return self._dream(
                procedure, protocol, image, source, guide, style, params, model, endpoint, settings
            )
        except Exception as exc:  # the painter sees this, not a traceback
            if type(exc).__name__ == "Cancelled":
                return procedure.new_return_values(Gimp.PDBStatusType.CANCEL, None)
            return _error(procedure, daemon.friendly_error(exc, settings, endpoint))

    def _dream(
        self, procedure, protocol, image, source, guide, style, params, model, endpoint, settings
    ):
        fmt = pixels.pixel_format(
            image.get_precision().value_name, source.is_gray(), source.has_alpha()
        )
        has_selection = not Gimp.Selection.is_empty(image)
        _ok, ix, iy, iw, ih = source.mask_intersect()
        if has_selection and (iw <= 0 or ih <= 0):
            return _error(
                procedure,
                "The selection does not touch the selected layer.",
                Gimp.PDBStatusType.CALLING_ERROR,
            )
        x, y, w, h = pixels.dream_rect(
            (ix, iy, iw, ih), (source.get_width(), source.get_height()), has_selection
        )
        rect = Gegl.Rectangle.new(x, y, w, h)
        src_bytes = bytes(source.get_buffer().get(rect, 1.0, fmt.babl, Gegl.AbyssPolicy.CLAMP))

        picture = protocol.Image.raw(src_bytes, w, h, fmt.channels, fmt.dtype)
        guide_image = self._read_guide(protocol, guide) if guide is not None else None
        style_image = (
            self._read_rgb(protocol, style, procedure_args.STYLE_MAX_SIDE)
            if style is not None
            else None
        )

        Gimp.progress_init("DeepDream: connecting to dreamd…")
        with protocol.Client(endpoint, name="gimp-dreamd_deepdream") as client:
            info = self._ensure_daemon(client, protocol, settings)
            problem = daemon.size_problem(w, h, (info or {}).get("limits") or {})
            if problem:
                raise daemon.PluginError(problem)
            result = self._run_job(client, picture, params, model, guide_image, style_image)
        out = result.image
        if (out.width, out.height, out.channels, out.dtype) != (w, h, fmt.channels, fmt.dtype):
            raise RuntimeError(
                f"the daemon answered a {out.width}×{out.height} {out.channels}-channel "
                f"{out.dtype} image for a {w}×{h} {fmt.channels}-channel {fmt.dtype} one"
            )
        out_bytes = pixels.restore_alpha(bytes(out.data), src_bytes, fmt)

        layers_used = procedure_args.layer_names(result.layers) or params.get("layers") or []
        if style is not None:  # the dream layers asked for, not the style's own
            layers_used = params.get("layers") or []
        info = {
            "model": result.model or model,
            "layers": layers_used,
            "seed": result.seed if result.seed is not None else params.get("seed"),
            "params": dict(result.params) or params,
            "notes": list(result.notes),
            "source": source.get_name(),
            "rect": [x, y, w, h],
            "dtype": fmt.dtype,
        }
        if style is not None:
            info["style"] = style.get_name()
        used_layer = ", ".join(layers_used)
        name = procedure_args.layer_name(
            source.get_name(),
            {**params, "seed": info["seed"]},
            str(info["model"] or ""),
            used_layer,
            style.get_name() if style is not None else "",
        )

        Gimp.progress_set_text("DeepDream: adding the layer")
        image.undo_group_start()
        try:
            layer = Gimp.Layer.new_from_drawable(source, image)
            layer.set_name(name)
            image.insert_layer(layer, source.get_parent(), image.get_item_position(source))
            buffer = layer.get_buffer()
            buffer.set(rect, fmt.babl, out_bytes)
            buffer.flush()
            layer.update(x, y, w, h)
            if has_selection:
                mask = layer.create_mask(Gimp.AddMaskType.SELECTION)
                layer.add_mask(mask)
            with contextlib.suppress(Exception):
                layer.attach_parasite(
                    Gimp.Parasite.new(
                        procedure_args.PARASITE_NAME,
                        Gimp.PARASITE_PERSISTENT,
                        procedure_args.describe_result(info).encode(),
                    )
                )
        finally:
            image.undo_group_end()
        Gimp.progress_end()
        Gimp.displays_flush()

        retval = procedure.new_return_values(Gimp.PDBStatusType.SUCCESS, None)
        retval.truncate(1)  # keep the status, replace the default return values
        retval.append(GObject.Value(Gimp.Layer, layer))
        retval.append(GObject.Value(GObject.TYPE_STRING, procedure_args.describe_result(info)))
        return retval

    def _read_guide(self, protocol, guide):
        """The guide drawable as 8-bit RGB, scaled down so its long side is at most 448."""
        return self._read_rgb(protocol, guide, 448)

    def _read_rgb(self, protocol, drawable, max_side):
        """A drawable as 8-bit RGB, scaled down so its long side is at most ``max_side``."""
        gw, gh = drawable.get_width(), drawable.get_height()
        scale = min(1.0, float(max_side) / max(gw, gh))
        w, h = max(1, int(gw * scale)), max(1, int(gh * scale))
        data = drawable.get_buffer().get(
            Gegl.Rectangle.new(0, 0, w, h), scale, "R'G'B' u8", Gegl.AbyssPolicy.CLAMP
        )
        return protocol.Image.raw(bytes(data), w, h, 3, "u8")

    def _ensure_daemon(self, client, protocol, settings):
        """Say hello; when unreachable and the installer recorded how, start the daemon."""

        def hello():
            # No socket file at an ipc:// endpoint: nothing can answer, say so at once.
            path = protocol.ipc_path(client.endpoint)
            if path is not None and not path.exists():
                raise protocol.Unreachable(f"there is no socket {path}")
            return client.hello()

        try:
            return hello()
        except protocol.Unreachable:
            if not settings.get("start_command"):
                raise
        Gimp.progress_set_text("DeepDream: starting dreamd…")
        daemon.start_daemon(settings)
        timeout = float(settings.get("start_timeout", 120))
        deadline = time.monotonic() + timeout
        while True:
            try:
                return hello()
            except protocol.Unreachable:
                if time.monotonic() > deadline:
                    raise
                Gimp.progress_pulse()
                time.sleep(0.5)

    def _run_job(self, client, picture, params, model, guide_image, style_image=None):
        """Run the dream in a thread; this (GIMP's) thread drives the progress bar."""
        events: queue.Queue = queue.Queue()
        cancel = threading.Event()
        outcome = {}

        def on_progress(p):
            events.put(p)

        def work():
            try:
                outcome["result"] = client.dream(
                    picture,
                    params,
                    guide=guide_image,
                    style=style_image,
                    model=model or None,
                    on_progress=on_progress,
                    cancel=cancel,
                )
            except BaseException as exc:
                outcome["error"] = exc
            finally:
                events.put(None)

        thread = threading.Thread(target=work, name="dreamd-job", daemon=True)
        thread.start()
        Gimp.progress_set_text("DeepDream: waiting for dreamd…")
        last, shown = 0.0, None
        while True:
            try:
                p = events.get(timeout=0.2)
            except queue.Empty:
                if last == 0.0:
                    Gimp.progress_pulse()  # queued or starting: show that it is alive
                continue
            if p is None:
                break
            fraction = _fraction(p)
            if fraction is not None and fraction > last:
                last = min(fraction, 0.99)  # never 100 % before the result is in
                Gimp.progress_update(last)
            text = _progress_text(p)
            if text and text != shown:
                Gimp.progress_set_text(text)
                shown = text
        thread.join()
        if "error" in outcome:
            raise outcome["error"]
        return outcome["result"]


def _get(p, key, default=None):
    if isinstance(p, dict):
        return p.get(key, default)
    return getattr(p, key, default)


def _fraction(p):
    done, total = _get(p, "done"), _get(p, "total")
    if done is None or not total:
        return None
    return max(0.0, min(1.0, float(done) / float(total)))


def _progress_text(p):
    """ "DeepDream: octave 2/4" from a protocol.Progress (octave 0 is the smallest)."""
    octave = _get(p, "octave")
    if octave is None:
        return None
    octaves = _get(p, "octaves")
    of = f"/{octaves}" if octaves else ""
    return f"DeepDream: octave {int(octave) + 1}{of}"


if __name__ == "__main__":
    if os.environ.get("DREAMD_GIMP_DEBUG"):
        print("dreamd_deepdream:", sys.version, sys.path[:3], file=sys.stderr)
    Gimp.main(DeepDream.__gtype__, sys.argv)
