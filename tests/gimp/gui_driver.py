"""Drive GIMP's GUI under Xvfb for the dialog tests and the screenshots (runs where GIMP
runs: natively or inside the trixie chroot, with that system's python3-gi, Xvfb, xdotool).

    python3 gui_driver.py JOB.json

JOB: ``script`` (a python-fu-eval batch script for GIMP), ``report`` (the file the script
writes last), ``work`` (a folder for logs), ``screen`` ("1280x900"), and ``steps``, done in
order, each one:

- ``window``: a regex; wait for a window whose name matches it, then ``delay`` seconds
  (0.5 by default); after the actions, wait until it has gone (a later step's window is a
  new one even when X gives it the same id);
- ``wait_file``: wait until this file exists (e.g. written by the batch script);
- ``do``: actions in order: ``["key", "alt+l"]`` (xdotool key names, sent to that window),
  ``["type", "text"]``, ``["sleep", 0.5]``, ``["shot", PATH]`` (a PNG of that window),
  ``["shot_root", PATH]`` (of the whole screen), ``["touch", PATH]``, ``["names", PATH]``
  (append the names of all visible windows to PATH as a JSON line: GIMP's image window
  says how many layers the image has), ``["wait_name", REGEX]`` (until a window's name
  matches), ``["wait_text", "PATH TEXT"]`` (until the file PATH contains TEXT),
  ``["drag", "X1 Y1 X2 Y2"]`` (the mouse, button 1), ``["key_to", "REGEX KEY"]`` (a key to
  the first window whose name matches), ``["move", "REGEX X Y"]``,
  ``["resize", "REGEX W H"]`` (the first window whose name matches).

Writes ``work/driver.log``. Exit status 0 when the report was written.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path


def log(work: Path, text: str) -> None:
    with open(work / "driver.log", "a") as f:
        f.write(f"{time.strftime('%H:%M:%S')} {text}\n")


def xdotool(*args: str) -> str:
    res = subprocess.run(["xdotool", *args], capture_output=True, text=True, check=False)
    return res.stdout.strip()


def windows(pattern: str) -> list[str]:
    return [w for w in xdotool("search", "--onlyvisible", "--name", pattern).split() if w]


def _closed(report: str) -> int:
    """How many times the plug-in's dialog has reported closing."""
    if not report or not Path(report).exists():
        return 0
    return Path(report).read_text().count('"event": "closed"')


def screenshot(xid: str | None, path: str) -> None:
    import gi

    gi.require_version("Gdk", "3.0")
    gi.require_version("GdkX11", "3.0")
    from gi.repository import Gdk, GdkX11

    Gdk.init([])
    display = Gdk.Display.get_default()
    if xid is None:
        window = Gdk.get_default_root_window()
    else:
        window = GdkX11.X11Window.foreign_new_for_display(display, int(xid))
    pixbuf = Gdk.pixbuf_get_from_window(window, 0, 0, window.get_width(), window.get_height())
    pixbuf.savev(path, "png", [], [])


def main(job_path: str) -> int:
    job = json.loads(Path(job_path).read_text())
    work = Path(job["work"])
    with contextlib.ExitStack() as files:
        xvfb_log = files.enter_context(open(work / "xvfb.log", "w"))
        script = files.enter_context(open(job["script"]))
        gimp_log = files.enter_context(open(work / "gimp.log", "w"))
        return drive(job, work, xvfb_log, script, gimp_log)


