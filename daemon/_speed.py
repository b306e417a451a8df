"""How fast this daemon dreams, for ``estimate`` (protocol 1.1): a cost per step and a cost
per pixel of each step, fitted to the dreams it finished and, before its first one, to a
short calibration the first ``estimate`` asks its first worker to run.

Runs on the server's thread only (workers report through the outbox).
"""

from __future__ import annotations

from collections import deque

from dreamd import engine

#: Finished dreams remembered for the fit: recent ones, so a busier machine shows.
KEEP = 24
#: Pictures the calibration dreams (square sides) and steps for each: small enough to take
#: about a second on a CPU, two sizes so that the per-step cost can be told apart.
CALIBRATION_SIDES = (128, 320)
CALIBRATION_STEPS = 2

Sample = tuple[int, int, float]  # (steps, pixel-steps, seconds)


class Speed:
    def __init__(self) -> None:
        self.calibration: list[Sample] = []
        self.dreams: deque[Sample] = deque(maxlen=KEEP)
        self.calibrating = False

    @property
    def measured(self) -> bool:
        return bool(self.calibration or self.dreams)

    def add(self, steps: int, pixel_steps: int, seconds: float) -> None:
        self.dreams.append((steps, pixel_steps, seconds))

    def calibrated(self, samples: list[Sample]) -> None:
        self.calibration = list(samples)
        self.calibrating = False

    def fit(self) -> tuple[float, float] | None:
        """(seconds per step, seconds per pixel-step), or None before any measure. Real
        dreams, once there are any, outweigh the calibration's tiny pictures."""
        samples = list(self.dreams) or self.calibration
        if len(self.dreams) == 1 and self.calibration:
            samples = [*self.calibration, *self.dreams]
        return engine.fit_speed(samples)

    def seconds(self, plan: engine.Plan) -> float | None:
        speed = self.fit()
        return None if speed is None else plan.seconds(*speed)
