"""`softmax-mnist study --impl DIR`: the study trains with a student's own classes (impl.py)."""

from __future__ import annotations

import contextlib
import io
import json
import shutil
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from softmax_mnist.apps.cli import main
from softmax_mnist.core.config import TrainConfig
from softmax_mnist.core.loop import evaluate
from softmax_mnist.study import impl, plans, runner
from softmax_mnist.study.modelfile import load_model
from softmax_mnist.study.run import train_model

CASES = Path(__file__).parent / "check_cases"
CORRECT = CASES / "correct"


@pytest.fixture(scope="module")
def impl_study(mnist_dir, tmp_path_factory):
    """One `study --quick --impl tests/check_cases/correct` on real MNIST."""
    out = tmp_path_factory.mktemp("impl") / "study"
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        rc = main(["study", "--quick", "--impl", str(CORRECT), "--data-dir", str(mnist_dir),
                   "--out", str(out), "--lang", "en", "-q"])
    return rc, out, buf.getvalue()


@pytest.fixture(scope="module")
def small(mnist_splits):
    """The quick study's training images (5,000), the course's validation split."""
    return replace(mnist_splits, x_train=mnist_splits.x_train[:5000], y_train=mnist_splits.y_train[:5000],
                   x_val=mnist_splits.x_val[:1000], y_val=mnist_splits.y_val[:1000])


def test_impl_study_runs_the_same_plan_and_records_the_implementation(impl_study):
    rc, out, printed = impl_study
    assert rc == 0
    res = json.loads((out / "results.json").read_text())
    assert [r["name"] for r in res["runs"]] == [n for n, _, _ in plans.study_plan(quick=True)]
    assert res["meta"]["impl"] == "correct"
    assert res["meta"]["impl_reference"] == ["nesterov-0.9"]  # the course's SGD has no Nesterov
    assert str(CORRECT.resolve()) not in (out / "results.json").read_text()  # a name, not a path
    assert all(r["status"] == "ok" or r["config"]["lr"] >= 0.5 for r in res["runs"])
    assert res["passes"] == [] and all(r.get("pass") is None for r in res["runs"])  # no stacking
    assert "with the classes of" in printed
    for name in ("loss.py", "optimizer.py"):  # what it ran on, for the report
        assert (out / "impl" / name).read_text() == (CORRECT / name).read_text()


def test_a_correct_implementation_gives_the_references_numbers(impl_study, mnist_dir):
    _, out, _ = impl_study
    res = json.loads((out / "results.json").read_text())
    plan = {n: c for n, _, c in plans.study_plan(quick=True)}
    data_for = runner.data_loader(mnist_dir, quick=True)
    for name in ("momentum-0@s0", "momentum-0.9@s1", "bs-10@s0", "best@s0"):
        run = next(r for r in res["runs"] if r["name"] == name)
        _, hist = train_model(plan[name], data_for(plan[name]))
        assert run["history"]["val_acc"] == pytest.approx(hist.val_acc, abs=0.004), name
    ref = next(r for r in res["runs"] if r["name"] == "momentum-0.9@s0")
    data = data_for(plan[ref["name"]])
    model, _ = train_model(plan[ref["name"]], data)
    assert ref["test_acc"] == pytest.approx(evaluate(model, data.x_test, data.y_test)[1], abs=0.004)
    saved, _ = load_model(out / "model.npz")  # the student's weights, saved by this package
    assert evaluate(saved, data.x_test, data.y_test)[1] == ref["test_acc"]


def test_the_report_shows_the_students_code(impl_study):
    _, out, _ = impl_study
    md = (out / "report.en.md").read_text(encoding="utf-8")
    assert "This study ran on the implementation in correct/" in md
    for line in ("self.diff_W = self.momentum * self.diff_W - self.learning_rate * layer.grad_W",
                 "dz[np.arange(n), self.labels] -= 1",
                 "log_prob = logits - np.log(exp.sum(axis=1, keepdims=True))"):
        assert line in md, line
    assert "def cross_entropy" not in md  # this package's code is not shown as theirs
    assert "the reference implementation's SGD instead" in md and "nesterov-0.9" in md
    assert "timed apart" in md


def test_the_zh_report_too(impl_study, capsys):
    _, out, _ = impl_study
    assert main(["report", str(out), "--lang", "zh"]) == 0
    md = (out / "report.md").read_text(encoding="utf-8")
    assert "本实验使用 correct/ 中的实现" in md and "dz /= n" in md
    assert "本软件包" not in md


