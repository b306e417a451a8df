"""The bottom of the dialog: how long the dream will take (asked of dreamd, which knows its
measured speed and plans the octaves exactly, updated as the settings change) and a quick
draft (the same settings on a copy of the picture at most ``DRAFT_SIDE`` pixels long,
shown on the canvas in the preview layer, so a painter sees where it goes in seconds).

GIMP-only (imported by the dialog).
"""

from __future__ import annotations

import time
from typing import Any

import dreamd_gimp_canvas as canvas
import dreamd_gimp_job as job
import dreamd_gimp_params as procedure_args
import dreamd_gimp_pixels as pixels
import dreamd_gimp_progress as progress
import gi
from dreamd_gimp_window import Bar

gi.require_version("Gtk", "3.0")
from gi.repository import GLib, Gtk  # noqa: E402

#: A draft's long side, in pixels.
DRAFT_SIDE = 512
#: Wait this long after the last change before asking for an estimate (milliseconds).
SETTLE_MS = 350


def estimate_text(est: Any, width: int, height: int) -> str:
    """``"About 2:10 for 6000×4000 (12 octaves, 120 steps)"``."""
    if est.seconds is None:
        return "dreamd is measuring its speed for an estimate…"
    octaves = len(est.octaves)
    at = f", dreamed at {est.working[0]}×{est.working[1]}" if est.working else ""
    return (
        f"About {progress.clock(est.seconds)} for {width}×{height} "
        f"({octaves} octaves, {est.steps} steps{at})"
    )


class EstimateAndDraft:
    def __init__(self, owner: Any, image: Any, source: Any, rect: Any, preview: Any) -> None:
        self.owner = owner  # the DreamDialog: its config, protocol, endpoint, dialog
        self.image, self.source, self.rect, self.preview = image, source, rect, preview
        self.client: Any = None
        self._timer = 0
        self.running = False
        self.stop = False
        self.row = Gtk.Box(orientation=Gtk.Orientation.HORIZONTAL, spacing=8, margin_top=6)
        self.label = Gtk.Label(xalign=0, wrap=True, max_width_chars=50)
        self.row.pack_start(self.label, True, True, 0)
        self.bar = Bar()
        self.bar.widget.set_no_show_all(True)
        self.row.pack_start(self.bar.widget, True, True, 0)
        self.button = Gtk.Button.new_with_mnemonic("_Quick draft")
        self.button.set_tooltip_text(
            f"Dream a copy at most {DRAFT_SIDE} pixels long with these settings and show it "
            "on the canvas (removed again on Cancel). A seed of −1 is fixed to the draft's, "
            "so that OK dreams alike."
        )
        self.button.connect("clicked", lambda _b: self.draft())
        self.row.pack_start(self.button, False, False, 0)
        self.row.show_all()
        owner.config.connect("notify", lambda *_a: self.changed())
        owner.after_retry = self.changed
        self.changed()

    # -- the estimate ---------------------------------------------------------------------
    def _client(self) -> Any:
        if self.client is None:
            p = self.owner.protocol
            timeout = p.Timeout(connect=1.0, reply=3.0)
            self.client = p.Client(self.owner.endpoint, timeout=timeout, retries=0)
        return self.client

    def changed(self, delay: int = SETTLE_MS) -> None:
        if self._timer:
            GLib.source_remove(self._timer)
        self._timer = GLib.timeout_add(delay, self._estimate)

    def _values(self) -> dict[str, Any]:
        config = self.owner.config
        return {name: config.get_property(name) for name in procedure_args.argument_names()}

    def _estimate(self) -> bool:
        self._timer = 0
        if self.owner.error or self.running:  # no daemon: the note says so already
            self.label.set_text("")
            return False
        values = self._values()
        params = procedure_args.build_params(values)
        _x, _y, w, h = self.rect
        try:
            est = self._client().estimate(w, h, params, model=values.get("model") or None)
        except Exception as exc:
            name = type(exc).__name__
            self.label.set_text(
                "Update dreamd for time estimates." if name == "Unsupported" else ""
            )
            return False
        self.label.set_text(estimate_text(est, w, h))
        if est.seconds is None:
            self.changed(1500)  # the daemon is calibrating: ask again shortly
        return False

    # -- the draft ------------------------------------------------------------------------
    def draft(self) -> None:
        if self.running:
            self.stop = True
            return
        protocol = self.owner.protocol
        config = self.owner.config
        values = self._values()
        params = procedure_args.build_params(values)
        if config.get_property("seed") < 0:
            config.set_property("seed", params["seed"])
        # A draft is only looked at: 8-bit RGB is enough, whatever the layer's precision.
        rgb = pixels.PixelFormat("R'G'B' u8", "u8", 3)
        data, w, h = canvas.read_scaled(self.source, self.rect, rgb, DRAFT_SIDE)
        picture = protocol.Image.raw(data, w, h, 3, "u8")
        guide = style = None
        if values.get("guide") is not None:
            guide = protocol.Image.raw(*canvas.read_rgb(values["guide"], 448), 3, "u8")
        if values.get("style") is not None:
            side = procedure_args.STYLE_MAX_SIDE
            style = protocol.Image.raw(*canvas.read_rgb(values["style"], side), 3, "u8")
        self._busy(True)
        try:
            result = job.run(
                self._client(),
                picture,
                params,
                model=values.get("model") or None,
                guide=guide,
                style=style,
                started=time.monotonic(),
                should_stop=lambda: self.stop,
                pump=_pump,
                preview=protocol.Preview(DRAFT_SIDE, 1.0),
                on_preview=lambda p: self.preview.show(bytes(p.data), p.width, p.height),
                bar=self.bar,
            )
            self.preview.show(bytes(result.image.data), w, h)
            self.label.set_text("The draft is on the canvas (a temporary layer).")
        except Exception as exc:
            text = "Draft stopped." if type(exc).__name__ == "Cancelled" else f"Draft failed: {exc}"
            self.label.set_text(text)
        finally:
            self._busy(False)
            self.owner.report("draft-done")

    def _busy(self, busy: bool) -> None:
        self.running, self.stop = busy, False
        dialog = self.owner.dialog
        for response in (Gtk.ResponseType.OK, Gtk.ResponseType.CANCEL):
            dialog.set_response_sensitive(response, not busy)
        self.button.set_label("_Stop draft" if busy else "_Quick draft")
        self.bar.widget.set_visible(busy)
        self.label.set_visible(not busy)

    def close(self) -> None:
        if self._timer:
            GLib.source_remove(self._timer)
            self._timer = 0
        if self.client is not None:
            self.client.close()
            self.client = None


def _pump() -> None:
    while Gtk.events_pending():
        Gtk.main_iteration_do(False)
