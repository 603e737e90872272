"""The study runner: run entries, divergence, seeds and controls, stacked passes, choices on
validation only, test numbers for the final models only, timing apart, grids; and the results
schema helpers (results.py) on hand-made numbers."""

from __future__ import annotations

import csv
import json
import math
import statistics
from dataclasses import replace

import numpy as np
import pytest

from softmax_mnist.core.config import TrainConfig, tomllib
from softmax_mnist.core.data import Splits
from softmax_mnist.core.loop import History, evaluate
from softmax_mnist.errors import ConfigError, DivergenceError
from softmax_mnist.study import artifacts, plans, runner, timing
from softmax_mnist.study import results as rs
from softmax_mnist.study.modelfile import load_model
from softmax_mnist.study.run import train_model

TIME_KEYS = {"seconds", "seconds_per_epoch"}
ENTRY_KEYS = {"name", "setting", "group", "config", "status", "error", "history", "epochs_to",
              "final_train_acc", "final_train_loss", "final_val_acc", "final_val_loss",
              "test_acc", "test_loss", "val_correct"}


def make_splits(seed: int = 1, n=(1200, 400, 400), spread: float = 0.1) -> Splits:
    """Ten overlapping Gaussian blobs in 784 dimensions: float32 features, int64 labels."""
    rng = np.random.default_rng(seed)
    centers = rng.normal(0, spread, (10, 784))
    parts = []
    for size in n:
        y = rng.integers(0, 10, size)
        parts += [(centers[y] + rng.normal(0, 1, (size, 784))).astype(np.float32), y]
    return Splits(*parts, preprocess="course")


@pytest.fixture(scope="module")
def splits() -> Splits:
    return make_splits()


def shuffled_test(data: Splits, seed: int = 7) -> Splits:
    """The same train and val; test labels permuted and test images replaced by others."""
    rng = np.random.default_rng(seed)
    return replace(data, y_test=rng.permutation(data.y_test),
                   x_test=rng.permutation(data.x_test)[::-1].copy())


def choices(results: dict) -> dict:
    """Everything the study decides or measures from train/val: all but test metrics and times."""
    runs = [{k: v for k, v in r.items() if k not in TIME_KEYS | {"test_acc", "test_loss"}}
            for r in results["runs"]]
    return {"runs": runs, "groups": results["groups"], "best": results["best"],
            "reference": results["meta"]["reference"], "setup": results["setup"],
            "passes": [p["runs"] for p in results["passes"]]}


def without_times(results: dict) -> list[dict]:
    return [{k: v for k, v in r.items() if k not in TIME_KEYS} for r in results["runs"]]


def _model(data):
    from softmax_mnist.core.model import SoftmaxRegression
    return SoftmaxRegression(data.x_train.shape[1], 10)


# ---- one run -------------------------------------------------------------------------------


def test_run_one_records_what_the_schema_asks(splits):
    config = TrainConfig(epochs=3, batch_size=50, lr=0.05, momentum=0.9)
    r = runner.run_one("a@s0", "g", config, splits)
    assert set(r) == ENTRY_KEYS | TIME_KEYS
    assert r["name"] == "a@s0" and r["setting"] == "a" and r["group"] == "g"
    assert r["config"] == config.to_dict() and r["status"] == "ok" and r["error"] is None
    h = r["history"]
    assert set(h) == set(rs.HISTORY_KEYS) and "epoch_time" not in h
    assert all(len(v) == 3 for v in h.values())
    assert r["final_val_acc"] == h["val_acc"][-1] and r["final_val_loss"] == h["val_loss"][-1]
    # which validation images it got right, for the paired comparisons of the report
    assert rs.correct_of(r, len(splits.y_val)).mean() == pytest.approx(r["final_val_acc"])
    # a run trained alone keeps its own time
    assert r["seconds"] > 0 and 0 < r["seconds_per_epoch"] <= r["seconds"] / 3
    # train and test numbers are those of the final model, computed the one way
    model, _ = train_model(config, splits)
    assert (r["final_train_loss"], r["final_train_acc"]) == evaluate(model, splits.x_train,
                                                                     splits.y_train)
    assert (r["test_loss"], r["test_acc"]) == evaluate(model, splits.x_test, splits.y_test)
    assert 0 <= r["test_acc"] <= 1 and r["test_loss"] > 0
    # measured after training, so not the running mean over the last epoch
    assert r["final_train_acc"] != h["train_acc"][-1]


@pytest.mark.parametrize("val_acc, want", [
    ([0.5, 0.91, 0.95], {"0.90": 2, "0.92": 3}),
    ([0.92, 0.5, 0.95], {"0.90": 1, "0.92": 1}),   # the first epoch at or over, not the last
    ([0.5, 0.89, 0.9], {"0.90": 3, "0.92": None}),
    ([0.1, 0.2, 0.3], {"0.90": None, "0.92": None}),
])
def test_epochs_to_threshold(monkeypatch, splits, val_acc, want):
    hist = History(train_loss=[1.0] * 3, train_acc=[0.5] * 3, val_loss=[1.0] * 3,
                   val_acc=val_acc, epoch_time=[0.5, 1.0, 2.0])
    monkeypatch.setattr(runner, "train_model", lambda config, data, log=None, **_: (_model(splits), hist))
    r = runner.run_one("a@s0", "g", TrainConfig(epochs=3), splits)
    assert r["epochs_to"] == want
    assert "seconds_to" not in r  # times come from timing.py only
    assert r["seconds_per_epoch"] == pytest.approx(3.5 / 3)


def test_a_diverging_run_is_recorded_with_its_partial_history(monkeypatch, splits):
    # two whole epochs, then a third whose mean training loss blew up (train lists one longer)
    hist = History(train_loss=[1.0, 0.8, 99.0], train_acc=[0.6, 0.7, 0.1],
                   val_loss=[0.9, 0.7], val_acc=[0.91, 0.93], epoch_time=[0.1, 0.1, 0.1])

    def diverge(config, data, log=None, **_):
        raise DivergenceError("training diverged in epoch 3: ...", history=hist)

    monkeypatch.setattr(runner, "train_model", diverge)
    r = runner.run_one("lr-9@s0", "lr", TrainConfig(lr=9.0), splits)
    assert r["status"] == "diverged" and "diverged in epoch 3" in r["error"]
    assert r["history"]["val_acc"] == [0.91, 0.93]
    assert all(len(v) == 2 for v in r["history"].values())  # whole epochs only
    assert r["epochs_to"] == {"0.90": 1, "0.92": 2}
    for k in ("final_train_acc", "final_train_loss", "final_val_acc", "final_val_loss",
              "test_acc", "test_loss"):
        assert r[k] is None
    # even with the best validation numbers so far, a diverged run is never the best
    ok = {"name": "ok", "status": "ok", "final_val_acc": 0.5}
    assert runner.best_run([{**r, "final_val_acc": 0.99}, ok]) == "ok"
    assert runner.best_run([r]) is None


