"""The runner: a plan (plans.py) trained -> the results dict of docs/results-schema.md.

``run_study`` trains every run of a plan on one ``Splits``, skipping the runs a resumed study
finished. Runs that share the data, batch size, epochs and seed and differ only in optimizer
numbers train side by side in one stacked pass (fit.fit_stacked, ``_stack_buckets``); such a
run has no time of its own, so every reported time comes from ``timing.py``, measured apart.
The test split is only reported, for the final models (the course's settings and the best
preset, or a sweep's best setting): every choice is made from validation numbers.
``model_of`` gives a run's model, trained again as it was when the runner did not keep it.
No files but the checkpoint, no plotting and no printing here: progress goes to the ``log``
callable. pipeline.py writes the study folder around it.
"""

from __future__ import annotations

import copy
import json
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timezone

import numpy as np

from softmax_mnist import __version__
from softmax_mnist.core.config import TrainConfig
from softmax_mnist.core.data import NUM_CLASSES, Splits, load_raw, load_splits
from softmax_mnist.core.fit import STACK_FIELDS, fit_stacked
from softmax_mnist.core.loop import Hooks, evaluate
from softmax_mnist.errors import ConfigError, DivergenceError
from softmax_mnist.study import machine, timing
from softmax_mnist.study import results as rs
from softmax_mnist.study.checkpoint import CheckpointError, load_checkpoint, restore, save_checkpoint
from softmax_mnist.study.plans import FINAL, QUICK, check_plan, timing_plan
from softmax_mnist.study.run import train_model

Log = Callable[[str], None] | None


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


