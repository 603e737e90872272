"""The study: which settings to train, with which seeds and controls -> results.json.

A plan is a list of ``(name, group, TrainConfig)``, names ``<setting>@s<seed>``
(results.py). ``run_study`` trains it on one ``Splits`` and returns the results dict of
docs/results-schema.md. Runs that share the data, batch size, epochs and seed and differ only
in optimizer numbers train side by side in one stacked pass (loop.fit_stacked); such a run has no
time of its own, so every reported time comes from ``timing.py``, measured apart.
The test split is only reported, for the final models (the course's settings and the best
preset, or a sweep's best setting): every choice is made from validation numbers.
No plotting and no printing here: progress goes to the ``log`` callable.
"""

from __future__ import annotations

import copy
import io
import itertools
import json
import math
import os
import platform
import shutil
import subprocess
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from softmax_mnist import __version__
from softmax_mnist.core.config import TrainConfig, check_names
from softmax_mnist.core.data import NUM_CLASSES, VAL_SIZE, Splits, load_raw, load_splits
from softmax_mnist.core.loop import STACK_FIELDS, Hooks, evaluate, fit_stacked
from softmax_mnist.core.presets import preset
from softmax_mnist.errors import ConfigError, DivergenceError
from softmax_mnist.fileio import atomic_write, atomic_write_json
from softmax_mnist.study import results as rs
from softmax_mnist.study import timing
from softmax_mnist.study.checkpoint import CheckpointError, load_checkpoint, restore, save_checkpoint
from softmax_mnist.study.modelfile import save_model
from softmax_mnist.study.run import read_json, train_model

Log = Callable[[str], None] | None

SEEDS = 3
LRS = (0.001, 0.005, 0.01, 0.05, 0.1, 0.5)
BATCH_SIZES = (10, 20, 50, 100, 200, 500, 1000)
BATCH_EPOCHS = 5  # the batch-size and heat-map runs: 7 batch sizes x 6 rates x 3 seeds
QUICK = {"n_train": 5000, "n_val": 1000, "n_test": 2000, "epochs": 2,
         "lrs": (0.001, 0.01, 0.1, 0.5), "batch_sizes": (10, 50, 200, 1000)}
MAX_GRID_RUNS = 200
# the final models: the only runs whose test accuracy is measured (and, in a sweep, the best)
FINAL = (rs.BASELINE, rs.REFERENCE, rs.NESTEROV, rs.BEST, rs.BEST_SHORT)
# the best preset's ablation: each part switched off in turn, on the validation split
ABLATION = {"no-deskew": {"deskew": False}, "no-ink-size": {"ink_size": 0.0},
            "no-blur": {"blur_sigma": 0.0}, "no-decay": {"lr_decay": "none"},
            "no-transform": {"deskew": False, "ink_size": 0.0, "blur_sigma": 0.0}}


# ---- one run -------------------------------------------------------------------------------


def _train(name: str, group: str, config: TrainConfig, data: Splits, log: Log = None,
           checkpoint_file=None, stop=None, progress=None, trainer=None):
    """Train one setting; returns (run entry, model or None when it diverged).

    With ``checkpoint_file``, the run checkpoints there and resumes from it when the file
    holds this same setting (an interrupted study). ``trainer``: see run_study.
    """
    resume = checkpoint_file is not None and _holds(checkpoint_file, [config])
    start = time.perf_counter()
    try:
        if trainer is not None:  # no checkpoint: its run restarts when interrupted
            model, hist = trainer(config, data, log, progress=progress, stop=stop)
        else:
            model, hist = train_model(config, data, log, checkpoint_file=checkpoint_file, stop=stop,
                                      resume=resume, progress=progress)
        error = None
    except DivergenceError as e:
        model, hist, error = None, e.history, str(e)
    entry = _entry(name, group, config, data, model, hist, error)
    entry["seconds"] = time.perf_counter() - start
    entry["seconds_per_epoch"] = (sum(hist.epoch_time) / len(hist.epoch_time)
                                  if hist.epoch_time else None)
    return entry, model


def _train_stacked(items, data: Splits, log: Log = None, pass_id: int = 0, progress=None,
                   checkpoint_file=None, stop=None) -> dict:
    """Train settings that differ only in optimizer numbers in one pass (loop.fit_stacked).

    ``items``: (name, group, config) sharing seed, batch size, epochs, schedule and data.
    Returns {name: (entry, model)}. Their entries have no time of their own: ``pass`` names
    the pass and ``stacked_with`` the runs that shared it. With ``checkpoint_file`` the pass
    checkpoints there, and resumes from it when it holds these same settings.
    """
    configs = [c for _, _, c in items]
    saved = [c.to_dict() for c in configs]
    hooks = Hooks(log=log, progress=progress, stop=stop)
    state = None
    if checkpoint_file is not None:
        if _holds(checkpoint_file, configs):
            state = restore(checkpoint_file, saved, (data.x_train.shape[1], len(configs) * NUM_CLASSES),
                            n_train=len(data.x_train))
        hooks.checkpoint = lambda st: save_checkpoint(checkpoint_file, st, saved)
    results = fit_stacked(configs, data, hooks, state)
    out = {}
    names = [name for name, _, _ in items]
    for (name, group, config), r in zip(items, results):
        model = None if r.diverged else r.model
        entry = _entry(name, group, config, data, model, r.history, r.diverged)
        entry.update({"pass": pass_id, "stacked_with": names, "seconds": None,
                      "seconds_per_epoch": None})
        out[name] = entry, model
    return out


