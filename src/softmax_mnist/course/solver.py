"""Course API: ``Solver(cfg)``; ``train() -> (epoch_losses, epoch_accs)``; ``test() -> (loss, acc)``.

A thin shell over the core: the data split of core.data.load_splits, the course's
SoftmaxCrossEntropyLoss and SGD, trained by core.fit.fit. The test split is never touched
during training; ``test()`` is the caller's explicit choice.
"""

from __future__ import annotations

import numpy as np

from softmax_mnist.core.config import TrainConfig
from softmax_mnist.core.data import NUM_CLASSES, NUM_FEATURES, load_splits
from softmax_mnist.core.fit import fit
from softmax_mnist.core.loop import History, Hooks, evaluate
from softmax_mnist.course.loss import SoftmaxCrossEntropyLoss
from softmax_mnist.course.optimizer import SGD
from softmax_mnist.errors import ConfigError, SoftmaxMnistError, in_terms

COURSE_KEYS = ("data_root", "max_epoch", "batch_size", "learning_rate", "momentum", "display_freq")
CFG_KEY = {"lr": "learning_rate", "epochs": "max_epoch", "data_dir": "data_root"}  # a setting's cfg key


def in_cfg_terms(setting: str, value: str | None) -> str:
    """A setting a core message names, as the Solver's cfg says it: cfg['learning_rate'] = 100000."""
    key = CFG_KEY.get(setting, setting)
    return f"cfg['{key}']" + (f" = {value}" if value is not None else "")


class Solver:
    """cfg keys: data_root, max_epoch, batch_size, learning_rate, momentum, display_freq
    (optional: seed, default 0; verbose, default True)."""

    def __init__(self, cfg: dict):
        missing = [k for k in COURSE_KEYS if k not in cfg]
        if missing:
            raise ConfigError(f"Solver cfg is missing {', '.join(missing)}")
        self.cfg = cfg
        self.config = TrainConfig(
            epochs=int(cfg["max_epoch"]), batch_size=int(cfg["batch_size"]),
            lr=float(cfg["learning_rate"]), momentum=float(cfg["momentum"]),
            seed=int(cfg.get("seed", 0)),
        )
        self.data = load_splits(cfg["data_root"], self.config.val_size, "course")
        self.rng = np.random.default_rng(self.config.seed)
        self.model = SoftmaxCrossEntropyLoss(NUM_FEATURES, NUM_CLASSES, rng=self.rng)
        self.optimizer = SGD(self.model, self.config.lr, self.config.momentum)
        self.history: History | None = None

    def train(self):
        log = print if self.cfg.get("verbose", True) else None
        hooks = Hooks(log=log, log_every=int(self.cfg["display_freq"] or 0))
        # the course's model and velocities, trained in place by the one loop
        try:
            self.history = fit(self.config, self.data, hooks, model=self.model.core, rng=self.rng,
                               velocity=self.optimizer.velocity).history
        except SoftmaxMnistError as e:  # the advice in the cfg's own keys, not core's names
            e.args = (in_terms(str(e), in_cfg_terms), *e.args[1:])
            raise
        return self.history.train_loss, self.history.train_acc

    def test(self):
        return evaluate(self.model.core, self.data.x_test, self.data.y_test)
