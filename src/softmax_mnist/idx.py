"""Read and write IDX files, the format MNIST ships in, raw or gzip-compressed.

Layout (big-endian): two zero bytes, a type code, the number of dimensions d,
then d uint32 sizes, then the values in C order. Every field is checked before
any data is allocated, so a corrupt header cannot ask for terabytes.
"""

from __future__ import annotations

import gzip
import math
import os
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
MAX_BYTES = 1 << 31  # 2 GiB: far above MNIST (47 MB) and refuses absurd headers
MAX_DIMS = 32  # the most dimensions every supported NumPy can hold (the format allows 255)
CHUNK = 1 << 20
GZIP_MAGIC = b"\x1f\x8b"


class IdxError(DataError):
    """An IDX file that cannot be read as what its header says."""


def read_idx(path: str | os.PathLike, max_bytes: int = MAX_BYTES) -> np.ndarray:
    """Read an IDX file (raw or .gz, detected from its first bytes) into a native-endian array."""
    path = Path(path)
    fix = "download it again (softmax-mnist download) or check the path"
    try:
        with open(path, "rb") as raw:
            compressed = raw.read(2) == GZIP_MAGIC
        opener = gzip.open if compressed else open
        with opener(path, "rb") as f:
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
            nbytes = math.prod(shape) * dtype.itemsize  # exact: Python ints do not overflow
            if nbytes > max_bytes:
                raise IdxError(
                    f"{path}: header claims {nbytes:,} bytes of data (shape {shape}), "
                    f"over the {max_bytes:,}-byte limit; {fix}"
                )
            if not compressed:
                # a raw file's size is known: refuse a lying header before reading
                have = path.stat().st_size - 4 - 4 * ndim
                if have != nbytes:
                    what = "truncated" if have < nbytes else "longer than its header says"
                    raise IdxError(
                        f"{path}: {what}: header says {nbytes:,} bytes of data, "
                        f"file has {have:,}; {fix}"
                    )
            data = _read_at_most(f, nbytes + 1)  # one byte more reveals a file longer than its header
    except FileNotFoundError:
        raise IdxError(f"{path}: no such file; {fix}") from None
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
