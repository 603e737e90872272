"""The study: momentum, learning-rate and batch-size comparisons, and user grids -> results.

A plan is a list of ``(name, group, TrainConfig)``; ``run_study`` trains each on one
``Splits`` and returns the results dict of docs/results-schema.md. Every run of a plan
shares the seed, so runs differ only in the swept setting (same init, same data order).
The test split is only reported: every choice (``best``, the thresholds, the reference
run) is made from validation numbers.

Times: ``seconds`` is the wall time of the run (training plus the per-epoch validation
pass); ``seconds_per_epoch`` and ``seconds_to`` count training passes only.
No plotting and no printing here: progress goes to the ``log`` callable.
"""

from __future__ import annotations

import copy
import csv
import io
import itertools
import json
import math
import os
import platform
import time
from collections.abc import Callable
from dataclasses import fields, replace
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from softmax_mnist import __version__
from softmax_mnist.checkpoint import CheckpointError, load_checkpoint
from softmax_mnist.config import TrainConfig
from softmax_mnist.datasets import Splits, load_raw, load_splits
from softmax_mnist.errors import ConfigError, DivergenceError
from softmax_mnist.fileio import atomic_write, atomic_write_json, atomic_write_text
from softmax_mnist.modelfile import save_model
from softmax_mnist.presets import preset
from softmax_mnist.runs import train_model
from softmax_mnist.solver import evaluate
from softmax_mnist.stacked import Setting, fit_stacked

Log = Callable[[str], None] | None

THRESHOLDS = (0.90, 0.92)
REFERENCE = "momentum-0.9"  # the course's second setting: its model and examples are saved
LRS = (0.001, 0.005, 0.01, 0.05, 0.1, 0.5)
BATCH_SIZES = (1, 10, 20, 50, 100, 200, 500, 1000)
BATCH_EPOCHS = 5  # bs=1 takes 7-8 s per epoch here: 5 epochs keep the full study near 1.5 min
QUICK = {"n_train": 5000, "n_val": 1000, "n_test": 2000, "epochs": 2,
         "lrs": (0.001, 0.01, 0.1, 0.5), "batch_sizes": (10, 50, 200, 1000)}
MAX_GRID_RUNS = 200
HISTORY_KEYS = ("train_loss", "train_acc", "val_loss", "val_acc", "epoch_time")
CSV_CONFIG = ("lr", "momentum", "nesterov", "weight_decay", "batch_size", "epochs", "seed")


def _key(t: float) -> str:
    return f"{t:.2f}"


# ---- one run -------------------------------------------------------------------------------


def _train(name: str, group: str, config: TrainConfig, data: Splits, log: Log = None,
           checkpoint_file=None, stop=None):
    """Train one setting; returns (run entry, model or None when it diverged).

    With ``checkpoint_file``, the run checkpoints there and resumes from it when the file
    holds this same setting (an interrupted study).
    """
    resume = checkpoint_file is not None and _holds(checkpoint_file, config)
    start = time.perf_counter()
    try:
        model, hist = train_model(config, data, log, checkpoint_file=checkpoint_file, stop=stop,
                                  resume=resume)
        error = None
    except DivergenceError as e:
        model, hist, error = None, e.history, str(e)
    return _entry(name, group, config, data, model, hist, error, time.perf_counter() - start), model


def _train_stacked(items, data: Splits, log: Log = None) -> dict:
    """Train settings that differ only in optimizer numbers in one pass (stacked.fit_stacked).

    ``items``: (name, group, config) sharing seed, batch size, epochs and data. Returns
    {name: (entry, model)}; ``seconds`` is the pass's time split evenly between them.
    """
    c0 = items[0][2]
    settings = [Setting(c.lr, c.momentum, c.nesterov, c.weight_decay) for _, _, c in items]
    start = time.perf_counter()
    results = fit_stacked(settings, data.x_train, data.y_train, data.x_val, data.y_val,
                          c0.epochs, c0.batch_size, c0.seed, log=log)
    seconds = (time.perf_counter() - start) / len(items)
    out = {}
    for (name, group, config), r in zip(items, results):
        r.history.epoch_time = [t / len(items) for t in r.history.epoch_time]  # each one's share
        model = None if r.diverged else r.model
        entry = _entry(name, group, config, data, model, r.history, r.diverged, seconds)
        entry["stacked_with"] = len(items)
        out[name] = entry, model
    return out


