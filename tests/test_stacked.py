"""fit_stacked: K settings trained in one pass equal K separate runs (to float32 rounding,
with the same accuracies), with every feature a single run has (decay, Nesterov, weight
decay, checkpoints and bit-identical resume), the same bits on one thread or two, and a
setting that diverges drops out without touching the rest."""

from __future__ import annotations

import multiprocessing as mp
import time
from dataclasses import replace

import numpy as np
import pytest

from softmax_mnist.core import twocores
from softmax_mnist.core.config import TrainConfig
from softmax_mnist.core.data import Splits
from softmax_mnist.core.fit import fit_stacked
from softmax_mnist.core.loop import Hooks
from softmax_mnist.core.optimizer import Setting
from softmax_mnist.core.twocores import halves
from softmax_mnist.errors import ConfigError, DivergenceError, Interrupted
from softmax_mnist.study.checkpoint import load_checkpoint, restore, save_checkpoint
from softmax_mnist.study.run import train_model

SETTINGS = [
    dict(lr=0.01),
    dict(lr=0.01, momentum=0.9),
    dict(lr=0.05, momentum=0.9, nesterov=True),
    dict(lr=0.1, momentum=0.5, weight_decay=1e-3),
    dict(lr=0.5),
]
# at batch size 1 a large step makes SGD chaotic: a rounding bit grows into a different run
# (the product over K*C columns may round differently from the one over C), so compare
# stable settings there
SETTINGS_BATCH_1 = [
    dict(lr=0.01),
    dict(lr=0.005, momentum=0.9),
    dict(lr=0.002, momentum=0.9, nesterov=True),
    dict(lr=0.01, momentum=0.5, weight_decay=1e-3),
]


def configs(settings, **shared) -> list[TrainConfig]:
    return [TrainConfig(**s, **shared) for s in settings]


def assert_same_run(result, model, hist, atol=1e-5):
    np.testing.assert_allclose(result.model.W, model.W, atol=atol, rtol=1e-4)
    np.testing.assert_allclose(result.model.b, model.b, atol=atol, rtol=1e-4)
    np.testing.assert_allclose(result.history.iter_loss, hist.iter_loss, rtol=1e-4, atol=1e-6)
    # accuracies: identical, up to a rare near-tie decided the other way by a rounding bit
    assert np.mean(np.array(result.history.iter_acc) != np.array(hist.iter_acc)) < 0.01
    np.testing.assert_allclose(result.history.val_acc, hist.val_acc, atol=2e-3)
    assert len(result.history.train_loss) == len(hist.train_loss)


def same_bits(a, b) -> None:
    assert a.diverged == b.diverged
    np.testing.assert_array_equal(a.model.W, b.model.W)
    np.testing.assert_array_equal(a.model.b, b.model.b)
    assert a.history.iter_loss == b.history.iter_loss and a.history.val_acc == b.history.val_acc


def small_splits(mnist_splits, n_train=6000, n_val=1000) -> Splits:
    s = mnist_splits
    return Splits(s.x_train[:n_train], s.y_train[:n_train], s.x_val[:n_val], s.y_val[:n_val],
                  s.x_test[:10], s.y_test[:10], s.preprocess, s.stats)


@pytest.mark.parametrize("batch_size, decay", [(1, "none"), (64, "linear"), (100, "none")])
def test_stacked_equals_separate_runs_on_mnist(mnist_splits, batch_size, decay):
    data = small_splits(mnist_splits, n_train=2000 if batch_size == 1 else 6000)
    cs = configs(SETTINGS_BATCH_1 if batch_size == 1 else SETTINGS, epochs=2,
                 batch_size=batch_size, seed=7, lr_decay=decay)
    results = fit_stacked(cs, data)
    assert [r.setting for r in results] == [Setting(c.lr, c.momentum, c.nesterov, c.weight_decay)
                                            for c in cs]
    for c, r in zip(cs, results):
        model, hist = train_model(c, data)
        assert r.diverged is None
        assert_same_run(r, model, hist)