def _stack_key(c: TrainConfig) -> tuple:
    """What runs of one pass share: what fit_stacked needs them to (STACK_FIELDS), and the data."""
    return (*(getattr(c, f) for f in STACK_FIELDS), c.preprocess, c.val_size,
            json.dumps(c.transform(), sort_keys=True))


def _stack_buckets(plan, skip) -> list[list]:
    """Groups of 2+ runs of ``plan`` that can train in one stacked pass.

    Runs stack when they share everything but the optimizer numbers (so the same init and
    batches), whatever their group. ``skip``: names done. An identical setting is not
    trained twice: it is copied from its first run.
    """
    buckets: dict[tuple, list] = {}
    seen = set()
    for name, group, c in plan:
        repeat = c in seen
        seen.add(c)
        if repeat or name in skip:
            continue
        buckets.setdefault(_stack_key(c), []).append((name, group, c))
    return [b for b in buckets.values() if len(b) > 1]


def _entry(name, group, config, data, model, hist, error) -> dict:
    """The run entry of results-schema.md from a trained ``model`` (None if it diverged)."""
    h = {k: [float(v) for v in getattr(hist, k)] for k in rs.HISTORY_KEYS}
    if error:  # keep whole epochs only, so every list has one value per completed epoch
        done = len(h["val_acc"]) if len(data.x_val) else len(h["train_loss"])
        h = {k: v[:done] for k, v in h.items()}
    epochs_to = {}
    for t in rs.THRESHOLDS:
        e = next((i for i, a in enumerate(h["val_acc"]) if a >= t), None)
        epochs_to[rs.key(t)] = None if e is None else e + 1
    good = error is None
    train = evaluate(model, data.x_train, data.y_train) if good else (None, None)
    # which validation images it gets right: the report pairs settings image by image
    correct = (rs.pack_correct(model.predict(data.x_val) == data.y_val)
               if good and len(data.x_val) else None)
    return {
        "name": name, "setting": rs.setting_name(name), "group": group,
        "config": config.to_dict(), "status": "ok" if good else "diverged", "error": error,
        "history": h, "epochs_to": epochs_to,
        "final_train_acc": train[1], "final_train_loss": train[0],  # after training
        "final_val_acc": h["val_acc"][-1] if good and h["val_acc"] else None,
        "final_val_loss": h["val_loss"][-1] if good and h["val_loss"] else None,
        "test_acc": None, "test_loss": None,  # final models only, filled in by run_study
        "val_correct": correct,
    }


def config_of(entry: dict) -> TrainConfig:
    return TrainConfig.from_dict(entry["config"])


def _holds(checkpoint_file, configs: list[TrainConfig]) -> bool:
    """True when ``checkpoint_file`` exists and was written by the runs of ``configs``."""
    try:
        return load_checkpoint(checkpoint_file)[1] == [c.to_dict() for c in configs]
    except CheckpointError:
        return False


def run_one(name: str, group: str, config: TrainConfig, data: Splits, log: Log = None) -> dict:
    """Train ``config`` on ``data`` and return its run entry (results-schema.md), with its
    test accuracy (a single run is its own final model).

    A DivergenceError is caught: status "diverged", its message in ``error``, the epochs
    completed before it in ``history``, and null final/test metrics.
    """
    entry, model = _train(name, group, config, data, log)
    if model is not None and len(data.x_test):
        entry["test_loss"], entry["test_acc"] = evaluate(model, data.x_test, data.y_test)
    return entry


# ---- plans ---------------------------------------------------------------------------------