def _stack_buckets(plan, skip) -> list[list]:
    """Groups of 2+ runs of ``plan`` that can train in one stacked pass.

    Runs stack when they are in the same group and share everything but the optimizer
    numbers (so the same init and batches). The momentum group is never stacked: its
    point is to compare training time, which needs runs of their own. ``skip``: names done.
    """
    buckets: dict[tuple, list] = {}
    seen = set()
    for name, group, c in plan:
        repeat = c in seen  # an identical setting is copied from its first run, not trained again
        seen.add(c)
        if repeat or name in skip or group == "momentum" or c.lr_decay != "none":
            continue  # (fit_stacked keeps each learning rate fixed)
        key = (group, c.seed, c.batch_size, c.epochs, c.preprocess, c.val_size,
               json.dumps(c.transform(), sort_keys=True))
        buckets.setdefault(key, []).append((name, group, c))
    return [b for b in buckets.values() if len(b) > 1]


def _entry(name, group, config, data, model, hist, error, seconds) -> dict:
    """The run entry of results-schema.md from a trained ``model`` (None if it diverged)."""
    h = {k: [float(v) for v in getattr(hist, k)] for k in HISTORY_KEYS}
    if error:  # keep whole epochs only, so every list has one value per completed epoch
        done = len(h["val_acc"]) if len(data.x_val) else len(h["train_loss"])
        h = {k: v[:done] for k, v in h.items()}
    elapsed = np.cumsum(h["epoch_time"]).tolist()
    epochs_to, seconds_to = {}, {}
    for t in THRESHOLDS:
        e = next((i for i, a in enumerate(h["val_acc"]) if a >= t), None)
        epochs_to[_key(t)] = None if e is None else e + 1
        seconds_to[_key(t)] = None if e is None else elapsed[e]
    ok = error is None
    test = evaluate(model, data.x_test, data.y_test) if ok and len(data.x_test) else (None, None)
    entry = {
        "name": name, "group": group, "config": config.to_dict(),
        "status": "ok" if ok else "diverged", "error": error, "history": h,
        "seconds": seconds,
        "seconds_per_epoch": elapsed[-1] / len(elapsed) if elapsed else None,
        "epochs_to": epochs_to, "seconds_to": seconds_to,
        "final_val_acc": h["val_acc"][-1] if ok and h["val_acc"] else None,
        "final_val_loss": h["val_loss"][-1] if ok and h["val_loss"] else None,
        "test_acc": test[1], "test_loss": test[0],  # reported only, never used to choose
    }
    return entry


def _holds(checkpoint_file, config: TrainConfig) -> bool:
    """True when ``checkpoint_file`` exists and was written by a run of ``config``."""
    try:
        return load_checkpoint(checkpoint_file)[3] == config.to_dict()
    except CheckpointError:
        return False


def run_one(name: str, group: str, config: TrainConfig, data: Splits, log: Log = None) -> dict:
    """Train ``config`` on ``data`` and return its run entry (results-schema.md).

    A DivergenceError is caught: status "diverged", its message in ``error``, the epochs
    completed before it in ``history``, and null final/test metrics.
    """
    return _train(name, group, config, data, log)[0]


# ---- plans ---------------------------------------------------------------------------------


def study_plan(quick: bool = False, seed: int = 0) -> list[tuple[str, str, TrainConfig]]:
    """The course study: momentum 0 / 0.9 / Nesterov 0.9, an lr sweep, a batch-size sweep,
    and the most accurate setting (``--preset best``, its images transformed first)."""
    epochs = QUICK["epochs"] if quick else 10
    base = TrainConfig(epochs=epochs, batch_size=100, lr=0.01, momentum=0.0, seed=seed,
                       val_size=QUICK["n_val"] if quick else 5000)
    m9 = replace(base, momentum=0.9)
    plan = [("momentum-0", "momentum", base), ("momentum-0.9", "momentum", m9),
            ("nesterov-0.9", "momentum", replace(m9, nesterov=True))]
    plan += [(f"lr-{lr:g}", "lr", replace(m9, lr=lr)) for lr in (QUICK["lrs"] if quick else LRS)]
    bs_epochs = epochs if quick else BATCH_EPOCHS
    plan += [(f"bs-{bs}", "batch_size", replace(m9, batch_size=bs, epochs=bs_epochs))
             for bs in (QUICK["batch_sizes"] if quick else BATCH_SIZES)]
    best = TrainConfig.from_dict({**preset("best"), "seed": seed, "val_size": base.val_size})
    plan.append(("preset-best", "preset", replace(best, epochs=epochs) if quick else best))
    return plan


