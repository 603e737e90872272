"""Every plot function returns a matplotlib Figure with the axes, lines and images it promises,
without a display (Agg) and without pyplot."""

from __future__ import annotations

import sys

import matplotlib
import numpy as np
import pytest
from matplotlib.figure import Figure
from test_report import fake_results, make_run, write_examples

from softmax_mnist import visualize as viz


@pytest.fixture(scope="module")
def results():
    return fake_results()


def runs_of(results, group):
    return [r for r in results["runs"] if r["group"] == group]


def labelled_lines(ax):
    return [line for line in ax.get_lines() if not line.get_label().startswith("_")]


def test_agg_and_no_pyplot():
    assert matplotlib.get_backend().lower() == "agg"
    assert "matplotlib.pyplot" not in sys.modules or not hasattr(viz, "plt")


def test_plot_run(results):
    run = results["runs"][1]
    fig = viz.plot_run(run)
    assert isinstance(fig, Figure) and len(fig.axes) == 2
    loss, acc = fig.axes
    assert [line.get_label() for line in loss.get_lines()] == ["train loss", "validation loss"]
    np.testing.assert_allclose(acc.get_lines()[1].get_ydata(), run["history"]["val_acc"])
    assert list(acc.get_lines()[0].get_xdata()) == list(range(1, 11))
    assert "momentum-0.9" in fig._suptitle.get_text()


def test_plot_momentum_per_epoch_and_per_second(results):
    runs = runs_of(results, "momentum")
    fig = viz.plot_momentum(runs, thresholds=(0.90, 0.92))
    assert len(fig.axes) == 4
    (loss_ep, loss_s), (acc_ep, acc_s) = np.array(fig.axes).reshape(2, 2)
    for ax in fig.axes:
        assert [line.get_label() for line in labelled_lines(ax)] == [r["name"] for r in runs]
    # per second: x is the cumulative epoch time
    x = labelled_lines(acc_s)[1].get_xdata()
    np.testing.assert_allclose(x, np.cumsum(runs[1]["history"]["epoch_time"]))
    assert acc_s.get_xlabel().startswith("training time")
    # the two thresholds are horizontal reference lines on the accuracy axes only
    assert len(acc_ep.get_lines()) == len(runs) + 2 and len(loss_ep.get_lines()) == len(runs)


def test_plot_sweep_curves_marks_diverged(results):
    runs = runs_of(results, "lr")
    fig = viz.plot_sweep_curves(runs, "lr")
    loss, acc = fig.axes
    assert loss.get_yscale() == "log"
    labels = [line.get_label() for line in labelled_lines(acc)]
    assert labels[0] == "learning rate 0.001" and labels[-1] == "learning rate 0.5 (diverged)"
    # one line per run plus the red x at the end of the diverged one
    assert len(acc.get_lines()) == len(runs) + 1
    fig = viz.plot_sweep_curves(runs, None)  # labelled by name
    assert labelled_lines(fig.axes[1])[0].get_label() == runs[0]["name"]


def test_plot_sweep_summary_log_axis_and_no_number_for_diverged(results):
    runs = runs_of(results, "lr")
    fig = viz.plot_sweep_summary(runs, "lr")
    acc, secs = fig.axes
    assert acc.get_xscale() == "log" and secs.get_xscale() == "log"
    assert acc.get_xlabel() == "learning rate"
    curve = acc.get_lines()[0]
    ok = [r for r in runs if r["status"] == "ok"]
    np.testing.assert_allclose(curve.get_xdata(), [r["config"]["lr"] for r in ok])
    np.testing.assert_allclose(curve.get_ydata(), [r["final_val_acc"] for r in ok])
    assert 0.5 not in list(curve.get_xdata())  # the diverged lr is not a point of the curve
    best = acc.get_lines()[1]
    assert best.get_xdata()[0] == 0.05 and best.get_label() == "best: learning rate 0.05"
    diverged = [line for line in acc.get_lines() if line.get_label() == "diverged"]
    assert len(diverged) == 1 and list(diverged[0].get_xdata()) == [0.5, 0.5]  # a vertical line
    assert any(t.get_text().strip() == "diverged" for t in acc.texts)
    # seconds per epoch of every run with a time, diverged included
    assert len(secs.get_lines()[0].get_xdata()) == len(runs)


