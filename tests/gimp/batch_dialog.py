# Runs INSIDE GIMP 3's GUI (gimp-3.0 under Xvfb, --batch-interpreter python-fu-eval), not
# under pytest; gui_driver.py presses the dialog's keys. The test prepends `JOB = {...}`.
# JOB["runs"]: each {"input": png, "mode": "interactive" | "last", "preset": {prop: value}}
# calls python-fu-deepdream on a displayed image and records the status and the info.
# With JOB["hold"]: after the runs, writes JOB["hold"] and waits (up to 20 s) for
# JOB["release"], so that the driver can take a screenshot of the result.
# ruff: noqa
import json
import os
import time
import traceback

import gi

gi.require_version("Gimp", "3.0")
from gi.repository import Gimp, Gio

JOB = globals().get("JOB") or {}
report = {"runs": []}
MODES = {"interactive": Gimp.RunMode.INTERACTIVE, "last": Gimp.RunMode.WITH_LAST_VALS}
images = {}


def run(spec):
    path = spec["input"]
    if path not in images:
        image = Gimp.file_load(Gimp.RunMode.NONINTERACTIVE, Gio.File.new_for_path(path))
        Gimp.Display.new(image)
        images[path] = image
    image = images[path]
    proc = Gimp.get_pdb().lookup_procedure("python-fu-deepdream")
    cfg = proc.create_config()
    cfg.set_property("run-mode", MODES[spec.get("mode", "interactive")])
    cfg.set_property("image", image)
    cfg.set_core_object_array("drawables", [image.get_layers()[-1]])
    for key, value in spec.get("preset", {}).items():
        cfg.set_property(key, value)
    started = time.monotonic()
    result = proc.run(cfg)
    status = result.index(0)
    out = {"status": status.value_nick, "seconds": round(time.monotonic() - started, 2)}
    if status == Gimp.PDBStatusType.SUCCESS:
        out["info"] = json.loads(result.index(2))
    elif result.length() > 1:
        out["error"] = result.index(1)
    out["layers"] = [layer.get_name() for layer in image.get_layers()]
    return out


try:
    for spec in JOB["runs"]:
        report["runs"].append(run(spec))
    Gimp.displays_flush()
    if JOB.get("hold"):
        open(JOB["hold"], "w").close()
        deadline = time.monotonic() + 20
        while not os.path.exists(JOB["release"]) and time.monotonic() < deadline:
            time.sleep(0.2)
except Exception:
    report["exception"] = traceback.format_exc()

with open(JOB["report"], "w") as f:
    json.dump(report, f, indent=1)