def test_one_setting_stacked_is_the_single_run_bit_for_bit(mnist_splits):
    data = small_splits(mnist_splits)
    c = TrainConfig(epochs=2, lr=0.05, momentum=0.9, lr_decay="linear", seed=2)
    (r,) = fit_stacked([c], data)
    model, hist = train_model(c, data)
    np.testing.assert_array_equal(r.model.W, model.W)
    assert r.history.iter_loss == hist.iter_loss and r.history.val_loss == hist.val_loss


@pytest.mark.parametrize("start", ["fork", "spawn"])
def test_the_same_bits_in_one_process_or_two(mnist_splits, start):
    """The halves one after the other, or side by side in a forked (Linux) or a spawned
    (Windows, macOS) process: the same bits."""
    if start not in mp.get_all_start_methods():
        pytest.skip(f"this system cannot {start} a process")
    data = small_splits(mnist_splits, n_train=30000)
    cs = configs(SETTINGS, epochs=2, batch_size=100, seed=3, lr_decay="linear")
    assert len(halves(len(cs), len(data.x_train) * 2)) == 2  # the split this test is about
    for a, b in zip(fit_stacked(cs, data, processes=1), fit_stacked(cs, data, start=start)):
        same_bits(a, b)


def test_a_second_process_that_dies_is_one_line_and_its_half_runs_here(mnist_splits, monkeypatch):
    data = small_splits(mnist_splits, n_train=20000)
    cs = configs(SETTINGS, epochs=3, batch_size=100, seed=3)
    assert len(halves(len(cs), 20000 * 3)) == 2
    whole = fit_stacked(cs, data, processes=1)
    monkeypatch.setattr(twocores, "_second_half", _dies)
    lines = []
    method = "fork" if "fork" in mp.get_all_start_methods() else "spawn"
    for a, b in zip(whole, fit_stacked(cs, data, Hooks(log=lines.append), start=method)):
        same_bits(a, b)
    died = [line for line in lines if "second process" in line]
    assert died == ["the second process ended unexpectedly (exit code 3); its half of the settings "
                    "trains here, after this one"]


def _dies(fit_part, configs, data, state, conn):  # a second process killed before its first epoch end
    import os

    os._exit(3)


@pytest.mark.parametrize("together, startup, method, expected", [
    (0.12, 0.0, "fork", "fork"),     # two halves at once take 1.2x one alone: split
    (0.30, 0.0, "fork", None),       # 3x (a machine whose two vCPUs share a core): in turn
    (0.12, 0.9, "spawn", "spawn"),   # a spawned process's second pays on a long pass
])
def test_a_pass_is_split_only_where_it_is_measured_faster(monkeypatch, together, startup, method,
                                                          expected):
    monkeypatch.setattr(twocores, "start_method", lambda: method)
    monkeypatch.setattr(twocores, "calibration", lambda m: {"alone": 0.1, "together": together,
                                                            "startup": startup})
    assert twocores.second_process(55000 * 10, 16) == expected
    if method == "spawn":  # a short pass does not pay a spawned process's start
        assert twocores.second_process(20000, 16) is None


def test_fork_only_where_python_itself_forks():
    default = mp.get_context().get_start_method()
    assert twocores.fork_is_safe() == (default in ("fork", "forkserver"))


@pytest.mark.parametrize("n_train", [6000, 20000])
def test_a_stacked_pass_stopped_mid_epoch_resumes_bit_for_bit(mnist_splits, tmp_path, n_train):
    """Decaying learning rate, momentum, Nesterov, weight decay: stopped in epoch 2 with a
    checkpoint file, then resumed from the file, the pass ends where an uninterrupted one does.
    On 6,000 images the pass runs in one process and resumes mid-epoch; on 20,000 its halves
    run in two processes, which meet at epoch ends: it resumes from the end of epoch 1."""
    data = small_splits(mnist_splits, n_train=n_train)
    n_iter = n_train // 100
    split = len(halves(len(SETTINGS), n_train * 3)) == 2
    assert split == (n_train == 20000)
    cs = configs(SETTINGS, epochs=3, batch_size=100, seed=5, lr_decay="linear")
    two = {"processes": 2} if split else {}  # two processes, whatever this machine would choose
    whole = fit_stacked(cs, data, **two)
    path, saved = tmp_path / "checkpoint.npz", [c.to_dict() for c in cs]
    steps = iter(range(10**9))
    hooks = Hooks(checkpoint=lambda st: save_checkpoint(path, st, saved), checkpoint_every=7,
                  stop=lambda: next(steps) == n_iter + 34)  # epoch 2, step 35
    with pytest.raises(Interrupted):
        fit_stacked(cs, data, hooks, **two)
    state, on_file = load_checkpoint(path)
    assert (state.epoch, state.step) == ((1, 0) if split else (1, 35)) and on_file == saved
    state = restore(path, saved, (784, 10 * len(cs)), n_train=len(data.x_train))
    for a, b in zip(whole, fit_stacked(cs, data, state=state, **two)):
        same_bits(a, b)
    state = restore(path, saved, (784, 10 * len(cs)), n_train=len(data.x_train))
    state.arrays["W"] += 0.01  # the resumed pass starts from the checkpoint's weights:
    moved = fit_stacked(cs, data, state=state, **two)  # moved, it ends elsewhere
    assert not np.array_equal(moved[0].model.W, whole[0].model.W)
    assert len(moved[0].history.iter_loss) == len(whole[0].history.iter_loss)


