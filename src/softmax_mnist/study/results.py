"""The results of a study folder: its schema, in one place (docs/results-schema.md).

pipeline.py writes results.json through ``save_results``; report.py, discussion.py and
visualize.py read it through the functions here: the names of the groups and the reference
runs, the thresholds and their keys, a setting's runs over seeds, and the noise rule.

A *run* is one training of one setting with one seed; its name is ``<setting>@s<seed>``
(``momentum-0.9@s1``). A *setting* is everything but the seed; ``summarize`` gives its mean
and standard deviation over seeds.

The noise rule (``compare``), one for every "better", "same" and "within noise": two settings
are compared seed by seed on the *same* validation images. For each seed both share (same
initial weights, same batches), d_s is the difference of their validation accuracies; the
gain is the mean of d_s. Its standard error adds two parts: the images (per image, the
difference of the two models' correctness averaged over seeds; its variance over the M
images / M: a paired test, as McNemar's, that sees only the images on which the two disagree)
and the seeds (the variance of d_s / n). The two differ only when the gain exceeds two
standard errors *and* every seed shows it with the same sign; below that the report says
"within noise". The per-image correctness is stored per run (``val_correct``).
"""

from __future__ import annotations

import base64
import csv
import io
import json
import math
import os
import re
import statistics
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from softmax_mnist.errors import DataError, command
from softmax_mnist.fileio import SPREADSHEET, atomic_write_json, atomic_write_text

THRESHOLDS = (0.90, 0.92)
BASELINE = "momentum-0"        # the course's first setting: plain SGD, lr 0.01
REFERENCE = "momentum-0.9"     # the course's second: its seed-0 model is model.npz
CONTROL = "sgd-equal-step"     # plain SGD at lr / (1 - mu): momentum's equal-step control
CONTROL_SMALL = "momentum-0.9-lr-0.001"  # momentum at lr (1 - mu): plain SGD's equal step
# plain SGD at the effective steps of momentum 0.9 at lr 0.1 and 0.5 (the lr group's largest)
CONTROLS_LARGE = ("sgd-lr-1", "sgd-lr-5")
NESTEROV = "nesterov-0.9"
BEST = "best"                  # the best preset, and its ablation rows best-no-*
BEST_SHORT = "best-10-epochs"  # the best preset trained for the course's 10 epochs
GROUPS = ("momentum", "lr", "batch_size", "lr_batch", "preset", "grid")
HISTORY_KEYS = ("train_loss", "train_acc", "val_loss", "val_acc")
CSV_CONFIG = ("lr", "momentum", "nesterov", "weight_decay", "batch_size", "epochs", "seed",
              "lr_decay", "deskew", "ink_size", "blur_sigma")


class ResultsError(DataError):
    """A study folder whose results cannot be read."""


def key(t: float) -> str:
    """The key of threshold ``t`` in epochs_to: "0.90"."""
    return f"{t:.2f}"


def run_name(setting: str, seed: int) -> str:
    return f"{setting}@s{seed}"


def setting_name(name: str) -> str:
    """A run's name -> its setting's name: ``momentum-0.9@s1`` -> ``momentum-0.9`` (run_name's inverse); a
    name without a seed is its own setting."""
    return name.rsplit("@s", 1)[0]


def ok(run: dict) -> bool:
    return run.get("status") == "ok" and run.get("final_val_acc") is not None


def pack_correct(correct) -> str:
    """A run's per-image validation correctness (M booleans) as the text results.json keeps:
    base64 of the bits, 8 images a byte."""
    return base64.b64encode(np.packbits(np.asarray(correct, dtype=bool)).tobytes()).decode("ascii")


def correct_of(run: dict, n: int) -> np.ndarray | None:
    """The ``n`` booleans ``pack_correct`` stored in ``run`` (None when it has none)."""
    text = run.get("val_correct")
    if not isinstance(text, str):
        return None
    try:
        bits = np.unpackbits(np.frombuffer(base64.b64decode(text, validate=True), np.uint8))
    except ValueError:
        return None
    return bits[:n].astype(bool) if len(bits) >= n else None


# ---- reading and writing -------------------------------------------------------------------