@pytest.mark.parametrize("stack", [False, True])
def test_divergence_is_recorded_and_the_sweep_goes_on(splits, stack):
    base = TrainConfig(epochs=2, batch_size=100, lr=0.05, momentum=0.9)
    plan = [("lr-0.05@s0", "lr", base), ("lr-100@s0", "lr", replace(base, lr=100.0)),
            ("lr-0.01@s0", "lr", replace(base, lr=0.01))]
    lines: list[str] = []
    res = runner.run_study(plan, splits, lines.append, stack=stack)
    status = {r["name"]: r["status"] for r in res["runs"]}
    assert status == {"lr-0.05@s0": "ok", "lr-100@s0": "diverged", "lr-0.01@s0": "ok"}
    bad = res["runs"][1]
    assert "loss" in bad["error"] and bad["final_val_acc"] is None
    assert bad["test_acc"] is None and bad["final_train_acc"] is None
    assert res["best"]["lr"] in ("lr-0.05", "lr-0.01")
    if stack:  # one pass for all three, its line naming the best setting
        assert len(lines) == 1 and "3 settings in one pass" in lines[0]
        assert res["passes"][0]["runs"] == [n for n, _, _ in plan]
    else:
        assert "learning rate 100" in bad["error"]
        assert len(lines) == 3 and "diverged" in lines[1] and "lr-100@s0" in lines[1]
        assert res["passes"] == []


def test_non_finite_loss_is_divergence_too(splits):
    with np.errstate(over="ignore", invalid="ignore"):
        r = runner.run_one("x@s0", "g", TrainConfig(epochs=2, lr=1e30, momentum=0.9), splits)
    assert r["status"] == "diverged" and r["test_acc"] is None


# ---- the plan ------------------------------------------------------------------------------


def test_study_plan_is_the_course_study_with_seeds_and_controls():
    plan = plans.study_plan(quick=False, seed=3)
    names = [n for n, _, _ in plan]
    assert len(set(names)) == len(names)
    cfg = {n: c for n, _, c in plan}
    assert all(c.seed == int(n.rsplit("@s", 1)[1]) for n, c in cfg.items())
    # every setting with three seeds, the preset and its ablation too; the heat map with one
    seeds: dict[str, dict] = {}
    for n, g, c in plan:
        seeds.setdefault(g, {}).setdefault(rs.setting_name(n), set()).add(c.seed)
    assert {g: len(v) for g, v in seeds.items()} == {
        "momentum": 7, "lr": len(plans.LRS), "batch_size": 2 * len(plans.BATCH_SIZES),
        "lr_batch": len(plans.LRS) * len(plans.BATCH_SIZES), "preset": 2 + len(plans.ABLATION)}
    for g, per_setting in seeds.items():
        want = {3} if g == "lr_batch" else {3, 4, 5}
        assert all(v == want for v in per_setting.values()), g
    assert set(seeds["preset"]) == {"best", rs.BEST_SHORT} | {f"best-{k}" for k in plans.ABLATION}

    course = TrainConfig(epochs=10, batch_size=100, lr=0.01, momentum=0.0, seed=4, val_size=5000)
    m9 = replace(course, momentum=0.9)
    momentum = {rs.setting_name(n): c for n, g, c in plan if g == "momentum" and c.seed == 4}
    assert momentum == {
        "momentum-0": course, "momentum-0.9": m9, "nesterov-0.9": replace(m9, nesterov=True),
        "sgd-equal-step": replace(course, lr=0.1),           # 0.01 / (1 - 0.9)
        "momentum-0.9-lr-0.001": replace(m9, lr=0.001),     # 0.01 * (1 - 0.9)
        # plain SGD at the effective steps of momentum 0.9 at lr 0.1 and 0.5
        "sgd-lr-1": replace(course, lr=1.0), "sgd-lr-5": replace(course, lr=5.0)}
    assert [c.lr for n, g, c in plan if g == "lr" and c.seed == 3] == list(plans.LRS)
    assert all(c.momentum == 0.9 and c.epochs == 10 for n, g, c in plan if g == "lr")

    bs = {rs.setting_name(n): c for n, g, c in plan if g == "batch_size" and c.seed == 5}
    assert list(bs) == [f"bs-{b}{s}" for b in plans.BATCH_SIZES for s in ("", "-scaled")]
    for b in plans.BATCH_SIZES:
        assert bs[f"bs-{b}"] == replace(m9, batch_size=b, epochs=plans.BATCH_EPOCHS, seed=5)
        assert bs[f"bs-{b}-scaled"].lr == pytest.approx(0.01 * b / 100)
        assert replace(bs[f"bs-{b}-scaled"], lr=0.01) == bs[f"bs-{b}"]
    assert bs["bs-1000-scaled"].lr == 0.1 and bs["bs-10-scaled"].lr == 0.001

    heat = {rs.setting_name(n): c for n, g, c in plan if g == "lr_batch" and c.seed == 3}
    assert len(heat) == len(plans.LRS) * len(plans.BATCH_SIZES)
    for lr in plans.LRS:
        for b in plans.BATCH_SIZES:
            assert heat[f"lr-{lr:g}-bs-{b}"] == replace(m9, lr=lr, batch_size=b,
                                                        epochs=plans.BATCH_EPOCHS, seed=3)
    best = cfg["best@s3"]
    assert best.transform() is not None and best.epochs == 20 and best.lr_decay != "none"
    assert cfg["best-no-transform@s3"].transform() is None
    assert cfg["best-no-decay@s3"] == replace(best, lr_decay="none")
    assert cfg[f"{rs.BEST_SHORT}@s5"] == replace(best, epochs=10, seed=5)  # the course's epochs


def test_study_plan_quick_and_other_seed_counts():
    quick = plans.study_plan(quick=True)
    assert {c.epochs for _, g, c in quick if g != "preset"} == {plans.QUICK["epochs"]}
    assert {c.val_size for _, _, c in quick} == {plans.QUICK["n_val"]}
    assert {c.batch_size for _, g, c in quick if g == "batch_size"} == set(plans.QUICK["batch_sizes"])
    settings = {rs.setting_name(n) for n, g, _ in quick if g != "preset"}
    heat = len(plans.QUICK["lrs"]) * len(plans.QUICK["batch_sizes"])
    assert len(settings) == 7 + len(plans.QUICK["lrs"]) + 2 * len(plans.QUICK["batch_sizes"]) + heat
    preset = 1 + len(plans.ABLATION)  # quick: no separate 10-epoch preset (its epochs are 2)
    assert len(quick) == 3 * (len(settings) - heat + preset) + heat
    one = plans.study_plan(quick=True, seed=7, seeds=1)
    assert {c.seed for _, _, c in one} == {7} and len(one) == len(settings) + preset
    assert [n for n, _, _ in one][:2] == ["momentum-0@s7", "momentum-0.9@s7"]


def course_plan(**kw):
    """The study without its preset rows, whose transformed images need real MNIST digits."""
    return [p for p in plans.study_plan(**kw) if p[1] != "preset"]


# ---- the study -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def quick_study(splits):
    models: dict = {}
    lines: list[str] = []
    res = runner.run_study(course_plan(quick=True), splits, lines.append,
                       meta={"quick": True, "data_dir": "/somewhere"}, models=models)
    return res, models, lines


def mean_val(results: dict, setting: str) -> float | None:
    """The setting's mean final validation accuracy over seeds; None when a seed diverged."""
    runs = [r for r in results["runs"] if r["setting"] == setting]
    if any(r["status"] != "ok" for r in runs):
        return None
    return statistics.fmean(r["final_val_acc"] for r in runs)


