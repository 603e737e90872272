"""The course's names keep working: the notebook's Solver sequence on real MNIST, the
comparison plot, SoftmaxCrossEntropyLoss and SGD(model, learning_rate, momentum)."""

from __future__ import annotations

import contextlib
import io

import matplotlib
import numpy as np
import pytest
from matplotlib.figure import Figure

from softmax_mnist.course.loss import SoftmaxCrossEntropyLoss
from softmax_mnist.course.optimizer import SGD
from softmax_mnist.course.solver import Solver
from softmax_mnist.errors import ConfigError

matplotlib.use("Agg")


# ---- the notebook, top to bottom, run once for the module -------------------------------------


@pytest.fixture(scope="module")
def course_runs(mnist_dir):
    """Solver(cfg).train() / .test() without and with momentum, stdout captured."""
    cfg = {
        "data_root": str(mnist_dir),
        "max_epoch": 10,
        "batch_size": 100,
        "learning_rate": 0.01,
        "momentum": 0.0,
        "display_freq": 50,
    }
    runs = {}
    for name, momentum in (("SGD", 0.0), ("SGD with momentum", 0.9)):
        cfg["momentum"] = momentum
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            solver = Solver(dict(cfg))
            losses, accs = solver.train()
            test_loss, test_acc = solver.test()
        runs[name] = {"losses": losses, "accs": accs, "test_loss": test_loss,
                      "test_acc": test_acc, "stdout": out.getvalue(), "solver": solver}
    return runs


@pytest.mark.parametrize("name", ["SGD", "SGD with momentum"])
def test_train_returns_ten_epoch_losses_and_accuracies(course_runs, name):
    run = course_runs[name]
    for series in (run["losses"], run["accs"]):
        assert isinstance(series, list) and len(series) == 10
        assert all(isinstance(v, float) for v in series)
    assert all(0.0 <= a <= 1.0 for a in run["accs"])
    assert run["losses"][-1] < run["losses"][0]
    assert run["accs"][-1] > run["accs"][0]


@pytest.mark.parametrize("name, bar", [("SGD", 0.895), ("SGD with momentum", 0.915)])
def test_test_accuracy_reaches_the_course_result(course_runs, name, bar):
    run = course_runs[name]
    print(f"{name}: test loss {run['test_loss']:.4f} acc {run['test_acc']:.4f}")
    assert isinstance(run["test_loss"], float) and isinstance(run["test_acc"], float)
    assert run["test_acc"] >= bar
    assert 0.0 < run["test_loss"] < 0.45


def test_momentum_beats_plain_sgd(course_runs):
    assert course_runs["SGD with momentum"]["test_acc"] > course_runs["SGD"]["test_acc"]
    assert course_runs["SGD with momentum"]["losses"][-1] < course_runs["SGD"]["losses"][-1]


