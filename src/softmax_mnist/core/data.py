"""Find, download, verify, split and preprocess MNIST-format data.

The data directory is ``--data-dir``, else ``$MNIST_DATA_DIR``, else a per-user
cache folder. Files may be gzip-compressed (``.gz``) or not, and named with a hyphen or a
dot before ``idx`` (``train-images-idx3-ubyte`` or ``train-images.idx3-ubyte``).
"""

from __future__ import annotations

import functools
import hashlib
import http.client
import math
import os
import time
import urllib.error
import urllib.request
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from softmax_mnist.core.idx import available_memory, read_idx
from softmax_mnist.core.transforms import apply_transform, check_transform
from softmax_mnist.errors import ConfigError, DataError, advice, command, is_whole
from softmax_mnist.fileio import atomic_write

try:
    import fcntl  # locks a download's temporary file while it is written
except ImportError:  # Windows: an open file cannot be removed, which protects it as well
    fcntl = None

FILES = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}
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
NUM_CLASSES = 10  # the digits 0 .. 9
NUM_FEATURES = 784  # 28 x 28 pixels, one feature each
# a label file holds at most a million labels of up to 8 bytes (images: idx.MAX_BYTES)
MAX_LABEL_BYTES = 1_000_000 * 8
PREPROCESS_MODES = ("course", "unit", "standardize")


def default_data_dir() -> Path:
    """$MNIST_DATA_DIR, else $XDG_CACHE_HOME/softmax-mnist/mnist (~/.cache/... by default)."""
    if os.environ.get("MNIST_DATA_DIR"):
        return Path(os.environ["MNIST_DATA_DIR"])
    cache = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(cache) / "softmax-mnist" / "mnist"


def resolve_data_dir(data_dir: str | os.PathLike | None) -> Path:
    return Path(data_dir) if data_dir else default_data_dir()


def file_names(name: str) -> tuple[str, ...]:
    """The names ``find_file`` accepts for ``name``, in the order it tries them.

    ``train-images-idx3-ubyte`` -> its .gz, itself, then the dotted ``train-images.idx3-ubyte``
    (Kaggle's copies and the files as Windows tools extract them) and its .gz.
    """
    dotted = name.replace("-idx", ".idx")
    names = (f"{name}.gz", name, dotted, f"{dotted}.gz")
    return tuple(dict.fromkeys(names))  # a name without "-idx" has no dotted form


def find_file(data_dir: Path, name: str) -> Path:
    """The path of ``name`` in ``data_dir`` under one of ``file_names(name)``, or a DataError
    that lists the names looked for and says how to get the file."""
    if not data_dir.is_dir():
        raise DataError(
            f"data directory {data_dir} does not exist; run `{command('download', '--data-dir', data_dir)}` "
            f"or set {advice('data_dir')} (or MNIST_DATA_DIR) to the folder of the MNIST files"
        )
    names = file_names(name)
    for candidate in names:
        if (data_dir / candidate).is_file():
            return data_dir / candidate
    raise DataError(
        f"{name} not found in {data_dir} (looked for {', '.join(names)}); "
        f"run `{command('download', '--data-dir', data_dir)}`"
    )


def load_raw(data_dir: str | os.PathLike | None, kind: str) -> tuple[np.ndarray, np.ndarray]:
    """Images (N, 28, 28) uint8 and labels (N,) int64 of ``kind`` 'train' or 't10k', checked."""
    data_dir = resolve_data_dir(data_dir)
    key = "train" if kind == "train" else "test"
    img_path = find_file(data_dir, FILES[f"{key}_images"])
    lab_path = find_file(data_dir, FILES[f"{key}_labels"])
    # cap what is read by what the run can hold: images become float32 features (4 bytes a
    # value), labels int64; a header asking for more than the memory available is refused
    images = read_idx(img_path, memory_limit=available_memory(), copy_itemsize=4)
    labels = read_idx(lab_path, MAX_LABEL_BYTES, memory_limit=available_memory(), copy_itemsize=8)
    if images.ndim != 3 or images.dtype != np.uint8:
        raise DataError(
            f"{img_path}: expected uint8 images of shape (N, rows, cols), "
            f"got {images.dtype} {images.shape}; download it again"
        )
    if labels.ndim != 1:
        raise DataError(f"{lab_path}: expected labels of shape (N,), got {labels.shape}")
    if labels.dtype.kind not in "iu":  # NaN, inf or 2.5 is no class; a float file is no label file
        raise DataError(f"{lab_path}: labels are stored as {labels.dtype}, not as whole numbers "
                        "(MNIST labels are unsigned bytes 0..9); use the label file of the data "
                        "set, or download it again")
    if len(images) != len(labels):
        raise DataError(
            f"{img_path.name} has {len(images):,} images but {lab_path.name} has "
            f"{len(labels):,} labels; the two files must come from the same set"
        )
    bad = (labels < 0) | (labels >= NUM_CLASSES)
    if bad.any():
        i = int(np.argmax(bad))
        raise DataError(
            f"{lab_path}: label {int(labels[i])} at index {i} is outside 0..{NUM_CLASSES - 1}; "
            "the file is corrupt, download it again"
        )
    return images, labels.astype(np.int64)