def test_study_results_shape(quick_study, splits):
    res, models, _ = quick_study
    assert set(res) == {"meta", "setup", "runs", "groups", "best", "passes", "timing"}
    meta = res["meta"]
    assert meta["quick"] is True and meta["thresholds"] == [0.9, 0.92]
    assert meta["seeds"] == [0, 1, 2] and meta["seed"] == 0
    assert meta["train_seconds"] > 0 and meta["timing_seconds"] > 0
    assert "data_dir" not in meta and "total_seconds" not in meta  # no path of this machine
    assert res["setup"]["n_train"] == 1200 and res["setup"]["n_test"] == 400
    assert res["groups"]["momentum"][:5] == ["momentum-0@s0", "momentum-0.9@s0", "nesterov-0.9@s0",
                                             "sgd-equal-step@s0", "momentum-0.9-lr-0.001@s0"]
    assert len(res["groups"]["momentum"]) == 21  # 7 settings x 3 seeds
    for r in res["runs"]:
        assert ENTRY_KEYS <= set(r), r["name"]
        assert r["setting"] == rs.setting_name(r["name"]) and set(r["history"]) == set(rs.HISTORY_KEYS)
    assert meta["reference"] == "momentum-0.9@s0"
    assert set(models) == {r["name"] for r in res["runs"] if r["status"] == "ok"}
    assert any(r["status"] == "diverged" for r in res["runs"])  # lr 0.5 at batch 10


def test_best_is_the_setting_with_the_best_mean_over_seeds(quick_study):
    res, _, _ = quick_study
    everything = {}
    for group, names in res["groups"].items():
        means = {}
        for n in names:
            s = rs.setting_name(n)
            if s not in means and mean_val(res, s) is not None:
                means[s] = mean_val(res, s)
        top = max(means.values())
        assert res["best"][group] == next(s for s, m in means.items() if m == top), group
        everything.update(means)
    assert res["best"]["overall"] == max(everything, key=everything.get)
    assert set(res["best"]) == set(res["groups"]) | {"overall"}
    # a setting with a diverged seed is never the best, however good its other seeds
    assert all(mean_val(res, s) is not None for s in res["best"].values())


def test_final_train_acc_is_measured_on_the_training_split_after_training(quick_study, splits):
    res, models, _ = quick_study
    for r in res["runs"]:
        if r["status"] == "ok":
            loss, acc = evaluate(models[r["name"]], splits.x_train, splits.y_train)
            assert (r["final_train_loss"], r["final_train_acc"]) == (loss, acc), r["name"]
        else:
            assert r["final_train_acc"] is None and r["final_train_loss"] is None


def test_test_numbers_only_for_the_final_settings(quick_study, splits):
    res, models, _ = quick_study
    finals = [r for r in res["runs"] if r["setting"] in plans.FINAL]
    assert {r["setting"] for r in finals} == {"momentum-0", "momentum-0.9", "nesterov-0.9"}
    assert len(finals) == 9  # every seed of each
    for r in res["runs"]:
        if r["setting"] in plans.FINAL:
            want = evaluate(models[r["name"]], splits.x_test, splits.y_test)
            assert (r["test_loss"], r["test_acc"]) == want, r["name"]
        else:  # lr-0.01 too, though it is a copy of momentum-0.9: test numbers go by setting
            assert r["test_acc"] is None and r["test_loss"] is None, r["name"]


def test_stacked_entries_name_their_pass_and_have_no_time(quick_study):
    res, _, lines = quick_study
    passes = {p["id"]: p for p in res["passes"]}
    assert list(passes) == list(range(1, len(passes) + 1)) and len(passes) == 15  # 3 seeds x 5 sizes
    assert all(p["seconds"] > 0 for p in passes.values())
    trained = [r for r in res["runs"] if r["name"] not in repeats(course_plan(quick=True))]
    for r in trained:  # in the quick study every run trained shares a pass
        assert r["seconds"] is None and r["seconds_per_epoch"] is None, r["name"]
        assert r["name"] in r["stacked_with"] and passes[r["pass"]]["runs"] == r["stacked_with"]
    # every run trained is in exactly one pass; runs of different groups share a pass
    in_passes = [n for p in passes.values() for n in p["runs"]]
    assert sorted(in_passes) == sorted(r["name"] for r in trained)
    first = passes[1]["runs"]
    assert {rs.setting_name(n) for n in first} >= {"momentum-0", "momentum-0.9", "nesterov-0.9",
                                                 "sgd-equal-step", "lr-0.1"}
    # one log line per pass, then the timing line
    assert sum("settings in one pass" in line for line in lines) == 15
    assert lines[-1].startswith("timing: 7 settings")


def repeats(plan) -> dict[str, str]:
    """{name: the name of the first run of the plan with the same config} for the repeats."""
    first: dict = {}
    out = {}
    for name, _, c in plan:
        if c in first:
            out[name] = first[c]
        first.setdefault(c, name)
    return out


def test_copy_of_marks_exactly_the_repeated_settings(quick_study):
    res, _, _ = quick_study
    want = repeats(course_plan(quick=True))
    # per seed lr-0.01 (= momentum-0.9) and lr-0.001 (= momentum-0.9-lr-0.001); in the heat map
    # lr-0.01-bs-B (= bs-B), lr-0.001-bs-10 (= bs-10-scaled) and lr-0.1-bs-1000 (= bs-1000-scaled)
    assert len(want) == 3 * 2 + 4 + 2 and want["lr-0.1-bs-1000@s0"] == "bs-1000-scaled@s0"
    assert {r["name"]: r["copy_of"] for r in res["runs"] if "copy_of" in r} == want


def test_an_identical_setting_is_copied_not_retrained(quick_study):
    res, models, _ = quick_study
    runs = {r["name"]: r for r in res["runs"]}
    copy = runs["lr-0.01@s1"]  # momentum 0.9, lr 0.01, batch 100: the reference's setting
    assert copy["copy_of"] == "momentum-0.9@s1"
    first = runs["momentum-0.9@s1"]
    same = {k for k in first if k not in ("name", "setting", "group", "test_acc", "test_loss")}
    assert {k: copy[k] for k in same} == {k: first[k] for k in same}
    assert copy["group"] == "lr" and copy["setting"] == "lr-0.01"
    assert models["lr-0.01@s1"] is models["momentum-0.9@s1"]
    # a copy made in another group: the heat map's cell at lr 0.01 is the batch-size run
    assert runs["lr-0.01-bs-10@s0"]["copy_of"] == "bs-10@s0"
    assert runs["lr-0.01-bs-10@s0"]["pass"] == runs["bs-10@s0"]["pass"]


def test_the_study_times_its_settings_apart(quick_study):
    res, _, _ = quick_study
    t = res["timing"]
    assert t["rounds"] == timing.ROUNDS and t["warmup"] == timing.WARMUP
    assert list(t["epoch"]) == ["momentum-0", "momentum-0.9", "nesterov-0.9",
                                *(f"bs-{b}" for b in plans.QUICK["batch_sizes"])]
    for name, e in t["epoch"].items():
        assert len(e["times"]) == timing.ROUNDS and e["q1"] <= e["median"] <= e["q3"], name
        assert e["median"] == statistics.median(e["times"]) > 0
    assert set(t["step"]) == {"momentum-0", "momentum-0.9", "nesterov-0.9"}
    assert all(s["median"] > 0 for s in t["step"].values())


