"""fit / evaluate / History / TrainConfig on small synthetic data, the test split kept out
of training, and the course's accuracy on real MNIST."""

from __future__ import annotations

import inspect
import math
from types import SimpleNamespace

import numpy as np
import pytest

from softmax_mnist.core.config import TrainConfig
from softmax_mnist.core.data import Splits
from softmax_mnist.core.fit import fit
from softmax_mnist.core.functional import accuracy, cross_entropy
from softmax_mnist.core.loop import History, Hooks, evaluate
from softmax_mnist.core.model import SoftmaxRegression
from softmax_mnist.course.solver import Solver
from softmax_mnist.errors import ConfigError, DivergenceError


def blobs(n=240, d=6, c=3, seed=0, spread=1.0):
    """float32 Gaussian blobs around 4 * e_k: linearly separable up to a few outliers."""
    rng = np.random.default_rng(seed)
    y = rng.permutation(np.arange(n) % c).astype(np.int64)
    x = 4.0 * np.eye(c, d)[y] + rng.normal(0.0, spread, (n, d))
    return x.astype(np.float32), y


def train(x, y, seed=0, epochs=15, batch_size=20, lr=0.1, momentum=0.0, x_val=None, y_val=None,
          log=None, display_freq=0):
    """One fit of a fresh model of as many classes as y has, drawn and shuffled by ``seed``."""
    rng = np.random.default_rng(seed)
    model = SoftmaxRegression(x.shape[1], int(y.max()) + 1, rng=rng)
    config = TrainConfig(epochs=epochs, batch_size=batch_size, lr=lr, momentum=momentum)
    data = SimpleNamespace(x_train=x, y_train=y, x_val=x_val, y_val=y_val)
    r = fit(config, data, Hooks(log=log, log_every=display_freq), model=model, rng=rng)
    assert r.model is model and r.diverged is None  # trained in place
    return model, r.history


def one_line(excinfo) -> str:
    msg = str(excinfo.value)
    assert msg and "\n" not in msg
    return msg


# ---- learning -------------------------------------------------------------------------------


@pytest.mark.parametrize("momentum", [0.0, 0.9])
def test_fit_learns_separable_blobs(momentum):
    x, y = blobs(seed=0)
    xv, yv = blobs(n=300, seed=1)
    model, hist = train(x, y, momentum=momentum, x_val=xv, y_val=yv)
    assert all(math.isfinite(v) for v in hist.iter_loss)
    assert hist.train_loss[0] > 0.3  # starts from a real loss...
    assert hist.train_loss[-1] < 0.5 * hist.train_loss[0]  # ...and goes down
    assert hist.train_loss[-1] < 0.2
    assert hist.train_acc[-1] >= 0.95
    assert hist.val_acc[-1] >= 0.95
    assert evaluate(model, xv, yv)[1] == hist.val_acc[-1]


def test_same_seed_is_bit_identical_and_other_seeds_differ():
    x, y = blobs()
    m1, h1 = train(x, y, seed=7, epochs=3)
    m2, h2 = train(x, y, seed=7, epochs=3)
    assert np.array_equal(m1.W, m2.W) and np.array_equal(m1.b, m2.b)
    assert h1.iter_loss == h2.iter_loss and h1.train_acc == h2.train_acc
    m3, h3 = train(x, y, seed=8, epochs=3)
    assert not np.array_equal(m1.W, m3.W)
    assert h1.iter_loss != h3.iter_loss