def grid_plan(spec: dict, seed: int = 0) -> list[tuple[str, str, TrainConfig]]:
    """Every combination of a sweep file's ``[grid]`` lists, with its ``[fixed]`` settings.

        [grid]                     [fixed]
        lr = [0.01, 0.1]           epochs = 5
        momentum = [0, 0.9]

    Runs are named ``lr=0.01,momentum=0.9`` and run in file order. ``seed`` is used unless
    the file sets one. ``preprocess`` and ``val_size`` (which change the data) may only be
    fixed. At most MAX_GRID_RUNS runs.
    """
    unknown = sorted(set(spec) - {"grid", "fixed", "data_dir"})
    if unknown:
        raise ConfigError(f"unknown key(s) {', '.join(unknown)} in the sweep file; "
                          "it has a [grid] table of lists and an optional [fixed] table")
    grid, fixed = spec.get("grid"), spec.get("fixed", {})
    if not isinstance(grid, dict) or not grid:
        raise ConfigError("the sweep file needs a [grid] table of lists, e.g. [grid] lr = [0.01, 0.1]")
    if not isinstance(fixed, dict):
        raise ConfigError("fixed must be a table: [fixed] epochs = 5")
    known = [f.name for f in fields(TrainConfig)]
    for table, d in (("grid", grid), ("fixed", fixed)):
        for k in d:
            if k not in known:
                raise ConfigError(f"{table}.{k} is not a setting; known: {', '.join(known)}")
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
    n = math.prod(len(v) for v in grid.values())
    if n > MAX_GRID_RUNS:
        sizes = " x ".join(f"{len(v)} {k}" for k, v in grid.items())
        raise ConfigError(f"the grid has {n} runs ({sizes}); at most {MAX_GRID_RUNS}, "
                          "shorten the lists")
    try:
        base = TrainConfig.from_dict({"seed": seed, **fixed})
    except ConfigError as e:
        raise ConfigError(f"[fixed]: {e}") from None
    plan = []
    for combo in itertools.product(*grid.values()):
        setting = dict(zip(grid, combo))
        name = ",".join(f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}"
                        for k, v in setting.items())
        try:
            plan.append((name, "grid", replace(base, **setting)))
        except ConfigError as e:
            raise ConfigError(f"grid run {name}: {e}") from None
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


def data_loader(data_dir, quick: bool = False) -> Callable[[TrainConfig], Splits]:
    """A function giving the splits a config trains on (its val_size, preprocessing and image
    transform), each loaded once; ``quick`` keeps the first QUICK n_train / n_test images."""
    cache: dict = {}

    def splits_for(c: TrainConfig) -> Splits:
        key = (c.val_size, c.preprocess, json.dumps(c.transform(), sort_keys=True))
        if key not in cache:
            data = load_splits(data_dir, c.val_size, c.preprocess, c.transform())
            if quick:
                n, t = QUICK["n_train"], QUICK["n_test"]
                data = replace(data, x_train=data.x_train[:n], y_train=data.y_train[:n],
                               x_test=data.x_test[:t], y_test=data.y_test[:t])
            cache[key] = data
        return cache[key]

    return splits_for


# ---- the study -----------------------------------------------------------------------------


def _machine() -> dict:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return {"cpu": cpu, "cores": os.cpu_count(), "python": platform.python_version(),
            "numpy": np.__version__}


def best_run(runs: list[dict]) -> str | None:
    """Name of the run with the highest final validation accuracy (first on ties); never diverged."""
    ok = [r for r in runs if r["status"] == "ok" and r["final_val_acc"] is not None]
    return max(ok, key=lambda r: r["final_val_acc"])["name"] if ok else None


