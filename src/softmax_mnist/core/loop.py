"""Training: one loop, for one model or for K settings side by side.

    fit(config, data)            one run: its model and History (DivergenceError if it runs away)
    fit_stacked(configs, data)   K runs that differ only in their optimizer numbers, in one pass

Runs that share the data, the batch size, the epochs and the seed start from the same weights
and see the same batches in the same order, so K of them train as one model with K*C columns
(model.py): one (N, K*C) product per batch instead of K (N, C) ones, the cross-entropy over
(N, K, C) (functional.py), and one update with per-column numbers (optimizer.sgd_update).
A setting that diverges is masked (its learning rate and momentum 0, its weights frozen) and
the others carry on. One run is the case K = 1 of the same code.

``train`` is the loop: epochs, shuffled batches, the History, divergence, validation and the
hooks (log, checkpoint, stop, progress, on_step, on_epoch). A learner (learner.Learner) does the
steps: ``Stack`` (this package's math), or the course's own objects (checker.learner).
The loop knows nothing of files: a checkpoint hook gets a TrainState to write.
"""

from __future__ import annotations

import math
import multiprocessing as mp
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

import numpy as np
from threadpoolctl import threadpool_limits

from softmax_mnist.core import twocores
from softmax_mnist.core.batches import batch_lengths, check_batch_size, iterate_minibatches, num_batches
from softmax_mnist.core.data import NUM_CLASSES
from softmax_mnist.core.functional import correct, cross_entropy
from softmax_mnist.core.learner import Learner
from softmax_mnist.core.model import SoftmaxRegression
from softmax_mnist.core.optimizer import Setting, sgd_update
from softmax_mnist.errors import ConfigError, DivergenceError, Interrupted, advice


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


@dataclass
class Result:
    """One setting's outcome: its model and History, or the reason it diverged."""

    setting: Setting
    model: SoftmaxRegression
    history: History
    diverged: str | None = None


def setting_of(config) -> Setting:
    return Setting(config.lr, config.momentum, config.nesterov, config.weight_decay)


def schedule_of(config) -> Callable[[float, int], float]:
    """The learning rate of epoch e (1 .. E) from the base rate: ``config.lr_decay`` "linear"
    scales it by (E - e + 1) / E (the full rate first, 1/E of it last), "none" keeps it."""
    epochs = config.epochs
    if config.lr_decay == "linear":
        return lambda lr, epoch: lr * (epochs - epoch + 1) / epochs
    return lambda lr, epoch: lr


# ---- the learner: K models side by side ------------------------------------------------------

