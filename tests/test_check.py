"""softmax-mnist check: each fixture submission in check_cases/ fails exactly its checks, with its hint.

Each folder of tests/check_cases holds a student's loss.py and optimizer.py with one typical
mistake (``correct`` has none). The checker runs the student's code in a child process, so these
tests also show that an exception, an endless loop and a huge allocation fail a check instead of
the checker.
"""

from __future__ import annotations

import csv
import io
import json
import re
import sys
import textwrap
import time
from pathlib import Path

import pytest

from softmax_mnist.apps.cli import build_parser, main
from softmax_mnist.checker import checks, process, runner
from softmax_mnist.checker.folder import framework_imports

CASES = Path(__file__).parent / "check_cases"
NEEDS_GRADIENT = {"gradient-shapes", "gradient", "vectorised", "train"}

# case -> (the checks that must fail, {check: words its message or hint must contain})
EXPECTED = {
    "correct": (set(), {}),
    "no_max_shift": ({"forward-overflow"}, {"forward-overflow": "subtract each row's max logit"}),
    "not_divided": ({"gradient", "train"}, {"gradient": "divide grad_W and grad_b by N"}),
    "grad_b_shape": ({"gradient-shapes"}, {"gradient-shapes": "keepdims=True"}),
    "onehot_labels": ({"accuracy"}, {"accuracy": "not one-hot"}),
    "velocity_reset": ({"momentum", "train"}, {"momentum": "velocity starts from zero in every step()"}),
    "wrong_sign": ({"momentum", "train"}, {"momentum": "the weights move uphill"}),
    "momentum_on_gradient": ({"momentum", "train"},
                             {"momentum": "multiplies the gradient instead of the previous velocity"}),
    "ignores_trainable": ({"frozen"}, {"frozen": "only when model.trainable is True"}),
    "python_loop": ({"vectorised"}, {"vectorised": "a Python loop over samples"}),
    "imports_torch": ({"framework"}, {"framework": "loss.py line 4: import torch"}),
    "endless_loop": (NEEDS_GRADIENT, {"gradient-shapes": "did not finish within 5 s"}),
    "huge_allocation": (NEEDS_GRADIENT, {"gradient-shapes": "ran out of memory (the limit is 2048 MB)"}),
    "raises": (NEEDS_GRADIENT, {"gradient-shapes": "raised NotImplementedError"}),
}


def test_every_case_folder_is_expected():
    folders = {p.name for p in CASES.iterdir() if p.is_dir()}
    assert folders == set(EXPECTED) | {"syntax_error"}


@pytest.fixture(scope="module")
def each(mnist_dir, tmp_path_factory):
    """Every case folder checked once, through `check CASES --each --json` (two at a time)."""
    out = tmp_path_factory.mktemp("each") / "results.csv"
    with pytest.MonkeyPatch.context() as mp:
        buf = io.StringIO()
        mp.setattr(sys, "stdout", buf)
        mp.setattr(sys, "stderr", io.StringIO())
        code = main(["check", str(CASES), "--each", "--json", "--jobs", "2", "--out", str(out),
                     "--data-dir", str(mnist_dir)])
    reports = {Path(r["folder"]).name: r for r in json.loads(buf.getvalue())}
    return code, reports, out


def run_json(capsys, *argv):
    code = main(["check", *map(str, argv), "--json"])
    out, err = capsys.readouterr()
    return code, json.loads(out)


@pytest.fixture
def checked(each):
    def get(case):
        report = each[1][case]
        return report["status"], report
    return get


def test_each_over_the_cases(each):
    code, reports, csv_path = each
    assert code == 1  # some fail
    assert sorted(reports) == sorted(set(EXPECTED) | {"syntax_error"})
    assert reports["syntax_error"]["status"] == 2
    rows = {r["submission"]: r for r in csv.DictReader(csv_path.open(encoding="utf-8-sig"))}
    for case, report in reports.items():
        assert rows[case]["status"] == str(report["status"])
        assert {n for n in checks.CHECKS if rows[case][n] == "FAIL"} == set(report["failed"])


def test_single_folder_exit_status_and_json(mnist_dir, capsys):
    code, report = run_json(capsys, CASES / "correct", "--data-dir", mnist_dir)
    assert (code, report["status"], report["failed"]) == (0, 0, [])
    assert report["passed"] == len(checks.CHECKS)


def line_of(path: Path, text: str) -> int:
    return next(i for i, ln in enumerate(path.read_text().splitlines(), start=1) if text in ln)


@pytest.mark.parametrize("case", sorted(EXPECTED))
def test_case_fails_exactly_its_checks(checked, case):
    code, report = checked(case)
    must_fail, words = EXPECTED[case]
    assert [c["name"] for c in report["checks"]] == list(checks.CHECKS)
    assert set(report["failed"]) == must_fail, report["failed"]
    assert code == report["status"] == (1 if must_fail else 0)
    assert report["passed"] == len(checks.CHECKS) - len(must_fail)
    by_name = {c["name"]: c for c in report["checks"]}
    for name, text in words.items():
        said = by_name[name]["message"] + " " + by_name[name]["hint"]
        assert text in said, said
        assert by_name[name]["hint"], by_name[name]  # the mistake comes with a hint
    for c in report["checks"]:
        assert c["message"], c


