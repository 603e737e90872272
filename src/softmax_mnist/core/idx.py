"""Read and write IDX files, the format MNIST ships in, raw or gzip-compressed.

Layout (big-endian): two zero bytes, a type code, the number of dimensions d,
then d uint32 sizes, then the values in C order. Every field is checked before
any data is allocated, so a corrupt header cannot ask for terabytes.
"""

from __future__ import annotations

import errno
import gzip
import math
import os
import stat
import struct
import zlib
from pathlib import Path

import numpy as np

from softmax_mnist.errors import DataError
from softmax_mnist.fileio import atomic_write_bytes

# type code -> dtype as stored (big-endian for multi-byte types)
DTYPES = {
    0x08: np.dtype(np.uint8),
    0x09: np.dtype(np.int8),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
CODES = {dt.newbyteorder(">") if dt.itemsize > 1 else dt: code for code, dt in DTYPES.items()}
# the most data one file may hold, whatever memory is free: what MNIST-format data can sensibly
# be, a million 28x28 images (784 MB). MNIST's training file holds 47 MB, EMNIST's largest
# (byclass, 697,932 images) 547 MB. A 2 MB .gz can claim 2.7 million images (10 GB once read
# and converted to float32): refused from its header, before anything is read.
MAX_BYTES = 1_000_000 * 28 * 28
MAX_DIMS = 32  # the most dimensions every supported NumPy can hold (the format allows 255)
CHUNK = 1 << 20
GZIP_MAGIC = b"\x1f\x8b"


class IdxError(DataError):
    """An IDX file that cannot be read as what its header says."""


class NotRegularFile(OSError):
    """A path that is a FIFO, a device or a socket: reading it may never end (/dev/zero) or never
    start (a FIFO without a writer)."""


def open_regular(path: str | os.PathLike):
    """``path`` opened for reading in binary, or NotRegularFile when it is not a regular file.

    The file is opened without blocking (a FIFO would otherwise wait for a writer), then its
    type is checked on the open descriptor, so the path cannot be swapped in between. Only a
    regular file is returned, and O_NONBLOCK changes nothing for one, so the descriptor is
    never switched back with ``os.set_blocking`` (on Windows, Python 3.12 and later, that
    works on pipes only and fails on a file).
    """
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    try:
        mode = os.fstat(fd).st_mode
        if stat.S_ISDIR(mode):
            raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), str(path))
        if not stat.S_ISREG(mode):
            kind = ("a FIFO (named pipe)" if stat.S_ISFIFO(mode) else "a device"
                    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode) else "a socket"
                    if stat.S_ISSOCK(mode) else "not a regular file")
            raise NotRegularFile(f"{kind}, not a regular file: it is not read")
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


class FileTooLarge(OSError):
    """A settings or progress file larger than such a file can be."""


def read_regular(path: str | os.PathLike, limit: int) -> bytes:
    """The bytes of the regular file ``path`` (open_regular), at most ``limit`` of them:
    FileTooLarge when it holds more, so /dev/zero or a runaway file never fills the memory."""
    with open_regular(path) as f:
        data = f.read(limit + 1)
    if len(data) > limit:
        raise FileTooLarge(f"larger than {limit:,} bytes, more than such a file holds")
    return data


def available_memory() -> int:
    """Bytes this process can still allocate, as well as can be told: the least of the
    system's available memory (MemAvailable), the cgroup's remaining limit and the address
    space left under RLIMIT_AS. Without any of these, 2**63 (no known limit)."""
    limits = []
    try:
        with open("/proc/meminfo", "rb") as f:
            for line in f:
                if line.startswith(b"MemAvailable:"):
                    limits.append(int(line.split()[1]) * 1024)
    except (OSError, ValueError, IndexError):
        pass
    cg = Path("/sys/fs/cgroup")
    try:
        top = (cg / "memory.max").read_text(encoding="utf-8").strip()
        if top != "max":
            limits.append(int(top) - int((cg / "memory.current").read_text(encoding="utf-8")))
    except (OSError, ValueError):
        pass
    try:
        import resource

        soft = resource.getrlimit(resource.RLIMIT_AS)[0]
        if soft != resource.RLIM_INFINITY:
            used = 0
            with open("/proc/self/status", "rb") as f:
                for line in f:
                    if line.startswith(b"VmSize:"):
                        used = int(line.split()[1]) * 1024
            limits.append(soft - used)
    except (ImportError, OSError, ValueError, IndexError):
        pass
    return max(0, min(limits)) if limits else 1 << 63


