"""dreamd: the DeepDream daemon.

A long-running process that keeps a dream model resident on each device and serves
dream requests over ZeroMQ (see ``protocol/PROTOCOL.md``). Run it with ``dreamd serve``;
the rest of the command line is in :mod:`dreamd.daemon.cli`.

Modules, one job each:

- ``_server``: the ROUTER loop (the only code that touches the sockets)
- ``_queue``: the scheduler (interactive before batch, round-robin between clients)
- ``_worker``: one thread per device, with its own resident model
- ``_images``: wire frames ⇄ float32 arrays
- ``_lock``: one daemon per endpoint
- ``_security``: CURVE keys, allow-list, loopback checks
- ``_errors``: exceptions → protocol error codes
- ``_log``: logging to stderr
- ``cli``: the ``dreamd`` command
"""

from __future__ import annotations

from .. import __version__

__all__ = ["__version__"]
