"""The playground's form: the page's settings -> a TrainConfig, and a run's short name.

    DEFAULTS              the form's settings and their defaults (TrainConfig's own), plus ``slow``
    settings_from_form    the page's JSON -> (TrainConfig, slow motion), validated by TrainConfig
    run_name              'momentum 0.9, batch 10': how a run's settings differ from the course's

Every setting is validated once, by TrainConfig (unknown names included); the form adds only
what is the playground's own: ``slow``, the "best" choice of preprocessing (the best preset's
image transform), at most MAX_EPOCHS epochs, and a batch no larger than the training images.
"""

from __future__ import annotations

from softmax_mnist.core.batches import check_batch_size
from softmax_mnist.core.config import TrainConfig
from softmax_mnist.core.presets import preset
from softmax_mnist.errors import ConfigError, is_whole

TRAINING_IMAGES = 60000  # MNIST's training file: the validation split is taken from its end
MAX_EPOCHS = 100  # a page's run; stop one whenever you like
PAGE_SETTINGS = ("lr", "momentum", "nesterov", "weight_decay", "batch_size", "epochs", "preprocess",
                 "lr_decay", "seed")  # the form's fields, named as TrainConfig names them
DEFAULTS = {**{name: getattr(TrainConfig(), name) for name in PAGE_SETTINGS}, "slow": True}
BEST = "best"  # the form's extra preprocessing choice: the best preset's images (presets.py)
TRANSFORM = ("deskew", "ink_size", "blur_sigma")


def settings_from_form(form) -> tuple[TrainConfig, bool]:
    """The page's settings (a JSON object) -> a validated TrainConfig and the slow-motion flag."""
    if not isinstance(form, dict):
        raise ConfigError("send the settings as a JSON object")
    settings = {**DEFAULTS, **form}
    slow = settings.pop("slow")
    if not isinstance(slow, bool):
        raise ConfigError(f"slow must be true or false, got {slow!r}", "slow")
    for key in ("lr", "momentum", "weight_decay"):  # the page sends 0.1 as 0.1 but 1 as 1
        if is_whole(settings[key]):
            settings[key] = float(settings[key])
    if settings["preprocess"] == BEST:  # the preset's image transform; the form's numbers stay
        best = preset(BEST)
        settings.update({key: best[key] for key in ("preprocess", *TRANSFORM)})
    config = TrainConfig.from_dict(settings)
    if config.epochs > MAX_EPOCHS:
        raise ConfigError(f"epochs: at most {MAX_EPOCHS} here (stop a run whenever you like), "
                          f"got {config.epochs}", "epochs")
    try:  # core's rule, told before the thread starts (and named for the page)
        check_batch_size(config.batch_size, TRAINING_IMAGES - config.val_size)
    except ConfigError as e:
        raise ConfigError(str(e), "batch_size") from None
    return config, slow


def run_name(settings: dict) -> str:
    """A run named by how its settings differ from the course's: 'momentum 0.9, batch 10'."""
    if settings.get("deskew"):
        base = {**DEFAULTS, **preset(BEST)}
        parts = ["best preset"]
    else:
        base, parts = DEFAULTS, []
    labels = {"lr": "lr", "momentum": "momentum", "weight_decay": "weight decay", "batch_size": "batch",
              "epochs": "epochs", "preprocess": "", "lr_decay": "lr decay", "seed": "seed"}
    for key, label in labels.items():
        if settings[key] != base[key]:
            parts.append(f"{label} {settings[key]:g}" if isinstance(settings[key], (int, float))
                         else f"{settings[key]}" if not label else f"{label} {settings[key]}")
    if settings["nesterov"]:
        parts.append("Nesterov")
    return ", ".join(parts) or "course defaults"

