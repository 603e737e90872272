"""Plots as functions that return matplotlib Figures (Agg backend; nothing ever blocks)."""

from __future__ import annotations

import io
import os
from pathlib import Path

import matplotlib
import numpy as np

matplotlib.use("Agg")  # library code never opens a window
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402
from matplotlib.transforms import blended_transform_factory  # noqa: E402

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
    saves them there as loss.png and acc.png. Returns without blocking: a FigurePair, a tuple
    that a script unpacks (``fig_loss, fig_acc = ...``) and that a notebook cell ending in this
    call shows as its two plots.
    """
    figs = []
    for i, name in enumerate(("loss", "accuracy")):
        fig = Figure(figsize=(6, 4))
        ax = fig.subplots()
        for label, values in loss_and_acc_dict.items():
            series = values[i]
            ax.plot(range(1, len(series) + 1), series, "o-", label=label)
        ax.set_xlabel("epoch")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # whole epochs only
        ax.set_ylabel(name)
        ax.grid(alpha=0.3)
        ax.legend()
        figs.append(fig)
    if path is not None:
        save_figure(figs[0], Path(path) / "loss.png")
        save_figure(figs[1], Path(path) / "acc.png")
    return FigurePair(figs)


# ---- study figures: they read the run dicts of results.json (see docs/results-schema.md) ----

# a colour-blind-safe cycle, so "momentum 0" and "momentum 0.9" keep their colours everywhere
PALETTE = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#F0E442", "#000000")
DIVERGED_COLOR = "#C00000"
PARAM_LABELS = {"lr": "learning rate", "batch_size": "batch size"}


def _epochs(values) -> list[int]:
    return list(range(1, len(values) + 1))


def _cumulative(seconds) -> list[float]:
    total, out = 0.0, []
    for s in seconds:
        total += s
        out.append(total)
    return out


def run_label(run: dict) -> str:
    """A short legend label: the run's name, plus '(diverged)' when it did."""
    return run["name"] + (" (diverged)" if run.get("status") == "diverged" else "")


def plot_run(run: dict) -> Figure:
    """Per-epoch train and validation loss (left) and accuracy (right) of one run of results.json."""
    h = run["history"]
    fig = Figure(figsize=(10, 4))
    ax_loss, ax_acc = fig.subplots(1, 2)
    for ax, key, name in ((ax_loss, "loss", "loss"), (ax_acc, "acc", "accuracy")):
        ax.plot(_epochs(h[f"train_{key}"]), h[f"train_{key}"], "o-", color=PALETTE[0],
                label=f"train {name}")
        if h.get(f"val_{key}"):
            ax.plot(_epochs(h[f"val_{key}"]), h[f"val_{key}"], "s--", color=PALETTE[1],
                    label=f"validation {name}")
        ax.set_xlabel("epoch")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_ylabel(name)
        ax.grid(alpha=0.3)
        ax.legend()
    c = run.get("config", {})
    fig.suptitle(f"{run_label(run)}: lr {c.get('lr', '?')}, momentum {c.get('momentum', '?')}, "
                 f"batch {c.get('batch_size', '?')}")
    return fig


def plot_momentum(runs: list[dict], thresholds=(0.90, 0.92)) -> Figure:
    """Runs overlaid: training loss (top) and validation accuracy (bottom), per epoch (left)
    and per second of cumulative training time (right). Thresholds are dotted grey lines."""
    fig = Figure(figsize=(11, 8))
    axes = fig.subplots(2, 2)
    for i, run in enumerate(runs):
        h = run["history"]
        color = PALETTE[i % len(PALETTE)]
        seconds = _cumulative(h["epoch_time"])
        for row, key in enumerate(("train_loss", "val_acc")):
            values = h.get(key) or []
            axes[row, 0].plot(_epochs(values), values, "o-", color=color, label=run_label(run))
            axes[row, 1].plot(seconds[: len(values)], values, "o-", color=color,
                              label=run_label(run))
    for col, xlabel in enumerate(("epoch", "training time (s, cumulative)")):
        axes[0, col].set_ylabel("training loss")
        axes[1, col].set_ylabel("validation accuracy")
        for row in range(2):
            axes[row, col].set_xlabel(xlabel)
            axes[row, col].grid(alpha=0.3)
        for t in thresholds:
            axes[1, col].axhline(t, color="grey", linestyle=":", linewidth=1)
    for row in range(2):
        axes[row, 0].xaxis.set_major_locator(MaxNLocator(integer=True))
        axes[0, col].legend()
    fig.suptitle("momentum: per epoch (left) and per second of training (right)")
    return fig


def _value_colors(n: int):
    """n colours from dark to light along viridis: a sweep's values in order."""
    cmap = matplotlib.colormaps["viridis"]
    return [cmap(0.9 * i / max(n - 1, 1)) for i in range(n)]


