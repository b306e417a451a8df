"""Choosing where dreams run: the daemon(s) given with --connect, the local daemon when it
answers, or the engine in this process."""

from __future__ import annotations

import argparse
from typing import Any

import numpy as np

from ._runner import EmbeddedRunner, Runner, list_layers


def choose_runner(
    args: argparse.Namespace, params: dict[str, Any], guide: np.ndarray | None
) -> Runner:
    """The runner for these flags (see the module docstring)."""
    return EmbeddedRunner(
        params, model=args.model, device=args.device, weights=args.weights, guide=guide
    )


def list_layers_of(args: argparse.Namespace) -> tuple[str, str, list[dict[str, Any]]]:
    return list_layers(args.model, args.device, args.weights)