# ---- preprocessing -------------------------------------------------------------------------


def preprocess(images: np.ndarray, mode: str = "course", stats: dict | None = None) -> np.ndarray:
    """uint8 images (N, ...) -> float32 (N, D).

    course:      x / 255, minus each image's own mean (what the course does)
    unit:        x / 255
    standardize: (x / 255 - mean) / std, with the scalars in ``stats`` (from the train split)
    """
    if mode not in PREPROCESS_MODES:
        raise ConfigError(f"unknown preprocessing {mode!r}; choose one of {PREPROCESS_MODES}")
    x = images.reshape(len(images), -1).astype(np.float32)
    x *= np.float32(1 / 255)
    if mode == "course":
        x -= x.mean(axis=1, keepdims=True)
    elif mode == "standardize":
        if stats is None:
            raise ConfigError("standardize needs the train split's mean and std (stats=...)")
        x -= np.float32(stats["mean"])
        x /= np.float32(stats["std"])
    return x


def fit_stats(images: np.ndarray) -> dict:
    """Mean and std of x / 255 over all pixels of ``images`` (the train split), as floats."""
    # exact integer sums instead of a float64 copy of the images (345 MB for MNIST's train split)
    n = images.size
    total = int(images.sum(dtype=np.int64))
    squares = int(np.einsum("i,i->", images.reshape(-1), images.reshape(-1), dtype=np.int64))
    mean = total / n
    var = max(squares / n - mean * mean, 0.0)
    return {"mean": mean / 255, "std": math.sqrt(var) / 255}


@dataclass
class Splits:
    """Preprocessed float32 features (N, NUM_FEATURES) and int64 labels for train, val and test."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    preprocess: str
    stats: dict | None = None
    transform: dict | None = None  # the image transform applied before preprocessing


VAL_SIZE = 5000  # the course's split: the last 5,000 training images validate


def split_at(n: int, val_size: int = VAL_SIZE) -> int:
    """Where the training file splits: images [0, cut) train, [cut, n) validate. The one
    place of the train/validation split (load_splits, the course's Dataset, evaluate)."""
    if not is_whole(val_size) and not isinstance(val_size, np.integer) or not 0 <= val_size < n:
        raise ConfigError(f"validation size must be a whole number in 0..{n - 1}, got {val_size!r}")
    return n - int(val_size)


def load_splits(
    data_dir: str | os.PathLike | None = None,
    val_size: int = VAL_SIZE,
    preprocess_mode: str = "course",
    transform: dict | None = None,
    progress=None,
) -> Splits:
    """The course's split: first 60000 - val_size training images train, the rest validate.

    ``transform`` (see transforms.py), when given, maps every image before preprocessing.
    """
    transform = check_transform(transform)
    images, labels = load_raw(data_dir, "train")
    test_images, test_labels = load_raw(data_dir, "t10k")  # read both first: shapes must agree
    if not len(images) or not len(test_images):
        raise DataError(f"the {'training' if not len(images) else 'test'} file in "
                        f"{resolve_data_dir(data_dir)} holds no images; download MNIST again")
    if test_images.shape[1:] != images.shape[1:]:
        raise DataError(f"training images are {images.shape[1]}x{images.shape[2]} but test images "
                        f"are {test_images.shape[1]}x{test_images.shape[2]} in "
                        f"{resolve_data_dir(data_dir)}; the four files must come from one data set")
    n_train = split_at(len(images), val_size)
    images = apply_transform(images, transform, progress)
    stats = fit_stats(images[:n_train]) if preprocess_mode == "standardize" else None
    x = preprocess(images, preprocess_mode, stats)
    del images  # the uint8 copy is not needed any more: keep the peak memory down
    return Splits(
        x[:n_train], labels[:n_train], x[n_train:], labels[n_train:],
        preprocess(apply_transform(test_images, transform, progress), preprocess_mode, stats),
        test_labels,
        preprocess_mode, stats, transform,
    )


# ---- download ------------------------------------------------------------------------------

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
