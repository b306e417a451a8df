"""Start-up cost as whole processes: a one-shot ``dream-batch`` and ``dreamd serve`` until ready.

    python benchmarks/startup.py [--tree DIR] [--repeat 5] [--models efficientnet-lite0,...]

For each model, a fresh process runs ``dream-batch`` embedded on a 64×64 image, one octave of
one step (the dream itself is a few milliseconds: what is left is start-up), and a fresh
``dreamd serve`` is timed from its start to its ready line. ``python -c "import torch"`` is
the floor dreamd's figures are measured against ("beyond import torch"); a second floor
leaves out that process's teardown at exit (0.8-1.9 s with torch loaded), which dreamd's
commands skip and the daemon's ready time never includes.

Each figure is the median of ``--repeat`` runs, as wall seconds and as CPU seconds (user +
system of the process, from ``wait4``, or ``/proc`` at the ready line): on a machine shared
with other jobs the wall time swings with the load, the CPU time less. ``--tree DIR``
(repeatable) measures checkouts of dreamd (``git archive COMMIT | tar -x -C /tmp/before``)
by putting each first on ``PYTHONPATH``; the trees take turns run by run, so before and
after see the same load.

googlenet, bvlc-googlenet and places205-googlenet get random weights written to a
temporary folder (same file formats and sizes as the real ones; loading costs the same).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))  # harness/, when run as python benchmarks/startup.py

from harness.weights import random_weights  # noqa: E402

MODELS = ("efficientnet-lite0", "googlenet", "bvlc-googlenet", "places205-googlenet")


def run(
    cmd: list[str], env: dict[str, str], cwd: Path, ready: str | None = None
) -> tuple[float, float]:
    """(wall, cpu) seconds of ``cmd``; with ``ready``, until that text shows on stderr (then
    the process is stopped with SIGTERM)."""
    start = time.perf_counter()
    proc = subprocess.Popen(
        cmd, env=env, cwd=cwd, stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE if ready else subprocess.DEVNULL, text=True,
    )  # fmt: skip
    wall = cpu = None
    lines: list[str] = []
    if ready is not None:
        assert proc.stderr is not None
        for line in proc.stderr:
            lines.append(line)
            if ready in line:
                wall = time.perf_counter() - start
                cpu = _cpu_seconds(proc.pid)
                proc.terminate()
                break
        proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if wall is not None:
        return wall, cpu
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed ({proc.returncode}):\n{''.join(lines)}")
    return time.perf_counter() - start, usage.ru_utime + usage.ru_stime


def _cpu_seconds(pid: int) -> float:
    """User + system seconds of a running process so far (Linux's /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--tree",
        action="append",
        type=Path,
        default=[],
        help="a dreamd checkout to measure (repeatable: measured in turn, run by run); "
        "default: the dreamd this Python imports",
    )
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--models", default=",".join(MODELS))
    ap.add_argument("--no-daemon", action="store_true", help="only dream-batch")
    args = ap.parse_args()
    py = sys.executable
    trees: list[Path | None] = [t.resolve() for t in args.tree] or [None]
    with tempfile.TemporaryDirectory(prefix="dreamd-startup-") as tmp_name:
        tmp = Path(tmp_name)
        env = dict(os.environ)
        env.update(
            DREAMD_OFFLINE="1", XDG_RUNTIME_DIR=str(tmp), TORCH_HOME=str(tmp / "torch"),
            PYTHONUNBUFFERED="1",
        )  # fmt: skip
        env.pop("DREAMD_ENDPOINT", None)
        envs = [env if t is None else {**env, "PYTHONPATH": str(t)} for t in trees]
        weights = random_weights(tmp)
        import numpy as np
        from PIL import Image

        rng = np.random.default_rng(0)
        Image.fromarray((rng.random((64, 64, 3)) * 255).astype(np.uint8)).save(tmp / "in.png")
        for e in envs:
            where = subprocess.run(
                [py, "-c", "import dreamd; print(dreamd.__file__)"],
                env=e, cwd=tmp, capture_output=True, text=True, check=True,
            ).stdout.strip()  # fmt: skip
            print(f"dreamd from {where}")
        commands: list[tuple[str, list[str], str | None]] = [
            ("import torch", [py, "-c", "import torch"], None),
            # the same without the interpreter's teardown, which dreamd's commands skip
            ("import torch, no teardown", [py, "-c", "import torch, os; os._exit(0)"], None),
        ]
        for model in filter(None, args.models.split(",")):
            extra = ["--weights", str(weights[model])] if model in weights else []
            batch = [
                py, "-m", "dreamd.batch", "-s", "in.png", "-d", "out", "--embedded",
                "--model", model, *extra, "--octave-count", "1", "--steps-per-octave", "1",
                "--overwrite", "-q",
            ]  # fmt: skip
            commands.append((f"dream-batch {model}", batch, None))
            if not args.no_daemon:
                serve = [
                    py, "-m", "dreamd.daemon", "serve", "--device", "cpu", "--model", model,
                    *extra, "--bind", f"ipc://{tmp}/bench.sock",
                ]  # fmt: skip
                commands.append((f"dreamd ready {model}", serve, " ready: "))
        # Run by run, every command of every tree in turn: a change in the machine's load
        # then touches every figure alike.
        got: dict[tuple[str, int], list[tuple[float, float]]] = {}
        loads = []
        for _ in range(args.repeat):
            for label, cmd, ready in commands:
                for i, e in enumerate(envs):
                    got.setdefault((label, i), []).append(run(cmd, e, tmp, ready))
            loads.append(os.getloadavg()[0])
    print(
        f"median of {args.repeat} runs, wall and CPU seconds; load average "
        f"{min(loads):.1f}-{max(loads):.1f} (a machine with {os.cpu_count()} cores)"
    )
    head = "".join(f"{'tree ' + str(i + 1):>16}" for i in range(len(envs)))
    print(f"{'':<34}{head}    (wall / cpu)")
    floor = [_median(got[("import torch", i)]) for i in range(len(envs))]
    for label, _, _ in commands:
        cells = []
        for i in range(len(envs)):
            wall, cpu = _median(got[(label, i)])
            cells.append(f"{wall:>7.2f} /{cpu:>6.2f}")
        print(f"{label:<34}{''.join(cells)}")
    bare = [_median(got[("import torch, no teardown", i)]) for i in range(len(envs))]
    for title, base in (("import torch", floor), ("import torch, no teardown", bare)):
        print(f"beyond {title}:")
        for label, _, _ in commands[2:]:
            cells = []
            for i in range(len(envs)):
                wall, cpu = _median(got[(label, i)])
                cells.append(f"{wall - base[i][0]:>7.2f} /{cpu - base[i][1]:>6.2f}")
            print(f"{label:<34}{''.join(cells)}")
    for i, t in enumerate(trees):
        print(f"tree {i + 1}: {t or 'installed dreamd'}")


def _median(runs: list[tuple[float, float]]) -> tuple[float, float]:
    return statistics.median(w for w, _ in runs), statistics.median(c for _, c in runs)


if __name__ == "__main__":
    main()
