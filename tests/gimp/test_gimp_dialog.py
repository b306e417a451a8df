"""The dialog in GIMP's real GUI under Xvfb, driven with keys (gui_driver.py): what it
shows, typos flagged before OK, values kept after Cancel and after a failed dream, Repeat.

One GIMP session runs five dreams in a row (batch_dialog.py):

1. the dialog opens with some values; Help; a quick draft shows on the canvas; a typo
   goes into Layer; Cancel (the draft goes too);
2. a fresh call: the dialog shows what was there at Cancel, typo included (OK greyed out);
   the layer is fixed; OK;
3. Repeat (WITH_LAST_VALS): the same again, no dialog;
4. a picture over the daemon's pixel limit: Steps per octave set to 3; OK; the dream fails;
5. a fresh call: the dialog shows Steps 3; OK;
6. a longer dream (576×384, 30 steps): its preview shows on the canvas while it runs;
   Cancel in the progress window; the preview goes, nothing is added.
"""

from __future__ import annotations

from collections import Counter

import pytest
from guirun import gimp_gui_available, run_gui

PRESET = {"octave-count": 2, "steps-per-octave": 2, "step-size": 2.0, "seed": 1234}


@pytest.fixture(scope="module")
def session(gimp, share, gimp_profile, dreamd_endpoint, images):
    if not gimp_gui_available(gimp):
        pytest.skip("Xvfb, xdotool or gimp-3.0 missing where GIMP runs (setup_gimp.sh adds them)")
    rgb, big, medium = str(images["rgb8"]), str(images["big"]), str(images["medium"])
    runs = [
        {"input": rgb, "preset": PRESET},
        {"input": rgb},
        {"input": rgb, "mode": "last"},
        {"input": big},
        {"input": rgb},
        {"input": medium},
    ]
    dialog = "^DeepDream$"
    steps = [
        {
            "window": dialog,
            "delay": 1.5,
            "do": [
                ["shot", "{work}/dialog.png"],
                ["key", "alt+h"],
                ["sleep", 2.0],
                ["key", "alt+q"],
                ["wait_text", '{work}/dialog.jsonl "event": "draft-done"'],
                ["names", "{work}/names.jsonl"],
                ["key", "alt+e"],
                ["key", "ctrl+a"],
                ["type", "blok10"],
                ["sleep", 0.8],
                ["key", "Escape"],
            ],
        },
        {
            "window": dialog,
            "delay": 1.0,
            "do": [["key", "alt+e"], ["key", "ctrl+a"], ["type", "block12"], ["key", "Return"]],
        },
        {
            "window": dialog,
            "delay": 1.0,
            "do": [["key", "alt+p"], ["key", "ctrl+a"], ["type", "3"], ["key", "alt+o"]],
        },
        {"window": dialog, "delay": 1.0, "do": [["key", "Return"]]},
        {
            "window": dialog,
            "delay": 1.0,
            "do": [["key", "alt+p"], ["key", "ctrl+a"], ["type", "30"], ["key", "alt+o"]],
        },
        {
            "window": "^DeepDream — dreaming$",
            "do": [
                ["wait_name", r"\(.*2 layers\)"],
                ["names", "{work}/running.jsonl"],
                ["key", "alt+c"],
            ],
        },
    ]
    run = run_gui(gimp, share, gimp_profile, dreamd_endpoint, "dialog", runs, steps)
    assert "exception" not in run.report, run.report["exception"]
    assert len(run.report.get("runs", [])) == 6, run.output
    return run


def test_the_runs_went_as_the_painter_asked(session):
    statuses = [r["status"] for r in session.report["runs"]]
    assert statuses == ["cancel", "success", "success", "execution-error", "success", "cancel"], (
        session.report,
        session.output,
    )
    assert "too large" in session.report["runs"][3]["error"]


