"""Where a sweep's second half trains: a forked process, a spawned one, or this one in turn.

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
import sys
import time
from pathlib import Path

import numpy as np

from softmax_mnist.core.data import NUM_CLASSES, NUM_FEATURES

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
    from softmax_mnist.core.loop import Hooks, _fit_part

    data, configs = _probe_data(), _probe_configs()
    _fit_part(_half(configs), data, Hooks(), None)  # warm, as the parent is
    conn.send("ready")
    for _ in range(2):
        conn.recv()
        _fit_part(_half(configs), data, Hooks(), None)
        conn.send("done")
    conn.close()


def calibrate(method: str) -> dict:
    """Measure on this machine: ``alone``, seconds for one half of the probe stack in this
    process; ``together``, the seconds until both halves are done, each in its own process
    at once; ``startup``, seconds to start the second process until it is ready. A second
    that fails to start gives ``together`` = inf (never split)."""
    from softmax_mnist.core.loop import Hooks, _fit_part

    data, configs = _probe_data(), _probe_configs()
    _fit_part(_half(configs), data, Hooks(), None)  # warm-up: first calls, page faults
    alone = []
    for _ in range(2):
        t = time.perf_counter()
        _fit_part(_half(configs), data, Hooks(), None)
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
            _fit_part(_half(configs), data, Hooks(), None)
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
