"""The study runner: run entries, divergence, choices on validation only, determinism, grids."""

from __future__ import annotations

import csv
import json
import math
from dataclasses import replace

import numpy as np
import pytest

from softmax_mnist import experiments as ex
from softmax_mnist.config import TrainConfig, tomllib
from softmax_mnist.datasets import Splits
from softmax_mnist.errors import ConfigError, DivergenceError
from softmax_mnist.modelfile import load_model
from softmax_mnist.solver import History, evaluate

TIME_KEYS = {"seconds", "seconds_per_epoch", "seconds_to"}


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
    runs = []
    for r in results["runs"]:
        r = {k: v for k, v in r.items() if k not in TIME_KEYS | {"test_acc", "test_loss"}}
        r["history"] = {k: v for k, v in r["history"].items() if k != "epoch_time"}
        runs.append(r)
    return {"runs": runs, "groups": results["groups"], "best": results["best"],
            "reference": results["meta"]["reference"], "setup": results["setup"]}


def without_times(results: dict) -> list[dict]:
    runs = []
    for r in results["runs"]:
        r = {k: v for k, v in r.items() if k not in TIME_KEYS}
        r["history"] = {k: v for k, v in r["history"].items() if k != "epoch_time"}
        runs.append(r)
    return runs


# ---- one run -------------------------------------------------------------------------------


def test_run_one_records_what_the_schema_asks(splits):
    config = TrainConfig(epochs=3, batch_size=50, lr=0.05, momentum=0.9)
    r = ex.run_one("a", "g", config, splits)
    assert r["name"] == "a" and r["group"] == "g" and r["config"] == config.to_dict()
    assert r["status"] == "ok" and r["error"] is None
    h = r["history"]
    assert set(h) == {"train_loss", "train_acc", "val_loss", "val_acc", "epoch_time"}
    assert all(len(v) == 3 for v in h.values())
    assert r["final_val_acc"] == h["val_acc"][-1] and r["final_val_loss"] == h["val_loss"][-1]
    assert r["seconds_per_epoch"] == pytest.approx(sum(h["epoch_time"]) / 3)
    assert r["seconds"] >= sum(h["epoch_time"])
    assert 0 <= r["test_acc"] <= 1 and r["test_loss"] > 0
    # the test numbers are those of the final model, computed the one way
    from softmax_mnist.runs import train_model
    model, _ = train_model(config, splits)
    assert (r["test_loss"], r["test_acc"]) == evaluate(model, splits.x_test, splits.y_test)


@pytest.mark.parametrize("val_acc, want", [
    ([0.5, 0.91, 0.95], {"0.90": 2, "0.92": 3}),
    ([0.92, 0.5, 0.95], {"0.90": 1, "0.92": 1}),   # the first epoch at or over, not the last
    ([0.5, 0.89, 0.9], {"0.90": 3, "0.92": None}),
    ([0.1, 0.2, 0.3], {"0.90": None, "0.92": None}),
])
def test_epochs_and_seconds_to_threshold(monkeypatch, splits, val_acc, want):
    hist = History(train_loss=[1.0] * 3, train_acc=[0.5] * 3, val_loss=[1.0] * 3,
                   val_acc=val_acc, epoch_time=[0.5, 1.0, 2.0])
    monkeypatch.setattr(ex, "train_model", lambda config, data, log=None, **_: (_model(splits), hist))
    r = ex.run_one("a", "g", TrainConfig(epochs=3), splits)
    assert r["epochs_to"] == want
    elapsed = {1: 0.5, 2: 1.5, 3: 3.5}
    assert r["seconds_to"] == {k: None if e is None else elapsed[e] for k, e in want.items()}


def _model(data):
    from softmax_mnist.model import SoftmaxRegression
    return SoftmaxRegression(data.x_train.shape[1], 10)


