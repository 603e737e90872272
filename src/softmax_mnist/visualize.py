"""Plots as functions that return matplotlib Figures (Agg backend; nothing ever blocks)."""

from __future__ import annotations

import io
import os
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # library code never opens a window
from matplotlib.figure import Figure  # noqa: E402

from softmax_mnist.fileio import atomic_write  # noqa: E402


def save_figure(fig: Figure, path: str | os.PathLike, dpi: int = 120) -> Path:
    """Save ``fig`` atomically to ``path`` (format from its suffix)."""
    path = Path(path)
    buf = io.BytesIO()
    fig.savefig(buf, format=path.suffix.lstrip(".") or "png", dpi=dpi, bbox_inches="tight")
    return atomic_write(path, lambda f: f.write(buf.getvalue()))


def plot_history(history, title: str = "") -> Figure:
    """Per-epoch train and validation loss (left) and accuracy (right) of one History."""
    fig = Figure(figsize=(10, 4))
    ax_loss, ax_acc = fig.subplots(1, 2)
    epochs = range(1, len(history.train_loss) + 1)
    for ax, train, val, name in (
        (ax_loss, history.train_loss, history.val_loss, "loss"),
        (ax_acc, history.train_acc, history.val_acc, "accuracy"),
    ):
        ax.plot(epochs, train, "o-", label=f"train {name}")
        if val:
            ax.plot(epochs, val, "s--", label=f"validation {name}")
        ax.set_xlabel("epoch")
        ax.set_ylabel(name)
        ax.grid(alpha=0.3)
        ax.legend()
    if title:
        fig.suptitle(title)
    return fig


def plot_loss_and_acc(loss_and_acc_dict: dict, path: str | os.PathLike | None = None):
    """Course API: ``{label: [epoch_losses, epoch_accs]}`` -> (loss Figure, accuracy Figure).

    Draws the course's two figures, one line per label. With ``path`` (a folder), also
    saves them there as loss.png and acc.png. Returns without blocking.
    """
    figs = []
    for i, name in enumerate(("loss", "accuracy")):
        fig = Figure(figsize=(6, 4))
        ax = fig.subplots()
        for label, values in loss_and_acc_dict.items():
            series = values[i]
            ax.plot(range(1, len(series) + 1), series, "o-", label=label)
        ax.set_xlabel("epoch")
        ax.set_ylabel(name)
        ax.grid(alpha=0.3)
        ax.legend()
        figs.append(fig)
    if path is not None:
        save_figure(figs[0], Path(path) / "loss.png")
        save_figure(figs[1], Path(path) / "acc.png")
    return figs[0], figs[1]
