"""Plots as functions that return matplotlib Figures, built without pyplot: no window ever
opens and nothing blocks, and the backend a notebook or script chose is left alone (a Figure
saves through its own canvas, so no ``matplotlib.use`` here)."""

from __future__ import annotations

import matplotlib
import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import LogLocator, MaxNLocator, NullFormatter, ScalarFormatter

# a notebook shows these Figures as a cell's value (show_figures_inline runs on that import)
from softmax_mnist.course.visualize import figure_png  # noqa: F401 - found here by callers
from softmax_mnist.fileio import save_figure  # noqa: F401 - found here by callers
from softmax_mnist.study.report import fonts
from softmax_mnist.study.report.wording import say


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


# ---- study figures: they read results.json through results.py, labelled in zh or en -------

# a colour-blind-safe cycle, so "momentum 0" and "momentum 0.9" keep their colours everywhere
PALETTE = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#F0E442", "#000000")
DIVERGED_COLOR = "#C00000"
# the report's figures are drawn at the width they print (A4 text: 16.8 cm), so that a font
# size here is the size on paper; legends and ticks no smaller than LEGEND points
WIDE = 6.6
LEGEND = 7.5
# a sweep's values in order: six colours told apart at a glance (and in grey), dark to light
SWEEP = ("#1b1b6b", "#0072B2", "#009E73", "#E69F00", "#D55E00", "#CC79A7", "#7f7f7f", "#000000")
MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*")


def figure_style(lang: str = "en") -> dict:
    """rcParams for figures in ``lang``: a CJK font first for zh (its Latin glyphs too)."""
    style = {"axes.unicode_minus": False, "font.size": 9}
    cjk = fonts.matplotlib_family("sans") if lang == "zh" else None  # fonts.py finds it
    if cjk:
        style["font.family"] = ["sans-serif"]
        style["font.sans-serif"] = [cjk, "DejaVu Sans"]
    return style


def _epochs(values) -> list[int]:
    return list(range(1, len(values) + 1))


def _band(ax, stats, color, label_text, style="-", marker="o", open_marker=False):
    """Mean per epoch as a line, lowest to highest seed as a shaded band."""
    if not stats:
        return
    x = _epochs(stats)
    ax.plot(x, [s.mean for s in stats], style, marker=marker, markersize=5 if open_marker else 3,
            color=color, label=label_text, markerfacecolor="none" if open_marker else color)
    if max(s.n for s in stats) > 1:
        ax.fill_between(x, [min(s.values) for s in stats], [max(s.values) for s in stats],
                        color=color, alpha=0.18, linewidth=0)


def _finish(ax, xlabel, ylabel, integer_x=True):
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if integer_x:
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.grid(alpha=0.3)


def plot_training_curves(items: list, names: list[str], lang: str = "en") -> Figure:
    """Course item (a): loss (left) and accuracy (right) per epoch of settings ``items``
    (results.Summary), training (solid) and validation (dashed), mean over seeds with bands."""
    fig = Figure(figsize=(WIDE, 2.9), layout="constrained")
    ax_loss, ax_acc = fig.subplots(1, 2)
    for i, (s, name) in enumerate(zip(items, names)):
        color = PALETTE[i % len(PALETTE)]
        _band(ax_loss, s.curves["train_loss"], color, f"{name}: {say(lang, 'figure.train_loss')}")
        _band(ax_loss, s.curves["val_loss"], color, f"{name}: {say(lang, 'figure.val_loss')}", "--", "s")
        _band(ax_acc, s.curves["train_acc"], color, f"{name}: {say(lang, 'figure.train_acc')}")
        _band(ax_acc, s.curves["val_acc"], color, f"{name}: {say(lang, 'figure.val_acc')}", "--", "s")
    _finish(ax_loss, say(lang, "figure.epoch"), say(lang, "figure.loss"))
    _finish(ax_acc, say(lang, "figure.epoch"), say(lang, "figure.accuracy"))
    ax_loss.legend(fontsize=LEGEND)
    ax_acc.legend(fontsize=LEGEND, loc="lower right")
    return fig


