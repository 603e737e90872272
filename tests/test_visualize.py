"""Every plot function returns a matplotlib Figure with the axes, lines and texts it promises,
built without pyplot; the study figures read results.Summary objects and speak zh or en."""

from __future__ import annotations

import re
import subprocess
import sys

import numpy as np
import pytest
from matplotlib.colors import same_color
from matplotlib.figure import Figure

from softmax_mnist.course import visualize as course_viz
from softmax_mnist.study import results as rs
from softmax_mnist.study.report import fonts, words_en, words_zh
from softmax_mnist.study.report import visualize as viz
from softmax_mnist.study.report.wording import say

CJK = re.compile(r"[\u4e00-\u9fff]")


# ---- hand-made settings over seeds ---------------------------------------------------------


def make_run(setting, seed, val_acc, status="ok", group="g", **config):
    ok = status == "ok"
    n = len(val_acc)
    return {"name": rs.run_name(setting, seed), "setting": setting, "group": group,
            "config": {"lr": 0.01, "momentum": 0.9, "batch_size": 100, **config, "seed": seed},
            "status": status, "error": None if ok else "diverged",
            "history": {"train_loss": [2.0 / (e + 1) + seed / 100 for e in range(n)],
                        "train_acc": [a - 0.02 for a in val_acc],
                        "val_loss": [1.5 / (e + 1) for e in range(n)], "val_acc": list(val_acc)},
            "epochs_to": {"0.90": None, "0.92": None},
            "final_train_acc": val_acc[-1] + 0.01 if ok else None,
            "final_val_acc": val_acc[-1] if ok else None, "test_acc": None}


def summary(setting, finals, group="g", status=None, epochs=3, **config) -> rs.Summary:
    """A setting whose seed k ends at finals[k], its val_acc rising to it over ``epochs``;
    ``status``: one per seed ("ok" or "diverged")."""
    status = status or ["ok"] * len(finals)
    runs = [make_run(setting, k, [f - 0.1 * (epochs - 1 - e) for e in range(epochs)], st, group,
                     **config) for k, (f, st) in enumerate(zip(finals, status))]
    return rs.summarize({"meta": {"thresholds": [0.9, 0.92]}, "runs": runs}, setting)


def labelled_lines(ax):
    return [line for line in ax.get_lines() if not line.get_label().startswith("_")]


def xy(line) -> tuple[list, list]:
    """A line's data as floats (errorbar keeps object arrays)."""
    return (np.asarray(line.get_xdata(), dtype=float).tolist(),
            np.asarray(line.get_ydata(), dtype=float).tolist())


def texts(ax) -> list[str]:
    return [t.get_text() for t in ax.texts]


# ---- no pyplot, no backend forced ----------------------------------------------------------