def test_without_time_epochs_there_is_no_timing(splits):
    plan = [("a@s0", "momentum", TrainConfig(epochs=1)), ("b@s0", "batch_size", TrainConfig(epochs=1))]
    res = runner.run_study(plan, splits, time_epochs=False)
    assert res["timing"] == {}
    assert plans.timing_plan(plan) == {"b": plan[1][2]}  # a is not a course momentum setting


def test_momentum_runs_share_init_and_data_order(splits):
    """Same init and same batches: the first loss is equal for all; plain SGD and heavy ball take
    the same first step (v = -lr g), Nesterov a longer one, so they part after."""
    cfg = {rs.setting_name(n): c for n, g, c in plans.study_plan(quick=True) if g == "momentum"
           and c.seed == 0}
    loss = {n: train_model(c, splits)[1].iter_loss[:3] for n, c in cfg.items()}
    assert len({v[0] for v in loss.values()}) == 1
    assert loss["momentum-0"][1] == loss["momentum-0.9"][1] != loss["nesterov-0.9"][1]
    assert loss["momentum-0"][2] != loss["momentum-0.9"][2]
    # the equal-step control: ten times plain SGD's rate, so a different second loss
    assert loss["sgd-equal-step"][1] != loss["momentum-0"][1]


def test_shuffling_the_test_set_changes_no_choice(splits):
    """THE test: the test split is only reported. Permuting its labels and replacing its images
    leaves every choice, every validation number and every trained weight unchanged."""
    plan = course_plan(quick=True)
    models_a: dict = {}
    models_b: dict = {}
    a = runner.run_study(plan, splits, models=models_a, time_epochs=False)
    b = runner.run_study(plan, shuffled_test(splits), models=models_b, time_epochs=False)
    assert choices(a) == choices(b)
    assert a["best"] == b["best"]
    for name in models_a:
        np.testing.assert_array_equal(models_a[name].params["W"], models_b[name].params["W"])
    # and the test metrics did see the change (so the check above has teeth)
    assert [r["test_acc"] for r in a["runs"]] != [r["test_acc"] for r in b["runs"]]


def test_shuffling_the_test_set_changes_no_choice_on_real_mnist(mnist_splits):
    d = mnist_splits
    q = plans.QUICK
    data = replace(d, x_train=d.x_train[:q["n_train"]], y_train=d.y_train[:q["n_train"]],
                   x_val=d.x_val[:q["n_val"]], y_val=d.y_val[:q["n_val"]],
                   x_test=d.x_test[:q["n_test"]], y_test=d.y_test[:q["n_test"]])
    plan = course_plan(quick=True)
    a = runner.run_study(plan, data, time_epochs=False)
    b = runner.run_study(plan, shuffled_test(data), time_epochs=False)
    assert choices(a) == choices(b)
    assert [r["test_acc"] for r in a["runs"]] != [r["test_acc"] for r in b["runs"]]


def test_same_seed_same_numbers_other_seed_other_numbers(splits):
    plan = course_plan(quick=True, seed=5)
    a, b = (runner.run_study(plan, splits, time_epochs=False) for _ in range(2))
    assert without_times(a) == without_times(b)
    c = runner.run_study(course_plan(quick=True, seed=6), splits, time_epochs=False)
    assert [r["history"]["val_loss"] for r in a["runs"]] != \
        [r["history"]["val_loss"] for r in c["runs"]]


def test_an_identical_setting_run_alone_is_reused_not_retrained(splits):
    cfg = TrainConfig(epochs=2, lr=0.05, momentum=0.9)
    lines: list[str] = []
    res = runner.run_study([("a@s0", "g1", cfg), ("b@s0", "g2", cfg)], splits, lines.append)
    a, b = res["runs"]
    assert b == {**a, "name": "b@s0", "setting": "b", "group": "g2", "copy_of": "a@s0"}
    assert a["seconds"] > 0 and res["passes"] == []
    assert len(lines) == 1  # one run trained


def test_verbose_logs_each_epoch(splits):
    lines: list[str] = []
    plan = [("a@s0", "g", TrainConfig(epochs=3, lr=0.05))]
    runner.run_study(plan, splits, lines.append, verbose=True)
    assert sum(line.startswith("  a@s0: epoch") for line in lines) == 3 and len(lines) == 4
    lines.clear()
    plan.append(("b@s0", "g", TrainConfig(epochs=3, lr=0.1)))
    runner.run_study(plan, splits, lines.append, verbose=True)
    assert sum(line.startswith("  pass 1: epoch") for line in lines) == 3 and len(lines) == 4


@pytest.mark.parametrize("plan, data, words", [
    ([("a", "g", TrainConfig()), ("a", "h", TrainConfig())], None, "unique"),
    ([("a", "g", TrainConfig(batch_size=5000))], None, "batch size 5000"),
    ([("a", "g", TrainConfig())], "no-val", "val_size"),
])
def test_run_study_refuses_bad_plans_before_training(splits, plan, data, words):
    if data == "no-val":
        splits = replace(splits, x_val=splits.x_val[:0], y_val=splits.y_val[:0])
    with pytest.raises(ConfigError) as e:
        runner.run_study(plan, splits)
    assert words in str(e.value) and "\n" not in str(e.value)


# ---- stacking ------------------------------------------------------------------------------


def buckets(plan, skip=()):
    return [[n for n, _, _ in b] for b in runner._stack_buckets(plan, set(skip))]


def test_runs_differing_only_in_optimizer_numbers_stack_whatever_their_group():
    base = TrainConfig(epochs=1)
    plan = [("m0", "momentum", base), ("m9", "momentum", replace(base, momentum=0.9)),
            ("l1", "lr", replace(base, momentum=0.9)),  # = m9: copied, not stacked again
            ("l2", "lr", replace(base, lr=0.1, momentum=0.9, nesterov=True)),
            ("w", "grid", replace(base, weight_decay=1e-3))]
    assert buckets(plan) == [["m0", "m9", "l2", "w"]]
    assert buckets(plan, {"m0", "m9"}) == [["l2", "w"]]
    assert buckets(plan, {"m0", "m9", "w"}) == []  # one run left: trained alone


@pytest.mark.parametrize("other", [
    {"seed": 1}, {"batch_size": 50}, {"epochs": 2}, {"preprocess": "unit"}, {"val_size": 1000},
    {"deskew": True}, {"blur_sigma": 1.0},
])
def test_runs_that_see_other_data_or_batches_do_not_stack(other):
    base = TrainConfig(epochs=1)
    plan = [("a", "g", base), ("b", "g", replace(base, lr=0.1)),
            ("c", "g", replace(base, lr=0.2, **other)), ("d", "g", replace(base, lr=0.3, **other))]
    assert buckets(plan) == [["a", "b"], ["c", "d"]]


def test_a_decaying_rate_stacks_only_with_the_same_schedule():
    base = TrainConfig(epochs=1)
    plan = [("a", "g", base), ("b", "g", replace(base, lr=0.1, lr_decay="linear")),
            ("c", "g", replace(base, lr=0.2, lr_decay="linear"))]
    assert buckets(plan) == [["b", "c"]]
    assert buckets(plan[:2]) == []  # a decaying rate never stacks with a constant one


