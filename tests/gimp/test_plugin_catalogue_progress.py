"""What the dialog says about layers and what the progress bar says while dreaming, on the
host (the plug-in's GIMP-free modules), against a real daemon's catalogue where it matters."""

from __future__ import annotations

import pytest

from dreamd.gimp.dreamd_deepdream import dreamd_gimp_catalogue as catalogue
from dreamd.gimp.dreamd_deepdream import dreamd_gimp_progress as progress

STATUS = {
    "model": "googlenet",
    "default_layer": "inception_4c/output",
    "layers": {
        "googlenet": [
            {"name": "conv2/3x3", "aliases": ["conv2"], "channels": 192, "stride": 4},
            {"name": "inception_3b/output", "aliases": ["inception3b"], "channels": 480,
             "stride": 8},
            {"name": "inception_4c/output", "aliases": ["inception4c"], "channels": 512,
             "stride": 16},
            {"name": "inception_5b/output", "aliases": [], "channels": 1024, "stride": 32,
             "description": "whole dogs and pagodas"},
            "plain_name",
        ]
    },
}  # fmt: skip


def test_catalogue_from_status():
    cat = catalogue.Catalogue.from_status(STATUS)
    assert cat.default_model == "googlenet" and cat.known
    names = [layer.name for layer in cat.layers("")]
    assert names[:3] == ["conv2/3x3", "inception_3b/output", "inception_4c/output"]
    assert names[-1] == "plain_name"
    assert cat.default_layer("") == "inception_4c/output"
    empty = catalogue.Catalogue.from_status({"model": "m"})
    assert empty.models == {"m": []} and not empty.known


def test_hints_say_what_a_layer_draws_and_mark_the_default():
    cat = catalogue.Catalogue.from_status(STATUS)
    hints = {layer.name: cat.hint("", layer) for layer in cat.layers("googlenet")}
    assert "texture" in hints["inception_3b/output"] or "swirl" in hints["inception_3b/output"]
    assert hints["inception_4c/output"].endswith("(default)")
    assert "eyes" in hints["inception_4c/output"]
    # The daemon's own description wins over the plug-in's guess from the stride.
    assert hints["inception_5b/output"] == "whole dogs and pagodas"
    assert hints["plain_name"] == ""  # nothing known, nothing invented


def test_typos_are_flagged_with_the_closest_names():
    cat = catalogue.Catalogue.from_status(STATUS)
    assert cat.check("", []) is None
    assert cat.check("", ["inception_4c/output", "INCEPTION4C:3,17"]) is None
    problem = cat.check("", ["incepton_4c/output"])
    assert problem and "incepton_4c/output" in problem and "inception_4c/output" in problem
    assert "channels 0 to 511" in (cat.check("", ["inception_4c/output:600"]) or "")
    assert "numbers" in (cat.check("", ["inception_4c/output:a,b"]) or "")
    # No catalogue (daemon not running): nothing to check against, nothing flagged.
    assert catalogue.Catalogue().check("", ["anything"]) is None


def test_catalogue_of_a_real_daemon(dreamd_endpoint):
    """The daemon the GIMP tests use (efficientnet-lite0): every layer gets a line, the
    default is marked, and a typo of a real name is caught with that name suggested."""
    from dreamd import protocol

    with protocol.Client(dreamd_endpoint) as client:
        cat = catalogue.Catalogue.from_status(client.status(layers=True))
    layers = cat.layers("")
    assert len(layers) > 10
    assert all(cat.hint("", layer) for layer in layers)
    marked = [layer.name for layer in layers if cat.hint("", layer).endswith("(default)")]
    assert marked == [cat.default_layer("")]
    typo = layers[5].name.replace("block", "blok")
    assert layers[5].name in (cat.check("", [typo]) or "")


# ---------------------------------------------------------------------------------------------
# progress


def test_clock():
    assert progress.clock(0) == "0:00"
    assert progress.clock(75.4) == "1:15"
    assert progress.clock(3725) == "1:02:05"


def _run(tracker, octaves, steps, seconds_per_step, iterations=1):
    """Feed a dream whose steps cost as the model says (plus a fixed cost per step);
    return (time, fraction, seconds left) after each message."""
    t, out, done = 0.0, [], 0
    total = octaves * steps * iterations
    for _ in range(iterations):
        for octave in range(octaves):
            for _step in range(steps):
                t += seconds_per_step(octave)
                done += 1
                tracker.update(min(done, total - 1), total, octave, octaves, t)
                out.append((t, tracker.fraction(t), tracker.seconds_left(t)))
    return t, out


def test_progress_moves_by_work_not_by_step_count():
    """A 4-octave dream spends most of its time in the full-size octave: the bar must not
    race to 75 % through the small octaves and then sit still."""
    pixels, scale = 6000 * 4000, 1.3

    def cost(octave):  # proportional to the octave's pixels, like the real thing
        return (pixels / scale ** (2 * (3 - octave)) + progress.STEP_OVERHEAD_PIXELS) / 1e6

    tracker = progress.DreamProgress(pixels, scale, 10, started=0.0)
    end, out = _run(tracker, 4, 10, cost)
    at_last_octave = out[29]
    assert at_last_octave[1] < 0.6, "bar reached the big octave too far along"
    assert abs(at_last_octave[0] / end - at_last_octave[1] / (1 - progress.FINISHING)) < 0.05
    fractions = [f for _t, f, _left in out]
    assert fractions == sorted(fractions)
    assert fractions[-1] <= 1 - progress.FINISHING, "the bar keeps room for the result"
    # The estimate of what is left, once measured, is close to the truth.
    for t, _f, left in out[12:]:
        assert left is not None and abs(left - (end - t)) < 0.15 * end


def test_progress_between_messages_keeps_moving_but_not_past_the_step():
    tracker = progress.DreamProgress(1000 * 1000, 1.4, 10, started=0.0)
    tracker.update(1, 40, 0, 4, 1.0)
    tracker.update(2, 40, 0, 4, 2.0)
    a, b, c = tracker.fraction(2.0), tracker.fraction(2.5), tracker.fraction(100.0)
    assert a < b <= c
    tracker.update(3, 40, 0, 4, 100.0)
    assert tracker.fraction(100.0) >= c


def test_progress_text_says_where_how_long_and_how_much_longer():
    tracker = progress.DreamProgress(500 * 500, 1.4, 10, started=0.0)
    assert tracker.text(3.0) == "DeepDream: starting · 0:03"
    tracker.update(12, 80, 1, 4, 5.0)
    tracker.update(13, 80, 1, 4, 6.0)
    text = tracker.text(7.0)
    assert text.startswith("DeepDream: pass 1/2, octave 2/4, step 3/10 · 0:07, about ")
    assert text.endswith(" left")


@pytest.mark.parametrize("total", [1, 2, 3])
def test_progress_of_tiny_dreams(total):
    tracker = progress.DreamProgress(64 * 64, 1.3, 1, started=0.0)
    for done in range(1, total + 1):
        tracker.update(min(done, total - 1), total, done - 1, total, float(done))
    assert 0.0 <= tracker.fraction(10.0) <= 1 - progress.FINISHING