def test_the_trainer_is_the_students_code(small):
    """Same start and batches as this package's run: a correct implementation matches it, a
    gradient N times too large does not (so the student's code is what trains)."""
    config = TrainConfig(epochs=2, lr=0.01, momentum=0.9, val_size=1000, seed=3)
    _, want = train_model(config, small)
    model, got = impl.load(CORRECT).trainer(config, small)
    assert got.val_acc == pytest.approx(want.val_acc, abs=1e-3)
    assert got.train_loss == pytest.approx(want.train_loss, rel=1e-3)
    assert len(got.epoch_time) == 2 and model.W.dtype == np.float32
    decay = replace(config, lr_decay="linear", momentum=0.0, lr=0.1)
    assert impl.load(CORRECT).trainer(decay, small)[1].val_acc == pytest.approx(
        train_model(decay, small)[1].val_acc, abs=1e-3)
    with pytest.raises(Exception, match="diverged"):  # N times the gradient at lr 0.5: a runaway
        impl.load(CASES / "not_divided").trainer(replace(config, lr=0.5, momentum=0.0), small)
    _, wrong = impl.load(CASES / "wrong_sign").trainer(replace(config, epochs=1), small)
    assert wrong.val_acc[0] < want.val_acc[0] - 0.2


def test_the_trainer_stops_when_asked(small):
    from softmax_mnist.errors import Interrupted

    with pytest.raises(Interrupted, match="restarts"):
        impl.load(CORRECT).trainer(TrainConfig(epochs=1, val_size=1000), small, stop=lambda: True)


def skeleton(tmp_path) -> Path:
    main(["skeleton", str(tmp_path / "todo")])
    return tmp_path / "todo"


@pytest.mark.parametrize("folder, words", [
    (lambda t: CASES / "syntax_error", "loss.py line 31: syntax error"),
    (lambda t: CASES / "imports_torch", "loss.py line 4 imports torch"),
    (lambda t: CASES / "endless_loop", "did not finish within 1 s (an endless loop?)"),
    (skeleton, "forward raised NotImplementedError: TODO in forward"),
    (lambda t: t / "nowhere", "no such folder"),
])
def test_a_broken_folder_is_one_line_before_anything_is_written(tmp_path, mnist_dir, capsys, monkeypatch,
                                                               folder, words):
    monkeypatch.setattr(impl, "SMOKE_SECONDS", 1)
    out = tmp_path / "study"
    rc = main(["study", "--quick", "--impl", str(folder(tmp_path)), "--data-dir", str(mnist_dir),
               "--out", str(out), "--lang", "en"])
    err = capsys.readouterr().err
    assert rc == 1 and words in err, err
    assert err.startswith("softmax-mnist study: error: ") and err.count("\n") == 1
    assert not out.exists()


def test_resume_takes_the_implementation_from_the_folder(tmp_path, capsys):
    assert main(["study", "--resume", str(tmp_path), "--impl", str(CORRECT), "--lang", "en"]) == 1
    assert "drop --impl" in capsys.readouterr().err


@pytest.mark.skipif(not hasattr(__import__("signal"), "SIGKILL"), reason="the study is killed with "
                    "SIGKILL, which this system (Windows) lacks")
def test_resume_trains_the_studys_own_copy_of_the_files(tmp_path, mnist_dir, capsys):
    """progress.json's impl_dir is not followed: an edited one names other code (here a
    loss.py that leaves a marker when imported), and resume loads the study's copy instead."""
    study_dir, marker, other = tmp_path / "study", tmp_path / "imported", tmp_path / "other"
    killed = ("import os, signal, sys\nfrom softmax_mnist.apps import cli\n"
              "from softmax_mnist.study import pipeline\nsave = pipeline.save_progress\n"
              "def once(*a, **k):\n    save(*a, **k)\n    os.kill(os.getpid(), signal.SIGKILL)\n"
              "pipeline.save_progress = once\nsys.exit(cli.main(sys.argv[1:]))\n")
    subprocess.run([sys.executable, "-c", killed, "study", "--quick", "--impl", str(CORRECT),
                    "--data-dir", str(mnist_dir), "--out", str(study_dir), "--lang", "en", "-q"],
                   capture_output=True, timeout=300)
    progress = json.loads((study_dir / "progress.json").read_text(encoding="utf-8"))
    assert not progress["finished"]  # killed at its first save, before any run
    other.mkdir()
    (other / "loss.py").write_text(f"open({str(marker)!r}, 'w').close()\n"
                                   + (CORRECT / "loss.py").read_text(encoding="utf-8"), encoding="utf-8")
    shutil.copy(CORRECT / "optimizer.py", other / "optimizer.py")
    progress["impl_dir"] = str(other)
    (study_dir / "progress.json").write_text(json.dumps(progress), encoding="utf-8")
    assert main(["study", "--resume", str(study_dir), "--lang", "en", "-q"]) == 0, capsys.readouterr().err
    assert not marker.exists()
    assert json.loads((study_dir / "results.json").read_text(encoding="utf-8"))["meta"]["impl"]


def test_loading_leaves_no_module_names_behind():
    import sys

    impl.load(CORRECT)
    assert "loss" not in sys.modules and "optimizer" not in sys.modules
    assert not list(CORRECT.glob("__pycache__"))


# ---- the student's code runs where it can be stopped (issue 22 item 6, issue 18 item 2) -------

import os  # noqa: E402
import signal  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402