def test_a_diverging_run_is_recorded_with_its_partial_history(monkeypatch, splits):
    # two whole epochs, then a third whose mean training loss blew up (train lists one longer)
    hist = History(train_loss=[1.0, 0.8, 99.0], train_acc=[0.6, 0.7, 0.1],
                   val_loss=[0.9, 0.7], val_acc=[0.91, 0.93], epoch_time=[0.1, 0.1, 0.1])

    def diverge(config, data, log=None, **_):
        raise DivergenceError("training diverged in epoch 3: ...", history=hist)

    monkeypatch.setattr(ex, "train_model", diverge)
    r = ex.run_one("lr-9", "lr", TrainConfig(lr=9.0), splits)
    assert r["status"] == "diverged" and "diverged in epoch 3" in r["error"]
    assert r["history"]["val_acc"] == [0.91, 0.93]
    assert all(len(v) == 2 for v in r["history"].values())  # whole epochs only
    assert r["epochs_to"] == {"0.90": 1, "0.92": 2}
    for k in ("final_val_acc", "final_val_loss", "test_acc", "test_loss"):
        assert r[k] is None
    # even with the best validation numbers so far, a diverged run is never the best
    ok = {"name": "ok", "status": "ok", "final_val_acc": 0.5}
    assert ex.best_run([{**r, "final_val_acc": 0.99}, ok]) == "ok"
    assert ex.best_run([r]) is None


def test_divergence_is_recorded_and_the_sweep_goes_on(splits):
    base = TrainConfig(epochs=2, batch_size=100, lr=0.05, momentum=0.9)
    plan = [("lr-0.05", "lr", base), ("lr-100", "lr", replace(base, lr=100.0)),
            ("lr-0.01", "lr", replace(base, lr=0.01))]
    lines: list[str] = []
    res = ex.run_study(plan, splits, lines.append)
    status = {r["name"]: r["status"] for r in res["runs"]}
    assert status == {"lr-0.05": "ok", "lr-100": "diverged", "lr-0.01": "ok"}
    bad = res["runs"][1]
    assert "diverged" in bad["error"] and "learning rate 100" in bad["error"]
    assert bad["test_acc"] is None and bad["final_val_acc"] is None
    assert res["best"]["lr"] in ("lr-0.05", "lr-0.01")
    assert len(lines) == 3 and "diverged" in lines[1] and "lr-100" in lines[1]


def test_non_finite_loss_is_divergence_too(splits):
    with np.errstate(over="ignore", invalid="ignore"):
        r = ex.run_one("x", "g", TrainConfig(epochs=2, lr=1e30, momentum=0.9), splits)
    assert r["status"] == "diverged" and r["test_acc"] is None


# ---- the study -----------------------------------------------------------------------------


def test_study_plan_is_the_course_study():
    plan = ex.study_plan(quick=False, seed=3)
    names = [n for n, _, _ in plan]
    assert len(set(names)) == len(names)
    cfg = {n: c for n, _, c in plan}
    course = TrainConfig(epochs=10, batch_size=100, lr=0.01, momentum=0.0, seed=3)
    assert cfg["momentum-0"] == course
    assert cfg["momentum-0.9"] == replace(course, momentum=0.9)
    assert cfg["nesterov-0.9"] == replace(course, momentum=0.9, nesterov=True)
    assert [c.lr for n, g, c in plan if g == "lr"] == [0.001, 0.005, 0.01, 0.05, 0.1, 0.5]
    assert all(c.momentum == 0.9 and c.epochs == 10 for n, g, c in plan if g == "lr")
    bs = [c for n, g, c in plan if g == "batch_size"]
    assert [c.batch_size for c in bs] == [1, 10, 20, 50, 100, 200, 500, 1000]
    assert {(c.epochs, c.lr, c.momentum) for c in bs} == {(ex.BATCH_EPOCHS, 0.01, 0.9)}
    assert {c.seed for c in cfg.values()} == {3}  # one seed: same init and data order for all
    quick = ex.study_plan(quick=True)
    assert len(quick) < len(plan) and {c.epochs for _, _, c in quick} == {ex.QUICK["epochs"]}
    (best,) = [c for n, g, c in plan if g == "preset"]  # the most accurate setting, one row
    assert best.transform() is not None and best.epochs == 20 and best.seed == 3


def course_plan(**kw):
    """The study without its preset row, whose transformed images need real MNIST digits."""
    return [p for p in ex.study_plan(**kw) if p[1] != "preset"]


