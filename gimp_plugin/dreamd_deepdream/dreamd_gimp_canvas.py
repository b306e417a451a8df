"""The plug-in's work on the canvas: what it dreams (the layer, a layer group's picture, the
selection's part of it) and how the dream goes back into the image.

The rule for the result: the image must look exactly as if the layer's pixels had been
replaced by the dream, whatever its alpha, mode, opacity, mask, and the selection. So the
dream goes into a copy of the source (same place, mode, opacity, mask), through GIMP's own
shadow-buffer merge, which blends it by the selection as every GIMP filter does, and the
source is hidden, not changed: its pixels would otherwise show through a half-transparent
dream and make it more opaque than the layer was. One undo step.

GIMP-only (imported by ``dreamd_deepdream.py``).
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Any

import dreamd_gimp_pixels as pixels
import gi

gi.require_version("Gimp", "3.0")
gi.require_version("Gegl", "0.4")
from gi.repository import Gegl, Gimp  # noqa: E402


class CanvasError(Exception):
    """The painter's selection cannot be dreamed; the text says why and what to do."""


def dreamable(drawable: Any) -> Any:
    """The drawable to dream for the one the painter selected: a layer or a layer group as
    it is, a layer mask's own layer (its thumbnail is easy to click by mistake).

    Raises:
        CanvasError: for a channel or a saved selection.
    """
    if drawable.is_layer_mask():
        return Gimp.Layer.from_mask(drawable)
    if drawable.is_layer():
        return drawable
    raise CanvasError(
        "DeepDream dreams layers: select a layer (not a channel) in the Layers dialog."
    )


@dataclass
class Source:
    """The part of a drawable that is sent, as read."""

    drawable: Any
    rect: tuple[int, int, int, int]  # x, y, w, h in the drawable's coordinates
    fmt: pixels.PixelFormat
    data: bytes
    has_selection: bool


def source_rect(image: Any, drawable: Any) -> tuple[tuple[int, int, int, int], bool]:
    """(the part of the drawable that is dreamed, whether there is a selection): the
    selection's bounds plus some context, or all of it."""
    has_selection = not Gimp.Selection.is_empty(image)
    _ok, ix, iy, iw, ih = drawable.mask_intersect()
    if has_selection and (iw <= 0 or ih <= 0):
        raise CanvasError("The selection does not touch the selected layer.")
    size = (drawable.get_width(), drawable.get_height())
    return pixels.dream_rect((ix, iy, iw, ih), size, has_selection), has_selection


def pixel_format(image: Any, drawable: Any) -> pixels.PixelFormat:
    return pixels.pixel_format(
        image.get_precision().value_name, drawable.is_gray(), drawable.has_alpha()
    )


def read_source(image: Any, drawable: Any) -> Source:
    """The drawable's pixels in its own precision (see :func:`source_rect`). A layer group
    is read as it looks (its projection)."""
    fmt = pixel_format(image, drawable)
    rect, has_selection = source_rect(image, drawable)
    x, y, w, h = rect
    data = drawable.get_buffer().get(
        Gegl.Rectangle.new(x, y, w, h), 1.0, fmt.babl, Gegl.AbyssPolicy.CLAMP
    )
    return Source(drawable, rect, fmt, bytes(data), has_selection)


def read_scaled(
    drawable: Any, rect: tuple[int, int, int, int], fmt: pixels.PixelFormat, max_side: int
) -> tuple[bytes, int, int]:
    """``rect`` of the drawable scaled down so its long side is at most ``max_side`` (for a
    quick draft), in ``fmt``: (bytes, width, height)."""
    x, y, w, h = rect
    scale = min(1.0, max_side / max(w, h))
    sw, sh = max(1, round(w * scale)), max(1, round(h * scale))
    area = Gegl.Rectangle.new(round(x * scale), round(y * scale), sw, sh)
    data = drawable.get_buffer().get(area, scale, fmt.babl, Gegl.AbyssPolicy.CLAMP)
    return bytes(data), sw, sh


def read_rgb(drawable: Any, max_side: int) -> tuple[bytes, int, int]:
    """A drawable as 8-bit R'G'B', scaled down so its long side is at most ``max_side``."""
    gw, gh = drawable.get_width(), drawable.get_height()
    scale = min(1.0, float(max_side) / max(gw, gh))
    w, h = max(1, int(gw * scale)), max(1, int(gh * scale))
    data = drawable.get_buffer().get(
        Gegl.Rectangle.new(0, 0, w, h), scale, "R'G'B' u8", Gegl.AbyssPolicy.CLAMP
    )
    return bytes(data), w, h


def _copy_of(image: Any, source: Any, name: str) -> Any:
    """A layer to hold the dream, in the source's place and looking like it: a duplicate of
    a plain layer (mode, opacity, mask and all), a plain layer for a group."""
    if not source.is_group():
        layer = Gimp.Layer.new_from_drawable(source, image)
        layer.set_name(name)
        return layer
    mode = source.get_mode()
    if mode == Gimp.LayerMode.PASS_THROUGH:
        mode = Gimp.LayerMode.NORMAL
    layer = Gimp.Layer.new(
        image,
        name,
        source.get_width(),
        source.get_height(),
        source.type(),
        source.get_opacity(),
        mode,
    )
    _ok, ox, oy = source.get_offsets()
    layer.set_offsets(ox, oy)
    for copy in ("blend_space", "composite_space", "composite_mode"):
        with contextlib.suppress(Exception):
            getattr(layer, f"set_{copy}")(getattr(source, f"get_{copy}")())
    return layer


