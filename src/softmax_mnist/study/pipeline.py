"""A study folder end to end: plans -> runner -> artifacts -> report, around one folder.

``open_study`` checks all it can before anything is written (a student's classes, the data,
the plan), then makes the folder (staged in ``<out>.partial`` over an old one with --force)
and writes progress.json; ``resume_study`` reads an interrupted folder's progress.json back.
``Study.train`` runs the plan (runner.run_study), saving progress.json after each run or
stacked pass, so a kill loses at most the one in progress; ``Study.write`` writes
results.json, the models and examples (artifacts.py) and the report; ``Study.close`` drops
the progress files and swaps a staged folder in. Nothing here prints: progress lines go to
the ``log`` callable, and what happened comes back as values for a front end to show.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from softmax_mnist.core.config import TrainConfig
from softmax_mnist.core.data import Splits, resolve_data_dir
from softmax_mnist.errors import ConfigError
from softmax_mnist.fileio import atomic_write_json
from softmax_mnist.study import results as rs
from softmax_mnist.study.artifacts import save_best, save_reference
from softmax_mnist.study.checkpoint import checkpoint_path
from softmax_mnist.study.plans import check_plan
from softmax_mnist.study.run import (
    prepare_out_dir,
    read_json,
    remove_stale_temps,
    replaced_by,
    stage,
    swap_in,
)
from softmax_mnist.study.runner import data_loader, load_study_data, model_of, run_study

if TYPE_CHECKING:
    from softmax_mnist.study.impl import Impl


@dataclass
class ReportWritten:
    """A report built: its files (named in the folder they will be in) and how long it took."""

    lang: str
    pdf: Path
    typst: Path
    markdown: Path | None  # None when only the edited .typ was typeset
    pages: int
    seconds: float


@dataclass
class Written:
    """What a finished study wrote, for the front end's closing lines."""

    reference: str | None  # the run in model.npz
    best: str | None  # the best setting on validation accuracy (mean over its seeds)
    best_val_acc: float | None
    best_seeds: int
    best_model: str | None  # the run in model-best.npz, when it is not the reference
    train_seconds: float
    timing_seconds: float
    report: ReportWritten


@dataclass
class Study:
    """A study or sweep (``kind``) with its folder, plan and data, ready to train."""

    kind: str
    out: Path  # where it works
    replaces: Path | None  # the folder it replaces once complete (--force), or None
    plan: list
    progress: dict  # progress.json: the plan, its meta, the finished runs
    data: Splits
    images: np.ndarray  # the uint8 test images, for examples.npz
    data_dir: str | None
    quick: bool
    impl: Impl | None = None  # study --impl: a student's classes train the runs
    models: dict = field(default_factory=dict)  # run name -> its trained model, as they finish
    data_for: Callable[[TrainConfig], Splits] | None = None  # runner.data_loader, set by train

    @property
    def folder(self) -> Path:
        """Where the study will be once complete."""
        return self.replaces or self.out

    @property
    def trainer(self):
        return self.impl.trainer if self.impl else None

    def train(self, log=None, verbose: bool = False, progress=None, stop=None) -> dict:
        """Train the runs not finished yet; the results dict (runner.run_study). Raises
        Interrupted when ``stop()`` turns true, with progress.json and the checkpoint saved."""
        def on_run(entries):
            self.progress["finished"].update({e["name"]: e for e in entries})
            save_progress(self.out, self.progress)

        self.data_for = data_loader(self.data_dir, self.quick, progress, loaded=self.data)
        return run_study(self.plan, self.data, log, verbose, self.progress["meta"], self.models,
                         dict(self.progress["finished"]), on_run, checkpoint_path(self.out), stop,
                         data_for=self.data_for, progress=progress, trainer=self.trainer)

    def write(self, results: dict, lang: str, progress=None) -> Written:
        """results.json, model.npz and examples.npz (the reference run), model-best.npz and the
        report in ``lang``."""
        rs.save_results(results, self.out)
        ref = results["meta"]["reference"]
        if ref is not None:  # its own splits when its images are transformed (a sweep's best run)
            ref_data = self.data_for(TrainConfig.from_dict(
                next(r["config"] for r in results["runs"] if r["name"] == ref)))
            save_reference(self.out, results, ref_data,
                           model_of(ref, results["runs"], self.models, self.data_for, self.trainer),
                           self.images[: len(ref_data.x_test)])
        best_model = save_best(self.out, results, self.models, self.data_for, trainer=self.trainer)
        best = results["best"]["overall"]
        summary = rs.summarize(results, best).val_acc if best is not None else None
        report = build_report(self.out, lang, progress=progress, shown=self.folder)
        meta = results["meta"]
        return Written(ref, best, summary.mean if summary else None, summary.n if summary else 0,
                       best_model, meta["train_seconds"], meta["timing_seconds"], report)

    def close(self) -> Path:
        """The study is complete: drop progress.json and the checkpoint, swap a staged folder
        in; returns where the study now is."""
        finish_progress(self.out)
        if self.replaces is not None:
            swap_in(self.out, self.replaces, self.kind)
        return self.folder


def _ready(plan, data_dir, quick: bool, impl_dir):
    """Everything checked before anything is written: a student's classes, the data, the plan."""
    impl = None
    if impl_dir is not None:
        from softmax_mnist.study import impl as impl_mod

        impl = impl_mod.load(impl_dir)
    data, images = load_study_data(data_dir, plan, quick)
    check_plan(plan, data)
    return impl, data, images