def test_correct_submission_matches_the_reference_run(checked):
    _, report = checked("correct")
    by_name = {c["name"]: c for c in report["checks"]}
    train = by_name["train"]["details"]["train"]
    assert train["val_acc"] > 0.88  # one epoch with momentum 0.9 (the full course run: ~0.93)
    assert abs(train["val_acc"] - train["reference_val_acc"]) < 1e-3  # same start, same batches
    vec = by_name["vectorised"]["details"]["vectorised"]
    assert 0 < vec["ratio"] <= vector_bound()  # the checker's own generous bound
    assert "relative error" in by_name["gradient"]["message"]


def vector_bound() -> float:
    from softmax_mnist.checker.checks_training import VECTOR_BOUND

    return VECTOR_BOUND


def test_gradient_hint_names_n_for_both_batch_sizes(checked):
    _, report = checked("not_divided")
    msg = next(c for c in report["checks"] if c["name"] == "gradient")["message"]
    assert "100 = N times the reference's" in msg
    assert "central differences of your loss" in msg


def test_python_loop_is_named_at_its_line(checked):
    _, report = checked("python_loop")
    vec = next(c for c in report["checks"] if c["name"] == "vectorised")
    line = line_of(CASES / "python_loop" / "loss.py", "for i in range(n):")
    assert f"loss.py line {line} (for i in range(n):)" in vec["message"]
    assert "x the reference's time per minibatch of 1000" in vec["message"]  # the ratio is reported
    assert vec["details"]["vectorised"]["ratio"] > 0


def test_endless_loop_is_stopped_where_it_loops_and_not_called_again(checked):
    _, report = checked("endless_loop")
    by_name = {c["name"]: c for c in report["checks"]}
    line = line_of(CASES / "endless_loop" / "loss.py", "while i < n:")
    assert f"gradient_computing() did not finish within 5 s; it was running at loss.py line {line}" \
        in by_name["gradient-shapes"]["message"]
    for name in ("gradient", "vectorised", "train"):
        assert by_name[name]["message"].startswith("not run: gradient_computing() did not finish")


def test_huge_allocation_hits_the_memory_limit(checked):
    _, report = checked("huge_allocation")
    msg = next(c for c in report["checks"] if c["name"] == "gradient-shapes")["message"]
    line = line_of(CASES / "huge_allocation" / "loss.py", "np.repeat")
    assert f"at loss.py line {line}" in msg
    assert "Unable to allocate" in msg  # numpy's MemoryError under RLIMIT_AS, not a killed machine


def test_framework_found_by_source_and_by_import(checked):
    _, report = checked("imports_torch")
    fw = report["checks"][0]
    assert "in the source: loss.py line 4: import torch" in fw["message"]
    assert "when importing: torch (from loss.py line 4)" in fw["message"]


def test_no_bytecode_left_in_the_students_folders(checked):
    checked("correct")
    assert not list(CASES.rglob("__pycache__"))


# ---- cannot run: exit status 2, one line saying which ---------------------------------------


def test_syntax_error_cannot_run(capsys):
    code = main(["check", str(CASES / "syntax_error")])
    out, err = capsys.readouterr()
    line = line_of(CASES / "syntax_error" / "loss.py", "def gradient_computing(self)")
    assert code == 2
    assert out == ""
    assert err.strip().count("\n") == 0
    assert f"loss.py line {line}: syntax error" in err


