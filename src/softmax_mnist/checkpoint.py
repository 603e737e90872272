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
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from softmax_mnist.config import is_whole as _whole
from softmax_mnist.dataloader import num_batches
from softmax_mnist.errors import DataError, SoftmaxMnistError
from softmax_mnist.fileio import atomic_write
from softmax_mnist.modelfile import read_npz

FORMAT = "softmax-mnist-checkpoint"
VERSION = 1
# the fields of solver.History; those measured once per epoch have one value per epoch done
EPOCH_FIELDS = frozenset({"train_loss", "train_acc", "val_loss", "val_acc", "epoch_time"})
HISTORY_FIELDS = EPOCH_FIELDS | {"iter_loss", "iter_acc"}


class CheckpointError(DataError):
    """A checkpoint that is missing, corrupt or from another run."""


class Interrupted(SoftmaxMnistError):
    """Training stopped on request (SIGINT/SIGTERM) after writing a checkpoint."""

    def __init__(self, message: str, epoch: int = 0, step: int = 0):
        super().__init__(message)
        self.epoch, self.step = epoch, step


@dataclass
class TrainState:
    """Where a run is: ``epoch`` epochs done, plus ``step`` batches of the next one."""

    epoch: int = 0
    step: int = 0
    rng_state: dict | None = None  # bit generator state at the start of epoch ``epoch + 1``
    epoch_losses: list[float] = field(default_factory=list)  # batches done in this epoch
    epoch_accs: list[float] = field(default_factory=list)
    history: dict = field(default_factory=dict)  # History fields so far (lists of floats)


def save_checkpoint(path, params: dict, velocity: dict, state: TrainState, config: dict) -> Path:
    """Write a checkpoint atomically (a kill during the write keeps the previous one)."""
    # the per-step series go in as arrays: as JSON they would cost seconds per checkpoint
    series = {"epoch_losses": state.epoch_losses, "epoch_accs": state.epoch_accs}
    series.update({f"history_{k}": v for k, v in state.history.items()})
    small = {"epoch": state.epoch, "step": state.step, "rng_state": state.rng_state,
             "history": sorted(state.history)}
    meta = {"format": FORMAT, "version": VERSION, "config": config, "state": small}
    arrays = {f"param_{k}": v for k, v in params.items()}
    arrays.update({f"velocity_{k}": v for k, v in velocity.items()})
    arrays.update({f"series_{k}": np.asarray(v, dtype=np.float64) for k, v in series.items()})
    buf = io.BytesIO()
    np.savez(buf, meta=np.array(json.dumps(meta)), **arrays)
    return atomic_write(path, lambda f: f.write(buf.getvalue()))


