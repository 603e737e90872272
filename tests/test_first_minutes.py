"""A new user's first minutes (issue 10): a failed start never blocks its retry, --resume
honours --data-dir, --display-freq prints, mismatched data stops before anything is written,
the study names the model it saves and saves the best one too."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest

from softmax_mnist.apps.cli import main
from softmax_mnist.core.config import TrainConfig
from softmax_mnist.core.idx import write_idx
from softmax_mnist.study import pipeline
from softmax_mnist.study.run import prepare_out_dir


def fake_mnist(folder, n=300, side=28, test_side=28, seed=0):
    """Four small IDX files (random pixels, labels 0..9) in ``folder``."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    for kind, m, s in (("train", n, side), ("t10k", n // 3, test_side)):
        write_idx(folder / f"{kind}-images-idx3-ubyte.gz", rng.integers(0, 256, (m, s, s), dtype=np.uint8))
        write_idx(folder / f"{kind}-labels-idx1-ubyte.gz", (np.arange(m) % 10).astype(np.uint8))
    return folder


def test_a_study_without_data_writes_nothing_and_the_retry_works(tmp_path, capsys):
    out = tmp_path / "study"
    rc = main(["study", "--quick", "--out", str(out), "--data-dir", str(tmp_path / "nothing"),
               "--lang", "en"])
    err = capsys.readouterr().err
    assert rc == 1 and len(err.strip().splitlines()) == 1 and "download" in err
    assert not out.exists()  # checked before writing: the retry needs no --force


@pytest.mark.parametrize("files", [
    {"config.json": "{}"},
    {"progress.json": json.dumps({"finished": {}, "plan": [], "meta": {}})},
])
def test_a_folder_holding_only_a_start_is_reused_without_force(tmp_path, files):
    out = tmp_path / "run"
    out.mkdir()
    for name, text in files.items():
        (out / name).write_text(text)
    assert prepare_out_dir(out) == out


@pytest.mark.parametrize("files", [
    {"config.json": "{}", "checkpoint.npz": "x"},
    {"progress.json": json.dumps({"finished": {"a@s0": {}}})},
    {"model.npz": "x"},
])
def test_a_folder_with_real_work_still_needs_force(tmp_path, files):
    from softmax_mnist.errors import ConfigError

    out = tmp_path / "run"
    out.mkdir()
    for name, text in files.items():
        (out / name).write_text(text)
    with pytest.raises(ConfigError, match="not empty"):
        prepare_out_dir(out)


def test_study_resume_honours_data_dir_and_refuses_other_flags(tmp_path, capsys):
    data = fake_mnist(tmp_path / "data")
    out = tmp_path / "study"
    out.mkdir()
    plan = [(f"lr={lr:g}@s0", "grid", TrainConfig(epochs=1, batch_size=50, lr=lr, val_size=50))
            for lr in (0.01, 0.1)]
    pipeline.save_progress(out, {"kind": "study", "plan": plan, "finished": {},
                           "meta": {"seed": 0, "quick": False, "data_dir": str(tmp_path / "moved")}})
    rc = main(["study", "--resume", str(out), "--seed", "5", "--lang", "en"])
    err = capsys.readouterr().err
    assert rc == 1 and "drop --seed" in err and len(err.strip().splitlines()) == 1
    assert main(["study", "--resume", str(out), "--data-dir", str(data), "--lang", "en"]) == 0
    res = json.loads((out / "results.json").read_text())
    assert [r["name"] for r in res["runs"]] == ["lr=0.01@s0", "lr=0.1@s0"]


