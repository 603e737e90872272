"""SGD: bit-identical to the hand-written update rules (plain, momentum, Nesterov,
weight decay), in-place updates, and one-line ConfigErrors for settings that cannot work."""

from __future__ import annotations

import math

import numpy as np
import pytest

from softmax_mnist.course.optimizer import SGD
from softmax_mnist.errors import ConfigError, advice, in_terms

STEPS = 6


class Toy:
    """The whole optimizer contract: ``params`` and ``grads`` dicts with the same keys."""

    def __init__(self, dtype, seed=0):
        rng = np.random.default_rng(seed)
        self.params = {
            "W": rng.normal(size=(5, 3)).astype(dtype),
            "b": rng.normal(size=(1, 3)).astype(dtype),
        }
        self.grads = {k: np.zeros_like(v) for k, v in self.params.items()}


def gradient_sequence(dtype, seed=1):
    """STEPS fresh random gradients per parameter."""
    rng = np.random.default_rng(seed)
    return [
        {"W": rng.normal(size=(5, 3)).astype(dtype), "b": rng.normal(size=(1, 3)).astype(dtype)}
        for _ in range(STEPS)
    ]


def run_optimizer(dtype, **kwargs):
    model = Toy(dtype)
    arrays = dict(model.params)  # the same array objects: updates must be in place
    opt = SGD(model, **kwargs)
    for grads in gradient_sequence(dtype):
        for k, g in grads.items():
            model.grads[k][...] = g
        opt.step()
    for k in arrays:
        assert model.params[k] is arrays[k]
    return model.params


DTYPES = [np.float32, np.float64]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("lr", [0.01, 0.5])
def test_momentum_zero_is_plain_sgd(dtype, lr):
    got = run_optimizer(dtype, learning_rate=lr, momentum=0.0)
    ref = {k: v.copy() for k, v in Toy(dtype).params.items()}
    for grads in gradient_sequence(dtype):
        for k in ref:
            ref[k] -= lr * grads[k]
    for k in ref:
        assert got[k].dtype == dtype
        assert np.array_equal(got[k], ref[k])


@pytest.mark.parametrize("dtype", DTYPES)
def test_momentum_matches_the_course_formula(dtype):
    lr, mu = 0.05, 0.9
    got = run_optimizer(dtype, learning_rate=lr, momentum=mu)
    w = {k: v.copy() for k, v in Toy(dtype).params.items()}
    v = {k: np.zeros_like(x) for k, x in w.items()}
    for grads in gradient_sequence(dtype):
        for k in w:
            v[k] = mu * v[k] - lr * grads[k]
            w[k] += v[k]
    for k in w:
        assert np.array_equal(got[k], w[k])
    # and momentum really changed something compared with plain SGD
    plain = run_optimizer(dtype, learning_rate=lr)
    assert not np.allclose(got["W"], plain["W"])


@pytest.mark.parametrize("dtype", DTYPES)
def test_nesterov_matches_its_formula(dtype):
    lr, mu = 0.05, 0.9
    got = run_optimizer(dtype, learning_rate=lr, momentum=mu, nesterov=True)
    w = {k: v.copy() for k, v in Toy(dtype).params.items()}
    v = {k: np.zeros_like(x) for k, x in w.items()}
    for grads in gradient_sequence(dtype):
        for k in w:
            v[k] = mu * v[k] - lr * grads[k]
            w[k] += mu * v[k] - lr * grads[k]
    for k in w:
        assert np.array_equal(got[k], w[k])
    heavy_ball = run_optimizer(dtype, learning_rate=lr, momentum=mu)
    assert not np.allclose(got["W"], heavy_ball["W"])