class Stack(Learner):
    """K models side by side as one SoftmaxRegression (``copies=K``), with each model's
    optimizer numbers spread over its C columns; ``step`` trains all K on one minibatch.
    This is the learner ``train`` drives for this package's runs (K = 1 for one run)."""

    def __init__(self, model: SoftmaxRegression, settings: Sequence[Setting], schedule,
                 batch_size: int, x_dtype, velocity: dict | None = None):
        self.model, self.settings, self.schedule = model, list(settings), schedule
        self.size, self.num_classes = len(self.settings), model.num_classes
        if model.copies != self.size:
            raise ConfigError(f"a model of {model.copies} copies for {self.size} settings")
        if velocity is None:
            velocity = ({k: np.zeros_like(v) for k, v in model.params.items()}
                        if any(s.momentum for s in self.settings) else {})
        self.velocity = velocity
        self.live = np.ones(self.size, dtype=bool)
        W = model.params["W"]
        # one logits buffer for all batches: forward writes into it and cross_entropy turns it
        # into dlogits in place, so no (batch, K*C) array is allocated per step
        self.buf = np.empty((batch_size, W.shape[1]), dtype=np.result_type(x_dtype, W))
        self.start_epoch(1)

    def _per_column(self, values, dtype):
        """One value per setting (0 for a masked one): a scalar when all agree, else (1, K*C)."""
        values = [v if live else 0 for v, live in zip(values, self.live)]
        if all(v == values[0] for v in values):
            return values[0]
        return np.repeat(np.asarray(values, dtype=dtype), self.num_classes)[None, :]

    def start_epoch(self, epoch: int) -> None:
        S, dtype = self.settings, self.model.params["W"].dtype
        self.epoch = epoch
        self.lr = self._per_column([self.schedule(s.lr, epoch) for s in S], dtype)
        self.mu = self._per_column([s.momentum for s in S], dtype)
        self.wd = self._per_column([s.weight_decay for s in S], dtype)
        self.nesterov = self._per_column([s.nesterov for s in S], bool)

    def step(self, xb: np.ndarray, yb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Forward, cross-entropy, backward and update of all K on one batch; their losses
        and accuracies (K,), floats for K = 1. A model whose loss is not finite gets no update,
        and is masked."""
        n, K, C = len(xb), self.size, self.num_classes
        logits = self.model.forward(xb, out=self.buf[:n])
        # a view: model k's logits are z[:, k, :]; one model keeps (N, C), and gets floats back
        z = logits if K == 1 else logits.reshape(n, K, C)
        top = logits.reshape(n * K, C).argmax(axis=1)  # once, for the accuracy and the row max
        accs = correct(z, yb, top) / n
        losses, dlogits = cross_entropy(z, yb, out=z, top=top)  # logits -> dlogits, in place
        if not all_finite(losses):
            bad = ~np.isfinite(np.atleast_1d(losses))
            dlogits.reshape(n, K, C)[:, bad, :] = 0  # no gradient from a runaway model
            self.drop(bad)
        self.model.backward(logits)
        for key, w in self.model.params.items():
            sgd_update(w, self.model.grads[key], self.velocity.get(key), self.lr, self.mu,
                       self.nesterov, 0.0 if key == "b" else self.wd)  # no decay on b
        return losses, accs

    def drop(self, mask: np.ndarray) -> None:
        """Mask the models in ``mask``: no more updates (lr, momentum and velocity 0)."""
        if not mask.any():
            return
        self.live &= ~mask
        C = self.num_classes
        for k in np.flatnonzero(mask):
            cols = slice(k * C, (k + 1) * C)
            for v in self.velocity.values():
                v[:, cols] = 0
            for w in self.model.params.values():  # 0 * NaN is NaN: frozen weights are finite
                w[:, cols] = np.nan_to_num(w[:, cols], nan=0.0, posinf=0.0, neginf=0.0)
        self.start_epoch(self.epoch)

    def evaluate(self, x, y) -> tuple[np.ndarray, np.ndarray]:
        loss, acc = evaluate(self.model, x, y)
        return np.atleast_1d(loss), np.atleast_1d(acc)

    def arrays(self) -> dict[str, np.ndarray]:
        """The weights and velocities, as views (for a checkpoint)."""
        return {**self.model.params, **{f"velocity_{k}": v for k, v in self.velocity.items()}}

    def load(self, arrays: dict[str, np.ndarray]) -> None:
        for key, target in self.arrays().items():
            target[...] = arrays[key]


# ---- the loop -------------------------------------------------------------------------------


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
            hooks.log(_epoch_line(epoch, epochs, hists, live, seconds))
        if hooks.on_epoch:
            hooks.on_epoch(epoch, hists, learner.arrays)
        if hooks.checkpoint:  # the next epoch starts from the current RNG state, at step 0
            hooks.checkpoint(snapshot(epoch, 0, rng.bit_generator.state, losses[:0], accs[:0]))
    return hists, diverged


def _epoch_line(epoch, epochs, hists, live, seconds) -> str:
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


# ---- this package's runs --------------------------------------------------------------------

STACK_FIELDS = ("epochs", "batch_size", "seed", "lr_decay")  # what K stacked runs must share


def fit_stacked(configs, data, hooks: Hooks | None = None, state: TrainState | None = None,
                processes: int | None = None, model: SoftmaxRegression | None = None,
                rng: np.random.Generator | None = None, velocity: dict | None = None,
                start: str | None = None) -> list[Result]:
    """Train one softmax regression per config, all in one pass over ``data``.

    The configs (validated TrainConfigs) may differ only in their optimizer numbers (lr,
    momentum, nesterov, weight_decay). Each result equals, to float32 rounding, ``fit`` of
    that config alone: the init is drawn from ``default_rng(seed)`` and the same generator then
    shuffles every epoch. Enough work is split into two halves of the settings (``halves``),
    trained side by side in two processes where that is faster on this machine (twocores;
    ``processes=1``: one after the other; ``processes=2``: two processes, started by ``start``,
    "fork" or "spawn", default the safe one here); the same bits either way. ``model``, ``rng``
    and ``velocity`` (one setting only): train these, in place, instead of a fresh init (the
    course's Solver and SGD).
    """
    configs = list(configs)
    if not configs:
        raise ConfigError("fit_stacked needs at least one setting")
    c0 = configs[0]
    for c in configs[1:]:
        for f in STACK_FIELDS:
            if getattr(c, f) != getattr(c0, f):
                raise ConfigError(f"stacked runs must share their {f}: {getattr(c0, f)!r} and "
                                  f"{getattr(c, f)!r}")
    if model is not None and len(configs) > 1:
        raise ConfigError("a given model trains one setting")
    check_batch_size(c0.batch_size, len(data.x_train))
    parts = halves(len(configs), len(data.x_train) * c0.epochs)
    if len(parts) == 1:
        return _fit_part(configs, data, hooks, state, model, rng, velocity)
    if processes == 1:
        method = None
    elif processes == 2 or start is not None:
        method = start or twocores.start_method()
    else:
        method = twocores.second_process(len(data.x_train) * c0.epochs, len(configs))
    return _fit_halves(configs, parts, data, hooks or Hooks(), state, method)


def _fit_part(configs, data, hooks, state, model=None, rng=None, velocity=None) -> list[Result]:
    """fit_stacked's work on one process: all of ``configs`` as one Stack."""
    c0 = configs[0]
    settings = [setting_of(c) for c in configs]
    K, D = len(settings), data.x_train.shape[1]
    rng = np.random.default_rng(c0.seed) if rng is None else rng
    if model is None:
        model = SoftmaxRegression(D, NUM_CLASSES, rng=rng, copies=K)  # the init each would draw
    stack = Stack(model, settings, schedule_of(c0), c0.batch_size, data.x_train.dtype, velocity)
    # One BLAS thread: the products here are small (W is 784 x K*C), and waking a second
    # thread for each costs more than it saves; on a busy machine it stalled for a whole
    # scheduler time slice (12-16 ms per product at batch 1000, against 0.4 ms on one thread).
    with threadpool_limits(1, user_api="blas"), np.errstate(over="ignore", invalid="ignore"):
        hists, diverged = train(stack, data, c0.epochs, c0.batch_size, rng, hooks, state)
    models = [model] if K == 1 else [model.select(k, k + 1) for k in range(K)]
    return [Result(s, m, h, d) for s, m, h, d in zip(settings, models, hists, diverged)]


# ---- a sweep on two cores --------------------------------------------------------------------
#
# Two threads cannot share a step: on this project's 2-core machine handing half of a product
# to another thread and back costs ~110 us (a sleeping core has to wake), more than the half
# saves at batch 100, and NumPy's small calls contend for the GIL. Two processes need no
# hand-over per step: each trains its half of the settings with the same seed, so the same
# init and batches, and they meet only at epoch ends (for the log and the checkpoint).

MIN_SPLIT_WORK = 50_000  # training images x epochs below which a second process does not pay


def halves(size: int, work: int) -> list[slice]:
    """The settings each process trains. Depends on the work only, never on the machine's
    cores, so the same settings give the same bits everywhere."""
    if size < 2 or work < MIN_SPLIT_WORK:
        return [slice(0, size)]
    half = (size + 1) // 2
    return [slice(0, half), slice(half, size)]


def _fit_halves(configs, parts, data, hooks: Hooks, state, method: str | None) -> list[Result]:
    """``method``: how the second half's process starts ("fork", "spawn"), or None: the
    halves one after the other in this process."""
    first, second = (configs[p] for p in parts)

    def bar(desc, **kw):  # a half's bar stands for the whole pass
        return hooks.progress(desc=re.sub(r"\d+ settings", f"{len(configs)} settings", desc), **kw)

    states = _split_state(state, parts) if state is not None else [None, None]

    def in_turn():  # the second half here, first: its epoch ends are kept for the merge
        ends = []
        hooks2 = Hooks(stop=hooks.stop, checkpoint=lambda st: st.step or ends.append(_copy(st)),
                       progress=hooks.progress and bar)
        done = _fit_part(second, data, hooks2, states[1])
        return iter([("epoch", st) for st in ends] + [("done", done)]).__next__

    child = None
    if method is not None:
        ctx = mp.get_context(method)
        here, there = ctx.Pipe(duplex=False)
        sent = data if method == "fork" else _training_part(data)  # spawn: pickled, so no test split
        child = ctx.Process(target=_second_half, daemon=True, args=(second, sent, states[1], there))
        child.start()
        there.close()
        receive = here.recv
    else:
        receive = in_turn()
    other = {"state": states[1], "results": None}

    def take() -> None:  # the second half's next message: an epoch end, its results, an error
        nonlocal receive
        try:
            kind, value = receive()
        except (EOFError, OSError):  # the second process died (killed, out of memory, a crash)
            child.join(5)
            if hooks.log:
                hooks.log(f"the second process ended unexpectedly (exit code {child.exitcode}); "
                          "its half of the settings trains here, after this one")
            receive = in_turn()  # from the pass's start again: the same bits
            kind, value = receive()
        if kind == "error":
            raise value
        other["results" if kind == "done" else "state"] = value

    def meet(st: TrainState) -> None:  # the first half's epoch end: merge with the second's
        if st.step:
            return  # the halves meet at epoch ends only; a stop resumes from the last one
        while other["results"] is None and (other["state"] is None or other["state"].epoch < st.epoch):
            take()
        if other["state"] is None or other["state"].epoch < st.epoch:  # it ended early: all
            other["state"] = _ended(other["results"], second)  # of its settings diverged
        merged = _merge_states(st, other["state"])
        if hooks.log:
            live = np.array([d is None for d in merged.diverged])
            hists = [History(**h) for h in merged.histories]
            seconds = next((h.epoch_time[-1] for h in hists if len(h.epoch_time) == st.epoch), 0.0)
            hooks.log(_epoch_line(st.epoch, first[0].epochs, hists, live, seconds))
        if hooks.on_epoch:
            hooks.on_epoch(st.epoch, [History(**h) for h in merged.histories],
                           lambda: merged.arrays)
        if hooks.checkpoint:
            hooks.checkpoint(merged)

    # the log's lines are the merged epoch lines of meet (no per-step lines when split)
    mine_hooks = Hooks(checkpoint=meet, stop=hooks.stop, progress=hooks.progress and bar)
    try:
        mine = _fit_part(first, data, mine_hooks, states[0])
        while other["results"] is None:
            take()
        return mine + other["results"]
    finally:
        if child is not None:
            if other["results"] is None:  # stopped, or failed: the child's half is not needed
                child.terminate()
            child.join()


def _training_part(data):
    """What a half needs of ``data``: the training and validation splits."""
    from types import SimpleNamespace

    return SimpleNamespace(x_train=data.x_train, y_train=data.y_train,
                           x_val=getattr(data, "x_val", None), y_val=getattr(data, "y_val", None))


def _second_half(configs, data, state, conn) -> None:
    """The child process: trains its settings, sends each epoch end and then its results."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when to stop
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    try:  # die with the parent, even when it is killed (Linux)
        import ctypes

        ctypes.CDLL(None).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError, TypeError):  # no prctl (macOS), no SIGKILL or CDLL(None) (Windows)
        pass
    try:
        hooks = Hooks(checkpoint=lambda st: st.step or conn.send(("epoch", st)))
        conn.send(("done", _fit_part(configs, data, hooks, state)))
    except BaseException as e:  # noqa: BLE001 - reported to the parent, which raises it
        conn.send(("error", e))
    finally:
        conn.close()


def _ended(results: list[Result], configs) -> TrainState:
    """The state of a half whose settings all diverged before the other half's epoch end:
    their final weights (frozen), histories and notes, no velocity left."""
    arrays = {k: np.hstack([r.model.params[k] for r in results]) for k in ("W", "b")}
    if any(c.momentum for c in configs):
        arrays.update({f"velocity_{k}": np.zeros_like(v) for k, v in list(arrays.items())})
    K = len(results)
    return TrainState(0, 0, None, np.empty((0, K)), np.empty((0, K)),
                      [vars(r.history) for r in results], [r.diverged for r in results], arrays)


def _copy(state: TrainState) -> TrainState:
    """A state that owns its arrays (the loop's hold views into training buffers)."""
    return replace(state, arrays={k: v.copy() for k, v in state.arrays.items()},
                   histories=[{k: list(v) for k, v in h.items()} for h in state.histories],
                   losses=np.array(state.losses), accs=np.array(state.accs))


def _merge_states(a: TrainState, b: TrainState) -> TrainState:
    """The two halves' states at one epoch end as the state of all the settings."""
    return TrainState(a.epoch, 0, a.rng_state, np.hstack([a.losses, b.losses]),
                      np.hstack([a.accs, b.accs]), a.histories + b.histories,
                      a.diverged + b.diverged,
                      {k: np.hstack([a.arrays[k], b.arrays[k]]) for k in a.arrays})


def _split_state(state: TrainState, parts: list[slice]) -> list[TrainState]:
    """A merged state (a checkpoint of all the settings) as each half's own."""
    C = NUM_CLASSES
    return [TrainState(state.epoch, state.step, state.rng_state, state.losses[:, p],
                       state.accs[:, p], state.histories[p], state.diverged[p],
                       {k: v[:, p.start * C:p.stop * C] for k, v in state.arrays.items()})
            for p in parts]


def fit(config, data, hooks: Hooks | None = None, state: TrainState | None = None,
        model: SoftmaxRegression | None = None, rng: np.random.Generator | None = None,
        velocity: dict | None = None) -> Result:
    """Train one run of ``config`` (a TrainConfig) on ``data``; its Result. Raises
    DivergenceError (with the History of the epochs before) when the run runs away."""
    r = fit_stacked([config], data, hooks, state, model=model, rng=rng, velocity=velocity)[0]
    if r.diverged:
        raise DivergenceError(r.diverged, history=r.history)
    return r
