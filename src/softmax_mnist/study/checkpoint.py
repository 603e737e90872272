"""Checkpoints: everything needed to continue a training run and end bit-for-bit where an
uninterrupted run would: weights, optimizer velocities, the RNG state at the start of the
current epoch (so the epoch's shuffle is drawn again identically), the position in the epoch,
and the history so far. Stored like model.npz: arrays plus JSON, loaded without pickle.
"""

from __future__ import annotations

import io
import json
import os
import signal
import threading
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from softmax_mnist.core.batches import num_batches
from softmax_mnist.core.loop import TrainState
from softmax_mnist.core.optimizer import keeps_velocity
from softmax_mnist.errors import DataError, Interrupted
from softmax_mnist.errors import is_whole as _whole
from softmax_mnist.fileio import atomic_write
from softmax_mnist.study.modelfile import read_npz

__all__ = ["CheckpointError", "Interrupted", "TrainState", "catch_signals", "checkpoint_path",
           "load_checkpoint", "restore", "save_checkpoint"]

FORMAT = "softmax-mnist-checkpoint"
VERSION = 2  # 2: K settings (a stacked pass) per checkpoint; 1 held one run
# the fields of loop.History; those measured once per epoch have one value per epoch done
EPOCH_FIELDS = frozenset({"train_loss", "train_acc", "val_loss", "val_acc", "epoch_time"})
HISTORY_FIELDS = EPOCH_FIELDS | {"iter_loss", "iter_acc"}
STATE_KEYS = {"epoch", "step", "rng_state", "history", "diverged"}


class CheckpointError(DataError):
    """A checkpoint that is missing, corrupt or from another run."""


def save_checkpoint(path, state: TrainState, configs: list[dict]) -> Path:
    """Write a checkpoint of ``state`` (loop.TrainState) for the runs of ``configs``,
    atomically (a kill during the write keeps the previous one)."""
    names = sorted({n for h in state.histories for n in h})
    small = {"epoch": state.epoch, "step": state.step, "rng_state": state.rng_state,
             "history": names, "diverged": list(state.diverged)}
    meta = {"format": FORMAT, "version": VERSION, "configs": configs, "state": small}
    arrays = {(k if k.startswith("velocity_") else f"param_{k}"): v for k, v in state.arrays.items()}
    # the per-step series go in as arrays: as JSON they would cost seconds per checkpoint
    arrays["series_losses"] = np.asarray(state.losses, dtype=np.float64)
    arrays["series_accs"] = np.asarray(state.accs, dtype=np.float64)
    for k, h in enumerate(state.histories):
        arrays.update({f"series_history_{k}_{n}": np.asarray(v, dtype=np.float64)
                       for n, v in h.items()})
    buf = io.BytesIO()
    np.savez(buf, meta=np.array(json.dumps(meta)), **arrays)
    return atomic_write(path, lambda f: f.write(buf.getvalue()))


