"""--preset best: valid settings that flags override, and on real MNIST at least 0.960 test
accuracy averaged over three seeds, with the transform carried through model.npz so that
`evaluate` reproduces the accuracy the run reported."""

from __future__ import annotations

import json
import statistics

import pytest

from softmax_mnist.apps import cli
from softmax_mnist.core.config import TrainConfig
from softmax_mnist.core.data import load_splits
from softmax_mnist.core.loop import evaluate
from softmax_mnist.core.presets import PRESETS, preset
from softmax_mnist.errors import ConfigError
from softmax_mnist.study.run import train_model


def test_presets_are_valid_train_configs():
    for name in PRESETS:
        config = TrainConfig(**preset(name))
        assert config.to_dict()["epochs"] >= 1
    best = TrainConfig(**preset("best"))
    assert best.transform() == {"deskew": True, "ink_size": 5.5, "blur_sigma": 0.8}
    preset("best")["epochs"] = 99  # a copy: the table itself is not changed
    assert PRESETS["best"]["epochs"] != 99
    with pytest.raises(ConfigError, match="unknown preset"):
        preset("fastest")


def test_flags_and_config_file_override_the_preset(tmp_path):
    toml = tmp_path / "s.toml"
    toml.write_text("lr = 0.02\nblur_sigma = 0.0\n")
    args = cli.build_parser().parse_args(
        ["train", "--preset", "best", "--config", str(toml), "--epochs", "3", "--no-deskew"])
    config = cli.resolve_train_config(args)
    assert (config.epochs, config.lr, config.deskew, config.blur_sigma) == (3, 0.02, False, 0.0)
    assert config.ink_size == PRESETS["best"]["ink_size"]  # untouched settings stay the preset's
    assert config.lr_decay == "linear"


def test_resume_refuses_a_preset(tmp_path, capsys):
    assert cli.main(["train", "--resume", str(tmp_path), "--preset", "best"]) == 1
    assert "--preset" in capsys.readouterr().err


def test_best_preset_reaches_0960_on_mnist(mnist_dir, tmp_path, capsys):
    """Seed 0 through the CLI (run folder, model.npz, evaluate), seeds 1 and 2 in process."""
    out = tmp_path / "best"
    assert cli.main(["train", "--preset", "best", "--data-dir", str(mnist_dir), "--out", str(out),
                     "-q"]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    capsys.readouterr()
    assert cli.main(["evaluate", str(out / "model.npz"), "--data-dir", str(mnist_dir),
                     "--json"]) == 0
    evaluated = json.loads(capsys.readouterr().out)
    assert evaluated["acc"] == metrics["test_acc"]  # evaluate applies the model's transform
    saved = json.loads((out / "config.json").read_text())
    assert {k: saved[k] for k in PRESETS["best"]} == PRESETS["best"]

    data = load_splits(mnist_dir, 5000, "course", TrainConfig(**preset("best")).transform())
    accs = [metrics["test_acc"]]
    for seed in (1, 2):
        model, _ = train_model(TrainConfig(**preset("best"), seed=seed), data)
        accs.append(evaluate(model, data.x_test, data.y_test)[1])
    print(f"best preset test accuracy per seed {accs}, mean {statistics.mean(accs):.4f}")
    assert statistics.mean(accs) >= 0.960
    assert min(accs) >= 0.955
