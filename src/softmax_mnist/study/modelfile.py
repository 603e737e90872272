"""model.npz: weights plus a JSON description, readable without pickle.

Arrays: ``W`` (D, C) float32, ``b`` (1, C) float32, ``meta``: a 0-d unicode array holding
JSON with the format name and version, shapes, class count, the preprocessing and the image
transform (``"transform": {"deskew": true, "ink_size": 5.5, "blur_sigma": 0.8}``; absent in
files without one), so ``evaluate`` and ``predict`` prepare images exactly as training did.
"""

from __future__ import annotations

import io
import json
import lzma
import math
import os
import zipfile
import zlib
from pathlib import Path

import numpy as np

from softmax_mnist.core.data import PREPROCESS_MODES, preprocess
from softmax_mnist.core.model import SoftmaxRegression
from softmax_mnist.core.transforms import apply_transform, check_transform
from softmax_mnist.errors import ConfigError, DataError, SoftmaxMnistError
from softmax_mnist.errors import is_real as _real
from softmax_mnist.errors import is_whole as _whole
from softmax_mnist.fileio import atomic_write

FORMAT = "softmax-mnist-model"
VERSION = 1
ARRAYS = ("W", "b", "meta")
MAX_BYTES = 1 << 28  # 256 MiB of arrays; a 784 x 10 model is 31 KB
MAX_META_BYTES = 1 << 22  # 1 M characters of JSON (stored as 4-byte unicode)
# the largest score (logit) a model may give any image: far beyond any trained model (scores of
# ~1e2), and small enough that score differences, per-image losses and their sums over a data
# set stay finite in float32 (max 3.4e38), so evaluate and predict never meet inf or NaN
MAX_LOGIT = 1e30


class ModelFileError(DataError):
    """A model file that is missing, corrupt, or not one this version can use."""


def save_model(path: str | os.PathLike, model: SoftmaxRegression, preprocess_mode: str,
               stats: dict | None = None, extra: dict | None = None,
               transform: dict | None = None) -> Path:
    """Write ``model`` and how its inputs were prepared (transform, preprocessing) to ``path``
    (atomically)."""
    W, b = model.params["W"], model.params["b"]
    meta = {
        "format": FORMAT, "version": VERSION,
        "num_features": int(W.shape[0]), "num_classes": int(W.shape[1]),
        "image_shape": [28, 28], "preprocess": preprocess_mode, "stats": stats,
        **(extra or {}),
    }
    transform = check_transform(transform)
    if transform is not None:  # no key at all without one: older readers see the same file
        meta["transform"] = transform
    buf = io.BytesIO()
    np.savez(buf, W=W.astype(np.float32), b=b.astype(np.float32), meta=np.array(json.dumps(meta)))
    return atomic_write(path, lambda f: f.write(buf.getvalue()))


def load_model(path: str | os.PathLike) -> tuple[SoftmaxRegression, dict]:
    """Read a model file written by ``save_model``; every field is checked."""
    path = Path(path)

    def bad(what: str) -> ModelFileError:
        return ModelFileError(f"{path}: {what}; use a model.npz written by `softmax-mnist train`")

    if path.exists() and not path.is_file():
        raise ModelFileError(f"{path} is not a regular file (a folder, FIFO or device); pass a "
                             "model.npz written by `softmax-mnist train`")
    if not path.is_file():
        raise ModelFileError(f"model file {path} not found; train one with `softmax-mnist train`")
    arrays = read_npz(path, bad)
    W, b, meta_arr = arrays["W"], arrays["b"], arrays["meta"]
    if meta_arr.dtype.kind != "U" or meta_arr.shape != ():
        raise bad("its meta field is not a JSON string")
    try:
        meta = json.loads(str(meta_arr))
    except (ValueError, RecursionError):  # JSONDecodeError is a ValueError; RecursionError: [[[[...
        raise bad("its meta field is not valid JSON") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise bad("it is not a softmax-mnist model")
    if not _whole(meta.get("version")) or meta["version"] != VERSION:
        raise bad(f"unknown format version {meta.get('version')!r} (this program reads {VERSION})")
    d, c = meta.get("num_features"), meta.get("num_classes")
    if not (_whole(d) and _whole(c) and d > 0 and c > 1):
        raise bad("its meta gives no valid num_features / num_classes")
    params = {}
    for name, arr, shape in (("W", W, (d, c)), ("b", b, (1, c))):
        if arr.dtype.kind != "f" or arr.shape != shape:
            raise bad(f"{name} is {arr.dtype} {arr.shape}, expected float {shape}")
        with np.errstate(over="ignore"):
            params[name] = arr.astype(np.float32)  # float64 values beyond float32 become inf here
        if not np.isfinite(params[name]).all():
            raise bad(f"{name} holds non-finite values (or values too large for float32)")
    if meta.get("preprocess") not in PREPROCESS_MODES:
        raise bad(f"unknown preprocessing {meta.get('preprocess')!r}")
    if meta["preprocess"] == "standardize" and not _stats_ok(meta.get("stats")):
        raise bad("standardize preprocessing without a valid mean and std")
    shape = meta.get("image_shape")
    if "image_shape" in meta and not (isinstance(shape, list) and all(_whole(n) and n > 0 for n in shape)):
        raise bad(f"its image_shape {shape!r} is not a list of sizes")
    try:
        transform = check_transform(meta.get("transform"))
    except ConfigError as e:
        raise bad(f"its image transform is invalid ({e})") from None
    if transform is not None and (not isinstance(shape, list) or len(shape) != 2
                                  or shape[0] * shape[1] != d):
        raise bad(f"an image transform needs a 2-D image_shape of {d} pixels, got {shape!r}")
    config = meta.get("config")  # evaluate reads config.val_size
    if "config" in meta and not (isinstance(config, dict) and (
            "val_size" not in config or _whole(config["val_size"]) and config["val_size"] >= 0)):
        raise bad("its config is not a table of settings with a whole-number val_size")
    top = _max_logit(params["W"], params["b"], meta)
    if not top <= MAX_LOGIT:
        raise bad(f"its weights are finite but so large that its scores overflow (up to {top:.3g}, "
                  f"the limit is {MAX_LOGIT:.0g})")
    model = SoftmaxRegression(d, c)
    model.params["W"][...] = params["W"]
    model.params["b"][...] = params["b"]
    return model, meta


