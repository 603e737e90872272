"""A sweep on two cores: all the process code. ``halves`` splits the settings (by the work
alone, so the bits never depend on the machine), ``fit_halves`` trains the second half in a
forked process, a spawned one, or this one in turn, and merges the halves at epoch ends.

Fork only where it is safe: where Python itself starts processes from a fork (its default
start method is fork or forkserver: Linux, the BSDs). macOS has fork but Python defaults to
spawn there (a forked child may crash in Accelerate's BLAS or the Objective-C runtime), and
Windows has no fork: there the second process is spawned, a fresh interpreter that imports
the package and receives the data, which costs a second or so.

Whether two processes pay is the machine's affair: two vCPUs are not always two cores'
worth of work (on an AMD EPYC VM 16 settings took 1.34 s split against 0.90 s in one
process). So it is measured once per machine and start method (``calibrate``: one half of a
16-setting stack alone, then both halves at once in two processes, and the start-up of a
process) and kept for a week in ``calibration.json`` in the user's cache folder (an hour when
other work kept every core busy as it was measured). A pass is split only where the measurement
says the split is faster; the bits are the same either way.
"""

from __future__ import annotations

import json
import multiprocessing as mp
import os
import platform
import re
import sys
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import numpy as np

from softmax_mnist.core.data import NUM_CLASSES, NUM_FEATURES
from softmax_mnist.core.loop import History, Hooks, TrainState, epoch_line
from softmax_mnist.core.optimizer import new_velocity

MAX_AGE = 7 * 86400  # seconds a measurement is kept: a machine busy that day is measured again
BUSY_AGE = 3600  # ... and one taken while other work kept every core busy, only an hour
SAVING = 0.9  # split only when it is expected to take at most this share of the time in turn
PROBE = (12000, 16, 100)  # images, settings, batch size: a one-epoch probe, about 0.2 s a half


def fork_is_safe() -> bool:
    """Python's default start method is fork or forkserver only where forking is safe."""
    if "fork" not in mp.get_all_start_methods():
        return False
    return mp.get_context().get_start_method() in ("fork", "forkserver")


def start_method() -> str | None:
    """How a second process starts here: "fork", "spawn", or None (one core: no second
    process)."""
    if (os.cpu_count() or 1) < 2:
        return None
    if fork_is_safe():
        return "fork"
    return "spawn" if "spawn" in mp.get_all_start_methods() else None


def cache_file() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or (
        os.environ.get("LOCALAPPDATA") if os.name == "nt" else None) or Path.home() / ".cache"
    return Path(base) / "softmax-mnist" / "calibration.json"


def machine_key(method: str) -> str:
    import numpy

    return (f"{platform.node()}|{platform.machine()}|{os.cpu_count()} cpus|python "
            f"{sys.version_info[0]}.{sys.version_info[1]}|numpy {numpy.__version__}|{method}")


def _probe_data():
    from types import SimpleNamespace

    n, _, _ = PROBE
    rng = np.random.default_rng(0)
    x = rng.random((n, NUM_FEATURES), dtype=np.float32) - np.float32(0.5)
    y = rng.integers(0, NUM_CLASSES, n)
    return SimpleNamespace(x_train=x, y_train=y, x_val=x[:500], y_val=y[:500])