def study_plan(quick: bool = False, seed: int = 0, seeds: int = SEEDS
               ) -> list[tuple[str, str, TrainConfig]]:
    """The course study, every setting with ``seeds`` seeds (seed, seed + 1, ...):

    momentum   plain SGD, momentum 0.9, Nesterov 0.9 (lr 0.01, batch 100), and the
               equal-step controls: plain SGD at lr 0.01 / (1 - 0.9) = 0.1, and momentum 0.9
               at lr 0.001 (the effective step of plain SGD at 0.01)
    lr         six learning rates with momentum 0.9
    batch_size seven batch sizes at lr 0.01, and with lr scaled as 0.01 * batch / 100
               plain SGD at lr 1 and 5 (the effective steps of momentum 0.9 at lr 0.1 and 0.5)
    lr_batch   every learning rate at every batch size (the heat map; first seed only)
    preset     the best preset, its ablation, and the preset at 10 epochs (not in quick)
    """
    epochs = QUICK["epochs"] if quick else 10
    base = TrainConfig(epochs=epochs, batch_size=100, lr=0.01, momentum=0.0, seed=seed,
                       val_size=QUICK["n_val"] if quick else VAL_SIZE)
    m9 = replace(base, momentum=0.9)
    lrs = QUICK["lrs"] if quick else LRS
    sizes = QUICK["batch_sizes"] if quick else BATCH_SIZES
    bs_epochs = epochs if quick else BATCH_EPOCHS
    settings = [(rs.BASELINE, "momentum", base), (rs.REFERENCE, "momentum", m9),
                (rs.NESTEROV, "momentum", replace(m9, nesterov=True)),
                (rs.CONTROL, "momentum", replace(base, lr=round(base.lr / (1 - m9.momentum), 6))),
                (rs.CONTROL_SMALL, "momentum", replace(m9, lr=round(base.lr * (1 - m9.momentum), 6)))]
    settings += [(f"lr-{lr:g}", "lr", replace(m9, lr=lr)) for lr in lrs]
    for bs in sizes:
        b = replace(m9, batch_size=bs, epochs=bs_epochs)
        settings += [(f"bs-{bs}", "batch_size", b),
                     (f"bs-{bs}-scaled", "batch_size", replace(b, lr=round(b.lr * bs / 100, 6)))]
    heat = [(f"lr-{lr:g}-bs-{bs}", "lr_batch", replace(m9, lr=lr, batch_size=bs, epochs=bs_epochs))
            for bs in sizes for lr in lrs]
    # plain SGD at the effective steps of momentum 0.9 at the lr group's two largest rates
    # (lr 0.1 and 0.5: steps 1 and 5): is momentum's own gain near the stability limit?
    settings += [(name, "momentum", replace(base, lr=round(lr / (1 - m9.momentum), 6)))
                 for name, lr in zip(rs.CONTROLS_LARGE, lrs[-2:])]
    best = TrainConfig.from_dict({**preset("best"), "seed": seed, "val_size": base.val_size})
    if quick:
        best = replace(best, epochs=epochs)
    # the best preset, its ablation, and the preset trained for the course's epochs
    settings.append((rs.BEST, "preset", best))
    settings += [(f"{rs.BEST}-{k}", "preset", replace(best, **off)) for k, off in ABLATION.items()]
    if not quick:
        settings.append((rs.BEST_SHORT, "preset", replace(best, epochs=epochs)))
    plan = [(rs.run_name(n, seed + k), g, replace(c, seed=seed + k))
            for k in range(seeds) for n, g, c in settings]
    # the heat map with the first seed only (it is read for its trend; the batch-size group
    # above has its seeds): it triples the cost of the small batches otherwise
    plan += [(rs.run_name(n, seed), g, replace(c, seed=seed)) for n, g, c in heat]
    return plan


def timing_plan(plan, runs: list[dict] | None = None) -> dict[str, TrainConfig]:
    """The settings whose epoch time the study measures (interleaved, timing.epoch_times):
    in a study, the momentum settings and each batch size; in a sweep, one per distinct
    batch size and optimizer kind (what changes the time of an epoch). First seed only.
    With the study's ``runs``, a setting that diverged is never timed (another of its kind is)."""
    seed0 = min(c.seed for _, _, c in plan)
    diverged = {r["name"] for r in runs or () if r.get("status") != "ok"}
    first = [(rs.setting_name(n), g, c) for n, g, c in plan if c.seed == seed0 and n not in diverged]
    out: dict[str, TrainConfig] = {}
    kinds = set()
    for name, group, c in first:
        if group == "momentum" and name in (rs.BASELINE, rs.REFERENCE, rs.NESTEROV) or \
                group == "batch_size" and not name.endswith("-scaled"):
            out[name] = c
        elif group == "grid":
            kind = (c.batch_size, c.momentum > 0, c.nesterov, c.weight_decay > 0)
            if kind not in kinds and len(out) < 8:
                kinds.add(kind)
                out[name] = c
    return out


