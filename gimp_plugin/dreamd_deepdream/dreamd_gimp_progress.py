"""GIMP's progress bar and text during a dream, without GIMP: where the dream is (iteration,
octave, step), how long it has run and about how long it still needs.

Steps are not equal: a step at the full-size octave costs ``scale²`` times one at the next
smaller octave, so the bar moves by each step's share of the pixels, not by step count (the
old bar raced through the small octaves and then sat still for minutes). Between the
daemon's messages the bar keeps moving at the measured speed, but never past the step that
is running, and a little room is kept for receiving the result and adding the layer, so it
never sits at 99 %.

Copied next to ``dreamd_deepdream.py`` into GIMP's plug-in folder and imported there as a
top-level module (``import dreamd_gimp_progress``); the tests import it from the source tree
as ``dreamd.gimp.dreamd_deepdream.dreamd_gimp_progress``. Standard library only, no ``gi``,
no sibling module.
"""

from __future__ import annotations

from dataclasses import dataclass, field

#: The share of the bar kept for receiving the result and adding the layer.
FINISHING = 0.03
#: Per-step cost that does not grow with the picture (launching the network, the jitter
#: roll, normalising the gradient), in pixels' worth: it makes small octaves count a little.
STEP_OVERHEAD_PIXELS = 40_000


def clock(seconds: float) -> str:
    """``75`` → ``"1:15"``, ``3725`` → ``"1:02:05"``."""
    s = max(0, round(seconds))
    h, rest = divmod(s, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


@dataclass
class DreamProgress:
    """Follows one dream's ``progress`` messages.

    ``pixels`` is the size of the picture sent (width × height), ``octave_scale`` and
    ``steps_per_octave`` the dream's parameters; the number of octaves and iterations is read
    from the messages (the daemon may run fewer octaves than asked).
    """

    pixels: int
    octave_scale: float
    steps_per_octave: int
    started: float
    _octaves: int = 0
    _iterations: int = 1
    _last: tuple[float, float, float] | None = None  # (time, work done, next step's work)
    _first: tuple[float, float] | None = None  # (time, work done) of the first message
    _where: tuple[int, int, int, int, int] = (0, 0, 0, 0, 0)  # iteration, of, octave, of, step
    _rate: float | None = field(default=None)  # work per second

    # -- the dream's shape ------------------------------------------------------------------
    def _step_work(self, octave: int) -> float:
        """Work of one step at ``octave`` (0 is the smallest), in pixels."""
        shrink = self.octave_scale ** (2 * (self._octaves - 1 - octave))
        return self.pixels / shrink + STEP_OVERHEAD_PIXELS

    def _iteration_work(self) -> float:
        return sum(self._step_work(k) for k in range(self._octaves)) * self.steps_per_octave

    def total_work(self) -> float:
        return self._iteration_work() * self._iterations

    # -- messages ---------------------------------------------------------------------------
    def update(self, done: int, total: int, octave: int, octaves: int, now: float) -> None:
        """A ``progress`` message: ``done`` of ``total`` steps, ``octave`` (0 smallest) of
        ``octaves``."""
        steps = max(1, self.steps_per_octave)
        self._octaves = max(1, int(octaves))
        self._iterations = max(1, int(total) // (self._octaves * steps))
        per_iteration = self._octaves * steps
        done = max(0, int(done))
        iteration, in_iteration = divmod(max(0, done - 1), per_iteration)
        iteration = min(iteration, self._iterations - 1)
        octave = min(max(0, int(octave)), self._octaves - 1)
        step = in_iteration - octave * steps + 1
        work = iteration * self._iteration_work()
        work += sum(self._step_work(k) for k in range(octave)) * steps
        work += self._step_work(octave) * min(max(step, 0), steps)
        if step >= steps:
            upcoming = self._step_work(0 if octave == self._octaves - 1 else octave + 1)
        else:
            upcoming = self._step_work(octave)
        if self._first is None:
            self._first = (now, work)
        elif now > self._first[0] and work > self._first[1]:
            self._rate = (work - self._first[1]) / (now - self._first[0])
        self._last = (now, work, upcoming)
        self._where = (iteration + 1, self._iterations, octave + 1, self._octaves, step)

    def work_at(self, now: float) -> float:
        """Work done by ``now``: the last message's, plus what the measured speed says since,
        never past the end of the step that is running."""
        if self._last is None:
            return 0.0
        at, work, upcoming = self._last
        if self._rate is None:
            return work
        return work + min(upcoming, self._rate * max(0.0, now - at))

    def fraction(self, now: float) -> float:
        """For GIMP's bar: 0 … 1 − :data:`FINISHING` while dreaming."""
        total = self.total_work()
        if not total:
            return 0.0
        return (1.0 - FINISHING) * min(1.0, self.work_at(now) / total)

    def seconds_left(self, now: float) -> float | None:
        if not self._rate:
            return None
        return max(0.0, (self.total_work() - self.work_at(now)) / self._rate)

    def text(self, now: float) -> str:
        """``"DeepDream: octave 2/4, step 3/10 · 0:12, about 0:30 left"``."""
        elapsed = clock(now - self.started)
        if self._last is None:
            return f"DeepDream: starting · {elapsed}"
        iteration, iterations, octave, octaves, step = self._where
        where = f"octave {octave}/{octaves}, step {step}/{self.steps_per_octave}"
        if iterations > 1:
            where = f"pass {iteration}/{iterations}, {where}"
        left = self.seconds_left(now)
        eta = f", about {clock(left)} left" if left is not None else ""
        return f"DeepDream: {where} · {elapsed}{eta}"
