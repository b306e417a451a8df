# Runs INSIDE GIMP 3's GUI (gimp-3.0 under Xvfb, --batch-interpreter python-fu-eval), not
# under pytest. The test prepends `JOB = {...}`. Run 1 calls python-fu-deepdream
# INTERACTIVELY: the dialog opens and the test presses OK with xdotool. Run 2 repeats it with
# WITH_LAST_VALS and a fresh config, so it must reuse what the dialog saved.
# ruff: noqa
import json
import traceback

import gi

gi.require_version("Gimp", "3.0")
from gi.repository import Gimp, Gio

JOB = globals().get("JOB") or {}
report = {}


def run(image, mode, preset):
    proc = Gimp.get_pdb().lookup_procedure("python-fu-deepdream")
    cfg = proc.create_config()
    cfg.set_property("run-mode", mode)
    cfg.set_property("image", image)
    cfg.set_core_object_array("drawables", [image.get_layers()[-1]])
    for key, value in preset.items():
        cfg.set_property(key, value)
    result = proc.run(cfg)
    status = result.index(0)
    out = {"status": status.value_nick}
    if status == Gimp.PDBStatusType.SUCCESS:
        out["info"] = json.loads(result.index(2))
    elif result.length() > 1:
        out["error"] = result.index(1)
    return out


try:
    image = Gimp.file_load(Gimp.RunMode.NONINTERACTIVE, Gio.File.new_for_path(JOB["input"]))
    Gimp.Display.new(image)
    report["interactive"] = run(image, Gimp.RunMode.INTERACTIVE, JOB.get("preset", {}))
    report["last_vals"] = run(image, Gimp.RunMode.WITH_LAST_VALS, {})
    report["layers"] = [layer.get_name() for layer in image.get_layers()]
except Exception:
    report["exception"] = traceback.format_exc()

with open(JOB["report"], "w") as f:
    json.dump(report, f, indent=1)
