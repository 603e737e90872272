"""The artifacts of a study folder beside results.json: model.npz and examples.npz (the
reference run), model-best.npz (the best setting on validation). A model the runner did not
keep is trained again as it was (runner.model_of: the same bits)."""

from __future__ import annotations

import io
import math
from pathlib import Path

import numpy as np

from softmax_mnist.core.config import TrainConfig
from softmax_mnist.core.data import NUM_CLASSES, Splits
from softmax_mnist.core.functional import confusion_matrix
from softmax_mnist.fileio import atomic_write
from softmax_mnist.study import results as rs
from softmax_mnist.study.modelfile import save_model
from softmax_mnist.study.runner import config_of, model_of


def _to_uint8_images(x: np.ndarray) -> np.ndarray:
    """Features (N, D) -> (N, side, side) uint8 (MNIST: (N, 784) -> (N, 28, 28)), each image
    stretched to 0..255 (for display)."""
    lo, hi = x.min(axis=1, keepdims=True), x.max(axis=1, keepdims=True)
    side = math.isqrt(x.shape[1])
    return np.round(255 * (x - lo) / np.maximum(hi - lo, 1e-12)).astype(np.uint8).reshape(-1, side, side)


def examples(model, x_test: np.ndarray, y_test: np.ndarray, images: np.ndarray, k: int = 16) -> dict:
    """The arrays of examples.npz: test confusion matrix, most confident mistakes, most ambiguous."""
    proba = model.predict_proba(x_test)
    pred = proba.argmax(axis=1)
    confusion = confusion_matrix(y_test, pred, NUM_CLASSES)
    top2 = np.sort(proba, axis=1)[:, -2:]
    p_pred, margin = top2[:, 1], top2[:, 1] - top2[:, 0]
    wrong = np.flatnonzero(pred != y_test)
    mistakes = wrong[np.argsort(-p_pred[wrong], kind="stable")[:k]]
    ambiguous = np.argsort(margin, kind="stable")[:k]
    out = {"confusion": confusion,  # and each class's mean test image, for the weight templates
           "class_means": np.stack([images[y_test == c].mean(axis=0) if (y_test == c).any()
                                    else np.zeros(images.shape[1:]) for c in range(NUM_CLASSES)]
                                   ).astype(np.float32)}
    for prefix, idx in (("mistakes", mistakes), ("ambiguous", ambiguous)):
        out[f"{prefix}_images"] = images[idx]
        out[f"{prefix}_true"] = y_test[idx].astype(np.int64)
        out[f"{prefix}_pred"] = pred[idx].astype(np.int64)
        out[f"{prefix}_prob"] = p_pred[idx].astype(np.float32)
    out["ambiguous_margin"] = margin[ambiguous].astype(np.float32)
    # the three most frequent confusions, each with its most confident examples (for the report)
    off = confusion.copy()
    np.fill_diagonal(off, 0)
    pairs = [divmod(int(i), NUM_CLASSES) for i in np.argsort(-off, axis=None, kind="stable")[:3]]
    per = 6
    picks = np.zeros((len(pairs), per, *images.shape[1:]), dtype=np.uint8)
    for row, (t, p) in enumerate(pairs):
        idx = np.flatnonzero((y_test == t) & (pred == p))
        idx = idx[np.argsort(-p_pred[idx], kind="stable")[:per]]
        picks[row, : len(idx)] = images[idx]
    out["confusion_pairs"] = np.array(pairs, dtype=np.int64).reshape(-1, 2)
    out["confusion_images"] = picks
    return out


def save_reference(out_dir, results: dict, data: Splits, model=None,
                   images: np.ndarray | None = None, trainer=None) -> str | None:
    """Write model.npz and examples.npz of the reference run (``results["meta"]["reference"]``).

    ``model`` is that run's trained model; when None it is trained again as it was (model_of:
    same seed, same pass, same weights), with ``trainer`` when given (run_study's).
    ``images``: the uint8 test images; when None they are drawn from ``x_test``. Returns the
    reference run's name, or None when there is none (every run diverged).
    """
    name = results["meta"].get("reference")
    if name is None:
        return None
    run = next(r for r in results["runs"] if r["name"] == name)
    config = TrainConfig.from_dict(run["config"])
    if model is None:  # in its stacked pass, as model_of does: the same bits
        model = model_of(name, results["runs"], {}, lambda _: data, trainer)
    out = Path(out_dir)
    save_model(out / "model.npz", model, data.preprocess, data.stats,
               extra={"config": config.to_dict(), "run": name})
    images = _to_uint8_images(data.x_test) if images is None else images
    arrays = examples(model, data.x_test, data.y_test, images)
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    atomic_write(out / "examples.npz", lambda f: f.write(buf.getvalue()))
    return name


def save_best(out_dir, results: dict, models: dict, data_for, trainer=None) -> str | None:
    """Write model-best.npz: the first seed's model of the best setting on validation (when it
    is not the reference already in model.npz; trained again with ``trainer`` when given and
    ``models`` lacks it). Returns that run's name, or None."""
    best = results["best"].get("overall")
    run = next((r for r in results["runs"] if r["setting"] == best and rs.ok(r)), None)
    if run is None or run["name"] == results["meta"].get("reference"):
        return None
    config = config_of(run)
    data = data_for(config)
    model = model_of(run["name"], results["runs"], models, data_for, trainer)
    save_model(Path(out_dir) / "model-best.npz", model, data.preprocess, data.stats,
               extra={"config": config.to_dict(), "run": run["name"]}, transform=data.transform)
    return run["name"]