def write(folder: Path, **files: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (folder / f"{name}.py").write_text(textwrap.dedent(text))
    return folder


CORRECT_LOSS = (CASES / "correct" / "loss.py").read_text()
CORRECT_SGD = (CASES / "correct" / "optimizer.py").read_text()


@pytest.mark.parametrize("setup, words", [
    (lambda d: d / "missing", "no such folder"),
    (lambda d: write(d / "s", optimizer=CORRECT_SGD), "no loss.py in it"),
    (lambda d: write(d / "s", loss=CORRECT_LOSS), "no optimizer.py in it"),
    (lambda d: write(d / "s", loss="import numpy as np\nx = undefined_name\n", optimizer=CORRECT_SGD),
     "raised NameError: name 'undefined_name' is not defined (loss.py line 2)"),
    (lambda d: write(d / "s", loss="import numpy as np\n", optimizer=CORRECT_SGD),
     "loss.py has no class SoftmaxCrossEntropyLoss"),
    (lambda d: write(d / "s", loss="from helper import *\n", optimizer=CORRECT_SGD, helper="def f(:\n"),
     "helper.py line 1: syntax error"),
])
def test_cannot_run(tmp_path, mnist_dir, capsys, setup, words):
    code, report = run_json(capsys, setup(tmp_path), "--data-dir", mnist_dir)
    assert code == report["status"] == 2
    assert words in report["error"]
    assert report["checks"] == []


def test_missing_mnist_cannot_run(tmp_path, capsys):
    code, report = run_json(capsys, CASES / "correct", "--data-dir", tmp_path)
    assert code == 2
    assert "the train check needs MNIST" in report["error"]


# ---- isolation beyond Python exceptions: the child dies or ignores its alarm ------------------


def frozen_case(tmp_path, body: str) -> Path:
    """The correct submission, but step() does ``body`` when the model is frozen."""
    sgd = CORRECT_SGD.replace("        if layer.trainable:\n",
                              "        if not layer.trainable:\n" + textwrap.indent(body, " " * 12)
                              + "        if layer.trainable:\n")
    assert sgd != CORRECT_SGD
    return write(tmp_path / "s", loss=CORRECT_LOSS, optimizer=sgd)


def test_a_dying_child_fails_one_check_and_the_rest_go_on(tmp_path):
    folder = frozen_case(tmp_path, "import os, sys\nsys.stderr.write('bye from step\\n')\nos._exit(3)\n")
    report = runner.run_check(folder, checks=["sgd", "frozen", "vectorised"])
    assert report.status == 1
    assert report.failed == ["frozen"]
    sgd, frozen, vectorised = report.checks
    assert "the process running your code died (exit code 3): bye from step" in frozen.message
    assert sgd.passed and vectorised.passed  # vectorised ran in a new child


def test_a_child_ignoring_its_alarm_is_killed(tmp_path):
    folder = frozen_case(tmp_path, "while True:\n    try:\n        while True:\n            pass\n"
                                   "    except BaseException:\n        pass\n")
    report = runner.run_check(folder, checks=["frozen", "vectorised"])
    assert report.failed == ["frozen"]
    frozen, vectorised = report.checks
    assert "did not finish within 10 s and was stopped" in frozen.message
    assert vectorised.passed  # in a new child


def test_a_chatty_submission_does_not_block(tmp_path):
    loss = CORRECT_LOSS.replace("        self.Input = Input\n",
                                "        print('x' * 300_000)\n        self.Input = Input\n")
    folder = write(tmp_path / "s", loss=loss, optimizer=CORRECT_SGD)
    report = runner.run_check(folder, checks=["forward", "forward-odd-batch", "accuracy"])
    assert report.status == 0, report.checks


def test_a_student_file_named_like_a_library_does_not_break_the_checker(tmp_path):
    folder = write(tmp_path / "s", loss=CORRECT_LOSS, optimizer=CORRECT_SGD,
                   signal="raise RuntimeError('the checker imported this')\n",
                   json="raise RuntimeError('the checker imported this')\n")
    report = runner.run_check(folder, checks=["framework", "construction", "forward"])
    assert report.status == 0, report.checks


# ---- the framework check's other ways in -----------------------------------------------------


def test_framework_imported_by_a_local_module(tmp_path):
    folder = write(tmp_path / "s", loss="from helper import np\n" + CORRECT_LOSS, optimizer=CORRECT_SGD,
                   helper="import numpy as np\nimport tensorflow as tf  # noqa\n")
    report = runner.run_check(folder, checks=["framework", "forward"])
    assert report.failed == ["framework"]
    assert "helper.py line 2: import tensorflow" in report.checks[0].message


def test_framework_imported_at_run_time_by_a_computed_name(tmp_path):
    loss = CORRECT_LOSS.replace('        self.Input = Input\n',
                                '        __import__("to" + "rch")\n        self.Input = Input\n')
    folder = write(tmp_path / "s", loss=loss, optimizer=CORRECT_SGD)
    report = runner.run_check(folder, checks=["framework", "forward"])
    assert report.failed == ["framework"]
    assert "torch (from loss.py line" in report.checks[0].message
    assert report.checks[1].passed  # the stand-in let the NumPy code run


def test_the_reference_itself_is_not_a_submission(tmp_path):
    folder = write(tmp_path / "s", optimizer=CORRECT_SGD,
                   loss="from softmax_mnist.course.loss import SoftmaxCrossEntropyLoss  # noqa\n")
    report = runner.run_check(folder, checks=["framework", "forward"])
    assert report.failed == ["framework"]
    assert "SoftmaxCrossEntropyLoss in loss.py is not defined in your folder" in report.checks[0].message


def test_framework_imports_in_the_source(tmp_path):
    path = tmp_path / "x.py"
    path.write_text("import torch.nn as nn\nfrom tensorflow import keras\nimport importlib\n"
                    "jax = __import__('jax')\nimportlib.import_module('paddle')\n"
                    "import torchmetrics_like, numpy\nfrom .torch import x\n")
    assert framework_imports(path) == [("torch", 1), ("tensorflow", 2), ("jax", 4), ("paddle", 5)]


def test_course_files_missing_from_the_folder_are_supplied(tmp_path):
    loss = ("from dataloader import build_dataloader  # noqa\n"
            "from visualize import plot_loss_and_acc  # noqa\n"
            "from solver import Solver  # noqa\n")
    folder = write(tmp_path / "s", loss=loss + CORRECT_LOSS, optimizer=CORRECT_SGD)
    report = runner.run_check(folder, checks=["framework", "construction", "forward"])
    assert report.status == 0, report.checks


# ---- output ---------------------------------------------------------------------------------


def test_text_output_one_line_per_check_then_the_summary(mnist_dir, capsys):
    code = main(["check", str(CASES / "no_max_shift"), "--data-dir", str(mnist_dir)])
    out, _ = capsys.readouterr()
    lines = out.strip().splitlines()
    verdicts = [ln for ln in lines if re.match(r"(PASS|FAIL)  ", ln)]
    assert code == 1
    assert len(verdicts) == len(checks.CHECKS)
    assert [ln.split()[1] for ln in verdicts] == list(checks.CHECKS)
    fail = lines.index(next(ln for ln in verdicts if ln.startswith("FAIL")))
    assert lines[fail].split()[1] == "forward-overflow"
    assert "hint: exp overflows" in lines[fail + 1]
    assert re.match(r"13 of 14 checks passed, 1 failed: forward-overflow  \(\d+\.\d s\)$", lines[-1])


def test_help_says_it_is_not_a_sandbox(capsys):
    with pytest.raises(SystemExit):
        build_parser().parse_args(["check", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "NOT a security sandbox" in text
    assert "a guard against mistakes" in text


def test_flags_of_each_need_each(capsys):
    assert main(["check", str(CASES / "correct"), "--jobs", "2"]) == 1
    assert "--jobs and --out go with --each" in capsys.readouterr().err


# ---- for teachers: --each --------------------------------------------------------------------


def test_each_writes_one_row_per_submission(tmp_path, mnist_dir, capsys):
    subs = tmp_path / "class"
    for name in ("alice", "bob"):
        write(subs / name, loss=CORRECT_LOSS, optimizer=CORRECT_SGD)
    bob = subs / "bob" / "optimizer.py"
    bob.write_text(bob.read_text().replace("        if layer.trainable:\n", "        if True:\n"))
    write(subs / "carol", loss="def broken(:\n", optimizer=CORRECT_SGD)
    code = main(["check", str(subs), "--each", "--jobs", "2", "--data-dir", str(mnist_dir)])
    out, err = capsys.readouterr()
    assert code == 1
    rows = list(csv.DictReader((subs / "results.csv").open(encoding="utf-8-sig")))
    assert [r["submission"] for r in rows] == ["alice", "bob", "carol"]
    assert list(rows[0])[4:-1] == list(checks.CHECKS)
    assert rows[0]["status"] == "0" and set(rows[0][n] for n in checks.CHECKS) == {"PASS"}
    assert rows[1]["status"] == "1" and rows[1]["frozen"] == "FAIL" and rows[1]["failed"] == "1"
    assert rows[2]["status"] == "2" and "syntax error" in rows[2]["error"] and rows[2]["train"] == ""
    assert re.search(r"^bob +13 of 14 +frozen$", out, re.M)
    assert "1 of 3 submissions pass every check, 1 could not be run; failures per check: frozen 1" in out
    assert "checked alice: 14 of 14 passed" in err


def test_each_needs_subfolders(tmp_path, capsys):
    assert main(["check", str(tmp_path), "--each"]) == 2
    assert "no subfolders" in capsys.readouterr().err


# ---- for students starting out: softmax-mnist skeleton DIR (and its alias check --skeleton) ----

FILLED = {
    "loss.py": {
        '        raise NotImplementedError("TODO in forward: the loss and the accuracy")\n': '''\
        self.Input, self.labels = Input, labels
        logits = Input @ self.W + self.b
        logits = logits - logits.max(axis=1, keepdims=True)
        log_p = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
        self.prob = np.exp(log_p)
        rows = np.arange(len(Input))
        return -log_p[rows, labels].mean(), np.mean(logits.argmax(axis=1) == labels)
''',
        '        raise NotImplementedError("TODO in gradient_computing: grad_W and grad_b")\n': '''\
        d = self.prob.copy()
        d[np.arange(len(d)), self.labels] -= 1
        d /= len(d)
        self.grad_W = self.Input.T @ d
        self.grad_b = d.sum(axis=0, keepdims=True)
''',
    },
    "optimizer.py": {
        "        # TODO: one velocity for W and one for b: zeros of their shapes, kept between steps\n":
            "        self.vW, self.vb = np.zeros_like(model.W), np.zeros_like(model.b)\n",
        '            raise NotImplementedError("TODO in step: the update with momentum")\n': '''\
            self.vW = self.momentum * self.vW - self.learning_rate * layer.grad_W
            self.vb = self.momentum * self.vb - self.learning_rate * layer.grad_b
            layer.W += self.vW
            layer.b += self.vb
''',
    },
}


def test_skeleton_is_read_by_check_and_passes_once_filled(tmp_path, mnist_dir, capsys):
    folder = tmp_path / "mine"
    assert main(["skeleton", str(folder)]) == 0
    assert "fill in the TODOs" in capsys.readouterr().out
    code, report = run_json(capsys, folder, "--data-dir", mnist_dir)
    assert code == 1
    passing = {c["name"] for c in report["checks"] if c["passed"]}
    assert passing == {"framework", "construction", "frozen"}  # the given parts already work
    forward = next(c for c in report["checks"] if c["name"] == "forward")
    assert "forward() raised NotImplementedError: TODO in forward" in forward["message"]
    for name, edits in FILLED.items():
        path = folder / name
        text = path.read_text()
        for todo, code_ in edits.items():
            assert text.count(todo) == 1, todo
            text = text.replace(todo, code_)
        path.write_text(text)
    code, report = run_json(capsys, folder, "--data-dir", mnist_dir)
    assert (code, report["failed"]) == (0, [])


@pytest.mark.parametrize("argv", [["skeleton", "{}"], ["check", "{}", "--skeleton"]])
def test_skeleton_never_overwrites(tmp_path, capsys, argv):
    folder = write(tmp_path / "s", loss="# mine\n")
    assert main([a.format(folder) for a in argv]) == 2
    assert f"softmax-mnist {argv[0]}: error: " in (err := capsys.readouterr().err)
    assert "loss.py exists already" in err
    assert (folder / "loss.py").read_text() == "# mine\n"
    assert not (folder / "optimizer.py").exists()


def test_skeleton_alias_writes_the_same_files(tmp_path, capsys):
    assert main(["check", str(tmp_path / "a"), "--skeleton"]) == 0
    assert main(["skeleton", str(tmp_path / "b")]) == 0
    for name in ("loss.py", "optimizer.py"):
        assert (tmp_path / "a" / name).read_text() == (tmp_path / "b" / name).read_text()
    assert "TODO" in (tmp_path / "b" / "loss.py").read_text()


# ---- the child protocol (issue 18 item 2, issue 22 item 5) -----------------------------------

import os  # noqa: E402
import shutil  # noqa: E402
import subprocess  # noqa: E402
import threading  # noqa: E402

import psutil  # noqa: E402


def forward_case(tmp_path, body: str, name: str = "s") -> Path:
    """The correct submission, but forward() first runs ``body``."""
    code = textwrap.indent(textwrap.dedent(body), " " * 8)
    loss = CORRECT_LOSS.replace("        self.Input = Input\n", code + "        self.Input = Input\n")
    assert loss != CORRECT_LOSS
    return write(tmp_path / name, loss=loss, optimizer=CORRECT_SGD)


def run_with_deadline(seconds: float, fn, *args, **kw):
    """fn(*args, **kw) on a thread; fails the test (instead of hanging it) past ``seconds``."""
    out = {}
    thread = threading.Thread(target=lambda: out.setdefault("r", fn(*args, **kw)), daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), f"still waiting after {seconds} s"
    return out["r"]


def test_lines_that_are_not_well_formed_events_are_the_students_output(tmp_path):
    """Junk, other JSON and forged results written to every descriptor the child holds (the
    event channel among them) change no verdict and crash nothing."""
    folder = forward_case(tmp_path, """\
        import os as _os
        for _fd in range(3, 40):
            for _line in (b'{"x": 1}\\n', b'[1, 2, 3]\\n', b'"event"\\n', b'{"event": "result"}\\n',
                          b'{"event": "start", "check": 5}\\n',
                          b'{"event": "result", "check": "frozen", "passed": true}\\n'):
                try:
                    _os.write(_fd, _line)
                except OSError:
                    pass
        """)
    report = run_with_deadline(120, runner.run_check, folder, checks=["forward", "accuracy", "frozen"])
    assert report.status == 0, report.checks
    assert [c.name for c in report.checks] == ["forward", "accuracy", "frozen"]


def test_a_child_that_closes_its_channel_and_ignores_its_alarm_is_ended_on_time(tmp_path):
    folder = frozen_case(tmp_path, "import os\nfor fd in range(3, 40):\n    try:\n        os.close(fd)\n"
                                   "    except OSError:\n        pass\n"
                                   "while True:\n    try:\n        while True:\n            pass\n"
                                   "    except BaseException:\n        pass\n")
    report = run_with_deadline(90, runner.run_check, folder, checks=["frozen", "momentum"])
    momentum, frozen = report.checks
    assert not frozen.passed and "did not finish within 10 s and was stopped" in frozen.message
    assert momentum.passed  # in a new child


def _alive(pid_file: Path) -> bool:
    pid = int(pid_file.read_text())
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


@pytest.mark.skipif(not hasattr(os, "fork"), reason="the escape it tests needs fork and setsid")
def test_processes_that_escape_with_setsid_are_ended_and_do_not_hold_the_check(tmp_path):
    """A double fork plus setsid at import leaves a process outside the child's tree, holding
    its output: the check still ends at once with every verdict, and the process is gone."""
    pid_file = tmp_path / "pid"
    loss = (f"import os, time\nif os.fork() == 0:\n    os.setsid()\n    if os.fork() == 0:\n"
            f"        open({str(pid_file)!r}, 'w').write(str(os.getpid()))\n        time.sleep(120)\n"
            f"    os._exit(0)\nos.wait()\n") + CORRECT_LOSS
    folder = write(tmp_path / "s", loss=loss, optimizer=CORRECT_SGD)
    report = run_with_deadline(60, runner.run_check, folder, checks=["forward", "sgd"])
    assert report.status == 0, report.checks
    deadline = time.monotonic() + 5
    while _alive(pid_file) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _alive(pid_file)


def test_a_submission_that_starts_many_processes_is_stopped(tmp_path):
    pids = tmp_path / "pids"
    folder = frozen_case(tmp_path, "import subprocess, sys\nfor _ in range(40):\n"
                                   "    p = subprocess.Popen([sys.executable, '-c',\n"
                                   "                          'import time; time.sleep(120)'])\n"
                                   f"    open({str(pids)!r}, 'a').write(f'{{p.pid}}\\n')\n"
                                   "import time\ntime.sleep(30)\n")
    report = run_with_deadline(120, runner.run_check, folder, checks=["frozen", "momentum"])
    momentum, frozen = report.checks
    assert not frozen.passed and f"started more than {process.MAX_PROCESSES - 1} processes" \
        in frozen.message
    assert "no processes of their own" in frozen.hint
    assert momentum.passed
    started = [int(p) for p in pids.read_text().split()]
    # the cap holds at each start (an audit hook in the child), not at the watchdog's next look:
    # a quiet machine starts all 40 between two looks
    assert len(started) <= process.MAX_PROCESSES, len(started)
    time.sleep(1)
    assert not [p for p in started if psutil.pid_exists(p)
                and psutil.Process(p).status() != psutil.STATUS_ZOMBIE]


@pytest.fixture(scope="module")
def truncated_mnist(mnist_dir, tmp_path_factory):
    """A copy of MNIST whose training images stop halfway."""
    where = tmp_path_factory.mktemp("truncated")
    for f in Path(mnist_dir).iterdir():
        if f.is_file():
            shutil.copy(f, where / f.name)
    images = next(where.glob("train-images*"))
    images.write_bytes(images.read_bytes()[: images.stat().st_size // 2])
    return where


def test_a_truncated_mnist_file_is_could_not_check(truncated_mnist):
    report = runner.run_check(CASES / "correct", truncated_mnist, checks=["forward", "train"])
    assert report.status == 2, report.checks
    assert "the train check needs MNIST" in report.error and "truncated" in report.error


def test_each_with_a_truncated_mnist_file_is_could_not_check_for_everyone(tmp_path, truncated_mnist, capsys):
    subs = tmp_path / "class"
    for name in ("alice", "bob"):
        write(subs / name, loss=CORRECT_LOSS, optimizer=CORRECT_SGD)
    (subs / "results.csv").write_text("old results\n")
    code = main(["check", str(subs), "--each", "--jobs", "2", "--data-dir", str(truncated_mnist)])
    capsys.readouterr()
    assert code == 2
    rows = list(csv.DictReader((subs / "results.csv").open(encoding="utf-8-sig")))
    assert [(r["submission"], r["status"]) for r in rows] == [("alice", "2"), ("bob", "2")]
    assert all("the train check needs MNIST" in r["error"] for r in rows)


def test_each_goes_on_when_checking_one_submission_fails_unexpectedly(tmp_path, mnist_dir, monkeypatch,
                                                                      capsys):
    subs = tmp_path / "class"
    for name in ("alice", "bob"):
        write(subs / name, loss=CORRECT_LOSS, optimizer=CORRECT_SGD)
    (subs / "results.csv").write_text("old results\n")
    real = runner.run_check

    def flaky(folder, data_dir=None, checks=None):
        if Path(folder).name == "alice":
            raise KeyError("event")
        return real(folder, data_dir, ["forward"])

    monkeypatch.setattr(runner, "run_check", flaky)
    code = main(["check", str(subs), "--each", "--data-dir", str(mnist_dir)])
    capsys.readouterr()
    assert code == 1
    rows = {r["submission"]: r for r in csv.DictReader((subs / "results.csv").open(encoding="utf-8-sig"))}
    assert rows["alice"]["status"] == "2" and "KeyError" in rows["alice"]["error"]
    assert rows["bob"]["status"] == "0"


def test_help_says_what_a_determined_student_can_still_forge(capsys):
    with pytest.raises(SystemExit):
        build_parser().parse_args(["check", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "What a determined student can still forge" in text
    assert "report PASS for every check" in text


# ---- text from students: UTF-8 whatever the console (issue 18 item 2) ------------------------

GBK_LOSS = "# 损失函数：softmax 交叉熵\n" + CORRECT_LOSS


def test_a_gbk_saved_file_is_one_line_naming_the_fix(tmp_path, capsys):
    folder = tmp_path / "s"
    folder.mkdir()
    (folder / "loss.py").write_bytes(GBK_LOSS.encode("gbk"))
    (folder / "optimizer.py").write_text(CORRECT_SGD, encoding="utf-8")
    code = main(["check", str(folder)])
    out, err = capsys.readouterr()
    assert code == 2 and out == ""
    assert err.count("\n") == 1
    assert "loss.py line 1: not saved as UTF-8" in err and "save it as UTF-8" in err


def test_a_utf8_file_with_a_bom_or_a_coding_line_is_read(tmp_path):
    folder = tmp_path / "s"
    folder.mkdir()
    (folder / "loss.py").write_bytes(b"\xef\xbb\xbf" + GBK_LOSS.encode("utf-8"))
    (folder / "optimizer.py").write_bytes(("# -*- coding: gbk -*-\n# 优化器\n" + CORRECT_SGD).encode("gbk"))
    report = runner.run_check(folder, checks=["framework", "forward", "sgd"])
    assert report.status == 0, report.checks


def test_students_text_on_a_gbk_console(tmp_path, mnist_dir):
    """The student prints characters GBK has and has not; the console is GBK: every verdict is
    as without the prints, and the parent prints the student's text in the crash message."""
    loss = CORRECT_LOSS.replace("        self.Input = Input\n",
                                "        print('µ 损失 🙂')\n        self.Input = Input\n")
    folder = frozen_case(tmp_path, "import os, sys\nprint('再见 🙂', file=sys.stderr, flush=True)\n"
                                   "os._exit(3)\n")
    (folder / "loss.py").write_text(loss, encoding="utf-8")
    env = {**os.environ, "PYTHONIOENCODING": "gbk", "LC_ALL": "C"}
    proc = subprocess.run([sys.executable, "-m", "softmax_mnist", "check", str(folder), "--data-dir",
                           str(mnist_dir)], env=env, capture_output=True, timeout=300)
    out = proc.stdout.decode("gbk")
    assert proc.returncode == 1, (out, proc.stderr.decode("gbk", "replace"))
    assert "Traceback" not in proc.stderr.decode("gbk", "replace")
    assert re.search(r"13 of 14 checks passed, 1 failed: frozen", out), out
    frozen = next(ln for ln in out.splitlines() if ln.startswith("FAIL  frozen"))
    assert "died (exit code 3): " in frozen and "再见 \\U0001f642" in frozen, frozen


# ---- the same verdicts without what only POSIX has ---------------------------------------------

SIMULATED_SYSTEM = '''\
"""Loaded first by every Python process (sitecustomize): what Windows lacks is taken away
(psutil, which has its own Windows module, is loaded before ``resource`` goes)."""
import os, select, signal, sys
import psutil
for name in ("SIGALRM", "setitimer", "alarm", "ITIMER_REAL", "pthread_kill", "SIGKILL"):
    if hasattr(signal, name):
        delattr(signal, name)
for name in ("killpg", "setsid", "fork", "getpgid", "geteuid", "getuid", "set_blocking"):
    if hasattr(os, name):
        delattr(os, name)
sys.modules["resource"] = None  # import resource: ImportError
def _select(*args, **kw):
    raise OSError("select() works on sockets only here")
select.select = _select
'''


@pytest.fixture
def no_posix(tmp_path, monkeypatch):
    """This process and every child without SIGALRM, setitimer, resource, os.killpg, os.setsid,
    os.fork, select() on pipes, pass_fds and start_new_session (a sitecustomize for the children,
    monkeypatch here)."""
    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(SIMULATED_SYSTEM, encoding="utf-8")
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(site), os.environ.get("PYTHONPATH", "")]))
    for name in ("SIGALRM", "setitimer", "alarm"):
        monkeypatch.delattr(signal_module(), name, raising=False)
    for name in ("killpg", "setsid"):
        monkeypatch.delattr(os, name, raising=False)
    monkeypatch.setitem(sys.modules, "resource", None)
    import select

    monkeypatch.setattr(select, "select", lambda *a, **k: (_ for _ in ()).throw(OSError("sockets only")))
    real = subprocess.Popen

    class Popen(real):
        def __init__(self, *args, **kw):
            assert not kw.get("pass_fds") and not kw.get("start_new_session"), kw
            super().__init__(*args, **kw)

    monkeypatch.setattr(subprocess, "Popen", Popen)
    return site


def signal_module():
    import signal

    return signal


def test_without_posix_the_limits_still_hold(no_posix, tmp_path, monkeypatch):
    endless = runner.run_check(CASES / "endless_loop", checks=["gradient-shapes", "gradient", "sgd"])
    shapes, gradient, sgd = endless.checks
    line = line_of(CASES / "endless_loop" / "loss.py", "while i < n:")
    assert f"gradient_computing() did not finish within 5 s; it was running at loss.py line {line}" \
        in shapes.message
    assert gradient.message.startswith("not run: gradient_computing() did not finish")
    assert sgd.passed
    dying = runner.run_check(frozen_case(tmp_path, "import os\nos._exit(3)\n"), checks=["frozen", "sgd"])
    sgd, frozen = dying.checks
    assert "the process running your code died (exit code 3)" in frozen.message
    assert sgd.passed
    # memory: no RLIMIT_AS here, so the parent's watchdog stops the tree at the limit and says so
    monkeypatch.setattr(runner, "MEMORY_MB", 400)
    grows = forward_case(tmp_path, """\
        _hoard = []
        while True:
            _hoard.append(np.ones(8 << 20))  # 64 MB a time, touched
        """, name="grows")
    report = run_with_deadline(120, runner.run_check, grows, checks=["forward", "sgd"])
    forward, sgd = report.checks
    assert "ran out of memory (the limit is 400 MB) and was stopped" in forward.message
    assert f"at loss.py line {line_of(grows / 'loss.py', '_hoard.append')}" in forward.message
    assert forward.hint == checks.MEMORY_HINT
    assert sgd.passed


def test_without_posix_every_case_has_its_verdict(no_posix, mnist_dir):
    for case in ("correct", "no_max_shift", "huge_allocation", "python_loop"):
        report = runner.run_check(CASES / case, mnist_dir)
        assert set(report.failed) == EXPECTED[case][0], (case, report.checks)


def test_a_hang_inside_a_c_call_is_named_at_its_line(tmp_path):
    """A C loop that holds the interpreter (no Python thread runs, no exception lands):
    faulthandler's own thread still names the line."""
    folder = frozen_case(tmp_path, "total = sum(range(10 ** 13))\n")
    report = run_with_deadline(120, runner.run_check, folder, checks=["frozen"])
    frozen = report.checks[0]
    line = line_of(folder / "optimizer.py", "sum(range(")
    assert not frozen.passed and "did not finish within 10 s and was stopped" in frozen.message
    assert f"it was running at optimizer.py line {line}" in frozen.message, frozen.message


def test_the_windows_job_object_has_the_layout_windows_reads():
    """JOBOBJECT_EXTENDED_LIMIT_INFORMATION as winnt.h lays it out on 64-bit Windows (144 bytes;
    the flags at 16, the process limit at 40, the memory limit at 112): ctypes aligns alike here.
    Where there are no job objects, none is made and the watchdog stands in."""
    import ctypes

    info = process.job_limits(ctypes)
    if ctypes.sizeof(ctypes.c_void_p) == 8:
        basic = info.BasicLimitInformation
        assert ctypes.sizeof(info) == 144
        assert (basic.offset + info._fields_[0][1].LimitFlags.offset) == 16
        assert info._fields_[0][1].ActiveProcessLimit.offset == 40
        assert info.ProcessMemoryLimit.offset == 112
    if not hasattr(ctypes, "WinDLL"):
        assert process.WindowsJob.create(os.getpid(), 16, 2048) is None


def test_the_child_ends_when_the_checker_is_killed(tmp_path):
    """`check` killed outright (no finally runs) leaves no child running the student's code."""
    pid_file = tmp_path / "pid"
    folder = frozen_case(tmp_path, f"import os\nopen({str(pid_file)!r}, 'w').write(str(os.getpid()))\n"
                                   "while True:\n    try:\n        while True:\n            pass\n"
                                   "    except BaseException:\n        pass\n")
    proc = subprocess.Popen([sys.executable, "-c", "import sys; from softmax_mnist.checker import runner; "
                             "runner.run_check(sys.argv[1], checks=['frozen'])", str(folder)])
    try:
        deadline = time.monotonic() + 60
        while not pid_file.exists() or not pid_file.read_text():
            assert time.monotonic() < deadline and proc.poll() is None
            time.sleep(0.1)
        proc.kill()
        proc.wait()
        child = int(pid_file.read_text())
        deadline = time.monotonic() + 10
        while _alive(pid_file) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not _alive(pid_file), f"child {child} still runs"
    finally:
        if proc.poll() is None:
            proc.kill()
        if pid_file.exists() and pid_file.read_text() and _alive(pid_file):
            psutil.Process(int(pid_file.read_text())).kill()
