"""The project's own error types: every message is one line naming the problem and the fix.

A message names a setting to change as code, `name` or `name=value` (`lr=0.001`), never as
a front end's flag or label; ``in_terms`` puts a front end's own words in its place (the CLI's
``--lr 0.001``). And the two checks of a number that every setting's validation uses
(is_whole, is_real).
"""

import math
import os
import re
import shlex
import subprocess
from collections.abc import Callable


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


def advice(setting: str, value=None) -> str:
    """How a message names a setting to change: `setting` or `setting=value` (``value`` as
    ``{:g}`` for a number)."""
    if value is None:
        return f"`{setting}`"
    return f"`{setting}={value:g}`" if is_real(value) else f"`{setting}={value}`"


_ADVICE = re.compile(r"`([a-z][a-z_]*)(?:=([^`\s]+))?`")


def in_terms(message: str, term: Callable[[str, str | None], str]) -> str:
    """``message`` with each setting it names (see ``advice``) as ``term(setting, value)``
    says it (value None when the message gives none)."""
    return _ADVICE.sub(lambda m: term(m.group(1), m.group(2)), message)


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
