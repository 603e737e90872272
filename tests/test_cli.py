"""The command line: train writes its folder, evaluate reads it back, errors are one line."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest

from softmax_mnist.apps.cli import main
from softmax_mnist.study.modelfile import load_model


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def one_line_error(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, f"expected one error line, got: {err!r}"
    assert "Traceback" not in err
    return lines[0]


@pytest.fixture(scope="module")
def trained(mnist_dir, tmp_path_factory):
    """One short real-MNIST run through the CLI (2 epochs, momentum 0.9)."""
    out = tmp_path_factory.mktemp("runs") / "run"
    code = main(["train", "--data-dir", str(mnist_dir), "--epochs", "2", "--momentum", "0.9",
                 "--out", str(out), "--quiet"])
    assert code == 0
    return out


def test_train_writes_the_run_folder(trained):
    names = {p.name for p in trained.iterdir()}
    assert {"config.json", "history.csv", "metrics.json", "model.npz", "curves.png"} <= names
    assert not [n for n in names if n.endswith(".tmp")]
    config = json.loads((trained / "config.json").read_text())
    assert config["epochs"] == 2 and config["momentum"] == 0.9 and config["batch_size"] == 100
    rows = list(csv.DictReader((trained / "history.csv").open(encoding="utf-8-sig")))
    assert [int(r["epoch"]) for r in rows] == [1, 2]
    metrics = json.loads((trained / "metrics.json").read_text())
    assert 0.90 < metrics["test_acc"] < 0.95
    assert float(rows[-1]["val_acc"]) == pytest.approx(metrics["val_acc"])
    model, meta = load_model(trained / "model.npz")
    assert model.W.shape == (784, 10) and model.b.shape == (1, 10)
    assert meta["preprocess"] == "course" and meta["config"]["epochs"] == 2
    assert (trained / "curves.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_evaluate_reproduces_the_test_accuracy(trained, mnist_dir, capsys):
    code, out, _ = run(capsys, "evaluate", str(trained / "model.npz"), "--data-dir",
                       str(mnist_dir), "--json")
    assert code == 0
    result = json.loads(out)
    metrics = json.loads((trained / "metrics.json").read_text())
    assert result["n"] == 10000
    assert result["acc"] == pytest.approx(metrics["test_acc"])
    code, out, _ = run(capsys, "evaluate", str(trained / "model.npz"), "--data-dir",
                       str(mnist_dir), "--split", "val", "--json")
    assert json.loads(out)["acc"] == pytest.approx(metrics["val_acc"])


def test_same_seed_same_weights_through_the_cli(mnist_dir, tmp_path):
    for name in ("a", "b"):
        assert main(["train", "--data-dir", str(mnist_dir), "--epochs", "1", "--seed", "3",
                     "--out", str(tmp_path / name), "-q"]) == 0
    wa = load_model(tmp_path / "a" / "model.npz")[0].W
    wb = load_model(tmp_path / "b" / "model.npz")[0].W
    assert np.array_equal(wa, wb)


def test_config_file_then_flags(mnist_dir, tmp_path, capsys):
    cfg = tmp_path / "run.toml"
    cfg.write_text(f'epochs = 1\nlr = 0.05\nbatch_size = 500\ndata_dir = "{mnist_dir}"\n')
    code, out, _ = run(capsys, "train", "--config", str(cfg), "--batch-size", "250",
                       "--out", str(tmp_path / "r"), "-q")
    assert code == 0
    config = json.loads((tmp_path / "r" / "config.json").read_text())
    assert (config["epochs"], config["lr"], config["batch_size"]) == (1, 0.05, 250)


def test_one_line_per_epoch_and_quiet(mnist_dir, tmp_path, capsys):
    code, out, _ = run(capsys, "train", "--data-dir", str(mnist_dir), "--epochs", "2",
                       "--out", str(tmp_path / "v"))
    assert code == 0
    assert sum(line.startswith("epoch ") for line in out.splitlines()) == 2
    code, out, _ = run(capsys, "train", "--data-dir", str(mnist_dir), "--epochs", "2",
                       "--out", str(tmp_path / "q"), "--quiet")
    assert not any(line.startswith("epoch ") for line in out.splitlines())


@pytest.mark.parametrize("argv, needle", [
    (["train", "--lr", "abc"], "--lr"),
    (["train", "--epochs", "2.5"], "--epochs"),
    (["train", "--preprocess", "zscore"], "--preprocess"),
    (["train", "--bogus"], "--bogus"),
    (["frobnicate"], "frobnicate"),
])
def test_bad_flags_exit_2_with_one_line(argv, needle, capsys):
    with pytest.raises(SystemExit) as e:
        main(argv)
    assert e.value.code == 2
    assert needle in one_line_error(capsys.readouterr().err)


@pytest.mark.parametrize("flags, needle", [
    (["--lr", "-1"], "learning rate"),
    (["--lr", "0"], "learning rate"),
    (["--epochs", "0"], "epochs"),
    (["--batch-size", "0"], "batch size"),
    (["--batch-size", "60000"], "batch size"),
    (["--momentum", "1.5"], "momentum"),
    (["--nesterov"], "Nesterov"),
    (["--val-size", "-5"], "validation size"),
])
def test_bad_values_exit_1_with_one_line(flags, needle, mnist_dir, tmp_path, capsys):
    code, _, err = run(capsys, "train", "--data-dir", str(mnist_dir), "--out",
                       str(tmp_path / "x"), *flags)
    assert code == 1
    assert needle in one_line_error(err)


def test_diverging_lr_is_one_clear_line(mnist_dir, tmp_path, capsys):
    code, _, err = run(capsys, "train", "--data-dir", str(mnist_dir), "--lr", "1e4",
                       "--out", str(tmp_path / "d"), "-q")
    line = one_line_error(err)
    assert code == 1
    assert "diverged" in line and "10000" in line and "--lr 1000" in line


def test_missing_data_dir(tmp_path, capsys):
    code, _, err = run(capsys, "train", "--data-dir", str(tmp_path / "nope"),
                       "--out", str(tmp_path / "o"))
    line = one_line_error(err)
    assert code == 1 and "does not exist" in line and "softmax-mnist download" in line


def test_existing_folder_is_not_overwritten(trained, mnist_dir, capsys):
    before = (trained / "metrics.json").read_bytes()
    code, _, err = run(capsys, "train", "--data-dir", str(mnist_dir), "--out", str(trained))
    assert code == 1 and "--force" in one_line_error(err)
    assert (trained / "metrics.json").read_bytes() == before


def test_bad_config_file(tmp_path, capsys):
    cfg = tmp_path / "bad.toml"
    cfg.write_text("epochs = = 3\n")
    code, _, err = run(capsys, "train", "--config", str(cfg), "--out", str(tmp_path / "o"))
    assert code == 1 and "bad.toml" in one_line_error(err)
    cfg.write_text("epoch = 3\n")
    code, _, err = run(capsys, "train", "--config", str(cfg), "--out", str(tmp_path / "o"))
    assert code == 1 and "epoch" in one_line_error(err)


def test_evaluate_missing_or_bad_model(tmp_path, mnist_dir, capsys):
    code, _, err = run(capsys, "evaluate", str(tmp_path / "none.npz"), "--data-dir", str(mnist_dir))
    assert code == 1 and "not found" in one_line_error(err)
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"this is not a zip file")
    code, _, err = run(capsys, "evaluate", str(bad), "--data-dir", str(mnist_dir))
    assert code == 1 and "bad.npz" in one_line_error(err)


def test_download_offline_is_one_line(tmp_path, capsys):
    # a closed port on this machine stands in for no internet
    import socket

    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    code, _, err = run(capsys, "download", "--data-dir", str(tmp_path / "d"),
                       "--mirror", f"http://127.0.0.1:{port}/", "--timeout", "2")
    line = one_line_error(err)
    assert code == 1 and "could not download" in line and "connection" in line
    assert not list((tmp_path / "d").iterdir())


def test_config_data_dir_of_the_wrong_type(tmp_path, capsys):
    cfg = tmp_path / "c.toml"
    cfg.write_text("data_dir = 5\n")
    code, _, err = run(capsys, "train", "--config", str(cfg), "--out", str(tmp_path / "o"))
    assert code == 1 and "data_dir" in one_line_error(err)
