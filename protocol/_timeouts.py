"""The client's timeouts, as one value that can be passed around and printed."""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class Timeout:
    """How long a :class:`~protocol.Client` waits, in seconds.

    ``connect``
        for the first answer after a request is sent on a fresh (or reopened) connection.
        ZeroMQ connects in the background, so this is the time to "the daemon heard us".
        Extended by the time the request's bytes take at 10 MB/s, for big images on a
        slow link.
    ``reply``
        the longest silence tolerated from a daemon that has answered. The daemon sends
        ``progress`` at least every 2 s while a job runs and any message counts as a
        heartbeat; after half of this the client pings, after all of it the connection is
        taken for dead, reopened and outstanding requests resent (Lazy Pirate).
    ``total``
        an upper bound on one request or job from submission to result; ``None`` for none.
        A job that runs out of it is cancelled on the daemon.
    """

    connect: float = 5.0
    reply: float = 10.0
    total: float | None = None

    def __post_init__(self) -> None:
        for name in ("connect", "reply", "total"):
            value = getattr(self, name)
            if value is None and name == "total":
                continue
            if (
                isinstance(value, bool)
                or not isinstance(value, (int, float))
                or not math.isfinite(value)
                or value <= 0
            ):
                raise ValueError(f"Timeout.{name} must be a positive number of seconds")