@pytest.mark.parametrize("momentum", [0.0, 0.9])
def test_weight_decay_applies_to_w_and_not_b(momentum):
    dtype, lr, wd = np.float64, 0.05, 0.1
    got = run_optimizer(dtype, learning_rate=lr, momentum=momentum, weight_decay=wd)
    w = {k: v.copy() for k, v in Toy(dtype).params.items()}
    v = {k: np.zeros_like(x) for k, x in w.items()}
    for grads in gradient_sequence(dtype):
        for k in w:
            g = grads[k] + wd * w[k] if k == "W" else grads[k]
            v[k] = momentum * v[k] - lr * g
            w[k] += v[k]
    np.testing.assert_allclose(got["W"], w["W"], rtol=1e-13)
    np.testing.assert_allclose(got["b"], w["b"], rtol=1e-13)
    no_wd = run_optimizer(dtype, learning_rate=lr, momentum=momentum)
    assert np.array_equal(got["b"], no_wd["b"])
    assert not np.allclose(got["W"], no_wd["W"])


def test_weight_decay_alone_shrinks_w_only():
    model = Toy(np.float64)
    W0, b0 = model.params["W"].copy(), model.params["b"].copy()
    opt = SGD(model, learning_rate=0.1, weight_decay=0.5)  # gradients are all zero
    opt.step()
    np.testing.assert_allclose(model.params["W"], W0 * (1 - 0.1 * 0.5), rtol=1e-15)
    assert np.array_equal(model.params["b"], b0)


def test_no_decay_is_configurable():
    model = Toy(np.float64)
    b0 = model.params["b"].copy()
    SGD(model, learning_rate=0.1, weight_decay=0.5, no_decay=()).step()
    np.testing.assert_allclose(model.params["b"], b0 * 0.95, rtol=1e-15)


def test_course_positional_signature_and_state():
    model = Toy(np.float32)
    opt = SGD(model, 0.01, 0.9)  # SGD(model, learning_rate, momentum)
    assert opt.learning_rate == 0.01 and opt.momentum == 0.9
    assert set(opt.state_dict()) == {"velocity_W", "velocity_b"}
    assert SGD(model, 0.01).state_dict() == {}  # no velocity kept without momentum


def one_line_config_error(excinfo) -> str:
    msg = str(excinfo.value)
    assert msg and "\n" not in msg
    return msg


@pytest.mark.parametrize("lr", [0, 0.0, -0.01, -1, math.nan, math.inf, -math.inf])
def test_bad_learning_rate(lr):
    with pytest.raises(ConfigError) as e:
        SGD(Toy(np.float32), learning_rate=lr)
    msg = one_line_config_error(e)
    assert "learning rate" in msg and str(lr) in msg


@pytest.mark.parametrize("mu", [1, 1.0, -0.1, 1.5, math.nan])
def test_bad_momentum(mu):
    with pytest.raises(ConfigError) as e:
        SGD(Toy(np.float32), learning_rate=0.01, momentum=mu)
    msg = one_line_config_error(e)
    assert "momentum" in msg and str(mu) in msg


def test_nesterov_needs_momentum():
    with pytest.raises(ConfigError) as e:
        SGD(Toy(np.float32), learning_rate=0.01, momentum=0.0, nesterov=True)
    msg = one_line_config_error(e)
    assert "Nesterov" in msg and "`momentum=0.9`" in msg and "--" not in msg  # a setting, not a flag


@pytest.mark.parametrize("wd", [-0.1, math.nan, math.inf])
def test_bad_weight_decay(wd):
    with pytest.raises(ConfigError) as e:
        SGD(Toy(np.float32), learning_rate=0.01, weight_decay=wd)
    msg = one_line_config_error(e)
    assert "weight decay" in msg and str(wd) in msg


def test_config_error_is_a_value_error():
    with pytest.raises(ValueError):
        SGD(Toy(np.float32), learning_rate=-1)


def test_a_front_end_says_a_messages_settings_in_its_own_terms():
    msg = f"try {advice('lr', 0.001)} or a writable {advice('data_dir')}; run `softmax-mnist x`"
    assert msg == "try `lr=0.001` or a writable `data_dir`; run `softmax-mnist x`"
    flags = in_terms(msg, lambda name, value: f"--{name.replace('_', '-')}" + (f" {value}" if value else ""))
    assert flags == "try --lr 0.001 or a writable --data-dir; run `softmax-mnist x`"
