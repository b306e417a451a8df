"""What an installed plug-in is made of: its names, its folders, its copy of the protocol.

Shared by installing (which writes these) and the doctor (which checks them).
"""

from __future__ import annotations

import re
from pathlib import Path

PLUGIN_NAME = "dreamd_deepdream"
SCRIPT_NAME = f"{PLUGIN_NAME}.py"
CONFIG_NAME = f"{PLUGIN_NAME}.json"
#: The plug-in's modules next to its script; GIMP imports them as top-level modules.
PLUGIN_MODULES = (
    "dreamd_gimp_pixels.py",
    "dreamd_gimp_params.py",
    "dreamd_gimp_catalogue.py",
    "dreamd_gimp_progress.py",
    "dreamd_gimp_daemon.py",
    "dreamd_gimp_canvas.py",
    "dreamd_gimp_job.py",
    "dreamd_gimp_memory.py",
    "dreamd_gimp_window.py",
    "dreamd_gimp_draft.py",
    "dreamd_gimp_report.py",
    "dreamd_gimp_dialog.py",
)
#: The offline help page GIMP's Help button opens (see ``set_help_domain`` in the plug-in).
HELP_FILES = (Path("help", "en", "gimp-help.xml"), Path("help", "en", "index.html"))
VENDOR_DIR = "vendor"
#: Where the plug-in's copy of dreamd.protocol goes, inside the plug-in's folder.
VENDORED_PROTOCOL = Path("dreamd", "protocol")
#: Requirements for GIMP's Python when it lacks them (pip syntax).
VENDOR_REQUIREMENTS = ("pyzmq>=25", "msgpack>=1.0")
#: Python modules the plug-in needs, and the distribution packages that provide them.
NEEDED_MODULES = {"zmq": "python3-zmq / pyzmq", "msgpack": "python3-msgpack / msgpack"}
FLATPAK_APP = "org.gimp.GIMP"

SOURCE_DIR = Path(__file__).resolve().parent / PLUGIN_NAME


def protocol_source() -> Path:
    """The folder of this dreamd's own ``dreamd.protocol``."""
    from dreamd import protocol

    return Path(protocol.__file__).resolve().parent


def protocol_version(protocol_dir: Path) -> str | None:
    """``PROTOCOL_VERSION`` of a protocol package ("1.0"), read without importing it."""
    for name in ("_version.py", "__init__.py"):
        try:
            text = (protocol_dir / name).read_text(encoding="utf-8")
        except OSError:
            continue
        m = re.search(r"^PROTOCOL_VERSION\b[^=]*=\s*\(\s*(\d+)\s*,\s*(\d+)\s*\)", text, re.M)
        if m:
            return f"{m.group(1)}.{m.group(2)}"
    return None