def load_results(results_dir: str | os.PathLike) -> dict:
    """results.json of ``results_dir``, checked enough that a report can trust its shape."""
    path = Path(results_dir) / "results.json"
    if not path.is_file():
        raise ResultsError(f"{path} not found; run `{command('study', '--out', results_dir)}` "
                           "first, or pass the folder a study or sweep wrote")
    try:
        results = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise ResultsError(f"{path} is not valid JSON ({e}); rerun the study") from None
    if not isinstance(results, dict) or not isinstance(results.get("runs"), list) \
            or not results["runs"]:
        raise ResultsError(f"{path} has no runs; rerun the study")
    try:
        validate_results(results)
    except ResultsError as e:
        raise ResultsError(f"{path}: {e}; rerun the study or restore the file") from None
    for i, run in enumerate(results["runs"]):
        missing = [k for k in ("name", "group", "config", "status", "history") if k not in run]
        if missing:
            raise ResultsError(f"{path}: run {i} lacks {', '.join(missing)}; rerun the study "
                               "(folders of softmax-mnist 0.1 need a new study)")
        problem = _run_problem(run)
        if problem:
            raise ResultsError(f"{path}: run {i} ({str(run['name'])[:60]!r}): {problem}; rerun the "
                               "study or restore the file")
    return results


NUMBERS = ("final_train_acc", "final_val_acc", "final_val_loss", "test_acc", "test_loss")

# What the report, the discussion and the figures read of results.json, and its types: a tampered
# or damaged file is one line naming the field, never a traceback from deep inside the report.
# "num": a finite number; "secs": one >= 0; "int": a whole number; "count": one above 0;
# "frac": a number in [0, 1]; "name": a run or setting name; a trailing "?": null too (json_safe
# writes NaN and inf as null).
# [spec]: a list (["+", spec]: not empty); {"*": spec}: a table of any keys; a listed key may be
# absent unless it ends in "!"; keys not listed are not read, so not checked.
NAME_CHARS = r"[\w.,=+\-@ ]+"  # momentum-0.9@s1, lr=0.01,momentum=0.9@s0, best-no-ink-size
_EPOCH = {"times": ["secs"], "median!": "secs", "q1!": "secs", "q3!": "secs"}  # q1 <= median <= q3
_STEP = {"median!": "secs", "q1": "secs", "q3": "secs"}
SCHEMA = {
    "meta": {"version": "str", "seed": "int", "seeds": ["+", "int"], "quick": "bool", "started": "str",
             "train_seconds": "num", "timing_seconds": "num", "thresholds": ["+", "frac"],
             "reference": "name?", "impl": "str?", "impl_reference": ["name"], "load": ["num"],
             "machine": {"cpu": "str", "cores": "int", "python": "str", "numpy": "str", "typst": "str"}},
    "setup": {"n_train": "count", "n_val": "count", "n_test": "count", "preprocess": "str",
              "n_features": "count"},
    "runs!": ["+", {"name!": "name", "setting": "name", "group!": "name", "status!": "str",
                    "error": "str?",
                    "config!": {"seed!": "int", "epochs": "count", "batch_size": "count", "lr": "num",
                                "momentum": "num", "nesterov": "bool", "weight_decay": "num"},
                    "history!": {"*": ["num?"], "train_loss!": ["num?"], "val_loss!": ["num?"],
                                 "train_acc!": ["frac?"], "val_acc!": ["frac?"]},
                    "epochs_to": {"*": "int?"}, "final_train_acc": "frac?", "final_val_acc": "frac?",
                    "test_acc": "frac?", "final_train_loss": "num?", "final_val_loss": "num?",
                    "test_loss": "num?", "pass": "int?", "stacked_with": ["name"], "seconds": "num?",
                    "seconds_per_epoch": "num?", "copy_of": "name", "val_correct": "str?"}],
    "groups": {"*": ["name"]},
    "best": {"*": "name?"},
    # a pass trained before a resume has no time of its own (null); the report never reads it
    "passes": [{"id": "int", "runs!": ["name"], "seconds": "num?"}],
    "timing": {"rounds": "count", "warmup": "int", "epoch": {"*": _EPOCH}, "step": {"*": _STEP}},
}


