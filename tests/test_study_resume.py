"""`study --resume` and `sweep --resume` end bit for bit where an uninterrupted study ends,
wherever a SIGKILL lands: between two saves of progress.json (in the old code, between the
per-run saves of one stacked pass), in the middle of a pass (after its Nth checkpoint), in the
timing phase (every run finished, so the reference and best models must be trained again, in
their stacked passes), and with --force over an old study (staged, never mixed with it).

The kills are deterministic: the study runs in a child process whose save_progress,
save_checkpoint or epoch_times kills the process (SIGKILL) at its Nth call."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from softmax_mnist.apps.cli import main

pytestmark = pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="the child kills itself with "
                                "SIGKILL, which this system (Windows) lacks")

# a study in a child process whose Nth call of one function ends it with SIGKILL
KILLING = r"""
import os, signal, sys
from softmax_mnist.apps import cli
from softmax_mnist.study import pipeline, run, runner, timing

what, n = sys.argv[1], int(sys.argv[2])
count = [0]

def killing(f, before=False):
    def g(*a, **k):
        count[0] += 1
        if before and count[0] == n:
            os.kill(os.getpid(), signal.SIGKILL)
        r = f(*a, **k)
        if count[0] == n:  # after the file is written
            os.kill(os.getpid(), signal.SIGKILL)
        return r
    return g

if what == "progress":
    pipeline.save_progress = killing(pipeline.save_progress)
elif what == "checkpoint":  # stacked passes (runner) and runs alone (run) share the count
    runner.save_checkpoint = killing(runner.save_checkpoint)
    run.save_checkpoint = killing(run.save_checkpoint)
elif what == "timing":
    timing.epoch_times = killing(timing.epoch_times, before=True)