def grid_plan(spec: dict, seed: int = 0) -> list[tuple[str, str, TrainConfig]]:
    """Every combination of a sweep file's ``[grid]`` lists, with its ``[fixed]`` settings.

        seeds = 3                  (optional: each setting with seeds seed, seed + 1, ...)
        [grid]                     [fixed]
        lr = [0.01, 0.1]           epochs = 5
        momentum = [0, 0.9]

    Settings are named ``lr=0.01,momentum=0.9`` (runs ``...@s0``) in file order. ``seed`` is
    used unless the file sets one. ``preprocess`` and ``val_size`` (which change the data) may
    only be fixed. At most MAX_GRID_RUNS runs.
    """
    unknown = sorted(set(spec) - {"grid", "fixed", "data_dir", "seeds"})
    if unknown:
        raise ConfigError(f"unknown key(s) {', '.join(unknown)} in the sweep file; "
                          "it has a [grid] table of lists and an optional [fixed] table")
    grid, fixed = spec.get("grid"), spec.get("fixed", {})
    seeds = spec.get("seeds", 1)
    if not isinstance(seeds, int) or isinstance(seeds, bool) or not 1 <= seeds <= 10:
        raise ConfigError(f"seeds must be a whole number in 1..10, got {seeds!r}")
    if not isinstance(grid, dict) or not grid:
        raise ConfigError("the sweep file needs a [grid] table of lists, e.g. [grid] lr = [0.01, 0.1]")
    if not isinstance(fixed, dict):
        raise ConfigError("fixed must be a table: [fixed] epochs = 5")
    for table, d in (("grid", grid), ("fixed", fixed)):
        try:
            check_names(d)
        except ConfigError as e:
            raise ConfigError(f"[{table}]: {e}") from None
    for k, values in grid.items():
        if k in ("preprocess", "val_size"):
            raise ConfigError(f"grid.{k} cannot vary (all runs share one data split); "
                              f"move it to [fixed]")
        if k in fixed:
            raise ConfigError(f"{k} is in both [grid] and [fixed]; keep one")
        if not isinstance(values, list) or not values:
            raise ConfigError(f"grid.{k} must be a non-empty list, e.g. {k} = [a, b]")
        if len(set(map(repr, values))) < len(values):
            raise ConfigError(f"grid.{k} lists a value twice: {values}")
    if "seed" in grid and seeds > 1:
        raise ConfigError("give either seeds = N or a list of seeds in [grid], not both")
    n = math.prod(len(v) for v in grid.values()) * seeds
    if n > MAX_GRID_RUNS:
        sizes = " x ".join([f"{len(v)} {k}" for k, v in grid.items()]
                           + ([f"{seeds} seeds"] if seeds > 1 else []))
        raise ConfigError(f"the grid has {n} runs ({sizes}); at most {MAX_GRID_RUNS}, "
                          "shorten the lists")
    try:
        base = TrainConfig.from_dict({"seed": seed, **fixed})
    except ConfigError as e:
        raise ConfigError(f"[fixed]: {e}") from None
    plan = []
    for k in range(seeds):
        for combo in itertools.product(*grid.values()):
            setting = dict(zip(grid, combo))
            name = ",".join(f"{key}={v:g}" if isinstance(v, float) else f"{key}={v}"
                            for key, v in setting.items() if key != "seed")
            try:
                c = replace(base, **setting)
                c = replace(c, seed=c.seed + k)
            except ConfigError as e:
                raise ConfigError(f"grid run {name}: {e}") from None
            plan.append((rs.run_name(name or "seed", c.seed), "grid", c))
    return plan


# ---- data ----------------------------------------------------------------------------------


def load_study_data(data_dir, plan, quick: bool = False) -> tuple[Splits, np.ndarray]:
    """The splits a plan trains on, and the uint8 test images (N, 28, 28) for examples.npz.

    ``quick`` keeps the first QUICK n_train / n_test images (the plan sets val_size).
    """
    plain = [c for _, _, c in plan if c.transform() is None] or [c for _, _, c in plan]
    cfgs = {(c.val_size, c.preprocess) for c in plain}
    if len(cfgs) != 1:
        raise ConfigError("all runs of a plan must share val_size and preprocess")
    data = data_loader(data_dir, quick)(plain[0])
    images = load_raw(data_dir, "t10k")[0]
    return data, images[: len(data.x_test)]


def data_loader(data_dir, quick: bool = False, progress=None) -> Callable[[TrainConfig], Splits]:
    """A function giving the splits a config trains on (its val_size, preprocessing and image
    transform), each loaded once; ``quick`` keeps the first QUICK n_train / n_test images."""
    cache: dict = {}

    def splits_for(c: TrainConfig) -> Splits:
        key = (c.val_size, c.preprocess, json.dumps(c.transform(), sort_keys=True))
        if key not in cache:
            data = load_splits(data_dir, c.val_size, c.preprocess, c.transform(), progress)
            if quick:
                n, t = QUICK["n_train"], QUICK["n_test"]
                data = replace(data, x_train=data.x_train[:n], y_train=data.y_train[:n],
                               x_test=data.x_test[:t], y_test=data.y_test[:t])
            cache[key] = data
        return cache[key]

    return splits_for


# ---- the study -----------------------------------------------------------------------------


CPUINFO = Path("/proc/cpuinfo")


def _cpu_from_cpuinfo() -> str | None:  # Linux
    for line in CPUINFO.read_text(encoding="utf-8", errors="replace").splitlines():
        key, _, value = line.partition(":")
        if key.strip() in ("model name", "Hardware", "cpu model"):
            return value
    return None


def _cpu_from_sysctl() -> str | None:  # macOS (the brand string), the BSDs (hw.model)
    sysctl = shutil.which("sysctl") or "/usr/sbin/sysctl"
    for key in ("machdep.cpu.brand_string", "hw.model"):
        out = subprocess.run([sysctl, "-n", key], capture_output=True, encoding="utf-8",
                             errors="replace", timeout=5, stdin=subprocess.DEVNULL)
        if out.returncode == 0 and out.stdout.strip():
            return out.stdout
    return None