def _max_logit(W: np.ndarray, b: np.ndarray, meta: dict) -> float:
    """A bound on |x W + b| over every input x the model's preprocessing can make, in float64:
    each feature is within [-1, 1] (course, unit) or the standardized ends of [0, 1]."""
    x_max = 1.0
    if meta["preprocess"] == "standardize":
        mean, std = float(meta["stats"]["mean"]), float(meta["stats"]["std"])
        x_max = max(abs(mean), abs(1 - mean)) / std
    with np.errstate(over="ignore"):
        bound = x_max * np.abs(W.astype(np.float64)).sum(axis=0) + np.abs(b.astype(np.float64)[0])
    return float(bound.max())


def _stats_ok(stats) -> bool:
    """A mean and std > 0 that turn pixel values in [0, 1] into finite float32 features."""
    if not (isinstance(stats, dict) and _real(stats.get("mean")) and _real(stats.get("std"))):
        return False
    with np.errstate(all="ignore"):
        mean, std = np.float32(float(stats["mean"])), np.float32(float(stats["std"]))
        ends = (np.array([0, 1], np.float32) - mean) / std
    return bool(std > 0 and np.isfinite(ends).all())


def read_npz(path: Path, bad, names=ARRAYS) -> dict[str, np.ndarray]:
    """The arrays ``names`` of the .npz at ``path``, without pickle, each checked before
    it is allocated: a few-byte file can claim a terabyte array or a huge compressed meta.
    ``names=None`` reads every member. ``bad(what)`` makes the exception to raise.
    Also used for checkpoints."""
    try:
        with zipfile.ZipFile(path) as zf:
            sizes = {info.filename: info.file_size for info in zf.infolist()}
            if names is None:
                names = tuple(n[:-4] for n in sizes if n.endswith(".npy"))
            missing = [k for k in (*names, "meta") if f"{k}.npy" not in sizes]
            if missing:
                raise bad(f"missing array(s) {', '.join(missing)}")
            total = sum(sizes[f"{k}.npy"] for k in names)
            if total > MAX_BYTES or sizes["meta.npy"] > MAX_META_BYTES:
                raise bad(f"its arrays hold {total:,} bytes (meta {sizes['meta.npy']:,}), over the "
                          f"limit of {MAX_BYTES:,} (meta {MAX_META_BYTES:,})")
            return {k: _read_npy(zf.read(f"{k}.npy"), k, bad) for k in names}
    except SoftmaxMnistError:
        raise
    except (OSError, EOFError, zipfile.BadZipFile, zlib.error, lzma.LZMAError, NotImplementedError,
            RuntimeError, ValueError) as e:  # RuntimeError: encrypted; NotImplementedError: method
        raise bad(f"not a valid .npz file ({type(e).__name__})") from None


def _read_npy(data: bytes, name: str, bad) -> np.ndarray:
    """One .npy member: header checked (no objects, size matching the shape), then the array."""
    f = io.BytesIO(data)
    try:
        version = np.lib.format.read_magic(f)
        if version not in ((1, 0), (2, 0)):
            raise bad(f"{name} is in .npy format {version}, not 1.0 or 2.0")
        read_header = np.lib.format.read_array_header_1_0 if version == (1, 0) else \
            np.lib.format.read_array_header_2_0
        shape, _, dtype = read_header(f)
        if dtype.hasobject:  # loading these would need pickle
            raise bad(f"{name} is unreadable: it holds Python objects, which would need pickle")
        if dtype.itemsize == 0 or math.prod(shape) * dtype.itemsize != len(data) - f.tell():
            raise bad(f"{name}: {len(data) - f.tell():,} bytes do not hold a {dtype} array of shape {shape}")
        return np.lib.format.read_array(io.BytesIO(data), allow_pickle=False)
    except SoftmaxMnistError:
        raise
    except ValueError as e:
        raise bad(f"{name} is unreadable ({e})") from None


def model_inputs(images: np.ndarray, meta: dict) -> np.ndarray:
    """uint8 images (N, 28, 28) -> the float32 features (N, D) this model was trained on:
    the model's image transform (if any), then its preprocessing."""
    transform = meta.get("transform")
    if transform is not None:
        h, w = meta.get("image_shape", [28, 28])
        images = apply_transform(images.reshape(len(images), h, w), transform)
    return preprocess(images, meta["preprocess"], meta.get("stats"))