def plot_sweep_curves(runs: list[dict], param: str | None, title: str = "") -> Figure:
    """One line per run (sorted by ``config[param]``; labelled by name when ``param`` is None):
    training loss (log scale) and validation accuracy per epoch. A diverged run ends in a red
    x at its last recorded epoch."""
    if param is not None:
        runs = sorted(runs, key=lambda r: r["config"][param])
    fig = Figure(figsize=(11, 4.2))
    ax_loss, ax_acc = fig.subplots(1, 2)
    for run, color in zip(runs, _value_colors(len(runs))):
        h = run["history"]
        if param is None:
            label = run_label(run)
        else:
            label = f"{PARAM_LABELS.get(param, param)} {run['config'][param]:g}" + (
                " (diverged)" if run.get("status") == "diverged" else "")
        for ax, key in ((ax_loss, "train_loss"), (ax_acc, "val_acc")):
            values = h.get(key) or []
            ax.plot(_epochs(values), values, "o-", color=color, markersize=3, label=label)
            if run.get("status") == "diverged" and values:
                ax.plot([len(values)], [values[-1]], "x", color=DIVERGED_COLOR, markersize=9,
                        markeredgewidth=2)
    ax_loss.set_yscale("log")
    ax_loss.set_ylabel("training loss (log scale)")
    ax_acc.set_ylabel("validation accuracy")
    for ax in (ax_loss, ax_acc):
        ax.set_xlabel("epoch")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(alpha=0.3)
    ax_acc.legend(fontsize=8)
    fig.suptitle(title or f"{PARAM_LABELS.get(param, param or 'runs')}: per epoch")
    return fig


def plot_sweep_summary(runs: list[dict], param: str, title: str = "") -> Figure:
    """Final validation accuracy (left) and seconds per epoch (right) against ``config[param]``
    on a log axis. Diverged runs have no final accuracy: each is a dotted red vertical line
    labelled 'diverged' in the left panel, never a plotted number."""
    runs = sorted(runs, key=lambda r: r["config"][param])
    ok = [r for r in runs if r.get("status") == "ok" and r.get("final_val_acc") is not None]
    bad = [r for r in runs if r not in ok]
    fig = Figure(figsize=(11, 4.2))
    ax_acc, ax_time = fig.subplots(1, 2)
    xs = [r["config"][param] for r in ok]
    ax_acc.plot(xs, [r["final_val_acc"] for r in ok], "o-", color=PALETTE[0],
                label="final validation accuracy")
    if ok:
        best = max(ok, key=lambda r: r["final_val_acc"])
        ax_acc.plot([best["config"][param]], [best["final_val_acc"]], "*", color=PALETTE[4],
                    markersize=16, markeredgecolor="black", label=f"best: {PARAM_LABELS.get(param, param)} "
                    f"{best['config'][param]:g}")
    for k, r in enumerate(bad):
        # a vertical line, not a point: a diverged run has no accuracy to plot
        x = r["config"][param]
        ax_acc.axvline(x, color=DIVERGED_COLOR, linestyle=":", linewidth=1.5,
                       label="diverged" if k == 0 else None)
        ax_acc.text(x, 0.5, " diverged", rotation=90, va="center", ha="right", fontsize=8,
                    color=DIVERGED_COLOR, transform=blended_transform_factory(
                        ax_acc.transData, ax_acc.transAxes))
    ax_acc.set_ylabel("final validation accuracy")
    timed = [r for r in runs if r.get("seconds_per_epoch") is not None]
    ax_time.plot([r["config"][param] for r in timed], [r["seconds_per_epoch"] for r in timed],
                 "s-", color=PALETTE[1], label="seconds per epoch")
    ax_time.set_ylabel("seconds per epoch")
    for ax in (ax_acc, ax_time):
        ax.set_xscale("log")
        ax.set_xlabel(PARAM_LABELS.get(param, param))
        ax.grid(alpha=0.3, which="both")
        ax.legend(fontsize=8)
    fig.suptitle(title or f"{PARAM_LABELS.get(param, param)} sweep: final validation accuracy "
                 "and time per epoch")
    return fig


def plot_run_bars(runs: list[dict], title: str = "") -> Figure:
    """Final validation accuracy of each run as a horizontal bar (for grids that vary more than
    one setting); a diverged run gets no bar, only the word 'diverged'."""
    fig = Figure(figsize=(8, 0.45 * len(runs) + 1.5))
    ax = fig.subplots()
    names = [r["name"] for r in runs]
    ys = list(range(len(runs)))
    for y, r in zip(ys, runs):
        if r.get("status") == "ok" and r.get("final_val_acc") is not None:
            ax.barh(y, r["final_val_acc"], color=PALETTE[0])
            ax.text(r["final_val_acc"], y, f" {r['final_val_acc']:.4f}", va="center", fontsize=8)
        else:
            ax.text(0.01, y, "diverged", va="center", color=DIVERGED_COLOR, fontsize=9,
                    transform=ax.get_yaxis_transform())
    ax.set_yticks(ys, names)
    ax.invert_yaxis()
    ax.set_xlim(0, 1.08)
    ax.set_xlabel("final validation accuracy")
    ax.grid(alpha=0.3, axis="x")
    fig.suptitle(title or "final validation accuracy per run")
    return fig