def _cpu_from_registry() -> str | None:  # Windows
    import winreg

    key = r"HARDWARE\DESCRIPTION\System\CentralProcessor\0"
    with winreg.OpenKey(winreg.HKEY_LOCAL_MACHINE, key) as k:
        return winreg.QueryValueEx(k, "ProcessorNameString")[0]


def cpu_name() -> str:
    """The CPU's model name, from whichever source this system has: /proc/cpuinfo, sysctl, the
    Windows registry or PROCESSOR_IDENTIFIER; else what the platform module knows."""
    for probe in (_cpu_from_cpuinfo, _cpu_from_sysctl, _cpu_from_registry,
                  lambda: os.environ.get("PROCESSOR_IDENTIFIER")):
        try:
            name = " ".join(str(probe() or "").split())
        except (OSError, ImportError, subprocess.SubprocessError, ValueError):
            continue
        if name:
            return name
    return platform.processor() or platform.machine() or "?"


def _machine() -> dict:
    import typst

    return {"cpu": cpu_name(), "cores": os.cpu_count(), "python": platform.python_version(),
            "numpy": np.__version__, "typst": getattr(typst, "__version__", "?")}


def best_run(runs: list[dict]) -> str | None:
    """Name of the run with the highest final validation accuracy (first on ties); never diverged."""
    good = [r for r in runs if rs.ok(r)]
    return max(good, key=lambda r: r["final_val_acc"])["name"] if good else None


def _best_settings(results: dict) -> dict:
    """Per group, the setting with the highest mean validation accuracy over its seeds."""
    best = {}
    for g in results["groups"]:
        s = rs.best_setting(rs.summaries(results, g))
        best[g] = s.setting if s else None
    everything = [s for g in results["groups"] for s in rs.summaries(results, g)]
    s = rs.best_setting(everything)
    best["overall"] = s.setting if s else None
    return best


def check_plan(plan, data: Splits) -> None:
    """What can be checked of ``plan`` on ``data`` before any training or any folder is made:
    unique names, a validation split to choose on, batch sizes the training split can fill."""
    names = [name for name, _, _ in plan]
    if len(set(names)) != len(names):
        raise ConfigError(f"run names must be unique: {names}")
    if not len(data.x_val):
        raise ConfigError("the study chooses on the validation split; it needs val_size > 0")
    for name, _, c in plan:  # fail before minutes of training, not in the middle
        if c.batch_size > len(data.x_train):
            raise ConfigError(f"run {name}: batch size {c.batch_size} is larger than the "
                              f"{len(data.x_train):,} training images")


def _load() -> float | None:
    """The 1-minute load average, where the system reports one (not on Windows)."""
    return os.getloadavg()[0] if hasattr(os, "getloadavg") else None


