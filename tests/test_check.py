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
from pathlib import Path

import pytest

from softmax_mnist.apps.cli import build_parser, main
from softmax_mnist.course import check

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
    rows = {r["submission"]: r for r in csv.DictReader(csv_path.open())}
    for case, report in reports.items():
        assert rows[case]["status"] == str(report["status"])
        assert {n for n in check.CHECKS if rows[case][n] == "FAIL"} == set(report["failed"])


def test_single_folder_exit_status_and_json(mnist_dir, capsys):
    code, report = run_json(capsys, CASES / "correct", "--data-dir", mnist_dir)
    assert (code, report["status"], report["failed"]) == (0, 0, [])
    assert report["passed"] == len(check.CHECKS)


def line_of(path: Path, text: str) -> int:
    return next(i for i, ln in enumerate(path.read_text().splitlines(), start=1) if text in ln)


@pytest.mark.parametrize("case", sorted(EXPECTED))
def test_case_fails_exactly_its_checks(checked, case):
    code, report = checked(case)
    must_fail, words = EXPECTED[case]
    assert [c["name"] for c in report["checks"]] == list(check.CHECKS)
    assert set(report["failed"]) == must_fail, report["failed"]
    assert code == report["status"] == (1 if must_fail else 0)
    assert report["passed"] == len(check.CHECKS) - len(must_fail)
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
    assert 0 < vec["ratio"] <= check_child_bound()  # the checker's own generous bound
    assert "relative error" in by_name["gradient"]["message"]


def check_child_bound() -> float:
    from softmax_mnist.course.check_child import VECTOR_BOUND

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
    report = check.run_check(folder, checks=["sgd", "frozen", "vectorised"])
    assert report.status == 1
    assert report.failed == ["frozen"]
    sgd, frozen, vectorised = report.checks
    assert "the process running your code died (exit code 3): bye from step" in frozen.message
    assert sgd.passed and vectorised.passed  # vectorised ran in a new child


def test_a_child_ignoring_its_alarm_is_killed(tmp_path):
    folder = frozen_case(tmp_path, "while True:\n    try:\n        while True:\n            pass\n"
                                   "    except BaseException:\n        pass\n")
    report = check.run_check(folder, checks=["frozen", "vectorised"])
    assert report.failed == ["frozen"]
    frozen, vectorised = report.checks
    assert "did not finish within 10 s and was stopped" in frozen.message
    assert vectorised.passed  # in a new child


def test_a_chatty_submission_does_not_block(tmp_path):
    loss = CORRECT_LOSS.replace("        self.Input = Input\n",
                                "        print('x' * 300_000)\n        self.Input = Input\n")
    folder = write(tmp_path / "s", loss=loss, optimizer=CORRECT_SGD)
    report = check.run_check(folder, checks=["forward", "forward-odd-batch", "accuracy"])
    assert report.status == 0, report.checks


def test_a_student_file_named_like_a_library_does_not_break_the_checker(tmp_path):
    folder = write(tmp_path / "s", loss=CORRECT_LOSS, optimizer=CORRECT_SGD,
                   signal="raise RuntimeError('the checker imported this')\n",
                   json="raise RuntimeError('the checker imported this')\n")
    report = check.run_check(folder, checks=["framework", "construction", "forward"])
    assert report.status == 0, report.checks


# ---- the framework check's other ways in -----------------------------------------------------


def test_framework_imported_by_a_local_module(tmp_path):
    folder = write(tmp_path / "s", loss="from helper import np\n" + CORRECT_LOSS, optimizer=CORRECT_SGD,
                   helper="import numpy as np\nimport tensorflow as tf  # noqa\n")
    report = check.run_check(folder, checks=["framework", "forward"])
    assert report.failed == ["framework"]
    assert "helper.py line 2: import tensorflow" in report.checks[0].message


def test_framework_imported_at_run_time_by_a_computed_name(tmp_path):
    loss = CORRECT_LOSS.replace('        self.Input = Input\n',
                                '        __import__("to" + "rch")\n        self.Input = Input\n')
    folder = write(tmp_path / "s", loss=loss, optimizer=CORRECT_SGD)
    report = check.run_check(folder, checks=["framework", "forward"])
    assert report.failed == ["framework"]
    assert "torch (from loss.py line" in report.checks[0].message
    assert report.checks[1].passed  # the stand-in let the NumPy code run


def test_the_reference_itself_is_not_a_submission(tmp_path):
    folder = write(tmp_path / "s", optimizer=CORRECT_SGD,
                   loss="from softmax_mnist.course.loss import SoftmaxCrossEntropyLoss  # noqa\n")
    report = check.run_check(folder, checks=["framework", "forward"])
    assert report.failed == ["framework"]
    assert "SoftmaxCrossEntropyLoss in loss.py is not defined in your folder" in report.checks[0].message


def test_framework_imports_in_the_source(tmp_path):
    path = tmp_path / "x.py"
    path.write_text("import torch.nn as nn\nfrom tensorflow import keras\nimport importlib\n"
                    "jax = __import__('jax')\nimportlib.import_module('paddle')\n"
                    "import torchmetrics_like, numpy\nfrom .torch import x\n")
    assert check.framework_imports(path) == [("torch", 1), ("tensorflow", 2), ("jax", 4), ("paddle", 5)]


def test_course_files_missing_from_the_folder_are_supplied(tmp_path):
    loss = ("from dataloader import build_dataloader  # noqa\n"
            "from visualize import plot_loss_and_acc  # noqa\n"
            "from solver import Solver  # noqa\n")
    folder = write(tmp_path / "s", loss=loss + CORRECT_LOSS, optimizer=CORRECT_SGD)
    report = check.run_check(folder, checks=["framework", "construction", "forward"])
    assert report.status == 0, report.checks


# ---- output ---------------------------------------------------------------------------------


def test_text_output_one_line_per_check_then_the_summary(mnist_dir, capsys):
    code = main(["check", str(CASES / "no_max_shift"), "--data-dir", str(mnist_dir)])
    out, _ = capsys.readouterr()
    lines = out.strip().splitlines()
    verdicts = [ln for ln in lines if re.match(r"(PASS|FAIL)  ", ln)]
    assert code == 1
    assert len(verdicts) == len(check.CHECKS)
    assert [ln.split()[1] for ln in verdicts] == list(check.CHECKS)
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
    rows = list(csv.DictReader((subs / "results.csv").open()))
    assert [r["submission"] for r in rows] == ["alice", "bob", "carol"]
    assert list(rows[0])[4:-1] == list(check.CHECKS)
    assert rows[0]["status"] == "0" and set(rows[0][n] for n in check.CHECKS) == {"PASS"}
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
