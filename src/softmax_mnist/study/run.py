"""One training run end to end, the folder it writes, and its model evaluated on a split.

    config.json   the resolved TrainConfig, data dir and package version
    history.csv   one row per epoch: train/val loss and accuracy, seconds
    metrics.json  final train/val/test loss and accuracy, total seconds
    model.npz     weights and preprocessing (see modelfile)
    curves.png    loss and accuracy per epoch
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import re
import shutil
import time
from dataclasses import fields
from pathlib import Path

from softmax_mnist import __version__
from softmax_mnist.core.batches import check_batch_size
from softmax_mnist.core.config import TrainConfig
from softmax_mnist.core.data import (
    NUM_CLASSES,
    VAL_SIZE,
    Splits,
    load_raw,
    load_splits,
    resolve_data_dir,
    split_at,
)
from softmax_mnist.core.fit import fit
from softmax_mnist.core.idx import read_regular
from softmax_mnist.core.loop import History, Hooks, evaluate
from softmax_mnist.errors import ConfigError, advice, command, output_error
from softmax_mnist.fileio import SPREADSHEET, FileInUse, atomic_write_json, atomic_write_text, replace_folder
from softmax_mnist.study.checkpoint import Interrupted, checkpoint_path, restore, save_checkpoint
from softmax_mnist.study.modelfile import load_model, model_inputs, save_model
from softmax_mnist.study.report.visualize import plot_history, save_figure

MAX_JSON_BYTES = 1 << 26  # 64 MB: a full study's progress.json is under 1 MB


def read_json(path: str | os.PathLike, limit: int = MAX_JSON_BYTES):
    """The JSON in the regular file ``path`` (at most ``limit`` bytes; a FIFO or /dev/zero is
    refused, core.idx.read_regular). OSError or ValueError (RecursionError too) when it cannot."""
    return json.loads(read_regular(path, limit).decode("utf-8"))


# the temporary names of fileio.atomic_write (mkstemp: ".NAME." + 8 characters + ".tmp"); a
# write killed half-way leaves one, removed when the folder is next resumed
TEMP_NAME = re.compile(r"\..+\.[a-z0-9_]{8}\.tmp")


def remove_stale_temps(folder: str | os.PathLike) -> None:
    """Remove the temporary files that writes killed half-way left in ``folder``."""
    for p in Path(folder).iterdir():
        if TEMP_NAME.fullmatch(p.name) and p.is_file():
            p.unlink(missing_ok=True)


def never_started(out: Path) -> bool:
    """True when folder ``out`` holds only the start of a run that never finished a step: a
    lone config.json (train) or a progress.json with no finished run (study, sweep), and no
    checkpoint. Such a folder has nothing to lose, so it is reused without --force."""
    names = {p.name for p in out.iterdir() if not TEMP_NAME.fullmatch(p.name)}
    if names == {"config.json"}:
        return True
    if names == {"progress.json"}:
        try:
            return not read_json(out / "progress.json").get("finished")
        except (OSError, ValueError, AttributeError, RecursionError):
            return False
    return False


def written_here(folder: Path) -> bool:
    """True when ``folder`` is a run, study or sweep folder this package wrote, known by its own
    files: a config.json of every TrainConfig setting and the package version (a run), a
    progress.json of a study or sweep plan, or a results.json with its meta (a study or sweep).
    Only such a folder is replaced by --force: any other may hold someone's files."""
    def table(name: str) -> dict:
        try:
            found = read_json(folder / name)
        except (OSError, ValueError, RecursionError):
            return {}
        return found if isinstance(found, dict) else {}

    settings = {f.name for f in fields(TrainConfig)}
    config, progress, results = table("config.json"), table("progress.json"), table("results.json")
    return (settings | {"version"} <= set(config)
            or progress.get("kind") in ("study", "sweep") and isinstance(progress.get("plan"), list)
            or isinstance(results.get("meta"), dict) and "version" in results["meta"]
            and isinstance(results.get("runs"), list))