def test_a_sweep_trains_settings_stacked_and_matches_separate_runs(splits):
    """Settings differing only in optimizer numbers train in one pass, with the same results."""
    base = TrainConfig(epochs=2, batch_size=50, lr=0.05, momentum=0.9)
    plan = [("a@s0", "grid", base), ("b@s0", "grid", replace(base, lr=0.01)),
            ("c@s0", "grid", replace(base, momentum=0.0)), ("d@s0", "grid", replace(base, lr=1e6)),
            ("e@s0", "grid", replace(base, weight_decay=1e-3)),
            ("f@s0", "other", replace(base, batch_size=64))]
    assert buckets(plan) == [["a@s0", "b@s0", "c@s0", "d@s0", "e@s0"]]
    stacked = runner.run_study(plan, splits, time_epochs=False)
    separate = runner.run_study(plan, splits, stack=False, time_epochs=False)
    for r1, r2 in zip(stacked["runs"], separate["runs"]):
        assert r1["status"] == r2["status"], r1["name"]
        assert "stacked_with" not in r2 and "pass" not in r2 and r2["seconds"] > 0
        if r1["setting"] in "abcde":
            assert r1["pass"] == 1 and r1["stacked_with"] == [n for n, _, _ in plan[:5]]
            assert r1["seconds"] is None and r1["seconds_per_epoch"] is None
        else:
            assert "pass" not in r1 and r1["seconds"] > 0
        if r1["status"] == "ok":
            assert r1["final_val_acc"] == pytest.approx(r2["final_val_acc"], abs=2 / len(splits.x_val))
            assert r1["final_train_acc"] == pytest.approx(r2["final_train_acc"],
                                                          abs=2 / len(splits.x_train))
            np.testing.assert_allclose(r1["history"]["train_loss"], r2["history"]["train_loss"],
                                       rtol=1e-4)
    assert {r["name"]: r["status"] for r in stacked["runs"]}["d@s0"] == "diverged"
    assert stacked["best"] == separate["best"]
    assert stacked["passes"][0]["runs"] == [n for n, _, _ in plan[:5]]


def test_a_sweep_reports_test_numbers_for_its_best_setting_only(splits):
    base = TrainConfig(epochs=2, batch_size=100, momentum=0.9)
    plan = [(rs.run_name(f"lr={lr:g}", s), "grid", replace(base, lr=lr, seed=s))
            for s in (0, 1) for lr in (0.001, 0.05)]
    models: dict = {}
    res = runner.run_study(plan, splits, models=models, time_epochs=False)
    best = res["best"]["grid"]
    assert best == res["best"]["overall"] == "lr=0.05"
    for r in res["runs"]:
        if r["setting"] == best:
            assert (r["test_loss"], r["test_acc"]) == evaluate(models[r["name"]], splits.x_test,
                                                               splits.y_test)
        else:
            assert r["test_acc"] is None
    # no momentum-0.9 run: the reference is the best setting's first seed
    assert res["meta"]["reference"] == "lr=0.05@s0" and res["meta"]["seeds"] == [0, 1]


# ---- timing --------------------------------------------------------------------------------


class Clock:
    """A perf_counter that moves only when the fake fit says so."""

    def __init__(self):
        self.now = 0.0

    def perf_counter(self) -> float:
        return self.now


def test_epoch_times_interleaves_rotating_and_drops_the_warm_up(monkeypatch, splits):
    configs = {"a": TrainConfig(lr=0.01, batch_size=50), "b": TrainConfig(lr=0.02, momentum=0.9),
               "c": TrainConfig(lr=0.03, batch_size=200, momentum=0.9, nesterov=True)}
    by_lr = {c.lr: n for n, c in configs.items()}
    # seconds of each call: the warm-up round (100) first, then five rounds
    seconds = {"a": [100, 1, 5, 2, 4, 3], "b": [100, 2, 2, 2, 2, 2], "c": [100, 9, 1, 8, 2, 7]}
    clock, calls = Clock(), []

    def fake_fit(config, data, model, rng, velocity):
        name = by_lr[config.lr]
        assert set(velocity) == ({"W", "b"} if config.momentum else set())  # kept across rounds
        assert config.epochs == 1 and config.batch_size == configs[name].batch_size
        assert data.x_train is splits.x_train and len(data.x_val) == 0  # no validation pass
        assert config.momentum == configs[name].momentum and config.nesterov == configs[name].nesterov
        assert config.lr_decay == "none" and model.W.shape == (784, 10)
        clock.now += seconds[name][sum(n == name for n in calls)]
        calls.append(name)

    monkeypatch.setattr(timing, "fit", fake_fit)
    monkeypatch.setattr(timing, "time", clock)
    out = timing.epoch_times(configs, splits, rounds=5, warmup=1)
    # round r starts at the r-th config: no setting always runs first (or last)
    assert calls == list("abc" "bca" "cab" "abc" "bca" "cab")
    assert set(out) == set(configs)
    assert out["a"] == {"times": [1, 5, 2, 4, 3], "median": 3, "q1": 1.5, "q3": 4.5}
    assert out["b"]["times"] == [2] * 5 and out["b"]["q1"] == out["b"]["median"] == out["b"]["q3"] == 2
    assert out["c"]["median"] == 7 and out["c"]["q1"] == 1.5 and out["c"]["q3"] == 8.5


def test_epoch_times_with_other_round_counts(monkeypatch, splits):
    calls = []
    monkeypatch.setattr(timing, "fit", lambda config, data, **k: calls.append(config.lr))
    configs = {"x": TrainConfig(lr=0.1), "y": TrainConfig(lr=0.2)}
    out = timing.epoch_times(configs, splits, rounds=3, warmup=0)
    assert calls == [0.1, 0.2, 0.2, 0.1, 0.1, 0.2]
    assert {n: len(v["times"]) for n, v in out.items()} == {"x": 3, "y": 3}
    calls.clear()
    out = timing.epoch_times(configs, splits, rounds=1, warmup=2)  # one round: no spread
    assert len(calls) == 6 and out["x"]["q1"] == out["x"]["median"] == out["x"]["q3"]


def test_epoch_times_really_trains_one_epoch(splits):
    configs = {"sgd": TrainConfig(batch_size=100), "m": TrainConfig(batch_size=100, momentum=0.9)}
    out = timing.epoch_times(configs, splits, rounds=3, warmup=1)
    for v in out.values():
        assert len(v["times"]) == 3 and all(t > 0 for t in v["times"])
        assert min(v["times"]) <= v["q1"] <= v["median"] <= v["q3"] <= max(v["times"])


def test_step_cost_times_each_setting_after_a_warm_up_block(monkeypatch):
    from softmax_mnist.course.optimizer import SGD

    clock, steps = Clock(), []
    micro = {(0.0, False): 1.0, (0.9, False): 2.0, (0.9, True): 3.0}  # microseconds a step

    def fake_step(self):
        warm = sum(s is self for s in steps) < 7  # the first block of 7 calls
        clock.now += (1000.0 if warm else micro[self.momentum, self.nesterov]) * 1e-6
        steps.append(self)

    monkeypatch.setattr(SGD, "step", fake_step)
    monkeypatch.setattr(timing, "time", clock)
    settings = {"sgd": {}, "m": {"momentum": 0.9}, "n": {"momentum": 0.9, "nesterov": True}}
    out = timing.step_cost(settings, shape=(50, 10), calls=7, blocks=4)
    assert list(out) == list(settings)
    for name, want in zip(settings, (1.0, 2.0, 3.0)):  # the warm-up block left out
        assert set(out[name]) == {"median", "q1", "q3"}
        assert [out[name][k] for k in ("q1", "median", "q3")] == pytest.approx([want] * 3), name
    assert len(steps) == 3 * 7 * 5  # blocks + the warm-up block, calls each
    assert [s.momentum for s in steps[:8]] == [0.0] * 7 + [0.9]  # block by block, in turn
    assert steps[7].nesterov is False and steps[14].nesterov is True