def plot_val_curves(panels: list[list], thresholds=(), lang: str = "en", ylim=None) -> Figure:
    """Validation accuracy per epoch, one panel per list of (Summary, label, dashed) items;
    mean over seeds with bands; thresholds as dotted grey lines."""
    fig = Figure(figsize=(WIDE, 3.0), layout="constrained")
    axes = np.atleast_1d(fig.subplots(1, len(panels)))
    for ax, panel in zip(axes, panels):
        k = 0
        for i, (s, name, dashed) in enumerate(panel):  # a dashed line: the colour before it
            k -= dashed
            _band(ax, s.curves["val_acc"], PALETTE[k % len(PALETTE)], name, "--" if dashed else "-",
                  MARKERS[i % len(MARKERS)], open_marker=i > 0 and not dashed)
            k += 1
        for t in thresholds:
            ax.axhline(t, color="grey", linestyle=":", linewidth=1)
        _finish(ax, say(lang, "figure.epoch"), say(lang, "figure.val_acc"))
        if ylim:
            ax.set_ylim(*ylim)
        ax.legend(fontsize=LEGEND, loc="lower right")
    return fig


def _value_colors(n: int):
    """n distinguishable colours for a sweep's values in order."""
    return [SWEEP[i % len(SWEEP)] for i in range(n)]


def plot_sweep(items: list, param: str, lang: str = "en", n_seeds: int = 1) -> Figure:
    """A one-setting sweep: validation accuracy per epoch for each value (left) and the final
    validation accuracy against the value on a log axis, mean +- sd over seeds (right). A
    diverged value is a red dotted line, never a plotted number."""
    items = sorted(items, key=lambda s: s.config[param])
    fig = Figure(figsize=(WIDE, 3.0), layout="constrained")
    ax_c, ax_s = fig.subplots(1, 2)
    for i, (s, color) in enumerate(zip(items, _value_colors(len(items)))):
        name = say(lang, f"figure.{param}") + f" {s.config[param]:g}"
        if not s.ok:
            name += f" ({say(lang, 'figure.diverged')})"
        _band(ax_c, s.curves["val_acc"], color, name, marker=MARKERS[i % len(MARKERS)])
    good = [s for s in items if s.ok]
    ax_s.errorbar([s.config[param] for s in good], [s.val_acc.mean for s in good],
                  yerr=[s.val_acc.sd for s in good], fmt="o-", color=PALETTE[0], capsize=3)
    for s in items:
        if not s.ok:
            ax_s.axvline(s.config[param], color=DIVERGED_COLOR, linestyle=":")
    ax_s.set_xscale("log")
    _finish(ax_c, say(lang, "figure.epoch"), say(lang, "figure.val_acc"))
    _finish(ax_s, say(lang, f"figure.{param}"), say(lang, "figure.final_val_acc"), integer_x=False)
    ax_c.legend(fontsize=LEGEND, loc="lower right")
    lo = min((c.mean for s in good for c in s.curves["val_acc"]), default=0)  # no curve clipped
    ax_c.set_ylim(max(lo - 0.01, 0), None)
    return fig


def plot_batch(fixed: list, scaled: list, epoch_time: dict, lang: str = "en") -> Figure:
    """Batch size: final validation accuracy at a fixed learning rate and with the rate scaled
    with the batch (left, mean +- sd over seeds), and the median seconds per epoch with its
    quartiles (right); both against the batch size on log axes."""
    fig = Figure(figsize=(WIDE, 2.9), layout="constrained")
    ax_a, ax_t = fig.subplots(1, 2)
    for items, key, color, marker in ((fixed, "fixed_lr", PALETTE[0], "o"),
                                      (scaled, "scaled_lr", PALETTE[1], "s")):
        good = sorted((s for s in items if s.ok), key=lambda s: s.config["batch_size"])
        ax_a.errorbar([s.config["batch_size"] for s in good], [s.val_acc.mean for s in good],
                      yerr=[s.val_acc.sd for s in good], fmt=marker + "-", color=color,
                      capsize=3, label=say(lang, f"figure.{key}"))
    if epoch_time:
        sizes = sorted(epoch_time)
        median = [epoch_time[b]["median"] for b in sizes]
        err = [[m - epoch_time[b]["q1"] for b, m in zip(sizes, median)],
               [epoch_time[b]["q3"] - m for b, m in zip(sizes, median)]]
        ax_t.errorbar(sizes, median, yerr=err, fmt="o-", color=PALETTE[2], capsize=3)
        ax_t.set_yscale("log")
        ax_t.yaxis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0)))  # 0.2, 0.5, 1, 2: not one tick
        ax_t.yaxis.set_major_formatter(ScalarFormatter())  # 0.2, 0.5 rather than 2 x 10^-1
        ax_t.yaxis.set_minor_formatter(NullFormatter())
    for ax in (ax_a, ax_t):
        ax.set_xscale("log")
    _finish(ax_a, say(lang, "figure.batch_size"), say(lang, "figure.final_val_acc"), integer_x=False)
    _finish(ax_t, say(lang, "figure.batch_size"), say(lang, "figure.epoch_time"), integer_x=False)
    ax_a.legend(fontsize=LEGEND)
    return fig