def test_a_diverging_setting_drops_out_and_the_rest_are_undisturbed(mnist_splits):
    data = small_splits(mnist_splits)
    cs = configs([dict(lr=0.05, momentum=0.9), dict(lr=1e4, momentum=0.9), dict(lr=0.01)],
                 epochs=3, batch_size=100, seed=1)
    results = fit_stacked(cs, data)
    with pytest.raises(DivergenceError) as alone:
        train_model(cs[1], data)
    assert results[1].diverged == str(alone.value)  # the message a run alone gives
    assert "diverged" in results[1].diverged and "`lr=1000`" in results[1].diverged
    assert np.isfinite(results[1].model.W).all()  # frozen, not NaN
    assert len(results[1].history.train_loss) < 3
    for k in (0, 2):
        assert results[k].diverged is None
        assert_same_run(results[k], *train_model(cs[k], data))


def test_identical_settings_give_identical_results():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(300, 20)).astype(np.float32)
    y = rng.integers(0, 10, 300)
    data = Splits(x, y, x[:0], y[:0], x[:0], y[:0], "course")
    a, b = fit_stacked([TrainConfig(epochs=2, batch_size=30, lr=0.1, momentum=0.9, seed=3)] * 2,
                       data)
    # two columns of one product: BLAS promises no bit equality between them (an AMD EPYC
    # build differs by about 1e-7), so equal to float32 rounding, not bit for bit
    np.testing.assert_allclose(a.model.W, b.model.W, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(a.model.b, b.model.b, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(a.history.iter_loss, b.history.iter_loss, rtol=1e-5)
    assert np.abs(a.model.W).max() > 1e-3  # trained, not both still at a shared zero


def test_bad_settings_are_refused():
    for bad in (dict(lr=-1.0), dict(lr=0.1, momentum=1.0), dict(lr=0.1, nesterov=True)):
        with pytest.raises(ConfigError):  # validated once, by the TrainConfig a Setting comes from
            TrainConfig(**bad)
    x, y = np.zeros((4, 3), np.float32), np.zeros(4, np.int64)
    data = Splits(x, y, x[:0], y[:0], x[:0], y[:0], "course")
    with pytest.raises(ConfigError):
        fit_stacked([], data)
    with pytest.raises(ConfigError, match="share their epochs"):
        fit_stacked([TrainConfig(epochs=1), TrainConfig(epochs=2)], data)
    with pytest.raises(ConfigError, match="batch size"):
        fit_stacked([replace(TrainConfig(), batch_size=5)], data)


@pytest.mark.parametrize("processes", [None, 1])
def test_a_split_pass_logs_and_shows_progress_for_all_its_settings(mnist_splits, processes):
    data = small_splits(mnist_splits, n_train=20000)
    cs = configs(SETTINGS, epochs=3, batch_size=100, seed=5)
    assert len(halves(len(cs), 20000 * 3)) == 2
    lines, bars = [], []

    def progress(desc, total, **_):
        bars.append(desc)
        return type("Bar", (), {"update": lambda self: None, "close": lambda self: None})()

    fit_stacked(cs, data, Hooks(log=lines.append, progress=progress), processes=processes)
    assert [line.split("  ")[0] for line in lines] == ["epoch 1/3", "epoch 2/3", "epoch 3/3"]
    assert all("of 5 settings training" in line for line in lines)  # the whole pass, merged
    assert bars and all(b.endswith(", 5 settings") for b in bars)


def test_live_view_hooks_see_steps_and_epoch_ends_without_copies(mnist_splits):
    data = small_splits(mnist_splits, n_train=2000, n_val=200)
    cs = configs(SETTINGS[:2], epochs=2, batch_size=100, seed=5)
    steps, epochs = [], []

    def on_step(epoch, step, n_iter, losses, accs):
        assert losses.shape == accs.shape == (step, 2) and not losses.flags.owndata  # views
        steps.append((epoch, step, n_iter))

    def on_epoch(epoch, histories, arrays):
        epochs.append((epoch, [len(h.val_acc) for h in histories], arrays()["W"].shape))

    results = fit_stacked(cs, data, Hooks(on_step=on_step, on_step_every=5, on_epoch=on_epoch))
    assert steps == [(e, s, 20) for e in (1, 2) for s in (5, 10, 15, 20)]
    assert epochs == [(1, [1, 1], (784, 20)), (2, [2, 2], (784, 20))]
    for watched, plain in zip(results, fit_stacked(cs, data)):
        same_bits(watched, plain)  # watching changes nothing


def test_a_split_pass_calls_on_epoch_with_all_its_settings(mnist_splits):
    data = small_splits(mnist_splits, n_train=25000, n_val=200)
    cs = configs(SETTINGS_BATCH_1[:3], epochs=2, batch_size=500, seed=5)
    assert len(halves(len(cs), 25000 * 2)) == 2
    seen = []
    hooks = Hooks(on_epoch=lambda e, hs, arrays: seen.append((e, len(hs), arrays()["W"].shape)))
    fit_stacked(cs, data, hooks, processes=1)
    assert seen == [(1, 3, (784, 30)), (2, 3, (784, 30))]


def test_a_half_that_diverges_whole_still_checkpoints_a_pass_that_resumes(mnist_splits, tmp_path):
    """The second half's settings all run away in epoch 1: the merged checkpoints at the later
    epoch ends still describe every setting, and resuming from one ends as the whole pass."""
    data = small_splits(mnist_splits, n_train=20000)
    cs = configs([dict(lr=0.05, momentum=0.9), dict(lr=0.01), dict(lr=1e4, momentum=0.9),
                  dict(lr=2e4, momentum=0.9)], epochs=3, batch_size=100, seed=2)
    assert halves(len(cs), 20000 * 3) == [slice(0, 2), slice(2, 4)]
    path, saved = tmp_path / "checkpoint.npz", [c.to_dict() for c in cs]
    whole = fit_stacked(cs, data, Hooks(checkpoint=lambda st: st.epoch == 2 and
                                        save_checkpoint(path, st, saved)))
    assert whole[2].diverged and whole[3].diverged and not whole[0].diverged
    state = restore(path, saved, (784, 10 * len(cs)), n_train=len(data.x_train))
    assert state.epoch == 2 and state.diverged[2] and state.diverged[3]
    for a, b in zip(whole, fit_stacked(cs, data, state=state)):
        same_bits(a, b)


@pytest.mark.parametrize("busy, age, measured_again", [(False, 7200, False), (True, 7200, True),
                                                       (True, 600, False), (False, 8 * 86400, True)])
def test_a_calibration_taken_on_a_busy_machine_is_kept_an_hour(monkeypatch, tmp_path, busy, age,
                                                                measured_again):
    from softmax_mnist.fileio import atomic_write_json

    monkeypatch.setattr(twocores, "cache_file", lambda: tmp_path / "calibration.json")
    old = {"alone": 0.3, "together": 0.6, "startup": 0.8, "measured": time.time() - age, "busy": busy}
    atomic_write_json(tmp_path / "calibration.json", {twocores.machine_key("fork"): old})
    fresh = {"alone": 0.1, "together": 0.1, "startup": 0.1, "measured": time.time(), "busy": False}
    monkeypatch.setattr(twocores, "calibrate", lambda method: fresh)
    assert twocores.calibration("fork") == (fresh if measured_again else old)