def load_checkpoint(path) -> tuple[TrainState, list[dict]]:
    """(state, configs) from a checkpoint written by ``save_checkpoint``.

    Everything that can be checked without the run is: the format, the state's numbers, the
    RNG state, the lengths of the series, the arrays' types and shapes (``restore`` checks
    the rest against the settings and the data)."""
    path = Path(path)
    fix = "start the run again without --resume"

    def bad(what: str) -> CheckpointError:
        return CheckpointError(f"{path}: {what}; {fix}")

    if path.exists() and not path.is_file():
        raise bad("not a regular file")
    if not path.is_file():
        raise CheckpointError(f"no checkpoint at {path}; {fix}")
    arrays = read_npz(path, bad, names=None)
    meta_arr = arrays.pop("meta")
    if meta_arr.dtype.kind != "U" or meta_arr.shape != ():
        raise bad("its meta field is not a JSON string")
    try:
        meta = json.loads(str(meta_arr))
    except (ValueError, RecursionError) as e:
        raise bad(f"unreadable checkpoint ({type(e).__name__})") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT or meta.get("version") != VERSION:
        raise CheckpointError(f"{path}: not a version-{VERSION} softmax-mnist checkpoint; {fix}")
    small, configs = meta.get("state"), meta.get("configs")
    if not isinstance(small, dict) or not (isinstance(configs, list) and configs
                                           and all(isinstance(c, dict) for c in configs)):
        raise bad("its state is not a table, or its configs not a list of tables")
    if set(small) != STATE_KEYS:
        raise bad(f"its state holds {sorted(small)}, expected {', '.join(sorted(STATE_KEYS))}")
    K = len(configs)
    epoch, step, diverged = small["epoch"], small["step"], small["diverged"]
    if not (_whole(epoch) and epoch >= 0 and _whole(step) and step >= 0):
        raise bad(f"epoch {epoch!r} and step {step!r} must be whole numbers >= 0")
    if not (isinstance(diverged, list) and len(diverged) == K
            and all(d is None or isinstance(d, str) for d in diverged)):
        raise bad(f"its divergence notes are not {K} texts or nulls")
    if small["rng_state"] is not None:
        _check_rng_state(small["rng_state"], bad)
    names = small["history"]
    if not (isinstance(names, list) and all(isinstance(k, str) for k in names)
            and set(names) <= HISTORY_FIELDS):
        raise bad(f"its history names {names!r} are not fields of a training history")

    def series(key, ndim):
        a = arrays.pop(f"series_{key}", None)
        if a is None:
            raise bad(f"series {key} is missing")
        if a.ndim != ndim or a.dtype.kind != "f":
            raise bad(f"series {key} is {a.dtype} {a.shape}, expected a {ndim}-D float array")
        return a

    losses, accs = series("losses", 2), series("accs", 2)
    if not losses.shape == accs.shape == (step, K):
        raise bad(f"losses {losses.shape} and accuracies {accs.shape} for the {step} steps done "
                  f"in this epoch by {K} settings")
    live = [d is None for d in diverged]  # a diverged setting's last steps are inf or NaN
    _check_values("step losses", losses[:, live], bad)
    _check_values("step accuracies", accs[:, live], bad, accuracy=True)
    histories = []
    for k in range(K):
        h = {n: series(f"history_{k}_{n}", 1) for n in names}
        for n, values in h.items():
            whole = len(values) == epoch or (n in ("val_loss", "val_acc") and not len(values))
            if n in EPOCH_FIELDS and not (whole or diverged[k] and len(values) < epoch):
                raise bad(f"history {n} of setting {k} has {len(values)} values for {epoch} epochs")
            _check_values(f"history {n} of setting {k}", values, bad, accuracy=n.endswith("_acc"),
                          positive=n == "epoch_time")
        histories.append({n: v.tolist() for n, v in h.items()})
    extra = [k for k in arrays if k.startswith("series_")]
    if extra:
        raise bad(f"unknown series {', '.join(k[7:] for k in extra)}")
    params = {k[6:]: v for k, v in arrays.items() if k.startswith("param_")}
    velocity = {k[9:]: v for k, v in arrays.items() if k.startswith("velocity_")}
    unknown = [k for k in arrays if not k.startswith(("param_", "velocity_"))]
    if set(params) != {"W", "b"} or unknown:
        raise bad(f"checkpoint arrays are {sorted(arrays)}, expected param_W, param_b, "
                  "velocities and series")
    top = float(np.finfo(np.float32).max)  # training is float32: 1e300 as float64 is inf there
    for kind, group in (("weights", params), ("velocity", velocity)):
        for k, v in group.items():
            if v.ndim != 2 or v.dtype.kind != "f" or not (np.isfinite(v).all()
                                                           and np.abs(v).max(initial=0) <= top):
                raise CheckpointError(f"{path}: checkpoint {kind} {k} are not finite float32 "
                                      f"numbers ({v.dtype} {v.shape}): the file is damaged; {fix}")
    for k, v in velocity.items():
        if k not in params or v.shape != params[k].shape:
            raise bad(f"velocity {k} has shape {v.shape}, its weights "
                      f"{params[k].shape if k in params else 'do not exist'}")
    state = TrainState(epoch, step, small["rng_state"], losses, accs, histories, diverged,
                       {**params, **{f"velocity_{k}": v for k, v in velocity.items()}})
    return state, configs


def _check_values(what: str, values: np.ndarray, bad, accuracy: bool = False,
                  positive: bool = False) -> None:
    """Every value finite; an accuracy in [0, 1], a time >= 0: what training can have made."""
    if not np.isfinite(values).all():
        raise bad(f"its {what} hold a value that is not finite")
    low, high = (0.0, 1.0) if accuracy else (0.0, np.inf) if positive else (-np.inf, np.inf)
    if values.size and not (low <= values.min() and values.max() <= high):
        raise bad(f"its {what} go from {values.min():g} to {values.max():g}, outside {low:g}..{high:g}")


