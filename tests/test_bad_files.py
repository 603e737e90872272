"""Files that are not what they claim: float labels, a data file claiming more than MNIST-format
data can be, settings and progress files that are FIFOs or devices, a TOML with a byte order
mark, absurd epochs, checkpoints whose numbers training could not have made. Each is one line."""

from __future__ import annotations

import gzip
import json
import os
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from softmax_mnist.apps.cli import main
from softmax_mnist.core.config import TrainConfig, read_toml
from softmax_mnist.core.data import load_raw
from softmax_mnist.core.idx import MAX_BYTES, write_idx
from softmax_mnist.errors import ConfigError, DataError

needs_fifo = pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="the system has no FIFOs")


def one_line(capsys, *words) -> str:
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err, err
    for w in words:
        assert w in err, err
    return err


@pytest.fixture(scope="module")
def float_labels(mnist_dir, tmp_path_factory):
    """Data folders whose label files are float32 IDX: with a NaN, an inf, a 2.5, or whole
    numbers only (still float-typed)."""
    folders = {}
    for kind in ("nan", "inf", "half", "whole"):
        d = tmp_path_factory.mktemp(f"labels-{kind}")
        for split in ("train", "t10k"):
            images, labels = load_raw(mnist_dir, split)
            write_idx(d / f"{split}-images-idx3-ubyte", images)
            y = labels.astype(np.float32)
            y[5] = {"nan": np.nan, "inf": np.inf, "half": 2.5, "whole": y[5]}[kind]
            write_idx(d / f"{split}-labels-idx1-ubyte", y)
        folders[kind] = d
    return folders


@pytest.mark.parametrize("kind", ["nan", "inf", "half", "whole"])
def test_float_labels_are_one_line_in_train_study_and_evaluate(float_labels, kind, tmp_path,
                                                               capsys, mnist_dir):
    d = float_labels[kind]
    assert main(["train", "--data-dir", str(d), "--epochs", "1", "--out", str(tmp_path / "r"),
                 "-q"]) == 1
    one_line(capsys, "labels are stored as float32")
    assert not (tmp_path / "r").exists()
    assert main(["study", "--quick", "--data-dir", str(d), "--out", str(tmp_path / "s"), "-q"]) == 1
    one_line(capsys, "labels are stored as float32")
    good = tmp_path / "good"
    assert main(["train", "--data-dir", str(mnist_dir), "--epochs", "1", "--out", str(good), "-q"]) == 0
    capsys.readouterr()
    for split in ("val", "test"):
        assert main(["evaluate", str(good / "model.npz"), "--data-dir", str(d), "--split", split]) == 1
        one_line(capsys, "labels are stored as float32")
    # forced over a good run: refused before anything is touched
    assert main(["train", "--data-dir", str(d), "--epochs", "1", "--out", str(good), "--force",
                 "-q"]) == 1
    one_line(capsys, "labels are stored as float32")
    assert (good / "model.npz").exists() and not (tmp_path / "good.partial").exists()


def test_a_small_gz_claiming_millions_of_images_is_refused_from_its_header(tmp_path):
    """2.7 million images claimed (2.1 GB, 10 GB once converted) in a file of a few bytes:
    refused by the cap of what MNIST-format data can be, whatever memory is free."""
    claim = 2_700_000
    assert claim * 28 * 28 > MAX_BYTES >= 700_000 * 28 * 28  # EMNIST's largest file fits
    for name, dims in (("train-images-idx3-ubyte.gz", (claim, 28, 28)),
                       ("train-labels-idx1-ubyte.gz", (claim,)),
                       ("t10k-images-idx3-ubyte.gz", (10, 28, 28)),
                       ("t10k-labels-idx1-ubyte.gz", (10,))):
        header = struct.pack(f">HBB{len(dims)}I", 0, 8, len(dims), *dims)
        (tmp_path / name).write_bytes(gzip.compress(header + bytes(1000)))
    with pytest.raises(DataError, match="limit of a data file") as e:
        load_raw(tmp_path, "train")
    assert "2,116,800,000" in str(e.value)