def run_study(plan, data: Splits, log: Log = None, verbose: bool = False,
              meta: dict | None = None, models: dict | None = None,
              finished: dict | None = None, on_run: Callable[[list[dict]], None] | None = None,
              checkpoint_file=None, stop=None, stack: bool = True,
              data_for: Callable[[TrainConfig], Splits] | None = None,
              time_epochs: bool = True, progress=None, trainer=None) -> dict:
    """Train every ``(name, group, config)`` of ``plan``; the results dict of results-schema.md.

    ``log`` gets one line per pass or run (and per epoch when ``verbose``). A setting
    identical to an earlier one is not trained again: its entry is copied (training is
    deterministic). When ``models`` is a dict, each finished run's model is stored in it.
    Faults: ``finished`` maps names to entries already done (a resumed study skips them);
    ``on_run(entries)`` is called as each run or stacked pass ends; a run or a pass checkpoints to
    ``checkpoint_file`` and stops with Interrupted when ``stop()`` turns true. Speed: with
    ``stack``, runs that differ only in optimizer numbers train together (``_stack_buckets``).
    With ``time_epochs``, the settings of ``timing_plan`` are then timed apart (timing.py):
    the only times the report gives.
    ``progress(desc=, total=)`` (tqdm's signature) makes a bar per epoch of each run or pass.
    ``trainer(config, data, log, progress=, stop=) -> (model, History)`` trains each run instead
    of run.train_model (``study --impl``: a student's classes, impl.py); stacking is then off,
    since a stacked pass uses this package's own math. Timing stays this package's.
    """
    finished = finished or {}
    models = {} if models is None else models

    def splits(c: TrainConfig) -> Splits:  # runs with an image transform need their own data
        if c.transform() == data.transform:
            return data
        if data_for is None:
            raise ConfigError(f"a run with image transform {c.transform()} needs data_for=")
        return data_for(c)

    check_plan(plan, data)
    names = [name for name, _, _ in plan]
    buckets = _stack_buckets(plan, finished) if stack and trainer is None else []
    bucket_of = {name: i for i, b in enumerate(buckets) for name, _, _ in b}
    started = datetime.now(timezone.utc).isoformat(timespec="seconds")
    load = [_load()]  # how busy the machine was: the report says so beside its times
    start = time.perf_counter()
    entries: dict[str, dict] = {}
    done: dict[TrainConfig, str] = {}  # config -> the name of its first run
    seen: set = set()
    singles = 0
    for n, _, c in plan:  # the runs trained alone: not done, not a repeat, not stacked
        singles += n not in finished and n not in bucket_of and c not in seen
        seen.add(c)
    # the passes of the runs finished before a resume keep their ids; new ones follow on
    old = {e["pass"]: e.get("stacked_with", []) for e in finished.values() if e.get("pass")}
    passes = [{"id": k, "runs": old[k], "seconds": None, "before_resume": True} for k in sorted(old)]
    n_jobs, job = len(buckets) + singles, 0

    def record(*done):
        """Keep finished runs, each an (entry, model); a final model's test numbers are measured
        now, so that a resumed study has them too (a copy into another setting gets its own or
        none). The runs of one stacked pass are recorded together, in one on_run: a kill
        cannot keep some of them, which would retrain the rest in a smaller stack."""
        for entry, model in done:
            entry["test_loss"] = entry["test_acc"] = None
            if entry["setting"] in FINAL and model is not None and len(data.x_test):
                test = splits(config_of(entry))
                entry["test_loss"], entry["test_acc"] = evaluate(model, test.x_test, test.y_test)
            entries[entry["name"]] = entry
            if model is not None:
                models[entry["name"]] = model
        if on_run is not None:
            on_run([entry for entry, _ in done])

    for name, group, config in plan:
        if name in finished:
            entries[name] = finished[name]
            done.setdefault(config, name)
            continue
        if name in entries:
            continue  # trained in an earlier stacked pass
        if config in done and done[config] in entries:  # deterministic: copy, do not retrain
            first = entries[done[config]]
            record(({**copy.deepcopy(first), "name": name, "setting": rs.setting_name(name),
                     "group": group, "copy_of": first["name"]}, models.get(first["name"])))
            continue
        job += 1
        head = f"[{job:>{len(str(n_jobs))}}/{n_jobs}]"
        t0 = time.perf_counter()
        if name in bucket_of:
            bucket = buckets[bucket_of[name]]
            tag = f"pass {len(passes) + 1}"
            epoch_log = (lambda s, t=tag: log(f"  {t}: {s}")) if log and verbose else None
            pass_id = max((p["id"] for p in passes), default=0) + 1
            out = _train_stacked(bucket, splits(bucket[0][2]), epoch_log, pass_id, progress,
                                 checkpoint_file, stop)
            seconds = time.perf_counter() - t0
            passes.append({"id": pass_id, "runs": [n for n, _, _ in bucket], "seconds": seconds})
            for n, _, c in bucket:
                done.setdefault(c, n)
            record(*(out[n] for n, _, _ in bucket))
            if log:
                c = bucket[0][2]
                good = [out[n][0] for n, _, _ in bucket if out[n][0]["status"] == "ok"]
                top = max(good, key=lambda e: e["final_val_acc"], default=None)
                log(f"{head} {len(bucket)} settings in one pass (seed {c.seed}, batch "
                    f"{c.batch_size}, {c.epochs} epochs)"
                    + (f"  best val {top['final_val_acc']:.4f} ({top['setting']})" if top else "")
                    + f"  {seconds:.1f}s")
        else:
            epoch_log = (lambda s, n=name: log(f"  {n}: {s}")) if log and verbose else None
            entry, model = _train(name, group, config, splits(config), epoch_log,
                                  checkpoint_file, stop, progress, trainer)
            done.setdefault(config, name)
            record((entry, model))
            if log:
                what = (f"val {entry['final_val_acc']:.4f}" if entry["status"] == "ok" else
                        f"diverged after {len(entry['history']['val_acc'])} epoch(s)")
                log(f"{head} {name}  {what}  {time.perf_counter() - t0:.1f}s")
    runs = [entries[n] for n in names]
    train_seconds = time.perf_counter() - start
    groups: dict[str, list[str]] = {}
    for r in runs:
        groups.setdefault(r["group"], []).append(r["name"])
    results = {"runs": runs, "groups": groups}
    best = _best_settings(results)
    # the test split, once per final model: the course's settings and the best preset, or
    # in a sweep the best setting on validation
    for r in runs:  # a sweep's final model: its best setting (retrained if a resume lost it)
        if r["setting"] == best.get("grid") and rs.ok(r) and len(data.x_test):
            test = splits(config_of(r))
            model = model_of(r["name"], runs, models, splits, trainer)
            r["test_loss"], r["test_acc"] = evaluate(model, test.x_test, test.y_test)
    timed: dict = {}
    load.append(_load())
    t0 = time.perf_counter()
    if time_epochs:
        configs = timing_plan(plan, runs)
        if configs:
            if log:
                log(f"timing: {len(configs)} settings, {timing.ROUNDS} interleaved epochs each "
                    f"after {timing.WARMUP} warm-up")
            timed = {"epoch": timing.epoch_times(configs, data, stop=stop), "rounds": timing.ROUNDS,
                     "warmup": timing.WARMUP,
                     "step": timing.step_cost({rs.BASELINE: {}, rs.REFERENCE: {"momentum": 0.9},
                                               rs.NESTEROV: {"momentum": 0.9, "nesterov": True}})}
    timing_seconds = time.perf_counter() - t0
    ref_name = rs.run_name(rs.REFERENCE, plan[0][2].seed) if plan else None
    ref = ref_name if ref_name in entries and entries[ref_name]["status"] == "ok" else None
    if ref is None and best["overall"]:
        ref = next(r["name"] for r in runs if r["setting"] == best["overall"] and rs.ok(r))
    results_meta = {"version": __version__, "seed": plan[0][2].seed if plan else None,
                    "seeds": sorted({c.seed for _, _, c in plan}),
                    "quick": False, "data_dir": None, **(meta or {}),
                    "started": started, "train_seconds": train_seconds,
                    "timing_seconds": timing_seconds,
                    "machine": _machine(), "thresholds": list(rs.THRESHOLDS), "reference": ref,
                    **({"load": load} if None not in load else {})}
    results_meta.pop("data_dir", None)  # a path of this machine: not in the results
    cfg = plan[0][2] if plan else TrainConfig()
    setup = {"n_train": len(data.x_train), "n_val": len(data.x_val), "n_test": len(data.x_test),
             "preprocess": cfg.preprocess, "n_features": int(data.x_train.shape[1])}
    return {"meta": results_meta, "setup": setup, "runs": runs, "groups": groups,
            "best": best, "passes": passes, "timing": timed}