def _kind_problem(value, kind: str) -> str | None:
    """Why ``value`` is not of the scalar ``kind`` of SCHEMA, or None."""
    if kind.endswith("?"):
        return None if value is None else _kind_problem(value, kind[:-1])
    number = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    whole = isinstance(value, int) and not isinstance(value, bool)
    return {
        "str": None if isinstance(value, str) else "must be text",
        "bool": None if isinstance(value, bool) else "must be true or false",
        "num": None if number else "must be a number",
        "secs": None if number and value >= 0 else "must be a number of seconds (0 or more)",
        "frac": None if number and 0 <= value <= 1 else "must be a number from 0 to 1",
        "int": None if whole else "must be a whole number",
        "count": None if whole and value > 0 else "must be a whole number above 0",
        "name": None if isinstance(value, str) and re.fullmatch(NAME_CHARS, value)
        else "must be a run or setting name (letters, digits and . , = + - _ @)",
    }[kind]


def _schema_problem(value, spec, where: str) -> tuple[str, str] | None:
    """(the field, what is wrong with it) for the first part of ``value`` that breaks ``spec``."""
    if isinstance(spec, str):
        problem = _kind_problem(value, spec)
        return (where, f"{problem}, got {json.dumps(value)[:40]}") if problem else None
    if isinstance(spec, list):
        if not isinstance(value, list):
            return where, f"must be a list, got {json.dumps(value)[:40]}"
        if spec[0] == "+" and not value:
            return where, "is empty"
        for i, item in enumerate(value):
            found = _schema_problem(item, spec[-1], f"{where}[{i}]")
            if found:
                return found
        return None
    if not isinstance(value, dict):
        return where, f"must be a table, got {json.dumps(value)[:40]}"
    for key, sub in spec.items():
        name = key.rstrip("!")
        if name == "*":
            continue
        if name not in value:
            if key.endswith("!"):
                return f"{where}.{name}".lstrip("."), "is missing"
            continue
        found = _schema_problem(value[name], sub, f"{where}.{name}".lstrip("."))
        if found:
            return found
    if "*" in spec:
        for k, v in value.items():
            found = None if k in spec else _schema_problem(v, spec["*"], f"{where}.{k}".lstrip("."))
            if found:
                return found
    return None


def validate_results(results) -> None:
    """Raise ResultsError naming the first field of results.json (as loaded) that breaks SCHEMA,
    and the references between fields the report follows (a reference run that exists, seeds)."""
    found = _schema_problem(results, SCHEMA, "")
    meta = results.get("meta", {})
    names = {r["name"] for r in results["runs"]} if found is None else set()
    # null: no run could serve (every reference run diverged); the report then shows no model
    if found is None and meta.get("reference") is not None and meta["reference"] not in names:
        found = "meta.reference", f"names no run of the file ({meta['reference']!r})"
    for name, t in (results.get("timing", {}).get("epoch", {}) if found is None else {}).items():
        if not t["q1"] <= t["median"] <= t["q3"]:  # the figures draw them as error bars
            found = f"timing.epoch.{name}", "must have q1 <= median <= q3"
            break
    if found:
        raise ResultsError(f"{found[0] or 'the file'} {found[1]}")


def _number(x) -> bool:
    """A JSON number (null stands for NaN and inf, see ``json_safe``), not a bool."""
    return x is None or isinstance(x, (int, float)) and not isinstance(x, bool)


def _run_problem(run: dict) -> str | None:
    """What is wrong with the types of one run of results.json, or None."""
    if not isinstance(run["name"], str) or not isinstance(run["group"], str) \
            or not isinstance(run["status"], str):
        return "name, group and status must be strings"
    if not isinstance(run["config"], dict):
        return "its config is not a table"
    seed = run["config"].get("seed")
    if not (isinstance(seed, int) and not isinstance(seed, bool)):
        return f"its config's seed {seed!r} is not a whole number"
    history = run["history"]
    if not isinstance(history, dict):
        return "its history is not a table of series"
    for k, values in history.items():
        if not isinstance(values, list) or not all(_number(v) for v in values):
            return f"history {k!r} is not a list of numbers"
    for k in NUMBERS:
        if not _number(run.get(k)):
            return f"{k} {run.get(k)!r} is not a number"
    epochs_to = run.get("epochs_to", {})
    if not isinstance(epochs_to, dict) or not all(_number(v) for v in epochs_to.values()):
        return "epochs_to is not a table of epochs"
    return None