def test_step_cost_really_times_the_update():
    out = timing.step_cost({"sgd": {}, "m": {"momentum": 0.9}}, calls=20, blocks=3)
    assert all(v["median"] > 0 and v["q1"] <= v["median"] <= v["q3"] for v in out.values())


# ---- writing -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def study(splits, tmp_path_factory):
    base = TrainConfig(epochs=2, batch_size=100, lr=0.01, momentum=0.9)
    plan = [("momentum-0@s0", "momentum", replace(base, momentum=0.0)),
            ("momentum-0.9@s0", "momentum", base),
            ("lr-100@s0", "lr", replace(base, lr=100.0)), ("lr-0.1@s0", "lr", replace(base, lr=0.1)),
            ("bs-50@s0", "batch_size", replace(base, batch_size=50))]
    models: dict = {}
    res = runner.run_study(plan, splits, models=models)
    out = tmp_path_factory.mktemp("study")
    rs.save_results(res, out)
    artifacts.save_reference(out, res, splits, models["momentum-0.9@s0"])
    return res, out, models


def test_results_json_and_csv_agree(study):
    res, out, _ = study
    text = (out / "results.json").read_text()
    saved = json.loads(text, parse_constant=lambda c: pytest.fail(f"{c} in results.json"))
    assert saved == json.loads(json.dumps(rs.json_safe(res)))
    assert saved["timing"]["epoch"].keys() == {"momentum-0", "momentum-0.9", "bs-50"}
    with open(out / "results.csv", newline="", encoding="utf-8-sig") as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0]) == [
        "name", "setting", "group", "lr", "momentum", "nesterov", "weight_decay", "batch_size",
        "epochs", "seed", "lr_decay", "deskew", "ink_size", "blur_sigma", "status",
        "final_train_acc", "final_val_acc", "final_val_loss", "test_acc", "test_loss", "pass",
        "epochs_to_0.90", "epochs_to_0.92"]
    assert [r["name"] for r in rows] == [r["name"] for r in res["runs"]]
    for row, run in zip(rows, res["runs"]):
        assert row["setting"] == run["setting"] and row["status"] == run["status"]
        assert float(row["lr"]) == run["config"]["lr"]
        for k in ("final_train_acc", "final_val_acc", "test_acc"):
            assert (row[k] == "") if run[k] is None else float(row[k]) == run[k]
        assert row["pass"] == str(run.get("pass", ""))
        for t in ("0.90", "0.92"):
            e = run["epochs_to"][t]
            assert row[f"epochs_to_{t}"] == ("" if e is None else str(e))
    by_name = {r["name"]: r for r in rows}
    assert by_name["lr-100@s0"]["status"] == "diverged" and by_name["lr-100@s0"]["test_acc"] == ""
    assert by_name["momentum-0.9@s0"]["pass"] == "1" and by_name["bs-50@s0"]["pass"] == ""
    assert by_name["lr-0.1@s0"]["test_acc"] == "" and by_name["momentum-0@s0"]["test_acc"] != ""


def test_reference_model_and_examples(study, splits):
    res, out, models = study
    model, meta = load_model(out / "model.npz")
    assert meta["run"] == "momentum-0.9@s0" and meta["config"]["momentum"] == 0.9
    np.testing.assert_array_equal(model.W, models["momentum-0.9@s0"].W)
    with np.load(out / "examples.npz", allow_pickle=False) as z:
        ex_ = {k: z[k] for k in z.files}
    ref = next(r for r in res["runs"] if r["name"] == "momentum-0.9@s0")
    conf = ex_["confusion"]
    assert conf.shape == (10, 10) and conf.dtype == np.int64 and conf.sum() == len(splits.y_test)
    assert np.trace(conf) / conf.sum() == pytest.approx(ref["test_acc"])
    proba = model.predict_proba(splits.x_test)
    pred = proba.argmax(1)
    top = np.sort(proba, 1)
    for prefix in ("mistakes", "ambiguous"):
        assert ex_[f"{prefix}_images"].shape == (16, 28, 28)
        assert ex_[f"{prefix}_images"].dtype == np.uint8
        for k in ("true", "pred", "prob"):
            assert ex_[f"{prefix}_{k}"].shape == (16,)
    assert (ex_["mistakes_true"] != ex_["mistakes_pred"]).all()
    wrong_prob = top[pred != splits.y_test, -1]
    assert ex_["mistakes_prob"][-1] >= np.sort(wrong_prob)[-17]  # the 16 most confident ones
    assert (np.diff(ex_["mistakes_prob"]) <= 0).all()
    margin = top[:, -1] - top[:, -2]
    assert (np.diff(ex_["ambiguous_margin"]) >= 0).all()
    assert ex_["ambiguous_margin"][-1] <= np.sort(margin)[16]
    np.testing.assert_allclose(ex_["ambiguous_margin"], np.sort(margin)[:16], rtol=1e-5)
    assert ex_["class_means"].shape == (10, 28, 28) and ex_["class_means"].dtype == np.float32


def test_reference_retrained_when_not_kept_is_the_same_model(splits, tmp_path):
    # the reference trained alone (a single run), so its retraining is the same computation
    models: dict = {}
    res = runner.run_study([("momentum-0.9@s0", "momentum", TrainConfig(epochs=2, momentum=0.9))],
                       splits, models=models, time_epochs=False)
    artifacts.save_reference(tmp_path / "a", res, splits, models["momentum-0.9@s0"])
    assert artifacts.save_reference(tmp_path / "b", res, splits) == "momentum-0.9@s0"
    a, _ = load_model(tmp_path / "a" / "model.npz")
    b, _ = load_model(tmp_path / "b" / "model.npz")
    np.testing.assert_array_equal(a.W, b.W)


def test_real_test_images_and_class_means_go_into_examples(splits, tmp_path):
    res = runner.run_study([("momentum-0.9@s0", "momentum", TrainConfig(epochs=1, momentum=0.9))], splits)
    y = splits.y_test.copy()
    y[y == 7] = 1  # a class with no test image: its mean is zeros
    data = replace(splits, y_test=y)
    images = (np.arange(len(y) * 784, dtype=np.int64).reshape(-1, 28, 28) % 251).astype(np.uint8)
    artifacts.save_reference(tmp_path, res, data, images=images)
    with np.load(tmp_path / "examples.npz") as z:
        first = z["ambiguous_images"][0]
        means = z["class_means"]
    assert any((first == images[i]).all() for i in range(len(images)))
    for c in range(10):
        want = images[y == c].mean(axis=0) if c != 7 else np.zeros((28, 28))
        np.testing.assert_allclose(means[c], want, rtol=1e-6)
    assert means[3].max() > 0


