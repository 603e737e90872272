"""Named settings for ``softmax-mnist train --preset NAME`` (flags and --config override them).

best   the most accurate softmax regression here: still 784 inputs, no hidden layer and no
       extra features; each image is first centred, deskewed and size-normalised by its
       moments and blurred a little (transforms.py; recorded in model.npz, so evaluate,
       predict and the web page do the same), then SGD with momentum and a linearly
       decaying learning rate. Every choice was made on the validation split by
       benchmarks/preset_search.py (its tables are in benchmarks/README.md): validation
       accuracy 0.9685 (mean of seeds 0-2); test accuracy 0.9639 (0.9638, 0.9639, 0.9640),
       against 0.9205 for the course's settings with momentum 0.9.
"""

from __future__ import annotations

from softmax_mnist.errors import ConfigError

PRESETS: dict[str, dict] = {
    "best": {
        "epochs": 20, "batch_size": 100, "lr": 0.1, "momentum": 0.9, "lr_decay": "linear",
        "preprocess": "course", "deskew": True, "ink_size": 5.5, "blur_sigma": 0.8,
    },
}


def preset(name: str) -> dict:
    """The TrainConfig settings of preset ``name`` (a copy)."""
    if name not in PRESETS:
        raise ConfigError(f"unknown preset {name!r}; choose one of {', '.join(PRESETS)}")
    return dict(PRESETS[name])
