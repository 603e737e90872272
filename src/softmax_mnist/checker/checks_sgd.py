"""The checks of optimizer.py: the student's SGD on a plain layer object (so it is checked apart
from loss.py) against the reference's: momentum 0 is plain SGD, the momentum update over several
steps (with a hint for each usual wrong rule, found by simulating it), nothing moves when frozen."""

from __future__ import annotations

import numpy as np

from softmax_mnist.checker.cases import SEED, CheckFailed
from softmax_mnist.checker.folder import C, D, Student
from softmax_mnist.course.optimizer import SGD as RefSGD


class Layer:
    """What the course's SGD sees of the model: W, b, grad_W, grad_b, trainable."""

    def __init__(self, W, b, trainable=True):
        self.W, self.b = W.copy(), b.copy()
        self.grad_W, self.grad_b = np.zeros_like(W), np.zeros_like(b)
        self.trainable = trainable
        self.num_input, self.num_output = W.shape


class _Holder:  # the reference SGD's view: params and grads dicts
    def __init__(self, W, b):
        self.params = {"W": W.copy(), "b": b.copy()}
        self.grads = {"W": np.zeros_like(W), "b": np.zeros_like(b)}


def _run_student_sgd(s, lr, mu, W, b, grads, trainable=True):
    layer = Layer(W, b, trainable)
    opt = s.SGD(layer, lr, mu)
    out = []
    for gW, gb in grads:
        layer.grad_W, layer.grad_b = gW.copy(), gb.copy()
        opt.step()
        out.append((np.array(layer.W, dtype=np.float64), np.array(layer.b, dtype=np.float64)))
    return out


def _run_reference_sgd(lr, mu, W, b, grads):
    h = _Holder(W, b)
    opt = RefSGD(h, lr, mu)
    out = []
    for gW, gb in grads:
        h.grads["W"][...], h.grads["b"][...] = gW, gb
        opt.step()
        out.append((h.params["W"].copy(), h.params["b"].copy()))
    return out


def _simulate(rule, lr, mu, w, gs):
    """Trajectory of one parameter under a (possibly wrong) update rule, for the hints."""
    w, v, out = w.copy(), np.zeros_like(w), []
    for g in gs:
        if rule == "reset":
            w = w - lr * g
        elif rule == "sign":
            v = mu * v + lr * g
            w = w + v
        elif rule == "sign-momentum":
            v = -mu * v - lr * g
            w = w + v
        elif rule == "on-gradient":
            w = w + (mu * g - lr * g)
        elif rule == "on-gradient-scaled":
            w = w - lr * mu * g
        elif rule == "dampened":
            v = mu * v + (1 - mu) * g
            w = w - lr * v
        elif rule == "nesterov":
            v = mu * v - lr * g
            w = w + mu * v - lr * g
        out.append(w.copy())
    return out


MOMENTUM_HINTS = {
    "reset": "the steps are plain SGD: the velocity starts from zero in every step() (or momentum is "
             "not used); keep it on self, made once in __init__, and update it in place each step",
    "sign": "the weights move uphill: the velocity is v <- mu v - lr grad (minus lr grad), then w <- w + v",
    "sign-momentum": "the momentum term's sign is flipped: v <- mu v - lr grad, with +mu v",
    "on-gradient": "momentum multiplies the gradient instead of the previous velocity: keep v between "
                   "steps and use v <- mu v - lr grad, w <- w + v",
    "on-gradient-scaled": "momentum multiplies the gradient instead of the previous velocity: keep v "
                          "between steps and use v <- mu v - lr grad, w <- w + v",
    "dampened": "that is the dampened average v <- mu v + (1 - mu) grad; the course's momentum is "
                "v <- mu v - lr grad, w <- w + v, without the (1 - mu)",
    "nesterov": "that is Nesterov's look-ahead; the course's momentum is heavy ball: w <- w + v",
}


def _same(a, b):
    return np.allclose(a, b, rtol=1e-6, atol=1e-9)