def after_calls(tmp_path, n: int, body: str) -> Path:
    """The correct submission, whose forward() runs ``body`` from its ``n``-th call on (the smoke
    test makes one call: n > 1 is mid-study)."""
    loss = (CORRECT / "loss.py").read_text(encoding="utf-8")
    hook = (f"        global _calls\n        _calls += 1\n        if _calls >= {n}:\n"
            + "".join(f"            {line}\n" for line in body.splitlines()))
    doc = '        """Input (batch_size, 784), labels (batch_size,) integers -> (loss, acc)."""\n'
    head, sep, rest = loss.partition(doc)
    assert sep, "the correct case's forward docstring moved"
    folder = tmp_path / "student"
    folder.mkdir()
    (folder / "loss.py").write_text("_calls = 0\n" + head + sep + hook + rest, encoding="utf-8")
    (folder / "optimizer.py").write_text((CORRECT / "optimizer.py").read_text(encoding="utf-8"),
                                         encoding="utf-8")
    return folder


def study(folder, out, mnist_dir, **kw):
    return subprocess.Popen([sys.executable, "-m", "softmax_mnist", "study", "--quick", "--impl",
                             str(folder), "--data-dir", str(mnist_dir), "--out", str(out), "--lang", "en",
                             "-q"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, **kw)


def finish(proc, seconds):
    try:
        out, err = proc.communicate(timeout=seconds)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        raise AssertionError(f"still running after {seconds} s") from None
    return proc.returncode, out.decode("utf-8", "replace"), err.decode("utf-8", "replace")


@pytest.mark.parametrize("body, words", [
    ("import sys\nsys.exit()", "forward called sys.exit(); the course's classes return their results"),
    ("import sys\nsys.exit(0)", "forward called sys.exit(0)"),
    ("import os\nos._exit(0)", "the student's code ended the process running it (exit code 0) "
                               "while training"),
    ("import os\nos._exit(7)", "(exit code 7)"),
])
def test_an_exit_in_the_students_code_mid_study_is_one_line(tmp_path, mnist_dir, body, words):
    rc, out, err = finish(study(after_calls(tmp_path, 5, body), tmp_path / "out", mnist_dir), 300)
    assert rc == 1, (rc, out, err)
    assert err.startswith("softmax-mnist study: error: student: ") and err.count("\n") == 1, err
    assert words in err, err
    assert "Traceback" not in err


def test_a_hang_mid_study_is_one_line_after_the_call_limit(tmp_path, mnist_dir, monkeypatch, capsys):
    monkeypatch.setattr(impl, "CALL_SECONDS", 2)
    folder = after_calls(tmp_path, 5, "while True:\n    pass")
    rc = main(["study", "--quick", "--impl", str(folder), "--data-dir", str(mnist_dir),
               "--out", str(tmp_path / "out"), "--lang", "en", "-q"])
    err = capsys.readouterr().err
    assert rc == 1
    assert "student: forward did not finish within 2 s (an endless loop?)" in err and err.count("\n") == 1


@pytest.mark.skipif(not hasattr(signal, "SIGTERM") or os.name == "nt",
                    reason="sends POSIX signals to a running study")
@pytest.mark.parametrize("signum", ["SIGTERM", "SIGINT"])
def test_signals_stop_a_study_whose_student_code_hangs(tmp_path, mnist_dir, signum):
    marker = tmp_path / "hanging"
    folder = after_calls(tmp_path, 5, f"open({str(marker)!r}, 'w').close()\n"
                                      "while True:\n    try:\n        pass\n    except BaseException:\n"
                                      "        pass")
    proc = study(folder, tmp_path / "out", mnist_dir)
    try:
        deadline = time.monotonic() + 240
        while not marker.exists():
            assert proc.poll() is None and time.monotonic() < deadline, "the study never reached the hang"
            time.sleep(0.2)
        time.sleep(0.5)
        proc.send_signal(getattr(signal, signum))
        rc, out, err = finish(proc, 30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert rc == 130, (rc, err)
    assert f"softmax-mnist study: {signum}: the student's code did not stop within" in err, err
    assert "resume with: softmax-mnist study --resume" in err


def test_a_gbk_saved_file_is_one_line(tmp_path, mnist_dir, capsys):
    folder = tmp_path / "gbk"
    folder.mkdir()
    (folder / "loss.py").write_bytes(("# 损失函数\n" + (CORRECT / "loss.py").read_text(encoding="utf-8"))
                                     .encode("gbk"))
    (folder / "optimizer.py").write_bytes((CORRECT / "optimizer.py").read_bytes())
    rc = main(["study", "--quick", "--impl", str(folder), "--data-dir", str(mnist_dir),
               "--out", str(tmp_path / "out"), "--lang", "en"])
    err = capsys.readouterr().err
    assert rc == 1 and err.count("\n") == 1, err
    assert "loss.py line 1: not saved as UTF-8" in err and "save it as UTF-8" in err
    assert "run the study again" in err
    assert not (tmp_path / "out").exists()


def test_the_students_code_runs_in_another_process(tmp_path):
    pid = tmp_path / "pid"
    folder = after_calls(tmp_path, 1, f"open({str(pid)!r}, 'w').write(str(__import__('os').getpid()))")
    loaded = impl.load(folder)
    assert int((tmp_path / "pid").read_text()) != os.getpid()  # the smoke test ran elsewhere
    loaded.worker.end()