def test_plot_sweep_summary_batch_size(results):
    fig = viz.plot_sweep_summary(runs_of(results, "batch_size"), "batch_size")
    acc, secs = fig.axes
    assert list(secs.get_lines()[0].get_xdata()) == [1, 10, 50, 100, 1000]
    np.testing.assert_allclose(secs.get_lines()[0].get_ydata(), [5.0, 0.8, 0.2, 0.12, 0.05])


def test_plot_run_bars():
    runs = [make_run("a", "grid", [0.9]), make_run("b", "grid", [0.5], status="diverged")]
    fig = viz.plot_run_bars(runs)
    ax = fig.axes[0]
    assert len(ax.patches) == 1 and ax.patches[0].get_width() == pytest.approx(0.9)
    assert [t.get_text() for t in ax.texts] == [" 0.9000", "diverged"]


def test_plot_weights_diverging_and_symmetric():
    W = np.random.default_rng(0).normal(0, 0.1, (784, 10))
    W[3, 2] = 0.9
    fig = viz.plot_weights(W)
    image_axes = [ax for ax in fig.axes if ax.get_images()]
    assert len(image_axes) == 10
    for c, ax in enumerate(image_axes):
        im = ax.get_images()[0]
        assert im.get_array().shape == (28, 28)
        np.testing.assert_allclose(im.get_array(), W[:, c].reshape(28, 28))
        assert im.get_clim() == pytest.approx((-0.9, 0.9))
        assert im.get_cmap().name == "RdBu_r"
        assert ax.get_title() == f"class {c}"
    assert len(fig.axes) == 11  # 10 images and one colour bar


def test_plot_confusion_counts_annotated(tmp_path):
    cm = write_examples(tmp_path / "ex.npz")
    fig = viz.plot_confusion(cm)
    ax = fig.axes[0]
    texts = [t.get_text() for t in ax.texts]
    assert len(texts) == 100 and texts[4 * 10 + 9] == "40" and texts[0] == str(cm[0, 0])
    assert f"accuracy {np.trace(cm) / cm.sum():.4f}" in ax.get_title()
    assert ax.get_xlabel() == "predicted class" and ax.get_ylabel() == "true class"


def test_plot_examples_titles(tmp_path):
    write_examples(tmp_path / "ex.npz", k=12)
    with np.load(tmp_path / "ex.npz") as z:
        fig = viz.plot_examples(z["ambiguous_images"], z["ambiguous_true"], z["ambiguous_pred"],
                                z["ambiguous_prob"], "ambiguous", margin=z["ambiguous_margin"])
        true, pred, prob = z["ambiguous_true"], z["ambiguous_pred"], z["ambiguous_prob"]
    shown = [ax for ax in fig.axes if ax.get_visible()]
    assert len(shown) == 12 and len(fig.axes) == 16  # 2 rows of 8, the last 4 hidden
    assert shown[0].get_title() == (f"true {true[0]} / pred {pred[0]}\n"
                                    f"p={prob[0]:.3f} m=0.000")
    assert shown[0].get_images()[0].get_array().shape == (28, 28)


def test_existing_course_plots_still_work(tmp_path):
    figs = viz.plot_loss_and_acc({"a": [[1.0, 0.5], [0.5, 0.8]], "b": [[1.1, 0.4], [0.4, 0.9]]},
                                 path=tmp_path)
    assert len(figs) == 2 and (tmp_path / "loss.png").is_file() and (tmp_path / "acc.png").is_file()
    assert len(figs[0].axes[0].get_lines()) == 2


def test_figures_save_as_png(tmp_path, results):
    path = viz.save_figure(viz.plot_momentum(runs_of(results, "momentum")), tmp_path / "m.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