def json_safe(obj):
    """NaN and inf become null: JSON has no such numbers."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: json_safe(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [json_safe(v) for v in obj]
    return obj


def results_csv(results: dict) -> str:
    """One row per run (the columns of results-schema.md); empty cells for null."""
    ts = [key(t) for t in results["meta"]["thresholds"]]
    cols = ["name", "setting", "group", *CSV_CONFIG, "status", "final_train_acc",
            "final_val_acc", "final_val_loss", "test_acc", "test_loss", "pass"]
    cols += [f"epochs_to_{t}" for t in ts]
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=cols, lineterminator="\n")
    writer.writeheader()
    for r in results["runs"]:
        row = {k: r.get(k) for k in cols if k in r}
        row.update({k: r["config"].get(k) for k in CSV_CONFIG})
        for t in ts:
            row[f"epochs_to_{t}"] = r["epochs_to"].get(t)
        writer.writerow({k: "" if v is None else v for k, v in json_safe(row).items()})
    return buf.getvalue()


def save_results(results: dict, out_dir) -> tuple[Path, Path]:
    """Write results.json and results.csv into ``out_dir`` (atomically)."""
    out = Path(out_dir)
    return (atomic_write_json(out / "results.json", json_safe(results)),
            atomic_write_text(out / "results.csv", results_csv(results), SPREADSHEET))


# ---- runs, settings and groups -------------------------------------------------------------


def runs_of(results: dict, setting: str) -> list[dict]:
    """Every seed's run of ``setting``, in file order."""
    return [r for r in results["runs"] if r.get("setting", setting_name(r["name"])) == setting]


def settings_of(results: dict, group: str) -> list[str]:
    """The settings of ``group`` in file order (each once)."""
    out: list[str] = []
    for r in results["runs"]:
        s = r.get("setting", setting_name(r["name"]))
        if r["group"] == group and s not in out:
            out.append(s)
    return out


def thresholds_of(results: dict) -> list[float]:
    return [float(t) for t in results.get("meta", {}).get("thresholds", THRESHOLDS)]


@dataclass(frozen=True)
class Stat:
    """Mean and sample standard deviation of ``values`` (sd 0 for one value)."""

    values: tuple[float, ...]

    @property
    def n(self) -> int:
        return len(self.values)

    @property
    def mean(self) -> float:
        return statistics.fmean(self.values) if self.values else math.nan

    @property
    def sd(self) -> float:
        return statistics.stdev(self.values) if self.n > 1 else 0.0


def stat(values) -> Stat:
    return Stat(tuple(float(v) for v in values if v is not None))


@dataclass(frozen=True)
class Summary:
    """One setting over its seeds: what the tables and the discussion use."""

    setting: str
    group: str
    config: dict          # the seed-0 run's config (all but the seed are shared)
    seeds: tuple[int, ...]
    diverged: int         # how many seeds diverged
    val_acc: Stat
    train_acc: Stat       # measured on the training split after training
    train_loss: Stat      # the last epoch's running training loss
    test_acc: Stat        # empty unless the setting is a final model
    epochs_to: dict       # threshold key -> list of first epochs (None: not reached)
    curves: dict          # history key -> list of per-epoch Stats (ok seeds only)
    # seed -> (validation accuracy, final training loss, per-image correctness or None), ok seeds
    by_seed: dict = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.diverged == 0 and self.val_acc.n > 0


def summarize(results: dict, setting: str) -> Summary | None:
    runs = runs_of(results, setting)
    n_val = int(results.get("setup", {}).get("n_val") or 0)
    if not runs:
        return None
    good = [r for r in runs if ok(r)]
    curves = {}
    for k in HISTORY_KEYS:
        series = [r["history"].get(k) or [] for r in good]
        length = min((len(s) for s in series), default=0)
        curves[k] = [stat(s[e] for s in series) for e in range(length)]
    ts = {key(t) for t in thresholds_of(results)}
    return Summary(
        setting=setting, group=runs[0]["group"], config=runs[0]["config"],
        seeds=tuple(r["config"]["seed"] for r in runs), diverged=len(runs) - len(good),
        val_acc=stat(r["final_val_acc"] for r in good),
        train_acc=stat(r.get("final_train_acc") for r in good),
        train_loss=stat(r["history"]["train_loss"][-1] for r in good if r["history"]["train_loss"]),
        test_acc=stat(r.get("test_acc") for r in good),
        epochs_to={t: [r.get("epochs_to", {}).get(t) for r in runs] for t in sorted(ts)},
        curves=curves,
        by_seed={r["config"]["seed"]: (r["final_val_acc"],
                                       (r["history"]["train_loss"] or [None])[-1],
                                       correct_of(r, n_val)) for r in good})