@needs_fifo
@pytest.mark.parametrize("where", ["config", "sweep", "progress"])
@pytest.mark.parametrize("special", ["fifo", "/dev/zero"])
def test_settings_and_progress_files_must_be_regular(tmp_path, where, special, mnist_dir):
    """A FIFO would block the read for ever, /dev/zero fill the memory: one line, at once."""
    if special == "/dev/zero" and not os.path.exists("/dev/zero"):
        pytest.skip("no /dev/zero here")
    folder = tmp_path / "study"
    folder.mkdir()
    path = folder / ("progress.json" if where == "progress" else "grid.toml")
    if special == "fifo":
        os.mkfifo(path)
    else:
        path.symlink_to("/dev/zero")
    args = {"config": ["train", "--config", str(path), "--out", str(tmp_path / "o")],
            "sweep": ["sweep", str(path), "--out", str(tmp_path / "o")],
            "progress": ["study", "--resume", str(folder)]}[where]
    proc = subprocess.run([sys.executable, "-m", "softmax_mnist.apps.cli", *args,
                           "--data-dir", str(mnist_dir)], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 1 and proc.stderr.count("\n") == 1, proc.stderr
    assert "not a regular file" in proc.stderr and "Traceback" not in proc.stderr


def test_a_settings_file_over_its_cap_is_one_line(tmp_path):
    big = tmp_path / "big.toml"
    big.write_bytes(b"# " + b"x" * (2 << 20) + b"\nepochs = 1\n")
    with pytest.raises(ConfigError, match="big.toml"):
        read_toml(big)


def test_a_toml_with_a_byte_order_mark_is_read(tmp_path):
    """Windows Notepad saves UTF-8 with a BOM first."""
    path = tmp_path / "notepad.toml"
    path.write_bytes("\ufeffepochs = 3\n# 学习率\nlr = 0.05\n".encode("utf-8"))
    assert read_toml(path) == {"epochs": 3, "lr": 0.05}


@pytest.mark.parametrize("epochs", [1e30, 10**9, 1001])
def test_absurd_epochs_are_refused(epochs):
    with pytest.raises(ConfigError, match="epochs must be a whole number in 1..1000"):
        TrainConfig(epochs=epochs)
    TrainConfig(epochs=1000)


@pytest.fixture(scope="module")
def checkpointed(mnist_dir, tmp_path_factory) -> Path:
    """A run stopped after one epoch and 10 more steps: a folder with its checkpoint.npz."""
    from softmax_mnist.study.checkpoint import Interrupted
    from softmax_mnist.study.run import train_run

    out = tmp_path_factory.mktemp("ck") / "run"
    steps = []

    def stop():
        steps.append(1)
        return len(steps) == 560
    with pytest.raises(Interrupted):
        train_run(TrainConfig(epochs=2), mnist_dir, out, stop=stop)
    return out


def damaged(folder: Path, tmp_path: Path, change) -> Path:
    import shutil

    out = tmp_path / "damaged"
    shutil.copytree(folder, out)
    with np.load(out / "checkpoint.npz") as z:
        arrays = dict(z)
    change(arrays)
    np.savez(out / "checkpoint.npz", **arrays)
    return out


def huge_weight(a):
    W = a["param_W"].astype(np.float64)
    W[0, 0] = 1e300  # finite as float64, inf once float32 as training is
    a["param_W"] = W


def history_value(value, name="val_acc"):
    def change(a):
        h = a[f"series_history_0_{name}"].copy()
        h[0] = value
        a[f"series_history_0_{name}"] = h
    return change


def step_accuracy(a):
    a["series_accs"] = a["series_accs"].copy()
    a["series_accs"][3, 0] = 1.5


@pytest.mark.parametrize("change, words", [
    (huge_weight, "not finite float32 numbers"),
    (history_value(5.0), "outside 0..1"),
    (history_value(np.nan), "not finite"),
    (history_value(-1.0, "train_acc"), "outside 0..1"),
    (history_value(np.inf, "train_loss"), "not finite"),
    (history_value(-3.0, "epoch_time"), "outside 0..inf"),
    (step_accuracy, "step accuracies"),
], ids=["W 1e300", "val_acc 5", "val_acc NaN", "train_acc -1", "train_loss inf",
        "epoch_time -3", "step acc 1.5"])
def test_a_checkpoint_holding_what_training_cannot_make_is_refused(checkpointed, tmp_path, capsys,
                                                                   change, words):
    out = damaged(checkpointed, tmp_path, change)
    assert main(["train", "--resume", str(out), "-q"]) == 1
    err = one_line(capsys, words, "checkpoint.npz")
    assert "smaller" not in err  # the file is damaged; the learning rate is not the problem
    assert not (out / "history.csv").exists()


def test_the_undamaged_checkpoint_resumes(checkpointed, tmp_path):
    out = damaged(checkpointed, tmp_path, lambda a: None)
    assert main(["train", "--resume", str(out), "-q"]) == 0
    assert len((out / "history.csv").read_text(encoding="utf-8").splitlines()) == 3


def test_no_folder_is_made_before_the_batch_size_and_val_size_checks(mnist_dir, tmp_path, capsys):
    for text, words in (("batch_size = 100000", "batch size 100000"), ("val_size = 0", "val_size > 0")):
        grid = tmp_path / "grid.toml"
        grid.write_text(f"[grid]\nlr = [0.1]\n[fixed]\nepochs = 1\n{text}\n", encoding="utf-8")
        out = tmp_path / "sweep"
        assert main(["sweep", str(grid), "--data-dir", str(mnist_dir), "--out", str(out), "-q"]) == 1
        one_line(capsys, words)
        assert not out.exists()
    assert main(["train", "--data-dir", str(mnist_dir), "--batch-size", "100000",
                 "--out", str(tmp_path / "t")]) == 1
    one_line(capsys, "batch size")
    assert not (tmp_path / "t").exists()


def test_a_study_resume_sweeps_the_temporary_files_a_kill_left(mnist_dir, tmp_path):
    """A kill during an atomic write leaves .progress.json.XXXXXXXX.tmp; the next start removes
    it (and only files of that shape)."""
    out = tmp_path / "study"
    grid = tmp_path / "grid.toml"
    grid.write_text("[grid]\nlr = [0.1]\n[fixed]\nepochs = 1\n", encoding="utf-8")
    from softmax_mnist.study import pipeline, plans

    plan = plans.grid_plan(read_toml(grid))
    out.mkdir()
    pipeline.save_progress(out, {"kind": "sweep", "plan": plan, "finished": {},
                           "meta": {"seed": 0, "quick": False, "data_dir": str(mnist_dir)}})
    stale = [out / ".progress.json.k2j4_x9a.tmp", out / ".checkpoint.npz.abcdefgh.tmp"]
    for p in stale:
        p.write_bytes(b"half")
    (out / "notes.tmp").write_text("mine", encoding="utf-8")
    assert main(["sweep", "--resume", str(out), str(grid), "-q", "--lang", "en"]) == 0
    assert not any(p.exists() for p in stale) and (out / "notes.tmp").exists()
    assert json.loads((out / "results.json").read_text(encoding="utf-8"))["runs"]


@pytest.mark.parametrize("value", [5.0, float("nan"), -0.5])
def test_a_progress_json_with_impossible_history_values_is_refused(mnist_dir, mnist_splits,
                                                                   tmp_path, capsys, value):
    """A finished run's history goes into results.json as it is: refused when read."""
    from softmax_mnist.study import plans, runner

    grid = tmp_path / "grid.toml"
    grid.write_text("[grid]\nlr = [0.1, 0.05]\n[fixed]\nepochs = 1\n", encoding="utf-8")
    plan = plans.grid_plan(read_toml(grid))
    entry = runner.run_study(plan[:1], mnist_splits, time_epochs=False)["runs"][0]
    entry["history"]["val_acc"][0] = value
    out = tmp_path / "sweep"
    out.mkdir()
    progress = {"kind": "sweep", "plan": [[n, g, c.to_dict()] for n, g, c in plan],
                "finished": {entry["name"]: entry},
                "meta": {"seed": 0, "quick": False, "data_dir": str(mnist_dir)}}
    (out / "progress.json").write_text(json.dumps(progress), encoding="utf-8")  # NaN as NaN
    assert main(["sweep", "--resume", str(out), str(grid), "-q", "--lang", "en"]) == 1
    one_line(capsys, "progress.json", "history.val_acc[0]")
    assert not (out / "results.json").exists()


def test_a_start_that_never_finished_a_step_is_reused_without_its_temporary_files(tmp_path):
    from softmax_mnist.study.run import prepare_out_dir

    out = tmp_path / "run"
    out.mkdir()
    (out / "config.json").write_text("{}", encoding="utf-8")
    (out / ".config.json.abcdefgh.tmp").write_text("killed half-way", encoding="utf-8")
    assert prepare_out_dir(out) == out  # still a start that never finished a step, not --force
    assert sorted(p.name for p in out.iterdir()) == ["config.json"]