def test_train_display_freq_prints_iterations_and_refuses_negative(tmp_path, capsys):
    data = fake_mnist(tmp_path / "data")
    args = ["train", "--data-dir", str(data), "--epochs", "1", "--batch-size", "10",
            "--val-size", "50", "--out", str(tmp_path / "r")]
    assert main(args + ["--display-freq", "5"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [x.split()[3] for x in lines if " iter " in x] == [f"{k}/25" for k in range(5, 26, 5)]
    assert main(args[:-1] + [str(tmp_path / "r2"), "--display-freq", "-1"]) == 1
    assert "--display-freq must be >= 0" in capsys.readouterr().err
    assert not (tmp_path / "r2").exists()


def test_mismatched_image_sizes_stop_before_training_or_writing(tmp_path, capsys):
    data = fake_mnist(tmp_path / "data", test_side=25)
    out = tmp_path / "r"
    assert main(["train", "--data-dir", str(data), "--val-size", "50", "--out", str(out)]) == 1
    err = capsys.readouterr().err
    assert "training images are 28x28 but test images are 25x25" in err
    assert len(err.strip().splitlines()) == 1 and not out.exists()


def test_evaluate_val_split_of_a_model_without_one_is_one_line(tmp_path, capsys):
    data = fake_mnist(tmp_path / "data")
    out = tmp_path / "r"
    assert main(["train", "--data-dir", str(data), "--val-size", "0", "--epochs", "1",
                 "--out", str(out), "-q"]) == 0
    capsys.readouterr()
    assert main(["evaluate", str(out / "model.npz"), "--data-dir", str(data), "--split", "val"]) == 1
    err = capsys.readouterr().err
    assert "no validation split" in err and len(err.strip().splitlines()) == 1


def test_a_runaway_rate_is_one_error_not_warnings(tmp_path, capsys):
    data = fake_mnist(tmp_path / "data")
    base = ["train", "--data-dir", str(data), "--val-size", "50", "--epochs", "1"]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a RuntimeWarning would fail the call
        assert main(base + ["--lr", "1e308", "--out", str(tmp_path / "a")]) == 1
        err = capsys.readouterr().err
        assert "diverged" in err and "--lr" in err
        assert main(base + ["--weight-decay", "1e6", "--out", str(tmp_path / "b")]) == 1
    err = capsys.readouterr().err
    assert "diverged" in err and "smaller weight decay" in err and "--weight-decay 10000" in err


def test_tests_look_for_data_where_the_cli_does(tmp_path, monkeypatch):
    import conftest

    cache = tmp_path / "cache"
    fake_mnist(cache / "softmax-mnist" / "mnist")
    monkeypatch.delenv("MNIST_DATA_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(cache))
    assert conftest._mnist_dir() == cache / "softmax-mnist" / "mnist"
    monkeypatch.setenv("MNIST_DATA_DIR", str(tmp_path / "elsewhere"))
    assert conftest._mnist_dir() == tmp_path / "elsewhere"  # as the CLI: the variable wins


@pytest.mark.parametrize("where", ["afile/sub", "/proc/softmax-mnist-out"])
def test_an_unwritable_out_is_one_line(tmp_path, capsys, where):
    data = fake_mnist(tmp_path / "data", n=2400)  # enough for the quick study's 1,000 validation images
    (tmp_path / "afile").write_text("a file, not a folder")
    out = where if where.startswith("/") else str(tmp_path / where)
    for cmd in (["train", "--val-size", "50", "--epochs", "1"],
                ["study", "--quick", "--lang", "en"]):
        rc = main([*cmd, "--data-dir", str(data), "--out", out])
        err = capsys.readouterr().err.strip()
        assert rc == 1 and len(err.splitlines()) == 1, err
        assert f"cannot write {out}" in err and "choose another output folder" in err


def test_a_full_disk_is_one_line_and_the_old_file_stays(tmp_path, capsys, monkeypatch):
    import errno

    from softmax_mnist import fileio

    data = fake_mnist(tmp_path / "data")
    out = tmp_path / "r"
    args = ["train", "--data-dir", str(data), "--val-size", "50", "--epochs", "1", "-q"]
    assert main(args + ["--out", str(out)]) == 0
    before = (out / "model.npz").read_bytes()

    def full(fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(fileio.os, "fsync", full)
    rc = main(args + ["--out", str(out), "--force", "--lr", "0.5"])
    err = capsys.readouterr().err.strip()
    assert rc == 1 and len(err.splitlines()) == 1 and "No space left" in err
    assert "free some disk space" in err
    assert (out / "model.npz").read_bytes() == before  # the old model is whole
    assert not [p for p in out.iterdir() if p.name.endswith(".tmp")]  # no temp file left


def _run_files(folder):
    return {p.name: p.read_bytes() for p in folder.iterdir()}


def test_force_over_a_run_replaces_it_only_when_the_new_one_completes(tmp_path, capsys):
    data = fake_mnist(tmp_path / "data")
    out = tmp_path / "r"
    base = ["train", "--data-dir", str(data), "--val-size", "50", "--epochs", "1", "-q",
            "--out", str(out)]
    assert main(base) == 0
    old = _run_files(out)
    assert main(base + ["--force", "--lr", "1e6"]) == 1  # diverges
    assert "diverged" in capsys.readouterr().err
    assert _run_files(out) == old  # the old run, whole: no new config.json beside the old model
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data", "r"]  # no .partial left
    assert main(base + ["--force", "--lr", "0.05"]) == 0
    new = json.loads((out / "config.json").read_text())
    assert new["lr"] == 0.05 and "checkpoint.npz" not in _run_files(out)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data", "r"]  # no .partial, no .old


def test_an_interrupted_force_run_resumes_from_its_partial_folder(tmp_path):
    from softmax_mnist.errors import Interrupted
    from softmax_mnist.study.modelfile import load_model
    from softmax_mnist.study.run import train_run

    data = fake_mnist(tmp_path / "data")
    config = TrainConfig(epochs=2, batch_size=25, val_size=50, lr=0.05, momentum=0.9)
    out = tmp_path / "r"
    train_run(TrainConfig(epochs=1, val_size=50), data, out)
    old = _run_files(out)
    steps = iter(range(1000))
    with pytest.raises(Interrupted) as e:
        train_run(config, data, out, force=True, stop=lambda: next(steps) == 7)
    assert e.value.folder == tmp_path / "r.partial" and _run_files(out) == old
    train_run(config, data, e.value.folder, resume=True)
    assert not (tmp_path / "r.partial").exists()
    train_run(config, data, tmp_path / "whole")
    a, b = load_model(out / "model.npz")[0], load_model(tmp_path / "whole" / "model.npz")[0]
    assert np.array_equal(a.W, b.W) and np.array_equal(a.b, b.b)  # bit for bit


class Bars:
    """A stand-in for tqdm: records each bar's arguments and how far it went."""

    def __init__(self):
        self.bars = []

    def __call__(self, desc="", total=None, **kw):
        bar = {"desc": desc, "total": total, "n": kw.get("initial", 0), "closed": False}
        self.bars.append(bar)

        class Bar:
            def update(self, k=1):
                bar["n"] += k

            def close(self):
                bar["closed"] = True

        return Bar()


def test_training_transforms_and_the_report_advance_their_bars(tmp_path):
    from softmax_mnist.core.transforms import CHUNK, apply_transform
    from softmax_mnist.study.run import train_run

    data = fake_mnist(tmp_path / "data")
    bars = Bars()
    train_run(TrainConfig(epochs=2, batch_size=10, val_size=50), data, progress=bars)
    assert [(b["desc"], b["total"], b["n"], b["closed"]) for b in bars.bars] == [
        ("epoch 1/2", 25, 25, True), ("epoch 2/2", 25, 25, True)]
    images = np.random.default_rng(0).integers(0, 256, (CHUNK + 7, 28, 28), dtype=np.uint8)
    spec = {"deskew": True, "ink_size": 5.5, "blur_sigma": 0.8}
    bars = Bars()
    np.testing.assert_array_equal(apply_transform(images, spec, bars), apply_transform(images, spec))
    assert bars.bars[0]["n"] == bars.bars[0]["total"] == CHUNK + 7 and bars.bars[0]["closed"]


def test_bars_only_on_a_terminal_and_never_with_quiet(monkeypatch):
    import sys

    from softmax_mnist.apps.cli import progress_bars

    monkeypatch.setattr(sys.stderr, "isatty", lambda: False, raising=False)
    assert progress_bars() is None
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True, raising=False)
    assert progress_bars(quiet=True) is None
    bars = progress_bars()
    assert bars.keywords["delay"] == 2 and bars.keywords["leave"] is False  # only past 2 s


def test_an_empty_data_file_is_named_not_a_range_of_0_to_minus_1(tmp_path, capsys):
    data = fake_mnist(tmp_path / "data")
    write_idx(data / "train-images-idx3-ubyte.gz", np.zeros((0, 28, 28), np.uint8))
    write_idx(data / "train-labels-idx1-ubyte.gz", np.zeros(0, np.uint8))
    assert main(["train", "--data-dir", str(data), "--out", str(tmp_path / "r")]) == 1
    err = capsys.readouterr().err
    assert "holds no images" in err and "0..-1" not in err and not (tmp_path / "r").exists()


def test_help_and_readme_name_every_flag(capsys):
    from pathlib import Path

    with pytest.raises(SystemExit):
        main(["evaluate", "--help"])
    assert "test (default)" in capsys.readouterr().out
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    usage = readme[readme.index("## Usage"):readme.index("## Results")]
    for flag in ("--lr-decay", "--deskew", "--ink-size", "--blur", "--checkpoint-every",
                 "--display-freq", "--lang", "--typeset-only", "--impl"):
        assert flag in usage, flag
    for command in ("study", "sweep"):
        row = next(line for line in usage.splitlines() if line.startswith(f"| `softmax-mnist {command}"))
        assert "--data-dir" in row, command