def test_no_reference_when_everything_diverged(splits, tmp_path):
    res = runner.run_study([("x@s0", "g", TrainConfig(epochs=1, lr=100.0, momentum=0.9))], splits)
    assert res["best"] == {"g": None, "overall": None} and res["meta"]["reference"] is None
    assert artifacts.save_reference(tmp_path, res, splits) is None
    rs.save_results(res, tmp_path)
    assert not (tmp_path / "model.npz").exists()


# ---- grids ---------------------------------------------------------------------------------


def grid(text: str, seed: int = 0):
    return plans.grid_plan(tomllib.loads(text), seed)


def test_grid_plan_every_combination_in_file_order():
    plan = grid("[grid]\nlr = [0.01, 0.1]\nmomentum = [0, 0.9]\nbatch_size = [100]\n"
                "[fixed]\nepochs = 5\n", seed=4)
    assert [n for n, _, _ in plan] == [
        "lr=0.01,momentum=0,batch_size=100@s4", "lr=0.01,momentum=0.9,batch_size=100@s4",
        "lr=0.1,momentum=0,batch_size=100@s4", "lr=0.1,momentum=0.9,batch_size=100@s4"]
    assert {g for _, g, _ in plan} == {"grid"}
    assert plan[3][2] == TrainConfig(epochs=5, lr=0.1, momentum=0.9, batch_size=100, seed=4)


def test_grid_seeds_gives_each_setting_n_seeds():
    plan = grid("seeds = 3\n[grid]\nlr = [0.01, 0.1]\n", seed=2)
    assert [n for n, _, _ in plan] == ["lr=0.01@s2", "lr=0.1@s2", "lr=0.01@s3", "lr=0.1@s3",
                                       "lr=0.01@s4", "lr=0.1@s4"]
    assert [c.seed for _, _, c in plan] == [2, 2, 3, 3, 4, 4]
    assert {rs.setting_name(n) for n, _, _ in plan} == {"lr=0.01", "lr=0.1"}
    # seeds count from the file's own seed when it fixes one
    assert {c.seed for _, _, c in grid("seeds = 2\n[grid]\nlr=[0.1]\n[fixed]\nseed=9\n")} == {9, 10}


def test_grid_seed_in_the_file_wins_and_can_be_swept():
    assert {c.seed for _, _, c in grid("[grid]\nlr=[0.1]\n[fixed]\nseed=9\n", seed=4)} == {9}
    plan = grid("[grid]\nseed = [0, 1, 2]\n", seed=4)
    assert [c.seed for _, _, c in plan] == [0, 1, 2]
    assert [n for n, _, _ in plan] == ["seed@s0", "seed@s1", "seed@s2"]  # one setting, 3 seeds


@pytest.mark.parametrize("text, words", [
    ("[fixed]\nepochs = 5\n", "[grid]"),
    ("[grid]\n", "[grid]"),
    ("[grid]\nlr = 0.1\n", "grid.lr must be a non-empty list"),
    ("[grid]\nlr = []\n", "grid.lr must be a non-empty list"),
    ("[grid]\nlearning_rate = [0.1]\n", "[grid]: unknown setting(s) learning_rate"),
    ("[grid]\nlr = [0.1]\n[fixed]\nepoch = 5\n", "[fixed]: unknown setting(s) epoch"),
    ("[grid]\nlr = [0.1]\n[other]\nx = 1\n", "unknown key(s) other"),
    ("[grid]\nlr = [0.1]\n[fixed]\nlr = 0.2\n", "lr is in both"),
    ("[grid]\npreprocess = ['course', 'unit']\n", "grid.preprocess cannot vary"),
    ("[grid]\nlr = [0.1, 0.1]\n", "grid.lr lists a value twice"),
    ("[grid]\nlr = [-1.0]\n", "grid run lr=-1: learning rate"),
    ("[grid]\nmomentum = [0.0]\nnesterov = [true]\n", "Nesterov"),
    ("[grid]\nlr = [0.1]\n[fixed]\nepochs = 0\n", "[fixed]: epochs"),
    ("fixed = 3\n[grid]\nlr = [0.1]\n", "fixed must be a table"),
    ("[grid]\nlr = " + str([0.001 * i for i in range(1, 21)]) + "\nbatch_size = "
     + str(list(range(1, 12))) + "\n", "220 runs (20 lr x 11 batch_size); at most 200"),
    ("seeds = 3\n[grid]\nlr = " + str([0.001 * i for i in range(1, 21)]) + "\nbatch_size = "
     + str(list(range(1, 5))) + "\n", "240 runs (20 lr x 4 batch_size x 3 seeds)"),
    ("seeds = 0\n[grid]\nlr = [0.1]\n", "seeds must be a whole number in 1..10, got 0"),
    ("seeds = 11\n[grid]\nlr = [0.1]\n", "seeds must be a whole number"),
    ("seeds = '3'\n[grid]\nlr = [0.1]\n", "seeds must be a whole number"),
    ("seeds = true\n[grid]\nlr = [0.1]\n", "seeds must be a whole number"),
    ("seeds = 2.0\n[grid]\nlr = [0.1]\n", "seeds must be a whole number"),
    ("seeds = 2\n[grid]\nseed = [0, 1]\n", "either seeds = N or a list of seeds"),
])
def test_grid_errors_are_one_line_and_name_the_key(text, words):
    with pytest.raises(ConfigError) as e:
        grid(text)
    msg = str(e.value)
    assert words in msg and "\n" not in msg


def test_grid_ignores_a_data_dir_key():
    assert len(grid("data_dir = '/x'\n[grid]\nlr = [0.1, 0.2]\n")) == 2


def test_grid_timing_plan_one_setting_per_batch_size_and_optimizer_kind():
    plan = grid("seeds = 2\n[grid]\nlr = [0.01, 0.1]\nmomentum = [0, 0.9]\nbatch_size = [50, 100]\n")
    timed = plans.timing_plan(plan)
    assert list(timed) == ["lr=0.01,momentum=0,batch_size=50", "lr=0.01,momentum=0,batch_size=100",
                           "lr=0.01,momentum=0.9,batch_size=50", "lr=0.01,momentum=0.9,batch_size=100"]
    assert {c.seed for c in timed.values()} == {0}


def test_json_safe_turns_non_finite_into_null():
    assert rs.json_safe({"a": [1.0, math.nan, math.inf], "b": (2, None)}) == \
        {"a": [1.0, None, None], "b": [2, None]}


# ---- results.py on hand-made numbers -------------------------------------------------------


def test_run_names_and_settings():
    assert rs.run_name("momentum-0.9", 2) == "momentum-0.9@s2"
    assert rs.setting_name("momentum-0.9@s2") == "momentum-0.9"
    assert rs.setting_name("lr=0.01,momentum=0.9@s10") == "lr=0.01,momentum=0.9"
    assert rs.setting_name("no-seed") == "no-seed"


def test_stat_mean_and_sample_sd():
    s = rs.stat([0.90, None, 0.92, 0.94])
    assert s.values == (0.90, 0.92, 0.94) and s.n == 3
    assert s.mean == pytest.approx(0.92) and s.sd == pytest.approx(0.02)  # n - 1 in the sd
    assert rs.stat([0.5]).sd == 0.0 and math.isnan(rs.stat([]).mean) and rs.stat([]).n == 0


