"""The project's own error types: every message is one line naming the problem and the fix.

And the two checks of a number that every setting's validation uses (is_whole, is_real).
"""

import math
import os
import shlex
import subprocess


class SoftmaxMnistError(Exception):
    """Base class: anything the CLI reports as a one-line error instead of a traceback."""


class DataError(SoftmaxMnistError):
    """A data file or directory is missing, truncated, corrupt or inconsistent."""


class ConfigError(SoftmaxMnistError, ValueError):
    """A setting (flag, config key, argument) has a value that cannot work. ``setting``: its name
    (``lr``, ``batch_size``, ...) when one setting is at fault, so each front end can say it in
    its own terms (the CLI's flag, the web page's label)."""

    def __init__(self, message: str, setting: str | None = None):
        super().__init__(message)
        self.setting = setting


class DivergenceError(SoftmaxMnistError, FloatingPointError):
    """Training produced a non-finite loss; ``history`` holds what was measured until then."""

    def __init__(self, message: str, history=None):
        super().__init__(message)
        self.history = history


class Interrupted(SoftmaxMnistError):
    """Training stopped on request (SIGINT/SIGTERM, or a stop hook) after its last checkpoint."""

    def __init__(self, message: str, epoch: int = 0, step: int = 0):
        super().__init__(message)
        self.epoch, self.step = epoch, step


class OutputError(SoftmaxMnistError, OSError):
    """A result could not be written (no such folder, read-only, disk full); nothing half-written."""


def output_error(path, e: OSError) -> OutputError:
    """One line naming the path and the cause of an OSError met while writing ``path``."""
    cause = e.strerror or type(e).__name__
    return OutputError(f"cannot write {path} ({cause}); choose another output folder"
                       + (" or free some disk space" if getattr(e, "errno", None) == 28 else ""))


def command(*args) -> str:
    """A ``softmax-mnist`` command line for a message, its arguments quoted where the shell
    needs it (a path with a space): POSIX shell quoting, or Windows' own where that is the
    system (``os.name``)."""
    words = ["softmax-mnist", *map(str, args)]
    return subprocess.list2cmdline(words) if os.name == "nt" else shlex.join(words)


def is_whole(x) -> bool:
    """An int that is not a bool (True is an int in Python, but not an epoch count)."""
    return isinstance(x, int) and not isinstance(x, bool)


def is_real(x) -> bool:
    """A finite int or float, not a bool (JSON and TOML allow NaN and inf)."""
    if not (is_whole(x) or isinstance(x, float)):
        return False
    try:
        return math.isfinite(x)
    except OverflowError:  # an int too large for a float
        return False