def test_study_results_shape_and_best_on_validation(splits):
    models: dict = {}
    res = ex.run_study(course_plan(quick=True), splits, meta={"quick": True}, models=models)
    assert set(res) == {"meta", "setup", "runs", "groups", "best"}
    assert res["meta"]["quick"] is True and res["meta"]["thresholds"] == [0.9, 0.92]
    assert res["setup"]["n_train"] == 1200 and res["setup"]["n_test"] == 400
    assert res["groups"]["momentum"] == ["momentum-0", "momentum-0.9", "nesterov-0.9"]
    for group, names in res["groups"].items():
        runs = [r for r in res["runs"] if r["name"] in names]
        top = max(r["final_val_acc"] for r in runs if r["status"] == "ok")
        best = next(r for r in runs if r["name"] == res["best"][group])
        assert best["final_val_acc"] == top
        assert best["name"] == next(r["name"] for r in runs if r["final_val_acc"] == top)
    overall = max(r["final_val_acc"] for r in res["runs"])
    assert next(r for r in res["runs"] if r["name"] == res["best"]["overall"])["final_val_acc"] \
        == overall
    assert res["meta"]["reference"] == "momentum-0.9"
    assert set(models) == {r["name"] for r in res["runs"]}


def test_momentum_runs_share_init_and_data_order(splits):
    """Same init and same batches: the first loss is equal for all three; plain SGD and heavy
    ball take the same first step (v = -lr g), Nesterov a longer one, so they part after."""
    from softmax_mnist.runs import train_model

    cfg = {n: c for n, g, c in ex.study_plan(quick=True) if g == "momentum"}
    loss = {n: train_model(c, splits)[1].iter_loss[:3] for n, c in cfg.items()}
    assert loss["momentum-0"][0] == loss["momentum-0.9"][0] == loss["nesterov-0.9"][0]
    assert loss["momentum-0"][1] == loss["momentum-0.9"][1] != loss["nesterov-0.9"][1]
    assert loss["momentum-0"][2] != loss["momentum-0.9"][2]


def test_shuffling_the_test_set_changes_no_choice(splits):
    """THE test: the test split is only reported. Permuting its labels and replacing its images
    leaves every choice, every validation number and every trained weight unchanged."""
    plan = course_plan(quick=True)
    models_a: dict = {}
    models_b: dict = {}
    a = ex.run_study(plan, splits, models=models_a)
    b = ex.run_study(plan, shuffled_test(splits), models=models_b)
    assert choices(a) == choices(b)
    assert a["best"] == b["best"]
    for name in models_a:
        np.testing.assert_array_equal(models_a[name].params["W"], models_b[name].params["W"])
    # and the test metrics did see the change (so the check above has teeth)
    assert [r["test_acc"] for r in a["runs"]] != [r["test_acc"] for r in b["runs"]]


def test_shuffling_the_test_set_changes_no_choice_on_real_mnist(mnist_splits):
    d = mnist_splits
    q = ex.QUICK
    data = replace(d, x_train=d.x_train[:q["n_train"]], y_train=d.y_train[:q["n_train"]],
                   x_val=d.x_val[:q["n_val"]], y_val=d.y_val[:q["n_val"]],
                   x_test=d.x_test[:q["n_test"]], y_test=d.y_test[:q["n_test"]])
    plan = course_plan(quick=True)
    a = ex.run_study(plan, data)
    b = ex.run_study(plan, shuffled_test(data))
    assert choices(a) == choices(b)


def test_same_seed_same_numbers_other_seed_other_numbers(splits):
    plan = course_plan(quick=True, seed=5)
    a, b = ex.run_study(plan, splits), ex.run_study(plan, splits)
    assert without_times(a) == without_times(b)
    c = ex.run_study(course_plan(quick=True, seed=6), splits)
    assert [r["history"]["val_loss"] for r in a["runs"]] != \
        [r["history"]["val_loss"] for r in c["runs"]]


def test_an_identical_setting_is_reused_not_retrained(splits):
    cfg = TrainConfig(epochs=2, lr=0.05, momentum=0.9)
    lines: list[str] = []
    res = ex.run_study([("a", "g1", cfg), ("b", "g2", cfg)], splits, lines.append)
    a, b = res["runs"]
    assert {**a, "name": "b", "group": "g2"} == b
    assert "same setting as a" in lines[1]


def test_verbose_logs_each_epoch(splits):
    lines: list[str] = []
    plan = [("a", "g", TrainConfig(epochs=3, lr=0.05))]
    ex.run_study(plan, splits, lines.append, verbose=True)
    assert sum(line.startswith("  a: epoch") for line in lines) == 3 and len(lines) == 4