def add_result(image: Any, src: Source, data: bytes, name: str, parasite: tuple[str, bytes]) -> Any:
    """Put the dream into the image in one undo step (see the module's docstring); returns
    the new layer, which carries ``parasite`` (name, data: the dream's full description)."""
    x, y, w, h = src.rect
    rect = Gegl.Rectangle.new(x, y, w, h)
    image.undo_group_start()
    try:
        layer = _copy_of(image, src.drawable, name)
        parent = src.drawable.get_parent()
        image.insert_layer(layer, parent, image.get_item_position(src.drawable))
        if src.drawable.is_group():
            # The new layer starts empty: outside the selection it must show the group.
            layer.get_buffer().set(
                Gegl.Rectangle.new(0, 0, layer.get_width(), layer.get_height()),
                src.fmt.babl,
                src.drawable.get_buffer().get(
                    Gegl.Rectangle.new(0, 0, layer.get_width(), layer.get_height()),
                    1.0,
                    src.fmt.babl,
                    Gegl.AbyssPolicy.CLAMP,
                ),
            )
        if src.has_selection:
            # GIMP blends a shadow buffer into the layer through the selection (feathering
            # and all), exactly as it does for its own filters.
            shadow = layer.get_shadow_buffer()
            shadow.set(rect, src.fmt.babl, data)
            shadow.flush()
            layer.merge_shadow(True)
        else:
            buffer = layer.get_buffer()
            buffer.set(rect, src.fmt.babl, data)
            buffer.flush()
        layer.update(x, y, w, h)
        src.drawable.set_visible(False)
        with contextlib.suppress(Exception):
            layer.attach_parasite(
                Gimp.Parasite.new(
                    parasite[0], Gimp.PARASITE_PERSISTENT | Gimp.PARASITE_UNDOABLE, parasite[1]
                )
            )
        image.set_selected_layers([layer])
    finally:
        image.undo_group_end()
    return layer


class PreviewLayer:
    """The dream as it forms, on the canvas: a temporary layer over the part being dreamed,
    replaced at each new picture, removed on Cancel and before the result goes in. The
    image's undo is frozen meanwhile, so none of it is left in the undo history."""

    NAME = "DeepDream preview"

    def __init__(self, image: Any, drawable: Any, rect: tuple[int, int, int, int]) -> None:
        self.image, self.drawable, self.rect = image, drawable, rect
        self.layer: Any = None
        self.frozen = False
        self.shown = 0  # pictures shown so far

    def show(self, rgb: bytes, width: int, height: int) -> None:
        """Show an 8-bit RGB picture of the whole part, ``width`` × ``height`` pixels."""
        if not self.frozen:
            self.image.undo_freeze()
            self.frozen = True
        x, y, w, h = self.rect
        data = self._with_alpha(rgb, width, height)
        layer = Gimp.Layer.new(
            self.image,
            self.NAME,
            width,
            height,
            Gimp.ImageType.RGBA_IMAGE,
            100.0,
            Gimp.LayerMode.NORMAL,
        )
        layer.get_buffer().set(Gegl.Rectangle.new(0, 0, width, height), "R'G'B'A u8", data)
        # Hidden until it is scaled and placed (GIMP scales only layers in an image), so
        # the small picture never shows in the corner; the old one goes only after, so
        # the source never flashes through.
        layer.set_visible(False)
        parent = self.drawable.get_parent()
        self.image.insert_layer(layer, parent, self.image.get_item_position(self.drawable))
        Gimp.context_set_interpolation(Gimp.InterpolationType.LINEAR)
        layer.scale(w, h, False)
        _ok, ox, oy = self.drawable.get_offsets()
        layer.set_offsets(ox + x, oy + y)
        layer.set_visible(True)
        if self.layer is not None:
            self.image.remove_layer(self.layer)
        layer.set_name(self.NAME)  # GIMP named it "… #1" while the old one was there
        self.layer = layer
        self.shown += 1
        Gimp.displays_flush()

    def _with_alpha(self, rgb: bytes, width: int, height: int) -> bytes:
        """The picture with the source's own transparency, read at the preview's size."""
        x, y, w, _h = self.rect
        if not self.drawable.has_alpha():
            alpha = b"\xff" * (width * height)
        else:
            scale = width / w
            rect = Gegl.Rectangle.new(round(x * scale), round(y * scale), width, height)
            alpha = bytes(
                self.drawable.get_buffer().get(rect, scale, "A u8", Gegl.AbyssPolicy.CLAMP)
            )
        out = bytearray(width * height * 4)
        for c in range(3):
            out[c::4] = rgb[c::3]
        out[3::4] = alpha
        return bytes(out)

    def remove(self) -> None:
        """Take the preview away and give the image its undo back."""
        if self.layer is not None:
            with contextlib.suppress(Exception):  # the painter may have deleted it
                self.image.remove_layer(self.layer)
            self.layer = None
        if self.frozen:
            self.image.undo_thaw()
            self.frozen = False
        Gimp.displays_flush()
