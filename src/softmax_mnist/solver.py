"""Training and evaluation: ``fit`` runs minibatch SGD and returns a History.

The test split is never touched here during training; ``evaluate`` on it is the
caller's explicit choice (``Solver.test()`` in the course API).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from threadpoolctl import threadpool_limits

from softmax_mnist.checkpoint import Interrupted, TrainState
from softmax_mnist.config import TrainConfig
from softmax_mnist.dataloader import batch_lengths, check_batch_size, iterate_minibatches, num_batches
from softmax_mnist.datasets import load_splits
from softmax_mnist.errors import ConfigError, DivergenceError
from softmax_mnist.functional import cross_entropy
from softmax_mnist.loss import SoftmaxCrossEntropyLoss
from softmax_mnist.model import SoftmaxRegression
from softmax_mnist.optimizer import SGD


@dataclass
class History:
    """What training measured: per iteration, and per epoch (train, validation, seconds)."""

    iter_loss: list[float] = field(default_factory=list)
    iter_acc: list[float] = field(default_factory=list)
    train_loss: list[float] = field(default_factory=list)
    train_acc: list[float] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)
    val_acc: list[float] = field(default_factory=list)
    epoch_time: list[float] = field(default_factory=list)

    def add_epoch(self, losses, accs, sizes, seconds: float) -> None:
        """Record one finished epoch from its per-batch losses and accuracies; the epoch's
        numbers are their means weighted by batch size (``sizes``, so a smaller last batch
        counts for what it is)."""
        self.epoch_time.append(seconds)
        self.iter_loss.extend(np.asarray(losses).tolist())
        self.iter_acc.extend(np.asarray(accs).tolist())
        self.train_loss.append(float(np.average(losses, weights=sizes)))
        self.train_acc.append(float(np.average(accs, weights=sizes)))

    def epoch_rows(self) -> list[dict]:
        """One dict per epoch, for history.csv."""
        rows = []
        for e in range(len(self.train_loss)):
            rows.append({
                "epoch": e + 1,
                "train_loss": self.train_loss[e],
                "train_acc": self.train_acc[e],
                "val_loss": self.val_loss[e] if self.val_loss else float("nan"),
                "val_acc": self.val_acc[e] if self.val_acc else float("nan"),
                "seconds": self.epoch_time[e],
            })
        return rows

DIVERGENCE_FACTOR = 10


def divergence_limit(num_classes: int) -> float:
    """A stable log-softmax keeps the loss finite even when SGD runs away, so an epoch whose
    mean loss ends over DIVERGENCE_FACTOR times that of a uniform guess (log C) diverged too."""
    return DIVERGENCE_FACTOR * math.log(num_classes)


def evaluate(model: SoftmaxRegression, x: np.ndarray, y: np.ndarray, chunk: int = 10000):
    """Mean cross-entropy and accuracy of ``model`` on (x, y), in chunks to bound memory."""
    total_loss, correct = 0.0, 0
    for start in range(0, len(x), chunk):
        logits = x[start : start + chunk] @ model.params["W"] + model.params["b"]
        yb = y[start : start + chunk]
        loss, _ = cross_entropy(logits, yb)
        total_loss += loss * len(yb)
        correct += int((logits.argmax(axis=1) == yb).sum())
    return total_loss / len(x), correct / len(x)


def fit(
    model: SoftmaxRegression,
    optimizer: SGD,
    x_train: np.ndarray,
    y_train: np.ndarray,
    x_val: np.ndarray | None = None,
    y_val: np.ndarray | None = None,
    epochs: int = 10,
    batch_size: int = 100,
    rng: np.random.Generator | None = None,
    log: Callable[[str], None] | None = None,
    display_freq: int = 0,
    blas_threads: int | None = 1,
    state: TrainState | None = None,
    checkpoint: Callable[[TrainState], None] | None = None,
    checkpoint_every: int = 0,
    stop: Callable[[], bool] | None = None,
    lr_decay: str = "none",
    progress: Callable | None = None,
) -> History:
    """Train ``model`` with ``optimizer`` for ``epochs`` passes over shuffled minibatches.

    ``log`` gets a line per epoch (and every ``display_freq`` iterations when > 0).
    Raises DivergenceError as soon as the loss is not finite.
    Faults: ``checkpoint(state)`` is called after every epoch and every ``checkpoint_every``
    steps; when ``stop()`` turns true, fit checkpoints after the current step and raises
    Interrupted. ``state`` (with the weights and velocities restored by the caller) resumes
    a run so that it ends bit for bit as an uninterrupted one would.
    ``progress(desc=, total=)``: makes a bar per epoch (tqdm's signature), advanced each step.
    ``lr_decay``: "linear" scales the optimizer's learning rate by (E - e + 1) / E in epoch e
    of E (the full rate first, 1/E of it last); "none" keeps it.
    ``blas_threads``: BLAS threads while training (None leaves the setting alone). One is the
    default because the products here are small (W is 784 x 10): waking a second thread for
    each of them costs more than it saves, and on a busy machine it can stall for a whole
    scheduler time slice (measured here: 12-16 ms per product at batch 1000, against 0.4 ms
    on one thread). Parallelism pays across runs instead (see benchmarks/README.md).
    """
    check_batch_size(batch_size, len(x_train))
    if lr_decay not in ("none", "linear"):
        raise ConfigError(f"lr_decay must be 'none' or 'linear', got {lr_decay!r}")
    rng = np.random.default_rng(0) if rng is None else rng
    base_lr = optimizer.learning_rate

    def schedule(epoch: int) -> float:  # the learning rate of epoch 1 .. epochs
        return base_lr * (epochs - epoch + 1) / epochs if lr_decay == "linear" else base_lr

    try:  # a run that blows up is reported once, as a DivergenceError, not as numpy warnings
        with threadpool_limits(blas_threads, user_api="blas"), np.errstate(over="ignore",
                                                                          invalid="ignore"):
            return _fit(model, optimizer, x_train, y_train, x_val, y_val, epochs, batch_size, rng,
                        log, display_freq, state or TrainState(), checkpoint, checkpoint_every,
                        stop, schedule, progress)
    finally:
        optimizer.learning_rate = base_lr  # the optimizer is left as it was given


def _fit(model, optimizer, x_train, y_train, x_val, y_val, epochs, batch_size, rng, log,
         display_freq, state, checkpoint, checkpoint_every, stop, schedule, progress=None) -> History:
    hist = History(**state.history)
    n_iter = num_batches(len(x_train), batch_size)
    # weight each batch by its size so a smaller last batch counts for what it is
    sizes = batch_lengths(len(x_train), batch_size)
    W = model.params["W"]
    # One logits buffer for all batches: forward writes into it and cross_entropy turns it into
    # dlogits in place, so no (batch, C) array is allocated per iteration.
    logits_buf = np.empty((batch_size, W.shape[1]), dtype=np.result_type(x_train, W))
    for epoch in range(state.epoch + 1, epochs + 1):
        optimizer.learning_rate = schedule(epoch)
        start = time.perf_counter()
        first = 0
        if state.rng_state is not None:  # resuming: same shuffle, continue after `step` batches
            rng.bit_generator.state = state.rng_state
            first = state.step
        epoch_rng = rng.bit_generator.state  # before this epoch's shuffle
        losses = np.empty(n_iter)
        accs = np.empty(n_iter)
        losses[:first], accs[:first] = state.epoch_losses, state.epoch_accs
        state = TrainState()
        # large batches: gather into reused buffers (faster from ~100 rows; slower below)
        batches = iterate_minibatches(x_train, y_train, batch_size, rng, first,
                                      reuse=batch_size >= 100)
        bar = progress(desc=f"epoch {epoch}/{epochs}", total=n_iter, initial=first,
                       unit="step") if progress else None
        for it, (xb, yb) in enumerate(batches, start=first):
            if bar is not None:
                bar.update()
            logits = model.forward(xb, out=logits_buf[: len(xb)])
            top = logits.argmax(axis=1)  # once, for the accuracy and for the loss's row max
            accs[it] = np.count_nonzero(top == yb) / len(yb)
            loss, dlogits = cross_entropy(logits, yb, out=logits, top=top)  # logits -> dlogits
            losses[it] = loss
            if not math.isfinite(loss):
                raise DivergenceError(
                    f"training diverged at epoch {epoch}, iteration {it + 1}: loss is "
                    f"{loss} with learning rate {optimizer.learning_rate:g}; "
                    f"try a smaller one, e.g. --lr {optimizer.learning_rate / 10:g}"
                    + _decay_hint(optimizer), history=hist,
                )
            model.backward(dlogits)
            optimizer.step()
            if log and display_freq and (it + 1) % display_freq == 0:
                log(f"epoch {epoch} iter {it + 1}/{n_iter}  loss {losses[it]:.4f}  acc {accs[it]:.4f}")
            done = it + 1
            stopping = stop is not None and stop()
            if checkpoint and (stopping or (checkpoint_every and done % checkpoint_every == 0)):
                # views, not copies: the callback writes them out before training goes on
                checkpoint(TrainState(epoch - 1, done, epoch_rng, losses[:done], accs[:done],
                                      vars(hist)))
            if stopping:
                raise Interrupted(f"stopped at epoch {epoch}, step {done} of {n_iter}",
                                  epoch=epoch, step=done)
        if bar is not None:
            bar.close()
        hist.add_epoch(losses, accs, sizes, time.perf_counter() - start)
        limit = divergence_limit(model.params["W"].shape[1])
        if hist.train_loss[-1] > limit:
            raise DivergenceError(
                f"training diverged in epoch {epoch}: mean loss {hist.train_loss[-1]:.4g} is over "
                f"{limit:.3g} ({DIVERGENCE_FACTOR}x that of a uniform guess) with learning rate "
                f"{optimizer.learning_rate:g}; try a smaller one, e.g. --lr {optimizer.learning_rate / 10:g}"
                + _decay_hint(optimizer), history=hist,
            )
        line = (f"epoch {epoch}/{epochs}  train loss {hist.train_loss[-1]:.4f}  "
                f"acc {hist.train_acc[-1]:.4f}")
        if x_val is not None and len(x_val):
            vl, va = evaluate(model, x_val, y_val)
            hist.val_loss.append(vl)
            hist.val_acc.append(va)
            line += f"  val loss {vl:.4f}  acc {va:.4f}"
        if log:
            log(f"{line}  {hist.epoch_time[-1]:.2f}s")
        if checkpoint:  # the next epoch starts from the current RNG state, at step 0
            checkpoint(TrainState(epoch, 0, rng.bit_generator.state, [], [], vars(hist)))
    return hist


def _decay_hint(optimizer) -> str:
    """Divergence advice names the weight decay too when there is one (lr * wd >= 1 flips W)."""
    wd = getattr(optimizer, "weight_decay", 0)
    return f", or a smaller weight decay than {wd:g} (e.g. --weight-decay {wd / 100:g})" if wd else ""


# ---- the course's Solver --------------------------------------------------------------------

COURSE_KEYS = ("data_root", "max_epoch", "batch_size", "learning_rate", "momentum", "display_freq")


class Solver:
    """Course API: ``Solver(cfg)``; ``train() -> (epoch_losses, epoch_accs)``; ``test() -> (loss, acc)``.

    cfg keys: data_root, max_epoch, batch_size, learning_rate, momentum, display_freq
    (optional: seed, default 0; verbose, default True).
    """

    def __init__(self, cfg: dict):
        missing = [k for k in COURSE_KEYS if k not in cfg]
        if missing:
            raise ConfigError(f"Solver cfg is missing {', '.join(missing)}")
        self.cfg = cfg
        self.config = TrainConfig(
            epochs=int(cfg["max_epoch"]), batch_size=int(cfg["batch_size"]),
            lr=float(cfg["learning_rate"]), momentum=float(cfg["momentum"]),
            seed=int(cfg.get("seed", 0)),
        )
        self.data = load_splits(cfg["data_root"], 5000, "course")
        self.rng = np.random.default_rng(self.config.seed)
        self.model = SoftmaxCrossEntropyLoss(784, 10, rng=self.rng)
        self.optimizer = SGD(self.model, self.config.lr, self.config.momentum)
        self.history: History | None = None

    def train(self):
        d = self.data
        self.history = fit(
            self.model.core, self.optimizer, d.x_train, d.y_train, d.x_val, d.y_val,
            epochs=self.config.epochs, batch_size=self.config.batch_size, rng=self.rng,
            log=print if self.cfg.get("verbose", True) else None,
            display_freq=int(self.cfg["display_freq"] or 0),
        )
        return self.history.train_loss, self.history.train_acc

    def test(self):
        return evaluate(self.model.core, self.data.x_test, self.data.y_test)