@pytest.mark.parametrize("plan, data, words", [
    ([("a", "g", TrainConfig()), ("a", "h", TrainConfig())], None, "unique"),
    ([("a", "g", TrainConfig(batch_size=5000))], None, "batch size 5000"),
    ([("a", "g", TrainConfig())], "no-val", "val_size"),
])
def test_run_study_refuses_bad_plans_before_training(splits, plan, data, words):
    if data == "no-val":
        splits = replace(splits, x_val=splits.x_val[:0], y_val=splits.y_val[:0])
    with pytest.raises(ConfigError) as e:
        ex.run_study(plan, splits)
    assert words in str(e.value) and "\n" not in str(e.value)


# ---- writing -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def study(splits, tmp_path_factory):
    base = TrainConfig(epochs=2, batch_size=100, lr=0.01, momentum=0.9)
    plan = [("momentum-0", "momentum", replace(base, momentum=0.0)), ("momentum-0.9", "momentum", base),
            ("lr-100", "lr", replace(base, lr=100.0)), ("lr-0.1", "lr", replace(base, lr=0.1))]
    models: dict = {}
    res = ex.run_study(plan, splits, models=models)
    out = tmp_path_factory.mktemp("study")
    ex.save_results(res, out)
    ex.save_reference(out, res, splits, models["momentum-0.9"])
    return res, out, models


def test_results_json_and_csv_agree(study):
    res, out, _ = study
    text = (out / "results.json").read_text()
    saved = json.loads(text, parse_constant=lambda c: pytest.fail(f"{c} in results.json"))
    assert saved == json.loads(json.dumps(res))
    with open(out / "results.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0]) == [
        "name", "group", "lr", "momentum", "nesterov", "weight_decay", "batch_size", "epochs",
        "seed", "status", "final_val_acc", "final_val_loss", "test_acc", "test_loss", "seconds",
        "seconds_per_epoch", "epochs_to_0.90", "seconds_to_0.90", "epochs_to_0.92",
        "seconds_to_0.92"]
    assert [r["name"] for r in rows] == [r["name"] for r in res["runs"]]
    for row, run in zip(rows, res["runs"]):
        assert row["status"] == run["status"] and float(row["lr"]) == run["config"]["lr"]
        for k in ("final_val_acc", "test_acc", "seconds"):
            assert (row[k] == "") if run[k] is None else float(row[k]) == run[k]
        for t in ("0.90", "0.92"):
            e = run["epochs_to"][t]
            assert row[f"epochs_to_{t}"] == ("" if e is None else str(e))
    diverged = next(r for r in rows if r["name"] == "lr-100")
    assert diverged["status"] == "diverged" and diverged["test_acc"] == ""


def test_reference_model_and_examples(study, splits):
    res, out, models = study
    model, meta = load_model(out / "model.npz")
    assert meta["run"] == "momentum-0.9" and meta["config"]["momentum"] == 0.9
    np.testing.assert_array_equal(model.W, models["momentum-0.9"].W)
    with np.load(out / "examples.npz", allow_pickle=False) as z:
        ex_ = {k: z[k] for k in z.files}
    ref = next(r for r in res["runs"] if r["name"] == "momentum-0.9")
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


def test_reference_retrained_when_not_kept_is_the_same_model(study, splits, tmp_path):
    res, out, _ = study
    assert ex.save_reference(tmp_path, res, splits) == "momentum-0.9"
    a, _ = load_model(out / "model.npz")
    b, _ = load_model(tmp_path / "model.npz")
    np.testing.assert_array_equal(a.W, b.W)


def test_real_test_images_go_into_examples(splits, tmp_path):
    res = ex.run_study([("momentum-0.9", "momentum", TrainConfig(epochs=1, momentum=0.9))], splits)
    images = np.arange(len(splits.y_test) * 784, dtype=np.int64).reshape(-1, 28, 28) % 251
    ex.save_reference(tmp_path, res, splits, images=images.astype(np.uint8))
    with np.load(tmp_path / "examples.npz") as z:
        first = z["ambiguous_images"][0]
    assert any((first == images[i]).all() for i in range(len(images)))


def test_no_reference_when_everything_diverged(splits, tmp_path):
    res = ex.run_study([("x", "g", TrainConfig(epochs=1, lr=100.0, momentum=0.9))], splits)
    assert res["best"] == {"g": None, "overall": None} and res["meta"]["reference"] is None
    assert ex.save_reference(tmp_path, res, splits) is None
    ex.save_results(res, tmp_path)
    assert not (tmp_path / "model.npz").exists()


# ---- grids ---------------------------------------------------------------------------------


def grid(text: str, seed: int = 0):
    return ex.grid_plan(tomllib.loads(text), seed)


