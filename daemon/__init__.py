"""dreamd: the DeepDream daemon.

A long-running process that keeps a dream model resident on each device and serves
dream requests over ZeroMQ (see ``protocol/PROTOCOL.md``). Run it with ``dreamd serve``;
the rest of the command line is in :mod:`dreamd.daemon.cli`.

Modules, one job each:

- ``_server``: lifecycle and the poll loop (the only code that waits on the sockets)
- ``_requests``: each message answered, or a dream checked and queued
- ``_jobs``: jobs to workers and back, cancelling, heartbeats, shutdown
- ``_delivery``: replies out, with back-pressure per client
- ``_status``: what ``hello`` and ``status`` say
- ``_queue``: the scheduler (interactive before batch, round-robin between clients)
- ``_worker``: one thread per device, with its own resident model
- ``_images``: wire frames ⇄ float32 arrays
- ``_lock``, ``_preflight``: one daemon per endpoint, refused before torch loads
- ``_security``: CURVE keys, allow-list, loopback checks
- ``_fetch``: weights into the cache
- ``_errors``: exceptions → protocol error codes, exit statuses
- ``_log``: logging to stderr
- ``cli``: the ``dreamd`` command (``_cli_args`` its arguments; ``_cli_serve``,
  ``_cli_client``, ``_cli_setup`` its commands)
"""

from __future__ import annotations

from .. import __version__

__all__ = ["__version__"]