@pytest.mark.parametrize("n, batch_size, epochs", [
    (240, 20, 3), (240, 240, 2), (240, 1, 1), (103, 10, 2), (103, 102, 2), (7, 3, 4),
])
def test_history_lengths(n, batch_size, epochs):
    x, y = blobs(n=n)
    xv, yv = blobs(n=30, seed=1)
    _, hist = train(x, y, epochs=epochs, batch_size=batch_size, x_val=xv, y_val=yv)
    iters = math.ceil(n / batch_size)
    assert len(hist.iter_loss) == len(hist.iter_acc) == epochs * iters
    for per_epoch in (hist.train_loss, hist.train_acc, hist.val_loss, hist.val_acc,
                      hist.epoch_time):
        assert len(per_epoch) == epochs
    assert all(t > 0 for t in hist.epoch_time)
    assert [r["epoch"] for r in hist.epoch_rows()] == list(range(1, epochs + 1))
    _, no_val = train(x, y, epochs=epochs, batch_size=batch_size)
    assert no_val.val_loss == [] and no_val.val_acc == [] and len(no_val.train_loss) == epochs


def test_batch_size_that_does_not_divide_n():
    """103 samples in batches of 10: 11 iterations, the last of 3 samples, weighted as such."""
    x, y = blobs(n=103)
    _, hist = train(x, y, epochs=2, batch_size=10)
    sizes = np.array([10] * 10 + [3], dtype=float)
    for e in range(2):
        losses = np.array(hist.iter_loss[11 * e : 11 * (e + 1)])
        accs = np.array(hist.iter_acc[11 * e : 11 * (e + 1)])
        assert hist.train_loss[e] == pytest.approx(np.sum(losses * sizes) / 103, rel=1e-12)
        assert hist.train_acc[e] == pytest.approx(np.sum(accs * sizes) / 103, rel=1e-12)
    # the last batch's accuracy can only be a multiple of 1/3
    assert hist.iter_acc[10] * 3 == pytest.approx(round(hist.iter_acc[10] * 3))


@pytest.mark.parametrize("batch_size", [0, -1, 104, 10_000])
def test_bad_batch_size(batch_size):
    x, y = blobs(n=103)
    with pytest.raises(ConfigError) as e:
        train(x, y, batch_size=batch_size)
    msg = one_line(e)
    assert "batch size" in msg and str(batch_size) in msg


@pytest.mark.parametrize("scale, where", [
    (100.0, "in epoch 1"),  # loss stays finite but ends the epoch far above log C
    (1e18, "iteration 2"),  # logits overflow float32: the loss is nan at once
])
def test_diverging_learning_rate_raises_and_names_it(scale, where):
    x, y = blobs()
    with np.errstate(over="ignore", invalid="ignore"), pytest.raises(DivergenceError) as e:
        train(x * np.float32(scale), y, lr=1e4, epochs=5)
    msg = one_line(e)
    assert msg.startswith("training diverged ") and where in msg
    assert "learning rate 10000" in msg
    assert "smaller" in msg and "`lr=1000`" in msg and "--" not in msg  # a setting, not a flag
    assert isinstance(e.value, FloatingPointError)


def test_divergence_on_real_mnist(mnist_splits):
    d = mnist_splits
    data = SimpleNamespace(x_train=d.x_train, y_train=d.y_train, x_val=None, y_val=None)
    with pytest.raises(DivergenceError) as e:  # the fresh init of seed 0
        fit(TrainConfig(epochs=10, batch_size=100, lr=1e4), data)
    msg = one_line(e)
    assert "epoch 1" in msg and "learning rate 10000" in msg and "`lr=1000`" in msg
    assert e.value.history is not None and len(e.value.history.train_loss) == 1


def test_log_and_display_freq():
    x, y = blobs(n=100)
    lines: list[str] = []
    train(x, y, epochs=2, batch_size=10, log=lines.append, display_freq=3)
    # 10 iterations per epoch: lines at iterations 3, 6, 9, then the epoch summary
    assert len(lines) == 2 * (3 + 1)
    assert sum("epoch 1/2" in s for s in lines) == 1 and sum("epoch 2/2" in s for s in lines) == 1
    quiet: list[str] = []
    train(x, y, epochs=2, batch_size=10, log=quiet.append)
    assert len(quiet) == 2  # display_freq 0: epoch lines only