def plot_heatmap(lrs: list[float], sizes: list[int], acc: np.ndarray, lang: str = "en") -> Figure:
    """Mean final validation accuracy (rows: batch size, columns: learning rate), each cell
    written in it; NaN (diverged) cells are left grey."""
    acc = np.asarray(acc, dtype=float)
    fig = Figure(figsize=(0.8 * WIDE, 3.0), layout="constrained")
    ax = fig.subplots()
    finite = acc[np.isfinite(acc)]
    lo = float(np.percentile(finite, 10)) if finite.size else 0.0
    cmap = matplotlib.colormaps["viridis"].with_extremes(bad="#dddddd")
    image = ax.imshow(np.ma.masked_invalid(acc), cmap=cmap, vmin=lo,
                      vmax=float(finite.max()) if finite.size else 1.0, aspect="auto")
    best = np.unravel_index(np.nanargmax(acc), acc.shape) if finite.size else None
    for i in range(acc.shape[0]):
        for j in range(acc.shape[1]):
            text = say(lang, "figure.diverged") if not np.isfinite(acc[i, j]) else f"{acc[i, j]:.3f}"
            bold = best is not None and (i, j) == tuple(best)
            ax.text(j, i, text, ha="center", va="center", fontsize=LEGEND,
                    fontweight="bold" if bold else "normal",
                    color="black" if np.isfinite(acc[i, j]) and acc[i, j] > lo + 0.6 *
                    (float(finite.max()) - lo) else "white")
    ax.set_xticks(range(len(lrs)), [f"{v:g}" for v in lrs])
    ax.set_yticks(range(len(sizes)), [str(b) for b in sizes])
    ax.set_xlabel(say(lang, "figure.lr"))
    ax.set_ylabel(say(lang, "figure.batch_size"))
    fig.colorbar(image, ax=ax, shrink=0.9, label=say(lang, "figure.final_val_acc"))
    return fig


def plot_bars(items: list, lang: str = "en") -> Figure:
    """Final validation accuracy of each setting as a horizontal bar with its seed sd (for
    grids that vary more than one setting); a diverged setting gets the word, no bar."""
    fig = Figure(figsize=(7, 0.35 * len(items) + 1.2), layout="constrained")
    ax = fig.subplots()
    ys = list(range(len(items)))
    for y, s in zip(ys, items):
        if s.ok:
            ax.barh(y, s.val_acc.mean, xerr=s.val_acc.sd or None, color=PALETTE[0])
            ax.text(s.val_acc.mean, y, f"  {s.val_acc.mean:.4f}", va="center", fontsize=7)
        else:
            ax.text(0.01, y, say(lang, "figure.diverged"), va="center", color=DIVERGED_COLOR,
                    transform=ax.get_yaxis_transform())
    ax.set_yticks(ys, [s.setting for s in items], fontsize=7)
    ax.invert_yaxis()
    good = [s.val_acc.mean for s in items if s.ok]
    ax.set_xlim(max(min(good, default=0) - 0.03, 0), min(max(good, default=1) + 0.02, 1.0))
    ax.set_xlabel(say(lang, "figure.final_val_acc"))
    ax.grid(alpha=0.3, axis="x")
    return fig


def picture_grid(fig: Figure, n: int, nrows: int, ncols: int) -> list:
    """The first ``n`` axes of an nrows x ncols grid, for pictures (no ticks); the rest hidden."""
    axes = np.atleast_1d(fig.subplots(nrows, ncols)).ravel()
    for k, ax in enumerate(axes):
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_visible(k < n)
    return list(axes[:n])


