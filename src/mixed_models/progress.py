"""Progress bars for long loops (the parametric bootstrap, refits), through tqdm.

tqdm is optional (``pip install 'mixed_models[progress]'``) and imported only when a bar
is shown. :func:`progress_bar` returns a bar with ``update(n)`` and ``close()`` that is
also a context manager; when no bar is wanted it returns :class:`NoProgress`, which does
nothing, so a caller never tests whether a bar exists.

The ``progress=`` argument of the callers, resolved by :func:`wants_bar`:

- ``"auto"`` (the default): a bar in a Jupyter notebook (a widget, through
  ``tqdm.auto``) or when standard error is a terminal, and only if tqdm is installed;
  nothing in scripts whose stderr is a file or a pipe, in tests and in CI logs;
- ``True``: always a bar (on stderr, or a widget in a notebook); tqdm must be installed;
- ``False``: never a bar.

This module is part of the base layer: it imports nothing of mixed_models but
:mod:`mixed_models.errors`. Unstable: the bar's look (tqdm's defaults) may change.
"""

from __future__ import annotations

import sys
from types import TracebackType
from typing import IO, Any, Literal, Protocol

from mixed_models.errors import InvalidArgumentError, OptionalDependencyError

__all__ = ["NoProgress", "ProgressBar", "ProgressChoice", "progress_bar", "wants_bar"]

ProgressChoice = bool | Literal["auto"]
INSTALL_HINT = "pip install 'mixed_models[progress]'"


class ProgressBar(Protocol):
    """What callers use of a bar: tqdm's bars and :class:`NoProgress` both have it."""

    def update(self, n: int = 1) -> Any: ...

    def close(self) -> Any: ...


class NoProgress:
    """A bar that shows nothing (``progress=False``, or ``"auto"`` with no terminal)."""

    def update(self, n: int = 1) -> None:
        """Count ``n`` more steps done (nothing to show)."""

    def close(self) -> None:
        """End the bar (nothing to close)."""

    def __enter__(self) -> NoProgress:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self.close()


def in_notebook() -> bool:
    """Whether the code runs in a Jupyter kernel (IPython's ZMQ shell).

    IPython is looked up only if already imported: a kernel has always imported it, and a
    script must not pay for importing it.
    """
    ipython = sys.modules.get("IPython")
    if ipython is None:
        return False
    try:
        shell = ipython.get_ipython()
    except AttributeError:  # a partial or stub IPython module
        return False
    return shell is not None and type(shell).__name__ == "ZMQInteractiveShell"


def _tqdm_installed() -> bool:
    from importlib.util import find_spec

    try:
        return find_spec("tqdm") is not None
    except (ImportError, ValueError):  # blocked (sys.modules entry None) or broken
        return False


def _is_terminal(stream: IO[str] | None) -> bool:
    isatty = getattr(stream, "isatty", None)
    try:
        return bool(isatty and isatty())
    except (OSError, ValueError):  # a closed stream
        return False


def wants_bar(progress: ProgressChoice = "auto", stream: IO[str] | None = None) -> bool:
    """Whether ``progress`` asks for a bar here (see the module's docstring).

    Raises InvalidArgumentError for a value other than ``True``, ``False`` or ``"auto"``,
    and OptionalDependencyError for ``True`` when tqdm is not installed.
    """
    if progress is True:
        if not _tqdm_installed():
            raise OptionalDependencyError(
                f"progress=True needs tqdm, which is not installed; install it with: "
                f"{INSTALL_HINT} (or pass progress='auto' or False)")
        return True
    if progress is False:
        return False
    if progress != "auto":
        raise InvalidArgumentError(
            f"progress must be True, False or 'auto', not {progress!r}")
    stream = sys.stderr if stream is None else stream
    return _tqdm_installed() and (in_notebook() or _is_terminal(stream))


def progress_bar(total: int | None, *, progress: ProgressChoice = "auto",
                 desc: str | None = None, stream: IO[str] | None = None) -> ProgressBar:
    """A progress bar over ``total`` steps, or :class:`NoProgress` when none is wanted.

    Parameters
    ----------
    total
        The number of steps (``None``: unknown, the bar counts without a percentage).
    progress
        ``"auto"``, ``True`` or ``False``; see :func:`wants_bar`.
    desc
        A short label shown before the bar, e.g. ``"bootstrap"``.
    stream
        Where a text bar is written; standard error by default.

    Use it as a context manager, calling ``update(n)`` as steps finish (in any order,
    from the thread that owns the bar)::

        with progress_bar(n_sim, progress=progress, desc="bootstrap") as bar:
            for result in results:
                bar.update()
    """
    if not wants_bar(progress, stream):
        return NoProgress()
    if in_notebook():
        from tqdm.auto import tqdm  # the notebook widget when ipywidgets is there
    else:
        from tqdm import tqdm
    file = sys.stderr if stream is None else stream
    return tqdm(total=total, desc=desc, file=file, leave=True, dynamic_ncols=True)