def replace_target(out: str | os.PathLike) -> Path | None:
    """The folder that ``--force`` with ``--out out`` will replace, or None when ``out`` is free
    (missing, empty, or a start that never finished a step). A folder this package did not
    write, or one holding the current folder, is refused in one line."""
    out = Path(out)
    if not out.is_dir() or not any(out.iterdir()) or never_started(out):
        return None
    where = Path(os.path.abspath(out))
    if not written_here(out):
        raise ConfigError(f"output folder {out} is not a run, study or sweep folder written by "
                          "softmax-mnist; --force replaces only those; choose another --out")
    if Path.cwd().resolve().is_relative_to(where.resolve()):
        raise ConfigError(f"output folder {out} holds the current folder, which --force would "
                          "replace; run from outside it, or choose another --out")
    return where


def prepare_out_dir(out: str | os.PathLike, force: bool = False) -> Path:
    """Create ``out``; refuse a non-empty one unless ``force`` (results are never overwritten
    silently, and --force writes only over what this package wrote), or unless it holds only
    a start that never completed a step."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise ConfigError(f"output path {out} is a file; choose a folder name with --out")
    if out.is_dir() and any(out.iterdir()) and not never_started(out):
        if not force:
            raise ConfigError(f"output folder {out} is not empty; choose another --out or pass --force")
        replace_target(out)  # refuses a folder of someone else's files
    elif out.is_dir():  # a start that never finished a step, used again: its kill's temp files go
        remove_stale_temps(out)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:  # a file on the way (--out afile/sub), read-only, /proc
        raise output_error(out, e) from None
    return out


def stage(out: str | os.PathLike, force: bool) -> tuple[Path, Path | None]:
    """Where a run, study or sweep asked to write into ``out`` writes: (folder, the folder it
    replaces once complete, or None). With ``force`` over a folder of this package's, the new
    work goes to ``<out>.partial`` (an earlier one that never finished is removed), so ``out``
    holds the old whole folder until the new one is complete."""
    target = replace_target(out) if force else None
    if target is None:
        return Path(out), None
    staged = staging_path(target)
    if staged.exists() and not (staged.is_dir() and (not any(staged.iterdir())
                                                     or never_started(staged)
                                                     or written_here(staged))):
        raise ConfigError(f"{staged} is in the way of --force (it is not an earlier unfinished "
                          "run, study or sweep of softmax-mnist); move it, or choose another --out")
    shutil.rmtree(staged, ignore_errors=True)
    return staged, target


def history_csv(history: History) -> str:
    rows = history.epoch_rows()
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buf.getvalue()


def train_model(config: TrainConfig, data: Splits, log=None, display_freq: int = 0,
                checkpoint_file=None, checkpoint_every: int = 0, stop=None, resume: bool = False,
                progress=None):
    """Train ``config`` on ``data``'s train split (core.fit.fit); (model, History).

    With ``checkpoint_file``, a checkpoint is written there after every epoch (and every
    ``checkpoint_every`` steps, and when ``stop()`` turns true); ``resume`` starts from it.
    """
    if getattr(data, "transform", None) != config.transform():
        raise ConfigError(f"the data were prepared with image transform "
                          f"{getattr(data, 'transform', None)}, the settings ask for "
                          f"{config.transform()}; load them with load_splits(..., transform=...)")
    configs = [config.to_dict()]
    state = restore(checkpoint_file, configs, (data.x_train.shape[1], NUM_CLASSES),
                    n_train=len(data.x_train)) if resume else None
    save = None
    if checkpoint_file is not None:
        def save(st):
            save_checkpoint(checkpoint_file, st, configs)
    hooks = Hooks(log=log, log_every=display_freq, checkpoint=save,
                  checkpoint_every=checkpoint_every, stop=stop, progress=progress)
    r = fit(config, data, hooks, state)
    return r.model, r.history


def train_run(config: TrainConfig, data_dir=None, out=None, log=None, force=False,
              data: Splits | None = None, resume: bool = False, checkpoint_every: int = 0,
              stop=None, display_freq: int = 0, progress=None) -> dict:
    """Train with ``config``; with ``out``, write the run folder. Returns the metrics dict.

    config.json is written first, so an interrupted run can be resumed (``resume=True``)
    from ``out``'s checkpoint.npz; the checkpoint is removed once the run is complete.
    With ``force`` over a folder that holds a run, the new run trains in ``<out>.partial``
    and replaces ``out`` only once complete: a folder holds one whole run, or the untouched old
    one (an interrupted run is resumed from the .partial folder; Interrupted.folder names it).
    """
    data_dir = resolve_data_dir(data_dir)
    out = None if out is None else Path(out)
    if data is None:  # the data is checked before anything is written
        data = load_splits(data_dir, config.val_size, config.preprocess, config.transform(), progress)
    check_batch_size(config.batch_size, len(data.x_train))
    replaces = None
    if out is not None and not resume:
        out, replaces = stage(out, force)
        out = prepare_out_dir(out, force)
        atomic_write_json(out / "config.json", {
            **config.to_dict(), "data_dir": str(data_dir), "version": __version__,
            **({"replaces": replaces.name} if replaces else {})})
    elif out is not None:
        replaces = replaced_by(out)
        remove_stale_temps(out)
    ckpt = checkpoint_path(out) if out is not None else None
    start = time.perf_counter()
    try:
        model, history = train_model(config, data, log, display_freq, checkpoint_file=ckpt,
                                     checkpoint_every=checkpoint_every, stop=stop, resume=resume,
                                     progress=progress)
    except Interrupted as e:
        e.folder = out  # where the checkpoint is, to resume from
        raise
    except BaseException:
        if replaces is not None:  # the old run stays whole; the failed new one is removed
            shutil.rmtree(out, ignore_errors=True)
        raise
    seconds = time.perf_counter() - start
    metrics = {"epochs": config.epochs, "train_seconds": seconds}
    for split in ("train", "val", "test"):  # test only reported, never used to choose
        x, y = getattr(data, f"x_{split}"), getattr(data, f"y_{split}")
        if len(x):
            metrics[f"{split}_loss"], metrics[f"{split}_acc"] = evaluate(model, x, y)
    if out is not None:
        atomic_write_text(out / "history.csv", history_csv(history), SPREADSHEET)
        atomic_write_json(out / "metrics.json", metrics)
        save_model(out / "model.npz", model, data.preprocess, data.stats,
                   extra={"config": config.to_dict()}, transform=data.transform)
        save_figure(plot_history(history, "softmax regression on MNIST"), out / "curves.png")
        ckpt.unlink(missing_ok=True)  # complete: model.npz and the rest replace it
        if replaces is not None:
            swap_in(out, replaces)
    return metrics


def finish_staged(folder: Path) -> Path | None:
    """Move a complete staged run (``<out>.partial`` whose swap was refused, e.g. by a file
    open in another program on Windows) to the folder it replaces; that folder, or None when
    ``folder`` is not such a run."""
    target = replaced_by(folder)
    if target is None or checkpoint_path(folder).exists() or not (folder / "model.npz").is_file():
        return None
    swap_in(folder, target)
    return target


def staging_path(out: Path) -> Path:
    """Where a run that will replace folder ``out`` trains: ``<out>.partial`` beside it."""
    return out.with_name(out.name + ".partial")


def replaced_by(folder: str | os.PathLike, name: str = "config.json") -> Path | None:
    """The folder a staged run (or study: ``name`` progress.json) in ``folder`` replaces when it
    completes. Its file names it; it can only be the folder ``folder`` was staged for (the one
    whose staging_path it is), so an edited file cannot make a resume replace another."""
    folder = Path(folder)
    try:
        saved = read_json(folder / name)
    except (OSError, ValueError, RecursionError):
        return None
    replaces = saved.get("replaces") if isinstance(saved, dict) else None
    if replaces is None:
        return None
    here = folder.resolve()
    target = here.with_name(here.name.removesuffix(".partial")) if here.name.endswith(".partial") \
        and here.name != ".partial" else None
    if target is None or replaces != target.name or staging_path(target) != here:
        raise ConfigError(f"{folder / name}: replaces {replaces!r}, which is not the folder "
                          f"{folder} was staged for; the file was edited: start again without "
                          "--resume")
    return target


def swap_in(new: Path, target: Path, kind: str = "train") -> None:
    """Put the complete run (``kind`` "study", "sweep": folder) in ``new`` where ``target`` is
    (fileio.replace_folder). When a file in ``target`` is held open, the error says how to
    finish once it is closed."""
    try:
        replace_folder(new, target)
    except FileInUse as e:
        finish = (f"move it in with {command('train', '--resume', new)}" if kind == "train" else
                  f"remove {target} and rename {new} to {target.name}")
        raise FileInUse(f"{e}; the new {'run' if kind == 'train' else kind} is complete in {new}: "
                        f"after closing it, {finish}") from None


def read_run_config(out) -> tuple[TrainConfig, str]:
    """The TrainConfig and data dir of an existing run folder (for --resume)."""
    path = Path(out) / "config.json"
    try:
        saved = read_json(path)  # a regular file of a sensible size: a FIFO would block
    except (OSError, ValueError, RecursionError):  # UnicodeDecodeError is a ValueError
        raise ConfigError(f"{path} missing or unreadable; --resume needs a folder written by "
                          "`softmax-mnist train`") from None
    if not isinstance(saved, dict):
        raise ConfigError(f"{path} holds a JSON {type(saved).__name__}, not a table of settings; "
                          "--resume needs a folder written by `softmax-mnist train`")
    if not checkpoint_path(out).is_file():
        raise ConfigError(f"no checkpoint.npz in {out}: nothing to resume (the run finished or "
                          "never completed a step)")
    data_dir = saved.pop("data_dir", None)
    if data_dir is not None and not isinstance(data_dir, str):
        raise ConfigError(f"{path}: data_dir must be a path, got {data_dir!r}")
    saved.pop("version", None)
    saved.pop("replaces", None)
    try:
        return TrainConfig.from_dict(saved), data_dir
    except ConfigError as e:
        raise ConfigError(f"{path}: {e}") from None


def evaluate_file(path, data_dir=None, split: str = "test", val_size: int | None = None) -> dict:
    """Loss and accuracy of the model in ``path`` on ``split``: "test" (the test file), or
    "train" / "val", the model's own split of the training file (``val_size``: by default the
    one it was trained with). {"model", "split", "n", "loss", "acc"}; a ConfigError when the
    data do not fit the model."""
    model, meta = load_model(path)
    if val_size is None:
        val_size = meta.get("config", {}).get("val_size", VAL_SIZE)
    images, labels = load_raw(data_dir, "t10k" if split == "test" else "train")
    if split != "test":
        if split == "val" and val_size == 0:
            raise ConfigError(f"{path} was trained with no validation split (val_size 0); "
                              f"pass {advice('val_size', 'N')} or use {advice('split', 'test')}")
        try:
            cut = split_at(len(images), val_size)
        except ConfigError:
            raise ConfigError(f"{advice('val_size')} must be in 0..{len(images) - 1}, got {val_size}",
                              "val_size") from None
        part = slice(0, cut) if split == "train" else slice(cut, None)
        images, labels = images[part], labels[part]
    if images.shape[1] * images.shape[2] != model.W.shape[0]:
        raise ConfigError(f"images have {images.shape[1] * images.shape[2]} pixels, "
                          f"the model expects {model.W.shape[0]}")
    if len(labels) and int(labels.max()) >= model.W.shape[1]:
        raise ConfigError(f"{path} scores {model.W.shape[1]} classes but the labels go up to "
                          f"{int(labels.max())}; evaluate a model trained on these data")
    loss, acc = evaluate(model, model_inputs(images, meta), labels)
    if not math.isfinite(loss):  # load_model bounds the scores; this is the last guard
        raise ConfigError(f"{path} gives a non-finite loss ({loss}) on these images")
    return {"model": path, "split": split, "n": len(labels), "loss": loss, "acc": acc}
