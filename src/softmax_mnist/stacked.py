"""K settings trained in one pass: their weights stacked side by side, one matmul per batch.

Runs that share the data, the batch size and the seed start from the same weights and see
the same batches in the same order; they differ only in the optimizer's numbers (learning
rate, momentum, Nesterov, weight decay). So K of them can be trained together:

    W (D, K*C)   the K weight matrices side by side; b (1, K*C) likewise
    logits = X @ W + b                      one (N, K*C) product instead of K (N, C) ones
    dW = X^T @ dlogits                      one (D, K*C) product instead of K

and every other step (softmax, cross-entropy, SGD) works on each setting's own C columns.
Column j of X @ W depends on column j of W only, so a setting that diverges cannot spill
into the others; it is frozen at its first non-finite loss (or an epoch far worse than
guessing) and reported as diverged, the rest carry on.

``fit_stacked`` gives, for each setting, the weights and History that ``fit`` gives for that
setting alone, to float32 rounding (the product over K*C columns may round differently
from the product over C); tests/test_stacked.py checks it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
from threadpoolctl import threadpool_limits

from softmax_mnist.dataloader import batch_lengths, check_batch_size, iterate_minibatches, num_batches
from softmax_mnist.errors import ConfigError
from softmax_mnist.model import SoftmaxRegression
from softmax_mnist.optimizer import check_settings
from softmax_mnist.solver import History, divergence_limit, evaluate


@dataclass(frozen=True)
class Setting:
    """The optimizer numbers that may differ between stacked runs (see optimizer.SGD)."""

    lr: float
    momentum: float = 0.0
    nesterov: bool = False
    weight_decay: float = 0.0

    def __post_init__(self):
        check_settings(self.lr, self.momentum, self.nesterov, self.weight_decay)


@dataclass
class StackedResult:
    """One setting's outcome: its model and History, or the reason it diverged."""

    setting: Setting
    model: SoftmaxRegression
    history: History
    diverged: str | None = None


def fit_stacked(
    settings: list[Setting],
    x_train: np.ndarray,
    y_train: np.ndarray,
    x_val: np.ndarray | None = None,
    y_val: np.ndarray | None = None,
    epochs: int = 10,
    batch_size: int = 100,
    seed: int = 0,
    num_classes: int = 10,
    log=None,
    blas_threads: int | None = 1,
    progress=None,
) -> list[StackedResult]:
    """Train one softmax regression per setting, all in one pass over the data.

    Each result equals (to float32 rounding) ``runs.train_model`` with that setting and
    this ``seed``, ``epochs`` and ``batch_size``: the model is initialised from
    ``default_rng(seed)`` and the same generator then shuffles every epoch.
    """
    if not settings:
        raise ConfigError("fit_stacked needs at least one setting")
    check_batch_size(batch_size, len(x_train))
    with threadpool_limits(blas_threads, user_api="blas"), np.errstate(over="ignore", invalid="ignore"):
        return _fit_stacked(list(settings), x_train, y_train, x_val, y_val, epochs, batch_size,
                            seed, num_classes, log, progress)


