"""Atomic file writes: a temporary file in the same folder, renamed into place.

A process killed half-way leaves at worst a stray ``.tmp`` file, never a
half-written file under the real name. Windows refuses to replace a file (or rename a
folder) that another program holds open, a PDF viewer showing report.pdf for instance:
the rename is retried for a moment, then one line names the file to close.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

from softmax_mnist.errors import OutputError, output_error

_UMASK = os.umask(0)
os.umask(_UMASK)
SPREADSHEET = "utf-8-sig"  # CSVs people open in Excel: the BOM tells a Chinese Windows it is UTF-8
RETRY_SECONDS = 3.0  # how long a rename refused by an open file is retried (antivirus, indexers)


class FileInUse(OutputError):
    """A file another program holds open, so it cannot be replaced (Windows)."""


def _in_use(path: Path) -> FileInUse:
    return FileInUse(f"cannot replace {path}: another program has it open (a viewer or editor "
                     f"showing it?); close it there and run the command again")


def rename_retrying(src: str | os.PathLike, dst: str | os.PathLike, in_use: Path | None = None,
                    seconds: float | None = None) -> None:
    """``os.replace(src, dst)``, retried for a moment while the system refuses it with a
    PermissionError (Windows, while another program has ``dst`` or a file in it open); then
    FileInUse naming ``in_use`` (default ``dst``)."""
    deadline = time.monotonic() + (RETRY_SECONDS if seconds is None else seconds)
    while True:
        try:
            os.replace(src, dst)
            return
        except PermissionError:
            if time.monotonic() >= deadline:
                raise _in_use(Path(in_use or dst)) from None
            time.sleep(0.1)


def atomic_write(path: str | os.PathLike, write: Callable[[IO[bytes]], Any]) -> Path:
    """Call ``write(f)`` on a temporary binary file next to ``path``, then rename it to ``path``."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as e:  # a file where a folder should be, read-only, /proc, ...
        raise output_error(path, e) from None
    try:
        os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp makes 0600; results are ordinary files
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        rename_retrying(tmp, path)
    except BaseException as e:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        if isinstance(e, OSError) and not isinstance(e, OutputError):
            raise output_error(path, e) from None  # disk full, quota: one line, old file intact
        raise
    return path


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    return atomic_write(path, lambda f: f.write(data))


def atomic_write_text(path: str | os.PathLike, text: str, encoding: str = "utf-8") -> Path:
    """``text`` in ``encoding``: UTF-8, or "utf-8-sig" (a BOM first) for a CSV that a
    spreadsheet opens, which Excel on a Chinese Windows otherwise reads as GBK."""
    return atomic_write_bytes(path, text.encode(encoding))


def atomic_write_json(path: str | os.PathLike, obj: Any) -> Path:
    return atomic_write_text(path, json.dumps(obj, indent=2, sort_keys=False) + "\n")


def replace_folder(new: str | os.PathLike, target: str | os.PathLike) -> Path:
    """Move the complete folder ``new`` to ``target``, replacing what was there: the old one
    is renamed aside first and removed last, so ``target`` holds the old whole folder or the
    new whole one (for an instant, neither)."""
    new, target = Path(new), Path(target)
    old = target.with_name(f".{target.name}.old-{os.getpid()}")
    try:
        if target.exists():
            rename_retrying(target, old)  # Windows: refused while a file in it is open
        os.rename(new, target)
    except OSError as e:
        if old.exists() and not target.exists():
            os.rename(old, target)  # put the old run back
        if isinstance(e, FileInUse):
            raise _in_use(_open_file_in(target)) from None
        raise output_error(target, e) from None
    shutil.rmtree(old, ignore_errors=True)
    return target


def save_figure(fig, path: str | os.PathLike, dpi: int = 120) -> Path:
    """Save a matplotlib Figure atomically to ``path`` (format from its suffix)."""
    path = Path(path)
    buf = io.BytesIO()
    fig.savefig(buf, format=path.suffix.lstrip(".") or "png", dpi=dpi, bbox_inches="tight")
    return atomic_write(path, lambda f: f.write(buf.getvalue()))


def _open_file_in(folder: Path) -> Path:
    """The file of ``folder`` that cannot be moved, as well as can be told (Windows refuses to
    rename a file another program has open); the folder itself when none is found."""
    for f in sorted(p for p in folder.rglob("*") if p.is_file()):
        probe = f.with_name(f".{f.name}.probe")
        try:
            os.rename(f, probe)  # and straight back: what the folder's rename needs of each file
        except PermissionError:
            return f
        except OSError:
            continue
        os.rename(probe, f)
    return folder
