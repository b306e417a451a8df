"""Run real GIMP 3 headless for the plug-in tests: natively (Debian 13+) or in a trixie chroot.

    runner = GimpRunner.setup()          # builds or reuses it (tests/gimp/setup_gimp.sh)
    out = runner.run_batch(script_text, profile=tmp / "profile", share=[tmp])

``setup_gimp.sh`` does the building and caching (``$DREAMD_GIMP_CHROOT``, default
``/var/cache/dreamd/gimp-trixie``); this module only runs things. In chroot mode each run
happens in a private mount namespace (``unshare -m``) with ``/proc``, ``/dev`` and the
``share`` folders bind-mounted at the same paths inside, so file paths and ``ipc://``
endpoints under them mean the same thing on both sides, and nothing stays mounted.
Needs root in chroot mode.

Also usable by hand:  python tests/gimp/gimprunner.py script.py [PROFILE_DIR]
"""

from __future__ import annotations

import contextlib
import shlex
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
SETUP_SCRIPT = HERE / "setup_gimp.sh"
GIMP_CONSOLE = "gimp-console-3.0"


class GimpUnavailable(Exception):
    """This machine cannot run GIMP 3 (not root, no debootstrap, no mirror...)."""


@dataclass
class BatchResult:
    returncode: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


@dataclass
class GimpRunner:
    mode: str  # "native" or "chroot"
    root: Path | None = None  # the chroot, in chroot mode

    @classmethod
    def setup(cls, timeout: float = 1800) -> GimpRunner:
        """Build or reuse GIMP 3 (see setup_gimp.sh). Raises GimpUnavailable with the reason."""
        if not shutil.which("bash"):
            raise GimpUnavailable("bash is missing")
        try:
            proc = subprocess.run(
                ["bash", str(SETUP_SCRIPT)],
                capture_output=True,
                text=True,
                timeout=timeout,
                check=False,
            )
        except subprocess.TimeoutExpired as exc:
            raise GimpUnavailable(f"setup_gimp.sh took longer than {timeout} s") from exc
        if proc.returncode != 0:
            raise GimpUnavailable(
                f"setup_gimp.sh exited {proc.returncode}: {proc.stderr.strip()[-3000:]}"
            )
        last = proc.stdout.strip().splitlines()[-1] if proc.stdout.strip() else ""
        if last == "native":
            return cls("native")
        if last.startswith("chroot "):
            return cls("chroot", Path(last[len("chroot ") :]))
        raise GimpUnavailable(f"setup_gimp.sh printed {last!r}")

    # -- commands ---------------------------------------------------------------------------
    def python_command(self, share: Sequence[Path] = ()) -> list[str]:
        """How to run GIMP's Python from the host (the installer's ``gimp_python``).

        Arguments appended to the list reach Python; in chroot mode ``share`` folders are
        visible at the same paths inside, so the installer can probe vendored wheels there.
        The environment passes through (``PYTHONPATH`` included).
        """
        if self.mode == "native":
            return ["/usr/bin/python3"]
        assert self.root is not None
        lines = ["set -e", f"R={shlex.quote(str(self.root))}"]
        for p in share:
            q = shlex.quote(str(Path(p).resolve()))
            lines.append(f'mkdir -p "$R"{q} && mount --bind {q} "$R"{q}')
        lines.append('exec chroot "$R" /usr/bin/python3 "$@"')
        script = "\n".join(lines)
        return ["unshare", "-m", "--propagation", "private", "bash", "-c", script, "python3"]

    def remove_mountpoint(self, path: Path) -> None:
        """Remove the empty folder left in the chroot by sharing ``path`` (best effort)."""
        if self.mode == "chroot" and self.root is not None:
            with contextlib.suppress(OSError):
                (self.root / str(Path(path).resolve()).lstrip("/")).rmdir()

    def _wrap(
        self,
        argv: Sequence[str],
        env: Mapping[str, str],
        share: Sequence[Path],
        cwd: Path | None,
    ) -> list[str]:
        env_args = [f"{k}={v}" for k, v in env.items()]
        if self.mode == "native":
            return ["env", "-i", *env_args, *argv]
        assert self.root is not None
        root = str(self.root)
        lines = [
            "set -e",
            f"R={shlex.quote(root)}",
            'mount -t proc proc "$R/proc"',
            'mount --rbind /dev "$R/dev"',
        ]
        for p in share:
            q = shlex.quote(str(Path(p).resolve()))
            lines.append(f'mkdir -p "$R"{q} && mount --bind {q} "$R"{q}')
        inner = shlex.join(["env", "-i", *env_args, *argv])
        if cwd is not None:
            inner = f"cd {shlex.quote(str(cwd))} && exec {inner}"
        lines.append(f'exec chroot "$R" /bin/sh -c {shlex.quote(inner)}')
        return ["unshare", "-m", "--propagation", "private", "bash", "-c", "\n".join(lines)]

    def run(
        self,
        argv: Sequence[str],
        *,
        env: Mapping[str, str] | None = None,
        share: Sequence[Path] = (),
        stdin: str | None = None,
        timeout: float = 300,
        cwd: Path | None = None,
    ) -> BatchResult:
        """Run a command where GIMP lives (in the chroot, or natively) with a clean env."""
        full_env = {
            "PATH": "/usr/local/bin:/usr/bin:/bin",
            "LANG": "C.UTF-8",
            "LC_ALL": "C.UTF-8",
        }
        full_env.update(env or {})
        cmd = self._wrap(argv, full_env, share, cwd)
        made = self._mountpoints_to_make(share)
        try:
            proc = subprocess.run(
                cmd,
                input=stdin,
                capture_output=True,
                text=True,
                timeout=timeout,
                check=False,
            )
        except subprocess.TimeoutExpired as exc:
            out = exc.stdout.decode() if isinstance(exc.stdout, bytes) else (exc.stdout or "")
            err = exc.stderr.decode() if isinstance(exc.stderr, bytes) else (exc.stderr or "")
            return BatchResult(124, out, err + f"\n[gimprunner: timed out after {timeout} s]")
        finally:
            for d in made:
                with contextlib.suppress(OSError):
                    d.rmdir()
        return BatchResult(proc.returncode, proc.stdout, proc.stderr)

    def run_batch(
        self,
        script: str,
        *,
        profile: Path,
        share: Sequence[Path] = (),
        env: Mapping[str, str] | None = None,
        timeout: float = 300,
    ) -> BatchResult:
        """``gimp-console-3.0 -i --batch-interpreter python-fu-eval -b - --quit < script``.

        ``profile`` is a fresh GIMP profile folder (``GIMP3_DIRECTORY``, also ``HOME``); it
        must lie under one of ``share`` in chroot mode. GIMP exits 0 even when the script
        or a plug-in fails: scripts must report through files and tests must check them.
        """
        profile.mkdir(parents=True, exist_ok=True)
        full_env = {"HOME": str(profile), "GIMP3_DIRECTORY": str(profile)}
        full_env.update(env or {})
        argv = [
            "timeout",
            "-k",
            "10",
            str(int(timeout)),
            GIMP_CONSOLE,
            "-i",
            "--batch-interpreter",
            "python-fu-eval",
            "-b",
            "-",
            "--quit",
        ]
        return self.run(argv, env=full_env, share=share, stdin=script, timeout=timeout + 30)

    def _mountpoints_to_make(self, share: Sequence[Path]) -> list[Path]:
        """Folders that mounting ``share`` will create in the chroot, deepest first."""
        if self.mode != "chroot" or self.root is None:
            return []
        made: list[Path] = []
        for p in share:
            cur = self.root / str(Path(p).resolve()).lstrip("/")
            while not cur.exists() and cur != self.root:
                if cur not in made:
                    made.append(cur)
                cur = cur.parent
        return sorted(made, key=lambda d: len(d.parts), reverse=True)


def dreamd_cli(*args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """Run ``dreamd ARGS`` (as ``python -m dreamd.daemon``) from this checkout."""
    import os

    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    return subprocess.run(
        [sys.executable, "-m", "dreamd.daemon", *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def main(argv: Sequence[str]) -> int:
    if not argv:
        print(__doc__)
        return 2
    runner = GimpRunner.setup()
    script = Path(argv[0]).read_text()
    with tempfile.TemporaryDirectory(prefix="gimprun-") as tmp:
        profile = Path(argv[1]) if len(argv) > 1 else Path(tmp) / "profile"
        res = runner.run_batch(script, profile=profile, share=[Path(tmp), profile.parent])
    sys.stdout.write(res.stdout)
    sys.stderr.write(res.stderr)
    return res.returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
