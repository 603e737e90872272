"""Run settings: a frozen, validated TrainConfig, and reading settings from TOML files."""

from __future__ import annotations

import os
import sys
from dataclasses import asdict, dataclass, fields
from pathlib import Path

from softmax_mnist.core.data import PREPROCESS_MODES, VAL_SIZE
from softmax_mnist.core.idx import NotRegularFile, read_regular
from softmax_mnist.core.optimizer import check_settings
from softmax_mnist.core.transforms import check_transform
from softmax_mnist.errors import ConfigError, is_whole

LR_DECAYS = ("none", "linear")
MAX_EPOCHS = 1000  # the course trains 10; a run of 1000 MNIST epochs takes hours already
MAX_TOML_BYTES = 1 << 20  # a settings file is a few lines

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib


@dataclass(frozen=True)
class TrainConfig:
    """Every setting of one training run; validated on creation, written next to the results."""

    epochs: int = 10
    batch_size: int = 100
    lr: float = 0.01
    momentum: float = 0.0
    nesterov: bool = False
    weight_decay: float = 0.0
    preprocess: str = "course"
    val_size: int = VAL_SIZE
    seed: int = 0
    lr_decay: str = "none"  # linear: epoch e of E uses lr * (E - e + 1) / E
    # the image -> image transform before preprocessing (transforms.py); all off by default
    deskew: bool = False
    ink_size: float = 0.0  # vertical ink spread in pixels after size normalisation; 0 = off
    blur_sigma: float = 0.0

    def __post_init__(self):
        def need(ok: bool, what: str, setting: str):
            if not ok:
                raise ConfigError(what, setting)

        need(is_whole(self.epochs) and 1 <= self.epochs <= MAX_EPOCHS,
             f"epochs must be a whole number in 1..{MAX_EPOCHS}, got {self.epochs!r}", "epochs")
        need(is_whole(self.batch_size) and self.batch_size >= 1,
             f"batch size must be a whole number >= 1, got {self.batch_size!r}", "batch_size")
        check_settings(self.lr, self.momentum, self.nesterov, self.weight_decay)
        need(isinstance(self.preprocess, str) and self.preprocess in PREPROCESS_MODES,
             f"preprocess must be one of {', '.join(PREPROCESS_MODES)}, got {self.preprocess!r}",
             "preprocess")
        need(is_whole(self.val_size) and 0 <= self.val_size < 60000,
             f"validation size must be a whole number in 0..59999, got {self.val_size!r}",
             "val_size")
        need(is_whole(self.seed) and self.seed >= 0,
             f"seed must be a whole number >= 0, got {self.seed!r}", "seed")
        need(isinstance(self.lr_decay, str) and self.lr_decay in LR_DECAYS,
             f"lr_decay must be one of {', '.join(LR_DECAYS)}, got {self.lr_decay!r}", "lr_decay")
        check_transform({"deskew": self.deskew, "ink_size": self.ink_size,
                         "blur_sigma": self.blur_sigma})

    def transform(self) -> dict | None:
        """The image transform as model.npz records it, or None when there is none."""
        return check_transform({"deskew": self.deskew, "ink_size": self.ink_size,
                                "blur_sigma": self.blur_sigma})

    @classmethod
    def from_dict(cls, d: dict) -> TrainConfig:
        if not isinstance(d, dict):
            raise ConfigError(f"settings must be a table of name = value, got {type(d).__name__}")
        check_names(d)
        return cls(**d)

    def to_dict(self) -> dict:
        return asdict(self)


def check_names(names) -> None:
    """A ConfigError naming those of ``names`` that are not TrainConfig settings: the one
    "unknown setting" rule (from_dict, a sweep file's [grid] and [fixed])."""
    known = {f.name for f in fields(TrainConfig)}
    # repr a name that is not plain, so a newline in it cannot break the one-line message
    unknown = sorted(k if isinstance(k, str) and k.isidentifier() else repr(k) for k in set(names) - known)
    if unknown:
        raise ConfigError(f"unknown setting(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}")


def read_toml(path: str | os.PathLike) -> dict:
    """Parse a TOML file; any problem becomes a one-line ConfigError naming the file.

    Only a regular file of at most MAX_TOML_BYTES is read (a FIFO would block, /dev/zero never
    end). A UTF-8 byte order mark, which Windows Notepad writes, is skipped."""
    path = Path(path)
    try:
        raw = read_regular(path, MAX_TOML_BYTES)
        return tomllib.loads(raw.removeprefix(b"\xef\xbb\xbf").decode("utf-8"))
    except NotRegularFile as e:
        raise ConfigError(f"config file {path}: {e}; pass a TOML file") from None
    except FileNotFoundError:
        raise ConfigError(f"config file {path} not found; check the path") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise ConfigError(f"{path}: not valid TOML ({e}); fix the file") from None
    except RecursionError:  # x = {a = {a = {... thousands deep
        raise ConfigError(f"{path}: not valid TOML (nested too deeply); fix the file") from None
    except OSError as e:
        raise ConfigError(f"cannot read config file {path} ({e.strerror or e})") from None