def _fit_stacked(settings, x_train, y_train, x_val, y_val, epochs, batch_size, seed, C, log,
                 progress=None):
    K, D = len(settings), x_train.shape[1]
    rng = np.random.default_rng(seed)
    init = SoftmaxRegression(D, C, rng=rng)  # the init every one of the K runs would draw
    W = np.tile(init.params["W"], (1, K))  # (D, K*C): setting k owns columns k*C .. k*C+C-1
    b = np.tile(init.params["b"], (1, K))

    def per_column(values) -> np.ndarray:  # one number per setting -> one per column (1, K*C)
        return np.repeat(np.asarray(values, dtype=W.dtype), C)[None, :]

    lr = per_column([s.lr for s in settings])
    mu = per_column([s.momentum for s in settings])
    wd = per_column([s.weight_decay for s in settings])
    nesterov = per_column([s.nesterov for s in settings]).astype(bool)
    use_momentum = any(s.momentum for s in settings)
    use_decay = any(s.weight_decay for s in settings)
    vW, vb = np.zeros_like(W), np.zeros_like(b)
    dW, db = np.empty_like(W), np.empty_like(b)
    live = np.ones(K, dtype=bool)  # settings still training
    diverged: list[str | None] = [None] * K
    hists = [History() for _ in range(K)]
    n_iter = num_batches(len(x_train), batch_size)
    sizes = batch_lengths(len(x_train), batch_size)  # weights of the batches in an epoch's mean
    buf = np.empty((batch_size, K * C), dtype=np.result_type(x_train, W))
    limit = divergence_limit(C)

    for epoch in range(1, epochs + 1):
        start = time.perf_counter()
        losses = np.zeros((n_iter, K))
        accs = np.zeros((n_iter, K))
        bar = progress(desc=f"epoch {epoch}/{epochs}, {K} settings", total=n_iter,
                       unit="step") if progress else None
        for it, (xb, yb) in enumerate(iterate_minibatches(x_train, y_train, batch_size, rng)):
            if bar is not None:
                bar.update()
            n = len(xb)
            rows = np.arange(n)
            logits = np.matmul(xb, W, out=buf[:n])
            logits += b
            z = logits.reshape(n, K, C)  # a view: setting k's logits are z[:, k, :]
            # the same steps as functional.cross_entropy, over the last axis of (N, K, C)
            top = z.argmax(axis=2)
            accs[it] = np.count_nonzero(top == yb[:, None], axis=0) / n
            z -= z[rows[:, None], np.arange(K), top][:, :, None]  # row max, read at the argmax
            z -= np.log(np.exp(z).sum(axis=2, keepdims=True))  # log-softmax
            losses[it] = -z[rows, :, yb].sum(axis=0, dtype=np.float64) / n
            np.exp(z, out=z)
            z[rows, :, yb] -= 1.0
            z /= n  # z (and so logits) now holds dlogits
            bad = live & ~np.isfinite(losses[it])
            if bad.any():
                z[:, bad, :] = 0  # no gradient from the runaway settings
                _drop(bad, live, diverged, settings, lr, mu, vW, vb, W, b,
                      f"loss not finite at epoch {epoch}, iteration {it + 1}", C)
                if not live.any():
                    break
            if xb.dtype == logits.dtype == dW.dtype:
                np.dot(xb.T, logits, out=dW)  # see model.backward
            else:
                np.matmul(xb.T, logits, out=dW)
            logits.sum(axis=0, keepdims=True, out=db)
            _sgd_step(W, dW, vW, lr, mu, wd if use_decay else None, nesterov, use_momentum)
            _sgd_step(b, db, vb, lr, mu, None, nesterov, use_momentum)  # no decay on b
        if bar is not None:
            bar.close()
        seconds = time.perf_counter() - start
        for k in np.flatnonzero(live):
            h = hists[k]
            h.add_epoch(losses[:, k], accs[:, k], sizes, seconds)
        too_high = live & np.array([bool(h.train_loss and h.train_loss[-1] > limit)
                                    for h in hists])
        if too_high.any():
            _drop(too_high, live, diverged, settings, lr, mu, vW, vb, W, b,
                  f"mean loss over {limit:.3g} in epoch {epoch}", C)
        if x_val is not None and len(x_val):
            for k in np.flatnonzero(live):
                vl, va = evaluate(_model(W, b, k, C), x_val, y_val)
                hists[k].val_loss.append(vl)
                hists[k].val_acc.append(va)
        if log:
            best = max((h.val_acc[-1] if h.val_acc else h.train_acc[-1], k)
                       for k, h in enumerate(hists) if live[k]) if live.any() else None
            log(f"epoch {epoch}/{epochs}  {int(live.sum())} of {K} settings training"
                + (f", best {best[0]:.4f} (setting {best[1]})" if best else "")
                + f"  {seconds:.2f}s")
        if not live.any():
            break
    return [StackedResult(settings[k], _model(W, b, k, C), hists[k], diverged[k])
            for k in range(K)]


def _sgd_step(w, g, v, lr, mu, wd, nesterov, use_momentum):
    """optimizer.SGD.step for all settings at once: lr, mu, wd are per column (1, K*C)."""
    if wd is not None:
        g = g + wd * w
    if not use_momentum:
        w -= lr * g
        return
    v *= mu
    v -= lr * g
    if nesterov.any():  # w += mu v - lr g where Nesterov, else w += v
        w += np.where(nesterov, mu * v - lr * g, v)
    else:
        w += v


def _drop(mask, live, diverged, settings, lr, mu, vW, vb, W, b, why, C):
    """Freeze the settings in ``mask``: no more updates (lr, momentum and velocity 0)."""
    for k in np.flatnonzero(mask):
        live[k] = False
        diverged[k] = (f"training diverged ({why}) with learning rate {settings[k].lr:g}; "
                       f"try a smaller one, e.g. {settings[k].lr / 10:g}")
        cols = slice(k * C, (k + 1) * C)
        lr[:, cols] = mu[:, cols] = vW[:, cols] = vb[:, cols] = 0
        # non-finite weights would give NaN gradients (and 0 * NaN is NaN): zero them
        W[:, cols] = np.nan_to_num(W[:, cols], nan=0.0, posinf=0.0, neginf=0.0)
        b[:, cols] = np.nan_to_num(b[:, cols], nan=0.0, posinf=0.0, neginf=0.0)


def _model(W, b, k, C) -> SoftmaxRegression:
    m = SoftmaxRegression(W.shape[0], C)
    m.params["W"][...] = W[:, k * C:(k + 1) * C]
    m.params["b"][...] = b[:, k * C:(k + 1) * C]
    return m
