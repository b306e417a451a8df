# Runs INSIDE GIMP 3 (gimp-console-3.0 --batch-interpreter python-fu-eval), not under pytest.
# The test prepends one line, `JOB = {...}`, then sends this text on stdin. For each case it
# loads an image (optionally stacks it over a background, in a group, with a mask...), calls
# python-fu-deepdream non-interactively, checks the returned status (GIMP itself exits 0
# whatever happens) and writes what it saw to JOB["report"] (JSON), exporting the new layer,
# the source layer and the visible result as PNG files.
#
# With "expect": the reference for "the image looks exactly as if the layer's pixels had been
# replaced by the dream": the same dream is asked of the daemon directly (same pixels, the
# parameters the plug-in reports, seed included), put into a copy of the image taken before
# the filter in place of the layer's pixels (inside the selection), and that copy's visible
# result exported next to the filtered image's. No plug-in code is used for it.
# ruff: noqa
import json
import os
import sys
import traceback

import gi

gi.require_version("Gimp", "3.0")
gi.require_version("Gegl", "0.4")
from gi.repository import Gegl, Gimp, Gio

JOB = globals().get("JOB") or {}
report = {"cases": {}, "gimp": Gimp.version()}
Gegl.init(None)


def gfile(path):
    return Gio.File.new_for_path(path)


def save(image, path):
    Gimp.file_save(Gimp.RunMode.NONINTERACTIVE, image, gfile(path), None)


def export_layer(image, layer, path, apply_mask=False, crop=None):
    """The layer alone (or its ``crop`` [x, y, w, h]), in the image's precision, as a PNG."""
    w, h = layer.get_width(), layer.get_height()
    out = Gimp.Image.new_with_precision(w, h, image.get_base_type(), image.get_precision())
    copy = Gimp.Layer.new_from_drawable(layer, out)
    out.insert_layer(copy, None, 0)
    copy.set_offsets(0, 0)
    if crop:
        out.crop(crop[2], crop[3], crop[0], crop[1])
    copy.set_visible(True)
    copy.set_opacity(100.0)
    if copy.get_mask() is not None:
        mode = Gimp.MaskApplyMode.APPLY if apply_mask else Gimp.MaskApplyMode.DISCARD
        copy.remove_mask(mode)
    save(out, path)
    out.delete()


def export_visible(image, path):
    visible = image.duplicate()
    visible.merge_visible_layers(Gimp.MergeType.CLIP_TO_IMAGE)
    save(visible, path)
    visible.delete()


def layer_facts(layer):
    _ok, ox, oy = layer.get_offsets()
    return {
        "name": layer.get_name(),
        "width": layer.get_width(),
        "height": layer.get_height(),
        "offsets": [ox, oy],
        "has_alpha": layer.has_alpha(),
        "has_mask": layer.get_mask() is not None,
        "visible": layer.get_visible(),
        "is_gray": layer.is_gray(),
        "opacity": layer.get_opacity(),
        "is_group": layer.is_group(),
    }


def rect_bytes(drawable, rect, fmt):
    x, y, w, h = rect
    return bytes(
        drawable.get_buffer().get(Gegl.Rectangle.new(x, y, w, h), 1.0, fmt, Gegl.AbyssPolicy.CLAMP)
    )