def _sgd_setup(seed, steps):
    rng = np.random.default_rng(SEED + seed)
    W, b = rng.normal(0, 0.1, (D, C)), rng.normal(0, 0.1, (1, C))
    grads = [(rng.normal(0, 1, (D, C)), rng.normal(0, 1, (1, C))) for _ in range(steps)]
    return W, b, grads


def check_sgd(s: Student, ctx) -> str:
    lr = 0.1
    W, b, grads = _sgd_setup(40, 3)
    got = _run_student_sgd(s, lr, 0.0, W, b, grads)
    want = _run_reference_sgd(lr, 0.0, W, b, grads)
    for k, ((gw, gb), (rw, rb)) in enumerate(zip(got, want), start=1):
        for name, g, r, w0, grad in (("W", gw, rw, W, [x[0] for x in grads]),
                                     ("b", gb, rb, b, [x[1] for x in grads])):
            if g.shape != r.shape or not _same(g, r):
                if g.shape == r.shape and _same(g, _simulate("sign", lr, 0.0, w0, grad)[k - 1]):
                    raise CheckFailed(f"with momentum 0, step {k} moved {name} by +lr * grad_{name}",
                                      "the weights must go downhill: w <- w - lr * grad")
                if g.shape == r.shape and _same(g, (w0 if k == 1 else got[k - 2][0 if name == 'W' else 1])):
                    raise CheckFailed(f"with momentum 0, step {k} did not change {name}",
                                      "update model.W and model.b in step(), e.g. "
                                      "model.W -= lr * model.grad_W")
                raise CheckFailed(f"with momentum 0, {name} after step {k} is not w - lr * grad_{name}",
                                  "momentum 0 must be plain SGD: w <- w - lr * grad")
    return "momentum 0 is plain SGD: w <- w - lr * grad, 3 steps, W and b"


def check_momentum(s: Student, ctx) -> str:
    lr, mu, steps = 0.1, 0.9, 4
    W, b, grads = _sgd_setup(41, steps)
    got = _run_student_sgd(s, lr, mu, W, b, grads)
    want = _run_reference_sgd(lr, mu, W, b, grads)
    for i, name in enumerate(("W", "b")):
        w0 = (W, b)[i]
        gs = [g[i] for g in grads]
        traj = [t[i] for t in got]
        ref = [t[i] for t in want]
        if all(t.shape == r.shape and _same(t, r) for t, r in zip(traj, ref)):
            continue
        first = next(k for k, (t, r) in enumerate(zip(traj, ref), start=1)
                     if t.shape != r.shape or not _same(t, r))
        for rule, hint in MOMENTUM_HINTS.items():
            sim = _simulate(rule, lr, mu, w0, gs)
            if all(t.shape == m.shape and _same(t, m) for t, m in zip(traj, sim)):
                raise CheckFailed(f"with momentum {mu}, {name} differs from v <- mu v - lr grad, "
                                  f"w <- w + v from step {first} of {steps}", hint)
        raise CheckFailed(f"with momentum {mu}, {name} differs from v <- mu v - lr grad, "
                          f"w <- w + v from step {first} of {steps}",
                          "keep one velocity per parameter (W and b) on self, start it at zero, and "
                          "in each step do v <- mu v - lr grad, then w <- w + v")
    return f"v <- mu v - lr grad, w <- w + v over {steps} steps (mu {mu}), velocity kept, W and b"


def check_frozen(s: Student, ctx) -> str:
    W, b, grads = _sgd_setup(42, 2)
    for mu in (0.0, 0.9):
        got = _run_student_sgd(s, 0.1, mu, W, b, grads, trainable=False)
        for k, (gw, gb) in enumerate(got, start=1):
            if not (np.array_equal(gw, W) and np.array_equal(gb, b)):
                raise CheckFailed(f"with model.trainable False (momentum {mu}), step {k} changed "
                                  + ("W" if not np.array_equal(gw, W) else "b"),
                                  "in step(), update only when model.trainable is True")
    return "nothing changes when trainable is False (momentum 0 and 0.9)"


