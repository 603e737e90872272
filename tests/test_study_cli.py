"""`softmax-mnist study / sweep / report` end to end on real MNIST, and the course numbers."""

from __future__ import annotations

import contextlib
import csv
import io
import json

import numpy as np
import pytest

from softmax_mnist.apps.cli import main
from softmax_mnist.core.config import TrainConfig
from softmax_mnist.study import plans, runner


@pytest.fixture(scope="module")
def quick_study(mnist_dir, tmp_path_factory):
    """One `softmax-mnist study --quick` on real MNIST, shared by the tests below."""
    out = tmp_path_factory.mktemp("cli") / "study"
    buf = io.StringIO()  # capsys is function-scoped, so capture by hand
    with contextlib.redirect_stdout(buf):
        rc = main(["study", "--quick", "--data-dir", str(mnist_dir), "--out", str(out), "--lang", "en"])
    return rc, out, buf.getvalue()


def test_study_quick_writes_a_consistent_folder(quick_study):
    rc, out, printed = quick_study
    assert rc == 0
    for name in ("results.json", "results.csv", "model.npz", "examples.npz", "report.en.pdf",
                 "report.en.md", "report.en.typ", "template.typ"):  # English: report.en.*
        assert (out / name).is_file(), name
    assert not (out / "report.md").exists()  # the Chinese name stays free for the Chinese report
    res = json.loads((out / "results.json").read_text())
    plan = plans.study_plan(quick=True)
    assert [r["name"] for r in res["runs"]] == [n for n, _, _ in plan]
    assert res["meta"]["quick"] is True and res["meta"]["seeds"] == [0, 1, 2]
    assert "data_dir" not in res["meta"]  # no path of this machine in the results
    assert res["setup"] == {**res["setup"], "n_train": 5000, "n_val": 1000, "n_test": 2000}
    with open(out / "results.csv", newline="", encoding="utf-8-sig") as f:
        rows = {r["name"]: r for r in csv.DictReader(f)}
    for run in res["runs"]:
        row = rows[run["name"]]
        assert run["status"] == row["status"] == "ok"
        for k in ("final_val_acc", "final_train_acc"):
            assert float(row[k]) == run[k]
        assert run["final_val_acc"] == run["history"]["val_acc"][-1]
        assert len(run["history"]["val_acc"]) == run["config"]["epochs"] == 2
        # the test split only for the final models
        assert (run["test_acc"] is not None) == (run["setting"] in plans.FINAL), run["name"]
    from softmax_mnist.study.results import summaries

    lr = summaries(res, "lr")
    assert res["best"]["lr"] == max(lr, key=lambda s: s.val_acc.mean).setting
    # the reference model is momentum-0.9's first seed, and its test accuracy the recorded one
    with np.load(out / "examples.npz") as z:
        conf = z["confusion"]
    ref = next(r for r in res["runs"] if r["name"] == "momentum-0.9@s0")
    assert res["meta"]["reference"] == "momentum-0.9@s0"
    assert conf.sum() == 2000 and np.trace(conf) / 2000 == pytest.approx(ref["test_acc"])
    assert set(res["timing"]["epoch"]) >= {"momentum-0", "momentum-0.9", "nesterov-0.9"}


def test_study_prints_a_line_per_pass_or_run_and_the_times(quick_study):
    _, out, printed = quick_study
    lines = printed.splitlines()
    job_lines = [line for line in lines if line.startswith("[")]
    n = int(job_lines[0].split("/")[1].split("]")[0])
    assert len(job_lines) == n and job_lines[-1].startswith(f"[{n}/{n}]")
    assert any("settings in one pass" in line for line in job_lines)
    assert "study done in" in lines[-1] and "training" in lines[-1] and str(out) in lines[-1]


def test_study_says_which_model_it_saves_and_saves_the_best_too(quick_study):
    from softmax_mnist.study.modelfile import load_model

    _, out, printed = quick_study
    assert "model.npz: momentum-0.9@s0, the report's reference" in printed
    res = json.loads((out / "results.json").read_text())
    best = res["best"]["overall"]
    assert f"its model: model-best.npz ({best}@s0)" in printed
    model, meta = load_model(out / "model-best.npz")
    assert meta["run"] == f"{best}@s0" and meta["config"]["seed"] == 0
    assert load_model(out / "model.npz")[1]["run"] == "momentum-0.9@s0"


def test_study_refuses_a_non_empty_folder(quick_study, mnist_dir, capsys):
    _, out, _ = quick_study
    rc = main(["study", "--quick", "--data-dir", str(mnist_dir), "--out", str(out)])
    err = capsys.readouterr().err
    assert rc == 1 and "not empty" in err and "--force" in err and len(err.splitlines()) == 1


def test_report_rebuilds_from_saved_results(quick_study, capsys):
    _, out, _ = quick_study
    (out / "report.md").unlink(missing_ok=True)
    assert main(["report", str(out)]) == 0
    assert (out / "report.md").is_file() and (out / "report.pdf").is_file()


def test_report_without_results_is_a_one_line_error(tmp_path, capsys):
    assert main(["report", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert "results.json not found" in err and len(err.splitlines()) == 1


def test_sweep_runs_a_toml_grid(mnist_dir, tmp_path, capsys):
    toml = tmp_path / "grid.toml"
    toml.write_text("[grid]\nlr = [0.01, 0.1]\n[fixed]\nepochs = 1\nbatch_size = 500\n")
    out = tmp_path / "sweep"
    assert main(["sweep", str(toml), "--data-dir", str(mnist_dir), "--out", str(out)]) == 0
    res = json.loads((out / "results.json").read_text())
    assert res["groups"] == {"grid": ["lr=0.01@s0", "lr=0.1@s0"]}
    assert [r["config"]["epochs"] for r in res["runs"]] == [1, 1]
    val = {r["setting"]: r["final_val_acc"] for r in res["runs"]}
    assert res["best"]["grid"] == res["best"]["overall"] == max(val, key=val.get)
    best = next(r for r in res["runs"] if r["setting"] == res["best"]["grid"])
    assert best["test_acc"] is not None  # the sweep's final model
    assert (out / "model.npz").is_file() and (out / "report.md").is_file()
    md = (out / "report.md").read_text(encoding="utf-8")
    assert "sweep report" in md or "参数扫描报告" in md
    assert "sweep done in" in capsys.readouterr().out


@pytest.mark.parametrize("text, words", [
    ("[grid]\nlearning_rate = [0.1]\n", "[grid]: unknown setting(s) learning_rate"),
    ("[grid\n", "not valid TOML"),
])
def test_sweep_bad_file_is_a_one_line_error_naming_it(tmp_path, capsys, text, words):
    toml = tmp_path / "bad.toml"
    toml.write_text(text)
    assert main(["sweep", str(toml), "--out", str(tmp_path / "o")]) == 1
    err = capsys.readouterr().err
    assert words in err and str(toml) in err and len(err.splitlines()) == 1
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize("momentum, low, high", [(0.0, 0.895, 0.91), (0.9, 0.915, 0.93)])
def test_course_settings_reach_the_course_accuracy(mnist_splits, momentum, low, high):
    """Full size: 55k/5k/10k, batch 100, lr 0.01, 10 epochs, as the course trains them."""
    config = TrainConfig(epochs=10, batch_size=100, lr=0.01, momentum=momentum)
    r = runner.run_one(f"momentum-{momentum:g}", "momentum", config, mnist_splits)
    assert r["status"] == "ok"
    assert low <= r["test_acc"] <= high, r["test_acc"]