def run_study(plan, data: Splits, log: Log = None, verbose: bool = False,
              meta: dict | None = None, models: dict | None = None,
              finished: dict | None = None, on_run: Callable[[dict], None] | None = None,
              checkpoint_file=None, stop=None, stack: bool = True,
              data_for: Callable[[TrainConfig], Splits] | None = None) -> dict:
    """Train every ``(name, group, config)`` of ``plan``; the results dict of results-schema.md.

    ``log`` gets one line per run (and per epoch when ``verbose``). A setting identical to an
    earlier one is not trained again: its entry is copied (training is deterministic).
    When ``models`` is a dict, each finished run's model is stored in it by name.
    Faults: ``finished`` maps names to entries already done (a resumed study skips them);
    ``on_run(entry)`` is called as each run ends; the run in progress checkpoints to
    ``checkpoint_file`` and stops with Interrupted when ``stop()`` turns true.
    Speed: with ``stack``, runs that differ only in lr, momentum, Nesterov or weight decay
    train together in one pass (``_stack_buckets``; their seconds are shares of that pass,
    and they restart rather than resume when interrupted).
    """
    finished = finished or {}

    def splits(c: TrainConfig) -> Splits:  # runs with an image transform need their own data
        if c.transform() == data.transform:
            return data
        if data_for is None:
            raise ConfigError(f"a run with image transform {c.transform()} needs data_for=")
        return data_for(c)

    bucket_of = {name: b for b in (_stack_buckets(plan, finished) if stack else [])
                 for name, _, _ in b}
    stacked: dict = {}
    names = [name for name, _, _ in plan]
    if len(set(names)) != len(names):
        raise ConfigError(f"run names must be unique: {names}")
    if not len(data.x_val):
        raise ConfigError("the study chooses on the validation split; it needs val_size > 0")
    for name, _, c in plan:  # fail before hours of training, not in the middle
        if c.batch_size > len(data.x_train):
            raise ConfigError(f"run {name}: batch size {c.batch_size} is larger than the "
                              f"{len(data.x_train):,} training images")
    started = datetime.now(timezone.utc).isoformat(timespec="seconds")
    start = time.perf_counter()
    runs, done, width = [], {}, max(map(len, names))
    for i, (name, group, config) in enumerate(plan, 1):
        if name in finished:
            entry, model, note = finished[name], None, "  (done before the resume)"
            done.setdefault(config, (entry, None))
        elif config in done:
            first = done[config]
            entry = {**copy.deepcopy(first[0]), "name": name, "group": group}
            model, note = first[1], f"  (same setting as {first[0]['name']})"
        elif name in bucket_of:
            if name not in stacked:
                bucket = bucket_of[name]
                tag = f"{name} +{len(bucket) - 1} stacked"
                epoch_log = (lambda s, t=tag: log(f"  {t}: {s}")) if log and verbose else None
                stacked.update(_train_stacked(bucket, splits(bucket[0][2]), epoch_log))
            entry, model = stacked[name]
            done[config], note = (entry, model), f"  (stacked: {entry['stacked_with']} in one pass)"
        else:
            epoch_log = (lambda s, n=name: log(f"  {n}: {s}")) if log and verbose else None
            entry, model = _train(name, group, config, splits(config), epoch_log, checkpoint_file,
                                  stop)
            done[config], note = (entry, model), ""
        if on_run is not None and name not in finished:
            on_run(entry)
        runs.append(entry)
        if models is not None and model is not None:
            models[name] = model
        if log:
            head = f"[{i:>{len(str(len(plan)))}}/{len(plan)}] {name:<{width}}"
            if entry["status"] == "ok":
                test = "" if entry["test_acc"] is None else f"  test {entry['test_acc']:.4f}"
                log(f"{head}  val {entry['final_val_acc']:.4f}{test}  "
                    f"{entry['seconds']:6.1f}s{note}")
            else:
                log(f"{head}  diverged after {len(entry['history']['val_acc'])} epoch(s)  "
                    f"{entry['seconds']:6.1f}s{note}")
    groups: dict[str, list[str]] = {}
    for r in runs:
        groups.setdefault(r["group"], []).append(r["name"])
    best = {g: best_run([r for r in runs if r["group"] == g]) for g in groups}
    best["overall"] = best_run(runs)
    ref = REFERENCE if any(r["name"] == REFERENCE and r["status"] == "ok" for r in runs) \
        else best["overall"]
    results_meta = {"version": __version__, "seed": plan[0][2].seed if plan else None,
                    "quick": False, "data_dir": None, **(meta or {}),
                    "started": started, "total_seconds": time.perf_counter() - start,
                    "machine": _machine(), "thresholds": list(THRESHOLDS), "reference": ref}
    cfg = plan[0][2] if plan else TrainConfig()
    setup = {"n_train": len(data.x_train), "n_val": len(data.x_val), "n_test": len(data.x_test),
             "preprocess": cfg.preprocess,
             "init": "W, b ~ Normal(0, sqrt(4/(784+10)))", "model": "softmax regression 784->10"}
    return {"meta": results_meta, "setup": setup, "runs": runs, "groups": groups, "best": best}