def test_no_pyplot_and_the_backend_left_alone():
    code = ("import matplotlib, sys; matplotlib.use('svg'); "
            "import softmax_mnist.study.report.visualize as v; "
            "f = v.plot_weights(__import__('numpy').zeros((784, 10))); "
            "print(matplotlib.get_backend(), 'matplotlib.pyplot' in sys.modules, "
            "type(f).__name__, len(v.figure_png(f)) > 0)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["svg", "False", "Figure", "True"]
    assert not hasattr(viz, "plt")


# ---- labels ----------------------------------------------------------------------------------


def test_labels_in_both_languages():
    assert say("en", "figure.epoch") == "epoch" and CJK.search(say("zh", "figure.epoch"))
    for key, text in words_en.WORDS.items():
        if key.startswith("figure."):
            assert CJK.search(words_zh.WORDS[key]) and not CJK.search(text), key
    assert say("zh", "figure.class", c=3) == "类别 3" and say("en", "figure.class", c=3) == "class 3"
    assert say("zh", "figure.diverged") == "发散"
    assert say("en", "figure.spread", n=3) == "band: lowest to highest of 3 seeds"


def test_figure_style_puts_a_cjk_font_first_for_zh():
    zh, en = viz.figure_style("zh"), viz.figure_style("en")
    assert zh["font.sans-serif"][0] in fonts.SANS + fonts.SERIF and zh["font.family"] == ["sans-serif"]
    assert "font.family" not in en and "font.sans-serif" not in en
    assert zh["axes.unicode_minus"] is False and en["axes.unicode_minus"] is False


# ---- training and validation curves --------------------------------------------------------


@pytest.fixture(scope="module")
def course():
    return [summary("momentum-0", [0.85, 0.86, 0.87]), summary("momentum-0.9", [0.90, 0.91, 0.93])]


def test_plot_training_curves_mean_over_seeds_with_bands(course):
    fig = viz.plot_training_curves(course, ["SGD", "momentum"])
    assert isinstance(fig, Figure) and len(fig.axes) == 2
    loss, acc = fig.axes
    assert [line.get_label() for line in labelled_lines(loss)] == [
        "SGD: training loss (running, per epoch)", "SGD: validation loss",
        "momentum: training loss (running, per epoch)", "momentum: validation loss"]
    lines = labelled_lines(acc)
    assert [line.get_linestyle() for line in lines] == ["-", "--", "-", "--"]
    # one colour per setting, training and validation alike
    colours = [viz.PALETTE[0], viz.PALETTE[0], viz.PALETTE[1], viz.PALETTE[1]]
    assert all(same_color(line.get_color(), c) for line, c in zip(lines, colours))
    val = course[1].curves["val_acc"]
    np.testing.assert_allclose(lines[3].get_ydata(), [s.mean for s in val])
    np.testing.assert_allclose(lines[3].get_ydata(), [0.713333, 0.813333, 0.913333], atol=1e-6)
    assert list(lines[3].get_xdata()) == [1, 2, 3]
    # a band per line (three seeds), from the lowest to the highest seed
    assert len(acc.collections) == 4 and len(loss.collections) == 4
    ys = acc.collections[3].get_paths()[0].vertices[:, 1]
    assert ys.min() == pytest.approx(0.70) and ys.max() == pytest.approx(0.93)
    assert acc.get_xlabel() == "epoch" and acc.get_ylabel() == "accuracy"
    assert loss.get_ylabel() == "loss"


def test_one_seed_draws_no_band():
    fig = viz.plot_training_curves([summary("a", [0.9])], ["a"])
    assert len(fig.axes[1].collections) == 0 and len(labelled_lines(fig.axes[1])) == 2


def test_plot_training_curves_in_chinese(course):
    fig = viz.plot_training_curves(course, ["随机梯度下降", "动量"], lang="zh")
    loss, acc = fig.axes
    assert acc.get_xlabel() == say("zh", "figure.epoch") and CJK.search(acc.get_xlabel())
    assert acc.get_ylabel() == "准确率" and loss.get_ylabel() == "损失"
    assert labelled_lines(acc)[1].get_label() == "随机梯度下降: 验证准确率"


def test_plot_val_curves_a_dashed_control_shares_the_colour_before_it(course):
    control = summary("sgd-equal-step", [0.89, 0.90, 0.91])
    nesterov = summary("nesterov-0.9", [0.91, 0.92, 0.93])
    panels = [[(course[1], "momentum 0.9", False), (control, "equal step", True),
               (nesterov, "Nesterov", False)],
              [(course[0], "SGD", False)]]
    fig = viz.plot_val_curves(panels, thresholds=(0.90, 0.92), ylim=(0.5, 1.0))
    assert len(fig.axes) == 2
    ax = fig.axes[0]
    m9, ctrl, nes = labelled_lines(ax)
    assert [m9.get_label(), ctrl.get_label(), nes.get_label()] == ["momentum 0.9", "equal step", "Nesterov"]
    assert same_color(ctrl.get_color(), m9.get_color()) and ctrl.get_linestyle() == "--"
    assert not same_color(nes.get_color(), m9.get_color()) and nes.get_linestyle() == "-"
    np.testing.assert_allclose(ctrl.get_ydata(), [s.mean for s in control.curves["val_acc"]])
    # the thresholds: dotted grey horizontal lines, unlabelled
    hlines = [line for line in ax.get_lines() if line not in (m9, ctrl, nes)]
    assert [list(line.get_ydata()) for line in hlines] == [[0.90, 0.90], [0.92, 0.92]]
    assert all(line.get_linestyle() == ":" for line in hlines)
    assert ax.get_ylim() == (0.5, 1.0) and ax.get_ylabel() == "validation accuracy"
    assert len(labelled_lines(fig.axes[1])) == 1 and len(fig.axes[1].get_lines()) == 3


def test_plot_val_curves_one_panel_without_thresholds(course):
    fig = viz.plot_val_curves([[(course[0], "SGD", False)]], lang="zh")
    (ax,) = fig.axes
    assert len(ax.get_lines()) == 1 and ax.get_ylabel() == "验证准确率"


# ---- sweeps --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def lr_sweep():
    return [summary("lr-0.1", [0.93, 0.94, 0.95], "lr", lr=0.1),
            summary("lr-0.001", [0.80, 0.81, 0.82], "lr", lr=0.001),
            summary("lr-0.01", [0.90, 0.90, 0.90], "lr", lr=0.01),
            summary("lr-0.5", [0.5, 0.5, 0.5], "lr", status=["diverged"] * 3, lr=0.5),
            summary("lr-0.05", [0.92, 0.94, 0.9], "lr", status=["ok", "ok", "diverged"], lr=0.05)]


def test_plot_sweep_curves_by_value_and_the_final_accuracy_on_a_log_axis(lr_sweep):
    fig = viz.plot_sweep(lr_sweep, "lr", n_seeds=3)
    curves, final = fig.axes
    # sorted by value; every seed of lr 0.5 diverged, so it has no curve; lr 0.05 lost a seed
    assert [line.get_label() for line in labelled_lines(curves)] == [
        "learning rate 0.001", "learning rate 0.01", "learning rate 0.05 (diverged)",
        "learning rate 0.1"]
    assert final.get_xscale() == "log" and final.get_xlabel() == "learning rate"
    assert final.get_ylabel() == "final validation accuracy"
    (bars,) = final.containers
    x, y = xy(bars.lines[0])
    assert x == [0.001, 0.01, 0.1]  # no diverged value
    np.testing.assert_allclose(y, [0.81, 0.90, 0.94])
    segments = bars.lines[2][0].get_segments()  # mean +- sd of the seeds
    np.testing.assert_allclose([s[1, 1] - s[0, 1] for s in segments], [0.02, 0.0, 0.02], atol=1e-9)
    # the diverged values are red dotted vertical lines, not points
    red = [ln for ln in final.get_lines() if same_color(ln.get_color(), viz.DIVERGED_COLOR)]
    assert sorted(ln.get_xdata()[0] for ln in red) == [0.05, 0.5]
    assert all(list(ln.get_xdata()) == [ln.get_xdata()[0]] * 2 and ln.get_linestyle() == ":" for ln in red)
    # no curve is clipped at the bottom (lr 0.001's first epochs were, issue 19 item 10)
    lowest = min(min(line.get_ydata()) for line in labelled_lines(curves))
    assert lowest - 0.02 <= curves.get_ylim()[0] <= lowest


def test_plot_sweep_in_chinese_marks_diverged(lr_sweep):
    fig = viz.plot_sweep(lr_sweep, "lr", lang="zh")
    labels = [line.get_label() for line in labelled_lines(fig.axes[0])]
    assert labels[2] == "学习率 0.05 (发散)" and fig.axes[1].get_xlabel() == "学习率"


def test_plot_batch_fixed_and_scaled_rates_and_the_epoch_time():
    fixed = [summary(f"bs-{b}", [a, a], "batch_size", batch_size=b)
             for b, a in ((1000, 0.80), (10, 0.92), (100, 0.90))]
    scaled = [summary("bs-10-scaled", [0.85, 0.87], "batch_size", batch_size=10, lr=0.001),
              summary("bs-1000-scaled", [0.5, 0.5], "batch_size", ["diverged"] * 2, batch_size=1000,
                      lr=0.1)]
    times = {1000: {"median": 0.05, "q1": 0.04, "q3": 0.07}, 10: {"median": 1.0, "q1": 0.9, "q3": 1.2},
             100: {"median": 0.12, "q1": 0.11, "q3": 0.125}}
    fig = viz.plot_batch(fixed, scaled, times)
    acc, secs = fig.axes
    f, s = acc.containers
    assert f.get_label() == "learning rate 0.01 for every batch size"
    assert s.get_label() == "learning rate 0.01 x batch / 100"
    assert xy(f.lines[0])[0] == [10, 100, 1000]
    np.testing.assert_allclose(xy(f.lines[0])[1], [0.92, 0.90, 0.80])
    assert xy(s.lines[0])[0] == [10]  # the diverged batch size is left out
    np.testing.assert_allclose(xy(s.lines[0])[1], [0.86])
    (t,) = secs.containers
    assert xy(t.lines[0]) == ([10, 100, 1000], [1.0, 0.12, 0.05])
    bars = t.lines[2][0].get_segments()  # q1 to q3 around the median
    np.testing.assert_allclose([(b[0, 1], b[1, 1]) for b in bars], [(0.9, 1.2), (0.11, 0.125), (0.04, 0.07)])
    assert acc.get_xscale() == secs.get_xscale() == secs.get_yscale() == "log"
    assert secs.get_ylabel() == "seconds per epoch (median)" and acc.get_xlabel() == "batch size"
    # the log time axis is readable: several labelled ticks within the data, not one "1.0"
    fig.canvas.draw()
    lo, hi = secs.get_ylim()
    shown = [t.get_text() for t in secs.get_yticklabels() if t.get_text() and lo <= t.get_position()[1] <= hi]
    assert len(shown) >= 3, shown
    # printed at the width it is drawn: legend text at 7 points or more
    assert fig.get_figwidth() <= viz.WIDE and min(t.get_fontsize() for t in acc.get_legend().get_texts()) >= 7
    # without times the right panel stays empty
    assert len(viz.plot_batch(fixed, scaled, {}).axes[1].get_lines()) == 0


def test_plot_heatmap_a_number_per_finite_cell_and_diverged_for_nan():
    acc = np.array([[0.9, 0.91, np.nan], [0.85, 0.93, 0.8]])
    fig = viz.plot_heatmap([0.01, 0.1, 0.5], [10, 100], acc)
    ax = fig.axes[0]
    assert texts(ax) == ["0.900", "0.910", "diverged", "0.850", "0.930", "0.800"]
    assert [t.get_position() for t in ax.texts][2] == (2, 0)  # column = lr, row = batch size
    bold = [t.get_text() for t in ax.texts if t.get_fontweight() == "bold"]
    assert bold == ["0.930"]  # the best cell
    assert [t.get_text() for t in ax.get_xticklabels()] == ["0.01", "0.1", "0.5"]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["10", "100"]
    assert ax.get_xlabel() == "learning rate" and ax.get_ylabel() == "batch size"
    image = ax.get_images()[0]
    assert image.get_array().mask[0, 2] and not image.get_array().mask[1, 1]
    assert image.get_clim()[1] == pytest.approx(0.93)
    assert len(fig.axes) == 2  # and a colour bar


def test_plot_heatmap_in_chinese_and_all_diverged():
    fig = viz.plot_heatmap([0.1, 0.5], [10], np.array([[np.nan, np.nan]]), lang="zh")
    ax = fig.axes[0]
    assert texts(ax) == ["发散", "发散"] and ax.get_xlabel() == "学习率" and ax.get_ylabel() == "批大小"
    assert all(t.get_fontweight() != "bold" for t in ax.texts)


def test_plot_bars_one_bar_per_setting_and_the_word_for_diverged():
    items = [summary("lr=0.1,momentum=0.9", [0.90, 0.92], "grid"),
             summary("lr=9,momentum=0.9", [0.1, 0.1], "grid", status=["diverged"] * 2),
             summary("lr=0.01,momentum=0", [0.85], "grid")]
    fig = viz.plot_bars(items)
    ax = fig.axes[0]
    assert [p.get_width() for p in ax.patches] == pytest.approx([0.91, 0.85])
    assert [t.strip() for t in texts(ax)] == ["0.9100", "diverged", "0.8500"]
    red = [t for t in ax.texts if t.get_text() == "diverged"]
    assert same_color(red[0].get_color(), viz.DIVERGED_COLOR)
    assert [t.get_text() for t in ax.get_yticklabels()] == [s.setting for s in items]
    assert ax.get_xlabel() == "final validation accuracy"
    assert ax.get_xlim()[0] == pytest.approx(0.82) and ax.get_xlim()[1] == pytest.approx(0.93)
    assert texts(viz.plot_bars(items, lang="zh").axes[0])[1] == "发散"


# ---- the reference model -------------------------------------------------------------------


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
    zh = viz.plot_weights(W, lang="zh")
    assert [ax.get_title() for ax in zh.axes if ax.get_images()][3] == "类别 3"


def confusion_matrix() -> np.ndarray:
    cm = np.diag(np.arange(50, 60))
    cm[4, 9] = 40  # 4 read as 9
    cm[7, 1] = 3
    return cm


def test_plot_confusion_counts_annotated():
    cm = confusion_matrix()
    fig = viz.plot_confusion(cm)
    ax = fig.axes[0]
    assert len(ax.texts) == 100 and texts(ax)[4 * 10 + 9] == "40" and texts(ax)[0] == "50"
    assert f"accuracy {np.trace(cm) / cm.sum():.4f}" in ax.get_title() and "588 images" in ax.get_title()
    assert ax.get_xlabel() == "predicted class" and ax.get_ylabel() == "true class"
    colours = ax.get_images()[0].get_array()
    assert colours[4, 9] == pytest.approx(40 / 94) and colours[4, 4] == 0  # row fractions, off-diagonal
    zh = viz.plot_confusion(cm, lang="zh").axes[0]
    assert zh.get_xlabel() == "预测类别" and zh.get_title().startswith("测试集混淆矩阵")


def test_plot_examples_titles():
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (12, 28, 28)).astype(np.uint8)
    true, pred = np.arange(12) % 10, (np.arange(12) + 1) % 10
    prob, margin = np.linspace(0.9, 0.5, 12), np.zeros(12)
    fig = viz.plot_examples(images, true, pred, prob, "ambiguous", margin=margin)
    shown = [ax for ax in fig.axes if ax.get_visible()]
    assert len(shown) == 12 and len(fig.axes) == 16  # 2 rows of 8, the last 4 hidden
    assert shown[0].get_title() == "true 0 / pred 1\np=0.900 m=0.000"
    assert shown[0].get_images()[0].get_array().shape == (28, 28)
    assert same_color(shown[0].title.get_color(), viz.DIVERGED_COLOR)  # a mistake in red
    zh = viz.plot_examples(images[:2], true[:2], true[:2], prob[:2], lang="zh")
    assert zh.axes[1].get_title() == f"真 1 / 预测 1\np={prob[1]:.3f}"
    assert same_color(zh.axes[1].title.get_color(), "black")


# ---- the course's own plots and saving -----------------------------------------------------


def test_existing_course_plots_still_work(tmp_path):
    figs = course_viz.plot_loss_and_acc({"a": [[1.0, 0.5], [0.5, 0.8]], "b": [[1.1, 0.4], [0.4, 0.9]]},
                                 path=tmp_path)
    assert len(figs) == 2 and (tmp_path / "loss.png").is_file() and (tmp_path / "acc.png").is_file()
    assert len(figs[0].axes[0].get_lines()) == 2


def test_figures_save_as_png(tmp_path, course):
    path = viz.save_figure(viz.plot_training_curves(course, ["a", "b"]), tmp_path / "m.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