sys.exit(cli.main(sys.argv[3:]))
"""

# the fields that hold times, the moment of a start or the machine's load: they differ between
# any two studies
CLOCK = {"started", "train_seconds", "timing_seconds", "seconds", "seconds_per_epoch",
         "before_resume", "timing", "load"}


def killed_at(what: str, n: int, args: list[str]) -> None:
    """Run the CLI with ``args`` in a child killed (SIGKILL) at the ``n``th call of ``what``."""
    proc = subprocess.run([sys.executable, "-c", KILLING, what, str(n), *args],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == -signal.SIGKILL, (what, n, proc.returncode, proc.stderr[-2000:])


def without_clock(x):
    if isinstance(x, dict):
        return {k: without_clock(v) for k, v in x.items() if k not in CLOCK}
    if isinstance(x, list):
        return [without_clock(v) for v in x]
    return x


def assert_same_study(whole: Path, resumed: Path) -> None:
    """model.npz, model-best.npz, examples.npz: every array equal, bit for bit; results.json
    equal in everything but its times; nothing of the interruption left behind."""
    for name in ("model.npz", "model-best.npz", "examples.npz"):
        assert (whole / name).exists() == (resumed / name).exists(), name
        if not (whole / name).exists():
            continue
        with np.load(whole / name) as a, np.load(resumed / name) as b:
            assert sorted(a.files) == sorted(b.files), name
            for k in a.files:
                assert a[k].dtype == b[k].dtype and np.array_equal(a[k], b[k]), f"{name}: {k}"
    a = json.loads((whole / "results.json").read_text(encoding="utf-8"))
    b = json.loads((resumed / "results.json").read_text(encoding="utf-8"))
    a["passes"] = sorted((p["id"], p["runs"]) for p in a["passes"])
    b["passes"] = sorted((p["id"], p["runs"]) for p in b["passes"])
    assert without_clock(b) == without_clock(a)
    left = sorted(p.name for p in resumed.iterdir() if p.name in ("progress.json", "checkpoint.npz")
                  or p.name.endswith(".tmp"))
    assert not left, left


@pytest.fixture(scope="module")
def whole_quick_study(mnist_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp("whole") / "study"
    assert main(["study", "--quick", "--data-dir", str(mnist_dir), "--out", str(out), "-q",
                 "--lang", "en"]) == 0
    return out


def test_a_quick_study_killed_at_several_moments_resumes_bit_for_bit(mnist_dir, tmp_path,
                                                                     whole_quick_study):
    """Killed after its 2nd save of progress.json (the old code saved each run of a stacked
    pass apart: this was between two of them), resumed and killed after 3 checkpoints (inside
    a pass), resumed and killed as the timing starts (every run done: the models are gone),
    then resumed to the end."""
    out = tmp_path / "cut"
    killed_at("progress", 2, ["study", "--quick", "--data-dir", str(mnist_dir), "--out", str(out),
                              "-q", "--lang", "en"])
    resume = ["study", "--resume", str(out), "-q", "--lang", "en"]
    killed_at("checkpoint", 3, resume)
    killed_at("timing", 1, resume)
    progress = json.loads((out / "progress.json").read_text(encoding="utf-8"))
    assert len(progress["finished"]) == len(progress["plan"])  # killed after the training
    assert main(resume) == 0
    assert_same_study(whole_quick_study, out)


SWEEP = """
[grid]
lr = [0.05, 0.1]
momentum = [0.0, 0.9]
batch_size = [100, 200]
[fixed]
epochs = 2
val_size = 5000
"""


def test_a_sweep_killed_at_several_moments_resumes_bit_for_bit(mnist_dir, tmp_path):
    """Two stacked passes of four settings: killed between two saves of progress.json, in the
    second pass, and in the timing; its best model (model.npz) and test numbers the same."""
    grid = tmp_path / "grid.toml"
    grid.write_text(SWEEP, encoding="utf-8")
    whole, out = tmp_path / "whole", tmp_path / "cut"
    args = ["sweep", str(grid), "--data-dir", str(mnist_dir), "-q", "--lang", "en"]
    assert main([*args, "--out", str(whole)]) == 0
    killed_at("progress", 2, [*args, "--out", str(out)])
    resume = ["sweep", "--resume", str(out), str(grid), "-q", "--lang", "en"]
    killed_at("checkpoint", 1, resume)
    killed_at("timing", 1, resume)
    assert main(resume) == 0
    assert_same_study(whole, out)
    best = [r for r in json.loads((out / "results.json").read_text(encoding="utf-8"))["runs"]
            if r["test_loss"] is not None]
    assert len(best) == 1  # the sweep's final model was tested, and it is model.npz's run


DIVERGES = """
[grid]
lr = [1e30, 0.1, 2e30]
[fixed]
epochs = 1
"""


@pytest.mark.parametrize("order", ["first", "last"])
def test_a_sweep_whose_settings_diverge_finishes_and_marks_them(mnist_dir, tmp_path, order):
    """The diverged settings are marked in the results whatever their place in the grid, the
    timing never trains one, and a resume after a kill in the timing finishes too."""
    text = DIVERGES if order == "first" else DIVERGES.replace("[1e30, 0.1, 2e30]", "[0.1, 1e30, 2e30]")
    grid = tmp_path / "grid.toml"
    grid.write_text(text, encoding="utf-8")
    out = tmp_path / "sweep"
    killed_at("timing", 1, ["sweep", str(grid), "--data-dir", str(mnist_dir), "--out", str(out),
                            "-q", "--lang", "en"])
    assert main(["sweep", "--resume", str(out), str(grid), "-q", "--lang", "en"]) == 0
    results = json.loads((out / "results.json").read_text(encoding="utf-8"))
    status = {r["setting"]: r["status"] for r in results["runs"]}
    assert status == {"lr=1e+30": "diverged", "lr=0.1": "ok", "lr=2e+30": "diverged"}
    assert list(results["timing"]["epoch"]) == ["lr=0.1"]
    assert results["meta"]["reference"] == "lr=0.1@s0" and (out / "report.en.pdf").exists()


def test_the_timing_never_trains_a_setting_that_diverged():
    from softmax_mnist.core.config import TrainConfig
    from softmax_mnist.study import plans

    plan = [("lr=1e+30@s0", "grid", TrainConfig(lr=1e30)), ("lr=0.1@s0", "grid", TrainConfig(lr=0.1))]
    runs = [{"name": "lr=1e+30@s0", "status": "diverged"}, {"name": "lr=0.1@s0", "status": "ok"}]
    assert list(plans.timing_plan(plan, runs)) == ["lr=0.1"]


def test_ctrl_c_in_the_timing_stops_the_study_with_a_resume_hint(mnist_splits):
    """The stop flag (set by SIGINT/SIGTERM) is honoured between two timed epochs."""
    from softmax_mnist.core.config import TrainConfig
    from softmax_mnist.errors import Interrupted
    from softmax_mnist.study import timing

    calls = []

    def stop():
        calls.append(1)
        return len(calls) > 2

    configs = {"a": TrainConfig(epochs=1), "b": TrainConfig(epochs=1, momentum=0.9)}
    with pytest.raises(Interrupted, match="timing"):
        timing.epoch_times(configs, mnist_splits, rounds=3, warmup=0, stop=stop)
    assert len(calls) == 3


def test_study_force_over_an_old_study_is_staged_and_never_mixed(mnist_dir, tmp_path, capsys):
    """`sweep --force` over a finished sweep works in <out>.partial: killed half-way, the old
    folder is untouched (its results, no new progress.json or checkpoint); resumed, the new
    sweep replaces it whole."""
    grid = tmp_path / "grid.toml"
    grid.write_text(SWEEP, encoding="utf-8")
    out = tmp_path / "sweep"
    args = ["sweep", str(grid), "--data-dir", str(mnist_dir), "-q", "--lang", "en", "--out", str(out)]
    assert main(args) == 0
    old = {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()}
    grid.write_text(SWEEP.replace("epochs = 2", "epochs = 1"), encoding="utf-8")
    killed_at("checkpoint", 1, [*args, "--force"])
    assert {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()} == old
    staged = tmp_path / "sweep.partial"
    assert (staged / "progress.json").exists()
    assert main(["sweep", "--resume", str(out), str(grid), "-q"]) == 1  # the old folder: a hint
    assert "sweep.partial: resume that folder" in capsys.readouterr().err
    assert main(["sweep", "--resume", str(staged), str(grid), "-q", "--lang", "en"]) == 0
    assert not staged.exists()
    runs = json.loads((out / "results.json").read_text(encoding="utf-8"))["runs"]
    assert {r["config"]["epochs"] for r in runs} == {1}
    assert not (out / "progress.json").exists() and not (out / "checkpoint.npz").exists()
