"""The tally and the exit code."""

from __future__ import annotations

import io

from dreamd.batch._progress import Display, QuietDisplay
from dreamd.batch._report import EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK, Report


def _report(total: int, quiet: bool = False) -> tuple[Report, io.StringIO, io.StringIO]:
    out, err = io.StringIO(), io.StringIO()
    display = (QuietDisplay if quiet else Display)(out, err)
    display.start(total)
    return Report(display, total), out, err


def test_all_done_or_skipped_is_success():
    r, out, _ = _report(2)
    r.done("a.png", "o/a.png", 1.0)
    r.skipped("b.png", "o/b.png")
    assert r.exit_code == EXIT_OK and r.left == 0
    assert "[1/2] a.png → o/a.png" in out.getvalue()


def test_a_failure_gives_1_and_names_the_file_and_reason():
    r, _, err = _report(2)
    r.done("a.png", "o/a.png", 1.0)
    r.failed("b.png", "not an image")
    assert r.exit_code == EXIT_FAILED
    assert "b.png: not an image" in err.getvalue()
    s = r.summary()
    assert (s["done"], s["failed"], s["exit_code"]) == (1, 1, 1)
    assert s["images"][1] == {"source": "b.png", "status": "failed", "reason": "not an image"}


def test_left_undone_is_a_failure_and_interrupt_wins():
    r, _, _ = _report(3)
    r.done("a.png", "o/a.png", 1.0)
    assert r.left == 2 and r.exit_code == EXIT_FAILED
    r.interrupted = True
    assert r.exit_code == EXIT_INTERRUPTED


def test_notes_are_said_once_and_quiet_says_only_problems():
    r, out, _ = _report(3)
    for name in ("a", "b", "c"):
        r.note("alpha dropped", name)
    assert out.getvalue().count("alpha dropped") == 1
    assert r.summary()["notes"] == {"alpha dropped": 3}
    q, qout, qerr = _report(1, quiet=True)
    q.done("a.png", "o/a.png", 1.0)
    q.note("something")
    q.failed("b.png", "bad")
    assert qout.getvalue() == "" and "b.png: bad" in qerr.getvalue()