def test_values_are_kept_after_cancel(session):
    shown = session.shown(1)
    assert shown["values"]["layer"] == "blok10", "the typed layer was lost at Cancel"
    assert shown["values"]["seed"] == 1234 and shown["values"]["steps-per-octave"] == 2
    assert not shown["ok_sensitive"], "OK must wait until the typo is fixed"
    assert shown["values"]["octave-count"] == 2
    params = session.report["runs"][1]["info"]["params"]
    assert params["steps_per_octave"] == 2 and params["step_size"] == 2.0
    assert session.report["runs"][1]["info"]["seed"] == 1234
    assert session.report["runs"][1]["info"]["layers"] == ["block12"]


def test_repeat_uses_the_last_values(session):
    first, again = (session.report["runs"][i]["info"] for i in (1, 2))
    assert again["params"] == first["params"]


def test_values_are_kept_after_a_failed_dream(session):
    assert session.shown(3)["values"]["steps-per-octave"] == 3
    assert session.report["runs"][4]["info"]["params"]["steps_per_octave"] == 3


def test_typo_flagged_before_ok_with_the_right_name(session):
    flagged = [
        line
        for line in session.dialog
        if line["event"] == "checked" and "blok10" in (line["values"]["layer"] or "")
    ]
    assert flagged, "no check after typing"
    last = flagged[-1]
    assert not last["ok_sensitive"]
    assert "block10" in last["layer_hint"] and "did you mean" in last["layer_hint"]


def test_dialog_groups_labels_and_mnemonics(session):
    shown = session.shown(0)
    texts = [label["text"] for label in shown["labels"] if label["mapped"]]
    for group in ("Dream", "Guide & style", "Advanced"):
        assert group in texts, texts
    assert "Style weight" not in texts and "Content weight" not in texts, "shown with no style"
    keys = Counter(label["key"] for label in shown["labels"] if label["mapped"] and label["key"])
    clashes = {
        k: [t["text"] for t in shown["labels"] if t["key"] == k] for k, n in keys.items() if n > 1
    }
    assert not clashes, f"one Alt key, several fields: {clashes}"


def test_layer_list_says_what_each_layer_draws(session):
    shown = session.shown(0)
    assert len(shown["layers"]) > 10
    assert all(hint.removeprefix("<small>").removesuffix("</small>") for hint in shown["hints"])
    assert sum("(default)" in hint for hint in shown["hints"]) == 1


def test_layer_names_are_short_and_no_preview_is_left(session):
    layers = session.report["runs"][4]["layers"]
    assert layers[0] == "Dream — block12", layers
    assert layers.count("Background") == 1
    assert not any("preview" in name for name in layers), layers


def test_the_dream_forms_on_the_canvas_and_cancel_takes_it_away(session):
    """While the long dream ran, the image had its preview layer (2 layers), never two
    of them at once (each new picture replaces the last); Cancel in the progress window
    stopped it and left the image with its one layer."""
    running = (session.work / "running.jsonl").read_text()
    assert "2 layers" in running
    assert "3 layers" not in running
    assert session.report["runs"][5]["status"] == "cancel"
    assert session.report["runs"][5]["layers"] == ["Background"]


def test_screenshot_taken(session):
    assert (session.work / "dialog.png").stat().st_size > 10_000


def test_help_opens_the_page_installed_with_the_plugin(session):
    """Not GIMP's manual ("not installed"): the plug-in's own page, offline. GIMP hands it
    to the web browser when its help browser is missing; the test's "browser" records it."""
    opened = (session.work / "opened-urls").read_text().split()
    assert opened, session.output
    assert opened[0].endswith("/plug-ins/dreamd_deepdream/help/en/index.html"), opened


def test_quick_draft_shows_on_the_canvas_and_goes_on_cancel(session):
    """The draft is a temporary layer (the image window counted 2 layers while the dialog
    was open); after Cancel the image has its one layer again."""
    seen = (session.work / "names.jsonl").read_text()
    assert "2 layers" in seen
    assert session.report["runs"][0]["layers"] == ["Background"]
