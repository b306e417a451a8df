# Runs INSIDE GIMP 3 (gimp-console-3.0 --batch-interpreter python-fu-eval), not under pytest.
# The test prepends one line, `JOB = {...}`, then sends this text on stdin. For each case it
# loads an image, calls python-fu-deepdream non-interactively, checks the returned status
# (GIMP itself exits 0 whatever happens) and writes what it saw to JOB["report"] (JSON),
# exporting the new layer, the source layer and the visible result as PNG files.
# ruff: noqa
import json
import traceback

import gi

gi.require_version("Gimp", "3.0")
gi.require_version("Gegl", "0.4")
from gi.repository import Gegl, Gimp, Gio

JOB = globals().get("JOB") or {}
report = {"cases": {}, "gimp": Gimp.version()}


def gfile(path):
    return Gio.File.new_for_path(path)


def save(image, path):
    Gimp.file_save(Gimp.RunMode.NONINTERACTIVE, image, gfile(path), None)


def export_layer(image, layer, path, apply_mask=False):
    """The layer alone, in the image's precision, as a PNG."""
    w, h = layer.get_width(), layer.get_height()
    out = Gimp.Image.new_with_precision(w, h, image.get_base_type(), image.get_precision())
    copy = Gimp.Layer.new_from_drawable(layer, out)
    out.insert_layer(copy, None, 0)
    copy.set_offsets(0, 0)
    if copy.get_mask() is not None:
        mode = Gimp.MaskApplyMode.APPLY if apply_mask else Gimp.MaskApplyMode.DISCARD
        copy.remove_mask(mode)
    save(out, path)
    out.delete()


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
    }


def run_case(name, case):
    r = {}
    image = Gimp.file_load(Gimp.RunMode.NONINTERACTIVE, gfile(case["input"]))
    if case.get("precision"):
        image.convert_precision(getattr(Gimp.Precision, case["precision"]))
    if case.get("select"):
        x, y, w, h = case["select"]
        image.select_rectangle(Gimp.ChannelOps.REPLACE, x, y, w, h)
    source = image.get_layers()[0]
    before = [layer.get_id() for layer in image.get_layers()]
    r["precision_before"] = image.get_precision().value_nick

    proc = Gimp.get_pdb().lookup_procedure("python-fu-deepdream")
    if proc is None:
        raise RuntimeError("python-fu-deepdream is not registered: the plug-in did not load")
    cfg = proc.create_config()
    cfg.set_property("run-mode", Gimp.RunMode.NONINTERACTIVE)
    cfg.set_property("image", image)
    cfg.set_core_object_array("drawables", [source])
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
    if status != Gimp.PDBStatusType.SUCCESS:
        r["error"] = result.index(1) if result.length() > 1 else None
        r["layers"] = [layer_facts(layer) for layer in image.get_layers()]
        return r
    new_layer = result.index(1)
    r["info"] = json.loads(result.index(2))
    layers = image.get_layers()
    r["layers"] = [layer_facts(layer) for layer in layers]
    r["new_layer"] = layer_facts(new_layer)
    r["new_index"] = [layer.get_id() for layer in layers].index(new_layer.get_id())
    r["source_index"] = [layer.get_id() for layer in layers].index(source.get_id())
    r["layer_ids_before"] = before
    r["precision"] = image.get_precision().value_nick
    r["source_name"] = source.get_name()
    parasite = new_layer.get_parasite("dreamd-dream")
    r["parasite"] = bytes(parasite.get_data()).decode() if parasite is not None else None

    out = case["out"]
    export_layer(image, new_layer, out + "-layer.png")
    export_layer(image, source, out + "-source.png")
    visible = image.duplicate()
    visible.merge_visible_layers(Gimp.MergeType.CLIP_TO_IMAGE)
    save(visible, out + "-visible.png")
    visible.delete()
    r["exported"] = True
    return r


for case_name, case in JOB.get("cases", {}).items():
    try:
        report["cases"][case_name] = run_case(case_name, case)
    except Exception:
        report["cases"][case_name] = {"status": "script-exception", "error": traceback.format_exc()}

with open(JOB["report"], "w") as f:
    json.dump(report, f, indent=1)
