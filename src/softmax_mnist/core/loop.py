"""The training loop: ``train`` drives a learner (learner.Learner) through epochs of shuffled
minibatches, and keeps what it measured.

    train(learner, data, epochs, batch_size, rng, hooks, state) -> (histories, diverged)
    History      per iteration and per epoch: train loss/accuracy, validation, seconds
    Hooks        log, checkpoint, stop, progress, on_step, on_epoch (all optional)
    TrainState   where a run is: all a checkpoint holds, so a resumed run ends bit for bit alike
    evaluate     mean loss and accuracy of a model on (x, y)
    divergence   the rule (a non-finite loss, or an epoch's mean over DIVERGENCE_FACTOR x log C)
                 and the one line a diverged setting reports

A setting that diverges is masked (the learner's ``drop``) and the others carry on. The loop
knows nothing of files: a checkpoint hook gets a TrainState to write. This package's runs
(fit, fit_stacked, the learner Stack) are in fit.py; a sweep's two processes in twocores.py.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from softmax_mnist.core.batches import batch_lengths, check_batch_size, iterate_minibatches, num_batches
from softmax_mnist.core.functional import correct, cross_entropy
from softmax_mnist.core.learner import Learner
from softmax_mnist.core.model import SoftmaxRegression
from softmax_mnist.core.optimizer import Setting
from softmax_mnist.errors import Interrupted, advice


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
GATHER_AHEAD = 500  # batch size from which the next batch is gathered on a second thread


def divergence_limit(num_classes: int) -> float:
    """A stable log-softmax keeps the loss finite even when SGD runs away, so an epoch whose
    mean loss ends over DIVERGENCE_FACTOR times that of a uniform guess (log C) diverged too."""
    return DIVERGENCE_FACTOR * math.log(num_classes)


def all_finite(values) -> bool:
    """A float's or an array's values all finite (math.isfinite on a float: a training step's
    check costs 0.1 us instead of 2)."""
    return math.isfinite(values) if isinstance(values, float) else bool(np.isfinite(values).all())


def divergence_message(setting: Setting, where: str) -> str:
    """The one line a diverged run reports: where, and the learning rate to try instead (the
    setting named as errors.advice does, for each front end to say in its own terms)."""
    hint = (f", or a smaller weight decay than {setting.weight_decay:g} (e.g. "
            f"{advice('weight_decay', setting.weight_decay / 100)})"
            if setting.weight_decay else "")  # lr*wd >= 1 flips W
    return (f"training diverged {where} with learning rate {setting.lr:g}; try a smaller one, "
            f"e.g. {advice('lr', setting.lr / 10)}{hint}")


def evaluate(model: SoftmaxRegression, x: np.ndarray, y: np.ndarray, chunk: int = 10000):
    """Mean cross-entropy and accuracy of ``model`` on (x, y), in chunks to bound memory:
    floats, or one per model (K,) for a stacked model."""
    K, C = model.copies, model.num_classes
    total_loss, hits = 0.0, 0
    for start in range(0, len(x), chunk):
        logits = x[start : start + chunk] @ model.params["W"] + model.params["b"]
        yb = y[start : start + chunk]
        z = logits if K == 1 else logits.reshape(len(yb), K, C)
        hits += correct(z, yb)
        loss, _ = cross_entropy(z, yb, out=z)
        total_loss += loss * len(yb)
    return total_loss / len(x), hits / len(x)


# ---- what the loop is given and gives -------------------------------------------------------


@dataclass
class TrainState:
    """Where a run is: ``epoch`` epochs done, plus ``step`` batches of the next one; all a
    checkpoint holds, so that a resumed run ends bit for bit as an uninterrupted one."""

    epoch: int = 0
    step: int = 0
    rng_state: dict | None = None  # bit generator state at the start of epoch ``epoch + 1``
    losses: np.ndarray | None = None  # (step, K): the batches done in this epoch
    accs: np.ndarray | None = None
    histories: list[dict] = field(default_factory=list)  # each setting's History fields so far
    diverged: list = field(default_factory=list)  # each setting's divergence message, or None
    arrays: dict[str, np.ndarray] = field(default_factory=dict)  # W, b, velocity_W, velocity_b


@dataclass
class Hooks:
    """What ``train`` calls while it runs; all optional.

    ``log(line)``: a line per epoch, and one every ``log_every`` steps when > 0.
    ``checkpoint(state)``: after every epoch and every ``checkpoint_every`` steps, and before
    stopping; ``state`` holds views, to be written out before the call returns.
    ``stop()``: polled after every step; when true, train checkpoints and raises Interrupted.
    ``progress(desc=, total=, initial=, unit=)``: a bar per epoch (tqdm's signature).
    ``on_step(epoch, step, n_iter, losses, accs)``: every ``on_step_every`` steps, for a live
    view: ``step`` batches of epoch ``epoch`` (of ``n_iter``) done, ``losses`` and ``accs``
    their (step, K) values so far, views (copy what you keep); nothing is copied for it.
    ``on_epoch(epoch, histories, arrays)``: at each epoch end, after validation: each
    setting's History, and ``arrays()`` the learner's arrays now, as views: for a Stack W
    (D, K*C), b and the velocities (what a checkpoint holds), with no TrainState built.
    A sweep split over two processes calls on_epoch at the merged epoch ends, never on_step.
    """

    log: Callable[[str], None] | None = None
    log_every: int = 0
    checkpoint: Callable[[TrainState], None] | None = None
    checkpoint_every: int = 0
    stop: Callable[[], bool] | None = None
    progress: Callable | None = None
    on_step: Callable[[int, int, int, np.ndarray, np.ndarray], None] | None = None
    on_step_every: int = 1
    on_epoch: Callable[[int, list[History], Callable[[], dict[str, np.ndarray]]], None] | None = None


def train(learner: Learner, data, epochs: int, batch_size: int, rng: np.random.Generator,
          hooks: Hooks | None = None, state: TrainState | None = None):
    """Train ``learner`` for ``epochs`` passes over ``data``'s shuffled training minibatches.

    ``data``: x_train, y_train, x_val, y_val (a core.data.Splits). ``rng`` shuffles each epoch.
    ``state`` resumes a run (arrays, position, histories). Returns (histories, diverged): a
    History and a divergence message (or None) per setting. See Hooks for the hooks.
    """
    hooks, state = hooks or Hooks(), state or TrainState()
    x, y = data.x_train, data.y_train
    x_val, y_val = getattr(data, "x_val", None), getattr(data, "y_val", None)
    check_batch_size(batch_size, len(x))
    K = learner.size
    n_iter = num_batches(len(x), batch_size)
    sizes = batch_lengths(len(x), batch_size)  # the weights of the batches in an epoch's mean
    hists = [History(**h) for h in state.histories] or [History() for _ in range(K)]
    diverged = list(state.diverged) or [None] * K
    live = np.array([d is None for d in diverged])
    if state.arrays:
        learner.load(state.arrays)
    learner.drop(~live)
    limit = divergence_limit(learner.num_classes)

    def drop(where: dict[int, str]) -> None:  # setting -> where it diverged
        mask = np.zeros(K, dtype=bool)
        for k, text in where.items():
            diverged[k], mask[k] = divergence_message(learner.settings[k], text), True
        live[mask] = False
        learner.drop(mask)

    def snapshot(epochs_done, step, rng_state, losses, accs) -> TrainState:
        return TrainState(epochs_done, step, rng_state, losses, accs, [vars(h) for h in hists],
                          list(diverged), learner.arrays())

    for epoch in range(state.epoch + 1, epochs + 1 if live.any() else 0):
        learner.start_epoch(epoch)
        start = time.perf_counter()
        first = 0
        if state.rng_state is not None:  # resuming: same shuffle, continue after `step` batches
            rng.bit_generator.state = state.rng_state
            first = state.step
        epoch_rng = rng.bit_generator.state  # before this epoch's shuffle
        losses, accs = np.empty((n_iter, K)), np.empty((n_iter, K))
        if first:
            losses[:first], accs[:first] = state.losses, state.accs
        state = TrainState()
        # large batches: gather into reused buffers (faster from ~100 rows; slower below), and
        # from GATHER_AHEAD rows on, the next batch while this one trains
        batches = iterate_minibatches(x, y, batch_size, rng, first, reuse=batch_size >= 100,
                                      ahead=batch_size >= GATHER_AHEAD)
        what = f"epoch {epoch}/{epochs}" + (f", {K} settings" if K > 1 else "")
        bar = hooks.progress(desc=what, total=n_iter, initial=first,
                             unit="step") if hooks.progress else None
        for it, (xb, yb) in enumerate(batches, start=first):
            if bar is not None:
                bar.update()
            loss, acc = learner.step(xb, yb)
            losses[it], accs[it] = loss, acc
            if not all_finite(loss):
                bad = live & ~np.isfinite(losses[it])
                drop({k: f"at epoch {epoch}, iteration {it + 1}: loss is {losses[it, k]}"
                      for k in np.flatnonzero(bad)})
                if not live.any():
                    break
            done = it + 1
            if hooks.log and hooks.log_every and done % hooks.log_every == 0:
                best = np.flatnonzero(live)[np.argmin(losses[it][live])]
                hooks.log(f"epoch {epoch} iter {done}/{n_iter}  loss {losses[it, best]:.4f}  "
                          f"acc {accs[it, best]:.4f}" + (f"  (setting {best})" if K > 1 else ""))
            if hooks.on_step and done % hooks.on_step_every == 0:
                hooks.on_step(epoch, done, n_iter, losses[:done], accs[:done])
            stopping = hooks.stop is not None and hooks.stop()
            if hooks.checkpoint and (stopping or (hooks.checkpoint_every
                                                  and done % hooks.checkpoint_every == 0)):
                hooks.checkpoint(snapshot(epoch - 1, done, epoch_rng, losses[:done], accs[:done]))
            if stopping:
                if bar is not None:
                    bar.close()
                raise Interrupted(f"stopped at epoch {epoch}, step {done} of {n_iter}",
                                  epoch=epoch, step=done)
        if bar is not None:
            bar.close()
        if not live.any():
            break
        seconds = time.perf_counter() - start
        for k in np.flatnonzero(live):
            hists[k].add_epoch(losses[:, k], accs[:, k], sizes, seconds)
        drop({k: f"in epoch {epoch}: mean loss {hists[k].train_loss[-1]:.4g} is over {limit:.3g} "
                 f"({DIVERGENCE_FACTOR}x that of a uniform guess)"
              for k in np.flatnonzero(live) if hists[k].train_loss[-1] > limit})
        if not live.any():
            break
        if x_val is not None and len(x_val):
            vl, va = learner.evaluate(x_val, y_val)
            for k in np.flatnonzero(live):
                hists[k].val_loss.append(float(vl[k]))
                hists[k].val_acc.append(float(va[k]))
        if hooks.log:
            hooks.log(epoch_line(epoch, epochs, hists, live, seconds))
        if hooks.on_epoch:
            hooks.on_epoch(epoch, hists, learner.arrays)
        if hooks.checkpoint:  # the next epoch starts from the current RNG state, at step 0
            hooks.checkpoint(snapshot(epoch, 0, rng.bit_generator.state, losses[:0], accs[:0]))
    return hists, diverged


def epoch_line(epoch, epochs, hists, live, seconds) -> str:
    """The log's line for an epoch end: one run's numbers, or how many settings train on and the best."""
    if len(hists) == 1:
        h = hists[0]
        line = f"epoch {epoch}/{epochs}  train loss {h.train_loss[-1]:.4f}  acc {h.train_acc[-1]:.4f}"
        if h.val_acc:
            line += f"  val loss {h.val_loss[-1]:.4f}  acc {h.val_acc[-1]:.4f}"
        return f"{line}  {seconds:.2f}s"
    best = max(((h.val_acc or h.train_acc)[-1], k) for k, h in enumerate(hists) if live[k]) \
        if live.any() else None
    return (f"epoch {epoch}/{epochs}  {int(live.sum())} of {len(hists)} settings training"
            + (f", best {best[0]:.4f} (setting {best[1]})" if best else "") + f"  {seconds:.2f}s")
