"""model.npz: weights plus a JSON description, readable without pickle.

Arrays: ``W`` (D, C) float32, ``b`` (1, C) float32, ``meta``: a 0-d unicode array holding
JSON with the format name and version, shapes, class count and the preprocessing, so
``evaluate`` and ``predict`` prepare images exactly as training did.
"""

from __future__ import annotations

import io
import json
import os
import zipfile
from pathlib import Path

import numpy as np

from softmax_mnist.datasets import PREPROCESS_MODES, preprocess
from softmax_mnist.errors import DataError
from softmax_mnist.fileio import atomic_write
from softmax_mnist.model import SoftmaxRegression

FORMAT = "softmax-mnist-model"
VERSION = 1


class ModelFileError(DataError):
    """A model file that is missing, corrupt, or not one this version can use."""


def save_model(path: str | os.PathLike, model: SoftmaxRegression, preprocess_mode: str,
               stats: dict | None = None, extra: dict | None = None) -> Path:
    """Write ``model`` and how its inputs were preprocessed to ``path`` (atomically)."""
    W, b = model.params["W"], model.params["b"]
    meta = {
        "format": FORMAT, "version": VERSION,
        "num_features": int(W.shape[0]), "num_classes": int(W.shape[1]),
        "image_shape": [28, 28], "preprocess": preprocess_mode, "stats": stats,
        **(extra or {}),
    }
    buf = io.BytesIO()
    np.savez(buf, W=W.astype(np.float32), b=b.astype(np.float32), meta=np.array(json.dumps(meta)))
    return atomic_write(path, lambda f: f.write(buf.getvalue()))


def load_model(path: str | os.PathLike) -> tuple[SoftmaxRegression, dict]:
    """Read a model file written by ``save_model``; every field is checked."""
    path = Path(path)

    def bad(what: str) -> ModelFileError:
        return ModelFileError(f"{path}: {what}; use a model.npz written by `softmax-mnist train`")

    if not path.is_file():
        raise ModelFileError(f"model file {path} not found; train one with `softmax-mnist train`")
    try:
        with np.load(path, allow_pickle=False) as z:
            missing = {"W", "b", "meta"} - set(z.files)
            if missing:
                raise bad(f"missing array(s) {', '.join(sorted(missing))}")
            W, b, meta_arr = z["W"], z["b"], z["meta"]
    except ModelFileError:
        raise
    except ValueError as e:  # object arrays refuse to load without pickle
        raise bad(f"unreadable ({e})") from None
    except (OSError, EOFError, zipfile.BadZipFile, KeyError, RuntimeError) as e:
        raise bad(f"not a valid .npz file ({type(e).__name__})") from None
    if meta_arr.dtype.kind != "U" or meta_arr.shape != ():
        raise bad("its meta field is not a JSON string")
    try:
        meta = json.loads(str(meta_arr))
    except json.JSONDecodeError:
        raise bad("its meta field is not valid JSON") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise bad("it is not a softmax-mnist model")
    if meta.get("version") != VERSION:
        raise bad(f"unknown format version {meta.get('version')!r} (this program reads {VERSION})")
    d, c = meta.get("num_features"), meta.get("num_classes")
    if not (isinstance(d, int) and isinstance(c, int) and d > 0 and c > 1):
        raise bad("its meta gives no valid num_features / num_classes")
    for name, arr, shape in (("W", W, (d, c)), ("b", b, (1, c))):
        if arr.dtype.kind != "f" or arr.shape != shape:
            raise bad(f"{name} is {arr.dtype} {arr.shape}, expected float {shape}")
        if not np.isfinite(arr).all():
            raise bad(f"{name} holds non-finite values")
    if meta.get("preprocess") not in PREPROCESS_MODES:
        raise bad(f"unknown preprocessing {meta.get('preprocess')!r}")
    stats = meta.get("stats")
    if meta["preprocess"] == "standardize" and not (
        isinstance(stats, dict) and all(isinstance(stats.get(k), (int, float)) for k in ("mean", "std"))
        and stats["std"] > 0
    ):
        raise bad("standardize preprocessing without a valid mean and std")
    model = SoftmaxRegression(d, c)
    model.params["W"][...] = W
    model.params["b"][...] = b
    return model, meta


def model_inputs(images: np.ndarray, meta: dict) -> np.ndarray:
    """uint8 images (N, 28, 28) -> the float32 features (N, D) this model was trained on."""
    return preprocess(images, meta["preprocess"], meta.get("stats"))
