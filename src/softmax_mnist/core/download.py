"""Fetch MNIST: the four .gz files from the mirrors in turn, each md5-checked as it streams.

Each file must arrive within a deadline and a size cap, goes to a locked temporary file and is
renamed only once its checksum is MNIST's; a killed download's temporary file is removed by the
next. Finding and reading the files once they are there is data.py's affair.
"""

from __future__ import annotations

import functools
import hashlib
import http.client
import os
import time
import urllib.error
import urllib.request
import zlib
from pathlib import Path

from softmax_mnist.core.data import FILES, resolve_data_dir
from softmax_mnist.errors import ConfigError, DataError, advice
from softmax_mnist.fileio import atomic_write

try:
    import fcntl  # locks a download's temporary file while it is written
except ImportError:  # Windows: an open file cannot be removed, which protects it as well
    fcntl = None

# md5 of the mirrors' .gz files, and of the decompressed content (any gzip of it is accepted)
MD5_GZ = {
    "train-images-idx3-ubyte": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
    "train-labels-idx1-ubyte": "d53e105ee54ea40749a09fcbcd1e9432",
    "t10k-images-idx3-ubyte": "9fb629c4189551a2d022fa330f9573f3",
    "t10k-labels-idx1-ubyte": "ec29112dd5afa0611ce80d1b7f02629c",
}
MD5_RAW = {
    "train-images-idx3-ubyte": "6bbc9ace898e44ae57da46a324031adb",
    "train-labels-idx1-ubyte": "a25bea736e30d166cdddb491f175f624",
    "t10k-images-idx3-ubyte": "2646ac647ad5339dbf082846283269ea",
    "t10k-labels-idx1-ubyte": "27ae3e4e09519cfbb04c329615203637",
}
MIRRORS = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
    "http://yann.lecun.com/exdb/mnist/",
)
# bytes of the mirrors' .gz files and of their content: what a download may be (see size_cap)
GZ_SIZES = {
    "train-images-idx3-ubyte": 9912422,
    "train-labels-idx1-ubyte": 28881,
    "t10k-images-idx3-ubyte": 1648877,
    "t10k-labels-idx1-ubyte": 4542,
}
RAW_SIZES = {
    "train-images-idx3-ubyte": 47040016,
    "train-labels-idx1-ubyte": 60008,
    "t10k-images-idx3-ubyte": 7840016,
    "t10k-labels-idx1-ubyte": 10008,
}
STALL = 30.0  # seconds without a byte after which a mirror is left, even within its deadline


def size_cap(name: str) -> int:
    """The most bytes a download of ``name``.gz may have: the mirrors' size plus 1/8, room for
    the same content compressed at another gzip level (``gzip -1`` makes it 10.6% larger)."""
    return GZ_SIZES[name] + GZ_SIZES[name] // 8


class _Checksum:
    """The md5 of a .gz file and of its decompressed content, fed chunk by chunk (nothing kept)."""

    def __init__(self, name: str):
        self.name, self.gz, self.raw, self.raw_size = name, hashlib.md5(), hashlib.md5(), 0
        self.unzip, self.broken = zlib.decompressobj(wbits=31), False  # wbits 31: gzip, CRC checked

    def update(self, chunk: bytes) -> None:
        self.gz.update(chunk)
        limit = RAW_SIZES[self.name] + 1  # one byte more than MNIST's content is enough to refuse
        while chunk and not self.broken:
            if self.unzip.eof:  # a .gz may hold several members, one after the other
                self.unzip = zlib.decompressobj(wbits=31)
            try:
                out = self.unzip.decompress(chunk, limit - self.raw_size)
            except zlib.error:  # not gzip, corrupt deflate data or a wrong CRC
                self.broken = True
                return
            self.raw.update(out)
            self.raw_size += len(out)
            self.broken = self.raw_size >= limit
            chunk = self.unzip.unused_data if self.unzip.eof else b""

    def ok(self) -> bool:
        """True when the .gz file's own md5, or the md5 of its whole content, is MNIST's."""
        if self.gz.hexdigest() == MD5_GZ[self.name]:
            return True
        return (not self.broken and self.unzip.eof and self.raw_size == RAW_SIZES[self.name]
                and self.raw.hexdigest() == MD5_RAW[self.name])


def _md5_ok(path: Path, name: str) -> bool:
    """True when the .gz file's own md5, or the md5 of its decompressed content, is MNIST's."""
    check, size = _Checksum(name), 0
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            check.update(chunk)
            size += len(chunk)
            if check.broken and size > GZ_SIZES[name]:  # neither md5 can match any more
                return False
    return check.ok()


class _MirrorFailed(Exception):
    """One mirror did not give one file; the message says why. The next mirror is tried."""


def _remove_stale_temps(data_dir: Path, name: str) -> None:
    """Remove the temporary files of ``name`` that killed downloads left behind. A download that
    is still running holds a lock on its file (released when its process ends, also by SIGKILL)."""
    for tmp in data_dir.glob(f".{name}.*.tmp"):
        try:
            if fcntl is None:  # Windows: a file that a running download has open cannot be removed
                tmp.unlink()
                continue
            with open(tmp, "rb") as f:
                fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)  # fails while a download holds it
                tmp.unlink()
        except OSError:
            pass