# ---- writing -------------------------------------------------------------------------------


def _json_safe(obj):
    """NaN and inf become null: JSON has no such numbers."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: _json_safe(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_json_safe(v) for v in obj]
    return obj


def results_csv(results: dict) -> str:
    """One row per run (the columns of results-schema.md); empty cells for null."""
    ts = [_key(t) for t in results["meta"]["thresholds"]]
    cols = ["name", "group", *CSV_CONFIG, "status", "final_val_acc", "final_val_loss",
            "test_acc", "test_loss", "seconds", "seconds_per_epoch"]
    cols += [f"{k}_{t}" for t in ts for k in ("epochs_to", "seconds_to")]
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=cols, lineterminator="\n")
    writer.writeheader()
    for r in results["runs"]:
        row = {k: r[k] for k in cols if k in r}
        row.update({k: r["config"][k] for k in CSV_CONFIG})
        for t in ts:
            row[f"epochs_to_{t}"], row[f"seconds_to_{t}"] = r["epochs_to"][t], r["seconds_to"][t]
        writer.writerow({k: "" if v is None else v for k, v in _json_safe(row).items()})
    return buf.getvalue()


def save_results(results: dict, out_dir) -> tuple[Path, Path]:
    """Write results.json and results.csv into ``out_dir`` (atomically)."""
    out = Path(out_dir)
    return (atomic_write_json(out / "results.json", _json_safe(results)),
            atomic_write_text(out / "results.csv", results_csv(results)))


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
    out = {"confusion": confusion}
    for prefix, idx in (("mistakes", mistakes), ("ambiguous", ambiguous)):
        out[f"{prefix}_images"] = images[idx]
        out[f"{prefix}_true"] = y_test[idx].astype(np.int64)
        out[f"{prefix}_pred"] = pred[idx].astype(np.int64)
        out[f"{prefix}_prob"] = p_pred[idx].astype(np.float32)
    out["ambiguous_margin"] = margin[ambiguous].astype(np.float32)
    return out


def save_reference(out_dir, results: dict, data: Splits, model=None,
                   images: np.ndarray | None = None) -> str | None:
    """Write model.npz and examples.npz of the reference run (``results["meta"]["reference"]``).

    ``model`` is that run's trained model; when None it is trained again (same seed, same
    weights). ``images``: the uint8 test images; when None they are drawn from ``x_test``.
    Returns the reference run's name, or None when there is none (every run diverged).
    """
    name = results["meta"].get("reference")
    if name is None:
        return None
    run = next(r for r in results["runs"] if r["name"] == name)
    config = TrainConfig.from_dict(run["config"])
    if model is None:
        model, _ = train_model(config, data)
    out = Path(out_dir)
    save_model(out / "model.npz", model, data.preprocess, data.stats,
               extra={"config": config.to_dict(), "run": name})
    images = _to_uint8_images(data.x_test) if images is None else images
    arrays = examples(model, data.x_test, data.y_test, images)
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    atomic_write(out / "examples.npz", lambda f: f.write(buf.getvalue()))
    return name


# ---- progress of a study, for --resume -----------------------------------------------------


def save_progress(out_dir, progress: dict) -> None:
    """Write progress.json: the plan, its meta, and the entries of the runs finished so far."""
    data = {**progress, "plan": [[n, g, c.to_dict()] for n, g, c in progress["plan"]]}
    atomic_write_json(Path(out_dir) / "progress.json", _json_safe(data))


def load_progress(out_dir) -> dict:
    """Read progress.json back (plan as TrainConfigs); a ConfigError when there is none."""
    path = Path(out_dir) / "progress.json"
    try:
        data = json.loads(path.read_text())
        data["plan"] = [(n, g, TrainConfig.from_dict(c)) for n, g, c in data["plan"]]
        if not ({"quick", "data_dir"} <= set(data["meta"]) and isinstance(data["finished"], dict)):
            raise KeyError("meta or finished")
    except FileNotFoundError:
        raise ConfigError(f"no progress.json in {out_dir}: nothing to resume (the study finished "
                          "or the folder is not a study)") from None
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise ConfigError(f"{path} is unreadable ({type(e).__name__}); start the study again") from None
    return data


def finish_progress(out_dir) -> None:
    """The study is complete: results.json replaces progress.json and the checkpoint."""
    for name in ("progress.json", "checkpoint.npz"):
        (Path(out_dir) / name).unlink(missing_ok=True)