def test_display_freq_prints_progress(course_runs):
    lines = [s for s in course_runs["SGD"]["stdout"].splitlines() if s.strip()]
    # 550 iterations per epoch: a line every 50 (11) plus one summary line, for 10 epochs
    assert len(lines) == 10 * (550 // 50 + 1)
    assert sum("550/550" in s for s in lines) == 10


def test_plot_loss_and_acc(course_runs, tmp_path, monkeypatch):
    from softmax_mnist.visualize import plot_loss_and_acc

    d = {name: [run["losses"], run["accs"]] for name, run in course_runs.items()}
    monkeypatch.chdir(tmp_path)  # path=None must not write anything
    figs = plot_loss_and_acc(d)
    assert len(figs) == 2 and all(isinstance(f, Figure) for f in figs)
    for fig, which in zip(figs, (0, 1), strict=True):
        lines = [ln for ax in fig.axes for ln in ax.get_lines()]
        assert len(lines) == 2
        by_label = {ln.get_label(): ln for ln in lines}
        assert set(by_label) == set(d)
        for label, series in d.items():
            np.testing.assert_allclose(by_label[label].get_ydata(), series[which])
    assert list(tmp_path.rglob("*.png")) == []

    out = tmp_path / "plots"
    out.mkdir()
    plot_loss_and_acc(d, path=out)
    pngs = sorted(out.rglob("*.png"))
    assert len(pngs) == 2
    for p in pngs:
        assert p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and p.stat().st_size > 1000


# ---- SoftmaxCrossEntropyLoss and SGD ----------------------------------------------------------


def batch(n=20, seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(0, 0.3, (n, 784)).astype(np.float32), rng.integers(0, 10, n)


def test_softmax_cross_entropy_loss_shapes():
    layer = SoftmaxCrossEntropyLoss(784, 10)
    assert layer.trainable is True
    assert layer.W.shape == (784, 10) and layer.b.shape == (1, 10)
    x, y = batch()
    loss, acc = layer.forward(x, y)
    layer.gradient_computing()
    assert isinstance(loss, float) and loss > 0
    assert isinstance(acc, float) and 0.0 <= acc <= 1.0
    assert layer.grad_W.shape == (784, 10) and layer.grad_b.shape == (1, 10)
    assert np.any(layer.grad_W != 0) and np.any(layer.grad_b != 0)
    # grad_W is X^T (softmax - onehot) / N
    logits = x.astype(np.float64) @ layer.W + layer.b
    p = np.exp(logits - logits.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    p[np.arange(len(y)), y] -= 1
    np.testing.assert_allclose(layer.grad_W, x.T @ p / len(y), atol=1e-6)
    np.testing.assert_allclose(layer.grad_b, p.sum(axis=0, keepdims=True) / len(y), atol=1e-6)


def test_forward_accepts_one_hot_labels():
    x, y = batch()
    a, b = SoftmaxCrossEntropyLoss(784, 10), SoftmaxCrossEntropyLoss(784, 10)
    assert a.forward(x, y) == b.forward(x, np.eye(10)[y])
    a.gradient_computing()
    b.gradient_computing()
    assert np.array_equal(a.grad_W, b.grad_W) and np.array_equal(a.grad_b, b.grad_b)


def test_sgd_step_on_the_course_layer():
    layer = SoftmaxCrossEntropyLoss(784, 10)
    opt = SGD(layer, 0.1, 0.0)  # SGD(model, learning_rate, momentum)
    x, y = batch()
    W0, b0 = layer.W.copy(), layer.b.copy()
    first, _ = layer.forward(x, y)
    layer.gradient_computing()
    opt.step()
    assert np.array_equal(layer.W, W0 - 0.1 * layer.grad_W)
    assert np.array_equal(layer.b, b0 - 0.1 * layer.grad_b)
    momentum_opt = SGD(layer, 0.1, 0.9)
    for _ in range(5):
        layer.forward(x, y)
        layer.gradient_computing()
        momentum_opt.step()
    assert layer.forward(x, y)[0] < first


def test_trainable_false_leaves_w_unchanged():
    x, y = batch()
    frozen = SoftmaxCrossEntropyLoss(784, 10, trainable=False)
    opt = SGD(frozen, 0.1, 0.9)
    W0, b0 = frozen.W.copy(), frozen.b.copy()
    for _ in range(3):
        frozen.forward(x, y)
        frozen.gradient_computing()
        opt.step()
    assert np.any(frozen.grad_W != 0)  # there was a gradient to apply
    assert np.array_equal(frozen.W, W0) and np.array_equal(frozen.b, b0)


def test_freezing_after_the_optimizer_is_made():
    """The course's SGD checks ``trainable`` at every step, not once."""
    x, y = batch()
    layer = SoftmaxCrossEntropyLoss(784, 10)
    opt = SGD(layer, 0.1, 0.9)
    layer.forward(x, y)
    layer.gradient_computing()
    opt.step()
    layer.trainable = False
    W1 = layer.W.copy()
    layer.forward(x, y)
    layer.gradient_computing()
    opt.step()
    assert np.array_equal(layer.W, W1)
    layer.trainable = True  # and unfreezing trains again
    opt.step()
    assert not np.array_equal(layer.W, W1)


def test_unfreezing_a_layer_frozen_at_construction():
    x, y = batch()
    layer = SoftmaxCrossEntropyLoss(784, 10, trainable=False)
    opt = SGD(layer, 0.1, 0.9)
    layer.trainable = True
    layer.forward(x, y)
    layer.gradient_computing()
    W0 = layer.W.copy()
    opt.step()
    np.testing.assert_allclose(layer.W, W0 - 0.1 * layer.grad_W, rtol=1e-6)


def test_setting_w_keeps_the_optimizer_in_sync():
    layer = SoftmaxCrossEntropyLoss(784, 10)
    opt = SGD(layer, 0.1)
    layer.W = np.zeros((784, 10))
    layer.b = np.zeros((1, 10))
    x, y = batch()
    loss, _ = layer.forward(x, y)
    assert loss == pytest.approx(np.log(10), rel=1e-6)
    layer.gradient_computing()
    opt.step()
    assert np.array_equal(layer.W, -0.1 * layer.grad_W)


def tiny_course_data(monkeypatch, spread: float) -> None:
    """The Solver reads 60 random images (40 train, 10 validation, 10 test) instead of MNIST."""
    import softmax_mnist.course.solver as solver_module
    from softmax_mnist.core.data import Splits

    rng = np.random.default_rng(0)
    x = rng.normal(0, spread, (60, 784)).astype(np.float32)
    y = np.arange(60) % 10
    fake = Splits(x[:40], y[:40], x[40:50], y[40:50], x[50:], y[50:], "course")
    monkeypatch.setattr(solver_module, "load_splits", lambda *a, **k: fake)


def test_display_freq_with_capsys(capsys, monkeypatch):
    """Solver prints every display_freq iterations (verbose by default), on tiny fake data."""
    tiny_course_data(monkeypatch, 0.3)
    cfg = {"data_root": "unused", "max_epoch": 2, "batch_size": 10, "learning_rate": 0.01,
           "momentum": 0.0, "display_freq": 2}
    Solver(cfg).train()
    out = [s for s in capsys.readouterr().out.splitlines() if s.strip()]
    assert len(out) == 2 * (4 // 2 + 1)  # 4 iterations per epoch: lines at 2 and 4, + summary
    Solver({**cfg, "verbose": False}).train()
    assert capsys.readouterr().out == ""


@pytest.mark.parametrize("missing", ["data_root", "max_epoch", "learning_rate", "display_freq"])
def test_solver_cfg_missing_key(missing):
    cfg = {"data_root": "x", "max_epoch": 1, "batch_size": 1, "learning_rate": 0.01,
           "momentum": 0.0, "display_freq": 0}
    del cfg[missing]
    with pytest.raises(ConfigError) as e:
        Solver(cfg)
    assert missing in str(e.value) and "\n" not in str(e.value)


def test_solver_advice_names_the_cfg_key_not_a_flag_or_core_setting(monkeypatch):
    """A diverging Solver run says what to change in the caller's own terms: cfg['learning_rate']."""
    from softmax_mnist.errors import DivergenceError

    tiny_course_data(monkeypatch, 30.0)
    cfg = {"data_root": "unused", "max_epoch": 3, "batch_size": 10, "learning_rate": 1e4,
           "momentum": 0.0, "display_freq": 0, "verbose": False}
    with np.errstate(over="ignore", invalid="ignore"), pytest.raises(DivergenceError) as e:
        Solver(cfg).train()
    msg = str(e.value)
    assert "cfg['learning_rate'] = 1000" in msg, msg
    assert "`lr=" not in msg and "--lr" not in msg
    assert e.value.history is not None
