"""``dreamd fetch-weights [MODEL] [--from FILE]``: a model's weights into the cache, checked.

The engine does the work (downloads size- and hash-checked and atomic, a file brought from
elsewhere installed only once it loads as the model); this module picks the model and
turns the engine's errors into exit statuses:

- ``bvlc-googlenet``, ``places205-googlenet``: BVLC's caffemodel, MIT's tarball, or the
  user's caffemodel / tarball / neural-dream .pth;
- ``googlenet``: torchvision's file, recognised by its SHA-256.

Without MODEL: the model the ``--from`` file holds weights for (googlenet when the file is
none of them, whose check then says why), else ``bvlc-googlenet``, the original network.
"""

from __future__ import annotations

from pathlib import Path

from dreamd import engine

from ._errors import DaemonError, ExitCode

#: What ``fetch-weights`` fetches when no model is named and no file given.
DEFAULT_MODEL = "bvlc-googlenet"
FETCHABLE = ("bvlc-googlenet", "places205-googlenet", "googlenet")


class FetchError(DaemonError):
    exit_code = ExitCode.FAILED


def fetch(model: str | None = None, source: Path | None = None) -> str:
    """Fetch or install the weights; return a line saying where they are.

    Raises:
        FetchError: no network / offline (exit 5), a bad model name (exit 2), or a file
            that is not the weights (exit 1); nothing is written then.
    """
    if source is not None:
        source = source.expanduser()
        if not source.is_file():
            raise FetchError(f"{source} does not exist")
    name = model or _model_of(source)
    if name not in FETCHABLE:
        err = FetchError(
            f"cannot fetch weights for {name!r}; choose one of: {', '.join(FETCHABLE)}"
        )
        err.exit_code = ExitCode.USAGE
        raise err
    try:
        path = engine.fetch_weights(name, source)
    except engine.WeightsUnavailable as exc:
        err = FetchError(str(exc))
        err.exit_code = ExitCode.UNAVAILABLE if source is None else ExitCode.FAILED
        raise err from None
    except engine.EngineError as exc:
        raise FetchError(str(exc)) from None
    if source is None:
        return f"{name} weights are in {path} (checked)"
    return (
        f"installed {source} as {path} (checked: it loads as {name}); "
        f"dreamd uses it for --model {name}"
        + (" and --model auto" if name == DEFAULT_MODEL else "")
    )


def _model_of(source: Path | None) -> str:
    if source is None:
        return DEFAULT_MODEL
    try:
        return engine.model_for_file(source)
    except engine.WeightsError:
        return "googlenet"  # its check by hash says what is wrong with the file