# ---- writing -------------------------------------------------------------------------------


def model_of(name: str, runs: list[dict], models: dict, data_for, trainer=None):
    """The trained model of run ``name`` (of ``runs``, the results' entries): from ``models``,
    else trained again as it was first trained, so with the same bits: in its stacked pass,
    side by side with the same settings (alone, a model differs in the last bits), or alone.
    A copy is its first run's model. ``data_for(config)``: the splits a config trains on."""
    by_name = {r["name"]: r for r in runs}
    name = by_name[name].get("copy_of") or name
    if models.get(name) is None:
        run = by_name[name]
        mates = run.get("stacked_with") or [name]
        data = data_for(config_of(run))
        if trainer is None and len(mates) > 1:
            out = _train_stacked([(n, by_name[n]["group"], config_of(by_name[n])) for n in mates],
                                 data)
            models.update({n: m for n, (_, m) in out.items() if m is not None})
        else:
            models[name] = (trainer or train_model)(config_of(run), data)[0]
    return models[name]


def _to_uint8_images(x: np.ndarray) -> np.ndarray:
    """Features (N, 784) -> (N, 28, 28) uint8, each image stretched to 0..255 (for display)."""
    lo, hi = x.min(axis=1, keepdims=True), x.max(axis=1, keepdims=True)
    return np.round(255 * (x - lo) / np.maximum(hi - lo, 1e-12)).astype(np.uint8).reshape(-1, 28, 28)


def examples(model, x_test: np.ndarray, y_test: np.ndarray, images: np.ndarray, k: int = 16) -> dict:
    """The arrays of examples.npz: test confusion matrix, most confident mistakes, most ambiguous."""
    proba = model.predict_proba(x_test)
    pred = proba.argmax(axis=1)
    confusion = np.zeros((10, 10), dtype=np.int64)
    np.add.at(confusion, (y_test, pred), 1)
    top2 = np.sort(proba, axis=1)[:, -2:]
    p_pred, margin = top2[:, 1], top2[:, 1] - top2[:, 0]
    wrong = np.flatnonzero(pred != y_test)
    mistakes = wrong[np.argsort(-p_pred[wrong], kind="stable")[:k]]
    ambiguous = np.argsort(margin, kind="stable")[:k]
    out = {"confusion": confusion,  # and each class's mean test image, for the weight templates
           "class_means": np.stack([images[y_test == c].mean(axis=0) if (y_test == c).any()
                                    else np.zeros(images.shape[1:]) for c in range(10)]
                                   ).astype(np.float32)}
    for prefix, idx in (("mistakes", mistakes), ("ambiguous", ambiguous)):
        out[f"{prefix}_images"] = images[idx]
        out[f"{prefix}_true"] = y_test[idx].astype(np.int64)
        out[f"{prefix}_pred"] = pred[idx].astype(np.int64)
        out[f"{prefix}_prob"] = p_pred[idx].astype(np.float32)
    out["ambiguous_margin"] = margin[ambiguous].astype(np.float32)
    # the three most frequent confusions, each with its most confident examples (for the report)
    off = confusion.copy()
    np.fill_diagonal(off, 0)
    pairs = [divmod(int(i), 10) for i in np.argsort(-off, axis=None, kind="stable")[:3]]
    per = 6
    picks = np.zeros((len(pairs), per, *images.shape[1:]), dtype=np.uint8)
    for row, (t, p) in enumerate(pairs):
        idx = np.flatnonzero((y_test == t) & (pred == p))
        idx = idx[np.argsort(-p_pred[idx], kind="stable")[:per]]
        picks[row, : len(idx)] = images[idx]
    out["confusion_pairs"] = np.array(pairs, dtype=np.int64).reshape(-1, 2)
    out["confusion_images"] = picks
    return out