def test_fit_prints_nothing_without_log(capsys):
    x, y = blobs(n=50)
    train(x, y, epochs=2, batch_size=10, display_freq=1)
    assert capsys.readouterr().out == ""


def test_evaluate_matches_direct_computation_and_chunking():
    x, y = blobs(n=103, seed=2)
    model = SoftmaxRegression(6, 3, rng=np.random.default_rng(0), dtype=np.float64)
    x = x.astype(np.float64)
    loss, acc = evaluate(model, x, y)
    logits = x @ model.W + model.b
    assert loss == pytest.approx(cross_entropy(logits, y)[0], rel=1e-12)
    assert acc == accuracy(logits, y)
    loss7, acc7 = evaluate(model, x, y, chunk=7)
    assert loss7 == pytest.approx(loss, rel=1e-12) and acc7 == acc


# ---- the test split stays out of training ----------------------------------------------------


def test_fit_has_no_test_arguments():
    names = list(inspect.signature(fit).parameters)
    assert not [n for n in names if "test" in n]


class ForbiddenTestRead(AssertionError):
    pass


class GuardedSplits:
    """Wraps Splits; reading x_test or y_test raises."""

    def __init__(self, splits):
        self._splits = splits

    def __getattr__(self, name):
        if name in ("x_test", "y_test"):
            raise ForbiddenTestRead(f"data.{name} was read")
        return getattr(self._splits, name)


def fake_splits(seed=0) -> Splits:
    """784-feature, 10-class synthetic data in the shape Solver expects."""
    rng = np.random.default_rng(seed)
    centers = rng.normal(0.0, 0.3, (10, 784))

    def make(n):
        y = rng.integers(0, 10, n)
        return (centers[y] + rng.normal(0.0, 0.3, (n, 784))).astype(np.float32), y

    (xtr, ytr), (xv, yv), (xte, yte) = make(300), make(50), make(60)
    return Splits(xtr, ytr, xv, yv, xte, yte, "course")


@pytest.fixture
def fake_solver(monkeypatch):
    """Solver(cfg) on fake_splits() instead of reading MNIST files."""
    import softmax_mnist.course.solver as solver_module

    monkeypatch.setattr(solver_module, "load_splits", lambda *a, **k: fake_splits())

    def make(**over):
        cfg = {"data_root": "unused", "max_epoch": 3, "batch_size": 32, "learning_rate": 0.05,
               "momentum": 0.9, "display_freq": 0, "verbose": False, **over}
        return Solver(cfg)

    return make


def test_solver_train_never_reads_the_test_split(fake_solver):
    reference = fake_solver()
    ref_losses, ref_accs = reference.train()

    guarded = fake_solver()
    guarded.data = GuardedSplits(guarded.data)
    losses, accs = guarded.train()
    assert losses == ref_losses and accs == ref_accs
    assert np.array_equal(guarded.model.W, reference.model.W)
    assert ref_accs[-1] > 0.9  # it did learn something on the fake data
    with pytest.raises(ForbiddenTestRead):  # the guard works: test() is what reads it
        guarded.test()


def test_nan_test_split_does_not_change_training(fake_solver):
    reference = fake_solver()
    reference.train()
    poisoned = fake_solver()
    poisoned.data.x_test = np.full_like(poisoned.data.x_test, np.nan)
    poisoned.data.y_test = np.full_like(poisoned.data.y_test, 10**9)
    poisoned.train()
    assert poisoned.history.iter_loss == reference.history.iter_loss
    assert poisoned.history.val_acc == reference.history.val_acc
    assert np.array_equal(poisoned.model.W, reference.model.W)
    assert np.array_equal(poisoned.model.b, reference.model.b)


# ---- TrainConfig ------------------------------------------------------------------------------


