"""Install, uninstall and check the GIMP 3 DeepDream plug-in.

``dreamd gimp install|uninstall|doctor`` are thin wrappers over :func:`install`,
:func:`uninstall` and :func:`doctor`. Everything here is plain Python (stdlib only) and can
run without GIMP being open. This module is the public face; the work is done by
``_locate`` (where GIMP and its Python are), ``_wheels`` (wheels for that Python),
``_install`` and ``_doctor``.

What ``install`` does:

1. finds GIMP 3's profile folder (``--gimp-dir`` overrides; see :func:`find_gimp_plugin_dirs`),
2. copies the plug-in (``dreamd_deepdream/``) into ``PROFILE/plug-ins/dreamd_deepdream/``
   with the run bit on its script,
3. copies the ``protocol`` package next to it,
4. makes pyzmq and msgpack importable by GIMP's own Python: used as they are when that
   Python already has them, otherwise wheels for that exact Python version are installed
   into ``plug-ins/dreamd_deepdream/vendor`` with ``pip install --target``,
5. writes ``dreamd_deepdream.json``: the endpoint and how to start the daemon.
"""

from __future__ import annotations

from ._doctor import Check, doctor
from ._errors import InstallError
from ._install import InstallResult, install, read_config, uninstall
from ._layout import (
    CONFIG_NAME,
    FLATPAK_APP,
    HELP_FILES,
    NEEDED_MODULES,
    PLUGIN_MODULES,
    PLUGIN_NAME,
    SCRIPT_NAME,
    SOURCE_DIR,
    VENDOR_DIR,
    VENDOR_REQUIREMENTS,
    VENDORED_PROTOCOL,
)
from ._locate import (
    PythonCommand,
    PythonInfo,
    find_gimp_plugin_dirs,
    find_gimp_python,
    gimp_profile_candidates,
    plugins_dir_of,
    probe_python,
    resolve_plugins_dir,
)
from ._wheels import pip_platforms, vendor_wheels

__all__ = [
    "CONFIG_NAME",
    "FLATPAK_APP",
    "HELP_FILES",
    "NEEDED_MODULES",
    "PLUGIN_MODULES",
    "PLUGIN_NAME",
    "SCRIPT_NAME",
    "SOURCE_DIR",
    "VENDORED_PROTOCOL",
    "VENDOR_DIR",
    "VENDOR_REQUIREMENTS",
    "Check",
    "InstallError",
    "InstallResult",
    "PythonCommand",
    "PythonInfo",
    "doctor",
    "find_gimp_plugin_dirs",
    "find_gimp_python",
    "gimp_profile_candidates",
    "install",
    "pip_platforms",
    "plugins_dir_of",
    "probe_python",
    "read_config",
    "resolve_plugins_dir",
    "uninstall",
    "vendor_wheels",
]
