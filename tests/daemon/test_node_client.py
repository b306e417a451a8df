"""A client in a second language, written from ``protocol/PROTOCOL.md`` alone.

``tests/node/dreamd_client.mjs`` (Node.js, zeromq 6, @msgpack/msgpack with its default
options) talks to the real daemon: hello, status, raw u8/u16 and encoded PNG dreams, the
checks a daemon makes before queueing, field paths, seeds that must survive JavaScript
numbers, cancel. Its u8 result must equal the Python client's for the same seed.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from .conftest import QUICK, Daemon, raw_image

NODE_DIR = Path(__file__).resolve().parents[1] / "node"


def _node() -> str:
    node = shutil.which("node")
    ready = node is not None and (NODE_DIR / "node_modules" / "zeromq").is_dir()
    if not ready:
        if os.environ.get("CI"):
            pytest.fail("node or tests/node/node_modules missing: .ci/run runs `npm ci` there")
        pytest.skip("needs node and `npm ci --prefix tests/node`")
    assert node is not None
    return node


def test_node_client_written_from_the_document(daemon: Daemon, tmp_path: Path) -> None:
    node = _node()
    done = subprocess.run(
        [node, str(NODE_DIR / "dreamd_client.mjs"), "--endpoint", daemon.endpoint,
         "--out", str(tmp_path)],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    checks = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    failed = [c for c in checks if not c["ok"]]
    assert checks and not failed, json.dumps(failed, indent=1) + done.stderr
    assert done.returncode == 0, done.stderr
    assert len(checks) >= 18

    # The same dream from the Python client: pixel-identical.
    ys, xs = np.mgrid[0:48, 0:64]
    planes = [0.5 + 0.45 * np.sin(xs / (4 + c) + ys / (6 + 2 * c)) for c in range(3)]
    pixels = np.rint(np.stack(planes, axis=2) * 255).astype(np.uint8)
    with daemon.client() as c:
        mine = c.dream(raw_image(pixels), {**QUICK, "seed": 7})
    theirs = (tmp_path / "u8_seed7.raw").read_bytes()
    assert bytes(mine.image.data) == theirs
