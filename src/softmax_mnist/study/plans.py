"""The plans: which settings a study or sweep trains, with which seeds and controls.

A plan is a list of ``(name, group, TrainConfig)``, names ``<setting>@s<seed>`` (results.py):
``study_plan`` (the course study), ``grid_plan`` (a sweep file's [grid] and [fixed]),
``timing_plan`` (the settings whose epoch time is measured apart) and ``check_plan`` (what can
be checked before any training). runner.py trains a plan.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import replace

from softmax_mnist.core.config import TrainConfig, check_names
from softmax_mnist.core.data import VAL_SIZE, Splits
from softmax_mnist.core.presets import preset
from softmax_mnist.errors import ConfigError
from softmax_mnist.study import results as rs

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
    course = TrainConfig()  # the course's settings are TrainConfig's defaults (batch 100, lr 0.01)
    epochs = QUICK["epochs"] if quick else course.epochs
    base = replace(course, epochs=epochs, seed=seed, val_size=QUICK["n_val"] if quick else VAL_SIZE)
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