def test_train_config_defaults_are_the_course_settings():
    cfg = TrainConfig()
    assert (cfg.epochs, cfg.batch_size, cfg.lr, cfg.momentum) == (10, 100, 0.01, 0.0)
    assert (cfg.preprocess, cfg.val_size, cfg.seed, cfg.nesterov) == ("course", 5000, 0, False)
    assert TrainConfig.from_dict(cfg.to_dict()) == cfg
    assert TrainConfig.from_dict({"lr": 0.1, "momentum": 0.9}).lr == 0.1
    with pytest.raises(AttributeError):  # frozen
        cfg.lr = 1.0  # type: ignore[misc]


@pytest.mark.parametrize("kwargs, named", [
    ({"lr": -0.1}, "-0.1"),
    ({"lr": 0}, "0"),
    ({"lr": math.nan}, "nan"),
    ({"lr": math.inf}, "inf"),
    ({"lr": "0.1"}, "'0.1'"),
    ({"epochs": 0}, "0"),
    ({"epochs": -3}, "-3"),
    ({"epochs": 2.5}, "2.5"),
    ({"epochs": "10"}, "'10'"),
    ({"batch_size": 0}, "0"),
    ({"batch_size": None}, "None"),
    ({"momentum": 1.0}, "1.0"),
    ({"momentum": -0.1}, "-0.1"),
    ({"momentum": "0.9"}, "'0.9'"),
    ({"weight_decay": -1e-4}, "-0.0001"),
    ({"preprocess": "zscore"}, "'zscore'"),
    ({"preprocess": None}, "None"),
    ({"val_size": 60000}, "60000"),
    ({"val_size": -1}, "-1"),
    ({"seed": -1}, "-1"),
    ({"seed": "0"}, "'0'"),
    ({"epochs": True}, "True"),
    ({"lr": True}, "True"),
    ({"nesterov": "false", "momentum": 0.9}, "'false'"),
    ({"nesterov": True, "momentum": 0.0}, "momentum"),
])
def test_train_config_rejects(kwargs, named):
    with pytest.raises(ConfigError) as e:
        TrainConfig(**kwargs)
    assert named in one_line(e)


def test_train_config_preprocess_message_lists_the_choices():
    with pytest.raises(ConfigError) as e:
        TrainConfig(preprocess="zscore")
    msg = one_line(e)
    assert "course" in msg and "standardize" in msg


def test_from_dict_rejects_unknown_keys():
    with pytest.raises(ConfigError) as e:
        TrainConfig.from_dict({"lr": 0.1, "learning_rate": 0.1, "max_epoch": 3})
    msg = one_line(e)
    assert "learning_rate" in msg and "max_epoch" in msg
    assert "lr" in msg  # the known names are listed as the fix


def test_history_is_a_plain_record():
    h = History()
    assert h.iter_loss == [] and h.epoch_rows() == []


# ---- real MNIST ------------------------------------------------------------------------------


@pytest.mark.parametrize("momentum, bar", [(0.0, 0.895), (0.9, 0.915)])
def test_course_settings_on_real_mnist(mnist_splits, momentum, bar):
    """batch 100, lr 0.01, 10 epochs, course preprocessing, 55k/5k split, seed 0."""
    d = mnist_splits
    assert d.x_train.shape == (55000, 784) and d.x_val.shape == (5000, 784)
    # the fresh init fit draws: SoftmaxRegression(784, 10) from default_rng(seed 0)
    r = fit(TrainConfig(epochs=10, batch_size=100, lr=0.01, momentum=momentum), d)
    model, hist = r.model, r.history
    assert len(hist.iter_loss) == 10 * 550
    assert hist.train_loss[-1] < hist.train_loss[0]
    assert hist.val_acc[-1] >= bar
    test_loss, test_acc = evaluate(model, d.x_test, d.y_test)
    print(f"momentum {momentum}: test loss {test_loss:.4f} acc {test_acc:.4f}")
    assert test_acc >= bar
    assert test_loss < 0.45