M = 5000  # validation images


def paired_setting(setting, correct_by_seed, loss=0.3):
    """A results dict's runs of ``setting``: one per seed, with its per-image correctness."""
    return [{"name": rs.run_name(setting, k), "setting": setting, "group": "g",
             "config": {"lr": 0.01, "seed": k}, "status": "ok",
             "history": {"train_loss": [loss], "train_acc": [0.9], "val_loss": [0.3],
                         "val_acc": [float(c.mean())]},
             "final_val_acc": float(c.mean()), "val_correct": rs.pack_correct(c)}
            for k, c in enumerate(correct_by_seed)]


def pair(a_seeds, b_seeds, loss_b=0.3):
    res = {"setup": {"n_val": M}, "meta": {}, "runs": paired_setting("a", a_seeds)
           + paired_setting("b", b_seeds, loss_b)}
    return rs.summarize(res, "a"), rs.summarize(res, "b")


def base_seeds(rng, p=0.92):
    return [rng.random(M) < p for _ in range(3)]


def test_per_image_correctness_round_trips_through_results_json():
    c = np.random.default_rng(0).random(M) < 0.9
    run = json.loads(json.dumps({"val_correct": rs.pack_correct(c)}))
    assert np.array_equal(rs.correct_of(run, M), c)
    assert rs.correct_of({}, M) is None and rs.correct_of({"val_correct": "!!"}, M) is None


def test_the_paired_rule_finds_a_consistent_small_gain():
    """b gets 25 more of the same images right in every seed (0.5 points): the rule, which pairs
    the two on the same images, finds it; two independent binomial errors (the old rule's
    bound of about 1.1 points) would not."""
    rng = np.random.default_rng(1)
    a = base_seeds(rng)
    fix = [np.flatnonzero(~c)[:25] for c in a]  # 25 images a gets wrong, b right, per seed
    b = [c.copy() for c in a]
    for c, idx in zip(b, fix):
        c[idx] = True
    sa, sb = pair(a, b, loss_b=0.28)
    c = rs.compare(sa, sb, M)
    assert c.paired and c.gain == pytest.approx(0.005) and c.per_seed == pytest.approx((0.005,) * 3)
    assert c.real and c.noise < 0.005 and rs.differs(sa, sb, M)
    unpaired = 2 * math.sqrt(2 * 0.92 * 0.08 / M)
    assert unpaired > 0.01 > c.gain  # the old rule's bound: 'within noise'
    assert c.loss_gain == pytest.approx(-0.02) and c.loss_real  # lower loss in every seed
    assert not rs.compare(sb, sb, M).real


@pytest.mark.parametrize("per_seed", [(30, -10, 25), (75, 5, 5)])
def test_the_paired_rule_does_not_call_a_seed_noise_gap_real(per_seed):
    """b's lead changes from seed to seed: opposite signs, or one seed carrying the mean
    (0.5, 0.03, 0.03 points: beyond two standard errors only if the seeds are ignored)."""
    rng = np.random.default_rng(2)
    a = base_seeds(rng)
    b = []
    for c, k in zip(a, per_seed):
        c2 = c.copy()
        idx = np.flatnonzero(~c if k > 0 else c)[: abs(k)]
        c2[idx] = k > 0
        b.append(c2)
    sa, sb = pair(a, b)
    c = rs.compare(sa, sb, M)
    assert c.gain == pytest.approx(sum(per_seed) / 3 / M)
    assert not c.real and not rs.differs(sa, sb, M)


def test_the_paired_rule_without_per_image_data_falls_back_to_binomial_errors():
    rng = np.random.default_rng(3)
    sa, sb = pair(base_seeds(rng), base_seeds(rng, 0.95))
    sa = replace(sa, by_seed={k: (v[0], v[1], None) for k, v in sa.by_seed.items()})
    c = rs.compare(sa, sb, M)
    assert not c.paired and c.real  # 3 points apart: beyond even the unpaired bound


def hand_run(setting, seed, val_acc, status="ok", group="g", test_acc=None, **config):
    n = len(val_acc)
    ok = status == "ok"
    return {"name": rs.run_name(setting, seed), "setting": setting, "group": group,
            "config": {"lr": 0.01, **config, "seed": seed}, "status": status,
            "history": {"train_loss": [1.0 / (e + 1) for e in range(n)],
                        "train_acc": [a - 0.01 for a in val_acc], "val_loss": [1 - a for a in val_acc],
                        "val_acc": list(val_acc)},
            "epochs_to": {"0.90": next((e + 1 for e, a in enumerate(val_acc) if a >= 0.9), None),
                          "0.92": None},
            "final_val_acc": val_acc[-1] if ok else None,
            "final_train_acc": val_acc[-1] + 0.02 if ok else None,
            "test_acc": test_acc}


@pytest.fixture()
def hand_results():
    runs = [hand_run("x", 0, [0.5, 0.8, 0.90]), hand_run("x", 1, [0.6, 0.9, 0.96]),
            hand_run("x", 2, [0.4], status="diverged"),
            hand_run("y", 0, [0.7, 0.8, 0.85], test_acc=0.84), hand_run("y", 1, [0.7, 0.8, 0.87]),
            hand_run("z", 0, [0.5, 0.6], group="h")]
    return {"meta": {"thresholds": [0.9, 0.92]}, "runs": runs}


def test_summarize_over_seeds(hand_results):
    x = rs.summarize(hand_results, "x")
    assert x.setting == "x" and x.group == "g" and x.seeds == (0, 1, 2) and x.config["seed"] == 0
    assert x.diverged == 1 and not x.ok
    assert x.val_acc.values == (0.90, 0.96) and x.val_acc.mean == pytest.approx(0.93)
    assert x.train_acc.mean == pytest.approx(0.95) and x.test_acc.n == 0
    assert x.train_loss.values == (1 / 3, 1 / 3)
    assert [s.mean for s in x.curves["val_acc"]] == pytest.approx([0.55, 0.85, 0.93])  # ok seeds
    assert x.curves["val_acc"][1].sd == pytest.approx(statistics.stdev([0.8, 0.9]))
    assert x.epochs_to == {"0.90": [3, 2, None], "0.92": [None, None, None]}
    y = rs.summarize(hand_results, "y")
    assert y.ok and y.test_acc.values == (0.84,) and len(y.curves["train_loss"]) == 3
    assert rs.summarize(hand_results, "nothing") is None
    assert [s.setting for s in rs.summaries(hand_results, "g")] == ["x", "y"]
    assert rs.settings_of(hand_results, "h") == ["z"] and len(rs.runs_of(hand_results, "x")) == 3


def test_best_setting_never_one_with_a_diverged_seed(hand_results):
    items = rs.summaries(hand_results, "g")
    assert items[0].val_acc.mean > items[1].val_acc.mean  # x is ahead on its good seeds ...
    assert rs.best_setting(items).setting == "y"           # ... but one of its seeds diverged
    assert rs.best_setting(items[:1]) is None


def test_median_epoch():
    assert rs.median_epoch([3, 1, 2]) == 2 and rs.median_epoch([1, 4]) == 2.5
    assert rs.median_epoch([1, None, 2]) is None and rs.median_epoch([]) is None
