"""The codec stands alone: importing it loads no torch, no sockets, no other dreamd part."""

from __future__ import annotations

import subprocess
import sys


def test_importing_the_codec_loads_only_numpy_and_pillow():
    code = (
        "import sys, dreamd.codec; "
        "print(' '.join(sorted({m.split('.')[0] for m in sys.modules} | "
        "{m for m in sys.modules if m.startswith('dreamd.')})))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.split()
    for heavy in ("torch", "zmq", "msgpack", "tifffile"):
        assert heavy not in out, heavy
    assert [m for m in out if m.startswith("dreamd.") and not m.startswith("dreamd.codec")] == []
    assert "numpy" in out and "PIL" in out