def _probe_configs():
    from softmax_mnist.core.config import TrainConfig

    _, k, batch = PROBE
    return [TrainConfig(epochs=1, batch_size=batch, lr=0.01 * (1 + i % 4), momentum=0.3 * (i // 4) % 1.0)
            for i in range(k)]


def _half(configs):
    return configs[: len(configs) // 2]


def _probe_child(conn) -> None:
    from softmax_mnist.core.fit import fit_part

    data, configs = _probe_data(), _probe_configs()
    fit_part(_half(configs), data, Hooks(), None)  # warm, as the parent is
    conn.send("ready")
    for _ in range(2):
        conn.recv()
        fit_part(_half(configs), data, Hooks(), None)
        conn.send("done")
    conn.close()


def calibrate(method: str) -> dict:
    """Measure on this machine: ``alone``, seconds for one half of the probe stack in this
    process; ``together``, the seconds until both halves are done, each in its own process
    at once; ``startup``, seconds to start the second process until it is ready. A second
    that fails to start gives ``together`` = inf (never split)."""
    from softmax_mnist.core.fit import fit_part  # fit.py imports this module

    data, configs = _probe_data(), _probe_configs()
    fit_part(_half(configs), data, Hooks(), None)  # warm-up: first calls, page faults
    alone = []
    for _ in range(2):
        t = time.perf_counter()
        fit_part(_half(configs), data, Hooks(), None)
        alone.append(time.perf_counter() - t)
    ctx = mp.get_context(method)
    here, there = ctx.Pipe()
    t = time.perf_counter()
    child = ctx.Process(target=_probe_child, args=(there,), daemon=True)
    try:
        child.start()
        if not here.poll(120):
            raise TimeoutError
        here.recv()
        startup = time.perf_counter() - t
        together = float("inf")
        for _ in range(2):
            t = time.perf_counter()
            here.send("go")
            fit_part(_half(configs), data, Hooks(), None)
            here.recv()
            together = min(together, time.perf_counter() - t)
    except (OSError, EOFError, TimeoutError):
        startup, together = float("inf"), float("inf")
    finally:
        if child.is_alive():
            child.terminate()
        child.join()
    per_image = min(alone) / PROBE[0]
    return {"alone": min(alone), "together": together, "startup": startup,
            "seconds_per_image": per_image, "measured": time.time(), "busy": busy()}


def busy() -> bool:
    """Whether other work keeps every core busy now (the 1-minute load average at least the
    number of cores, where the system reports one): a split measured then says little."""
    return hasattr(os, "getloadavg") and os.getloadavg()[0] >= (os.cpu_count() or 1)


def calibration(method: str) -> dict:
    """This machine's measurement for ``method``, from the cache, else measured now and kept."""
    path, key = cache_file(), machine_key(method)
    try:
        saved = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(saved, dict):
            saved = {}
    except (OSError, ValueError):
        saved = {}
    entry = saved.get(key)
    if isinstance(entry, dict) and {"alone", "together", "startup", "measured"} <= set(entry) \
            and 0 <= time.time() - entry["measured"] < (BUSY_AGE if entry.get("busy") else MAX_AGE):
        return entry
    result = calibrate(method)
    saved[key] = result
    try:
        from softmax_mnist.fileio import atomic_write_json

        atomic_write_json(path, saved)
    except OSError:
        pass  # a read-only home: measured again next time
    return result


def second_process(work: int, settings: int) -> str | None:
    """The start method of a second process for a pass of ``work`` images x epochs over
    ``settings`` settings, or None when the halves should run one after the other here."""
    method = start_method()
    if method is None:
        return None
    c = calibration(method)
    if not (c["together"] < float("inf")):
        return None
    # one half of this pass, estimated from the probe's half (8 settings), in turn and split
    half = c["alone"] * work / PROBE[0] * max(settings / PROBE[1], 0.25)
    split = c["startup"] * (method != "fork") + half * c["together"] / c["alone"]
    return method if split <= SAVING * 2 * half else None


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


def fit_halves(fit_part: Callable, configs, parts, data, hooks: Hooks, state,
               method: str | None) -> list:
    """fit_stacked's pass in two halves of the settings (``parts``), each trained by
    ``fit_part(configs, data, hooks, state)`` (fit.fit_part); their Results, in order.
    ``method``: how the second half's process starts ("fork", "spawn"), or None: the halves
    one after the other in this process."""
    first, second = (configs[p] for p in parts)

    def bar(desc, **kw):  # a half's bar stands for the whole pass
        return hooks.progress(desc=re.sub(r"\d+ settings", f"{len(configs)} settings", desc), **kw)

    states = _split_state(state, parts) if state is not None else [None, None]

    def in_turn():  # the second half here, first: its epoch ends are kept for the merge
        ends = []
        hooks2 = Hooks(stop=hooks.stop, checkpoint=lambda st: st.step or ends.append(_copy(st)),
                       progress=hooks.progress and bar)
        done = fit_part(second, data, hooks2, states[1])
        return iter([("epoch", st) for st in ends] + [("done", done)]).__next__

    child = None
    if method is not None:
        ctx = mp.get_context(method)
        here, there = ctx.Pipe(duplex=False)
        sent = data if method == "fork" else _training_part(data)  # spawn: pickled, so no test split
        child = ctx.Process(target=_second_half, daemon=True, args=(fit_part, second, sent, states[1], there))
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
            hooks.log(epoch_line(st.epoch, first[0].epochs, hists, live, seconds))
        if hooks.on_epoch:
            hooks.on_epoch(st.epoch, [History(**h) for h in merged.histories],
                           lambda: merged.arrays)
        if hooks.checkpoint:
            hooks.checkpoint(merged)

    # the log's lines are the merged epoch lines of meet (no per-step lines when split)
    mine_hooks = Hooks(checkpoint=meet, stop=hooks.stop, progress=hooks.progress and bar)
    try:
        mine = fit_part(first, data, mine_hooks, states[0])
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


def _second_half(fit_part: Callable, configs, data, state, conn) -> None:
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
        conn.send(("done", fit_part(configs, data, hooks, state)))
    except BaseException as e:  # noqa: BLE001 - reported to the parent, which raises it
        conn.send(("error", e))
    finally:
        conn.close()


def _ended(results: list, configs) -> TrainState:
    """The state of a half whose settings all diverged before the other half's epoch end:
    their final weights (frozen), histories and notes, no velocity left."""
    arrays = {k: np.hstack([r.model.params[k] for r in results]) for k in ("W", "b")}
    velocity = new_velocity(arrays, [c.momentum for c in configs])
    arrays.update({f"velocity_{k}": v for k, v in velocity.items()})
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