def train_stacked(items, data: Splits, log: Log = None, pass_id: int = 0, progress=None,
                   checkpoint_file=None, stop=None) -> dict:
    """Train settings that differ only in optimizer numbers in one pass (fit.fit_stacked).

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


def data_loader(data_dir, quick: bool = False, progress=None,
                loaded: Splits | None = None) -> Callable[[TrainConfig], Splits]:
    """A function giving the splits a config trains on (its val_size, preprocessing and image
    transform), each loaded once; ``quick`` keeps the first QUICK n_train / n_test images.
    ``loaded``: splits already read (load_study_data's), given for their configs, not read again."""
    def key_of(val_size: int, preprocess: str, transform: dict | None) -> tuple:
        return val_size, preprocess, json.dumps(transform, sort_keys=True)

    cache: dict = {}
    if loaded is not None:
        cache[key_of(len(loaded.x_val), loaded.preprocess, loaded.transform)] = loaded

    def splits_for(c: TrainConfig) -> Splits:
        key = key_of(c.val_size, c.preprocess, c.transform())
        if key not in cache:
            data = load_splits(data_dir, c.val_size, c.preprocess, c.transform(), progress)
            if quick:
                n, t = QUICK["n_train"], QUICK["n_test"]
                data = replace(data, x_train=data.x_train[:n], y_train=data.y_train[:n],
                               x_test=data.x_test[:t], y_test=data.y_test[:t])
            cache[key] = data
        return cache[key]

    return splits_for


# ---- the whole plan ------------------------------------------------------------------------


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



def _pass_line(bucket, entries: list[dict]) -> str:
    """The progress line of a stacked pass: what its runs share, and the best of them."""
    c = bucket[0][2]
    top = max((e for e in entries if e["status"] == "ok"), key=lambda e: e["final_val_acc"],
              default=None)
    return (f"{len(bucket)} settings in one pass (seed {c.seed}, batch {c.batch_size}, "
            f"{c.epochs} epochs)"
            + (f"  best val {top['final_val_acc']:.4f} ({top['setting']})" if top else ""))


def _run_line(entry: dict) -> str:
    """The progress line of a run trained alone: its validation accuracy, or its divergence."""
    return (f"val {entry['final_val_acc']:.4f}" if entry["status"] == "ok" else
            f"diverged after {len(entry['history']['val_acc'])} epoch(s)")


def _time_epochs(plan, runs: list[dict], data: Splits, log: Log, stop) -> dict:
    """results.json's timing: the epoch times of timing_plan's settings, interleaved
    (timing.py), and the cost of one update; {} when there is nothing to time."""
    configs = timing_plan(plan, runs)
    if not configs:
        return {}
    if log:
        log(f"timing: {len(configs)} settings, {timing.ROUNDS} interleaved epochs each "
            f"after {timing.WARMUP} warm-up")
    return {"epoch": timing.epoch_times(configs, data, stop=stop), "rounds": timing.ROUNDS,
            "warmup": timing.WARMUP,
            "step": timing.step_cost({rs.BASELINE: {}, rs.REFERENCE: {"momentum": 0.9},
                                      rs.NESTEROV: {"momentum": 0.9, "nesterov": True}})}


def _reference(plan, runs: list[dict], best: dict) -> str | None:
    """The run in model.npz: the course's setting with momentum 0.9 at the first seed, else
    (a sweep, or it diverged) the first good run of the best setting; None when none is good."""
    name = rs.run_name(rs.REFERENCE, plan[0][2].seed) if plan else None
    if any(r["name"] == name and r["status"] == "ok" for r in runs):
        return name
    return next((r["name"] for r in runs if r["setting"] == best["overall"] and rs.ok(r)), None)


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
    load = [machine.load_average()]  # how busy the machine was: the report says so beside its times
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
            out = train_stacked(bucket, splits(bucket[0][2]), epoch_log, pass_id, progress,
                                 checkpoint_file, stop)
            seconds = time.perf_counter() - t0
            passes.append({"id": pass_id, "runs": [n for n, _, _ in bucket], "seconds": seconds})
            for n, _, c in bucket:
                done.setdefault(c, n)
            record(*(out[n] for n, _, _ in bucket))
            if log:
                log(f"{head} {_pass_line(bucket, [out[n][0] for n, _, _ in bucket])}  {seconds:.1f}s")
        else:
            epoch_log = (lambda s, n=name: log(f"  {n}: {s}")) if log and verbose else None
            entry, model = _train(name, group, config, splits(config), epoch_log,
                                  checkpoint_file, stop, progress, trainer)
            done.setdefault(config, name)
            record((entry, model))
            if log:
                log(f"{head} {name}  {_run_line(entry)}  {time.perf_counter() - t0:.1f}s")
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
    load.append(machine.load_average())
    t0 = time.perf_counter()
    timed = _time_epochs(plan, runs, data, log, stop) if time_epochs else {}
    timing_seconds = time.perf_counter() - t0
    results_meta = {"version": __version__, "seed": plan[0][2].seed if plan else None,
                    "seeds": sorted({c.seed for _, _, c in plan}),
                    "quick": False, "data_dir": None, **(meta or {}),
                    "started": started, "train_seconds": train_seconds,
                    "timing_seconds": timing_seconds,
                    "machine": machine.describe(), "thresholds": list(rs.THRESHOLDS),
                    "reference": _reference(plan, runs, best),
                    **({"load": load} if None not in load else {})}
    results_meta.pop("data_dir", None)  # a path of this machine: not in the results
    cfg = plan[0][2] if plan else TrainConfig()
    setup = {"n_train": len(data.x_train), "n_val": len(data.x_val), "n_test": len(data.x_test),
             "preprocess": cfg.preprocess, "n_features": int(data.x_train.shape[1])}
    return {"meta": results_meta, "setup": setup, "runs": runs, "groups": groups,
            "best": best, "passes": passes, "timing": timed}


# ---- a run's model ------------------------------------------------------------------------


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
            out = train_stacked([(n, by_name[n]["group"], config_of(by_name[n])) for n in mates],
                                 data)
            models.update({n: m for n, (_, m) in out.items() if m is not None})
        else:
            models[name] = (trainer or train_model)(config_of(run), data)[0]
    return models[name]

