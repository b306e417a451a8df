"""Pictures of a dream as it forms, for a front end to show (GIMP's live preview).

One at the end of every octave, and within the full-size octave at most one every
``every`` seconds (each after a whole step): the whole picture as it stands, scaled to fit
``side`` pixels, as float32 (h, w, 3) in [0, 1].
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np
import torch
import torch.nn.functional as F

PreviewFn = Callable[[np.ndarray], None]


class Previewer:
    def __init__(
        self,
        on_preview: PreviewFn,
        size: tuple[int, int],
        side: int,
        every: float,
        finish: Callable[[torch.Tensor], torch.Tensor] | None = None,
    ) -> None:
        """``size``: the picture's (height, width); ``finish``: what turns the dream's
        working picture into the one shown (colours put back), applied at the small size."""
        h, w = size
        f = min(1.0, side / max(h, w))
        self.shape = (max(1, round(h * f)), max(1, round(w * f)))
        self.on_preview, self.every, self.finish = on_preview, every, finish
        self.last = time.monotonic()

    def octave_done(self, img: torch.Tensor) -> None:
        self._send(img)

    def stepped(self, img: torch.Tensor) -> None:
        """After a step of the full-size octave."""
        if time.monotonic() - self.last >= self.every:
            self._send(img)

    def _send(self, img: torch.Tensor) -> None:
        with torch.no_grad():
            small = F.interpolate(
                img.float(), size=self.shape, mode="bilinear", align_corners=False, antialias=True
            )
            if self.finish is not None:
                small = self.finish(small)
            picture = small.clamp(0.0, 1.0)[0].permute(1, 2, 0).cpu().numpy()
        self.on_preview(np.ascontiguousarray(picture, dtype=np.float32))
        self.last = time.monotonic()