def save_reference(out_dir, results: dict, data: Splits, model=None,
                   images: np.ndarray | None = None, trainer=None) -> str | None:
    """Write model.npz and examples.npz of the reference run (``results["meta"]["reference"]``).

    ``model`` is that run's trained model; when None it is trained again as it was (model_of:
    same seed, same pass, same weights), with ``trainer`` when given (run_study's).
    ``images``: the uint8 test images; when None they are drawn from ``x_test``. Returns the
    reference run's name, or None when there is none (every run diverged).
    """
    name = results["meta"].get("reference")
    if name is None:
        return None
    run = next(r for r in results["runs"] if r["name"] == name)
    config = TrainConfig.from_dict(run["config"])
    if model is None:  # in its stacked pass, as model_of does: the same bits
        model = model_of(name, results["runs"], {}, lambda _: data, trainer)
    out = Path(out_dir)
    save_model(out / "model.npz", model, data.preprocess, data.stats,
               extra={"config": config.to_dict(), "run": name})
    images = _to_uint8_images(data.x_test) if images is None else images
    arrays = examples(model, data.x_test, data.y_test, images)
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    atomic_write(out / "examples.npz", lambda f: f.write(buf.getvalue()))
    return name


def save_best(out_dir, results: dict, models: dict, data_for, trainer=None) -> str | None:
    """Write model-best.npz: the first seed's model of the best setting on validation (when it
    is not the reference already in model.npz; trained again with ``trainer`` when given and
    ``models`` lacks it). Returns that run's name, or None."""
    best = results["best"].get("overall")
    run = next((r for r in results["runs"] if r["setting"] == best and rs.ok(r)), None)
    if run is None or run["name"] == results["meta"].get("reference"):
        return None
    config = config_of(run)
    data = data_for(config)
    model = model_of(run["name"], results["runs"], models, data_for, trainer)
    save_model(Path(out_dir) / "model-best.npz", model, data.preprocess, data.stats,
               extra={"config": config.to_dict(), "run": run["name"]}, transform=data.transform)
    return run["name"]


# ---- progress of a study, for --resume -----------------------------------------------------


def save_progress(out_dir, progress: dict) -> None:
    """Write progress.json: the plan, its meta, and the entries of the runs finished so far."""
    data = {**progress, "plan": [[n, g, c.to_dict()] for n, g, c in progress["plan"]]}
    atomic_write_json(Path(out_dir) / "progress.json", rs.json_safe(data))


def load_progress(out_dir) -> dict:
    """Read progress.json back (plan as TrainConfigs); a ConfigError when there is none."""
    path = Path(out_dir) / "progress.json"
    try:
        data = read_json(path)  # a regular file of a sensible size: a FIFO would block
        data["plan"] = [(n, g, TrainConfig.from_dict(c)) for n, g, c in data["plan"]]
        if not ({"quick", "data_dir"} <= set(data["meta"]) and isinstance(data["finished"], dict)):
            raise KeyError("meta or finished")
    except FileNotFoundError:
        staged = Path(os.path.abspath(out_dir))
        staged = staged.with_name(staged.name + ".partial")
        if (staged / "progress.json").is_file():  # a --force study works beside the old one
            raise ConfigError(f"no progress.json in {out_dir}; the interrupted study is in "
                              f"{staged}: resume that folder") from None
        raise ConfigError(f"no progress.json in {out_dir}: nothing to resume (the study finished "
                          "or the folder is not a study)") from None
    except (OSError, ValueError, KeyError, TypeError, AttributeError, RecursionError) as e:
        why = str(e) if isinstance(e, OSError) and not e.errno else type(e).__name__
        raise ConfigError(f"{path} is unreadable ({why}); start the study again") from None
    # the finished runs go into results.json as they are: what a run cannot have made (an
    # accuracy of 5.0 or NaN, a name the plan does not have) is refused now, not in the report
    names = {n for n, _, _ in data["plan"]}
    try:
        if data["finished"]:
            rs.validate_results({"runs": list(data["finished"].values())})
    except rs.ResultsError as e:
        raise ConfigError(f"{path}: finished {e}; start the study again") from None
    odd = [k for k, e in data["finished"].items() if k not in names or e["name"] != k]
    if odd:
        raise ConfigError(f"{path}: finished run {odd[0]!r} is not a run of its plan; start the "
                          "study again")
    return data


def finish_progress(out_dir) -> None:
    """The study is complete: results.json replaces progress.json and the checkpoint."""
    for name in ("progress.json", "checkpoint.npz"):
        (Path(out_dir) / name).unlink(missing_ok=True)

