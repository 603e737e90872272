"""Interrupt and resume: a killed or interrupted run continues to the same weights, bit for bit."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from softmax_mnist.apps.cli import main
from softmax_mnist.core.config import TrainConfig
from softmax_mnist.study.checkpoint import Interrupted, load_checkpoint
from softmax_mnist.study.modelfile import load_model
from softmax_mnist.study.run import train_run

# batch 1 for 1 epoch: 55,000 steps, seconds long, so a signal lands mid-epoch
SLOW = ["--epochs", "2", "--batch-size", "1", "--checkpoint-every", "2000", "-q"]


def start_train(mnist_dir, out: Path, *extra) -> subprocess.Popen:
    cmd = [sys.executable, "-m", "softmax_mnist.apps.cli", "train", "--data-dir", str(mnist_dir),
           "--out", str(out), *SLOW, *extra]
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def wait_for(path: Path, proc: subprocess.Popen, timeout: float = 120) -> None:
    end = time.monotonic() + timeout
    while not path.exists():
        assert proc.poll() is None, f"training ended before {path.name} appeared: {proc.communicate()}"
        assert time.monotonic() < end, f"no {path.name} after {timeout}s"
        time.sleep(0.02)


@pytest.fixture(scope="module")
def uninterrupted(mnist_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp("whole") / "run"
    assert main(["train", "--data-dir", str(mnist_dir), "--out", str(out), *SLOW]) == 0
    return load_model(out / "model.npz")[0], out


def same_weights(a, b) -> bool:
    return np.array_equal(a.W, b.W) and np.array_equal(a.b, b.b)


def test_sigkill_at_a_random_step_then_resume_gives_the_same_weights(mnist_dir, tmp_path,
                                                                     uninterrupted):
    out = tmp_path / "killed"
    proc = start_train(mnist_dir, out)
    wait_for(out / "checkpoint.npz", proc)
    time.sleep(random.uniform(0.0, 1.5))  # somewhere after the first checkpoint
    proc.kill()
    proc.wait()
    assert not (out / "model.npz").exists()
    state, _ = load_checkpoint(out / "checkpoint.npz")
    assert (state.epoch, state.step) != (0, 0)
    assert main(["train", "--resume", str(out), "-q"]) == 0
    assert same_weights(load_model(out / "model.npz")[0], uninterrupted[0])
    whole = (uninterrupted[1] / "history.csv").read_text(encoding="utf-8-sig").splitlines()
    resumed = (out / "history.csv").read_text(encoding="utf-8-sig").splitlines()
    strip = lambda rows: [r.rsplit(",", 1)[0] for r in rows]  # noqa: E731 (all but the seconds)
    assert strip(resumed) == strip(whole)
    assert not (out / "checkpoint.npz").exists()  # complete: the checkpoint is gone


@pytest.mark.skipif(os.name == "nt", reason="Windows sends Ctrl-C to a whole console and ends a "
                    "process at once for SIGTERM: no signal reaches one child to stop it gently")
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_signal_stops_after_the_step_with_a_checkpoint_and_a_resume_hint(mnist_dir, tmp_path,
                                                                         uninterrupted, sig):
    out = tmp_path / "stopped"
    proc = start_train(mnist_dir, out)
    wait_for(out / "config.json", proc)
    time.sleep(1.0)
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130
    assert f"resume with: softmax-mnist train --resume {out}" in err
    assert signal.Signals(sig).name in err and "Traceback" not in err
    state, (config,) = load_checkpoint(out / "checkpoint.npz")
    assert state.step > 0 and config["batch_size"] == 1
    assert main(["train", "--resume", str(out), "-q"]) == 0
    assert same_weights(load_model(out / "model.npz")[0], uninterrupted[0])


def test_stop_in_process_then_resume(mnist_splits, tmp_path):
    """The same through the library: stop() after some steps, then train_run(resume=True)."""
    config = TrainConfig(epochs=2, batch_size=500, momentum=0.9, seed=4)
    whole = train_run(config, out=tmp_path / "a", data=mnist_splits)
    calls = iter(range(10**9))
    with pytest.raises(Interrupted):
        train_run(config, out=tmp_path / "b", data=mnist_splits, stop=lambda: next(calls) == 150)
    resumed = train_run(config, out=tmp_path / "b", data=mnist_splits, resume=True)
    assert resumed["test_acc"] == whole["test_acc"] and resumed["val_loss"] == whole["val_loss"]
    assert same_weights(load_model(tmp_path / "a" / "model.npz")[0],
                        load_model(tmp_path / "b" / "model.npz")[0])


def test_resume_errors_are_one_line(tmp_path, capsys, mnist_dir):
    assert main(["train", "--resume", str(tmp_path)]) == 1
    assert "config.json" in capsys.readouterr().err
    assert main(["train", "--data-dir", str(mnist_dir), "--out", str(tmp_path / "r"),
                 "--epochs", "1", "-q"]) == 0
    capsys.readouterr()
    assert main(["train", "--resume", str(tmp_path / "r")]) == 1
    assert "nothing to resume" in capsys.readouterr().err
    assert main(["train", "--resume", str(tmp_path / "r"), "--lr", "0.1"]) == 1
    assert "--lr" in capsys.readouterr().err


def test_a_study_resumes_at_the_first_unfinished_run(mnist_dir, tmp_path):
    whole = tmp_path / "whole"
    assert main(["study", "--quick", "--data-dir", str(mnist_dir), "--out", str(whole)]) == 0
    out = tmp_path / "cut"
    cmd = [sys.executable, "-m", "softmax_mnist.apps.cli", "study", "--quick", "--data-dir",
           str(mnist_dir), "--out", str(out)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"})
    # stop once a few runs are finished
    end = time.monotonic() + 120
    while True:
        p = out / "progress.json"
        if p.exists() and len(json.loads(p.read_text())["finished"]) >= 3:
            break
        assert proc.poll() is None and time.monotonic() < end, proc.communicate()
        time.sleep(0.01)
    proc.kill()
    proc.wait()
    done_before = set(json.loads((out / "progress.json").read_text())["finished"])
    assert main(["study", "--resume", str(out)]) == 0
    a = json.loads((whole / "results.json").read_text())
    b = json.loads((out / "results.json").read_text())
    assert [r["name"] for r in b["runs"]] == [r["name"] for r in a["runs"]]
    for ra, rb in zip(a["runs"], b["runs"]):
        assert rb["final_val_acc"] == ra["final_val_acc"] and rb["test_acc"] == ra["test_acc"], rb["name"]
        assert rb["final_train_acc"] == ra["final_train_acc"], rb["name"]
    assert any(r["test_acc"] is not None for r in a["runs"])  # the final models were tested
    assert b["best"] == a["best"] and b["meta"]["reference"] == a["meta"]["reference"]
    # the runs finished before the kill were not trained again
    retrained = {n for p in b["passes"] if not p.get("before_resume") for n in p["runs"]}
    by_name = {r["name"]: r for r in b["runs"]}
    for n in done_before:  # a run finished before the kill keeps the pass it was trained in
        if by_name[n].get("pass"):
            assert any(p["id"] == by_name[n]["pass"] and p.get("before_resume") for p in b["passes"])
    assert done_before and not done_before & retrained
    assert not (out / "progress.json").exists()
    assert (out / "report.pdf").exists()
    with np.load(whole / "examples.npz") as za, np.load(out / "examples.npz") as zb:
        np.testing.assert_array_equal(za["confusion"], zb["confusion"])


def test_hostile_checkpoints_are_refused_before_allocating(tmp_path, capsys):
    """A checkpoint claiming a terabyte array, or deeply nested JSON, is one clear error."""
    import io
    import zipfile

    from softmax_mnist.study.checkpoint import CheckpointError

    huge = tmp_path / "huge.npz"
    with zipfile.ZipFile(huge, "w") as zf:
        head = io.BytesIO()
        np.lib.format.write_array_header_1_0(
            head, {"descr": "<f4", "fortran_order": False, "shape": (10**6, 10**6)})
        zf.writestr("param_W.npy", head.getvalue())
        meta = io.BytesIO()
        np.save(meta, np.array("{}"))
        zf.writestr("meta.npy", meta.getvalue())
    nested = tmp_path / "nested.npz"
    np.savez(nested, meta=np.array("[" * 100_000 + "]" * 100_000))
    garbage = tmp_path / "garbage.npz"
    garbage.write_bytes(b"PK\x03\x04 not really a zip")
    for path in (huge, nested, garbage):
        with pytest.raises(CheckpointError) as e:
            load_checkpoint(path)
        assert str(path) in str(e.value) and "\n" not in str(e.value)


SWEEP = """
[grid]
lr = [0.05, 0.1, 0.2]
momentum = [0.0, 0.9]
[fixed]
epochs = 4
batch_size = 100
lr_decay = "linear"
"""


def test_a_stacked_sweep_with_decay_killed_mid_pass_resumes_bit_for_bit(mnist_dir, tmp_path,
                                                                         capsys):
    """Six settings in one stacked pass, the learning rate decaying: SIGKILL after the pass's
    first checkpoint, then `sweep --resume`, ends with the results of an uninterrupted sweep."""
    grid = tmp_path / "grid.toml"
    grid.write_text(SWEEP)
    whole = tmp_path / "whole"
    assert main(["sweep", str(grid), "--data-dir", str(mnist_dir), "--out", str(whole), "-q",
                 "--lang", "en"]) == 0
    out = tmp_path / "cut"
    cmd = [sys.executable, "-m", "softmax_mnist.apps.cli", "sweep", str(grid), "--data-dir",
           str(mnist_dir), "--out", str(out), "-q", "--lang", "en"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    wait_for(out / "checkpoint.npz", proc)  # the first epoch of the pass is done
    proc.kill()
    proc.wait()
    state, configs = load_checkpoint(out / "checkpoint.npz")
    assert len(configs) == 6 and state.epoch < 4  # killed inside the pass
    assert not json.loads((out / "progress.json").read_text())["finished"]
    capsys.readouterr()
    assert main(["sweep", "--resume", str(out), str(grid), "--verbose", "--lang", "en"]) == 0
    epochs = [line for line in capsys.readouterr().out.splitlines() if "pass 1: epoch" in line]
    assert len(epochs) == 4 - state.epoch and f"epoch {state.epoch + 1}/4" in epochs[0]  # resumed
    a = json.loads((whole / "results.json").read_text())
    b = json.loads((out / "results.json").read_text())
    assert len(b["passes"]) == 1 and len(b["passes"][0]["runs"]) == 6  # stacked, as before
    for ra, rb in zip(a["runs"], b["runs"]):
        assert rb["history"]["val_loss"] == ra["history"]["val_loss"], rb["name"]
        assert rb["history"]["train_loss"] == ra["history"]["train_loss"], rb["name"]
        assert rb["final_train_acc"] == ra["final_train_acc"], rb["name"]
    assert same_weights(load_model(whole / "model.npz")[0], load_model(out / "model.npz")[0])
