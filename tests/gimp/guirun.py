"""Run GIMP's GUI under Xvfb with batch_dialog.py's runs and gui_driver.py's steps, for the
dialog tests and the screenshots in docs/."""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gimprunner import GimpRunner

HERE = Path(__file__).resolve().parent
DIALOG_REPORT_ENV = "DREAMD_GIMP_DIALOG_REPORT"


@dataclass
class GuiRun:
    work: Path
    report: dict[str, Any]  # batch_dialog.py's: {"runs": [...]} or {"exception": ...}
    dialog: list[dict[str, Any]]  # the dialog's own report lines (dreamd_gimp_dialog.report)
    output: str  # the driver's log, GIMP's output

    def shown(self, n: int = 0) -> dict[str, Any]:
        """What the ``n``-th dialog showed when it opened."""
        return [line for line in self.dialog if line["event"] == "shown"][n]


def _record_browser(profile: Path, log: Path) -> None:
    """Make "the web browser" (GIO's handler for HTML files, which GIMP's help falls back
    to when its own help browser is not installed) a script that writes the URL to ``log``."""
    script = log.with_suffix(".sh")
    script.write_text(f'#!/bin/sh\necho "$1" >> {log}\n')
    script.chmod(0o755)
    apps = profile / ".local" / "share" / "applications"
    apps.mkdir(parents=True, exist_ok=True)
    (apps / "dreamd-test-browser.desktop").write_text(
        "[Desktop Entry]\nType=Application\nName=Test browser\n"
        f"Exec={script} %u\nMimeType=text/html;x-scheme-handler/file;\n"
    )
    config = profile / ".config"
    config.mkdir(exist_ok=True)
    (config / "mimeapps.list").write_text(
        "[Default Applications]\ntext/html=dreamd-test-browser.desktop\n"
    )


def gimp_gui_available(gimp: GimpRunner) -> bool:
    probe = gimp.run(["sh", "-c", "command -v Xvfb && command -v xdotool && command -v gimp-3.0"])
    return probe.returncode == 0


def run_gui(
    gimp: GimpRunner,
    share: Path,
    profile: Path,
    endpoint: str,
    name: str,
    runs: list[dict[str, Any]],
    steps: list[dict[str, Any]],
    *,
    hold: bool = False,
    timeout: float = 300,
    screen: str = "1280x900",
) -> GuiRun:
    """``runs`` for batch_dialog.py, ``steps`` for gui_driver.py (paths in them may use
    ``{work}``). With ``hold`` GIMP waits after the runs until ``{work}/release`` exists."""
    work = share / name
    if work.exists():
        shutil.rmtree(work)
    work.mkdir()

    def fill(value: Any) -> Any:
        return json.loads(json.dumps(value).replace("{work}", str(work)))

    batch = {"runs": fill(runs), "report": str(work / "report.json")}
    if hold:
        batch.update(hold=str(work / "hold"), release=str(work / "release"))
    (work / "script.py").write_text(
        f"JOB = {json.dumps(batch)!r}\nimport json as _j\nJOB = _j.loads(JOB)\n"
        + (HERE / "batch_dialog.py").read_text()
    )
    shutil.copy(HERE / "gui_driver.py", work / "gui_driver.py")
    driver = {
        "script": str(work / "script.py"),
        "report": batch["report"],
        "work": str(work),
        "steps": fill(steps),
        "timeout": timeout,
        "screen": screen,
    }
    (work / "job.json").write_text(json.dumps(driver))
    _record_browser(profile, work / "opened-urls")
    res = gimp.run(
        ["python3", str(work / "gui_driver.py"), str(work / "job.json")],
        env={
            "HOME": str(profile),
            "GIMP3_DIRECTORY": str(profile),
            "DREAMD_ENDPOINT": endpoint,
            DIALOG_REPORT_ENV: str(work / "dialog.jsonl"),
        },
        share=[share],
        timeout=timeout + 60,
    )
    output = res.output
    for log in ("driver.log", "gimp.log"):
        if (work / log).exists():
            output += f"\n--- {log}\n" + (work / log).read_text(errors="replace")[-4000:]
    report_path = work / "report.json"
    report = json.loads(report_path.read_text()) if report_path.exists() else {}
    lines = []
    if (work / "dialog.jsonl").exists():
        lines = [json.loads(x) for x in (work / "dialog.jsonl").read_text().splitlines() if x]
    return GuiRun(work, report, lines, output)