def _fetch(url: str, name: str, timeout: float, progress, out) -> None:
    """Stream ``url`` into the open file ``out``, checking it on the way; raise _MirrorFailed
    when the mirror cannot be read, takes more than ``timeout`` seconds in all, sends more than
    ``size_cap(name)`` bytes or sends something that is not MNIST's file. Write errors propagate."""
    if fcntl is not None:
        fcntl.flock(out, fcntl.LOCK_EX)  # tells _remove_stale_temps of other runs it is in use
    deadline, cap, check, n = time.monotonic() + timeout, size_cap(name), _Checksum(name), 0

    def late() -> _MirrorFailed:
        return _MirrorFailed(f"{url}: not complete within the {timeout:g} s deadline "
                             f"({n:,} bytes received); pass a longer {advice('timeout')}")

    try:
        r = urllib.request.urlopen(url, timeout=min(timeout, STALL))
    except (urllib.error.URLError, OSError, ValueError, http.client.HTTPException) as e:
        raise _MirrorFailed(f"{url}: {getattr(e, 'reason', e)}") from None
    with r:
        try:
            length = int(r.headers["Content-Length"])
        except (KeyError, TypeError, ValueError):
            length = None
        if length is not None and length > cap:
            raise _MirrorFailed(f"{url}: announces {length:,} bytes, more than the {cap:,} bytes an "
                                f"MNIST file can have; not an MNIST mirror, try another {advice('mirror')}")
        bar = progress(desc=f"{name}.gz", total=length or GZ_SIZES[name]) if progress else None
        sock = getattr(getattr(r, "fp", None), "raw", None)
        # http(s)' socket, so that no read waits past the deadline (without it: at most STALL more)
        sock = getattr(sock, "_sock", None)
        try:
            while True:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise late()
                if sock is not None:
                    sock.settimeout(min(left, STALL))
                try:
                    chunk = r.read1(1 << 16)
                except TimeoutError:
                    if deadline - time.monotonic() <= 0:
                        raise late() from None
                    raise _MirrorFailed(f"{url}: nothing received for {STALL:g} s") from None
                except (OSError, http.client.HTTPException) as e:
                    raise _MirrorFailed(f"{url}: {e}") from None
                if not chunk:
                    break
                n += len(chunk)
                if n > cap:
                    raise _MirrorFailed(f"{url}: cut at {cap:,} bytes, more than an MNIST file can "
                                        f"have; not an MNIST mirror, try another {advice('mirror')}")
                out.write(chunk)
                check.update(chunk)
                if bar is not None:
                    bar.update(len(chunk))
        finally:
            if bar is not None:
                bar.close()
    if length is not None and n < length:
        raise _MirrorFailed(f"{url}: connection closed after {n:,} of {length:,} bytes")
    if not check.ok():
        raise _MirrorFailed(f"{url}: checksum mismatch")


def download(
    data_dir: str | os.PathLike | None = None,
    mirrors: tuple[str, ...] = MIRRORS,
    timeout: float = 300.0,
    log=print,
    progress=None,
) -> Path:
    """Fetch the four MNIST .gz files into ``data_dir``, trying mirrors in turn, md5-checked.

    Files already present and valid are kept. Each file must arrive within ``timeout`` seconds
    and ``size_cap`` bytes; it is written to a temporary name (mode 0666 minus the umask, as
    fileio writes) and renamed only once its checksum is right; the temporary file is removed on
    every failure, and one left by a killed download is removed by the next. ``log(line)``
    gets a line per file; ``progress(desc=..., total=...)``, when given, makes a bar (tqdm's
    interface: ``update(n)``, ``close()``) for each file fetched.
    """
    if not timeout > 0:
        raise ConfigError(f"timeout must be more than 0 seconds per file, got {timeout}", setting="timeout")
    log = log or (lambda line: None)
    data_dir = resolve_data_dir(data_dir)
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise DataError(
            f"cannot create {data_dir} ({e.strerror}); choose a writable {advice('data_dir')}"
        ) from None
    for name in FILES.values():
        target = data_dir / f"{name}.gz"
        _remove_stale_temps(data_dir, name)
        if target.is_file() and _md5_ok(target, name):
            log(f"{target}: present, checksum ok")
            continue
        failures = []
        for mirror in mirrors:
            url = mirror.rstrip("/") + f"/{name}.gz"
            start = time.monotonic()
            try:
                atomic_write(target, functools.partial(_fetch, url, name, timeout, progress))
            except _MirrorFailed as e:
                failures.append(str(e))
                continue
            except OSError as e:
                raise DataError(f"cannot write {target} ({e.strerror or e}); free some space "
                                f"or choose a writable {advice('data_dir')}") from None
            seconds, size = max(time.monotonic() - start, 1e-3), target.stat().st_size
            log(f"{target}: downloaded from {url} ({size:,} bytes in {seconds:.1f} s, "
                f"{size / seconds / 1e6:.1f} MB/s)")
            break
        else:
            raise DataError(
                f"could not download {name}.gz from any mirror ({'; '.join(failures)}); "
                f"check the internet connection, or copy the four MNIST files into {data_dir}"
            )
    return data_dir