def open_study(kind: str, plan, out, data_dir=None, quick: bool = False, force: bool = False,
               impl_dir=None) -> Study:
    """A new study of ``plan`` in folder ``out`` (staged in ``<out>.partial`` when ``force``
    replaces an old one), its progress.json written; ``impl_dir``: a student's classes train."""
    impl, data, images = _ready(plan, data_dir, quick, impl_dir)
    out, replaces = stage(out, force)
    out = prepare_out_dir(out, force)
    meta = {"seed": plan[0][2].seed, "quick": quick, "data_dir": str(resolve_data_dir(data_dir))}
    progress = {"kind": kind, "plan": plan, "meta": meta, "finished": {},
                **({"replaces": replaces.name} if replaces else {})}
    if impl:  # its name in the results, its path only here (for --resume), its files copied
        meta.update(impl.study_meta(plan))
        progress["impl_dir"] = str(impl.folder)
        impl.save_source(out)
    save_progress(out, progress)
    return Study(kind, out, replaces, plan, progress, data, images, data_dir, quick, impl)


def resume_study(kind: str, folder, data_dir=None) -> Study:
    """The interrupted study in ``folder``: its plan and seed from progress.json; the data from
    ``data_dir`` when given (where the data lives is not a setting), else from where it was."""
    out = Path(folder)
    progress = load_progress(out)
    replaces = replaced_by(out, "progress.json")  # a --force study staged in <out>.partial
    remove_stale_temps(out)
    plan, quick = progress["plan"], progress["meta"]["quick"]
    data_dir = data_dir or progress["meta"]["data_dir"]
    progress["meta"]["data_dir"] = str(resolve_data_dir(data_dir))
    # the study's own copy of the student's files (saved when it started), never a path read
    # from progress.json: an edited file could name other code, and the student's folder
    # may have changed since; so the resumed runs train the classes the first ones did
    impl_dir = None
    if "impl_dir" in progress:
        from softmax_mnist.study.impl import SOURCE_DIR

        impl_dir = out / SOURCE_DIR
    impl, data, images = _ready(plan, data_dir, quick, impl_dir)
    return Study(kind, out, replaces, plan, progress, data, images, data_dir, quick, impl)


def build_report(out, lang: str, typeset_only: bool = False, progress=None,
                 shown=None) -> ReportWritten:
    """Write the report in folder ``out`` (or with ``typeset_only`` compile its edited .typ);
    its files are named in ``shown`` (where the folder will be) or ``out``. English is
    report.en.* beside the Chinese report.* (report.output_name)."""
    from softmax_mnist.study.report.document import build_report as write_report
    from softmax_mnist.study.report.document import output_name
    from softmax_mnist.study.report.typeset import compile_pdf

    start = time.perf_counter()
    where = Path(shown or out)
    typ, pdf = where / output_name(lang, ".typ"), where / output_name(lang, ".pdf")
    if typeset_only:
        pages, markdown = compile_pdf(Path(out) / typ.name), None
    else:
        pages, markdown = write_report(out, lang, progress).pages, where / output_name(lang, ".md")
    return ReportWritten(lang, pdf, typ, markdown, pages, time.perf_counter() - start)


# ---- progress.json, for --resume -----------------------------------------------------------


def save_progress(out_dir, progress: dict) -> None:
    """Write progress.json: the plan, its meta, and the entries of the runs finished so far."""
    data = {**progress, "plan": [[n, g, c.to_dict()] for n, g, c in progress["plan"]]}
    atomic_write_json(Path(out_dir) / "progress.json", rs.json_safe(data))


def load_progress(out_dir) -> dict:
    """Read progress.json back (plan as TrainConfigs); a ConfigError when there is none."""
    path = Path(out_dir) / "progress.json"
    try:
        data = read_json(path)  # a regular file of a sensible size: a FIFO would block
        data["plan"] = [(n, g, TrainConfig.from_dict(c)) for n, g, c in data["plan"]]
        if not ({"quick", "data_dir"} <= set(data["meta"]) and isinstance(data["finished"], dict)):
            raise KeyError("meta or finished")
    except FileNotFoundError:
        staged = Path(os.path.abspath(out_dir))
        staged = staged.with_name(staged.name + ".partial")
        if (staged / "progress.json").is_file():  # a --force study works beside the old one
            raise ConfigError(f"no progress.json in {out_dir}; the interrupted study is in "
                              f"{staged}: resume that folder") from None
        raise ConfigError(f"no progress.json in {out_dir}: nothing to resume (the study finished "
                          "or the folder is not a study)") from None
    except (OSError, ValueError, KeyError, TypeError, AttributeError, RecursionError) as e:
        why = str(e) if isinstance(e, OSError) and not e.errno else type(e).__name__
        raise ConfigError(f"{path} is unreadable ({why}); start the study again") from None
    # the finished runs go into results.json as they are: what a run cannot have made (an
    # accuracy of 5.0 or NaN, a name the plan does not have) is refused now, not in the report
    names = {n for n, _, _ in data["plan"]}
    try:
        if data["finished"]:
            rs.validate_results({"runs": list(data["finished"].values())})
    except rs.ResultsError as e:
        raise ConfigError(f"{path}: finished {e}; start the study again") from None
    odd = [k for k, e in data["finished"].items() if k not in names or e["name"] != k]
    if odd:
        raise ConfigError(f"{path}: finished run {odd[0]!r} is not a run of its plan; start the "
                          "study again")
    return data


def finish_progress(out_dir) -> None:
    """The study is complete: results.json replaces progress.json and the checkpoint."""
    for name in ("progress.json", "checkpoint.npz"):
        (Path(out_dir) / name).unlink(missing_ok=True)
