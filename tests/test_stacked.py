"""fit_stacked: K settings trained in one pass equal K separate runs (to float32 rounding,
with the same accuracies), and a setting that diverges drops out without touching the rest."""

from __future__ import annotations

import numpy as np
import pytest

from softmax_mnist.config import TrainConfig
from softmax_mnist.datasets import Splits
from softmax_mnist.errors import ConfigError, DivergenceError
from softmax_mnist.runs import train_model
from softmax_mnist.stacked import Setting, fit_stacked

SETTINGS = [
    Setting(0.01),
    Setting(0.01, momentum=0.9),
    Setting(0.05, momentum=0.9, nesterov=True),
    Setting(0.1, momentum=0.5, weight_decay=1e-3),
    Setting(0.5),
]
# at batch size 1 a large step makes SGD chaotic: a rounding bit grows into a different run
# (the product over K*C columns may round differently from the one over C), so compare
# stable settings there
SETTINGS_BATCH_1 = [
    Setting(0.01),
    Setting(0.005, momentum=0.9),
    Setting(0.002, momentum=0.9, nesterov=True),
    Setting(0.01, momentum=0.5, weight_decay=1e-3),
]


def separate(setting: Setting, data: Splits, epochs: int, batch_size: int, seed: int):
    config = TrainConfig(epochs=epochs, batch_size=batch_size, lr=setting.lr,
                         momentum=setting.momentum, nesterov=setting.nesterov,
                         weight_decay=setting.weight_decay, seed=seed)
    return train_model(config, data)


def assert_same_run(result, model, hist, atol=1e-5):
    np.testing.assert_allclose(result.model.W, model.W, atol=atol, rtol=1e-4)
    np.testing.assert_allclose(result.model.b, model.b, atol=atol, rtol=1e-4)
    np.testing.assert_allclose(result.history.iter_loss, hist.iter_loss, rtol=1e-4, atol=1e-6)
    # accuracies: identical, up to a rare near-tie decided the other way by a rounding bit
    assert np.mean(np.array(result.history.iter_acc) != np.array(hist.iter_acc)) < 0.01
    np.testing.assert_allclose(result.history.val_acc, hist.val_acc, atol=2e-3)
    assert len(result.history.train_loss) == len(hist.train_loss)


def small_splits(mnist_splits, n_train=6000, n_val=1000) -> Splits:
    s = mnist_splits
    return Splits(s.x_train[:n_train], s.y_train[:n_train], s.x_val[:n_val], s.y_val[:n_val],
                  s.x_test[:10], s.y_test[:10], s.preprocess, s.stats)


@pytest.mark.parametrize("batch_size", [1, 64, 100])
def test_stacked_equals_separate_runs_on_mnist(mnist_splits, batch_size):
    data = small_splits(mnist_splits, n_train=2000 if batch_size == 1 else 6000)
    settings = SETTINGS_BATCH_1 if batch_size == 1 else SETTINGS
    results = fit_stacked(settings, data.x_train, data.y_train, data.x_val, data.y_val,
                          epochs=2, batch_size=batch_size, seed=7)
    assert [r.setting for r in results] == settings
    for r in results:
        model, hist = separate(r.setting, data, 2, batch_size, 7)
        assert r.diverged is None
        assert_same_run(r, model, hist)


def test_a_diverging_setting_drops_out_and_the_rest_are_undisturbed(mnist_splits):
    data = small_splits(mnist_splits)
    settings = [Setting(0.05, momentum=0.9), Setting(1e4, momentum=0.9), Setting(0.01)]
    results = fit_stacked(settings, data.x_train, data.y_train, data.x_val, data.y_val,
                          epochs=3, batch_size=100, seed=1)
    with pytest.raises(DivergenceError):
        separate(settings[1], data, 3, 100, 1)
    assert results[1].diverged and "diverged" in results[1].diverged
    assert np.isfinite(results[1].model.W).all()  # frozen, not NaN
    assert len(results[1].history.train_loss) < 3
    for k in (0, 2):
        assert results[k].diverged is None
        assert_same_run(results[k], *separate(settings[k], data, 3, 100, 1))


def test_identical_settings_give_identical_results():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(300, 20)).astype(np.float32)
    y = rng.integers(0, 10, 300)
    a, b = fit_stacked([Setting(0.1, 0.9)] * 2, x, y, epochs=2, batch_size=30, seed=3)
    np.testing.assert_array_equal(a.model.W, b.model.W)
    assert a.history.iter_loss == b.history.iter_loss


def test_bad_settings_are_refused():
    with pytest.raises(ConfigError):
        Setting(-1.0)
    with pytest.raises(ConfigError):
        Setting(0.1, momentum=1.0)
    with pytest.raises(ConfigError):
        Setting(0.1, nesterov=True)
    with pytest.raises(ConfigError):
        fit_stacked([], np.zeros((4, 3), np.float32), np.zeros(4, np.int64))
