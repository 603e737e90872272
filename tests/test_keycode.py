"""The key code the report shows (study/report/keycode.py) computes what the engine trains with:
the same loss, accuracy, gradients and momentum steps as the course's classes over the core,
to float32 rounding."""

from __future__ import annotations

import numpy as np
import pytest

from softmax_mnist.course.loss import SoftmaxCrossEntropyLoss
from softmax_mnist.course.optimizer import SGD
from softmax_mnist.study.report import keycode


@pytest.mark.parametrize("momentum", [0.0, 0.9])
def test_key_code_equals_the_engine(momentum):
    rng = np.random.default_rng(3)
    engine = SoftmaxCrossEntropyLoss(784, 10)
    engine.W[...] = rng.normal(0, 0.07, engine.W.shape)
    engine.b[...] = rng.normal(0, 0.07, engine.b.shape)
    shown = keycode.SoftmaxCrossEntropyLoss(engine.W.copy(), engine.b.copy())
    opt_e, opt_s = SGD(engine, 0.05, momentum), keycode.SGD(shown, 0.05, momentum)
    for step in range(4):
        x = rng.normal(0, 1, (37, 784)).astype(np.float32)
        y = rng.integers(0, 10, 37)
        if step == 3:
            x[0] *= 400  # logits near ±1000: both stay finite
        le, ae = engine.forward(x, y)
        ls, as_ = shown.forward(x, y)
        assert np.isfinite(ls) and ls == pytest.approx(le, rel=1e-5) and as_ == pytest.approx(ae)
        engine.gradient_computing()
        shown.gradient_computing()
        np.testing.assert_allclose(shown.grad_W, engine.grad_W, rtol=1e-4, atol=1e-6)
        np.testing.assert_allclose(shown.grad_b, engine.grad_b, rtol=1e-4, atol=1e-6)
        opt_e.step()
        opt_s.step()
        np.testing.assert_allclose(shown.W, engine.W, rtol=1e-4, atol=1e-6)
        np.testing.assert_allclose(shown.b, engine.b, rtol=1e-4, atol=1e-6)


def test_the_report_shows_the_three_methods_in_15_to_25_lines_with_chinese_comments():
    from softmax_mnist.study.report.keycode import key_code

    code = key_code()
    body = [line for line in code.splitlines() if line.strip()]
    defs = [line.strip() for line in body if line.strip().startswith("def ")]
    assert [d.split("(")[0] for d in defs] == ["def forward", "def gradient_computing", "def step"]
    methods = [line for line in body if not line.startswith("class ")]
    assert 15 <= len(methods) <= 25, len(methods)
    assert sum("#" in line and any("\u4e00" <= ch <= "\u9fff" for ch in line) for line in body) >= 8
    assert '"""' not in code  # docstrings left out