def plot_weights(W, image_shape=(28, 28)) -> Figure:
    """The C learned weight vectors (columns of W, shape (D, C)) as images on a diverging map
    centred at 0: red pixels push towards the class, blue ones away. One colour scale for all."""
    W = np.asarray(W, dtype=np.float64)
    C = W.shape[1]
    vmax = float(np.abs(W).max()) or 1.0
    ncols = min(C, 5)
    nrows = -(-C // ncols)
    fig = Figure(figsize=(2.2 * ncols + 1, 2.3 * nrows))
    axes = np.atleast_1d(fig.subplots(nrows, ncols)).ravel()
    image = None
    for c, ax in enumerate(axes):
        ax.set_xticks([])
        ax.set_yticks([])
        if c >= C:
            ax.set_visible(False)
            continue
        image = ax.imshow(W[:, c].reshape(image_shape), cmap="RdBu_r", vmin=-vmax, vmax=vmax,
                          interpolation="nearest")
        ax.set_title(f"class {c}")
    fig.colorbar(image, ax=list(axes), shrink=0.8, label="weight")
    fig.suptitle("learned weights per class (diverging colour map centred at 0)")
    return fig


def plot_confusion(confusion, normalize_colors: bool = True) -> Figure:
    """Test confusion matrix (rows: true class, columns: predicted), every cell's count written
    in it. Colours are row fractions (so a rare class's mistakes are visible too)."""
    cm = np.asarray(confusion, dtype=np.int64)
    C = cm.shape[0]
    rows = cm.sum(axis=1, keepdims=True)
    shade = cm / np.maximum(rows, 1) if normalize_colors else cm.astype(float)
    fig = Figure(figsize=(7.5, 6.5))
    ax = fig.subplots()
    image = ax.imshow(shade, cmap="Blues", vmin=0, vmax=float(shade.max()) or 1.0)
    threshold = 0.5 * (float(shade.max()) or 1.0)
    for i in range(C):
        for j in range(C):
            ax.text(j, i, str(cm[i, j]), ha="center", va="center", fontsize=8,
                    color="white" if shade[i, j] > threshold else "black")
    ax.set_xticks(range(C))
    ax.set_yticks(range(C))
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    total = int(cm.sum())
    acc = np.trace(cm) / total if total else float("nan")
    ax.set_title(f"test confusion matrix: {total:,} images, accuracy {acc:.4f}")
    fig.colorbar(image, ax=ax, shrink=0.8,
                 label="fraction of the true class" if normalize_colors else "count")
    return fig


def plot_examples(images, true, pred, prob, title: str, margin=None, ncols: int = 8) -> Figure:
    """A grid of 28x28 images, each titled 'true t / pred p' and the probability of the
    prediction (and the top-1 minus top-2 margin when given)."""
    images = np.asarray(images)
    n = len(images)
    ncols = max(1, min(ncols, n))
    nrows = max(1, -(-n // ncols))
    fig = Figure(figsize=(1.45 * ncols, 1.75 * nrows + 0.6))
    axes = np.atleast_1d(fig.subplots(nrows, ncols)).ravel()
    for k, ax in enumerate(axes):
        ax.set_xticks([])
        ax.set_yticks([])
        if k >= n:
            ax.set_visible(False)
            continue
        ax.imshow(images[k], cmap="gray_r", vmin=0, vmax=255, interpolation="nearest")
        text = f"true {int(true[k])} / pred {int(pred[k])}\np={float(prob[k]):.3f}"
        if margin is not None:
            text += f" m={float(margin[k]):.3f}"
        ax.set_title(text, fontsize=7, color=DIVERGED_COLOR if true[k] != pred[k] else "black")
    fig.suptitle(title)
    return fig


# ---- notebooks: the Figures shown inline by IPython, without pyplot --------------------------


def figure_png(fig: Figure, dpi: int = 100) -> bytes:
    """``fig`` as PNG bytes, the way a notebook shows it (tight bounding box)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, bbox_inches="tight")
    return buf.getvalue()


def show_figures_inline() -> bool:
    """In a running IPython (a Jupyter kernel), have every matplotlib Figure shown as a PNG when
    it is a cell's value or passed to ``display``, as pyplot's inline backend does for its own.

    This package builds its Figures without pyplot, so nothing else would show them. A PNG
    formatter for Figures already there (matplotlib-inline's, once pyplot is used) is kept.
    Outside IPython it does nothing and returns False: a script gets its Figures back, and
    nothing is shown or blocks. Called when this module is imported.
    """
    import sys  # here, not at the top: the top of this module is the plotting code's

    ipython = sys.modules.get("IPython")  # never imported here: a script does not pay for it
    shell = ipython.get_ipython() if ipython is not None else None
    if shell is None:
        return False
    png = shell.display_formatter.formatters["image/png"]
    try:
        png.lookup_by_type(Figure)
    except KeyError:
        png.for_type(Figure, figure_png)
    return True


class FigurePair(tuple):
    """What ``plot_loss_and_acc`` returns: the tuple (loss Figure, accuracy Figure), unpacked as
    any tuple, that shows both figures when it is the value of a notebook cell (and shows
    nothing when assigned, or in a script)."""

    def _ipython_display_(self) -> None:
        from IPython.display import display

        show_figures_inline()
        display(*self)


show_figures_inline()
