"""Live previews over a real socket (protocol 1.1): a dream that asks gets pictures of
itself as it forms in its progress messages; one that does not ask gets none."""

from __future__ import annotations

import numpy as np

from dreamd import protocol

from .conftest import Daemon


def _picture(w: int = 320, h: int = 240) -> protocol.Image:
    yy, xx = np.mgrid[0:h, 0:w]
    rgb = np.stack([xx * 255 // w, yy * 255 // h, (xx + yy) % 256], -1).astype(np.uint8)
    return protocol.Image.raw(rgb.tobytes(), w, h, 3, "u8")


def test_previews_when_asked(daemon: Daemon) -> None:
    seen: list[protocol.Progress] = []
    params = {"octave_count": 3, "steps_per_octave": 3, "seed": 1}
    with protocol.Client(daemon.endpoint) as client:
        result = client.dream(
            _picture(), params, on_progress=seen.append, preview=protocol.Preview(64, 0.5)
        )
        plain: list[protocol.Progress] = []
        client.dream(_picture(), params, on_progress=plain.append)
    pictures = [p.preview for p in seen if p.preview is not None]
    # At least the end of each octave but the last (the result itself follows at once).
    assert len(pictures) >= 2, [p.octave for p in seen]
    for pic in pictures:
        assert (pic.width, pic.height, pic.channels, pic.dtype) == (64, 48, 3, "u8")
        assert len(pic.data) == 64 * 48 * 3
    # The last picture looks like the result, scaled down.
    last = np.frombuffer(bytes(pictures[-1].data), np.uint8).reshape(48, 64, 3).astype(float)
    full = np.frombuffer(bytes(result.image.data), np.uint8).reshape(240, 320, 3).astype(float)
    small = full.reshape(48, 5, 64, 5, 3).mean(axis=(1, 3))
    assert np.corrcoef(last.ravel(), small.ravel())[0, 1] > 0.8
    assert all(p.preview is None for p in plain)
