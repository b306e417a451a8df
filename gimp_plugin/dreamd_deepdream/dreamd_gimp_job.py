"""Running one dream against dreamd from GIMP: reaching (or starting) the daemon, then the
job in a thread while GIMP's thread keeps the progress bar and its text moving.

GIMP-only (imported by ``dreamd_deepdream.py``).
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable
from typing import Any

import dreamd_gimp_daemon as daemon
import dreamd_gimp_progress as progress
import gi

gi.require_version("Gimp", "3.0")
from gi.repository import Gimp  # noqa: E402

#: How often the bar and its text move between the daemon's messages.
TICK = 0.25


class GimpBar:
    """GIMP's own progress (the image window's status bar, or a script's caller). A
    window of the plug-in's own offers the same three calls (dreamd_gimp_window)."""

    def update(self, fraction: float) -> None:
        Gimp.progress_update(fraction)

    def pulse(self) -> None:
        Gimp.progress_pulse()

    def text(self, text: str) -> None:
        Gimp.progress_set_text(text)


def hello_or_start(
    client: Any, protocol: Any, settings: dict[str, Any], bar: Any = None
) -> dict[str, Any]:
    """Say hello; when the daemon is unreachable and the installer recorded how to start it,
    start it and wait for it (up to ``start_timeout`` seconds, 120 by default)."""

    def hello() -> dict[str, Any]:
        # No socket file at an ipc:// endpoint: nothing can answer, say so at once.
        path = protocol.ipc_path(client.endpoint)
        if path is not None and not path.exists():
            raise protocol.Unreachable(f"there is no socket {path}")
        return dict(client.hello())

    try:
        return hello()
    except protocol.Unreachable:
        if not settings.get("start_command"):
            raise
    bar = bar or GimpBar()
    bar.text("DeepDream: starting dreamd (it loads its model first)…")
    daemon.start_daemon(settings)
    deadline = time.monotonic() + float(settings.get("start_timeout", 120))
    while True:
        try:
            return hello()
        except protocol.Unreachable:
            if time.monotonic() > deadline:
                raise
            bar.pulse()
            time.sleep(0.5)


def run(
    client: Any,
    picture: Any,
    params: dict[str, Any],
    *,
    model: str | None,
    guide: Any = None,
    style: Any = None,
    started: float,
    should_stop: Callable[[], bool] = lambda: False,
    pump: Callable[[], None] = lambda: None,
    preview: Any = None,
    on_preview: Callable[[Any], None] | None = None,
    bar: Any = None,
) -> Any:
    """The dream's result. The request runs in a thread; this (GIMP's) thread moves the
    bar every :data:`TICK` seconds from a :class:`progress.DreamProgress`, calls ``pump``
    (a window's events), hands the newest of the daemon's pictures (with ``preview``, a
    ``protocol.Preview``) to ``on_preview``, and cancels the job when ``should_stop()``
    turns true. ``bar``: where the progress goes (GIMP's own by default)."""
    bar = bar or GimpBar()
    events: queue.Queue[Any] = queue.Queue()
    cancel = threading.Event()
    outcome: dict[str, Any] = {}

    def work() -> None:
        try:
            outcome["result"] = client.dream(
                picture,
                params,
                guide=guide,
                style=style,
                model=model or None,
                on_progress=events.put,
                cancel=cancel,
                preview=preview,
            )
        except BaseException as exc:
            outcome["error"] = exc
        finally:
            events.put(None)

    tracker = progress.DreamProgress(
        picture.width * picture.height,
        float(params.get("octave_scale", 1.3)),
        int(params.get("steps_per_octave", 10)),
        started,
    )
    thread = threading.Thread(target=work, name="dreamd-job", daemon=True)
    thread.start()
    bar.text("DeepDream: waiting for dreamd…")
    shown_text, shown_fraction, finished = "", -1.0, False
    while not finished:
        picture = None
        try:
            event = events.get(timeout=TICK)
            while True:  # take every message that is already there, keep the newest
                if event is None:
                    finished = True
                    break
                tracker.update(event.done, event.total, event.octave, event.octaves, now())
                picture = getattr(event, "preview", None) or picture
                event = events.get_nowait()
        except queue.Empty:
            pass
        if picture is not None and on_preview is not None and not cancel.is_set():
            on_preview(picture)
        pump()
        if should_stop() and not cancel.is_set():
            cancel.set()
            bar.text("DeepDream: cancelling…")
            continue
        if finished or cancel.is_set():
            continue
        t = now()
        fraction = tracker.fraction(t)
        if fraction > shown_fraction:
            bar.update(fraction)
            shown_fraction = fraction
        elif shown_fraction <= 0.0:
            bar.pulse()  # queued or starting: show that it is alive
        text = tracker.text(t)
        if text != shown_text:
            bar.text(text)
            shown_text = text
    thread.join()
    if "error" in outcome:
        raise outcome["error"]
    bar.update(1.0 - progress.FINISHING)
    bar.text("DeepDream: adding the layer…")
    return outcome["result"]


def now() -> float:
    return time.monotonic()
