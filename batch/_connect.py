"""Choosing where dreams run.

- ``--embedded``: the engine in this process.
- ``--connect EP`` (repeatable): those daemons; the ones that do not answer are skipped
  with a warning, and when none answers the batch stops before it starts (exit 1).
- neither: the local daemon at the default endpoint (``$DREAMD_ENDPOINT`` or the platform
  default) when it answers within a moment; otherwise — and also if it dies mid-batch —
  the engine in this process.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ._daemon import Daemon, DaemonRunner, connect, curve_keys
from ._errors import RunnerLost
from ._runner import EmbeddedRunner, Runner, list_layers

#: How long the default endpoint may take to answer before running in-process instead.
PROBE_TIMEOUT = 1.5


def choose_runner(
    args: argparse.Namespace,
    params: dict[str, Any],
    guide: np.ndarray | None,
    style: np.ndarray | Sequence[np.ndarray] | None = None,
) -> Runner:
    """The runner for these flags (see the module docstring)."""
    # styled frames held to the previous one: a daemon must speak protocol 1.2
    frames = bool(getattr(args, "style", None)) and bool(getattr(args, "flow", None))

    def embedded(note: str | None = None) -> Runner:
        runner = EmbeddedRunner(
            params,
            model=args.model,
            device=args.device,
            weights=args.weights,
            guide=guide,
            style=style,
        )
        if note:
            runner.notes.insert(0, note)
        return runner

    if args.embedded:
        return embedded()
    if args.connect:
        daemons: list[Daemon] = []
        problems: list[str] = []
        endpoints = list(dict.fromkeys(args.connect))
        keys = curve_keys(endpoints, args.server_key, args.client_key)
        for ep, key in zip(endpoints, keys, strict=True):
            try:
                daemons.append(connect(ep, curve=key))
            except RunnerLost as exc:
                problems.append(str(exc))
        if not daemons:
            raise RunnerLost("no daemon answers: " + "; ".join(problems))
        runner: Runner = DaemonRunner(
            daemons, params, model=args.model, guide=guide, style=style, video_frames=frames
        )
        runner.notes.extend(f"skipping a daemon: {p}" for p in problems)
        _ignored_flags(args, runner)
        return runner
    endpoint = _default_endpoint()
    if endpoint is None:
        return embedded()
    (key,) = curve_keys([endpoint], args.server_key, args.client_key)
    try:
        daemon = connect(endpoint, connect_timeout=PROBE_TIMEOUT, curve=key)
    except RunnerLost:
        return embedded()
    if args.model not in (None, "auto") and daemon.model != args.model:
        daemon.client.close()
        return embedded(
            f"the daemon at {endpoint} runs {daemon.model}, not {args.model}: "
            "running in this process instead"
        )
    fallback: Callable[[], Runner] = lambda: embedded(  # noqa: E731
        f"the daemon at {endpoint} stopped answering: running in this process"
    )
    runner = DaemonRunner(
        [daemon],
        params,
        model=args.model,
        guide=guide,
        style=style,
        fallback=fallback,
        video_frames=frames,
    )
    _ignored_flags(args, runner)
    return runner


def _ignored_flags(args: argparse.Namespace, runner: Runner) -> None:
    if args.device not in (None, "auto"):
        runner.notes.append("--device applies to embedded mode only; the daemon chose its own")
    if args.weights:
        runner.notes.append("--weights applies to embedded mode only")


def _default_endpoint() -> str | None:
    """The default endpoint when something may listen there (an ipc socket file exists)."""
    try:
        from dreamd import protocol

        endpoint = protocol.resolve_endpoint(None)
    except (ImportError, ValueError):
        return None
    if endpoint.startswith("ipc://") and not Path(endpoint[6:]).exists():
        return None
    return str(endpoint)


def list_layers_of(args: argparse.Namespace) -> tuple[str, str, list[dict[str, Any]]]:
    """(model, default layer, layers) of the daemon that would be used, else of a local
    model."""
    candidates: list[str] = []
    if not args.embedded:
        if args.connect:
            candidates = list(args.connect)
        else:
            ep = _default_endpoint()
            candidates = [ep] if ep else []
    problems: list[str] = []
    keys = curve_keys(candidates, args.server_key, args.client_key) if candidates else []
    for ep, key in zip(candidates, keys, strict=True):
        try:
            d = connect(ep, connect_timeout=PROBE_TIMEOUT if not args.connect else 5.0, curve=key)
        except RunnerLost as exc:
            problems.append(str(exc))
            continue
        d.client.close()
        return d.model, d.default_layer, d.layers
    if args.connect:
        raise RunnerLost("no daemon answers: " + "; ".join(problems))
    return list_layers(args.model, args.device, args.weights)