def plot_weights(W, image_shape=(28, 28), lang: str = "en") -> Figure:
    """The C learned weight vectors (columns of W, shape (D, C)) as images on a diverging map
    centred at 0: red pixels push towards the class, blue ones away. One colour scale for all."""
    W = np.asarray(W, dtype=np.float64)
    C = W.shape[1]
    vmax = float(np.abs(W).max()) or 1.0
    ncols = min(C, 5)
    nrows = -(-C // ncols)
    fig = Figure(figsize=(0.8 * WIDE, 0.8 * WIDE * 1.6 * nrows / (1.5 * ncols + 1)),
                 layout="constrained")
    axes = picture_grid(fig, C, nrows, ncols)
    image = None
    for c, ax in enumerate(axes):
        image = ax.imshow(W[:, c].reshape(image_shape), cmap="RdBu_r", vmin=-vmax, vmax=vmax,
                          interpolation="nearest")
        ax.set_title(say(lang, "figure.class", c=c), fontsize=8.5)
    fig.colorbar(image, ax=list(fig.axes), shrink=0.8, label=say(lang, "figure.weight"))  # the whole grid
    return fig


def plot_confusion(confusion, normalize_colors: bool = True, lang: str = "en") -> Figure:
    """Test confusion matrix (rows: true class, columns: predicted), every cell's count written
    in it. Colours are row fractions (so a rare class's mistakes are visible too)."""
    counts = np.asarray(confusion, dtype=np.int64)
    C = counts.shape[0]
    rows = counts.sum(axis=1, keepdims=True)
    shade = counts / np.maximum(rows, 1) if normalize_colors else counts.astype(float)
    off = shade.copy()
    np.fill_diagonal(off, 0)  # colour by the mistakes: the diagonal would swamp the scale
    fig = Figure(figsize=(0.62 * WIDE, 0.62 * WIDE * 0.8), layout="constrained")
    ax = fig.subplots()
    vmax = float(off.max()) or 1.0
    image = ax.imshow(off, cmap="Reds", vmin=0, vmax=vmax)
    for i in range(C):
        for j in range(C):
            ax.text(j, i, str(counts[i, j]), ha="center", va="center", fontsize=7,  # 10 x 10 cells
                    fontweight="bold" if i == j else "normal",
                    color="white" if off[i, j] > 0.6 * vmax else "black")
    ax.set_xticks(range(C))
    ax.set_yticks(range(C))
    ax.set_xlabel(say(lang, "figure.pred"))
    ax.set_ylabel(say(lang, "figure.true"))
    total = int(counts.sum())
    acc = np.trace(counts) / total if total else float("nan")
    ax.set_title(say(lang, "figure.confusion", n=total, acc=acc), fontsize=9)
    fig.colorbar(image, ax=ax, shrink=0.8,
                 label=say(lang, "figure.row_fraction") if normalize_colors else "count")
    return fig


def plot_examples(images, true, pred, prob, title: str = "", margin=None, ncols: int = 8,
                  lang: str = "en") -> Figure:
    """A grid of 28x28 images, each titled with its true class, the prediction and the
    probability of the prediction (and the top-1 minus top-2 margin when given)."""
    images = np.asarray(images)
    n = len(images)
    ncols = max(1, min(ncols, n))
    nrows = max(1, -(-n // ncols))
    fig = Figure(figsize=(0.74 * ncols, 0.92 * nrows + 0.2), layout="constrained")
    for k, ax in enumerate(picture_grid(fig, n, nrows, ncols)):
        ax.imshow(images[k], cmap="gray_r", vmin=0, vmax=255, interpolation="nearest")
        text = say(lang, "figure.example", t=int(true[k]), p=int(pred[k]), prob=float(prob[k]))
        if margin is not None:
            text += f" m={float(margin[k]):.3f}"
        ax.set_title(text, fontsize=LEGEND, color=DIVERGED_COLOR if true[k] != pred[k] else "black")
    if title:
        fig.suptitle(title)
    return fig


def plot_confusion_examples(pairs, images, lang: str = "en") -> Figure:
    """One row per confusion (true a, predicted b): its examples (an all-blank slot is left
    out), titled 'a -> b'."""
    images = np.asarray(images)
    k = images.shape[1] if images.ndim == 4 else 0
    fig = Figure(figsize=(0.75 * WIDE, 0.75 * WIDE * len(pairs) / max(k, 1) * 1.12 + 0.1),
                 layout="constrained")
    axes = np.atleast_2d(fig.subplots(len(pairs), max(k, 1), squeeze=False))
    for row, (t, p) in enumerate(pairs):
        for j, ax in enumerate(axes[row]):
            ax.set_xticks([])
            ax.set_yticks([])
            if j >= k or not images[row, j].any():
                ax.set_visible(False)
                continue
            ax.imshow(images[row, j], cmap="gray_r", vmin=0, vmax=255, interpolation="nearest")
            ax.set_title(say(lang, "figure.confused", t=int(t), p=int(p)), fontsize=LEGEND)
    return fig


# ---- notebooks: the Figures shown inline by IPython, without pyplot --------------------------