def summaries(results: dict, group: str) -> list[Summary]:
    return [s for s in (summarize(results, n) for n in settings_of(results, group)) if s]


@dataclass(frozen=True)
class Comparison:
    """b against a by the noise rule (module docstring): accuracies as fractions."""

    gain: float                  # mean over the shared seeds of b's accuracy minus a's
    se: float                    # its standard error: images plus seeds
    per_seed: tuple[float, ...]  # the d_s
    loss_gain: float | None      # mean of b's final training loss minus a's (negative: lower)
    loss_per_seed: tuple[float, ...]
    paired: bool                 # False: no per-image data, the images' part is unpaired

    @property
    def noise(self) -> float:
        """The bound the gain must exceed: two standard errors."""
        return 2 * self.se

    @property
    def real(self) -> bool:
        """The rule: beyond two standard errors, and every seed agrees on the sign."""
        return beyond(self.gain, self.se, self.per_seed)

    @property
    def loss_real(self) -> bool:
        """The same rule on the final training loss (its seeds only: 55,000 images each)."""
        d = self.loss_per_seed
        if not d:
            return False
        se = statistics.stdev(d) / math.sqrt(len(d)) if len(d) > 1 else 0.0
        return beyond(statistics.fmean(d), se, d)


def beyond(mean: float, se: float, pairs) -> bool:
    """The noise rule's verdict for paired differences ``pairs`` with mean ``mean`` and
    standard error ``se``: |mean| > 2 se and every pair has the sign of the mean."""
    return bool(pairs) and abs(mean) > 2 * se and all(d * mean > 0 for d in pairs)


def compare(a: Summary, b: Summary, n_eval: int) -> Comparison:
    """b against a, paired by seed and by validation image (the module docstring's rule).

    Seeds that only one of them has (or that diverged) are left out. Without per-image data
    (results of older studies) the images' part is each accuracy's binomial error, unpaired."""
    seeds = [s for s in a.by_seed if s in b.by_seed]
    d = tuple(b.by_seed[s][0] - a.by_seed[s][0] for s in seeds)
    loss = tuple(b.by_seed[s][1] - a.by_seed[s][1] for s in seeds
                 if b.by_seed[s][1] is not None and a.by_seed[s][1] is not None)
    if not d:
        return Comparison(math.nan, math.inf, (), None, (), False)
    gain = statistics.fmean(d)
    seed_var = statistics.variance(d) / len(d) if len(d) > 1 else 0.0
    ca = [a.by_seed[s][2] for s in seeds]
    cb = [b.by_seed[s][2] for s in seeds]
    paired = all(x is not None and y is not None and len(x) == len(y) == len(ca[0])
                 for x, y in zip(ca, cb))
    if paired:
        per_image = np.mean([y.astype(np.float64) - x for x, y in zip(ca, cb)], axis=0)
        image_var = float(per_image.var(ddof=1)) / len(per_image) if len(per_image) > 1 else 0.0
    else:
        def binomial(s: Summary) -> float:
            p = min(max(s.val_acc.mean, 0.0), 1.0)
            return p * (1 - p) / max(n_eval, 1)
        image_var = binomial(a) + binomial(b)
    return Comparison(gain, math.sqrt(image_var + seed_var), d,
                      statistics.fmean(loss) if loss else None, loss, paired)


def differs(a: Summary, b: Summary, n_eval: int) -> bool:
    """True when the rule finds a and b apart."""
    return compare(a, b, n_eval).real


def best_setting(items: list[Summary]) -> Summary | None:
    """The setting with the highest mean validation accuracy (first on ties); never one
    with a diverged seed. Chosen on validation only."""
    good = [s for s in items if s.ok]
    return max(good, key=lambda s: s.val_acc.mean, default=None)


def median_epoch(epochs: list) -> float | None:
    """The median first epoch over seeds, None when any seed never got there."""
    if not epochs or any(e is None for e in epochs):
        return None
    return statistics.median(epochs)