def _check_rng_state(rng_state, bad) -> None:
    """The RNG state must be one NumPy's default generator (PCG64) accepts as its own."""
    gen = np.random.default_rng(0).bit_generator
    if not isinstance(rng_state, dict) or rng_state.get("bit_generator") != type(gen).__name__:
        raise bad(f"its RNG state is not a {type(gen).__name__} state")
    try:
        gen.state = rng_state
        ok = gen.state == rng_state  # a value NumPy silently truncates is not what was saved
    except (TypeError, ValueError, KeyError, OverflowError):
        ok = False
    if not ok:
        raise bad(f"its RNG state is not a valid {type(gen).__name__} state")


class StopFlag:
    """Set by SIGINT/SIGTERM while ``catch_signals`` is active; training polls it per step."""

    def __init__(self):
        self.signal: str | None = None

    def __call__(self) -> bool:
        return self.signal is not None


@contextmanager
def catch_signals():
    """Turn SIGINT and SIGTERM into a StopFlag instead of killing the process mid-step."""
    flag = StopFlag()
    if threading.current_thread() is not threading.main_thread():
        yield flag  # signal handlers can only be set from the main thread
        return

    def handler(signum, _frame):
        flag.signal = signal.Signals(signum).name

    old = {s: signal.signal(s, handler) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield flag
    finally:
        for s, h in old.items():
            signal.signal(s, h)


def checkpoint_path(out_dir: str | os.PathLike) -> Path:
    return Path(out_dir) / "checkpoint.npz"


def restore(path, configs: list[dict], shape: tuple[int, int], n_train: int | None = None
            ) -> TrainState:
    """The state to resume the runs of ``configs`` from, loaded from ``path`` and checked
    against them: the same settings, weights of ``shape`` (D, K*C), the velocities their
    momentum keeps, a position inside the run. ``n_train``: the training split's size, so the
    step in the epoch is checked too."""
    state, saved = load_checkpoint(path)
    fix = "start the run again without --resume"
    if saved != configs:
        raise CheckpointError(f"{path} was written with other settings ({saved}); "
                              "resume with the settings it was made with")
    D, cols = shape
    for key, want in (("W", (D, cols)), ("b", (1, cols))):
        if state.arrays[key].shape != want:
            raise CheckpointError(f"{path}: {key} has shape {state.arrays[key].shape}, expected {want}")
    momentum = keeps_velocity(c.get("momentum") for c in configs)
    velocity = sorted(k[9:] for k in state.arrays if k.startswith("velocity_"))
    if velocity != (["W", "b"] if momentum else []):
        raise CheckpointError(f"{path}: velocities {velocity or 'none'}, the optimizer keeps "
                              f"{'W and b' if momentum else 'none'} (momentum "
                              f"{max(c.get('momentum') or 0 for c in configs):g}); {fix}")
    epochs = configs[0].get("epochs")
    if _whole(epochs) and (state.epoch > epochs or state.step and state.epoch >= epochs):
        raise CheckpointError(f"{path}: epoch {state.epoch} (step {state.step}) is past the run's "
                              f"{epochs} epochs; {fix}")
    batch = configs[0].get("batch_size")
    if n_train is not None and _whole(batch) and batch > 0:
        n_iter = num_batches(n_train, batch)
        if state.step > n_iter:
            raise CheckpointError(f"{path}: step {state.step} is past the {n_iter} steps of an "
                                  f"epoch; {fix}")
        for h in state.histories:
            for n in ("iter_loss", "iter_acc"):
                if n in h and len(h[n]) != len(h.get("train_loss", [])) * n_iter:
                    raise CheckpointError(f"{path}: history {n} has {len(h[n])} values for "
                                          f"{len(h.get('train_loss', []))} epochs of {n_iter} "
                                          f"steps; {fix}")
    if state.rng_state is None and (state.step or state.epoch):
        raise CheckpointError(f"{path}: no RNG state for a run past its start; {fix}")
    dtype = np.float32
    state.arrays = {k: v.astype(dtype) for k, v in state.arrays.items()}
    return state
