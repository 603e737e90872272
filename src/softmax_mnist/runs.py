"""One training run end to end, and the folder it writes.

    config.json   the resolved TrainConfig, data dir and package version
    history.csv   one row per epoch: train/val loss and accuracy, seconds
    metrics.json  final train/val/test loss and accuracy, total seconds
    model.npz     weights and preprocessing (see modelfile)
    curves.png    loss and accuracy per epoch
"""

from __future__ import annotations

import csv
import io
import os
import time
from pathlib import Path

import numpy as np

from softmax_mnist import __version__
from softmax_mnist.config import TrainConfig
from softmax_mnist.datasets import Splits, load_splits, resolve_data_dir
from softmax_mnist.errors import ConfigError
from softmax_mnist.fileio import atomic_write_json, atomic_write_text
from softmax_mnist.model import SoftmaxRegression
from softmax_mnist.modelfile import save_model
from softmax_mnist.optimizer import SGD
from softmax_mnist.solver import History, evaluate, fit
from softmax_mnist.visualize import plot_history, save_figure


def prepare_out_dir(out: str | os.PathLike, force: bool = False) -> Path:
    """Create ``out``; refuse a non-empty one unless ``force`` (results are never overwritten silently)."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise ConfigError(f"output path {out} is a file; choose a folder name with --out")
    if out.is_dir() and any(out.iterdir()) and not force:
        raise ConfigError(f"output folder {out} is not empty; choose another --out or pass --force")
    out.mkdir(parents=True, exist_ok=True)
    return out


def history_csv(history: History) -> str:
    rows = history.epoch_rows()
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buf.getvalue()


def train_model(config: TrainConfig, data: Splits, log=None, display_freq: int = 0):
    """Build the model and optimizer from ``config`` and train on ``data``'s train split."""
    rng = np.random.default_rng(config.seed)
    model = SoftmaxRegression(data.x_train.shape[1], 10, rng=rng)
    opt = SGD(model, config.lr, config.momentum, config.nesterov, config.weight_decay)
    history = fit(model, opt, data.x_train, data.y_train, data.x_val, data.y_val,
                  config.epochs, config.batch_size, rng, log, display_freq)
    return model, history


def train_run(config: TrainConfig, data_dir=None, out=None, log=None, force=False,
              data: Splits | None = None) -> dict:
    """Train with ``config``; with ``out``, write the run folder. Returns the metrics dict."""
    out = prepare_out_dir(out, force) if out is not None else None
    data_dir = resolve_data_dir(data_dir)
    if data is None:
        data = load_splits(data_dir, config.val_size, config.preprocess)
    start = time.perf_counter()
    model, history = train_model(config, data, log)
    seconds = time.perf_counter() - start
    metrics = {"epochs": config.epochs, "train_seconds": seconds}
    for split in ("train", "val", "test"):  # test only reported, never used to choose
        x, y = getattr(data, f"x_{split}"), getattr(data, f"y_{split}")
        if len(x):
            metrics[f"{split}_loss"], metrics[f"{split}_acc"] = evaluate(model, x, y)
    if out is not None:
        atomic_write_json(out / "config.json", {
            **config.to_dict(), "data_dir": str(data_dir), "version": __version__})
        atomic_write_text(out / "history.csv", history_csv(history))
        atomic_write_json(out / "metrics.json", metrics)
        save_model(out / "model.npz", model, data.preprocess, data.stats,
                   extra={"config": config.to_dict()})
        save_figure(plot_history(history, "softmax regression on MNIST"), out / "curves.png")
    return metrics