def read_idx(path: str | os.PathLike, max_bytes: int = MAX_BYTES, memory_limit: int | None = None,
             copy_itemsize: int = 4) -> np.ndarray:
    """Read an IDX file (raw or .gz, detected from its first bytes) into a native-endian array.

    ``memory_limit``: refuse, from the header alone, a file whose values would not fit in
    that many bytes once read *and* copied to ``copy_itemsize`` bytes each (4: the float32
    features preprocessing makes of images; 8: int64 labels).
    """
    path = Path(path)
    fix = "download it again (softmax-mnist download) or check the path"
    try:
        with open_regular(path) as raw:
            compressed = raw.read(2) == GZIP_MAGIC
            size = os.fstat(raw.fileno()).st_size
            raw.seek(0)
            with (gzip.GzipFile(fileobj=raw, mode="rb") if compressed else raw) as f:
                head = f.read(4)
                if len(head) < 4:
                    raise IdxError(f"{path}: too short for an IDX header ({len(head)} bytes); {fix}")
                zero, code, ndim = struct.unpack(">HBB", head)
                if zero != 0:
                    raise IdxError(f"{path}: bad magic number 0x{head.hex()}, not an IDX file; {fix}")
                if code not in DTYPES:
                    raise IdxError(f"{path}: unknown IDX type code 0x{code:02x}; {fix}")
                if not 1 <= ndim <= MAX_DIMS:
                    raise IdxError(f"{path}: IDX header says {ndim} dimensions, not 1 to {MAX_DIMS}; {fix}")
                dims_raw = f.read(4 * ndim)
                if len(dims_raw) < 4 * ndim:
                    raise IdxError(f"{path}: truncated in the header; {fix}")
                shape = struct.unpack(f">{ndim}I", dims_raw)
                dtype = DTYPES[code]
                count = math.prod(shape)
                nbytes = count * dtype.itemsize  # exact: Python ints do not overflow
                if nbytes > max_bytes:
                    raise IdxError(
                        f"{path}: header claims {nbytes:,} bytes of data (shape {shape}), "
                        f"over the {max_bytes:,}-byte limit of a data file (MNIST's largest is 47 MB); {fix}"
                    )
                if memory_limit is not None and nbytes + count * copy_itemsize > memory_limit:
                    raise IdxError(
                        f"{path}: header claims {count:,} values (shape {shape}): "
                        f"{nbytes + count * copy_itemsize:,} bytes once read and converted, over "
                        f"the memory limit of {memory_limit:,} bytes (from the memory available "
                        "now); free memory or use a smaller file"
                    )
                if not compressed:
                    # a raw file's size is known: refuse a lying header before reading
                    have = size - 4 - 4 * ndim
                    if have != nbytes:
                        what = "truncated" if have < nbytes else "longer than its header says"
                        raise IdxError(
                            f"{path}: {what}: header says {nbytes:,} bytes of data, "
                            f"file has {have:,}; {fix}"
                        )
                data = _read_at_most(f, nbytes + 1)  # one byte more reveals a file longer than its header
    except FileNotFoundError:
        raise IdxError(f"{path}: no such file; {fix}") from None
    except NotRegularFile as e:
        raise IdxError(f"{path}: {e}; pass the path of an IDX file") from None
    except (IsADirectoryError, PermissionError) as e:
        raise IdxError(f"{path}: cannot read it ({e.strerror}); check the path") from None
    except (OSError, EOFError, zlib.error) as e:
        # gzip raises BadGzipFile (an OSError), EOFError for a cut stream, zlib.error for bad bytes
        raise IdxError(f"{path}: corrupt or truncated gzip data ({e}); {fix}") from None
    if len(data) != nbytes:
        what = "truncated" if len(data) < nbytes else "longer than its header says"
        raise IdxError(
            f"{path}: {what}: header says {nbytes:,} bytes of data, "
            f"found {'more' if len(data) > nbytes else f'{len(data):,}'}; {fix}"
        )
    try:
        array = np.frombuffer(data, dtype=dtype).reshape(shape)
    except ValueError:  # e.g. shape (0, 2**32 - 1, 2**32 - 1): no data, yet too big for NumPy
        raise IdxError(f"{path}: header shape {shape} cannot be held in an array; {fix}") from None
    return array.astype(dtype.newbyteorder("="))


def _read_at_most(f, n: int) -> bytearray:
    """Up to ``n`` bytes of ``f``, read in chunks: memory grows with the data really there,
    not with what a header claims (a 30-byte .gz can claim 2 GB)."""
    data = bytearray()
    while len(data) < n:
        part = f.read(min(CHUNK, n - len(data)))
        if not part:
            break
        data += part
    return data


def write_idx(path: str | os.PathLike, array: np.ndarray, compress: bool | None = None) -> None:
    """Write ``array`` as an IDX file, gzip-compressed when the name ends in .gz (atomically)."""
    path = Path(path)
    array = np.asarray(array)
    stored = array.dtype.newbyteorder(">") if array.dtype.itemsize > 1 else array.dtype
    if stored not in CODES:
        raise ValueError(f"IDX cannot store dtype {array.dtype}; use one of {list(CODES)}")
    if not 1 <= array.ndim <= 255:
        raise ValueError(f"IDX needs 1 to 255 dimensions, got {array.ndim}")
    payload = struct.pack(f">HBB{array.ndim}I", 0, CODES[stored], array.ndim, *array.shape)
    payload += np.ascontiguousarray(array, dtype=stored).tobytes()
    if compress is None:
        compress = path.suffix == ".gz"
    if compress:
        payload = gzip.compress(payload, mtime=0)
    atomic_write_bytes(path, payload)