def build(case):
    """The image and the drawable the filter is called on."""
    image = Gimp.file_load(Gimp.RunMode.NONINTERACTIVE, gfile(case["input"]))
    if case.get("precision"):
        image.convert_precision(getattr(Gimp.Precision, case["precision"]))
    source = image.get_layers()[0]
    w, h = image.get_width(), image.get_height()
    if case.get("background"):
        bg = Gimp.Layer.new(
            image, "bg", w, h, Gimp.ImageType.RGB_IMAGE, 100.0, Gimp.LayerMode.NORMAL
        )
        image.insert_layer(bg, None, 1)
        rgb = bytes(case["background"])
        bg.get_buffer().set(Gegl.Rectangle.new(0, 0, w, h), "R'G'B' u8", rgb * (w * h))
    if case.get("opacity") is not None:
        source.set_opacity(float(case["opacity"]))
    target = source
    if case.get("group"):
        group = Gimp.GroupLayer.new(image, "Group")
        image.insert_layer(group, None, 0)
        image.reorder_item(source, group, 0)
        stripe = Gimp.Layer.new(
            image, "stripe", w, 12, Gimp.ImageType.RGBA_IMAGE, 100.0, Gimp.LayerMode.NORMAL
        )
        image.insert_layer(stripe, group, 0)
        stripe.set_offsets(0, h // 2)
        stripe.get_buffer().set(
            Gegl.Rectangle.new(0, 0, w, 12), "R'G'B'A u8", bytes([200, 30, 30, 160]) * (w * 12)
        )
        target = group
    if case.get("pick") == "mask":
        mask = source.create_mask(Gimp.AddMaskType.WHITE)
        source.add_mask(mask)
        target = mask
    elif case.get("pick") == "channel":
        channel = Gimp.Channel.new(image, "saved", w, h, 50.0, Gegl.Color.new("black"))
        image.insert_channel(channel, None, 0)
        target = channel
    if case.get("select"):
        x, y, sw, sh = case["select"]
        image.select_rectangle(Gimp.ChannelOps.REPLACE, x, y, sw, sh)
    return image, source, target


def expected(before, target_name, info, out_path):
    """``before`` with the target's pixels replaced by the daemon's dream of them inside the
    selection, exported as seen (see the header)."""
    sys.path[:0] = [JOB["plugin_dir"], os.path.join(JOB["plugin_dir"], "vendor")]
    from dreamd import protocol

    target = [l for l in before.get_layers() if l.get_name() == target_name][0]
    fmt = "R'G'B'A u8" if target.has_alpha() else "R'G'B' u8"
    c = 4 if target.has_alpha() else 3
    x, y, w, h = info["rect"]
    src = rect_bytes(target, (x, y, w, h), fmt)
    # The parameters as used, less any the daemon reports but a request cannot carry.
    params = {k: v for k, v in info["params"].items() if k in protocol.PARAM_NAMES}
    with protocol.Client(os.environ["DREAMD_ENDPOINT"]) as client:
        res = client.dream(protocol.Image.raw(src, w, h, c, "u8"), params, model=info["model"])
    dream = bytes(res.image.data)
    if Gimp.Selection.is_empty(before):
        sel = bytes([255]) * (w * h)
    else:
        _ok, ox, oy = target.get_offsets()
        sel = rect_bytes(before.get_selection(), (x + ox, y + oy, w, h), "Y u8")
    out = bytearray(src)
    for i in range(w * h):
        if sel[i] >= 128:  # the tests' selections are hard-edged
            out[i * c : i * c + 3] = dream[i * c : i * c + 3]
    if target.is_group():
        layer = Gimp.Layer.new(
            before,
            "expected",
            target.get_width(),
            target.get_height(),
            Gimp.ImageType.RGBA_IMAGE,
            target.get_opacity(),
            Gimp.LayerMode.NORMAL,
        )
        before.insert_layer(layer, target.get_parent(), before.get_item_position(target))
        whole = rect_bytes(target, (0, 0, target.get_width(), target.get_height()), fmt)
        layer.get_buffer().set(
            Gegl.Rectangle.new(0, 0, target.get_width(), target.get_height()), fmt, whole
        )
        target.set_visible(False)
        target = layer
    target.get_buffer().set(Gegl.Rectangle.new(x, y, w, h), fmt, bytes(out))
    target.get_buffer().flush()
    export_visible(before, out_path)


def run_case(name, case):
    r = {}
    image, source, target = build(case)
    r["layer_ids_before"] = [layer.get_id() for layer in image.get_layers()]
    r["precision_before"] = image.get_precision().value_nick
    before = image.duplicate() if case.get("expect") else None
    if case.get("expect"):
        export_visible(image, case["out"] + "-before.png")

    proc = Gimp.get_pdb().lookup_procedure("python-fu-deepdream")
    if proc is None:
        raise RuntimeError("python-fu-deepdream is not registered: the plug-in did not load")
    cfg = proc.create_config()
    cfg.set_property("run-mode", Gimp.RunMode.NONINTERACTIVE)
    cfg.set_property("image", image)
    cfg.set_core_object_array("drawables", [target])
    for key, value in case.get("params", {}).items():
        cfg.set_property(key, value)
    if case.get("guide"):
        guide_image = Gimp.file_load(Gimp.RunMode.NONINTERACTIVE, gfile(case["guide"]))
        cfg.set_property("guide", guide_image.get_layers()[0])
    if case.get("style"):
        style_image = Gimp.file_load(Gimp.RunMode.NONINTERACTIVE, gfile(case["style"]))
        cfg.set_property("style", style_image.get_layers()[0])
        r["style_name"] = style_image.get_layers()[0].get_name()

    result = proc.run(cfg)
    status = result.index(0)
    r["status"] = status.value_nick
    r["layers"] = [layer_facts(layer) for layer in image.get_layers()]
    if status != Gimp.PDBStatusType.SUCCESS:
        r["error"] = result.index(1) if result.length() > 1 else None
        return r
    new_layer = result.index(1)
    r["info"] = json.loads(result.index(2))
    siblings = (
        new_layer.get_parent().get_children() if new_layer.get_parent() else image.get_layers()
    )
    ids = [layer.get_id() for layer in siblings]
    r["new_layer"] = layer_facts(new_layer)
    r["new_index"] = ids.index(new_layer.get_id())
    dreamed = Gimp.Layer.from_mask(target) if case.get("pick") == "mask" else target
    r["source_index"] = ids.index(dreamed.get_id())
    r["source"] = layer_facts(dreamed)
    r["precision"] = image.get_precision().value_nick
    r["source_name"] = dreamed.get_name()
    parasite = new_layer.get_parasite("dreamd-dream")
    r["parasite"] = bytes(parasite.get_data()).decode() if parasite is not None else None
    r["selected"] = [layer.get_name() for layer in image.get_selected_layers()]

    out = case["out"]
    if case.get("export") == "none":  # big pictures: the facts are enough
        return r
    crop = case.get("crop")
    export_layer(image, new_layer, out + "-layer.png", crop=crop)
    if not dreamed.is_group():
        export_layer(image, dreamed, out + "-source.png", crop=crop)
    if not crop:
        export_visible(image, out + "-visible.png")
    if before is not None:
        expected(before, dreamed.get_name(), r["info"], out + "-expected.png")
        before.delete()
    r["exported"] = True
    return r


for case_name, case in JOB.get("cases", {}).items():
    try:
        report["cases"][case_name] = run_case(case_name, case)
    except Exception:
        report["cases"][case_name] = {"status": "script-exception", "error": traceback.format_exc()}

with open(JOB["report"], "w") as f:
    json.dump(report, f, indent=1)