def test_grid_plan_every_combination_in_file_order():
    plan = grid("[grid]\nlr = [0.01, 0.1]\nmomentum = [0, 0.9]\nbatch_size = [100]\n"
                "[fixed]\nepochs = 5\n", seed=4)
    assert [n for n, _, _ in plan] == [
        "lr=0.01,momentum=0,batch_size=100", "lr=0.01,momentum=0.9,batch_size=100",
        "lr=0.1,momentum=0,batch_size=100", "lr=0.1,momentum=0.9,batch_size=100"]
    assert {g for _, g, _ in plan} == {"grid"}
    assert plan[3][2] == TrainConfig(epochs=5, lr=0.1, momentum=0.9, batch_size=100, seed=4)


def test_grid_seed_in_the_file_wins_and_can_be_swept():
    assert {c.seed for _, _, c in grid("[grid]\nlr=[0.1]\n[fixed]\nseed=9\n", seed=4)} == {9}
    plan = grid("[grid]\nseed = [0, 1, 2]\n", seed=4)
    assert [c.seed for _, _, c in plan] == [0, 1, 2] and plan[0][0] == "seed=0"


@pytest.mark.parametrize("text, words", [
    ("[fixed]\nepochs = 5\n", "[grid]"),
    ("[grid]\n", "[grid]"),
    ("[grid]\nlr = 0.1\n", "grid.lr must be a non-empty list"),
    ("[grid]\nlr = []\n", "grid.lr must be a non-empty list"),
    ("[grid]\nlearning_rate = [0.1]\n", "grid.learning_rate is not a setting"),
    ("[grid]\nlr = [0.1]\n[fixed]\nepoch = 5\n", "fixed.epoch is not a setting"),
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
])
def test_grid_errors_are_one_line_and_name_the_key(text, words):
    with pytest.raises(ConfigError) as e:
        grid(text)
    msg = str(e.value)
    assert words in msg and "\n" not in msg


def test_grid_ignores_a_data_dir_key():
    assert len(grid("data_dir = '/x'\n[grid]\nlr = [0.1, 0.2]\n")) == 2


def test_json_safe_turns_non_finite_into_null():
    assert ex._json_safe({"a": [1.0, math.nan, math.inf], "b": (2, None)}) == \
        {"a": [1.0, None, None], "b": [2, None]}


def test_a_sweep_trains_settings_stacked_and_matches_separate_runs(splits):
    """Settings differing only in optimizer numbers train in one pass, with the same results."""
    base = TrainConfig(epochs=2, batch_size=50, lr=0.05, momentum=0.9)
    plan = [("a", "grid", base), ("b", "grid", replace(base, lr=0.01)),
            ("c", "grid", replace(base, momentum=0.0)), ("d", "grid", replace(base, lr=1e6)),
            ("e", "grid", replace(base, weight_decay=1e-3)), ("f", "other", replace(base, batch_size=64))]
    assert [[n for n, _, _ in b] for b in ex._stack_buckets(plan, set())] == [["a", "b", "c", "d", "e"]]
    stacked = ex.run_study(plan, splits)
    separate = ex.run_study(plan, splits, stack=False)
    for r1, r2 in zip(stacked["runs"], separate["runs"]):
        assert r1["status"] == r2["status"], r1["name"]
        assert ("stacked_with" in r1) == (r1["name"] in "abcde") and "stacked_with" not in r2
        if r1["status"] == "ok":
            assert r1["final_val_acc"] == pytest.approx(r2["final_val_acc"], abs=2 / len(splits.x_val))
            np.testing.assert_allclose(r1["history"]["train_loss"], r2["history"]["train_loss"],
                                       rtol=1e-4)
    assert {r["name"]: r["status"] for r in stacked["runs"]}["d"] == "diverged"
    assert stacked["best"] == separate["best"]


def test_the_momentum_group_is_never_stacked_and_repeats_are_not_retrained():
    base = TrainConfig(epochs=1)
    plan = [("m0", "momentum", base), ("m9", "momentum", replace(base, momentum=0.9)),
            ("l1", "lr", replace(base, momentum=0.9)), ("l2", "lr", replace(base, lr=0.1, momentum=0.9)),
            ("l3", "lr", replace(base, lr=0.2, momentum=0.9))]
    assert [[n for n, _, _ in b] for b in ex._stack_buckets(plan, set())] == [["l2", "l3"]]
    assert ex._stack_buckets(plan, {"l3"}) == []
