"""MNIST files named with a dot (train-images.idx3-ubyte: Kaggle's copies, Windows extractions)
are found wherever the hyphenated names are, raw or .gz; a folder with neither names them all."""

from __future__ import annotations

import gzip
import json

import numpy as np
import pytest
from conftest import missing_mnist_files
from test_datasets import NAMES, fake_arrays

from softmax_mnist.apps.cli import main
from softmax_mnist.core.data import FILES, file_names, find_file, load_raw, load_splits
from softmax_mnist.core.idx import write_idx
from softmax_mnist.course.solver import Solver
from softmax_mnist.errors import DataError
from softmax_mnist.study.modelfile import load_model

DOTTED = {
    "train_images": "train-images.idx3-ubyte",
    "train_labels": "train-labels.idx1-ubyte",
    "test_images": "t10k-images.idx3-ubyte",
    "test_labels": "t10k-labels.idx1-ubyte",
}


def test_file_names_hyphenated_first_then_dotted():
    assert file_names("train-images-idx3-ubyte") == (
        "train-images-idx3-ubyte.gz", "train-images-idx3-ubyte",
        "train-images.idx3-ubyte", "train-images.idx3-ubyte.gz")
    for key, name in FILES.items():
        assert DOTTED[key] in file_names(name) and f"{DOTTED[key]}.gz" in file_names(name)


@pytest.mark.parametrize("gz", [False, True], ids=["raw", "gz"])
def test_dotted_files_load(tmp_path, gz):
    arrays = fake_arrays()
    for key, array in arrays.items():
        write_idx(tmp_path / (DOTTED[key] + (".gz" if gz else "")), array)
    assert missing_mnist_files(tmp_path) == []  # the tests' own check accepts them too
    for kind, key in (("train", "train"), ("t10k", "test")):
        images, labels = load_raw(tmp_path, kind)
        np.testing.assert_array_equal(images, arrays[f"{key}_images"])
        np.testing.assert_array_equal(labels, arrays[f"{key}_labels"])
    assert find_file(tmp_path, FILES["train_images"]).name == DOTTED["train_images"] + (
        ".gz" if gz else "")


def test_hyphenated_name_wins_when_both_are_there(tmp_path):
    arrays = fake_arrays()
    write_idx(tmp_path / NAMES["test_labels"], arrays["test_labels"])
    write_idx(tmp_path / DOTTED["test_labels"], arrays["test_labels"][::-1].copy())
    assert find_file(tmp_path, FILES["test_labels"]).name == NAMES["test_labels"]


def test_folder_without_the_files_lists_every_name_looked_for(tmp_path):
    (tmp_path / "train-images.idx3-ubyte.zip").write_bytes(b"not it")
    with pytest.raises(DataError) as info:
        load_raw(tmp_path, "train")
    msg = str(info.value)
    assert "\n" not in msg and str(tmp_path) in msg and "softmax-mnist download" in msg
    for name in ("train-images-idx3-ubyte.gz", "train-images-idx3-ubyte",
                 "train-images.idx3-ubyte", "train-images.idx3-ubyte.gz"):
        assert name in msg
    assert missing_mnist_files(tmp_path) == list(FILES.values())


@pytest.fixture(scope="module")
def dotted_dir(mnist_dir, tmp_path_factory):
    """Real MNIST decompressed under the dotted names (in pytest's tmp folder, never the repo)."""
    d = tmp_path_factory.mktemp("dotted-mnist")
    for key, name in FILES.items():
        data = find_file(mnist_dir, name).read_bytes()
        (d / DOTTED[key]).write_bytes(gzip.decompress(data) if data[:2] == b"\x1f\x8b" else data)
    assert sorted(p.name for p in d.iterdir()) == sorted(DOTTED.values())
    return d


def test_cli_trains_and_evaluates_on_dotted_files(dotted_dir, mnist_dir, tmp_path, capsys):
    for data, out in ((dotted_dir, "dotted"), (mnist_dir, "hyphenated")):
        assert main(["train", "--data-dir", str(data), "--epochs", "1", "--seed", "1",
                     "--out", str(tmp_path / out), "--quiet"]) == 0
    metrics = json.loads((tmp_path / "dotted" / "metrics.json").read_text())
    assert 0.8 < metrics["test_acc"] < 0.95  # one epoch at the course lr: 0.83
    # the same images and labels: the same weights, bit for bit, as from the .gz folder
    w_dotted = load_model(tmp_path / "dotted" / "model.npz")[0].W
    assert np.array_equal(w_dotted, load_model(tmp_path / "hyphenated" / "model.npz")[0].W)
    capsys.readouterr()
    assert main(["evaluate", str(tmp_path / "dotted" / "model.npz"), "--data-dir",
                 str(dotted_dir), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["n"] == 10000 and result["acc"] == pytest.approx(metrics["test_acc"])


def test_course_solver_with_data_root_at_dotted_files(dotted_dir, mnist_dir):
    cfg = {"data_root": str(dotted_dir), "max_epoch": 1, "batch_size": 100,
           "learning_rate": 0.01, "momentum": 0, "display_freq": 0, "verbose": False}
    solver = Solver(cfg)
    reference = load_splits(mnist_dir, 5000, "course")
    np.testing.assert_array_equal(solver.data.x_train, reference.x_train)
    np.testing.assert_array_equal(solver.data.y_test, reference.y_test)
    del reference
    losses, accs = solver.train()
    assert len(losses) == 1 and 0.5 < accs[0] < 0.95  # the first epoch's running mean
    loss, acc = solver.test()
    assert 0.8 < acc < 0.95 and 0 < loss < 1
