"""dreamd under load, faults and hostile input — the full versions of tests/reliability.

    python benchmarks/reliability.py [--scale full|ci] [--only load,soak,...] [--markdown]

Runs every scenario of ``harness/reliability`` (``tests/reliability`` runs them at CI
sizes: real ``dreamd`` processes, real ``dream-batch`` runs, efficientnet-lite0 on the CPU,
tiny images) at issue 6's sizes: 400 jobs from 16 clients at once; a 2,000-job soak; SIGKILL
in the middle of a 200-frame batch; a client killed mid-job; a SIGSTOPped daemon; a disk
filling up; at least 10,000 hypothesis-generated broken messages to a live daemon (and
20,000 to the decoder); frames over the size cap; a flooding connection; who can reach the
socket. It prints one table: what was tried, how many times, what held. Exit status 1 when
anything did not hold. The tmpfs and another-user checks need root (they are skipped
otherwise).
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import textwrap
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DREAMD_OFFLINE", "1")

from harness.reliability import access, faults, hostile, load  # noqa: E402
from harness.reliability.processes import short_dir  # noqa: E402
from harness.reliability.rows import Row  # noqa: E402
from harness.reliability.sizes import Sizes  # noqa: E402

Scenario = Callable[[Sizes, Path], list[Row]]

SCENARIOS: dict[str, Scenario] = {
    "load": load.load,
    "soak": load.soak,
    "kill_mid_batch": faults.kill_mid_batch,
    "kill_client": faults.kill_client,
    "sigstop": faults.sigstop,
    "disk_full": faults.disk_full,
    "fuzz_decoder": hostile.fuzz_decoder,
    "fuzz_live": hostile.fuzz_live,
    "oversized": hostile.oversized,
    "flood": hostile.flood,
    "access_ipc": access.access_ipc,
    "access_binds": access.access_binds,
    "access_curve": access.access_curve,
}


def run(names: list[str], sizes: Sizes) -> list[tuple[Row, float]]:
    rows: list[tuple[Row, float]] = []
    for name in names:
        work = short_dir(name)
        started = time.monotonic()
        try:
            got = SCENARIOS[name](sizes, work)
        except Exception as exc:  # a scenario that blows up is a row that did not hold
            got = [Row(name, 0, f"the scenario raised {type(exc).__name__}: {exc}", False)]
        finally:
            shutil.rmtree(work, ignore_errors=True)
        seconds = time.monotonic() - started
        for row in got:
            print(f"{row}  ({seconds:.0f} s)", file=sys.stderr, flush=True)
            rows.append((row, seconds / len(got)))
    return rows


def table(rows: list[tuple[Row, float]], markdown: bool) -> str:
    def held(row: Row) -> str:
        mark = "SKIPPED" if row.skipped else ("ok" if row.ok else "FAILED")
        return f"{mark}: {row.skipped or row.held}"

    if markdown:
        lines = ["| what was tried | times | what held | s |", "| --- | ---: | --- | ---: |"]
        for row, seconds in rows:
            what = row.what.replace("|", "/")
            lines.append(f"| {what} | {row.times:,} | {held(row).replace('|', '/')} | "
                         f"{seconds:.0f} |")  # fmt: skip
        return "\n".join(lines)
    width = 96
    out = [f"{'what was tried':<44} {'times':>7}  what held", "-" * width]
    for row, seconds in rows:
        what = textwrap.wrap(row.what, 44)
        text = textwrap.wrap(f"{held(row)} ({seconds:.0f} s)", width - 54)
        for i in range(max(len(what), len(text))):
            left = what[i] if i < len(what) else ""
            times = f"{row.times:,}" if i == 0 else ""
            right = text[i] if i < len(text) else ""
            out.append(f"{left:<44} {times:>7}  {right}")
        out.append("")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--scale", choices=("full", "ci"), default="full")
    p.add_argument("--only", help=f"comma-separated, from: {', '.join(SCENARIOS)}")
    p.add_argument("--markdown", action="store_true", help="print the table as Markdown")
    args = p.parse_args(argv)
    names = list(SCENARIOS)
    if args.only:
        names = [n.strip() for n in args.only.split(",") if n.strip()]
        unknown = [n for n in names if n not in SCENARIOS]
        if unknown:
            p.error(f"unknown scenario(s): {', '.join(unknown)}")
    sizes = Sizes.full() if args.scale == "full" else Sizes.ci()
    started = time.monotonic()
    rows = run(names, sizes)
    print(
        f"dreamd reliability, scale {sizes.label}: efficientnet-lite0 on the CPU, "
        f"{os.cpu_count()} cores, {time.monotonic() - started:.0f} s in all\n"
    )
    print(table(rows, args.markdown))
    return 0 if all(row.ok for row, _ in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
