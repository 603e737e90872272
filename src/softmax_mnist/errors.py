"""The project's own error types: every message is one line naming the problem and the fix."""


class SoftmaxMnistError(Exception):
    """Base class: anything the CLI reports as a one-line error instead of a traceback."""


class DataError(SoftmaxMnistError):
    """A data file or directory is missing, truncated, corrupt or inconsistent."""


class ConfigError(SoftmaxMnistError, ValueError):
    """A setting (flag, config key, argument) has a value that cannot work."""


class DivergenceError(SoftmaxMnistError, FloatingPointError):
    """Training produced a non-finite loss; ``history`` holds what was measured until then."""

    def __init__(self, message: str, history=None):
        super().__init__(message)
        self.history = history


class OutputError(SoftmaxMnistError, OSError):
    """A result could not be written (no such folder, read-only, disk full); nothing half-written."""


def output_error(path, e: OSError) -> OutputError:
    """One line naming the path and the cause of an OSError met while writing ``path``."""
    cause = e.strerror or type(e).__name__
    return OutputError(f"cannot write {path} ({cause}); choose another --out folder"
                       + (" or free some disk space" if getattr(e, "errno", None) == 28 else ""))