def load_checkpoint(path) -> tuple[dict, dict, TrainState, dict]:
    """(params, velocity, state, config) from a checkpoint written by ``save_checkpoint``.

    Everything that can be checked without the run is: the format, the state's numbers, the
    RNG state, the lengths of the series, the arrays' types and shapes (``restore`` checks
    the rest against the model, the optimizer and the data)."""
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
    small, config = meta.get("state"), meta.get("config")
    if not isinstance(small, dict) or not isinstance(config, dict):
        raise bad("its state or config is not a table")
    if set(small) != {"epoch", "step", "rng_state", "history"}:
        raise bad(f"its state holds {sorted(small)}, expected epoch, step, rng_state and history")
    epoch, step = small["epoch"], small["step"]
    if not (_whole(epoch) and epoch >= 0 and _whole(step) and step >= 0):
        raise bad(f"epoch {epoch!r} and step {step!r} must be whole numbers >= 0")
    if small["rng_state"] is not None:
        _check_rng_state(small["rng_state"], bad)
    names = small["history"]
    if not (isinstance(names, list) and all(isinstance(k, str) for k in names)
            and set(names) <= HISTORY_FIELDS):
        raise bad(f"its history names {names!r} are not fields of a training history")
    series = {}
    for k in ("epoch_losses", "epoch_accs", *(f"history_{n}" for n in names)):
        a = arrays.get(f"series_{k}")
        if a is None:
            raise bad(f"series {k} is missing")
        if a.ndim != 1 or a.dtype.kind != "f":
            raise bad(f"series {k} is {a.dtype} {a.shape}, expected a 1-D float array")
        series[k] = a.tolist()
    extra = [k for k in arrays if k.startswith("series_") and k[7:] not in series]
    if extra:
        raise bad(f"unknown series {', '.join(k[7:] for k in extra)}")
    if not len(series["epoch_losses"]) == len(series["epoch_accs"]) == step:
        raise bad(f"{len(series['epoch_losses'])} losses and {len(series['epoch_accs'])} accuracies "
                  f"for the {step} steps done in this epoch")
    history = {n: series[f"history_{n}"] for n in names}
    for n, values in history.items():
        if n in EPOCH_FIELDS and len(values) != epoch and not (n in ("val_loss", "val_acc") and not values):
            raise bad(f"history {n} has {len(values)} values for {epoch} epochs done")
    state = TrainState(epoch, step, small["rng_state"], series["epoch_losses"], series["epoch_accs"],
                       history)
    params = {k[6:]: v for k, v in arrays.items() if k.startswith("param_")}
    velocity = {k[9:]: v for k, v in arrays.items() if k.startswith("velocity_")}
    unknown = [k for k in arrays if not k.startswith(("param_", "velocity_", "series_"))]
    if set(params) != {"W", "b"} or unknown:
        raise bad(f"checkpoint arrays are {sorted(arrays)}, expected param_W, param_b, "
                  "velocities and series")
    for kind, group in (("weights", params), ("velocity", velocity)):
        for k, v in group.items():
            if v.dtype.kind != "f" or not np.isfinite(v).all():
                raise bad(f"checkpoint {kind} {k} not finite floats ({v.dtype})")
    for k, v in velocity.items():
        if k not in params or v.shape != params[k].shape:
            raise bad(f"velocity {k} has shape {v.shape}, its weights "
                      f"{params[k].shape if k in params else 'do not exist'}")
    return params, velocity, state, config


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


def restore(path, model, optimizer, config: dict, n_train: int | None = None) -> TrainState:
    """Load the checkpoint at ``path`` into ``model`` and ``optimizer``; the state to resume from.

    ``n_train``: the size of the training split, so the step in the epoch is checked too."""
    params, velocity, state, saved = load_checkpoint(path)
    if saved != config:
        raise CheckpointError(f"{path} was written with other settings ({saved}); "
                              "resume with the settings it was made with")
    fix = "start the run again without --resume"
    for key, target in ((k, model.params[k]) for k in params):
        if params[key].shape != target.shape:
            raise CheckpointError(f"{path}: {key} has shape {params[key].shape}, expected {target.shape}")
    expected = set(optimizer.velocity)  # every weight with momentum, none without
    if set(velocity) != expected:
        raise CheckpointError(f"{path}: velocities {sorted(velocity) or 'none'}, the optimizer keeps "
                              f"{sorted(expected) or 'none'} (momentum {optimizer.momentum:g}); {fix}")
    epochs = config.get("epochs")
    if _whole(epochs) and (state.epoch > epochs or state.step and state.epoch >= epochs):
        raise CheckpointError(f"{path}: epoch {state.epoch} (step {state.step}) is past the run's "
                              f"{epochs} epochs; {fix}")
    batch = config.get("batch_size")
    if n_train is not None and _whole(batch) and batch > 0:
        n_iter = num_batches(n_train, batch)
        if state.step > n_iter:
            raise CheckpointError(f"{path}: step {state.step} is past the {n_iter} steps of an "
                                  f"epoch; {fix}")
        for n in ("iter_loss", "iter_acc"):
            if n in state.history and len(state.history[n]) != state.epoch * n_iter:
                raise CheckpointError(f"{path}: history {n} has {len(state.history[n])} values for "
                                      f"{state.epoch} epochs of {n_iter} steps; {fix}")
    if state.rng_state is None and (state.step or state.epoch):
        raise CheckpointError(f"{path}: no RNG state for a run past its start; {fix}")
    for key, target in ((k, model.params[k]) for k in params):
        target[...] = params[key]
    for key, v in velocity.items():
        optimizer.velocity[key] = v.astype(model.params[key].dtype)
    return state
