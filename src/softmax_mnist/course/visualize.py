"""Course API: ``plot_loss_and_acc({label: [epoch_losses, epoch_accs]})``, and what makes the
Figures it returns show in a notebook (this package draws without pyplot, so nothing else
would)."""

from __future__ import annotations

import io
import os
from pathlib import Path

from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from softmax_mnist.fileio import save_figure


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