def drive(job, work, xvfb_log, script, gimp_log) -> int:
    env = dict(os.environ)
    xvfb = subprocess.Popen(
        ["Xvfb", "-displayfd", "1", "-screen", "0", job.get("screen", "1280x900") + "x24",
         "-nolisten", "tcp"],
        stdout=subprocess.PIPE, stderr=xvfb_log, text=True,
    )  # fmt: skip
    display = xvfb.stdout.readline().strip()
    env["DISPLAY"] = os.environ["DISPLAY"] = f":{display}"
    log(work, f"Xvfb on :{display}")
    gimp = subprocess.Popen(
        ["gimp-3.0", "--no-splash", "--batch-interpreter", "python-fu-eval", "-b", "-"],
        stdin=script, stdout=gimp_log, stderr=subprocess.STDOUT, env=env,
    )  # fmt: skip
    deadline = time.monotonic() + float(job.get("timeout", 300))
    try:
        for n, step in enumerate(job["steps"]):
            xid = None
            if "window" in step:
                while True:
                    found = windows(step["window"])
                    if found:
                        xid = found[0]
                        break
                    if gimp.poll() is not None or time.monotonic() > deadline:
                        log(work, f"step {n}: no window {step['window']!r}")
                        return 1
                    time.sleep(0.25)
                log(work, f"step {n}: window {step['window']!r} is {xid}")
            if "wait_file" in step:
                while not Path(step["wait_file"]).exists():
                    if gimp.poll() is not None or time.monotonic() > deadline:
                        log(work, f"step {n}: no file {step['wait_file']}")
                        return 1
                    time.sleep(0.25)
            time.sleep(float(step.get("delay", 0.5)))
            closed_before = _closed(os.environ.get("DREAMD_GIMP_DIALOG_REPORT", ""))
            for action, arg in step.get("do", ()):
                if action == "key":
                    if xid is not None:
                        xdotool("windowfocus", "--sync", xid)
                    xdotool("key", "--clearmodifiers", arg)
                    time.sleep(0.3)
                elif action == "type":
                    xdotool("type", "--delay", "40", arg)
                elif action == "sleep":
                    time.sleep(float(arg))
                elif action in ("shot", "shot_root"):
                    screenshot(xid if action == "shot" else None, arg)
                elif action == "touch":
                    Path(arg).touch()
                elif action == "wait_name":
                    while not windows(arg):
                        if gimp.poll() is not None or time.monotonic() > deadline:
                            log(work, f"step {n}: no window named {arg!r}")
                            return 1
                        time.sleep(0.25)
                elif action == "wait_text":
                    path, text = arg.split(" ", 1)
                    while not (Path(path).exists() and text in Path(path).read_text()):
                        if gimp.poll() is not None or time.monotonic() > deadline:
                            log(work, f"step {n}: {path} never said {text!r}")
                            return 1
                        time.sleep(0.25)
                elif action == "key_to":
                    pattern, key = arg.rsplit(" ", 1)
                    for w in windows(pattern)[:1]:
                        xdotool("windowfocus", "--sync", w)
                        xdotool("key", "--clearmodifiers", key)
                elif action == "drag":
                    x1, y1, x2, y2 = arg.split()
                    xdotool("mousemove", x1, y1, "mousedown", "1")
                    time.sleep(0.2)
                    xdotool("mousemove", x2, y2)
                    time.sleep(0.2)
                    xdotool("mouseup", "1")
                    xdotool("mousemove", "0", "0")  # no tooltip where the mouse stopped
                elif action in ("move", "resize"):
                    pattern, a, b = arg.rsplit(" ", 2)
                    for w in windows(pattern)[:1]:
                        xdotool("windowmove" if action == "move" else "windowsize", w, a, b)
                elif action == "names":
                    ids = xdotool("search", "--onlyvisible", "--name", ".").split()
                    names = [xdotool("getwindowname", w) for w in ids]
                    with open(arg, "a") as f:
                        f.write(json.dumps(names) + "\n")
                log(work, f"step {n}: {action} {arg}")
            report = os.environ.get("DREAMD_GIMP_DIALOG_REPORT", "")
            if xid is not None and step["window"] == "^DeepDream$" and report:
                # The dialog says when it closes: the next one may open at once with the
                # same title (and X id), so "gone" cannot be seen reliably.
                while _closed(report) <= closed_before:
                    if gimp.poll() is not None or time.monotonic() > deadline:
                        log(work, f"step {n}: the dialog never closed")
                        return 1
                    time.sleep(0.25)
            elif xid is not None:
                while xid in windows(step["window"]):
                    if gimp.poll() is not None or time.monotonic() > deadline:
                        log(work, f"step {n}: window {step['window']!r} stays open")
                        return 1
                    time.sleep(0.25)
            log(work, f"step {n}: done")
        while not Path(job["report"]).exists():
            if gimp.poll() is not None or time.monotonic() > deadline:
                log(work, "no report")
                return 1
            time.sleep(0.25)
        return 0
    finally:
        for proc in (gimp, xvfb):
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
