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

from softmax_mnist.errors import DataError, SoftmaxMnistError
from softmax_mnist.fileio import atomic_write
from softmax_mnist.modelfile import read_npz

FORMAT = "softmax-mnist-checkpoint"
VERSION = 1


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
    """(params, velocity, state, config) from a checkpoint written by ``save_checkpoint``."""
    path = Path(path)
    fix = "start the run again without --resume"
    if not path.is_file():
        raise CheckpointError(f"no checkpoint at {path}; {fix}")
    arrays = read_npz(path, lambda what: CheckpointError(f"{path}: {what}; {fix}"), names=None)
    try:
        meta = json.loads(str(arrays.pop("meta")))
        series = {k[7:]: arrays[k].tolist() for k in arrays if k.startswith("series_")}
        fields_ = {**meta["state"], "epoch_losses": series["epoch_losses"],
                   "epoch_accs": series["epoch_accs"],
                   "history": {k: series[f"history_{k}"] for k in meta["state"]["history"]}}
        state = TrainState(**fields_)
        config = meta["config"]
        ok = meta["format"] == FORMAT and meta["version"] == VERSION
    except (ValueError, KeyError, TypeError, RecursionError) as e:
        raise CheckpointError(f"{path}: unreadable checkpoint ({type(e).__name__}); {fix}") from None
    if not ok:
        raise CheckpointError(f"{path}: not a version-{VERSION} softmax-mnist checkpoint; {fix}")
    params = {k[6:]: v for k, v in arrays.items() if k.startswith("param_")}
    velocity = {k[9:]: v for k, v in arrays.items() if k.startswith("velocity_")}
    if set(params) != {"W", "b"} or not all(np.isfinite(v).all() for v in params.values()):
        raise CheckpointError(f"{path}: checkpoint weights missing or not finite; {fix}")
    return params, velocity, state, config


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


def restore(path, model, optimizer, config: dict) -> TrainState:
    """Load the checkpoint at ``path`` into ``model`` and ``optimizer``; the state to resume from."""
    params, velocity, state, saved = load_checkpoint(path)
    if saved != config:
        raise CheckpointError(f"{path} was written with other settings ({saved}); "
                              "resume with the settings it was made with")
    for key, target in ((k, model.params[k]) for k in params):
        if params[key].shape != target.shape:
            raise CheckpointError(f"{path}: {key} has shape {params[key].shape}, expected {target.shape}")
        target[...] = params[key]
    for key, v in velocity.items():
        optimizer.velocity[key] = v.astype(model.params[key].dtype)
    return state
