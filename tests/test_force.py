"""--force replaces only what this package wrote, and a staged run replaces only the folder it
was staged for: never someone's notes, the current folder, or a sibling an edited file names."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from softmax_mnist.apps.cli import main
from softmax_mnist.study.checkpoint import Interrupted
from softmax_mnist.study.run import train_run

ONE = ["--epochs", "1", "-q"]


def cli(*args: str, cwd=None) -> subprocess.CompletedProcess:
    import softmax_mnist  # the child imports the same package as the tests

    env = {**os.environ, "PYTHONPATH": str(Path(softmax_mnist.__file__).resolve().parents[1])}
    return subprocess.run([sys.executable, "-m", "softmax_mnist.apps.cli", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300)


def one_line_error(proc: subprocess.CompletedProcess, *words: str) -> None:
    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stderr and proc.stderr.count("\n") == 1, proc.stderr
    for w in words:
        assert w in proc.stderr, proc.stderr


@pytest.fixture(scope="module")
def run_folder(mnist_dir, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("runs") / "run"
    assert main(["train", "--data-dir", str(mnist_dir), "--out", str(out), *ONE]) == 0
    return out


def test_force_refuses_a_folder_this_package_did_not_write(mnist_dir, tmp_path):
    docs = tmp_path / "docs"
    (docs / "sub").mkdir(parents=True)
    (docs / "notes.txt").write_text("notes", encoding="utf-8")
    for command in (["train", *ONE], ["study", "--quick", "-q"]):
        proc = cli(*command, "--data-dir", str(mnist_dir), "--out", str(docs), "--force")
        one_line_error(proc, str(docs), "not a run, study or sweep folder")
    assert sorted(p.name for p in docs.iterdir()) == ["notes.txt", "sub"]
    assert (docs / "notes.txt").read_text(encoding="utf-8") == "notes"


def test_force_knows_its_own_folders(run_folder, tmp_path):
    from softmax_mnist.study.run import written_here

    assert written_here(run_folder)
    fake = tmp_path / "fake"
    fake.mkdir()
    (fake / "config.json").write_text('{"lr": 0.1}', encoding="utf-8")  # not the whole schema
    (fake / "results.json").write_text("[1, 2]", encoding="utf-8")
    assert not written_here(fake)


def test_force_over_the_current_folder_is_one_line(mnist_dir, run_folder):
    proc = cli("train", "--data-dir", str(mnist_dir), "--out", ".", "--force", *ONE, cwd=run_folder)
    one_line_error(proc, "current folder")
    assert (run_folder / "model.npz").exists()


def staged_run(mnist_dir, run_folder) -> Path:
    """A forced run over ``run_folder``, stopped after its first step: its staging folder."""
    from softmax_mnist.core.config import TrainConfig

    with pytest.raises(Interrupted) as e:
        train_run(TrainConfig(epochs=1), mnist_dir, run_folder, force=True, stop=lambda: True)
    staged = Path(e.value.folder)
    assert staged.name == run_folder.name + ".partial"
    return staged


@pytest.mark.parametrize("replaces", ["victim", ".", "..", "/", "run.partial", 7])
def test_an_edited_replaces_cannot_name_another_folder(mnist_dir, tmp_path, run_folder, replaces):
    import shutil

    run = tmp_path / "run"
    shutil.copytree(run_folder, run)
    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "keep.txt").write_text("keep", encoding="utf-8")
    staged = staged_run(mnist_dir, run)
    config = json.loads((staged / "config.json").read_text(encoding="utf-8"))
    assert config["replaces"] == "run"
    config["replaces"] = replaces
    (staged / "config.json").write_text(json.dumps(config), encoding="utf-8")
    proc = cli("train", "--resume", str(staged), "-q")
    one_line_error(proc, "staged for")
    assert (victim / "keep.txt").read_text(encoding="utf-8") == "keep"
    assert (run / "model.npz").exists() and (staged / "checkpoint.npz").exists()


def test_a_staged_run_resumed_replaces_its_own_folder(mnist_dir, tmp_path, run_folder):
    import shutil

    run = tmp_path / "run"
    shutil.copytree(run_folder, run)
    staged = staged_run(mnist_dir, run)
    (staged / ".checkpoint.npz.abcd1234.tmp").write_bytes(b"left by a kill")
    assert main(["train", "--resume", str(staged), "-q"]) == 0
    assert not staged.exists() and (run / "model.npz").exists()
    assert not list(run.glob(".*.tmp"))  # the kill's temporary file was swept on resume


def test_force_removes_no_foreign_folder_named_like_its_staging_folder(mnist_dir, tmp_path,
                                                                       run_folder):
    import shutil

    run = tmp_path / "run"
    shutil.copytree(run_folder, run)
    theirs = tmp_path / "run.partial"
    theirs.mkdir()
    (theirs / "thesis.txt").write_text("mine", encoding="utf-8")
    proc = cli("train", "--data-dir", str(mnist_dir), "--out", str(run), "--force", *ONE)
    one_line_error(proc, "in the way of --force")
    assert (theirs / "thesis.txt").read_text(encoding="utf-8") == "mine"
    assert (run / "model.npz").exists()
