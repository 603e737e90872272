"""The study report, rebuilt from a saved study folder without training.

``build_report(results_dir)`` reads results.json (and model.npz, examples.npz when they are
there), writes figures/*.png, report.md and report.pdf. Both documents come from one list of
blocks (headings, paragraphs, tables, figures), so they say the same thing.

Every sentence of the discussion is chosen by a small function from the measured numbers:
which setting reached a threshold first and by how much, whether a difference is larger than
the measurement can resolve, where a learning rate is too small or too large. Another
results.json gives other sentences, still true of its numbers.
"""

from __future__ import annotations

import io
import json
import math
import os
import re
import textwrap
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from softmax_mnist.errors import DataError
from softmax_mnist.fileio import atomic_write, atomic_write_text
from softmax_mnist.visualize import (
    Figure,
    plot_confusion,
    plot_examples,
    plot_momentum,
    plot_run,
    plot_run_bars,
    plot_sweep_curves,
    plot_sweep_summary,
    plot_weights,
    save_figure,
)

# a final validation accuracy more than this far below the best is "well below" it
WELL_BELOW = 0.01
# two times differing by at most this fraction of the larger are "about the same"
SAME_TIME = 0.05
# and two training losses
SAME_LOSS = 0.01
GROUP_PARAM = {"lr": "lr", "batch_size": "batch_size"}
REFERENCE_RUN = "momentum-0.9"  # unless results.json names another in meta.reference
BASELINE_RUN = "momentum-0"


class ReportError(DataError):
    """A study folder whose results cannot be read or make no report."""


# ---- reading -------------------------------------------------------------------------------


def load_results(results_dir: str | os.PathLike) -> dict:
    """results.json of ``results_dir``, checked enough that the report can trust its shape."""
    path = Path(results_dir) / "results.json"
    if not path.is_file():
        raise ReportError(f"{path} not found; run `softmax-mnist study --out {results_dir}` "
                          "first, or pass the folder a study or sweep wrote")
    try:
        results = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise ReportError(f"{path} is not valid JSON ({e}); rerun the study") from None
    if not isinstance(results, dict) or not isinstance(results.get("runs"), list) \
            or not results["runs"]:
        raise ReportError(f"{path} has no runs; rerun the study")
    for i, run in enumerate(results["runs"]):
        missing = [k for k in ("name", "config", "status", "history") if k not in run]
        if missing:
            raise ReportError(f"{path}: run {i} lacks {', '.join(missing)}; rerun the study")
    return results


def group_runs(results: dict, group: str) -> list[dict]:
    """The runs of ``group``, in the order results.json lists them."""
    by_name = {r["name"]: r for r in results["runs"]}
    return [by_name[n] for n in results.get("groups", {}).get(group, []) if n in by_name]


def thresholds_of(results: dict) -> list[float]:
    return [float(t) for t in results.get("meta", {}).get("thresholds", [0.90, 0.92])]


def _at(table: dict | None, t: float):
    """``table[t]`` whatever way the threshold was spelled as a key ("0.90", "0.9")."""
    for key in (f"{t:.2f}", f"{t:g}", str(t)):
        if table and key in table:
            return table[key]
    return None


def reached(run: dict, t: float) -> tuple[int, float] | None:
    """(epoch, cumulative training seconds) at which ``run`` first had val acc >= t, or None."""
    epoch = _at(run.get("epochs_to"), t)
    if epoch is None:
        return None
    seconds = _at(run.get("seconds_to"), t)
    if seconds is None:
        seconds = sum(run["history"]["epoch_time"][:epoch])
    return int(epoch), float(seconds)


def ok(run: dict) -> bool:
    return run.get("status") == "ok" and run.get("final_val_acc") is not None


def best_run(runs: list[dict], named: str | None = None) -> dict | None:
    """The run with the highest final validation accuracy (``named`` when results.json says
    which; its choice was made the same way). Never looks at test numbers."""
    candidates = [r for r in runs if ok(r)]
    for r in candidates:
        if r["name"] == named:
            return r
    return max(candidates, key=lambda r: r["final_val_acc"], default=None)


def max_val_acc(run: dict) -> float | None:
    values = run["history"].get("val_acc") or []
    return max(values) if values else None


def epochs_run(run: dict) -> int:
    return len(run["history"].get("train_loss") or [])


# ---- formatting ----------------------------------------------------------------------------


def f4(x) -> str:
    return "-" if x is None else f"{x:.4f}"


def fsec(x) -> str:
    if x is None:
        return "-"
    return f"{x:.3f}" if x < 10 else f"{x:.1f}"


def pts(x: float) -> str:
    """An accuracy difference in percentage points."""
    return f"{abs(x) * 100:.2f} percentage points"


def plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def join_words(items: list[str]) -> str:
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def cap(text: str) -> str:
    """First letter upper case, the rest untouched ('SGD' stays 'SGD')."""
    return text[:1].upper() + text[1:]


def named_values(noun: str, values: list[str]) -> str:
    """'learning rate 0.1' or 'learning rates 0.01 and 0.1'."""
    return f"{noun}{'s' if len(values) > 1 else ''} {join_words(values)}"


def describe(run: dict) -> str:
    """What a reader calls the run: 'plain SGD' (momentum 0), 'momentum 0.9', 'Nesterov
    momentum 0.9', 'learning rate 0.05', 'batch size 50'; else its name."""
    c = run["config"]
    group = run.get("group")
    if group == "lr":
        return f"learning rate {c['lr']:g}"
    if group == "batch_size":
        return f"batch size {c['batch_size']}"
    if group == "momentum":
        if c.get("nesterov"):
            return f"Nesterov momentum {c['momentum']:g}"
        return f"momentum {c['momentum']:g}" if c["momentum"] else "plain SGD"
    return run["name"]


def diverged_where(run: dict) -> str:
    """'in epoch 3' from the DivergenceError message, else from the recorded history."""
    m = re.search(r"epoch (\d+)", run.get("error") or "")
    if m:
        return f"in epoch {m.group(1)}"
    return f"after {plural(epochs_run(run), 'completed epoch')}"


def time_comparison(a: float, b: float) -> tuple[str, float]:
    """How time ``a`` compares with ``b``: ('about the same', r), ('more', r) or ('less', r),
    with r = |a - b| / b."""
    rel = abs(a - b) / b if b else math.inf
    if abs(a - b) <= SAME_TIME * max(a, b):
        return "about the same", rel
    return ("more" if a > b else "less"), rel


# ---- the discussion, one function per comparison -------------------------------------------


def convergence_sentence(a: dict, b: dict, t: float, higher: list[float] = ()) -> str:
    """Which of two runs first reached validation accuracy ``t``, by how many epochs and
    seconds of training; or that only one, or neither, did (then neither reached the
    ``higher`` thresholds either, and the sentence says so)."""
    na, nb = describe(a), describe(b)
    ra, rb = reached(a, t), reached(b, t)
    if ra is None and rb is None:
        also = f" (nor {join_words([f'{h:.2f}' for h in higher])})" if higher else ""
        return (f"Neither {na} nor {nb} reached {t:.2f} validation accuracy{also} "
                f"({na}: best {f4(max_val_acc(a))} in {plural(epochs_run(a), 'epoch')}; "
                f"{nb}: best {f4(max_val_acc(b))} in {plural(epochs_run(b), 'epoch')}).")
    if ra is None or rb is None:
        (win, (e, s)), lose = ((a, ra), b) if rb is None else ((b, rb), a)
        return (f"Only {describe(win)} reached {t:.2f} validation accuracy (epoch {e}, "
                f"{fsec(s)} s of training); {describe(lose)} did not within its "
                f"{plural(epochs_run(lose), 'epoch')} (best {f4(max_val_acc(lose))}).")
    (ea, sa), (eb, sb) = ra, rb
    word, _ = time_comparison(sa, sb)
    same_time = word == "about the same"
    disagree = ea != eb and not same_time and (ea < eb) != (sa < sb)
    if ea == eb:
        text = f"{cap(na)} and {nb} both reached {t:.2f} validation accuracy in epoch {ea}"
    else:
        (fast, ef), (slow, es) = ((na, ea), (nb, eb)) if ea < eb else ((nb, eb), (na, ea))
        how = "in fewer epochs" if disagree else "first"
        text = (f"{cap(fast)} reached {t:.2f} validation accuracy {how}: in epoch {ef} "
                f"against epoch {es} for {slow}, {plural(es - ef, 'epoch')} earlier")
    if same_time:
        return text + (f"; in training time they took about the same ({fsec(sa)} s and "
                       f"{fsec(sb)} s).")
    (sooner, s1), (later, s2) = ((na, sa), (nb, sb)) if sa < sb else ((nb, sb), (na, sa))
    text += (f"{', but' if disagree else ';'} in training time {sooner} got there "
             f"{fsec(s2 - s1)} s sooner ({fsec(s1)} s against {fsec(s2)} s).")
    if disagree:
        text += f" The epochs of {later} were slower."
    return text


def accuracy_sentence(a: dict, b: dict, n_test: int, key: str = "test_acc") -> str:
    """The test accuracy of ``b`` against ``a``: higher, lower or the same, in points and images,
    and whether the gap exceeds two standard errors of one accuracy on n_test images."""
    na, nb = describe(a), describe(b)
    if a.get(key) is None or b.get(key) is None:
        gone = [describe(r) for r in (a, b) if r.get(key) is None]
        return f"{cap(join_words(gone))} diverged, so there is no test accuracy to compare."
    xa, xb = a[key], b[key]
    images = round((xb - xa) * n_test)
    if images == 0:
        return f"{cap(na)} and {nb} have the same test accuracy, {f4(xa)}."
    word = "higher" if xb > xa else "lower"
    text = (f"The test accuracy of {nb} is {f4(xb)} against {f4(xa)} for {na}: "
            f"{pts(xb - xa)} {word} ({plural(abs(images), 'test image')} of {n_test:,}).")
    p = (xa + xb) / 2
    se = math.sqrt(p * (1 - p) / n_test) if n_test else math.inf
    if abs(xb - xa) < 2 * se:
        text += (f" That is less than two standard errors of an accuracy measured on "
                 f"{n_test:,} images (2 x {se * 100:.2f} points), so this test set does not "
                 "separate the two.")
    else:
        text += (f" That is more than two standard errors of an accuracy measured on "
                 f"{n_test:,} images (2 x {se * 100:.2f} points).")
    return text


def epoch_time_sentence(a: dict, b: dict) -> str:
    """Seconds per epoch of ``b`` against ``a``."""
    na, nb = describe(a), describe(b)
    ta, tb = a.get("seconds_per_epoch"), b.get("seconds_per_epoch")
    if not ta or not tb:
        return ""
    word, rel = time_comparison(tb, ta)
    if word == "about the same":
        return (f"An epoch took about the same time with {nb} as with {na} ({fsec(tb)} s and "
                f"{fsec(ta)} s, within {SAME_TIME:.0%}).")
    return (f"An epoch took {fsec(tb)} s with {nb} against {fsec(ta)} s with {na}, "
            f"{rel:.0%} {word}.")


def final_loss_sentence(a: dict, b: dict) -> str:
    """Training loss after the last epoch of each run."""
    la, lb = (r["history"]["train_loss"][-1] if r["history"].get("train_loss") else None
              for r in (a, b))
    if la is None or lb is None or not ok(a) or not ok(b):
        return ""
    if abs(la - lb) <= SAME_LOSS * max(la, lb):
        return (f"After {plural(epochs_run(a), 'epoch')} both had about the same training loss "
                f"({la:.4f} and {lb:.4f}, within {SAME_LOSS:.0%}).")
    low, high = ((describe(a), la), (describe(b), lb)) if la < lb else ((describe(b), lb),
                                                                         (describe(a), la))
    return (f"After {plural(epochs_run(a), 'epoch')} the training loss was lower with "
            f"{low[0]} ({low[1]:.4f}) than with {high[0]} ({high[1]:.4f}).")


def momentum_discussion(runs: list[dict], thresholds: list[float], n_test: int) -> list[str]:
    """Plain SGD against momentum 0.9 (and Nesterov against heavy-ball), all from the numbers."""
    plain = next((r for r in runs if not r["config"].get("momentum")), None)
    heavy = next((r for r in runs if r["config"].get("momentum")
                  and not r["config"].get("nesterov")), None)
    nesterov = next((r for r in runs if r["config"].get("nesterov")), None)
    out = []
    pairs = [(plain, heavy), (heavy, nesterov)]
    for a, b in pairs:
        if a is None or b is None:
            continue
        sentences = []
        ts = sorted(thresholds)
        for k, t in enumerate(ts):
            sentences.append(convergence_sentence(a, b, t, ts[k + 1:]))
            if reached(a, t) is None and reached(b, t) is None:
                break  # neither reached the higher thresholds either
        sentences += [final_loss_sentence(a, b), accuracy_sentence(a, b, n_test),
                      epoch_time_sentence(a, b)]
        out.append(" ".join(s for s in sentences if s))
    return out


def lr_discussion(runs: list[dict], best_name: str | None = None) -> list[str]:
    """Best learning rate, and which ones are too small (well below the best) or too large
    (diverged or well below the best), on final validation accuracy."""
    runs = sorted(runs, key=lambda r: r["config"]["lr"])
    best = best_run(runs, best_name)
    if best is None:
        return ["Every learning rate in the sweep diverged, so none can be recommended; "
                "try smaller ones."]
    lr_best, acc_best = best["config"]["lr"], best["final_val_acc"]
    out = [f"On the validation split the best learning rate was {lr_best:g} (final validation "
           f"accuracy {f4(acc_best)} after {plural(epochs_run(best), 'epoch')}; its test "
           f"accuracy, reported but not used to choose, was {f4(best.get('test_acc'))}). "
           f"Below, 'well below the best' means more than {WELL_BELOW * 100:g} percentage "
           "point under it."]
    smaller = [r for r in runs if r["config"]["lr"] < lr_best]
    larger = [r for r in runs if r["config"]["lr"] > lr_best]

    def lrs(rs):
        return named_values("learning rate", [f"{r['config']['lr']:g}" for r in rs])

    def accs(rs):
        return join_words([f4(r["final_val_acc"]) for r in rs])

    if not smaller:
        out.append(f"No smaller learning rate than {lr_best:g} was tried, so the sweep does not "
                   "show where the rate becomes too small.")
    else:
        too_small = [r for r in smaller if ok(r) and acc_best - r["final_val_acc"] > WELL_BELOW]
        close = [r for r in smaller if ok(r) and r not in too_small]
        bad = [r for r in smaller if not ok(r)]
        if too_small:
            text = (f"Too small: {lrs(too_small)} ended well below the best "
                    f"(final validation accuracy {accs(too_small)}).")
            rising = [r for r in too_small if len(r["history"]["val_acc"]) >= 2
                      and r["history"]["val_acc"][-1] > r["history"]["val_acc"][-2]]
            if rising:
                text += (f" Validation accuracy at {lrs(rising)} was still rising "
                         "in the last epoch: "
                         + ("that run" if len(rising) == 1 else "those runs")
                         + " had not converged when training stopped.")
            out.append(text)
        if close:
            out.append(f"Smaller {lrs(close)} ended within {WELL_BELOW * 100:g} "
                       f"point of the best ({accs(close)}), so "
                       + ("it is" if len(close) == 1 else "they are") + " not clearly too small.")
        if bad:
            out.append(f"Learning rate {lrs(bad)} diverged even though it is below the best; "
                       "this points to an unstable run rather than a too-large rate.")
    if not larger:
        out.append(f"The largest learning rate tried, {lr_best:g}, was the best, so the sweep "
                   "does not show where the rate becomes too large.")
    else:
        diverged = [r for r in larger if not ok(r)]
        worse = [r for r in larger if ok(r) and acc_best - r["final_val_acc"] > WELL_BELOW]
        close = [r for r in larger if ok(r) and r not in worse]
        if diverged:
            out.append("Too large: " + "; ".join(
                f"learning rate {r['config']['lr']:g} diverged {diverged_where(r)}"
                for r in diverged) + ".")
        if worse:
            out.append(f"{'Also too large' if diverged else 'Too large'}: "
                       f"{lrs(worse)} trained without diverging but ended well below the best "
                       f"(final validation accuracy {accs(worse)}). "
                       + " ".join(unstable_sentence(r, best) for r in worse))
        if close:
            out.append(f"Larger {lrs(close)} still ended within "
                       f"{WELL_BELOW * 100:g} point of the best ({accs(close)}).")
        if not diverged and not worse:
            out.append("No learning rate above the best was clearly too large in this sweep.")
    return out


def max_drop(run: dict) -> float:
    """The largest fall of validation accuracy from one epoch to the next (0 if it never fell)."""
    v = run["history"].get("val_acc") or []
    return max([a - b for a, b in zip(v, v[1:])] + [0.0])


def unstable_sentence(run: dict, best: dict) -> str:
    """How a too-large learning rate shows in the curves: training loss and epoch-to-epoch
    drops of validation accuracy, against the best rate's."""
    name, ref = f"At learning rate {run['config']['lr']:g}", f"{best['config']['lr']:g}"
    parts = []
    la, lb = run["history"]["train_loss"][-1], best["history"]["train_loss"][-1]
    if la > lb * (1 + SAME_LOSS):
        parts.append(f"the final training loss was higher ({la:.4f} against {lb:.4f} at {ref})")
    da, db = max_drop(run), max_drop(best)
    if da > db:
        parts.append(f"validation accuracy fell by up to {da * 100:.2f} points from one epoch "
                     f"to the next (at most {db * 100:.2f} at {ref})")
    return f"{name} {' and '.join(parts)}." if parts else ""


def _monotone(values: list[float], decreasing: bool) -> bool:
    pairs = list(zip(values, values[1:]))
    return all(b <= a for a, b in pairs) if decreasing else all(b >= a for a, b in pairs)


def batch_size_discussion(runs: list[dict], n_train: int, best_name: str | None = None
                          ) -> list[str]:
    """What the batch size did to seconds per epoch and to final validation accuracy."""
    runs = sorted(runs, key=lambda r: r["config"]["batch_size"])
    out = []
    epochs = sorted({r["config"]["epochs"] for r in runs})
    timed = [r for r in runs if r.get("seconds_per_epoch")]
    if len(timed) >= 2:
        small, large = timed[0], timed[-1]
        bs = [r["config"]["batch_size"] for r in (small, large)]
        updates = [math.ceil(n_train / b) for b in bs]
        spe = [r["seconds_per_epoch"] for r in timed]
        text = (f"An epoch is {updates[0]:,} updates at batch size {bs[0]} and {updates[1]:,} "
                f"at batch size {bs[1]}. ")
        fastest = min(timed, key=lambda r: r["seconds_per_epoch"])
        slowest = max(timed, key=lambda r: r["seconds_per_epoch"])
        ratio = slowest["seconds_per_epoch"] / fastest["seconds_per_epoch"]
        if _monotone(spe, decreasing=True) and spe[0] > spe[-1]:
            text += (f"Time per epoch fell every time the batch grew, from "
                     f"{fsec(spe[0])} s at batch size {bs[0]} to {fsec(spe[-1])} s at "
                     f"{bs[1]} ({ratio:.1f} times faster).")
        else:
            text += (f"Time per epoch went from {fsec(spe[0])} s at batch size {bs[0]} to "
                     f"{fsec(spe[-1])} s at {bs[1]}; the fastest epochs were at batch size "
                     f"{fastest['config']['batch_size']} ({fsec(fastest['seconds_per_epoch'])} "
                     f"s), the slowest at {slowest['config']['batch_size']} "
                     f"({fsec(slowest['seconds_per_epoch'])} s, {ratio:.1f} times as long).")
        out.append(text)
    best = best_run(runs, best_name)
    if best is None:
        out.append("Every batch size diverged, so none can be recommended.")
        return out
    b_best, acc_best = best["config"]["batch_size"], best["final_val_acc"]
    ep = f"{plural(epochs[0], 'epoch')}" if len(epochs) == 1 else \
        f"{join_words([str(e) for e in epochs])} epochs"
    text = (f"With {ep}, the best batch size on the validation split was {b_best} (final "
            f"validation accuracy {f4(acc_best)}, test accuracy {f4(best.get('test_acc'))}).")
    above = [r for r in runs if r["config"]["batch_size"] > b_best and ok(r)]
    below = [r for r in runs if r["config"]["batch_size"] < b_best and ok(r)]
    for side, rs in (("larger", above), ("smaller", below)):
        if not rs:
            continue
        far = [r for r in rs if acc_best - r["final_val_acc"] > WELL_BELOW]
        sizes = named_values("batch size", [str(r["config"]["batch_size"]) for r in rs])
        accs = join_words([f4(r["final_val_acc"]) for r in rs])
        if far:
            text += (f" The {side} {sizes} ended at {accs}; "
                     f"{join_words([str(r['config']['batch_size']) for r in far])} "
                     f"{'is' if len(far) == 1 else 'are'} well below the best (more than "
                     f"{WELL_BELOW * 100:g} point).")
        else:
            text += (f" The {side} {sizes} ended within {WELL_BELOW * 100:g} point "
                     f"of it ({accs}).")
        trend = [r["final_val_acc"] for r in rs]
        if side == "larger" and len(rs) >= 2 and _monotone(trend, decreasing=True) \
                and trend[0] > trend[-1]:
            text += " Above the best, the larger the batch, the lower the accuracy."
    out.append(text)
    diverged = [r for r in runs if not ok(r)]
    if diverged:
        out.append("Diverged: " + "; ".join(f"batch size {r['config']['batch_size']} "
                                            f"{diverged_where(r)}" for r in diverged) + ".")
    if best.get("seconds_per_epoch") and timed:
        fastest = min(timed, key=lambda r: r["seconds_per_epoch"])
        if fastest is best:
            out.append(f"Batch size {b_best} was both the most accurate and the fastest per "
                       "epoch.")
        else:
            out.append(f"The most accurate batch size, {b_best}, took "
                       f"{fsec(best['seconds_per_epoch'])} s per epoch, "
                       f"{best['seconds_per_epoch'] / fastest['seconds_per_epoch']:.1f} times "
                       f"the fastest (batch size {fastest['config']['batch_size']}, "
                       f"{fsec(fastest['seconds_per_epoch'])} s).")
    return out


def varying_settings(runs: list[dict]) -> list[str]:
    """Config keys whose value differs between runs (seed included)."""
    keys = sorted({k for r in runs for k in r["config"]})
    return [k for k in keys if len({json.dumps(r["config"].get(k)) for r in runs}) > 1]


def setting_effect(runs: list[dict], key: str) -> str:
    """For each value of ``key``: the best final validation accuracy over the other settings."""
    values = sorted({json.dumps(r["config"][key]) for r in runs}, key=lambda v: (
        not isinstance(json.loads(v), (int, float)), json.loads(v) if isinstance(
            json.loads(v), (int, float)) else v))
    parts = []
    for v in values:
        rs = [r for r in runs if json.dumps(r["config"][key]) == v]
        best = best_run(rs)
        parts.append(f"{json.loads(v)}: " + (f4(best["final_val_acc"]) if best else
                                              "all diverged"))
    return (f"Best final validation accuracy for each {key} (over the other settings): "
            f"{'; '.join(parts)}.")


def grid_discussion(runs: list[dict], best_name: str | None = None) -> list[str]:
    """A user grid: the best run, the spread, the diverged, the time per epoch."""
    best = best_run(runs, best_name)
    varying = varying_settings(runs)
    out = []
    if best is None:
        return [f"All {plural(len(runs), 'run')} of the grid diverged."]
    setting = ", ".join(f"{k} {best['config'][k]}" for k in varying) or "the only setting"
    text = (f"Of {plural(len(runs), 'run')}, the best on the validation split was {best['name']} "
            f"({setting}): final validation accuracy {f4(best['final_val_acc'])}, test accuracy "
            f"{f4(best.get('test_acc'))}.")
    good = [r for r in runs if ok(r)]
    worst = min(good, key=lambda r: r["final_val_acc"])
    if worst is not best:
        text += (f" The lowest was {worst['name']} ({f4(worst['final_val_acc'])}), "
                 f"{pts(best['final_val_acc'] - worst['final_val_acc'])} below.")
    out.append(text)
    for key in varying:
        if key == "seed" or len(varying) < 2:
            continue  # with one setting varying, the table and the figure already say it
        out.append(setting_effect(runs, key))
    diverged = [r for r in runs if not ok(r)]
    if diverged:
        out.append("Diverged: " + "; ".join(f"{r['name']} {diverged_where(r)}"
                                            for r in diverged) + ".")
    timed = [r for r in runs if r.get("seconds_per_epoch")]
    if len(timed) >= 2:
        fastest = min(timed, key=lambda r: r["seconds_per_epoch"])
        slowest = max(timed, key=lambda r: r["seconds_per_epoch"])
        word, _ = time_comparison(slowest["seconds_per_epoch"], fastest["seconds_per_epoch"])
        if word == "about the same":
            out.append(f"All runs took about the same time per epoch ({fsec(fastest['seconds_per_epoch'])}"
                       f" to {fsec(slowest['seconds_per_epoch'])} s).")
        else:
            out.append(f"Time per epoch ranged from {fsec(fastest['seconds_per_epoch'])} s "
                       f"({fastest['name']}) to {fsec(slowest['seconds_per_epoch'])} s "
                       f"({slowest['name']}).")
    return out


def confusion_sentences(cm: np.ndarray) -> list[str]:
    """Accuracy, the weakest and strongest class, and the most frequent confusion."""
    cm = np.asarray(cm, dtype=np.int64)
    total = int(cm.sum())
    if not total:
        return []
    per_class = np.diag(cm) / np.maximum(cm.sum(axis=1), 1)
    off = cm.copy()
    np.fill_diagonal(off, 0)
    i, j = np.unravel_index(int(off.argmax()), off.shape)
    text = (f"The reference model classifies {int(np.trace(cm)):,} of {total:,} test images "
            f"correctly ({np.trace(cm) / total:.4f}). Class {int(per_class.argmin())} is the "
            f"hardest (recall {per_class.min():.4f}), class {int(per_class.argmax())} the "
            f"easiest ({per_class.max():.4f}).")
    if off[i, j]:
        text += (f" The most frequent mistake is a true {i} predicted as {j} "
                 f"({plural(int(off[i, j]), 'image')}).")
    return [text]


# ---- the document: blocks shared by the Markdown and the PDF -------------------------------


@dataclass
class Heading:
    text: str
    level: int = 2


@dataclass
class Paragraph:
    text: str


@dataclass
class Bullets:
    items: list[str]


@dataclass
class Table:
    header: list[str]
    rows: list[list[str]]


@dataclass
class Image:
    path: Path          # the PNG, inside the results folder
    caption: str
    number: int = 0


@dataclass
class ReportPaths:
    """What build_report wrote."""

    markdown: Path
    pdf: Path
    figures: list[Path] = field(default_factory=list)
    pdf_pages: int = 0
    # the 0-based PDF pages that hold a figure (one embedded image each); the others are text
    figure_pages: list[int] = field(default_factory=list)


def _threshold_columns(thresholds):
    cols = []
    for t in thresholds:
        cols.append((f"ep to {t:.2f}", lambda r, t=t: str(reached(r, t)[0]) if reached(r, t)
                     else "-"))
        cols.append((f"s to {t:.2f}", lambda r, t=t: fsec(reached(r, t)[1]) if reached(r, t)
                     else "-"))
    return cols


def runs_table(runs: list[dict], settings: list[str], thresholds, n_train: int | None = None
               ) -> Table:
    """One row per run: the settings that matter here, then the measured numbers."""
    cols = [("run", lambda r: r["name"])]
    for key in settings:
        cols.append((key, lambda r, key=key: str(r["config"].get(key))))
    if n_train and "batch_size" in settings:
        cols.append(("updates/epoch",
                     lambda r: f"{math.ceil(n_train / r['config']['batch_size']):,}"))
    cols += [
        ("status", lambda r: r.get("status", "?")),
        ("val acc", lambda r: f4(r.get("final_val_acc"))),
        ("val loss", lambda r: f4(r.get("final_val_loss"))),
        ("test acc", lambda r: f4(r.get("test_acc"))),
        ("s/epoch", lambda r: fsec(r.get("seconds_per_epoch"))),
        ("s total", lambda r: fsec(r.get("seconds"))),
    ] + _threshold_columns(thresholds)
    return Table([c[0] for c in cols], [[c[1](r) for c in cols] for r in runs])


def setup_items(results: dict) -> list[str]:
    meta, setup = results.get("meta", {}), results.get("setup", {})
    runs = results["runs"]
    machine = meta.get("machine", {})
    configs = [r["config"] for r in runs]

    def values(key):
        distinct = {json.dumps(c.get(key)) for c in configs}
        shown = [json.loads(v) for v in distinct]
        shown.sort(key=lambda v: (not isinstance(v, (int, float)), v if isinstance(
            v, (int, float)) else str(v)))
        return join_words([f"{v:g}" if isinstance(v, float) else str(v) for v in shown])

    n_train, n_val, n_test = (setup.get(k) for k in ("n_train", "n_val", "n_test"))
    items = [
        f"Data: MNIST-format IDX files from `{meta.get('data_dir', '?')}`.",
        f"Split: {n_train:,} training images (the first of the training file), {n_val:,} "
        f"validation images (its last), {n_test:,} test images. Every choice (best learning "
        "rate, batch size, run) is made on validation accuracy; the test split is only reported."
        if None not in (n_train, n_val, n_test) else "Split: not recorded.",
        f"Preprocessing: {setup.get('preprocess', values('preprocess'))}"
        + (" (pixels / 255, then each image's own mean subtracted)"
           if setup.get("preprocess") == "course" else "") + ".",
        f"Model: {setup.get('model', 'softmax regression')}; cross-entropy loss from "
        "log-softmax.",
        f"Initialisation: {setup.get('init', '?')}.",
        "Optimizer: minibatch SGD, heavy-ball momentum v <- mu v - lr g, w <- w + v "
        f"(Nesterov: look-ahead form). Learning rates {values('lr')}; momentum "
        f"{values('momentum')}; batch sizes {values('batch_size')}; epochs {values('epochs')}; "
        f"weight decay {values('weight_decay')}.",
        f"Seeds: study seed {meta.get('seed', '?')}; run seeds {values('seed')}. Runs "
        "compared with each other share the seed, so the same initial weights and data order.",
        f"Machine: {machine.get('cpu', '?')}, {machine.get('cores', '?')} cores; Python "
        f"{machine.get('python', '?')}, NumPy {machine.get('numpy', '?')}; softmax-mnist "
        f"{meta.get('version', '?')}.",
        f"Study started {meta.get('started', '?')}; total time "
        f"{fsec(meta.get('total_seconds'))} s.",
    ]
    if meta.get("quick"):
        items.insert(0, "**Quick mode**: few epochs on a subset of the data, to test the "
                     "pipeline; these numbers are not the course's results.")
    return items


def common_settings(runs: list[dict], varying: list[str]) -> str:
    """The settings all runs of a group share, as one line above its table."""
    c = runs[0]["config"]
    same = [k for k in ("lr", "momentum", "nesterov", "batch_size", "epochs", "weight_decay",
                        "preprocess", "seed") if k in c and k not in varying]
    return (f"{plural(len(runs), 'run')}; all with " + ", ".join(f"{k} {c[k]}" for k in same)
            + ". Columns: final validation accuracy and loss, test accuracy (reported only), "
            "seconds per epoch and in total, and the first epoch and cumulative training "
            "seconds at which validation accuracy reached each threshold ('-': never).")


GROUP_TITLES = {"momentum": "Momentum", "lr": "Learning rate", "batch_size": "Batch size",
                "grid": "Grid", "preset": "The most accurate setting (--preset best)"}
GROUP_SETTINGS = {"momentum": ["momentum", "nesterov", "lr", "batch_size", "epochs"],
                  "lr": ["lr", "momentum", "batch_size", "epochs"],
                  "batch_size": ["batch_size", "lr", "momentum", "epochs"]}


class _Figures:
    """Renders figures into results_dir/figures and remembers them as Image blocks."""

    def __init__(self, results_dir: Path):
        self.dir = results_dir / "figures"
        self.images: list[Image] = []

    def add(self, name: str, fig: Figure, caption: str) -> Image:
        path = save_figure(fig, self.dir / f"{name}.png", dpi=150)
        image = Image(path, caption, len(self.images) + 1)
        self.images.append(image)
        return image


def build_document(results: dict, results_dir: Path) -> list:
    """Every block of the report, in order; renders the figures on the way."""
    results_dir = Path(results_dir)
    figs = _Figures(results_dir)
    thresholds = thresholds_of(results)
    setup = results.get("setup", {})
    n_test = int(setup.get("n_test") or 10000)
    n_train = int(setup.get("n_train") or 55000)
    best = results.get("best", {})
    by_name = {r["name"]: r for r in results["runs"]}
    groups = [g for g in results.get("groups", {}) if group_runs(results, g)]

    doc: list = [Heading("softmax-mnist study report", 1), Paragraph(
        f"Softmax regression on MNIST, trained from scratch with NumPy. "
        f"{plural(len(results['runs']), 'run')} in {plural(len(groups), 'group')} "
        f"({', '.join(groups) or 'none'}). Every number below is read from results.json, "
        "and every sentence of the discussion is generated from those numbers.")]
    doc += [Heading("Setup"), Bullets(setup_items(results))]

    headline = []
    for name in (BASELINE_RUN, REFERENCE_RUN):
        r = by_name.get(name)
        if r:
            headline.append(f"{r['name']} ({describe(r)}, lr "
                            f"{r['config']['lr']:g}, batch {r['config']['batch_size']}, "
                            f"{plural(r['config']['epochs'], 'epoch')}): test accuracy "
                            f"{f4(r.get('test_acc'))}, final validation accuracy "
                            f"{f4(r.get('final_val_acc'))}, {fsec(r.get('seconds'))} s.")
    for key, what in (("lr", "learning rate"), ("batch_size", "batch size"),
                      ("overall", "run overall")):
        r = by_name.get(best.get(key)) if best.get(key) else None
        if r:
            headline.append(f"Best {what} on validation: {r['name']} (validation "
                            f"{f4(r.get('final_val_acc'))}, test {f4(r.get('test_acc'))}).")
    doc.append(Heading("Results"))
    if headline:
        doc.append(Bullets(headline))

    discussion: list = []
    for g in groups:
        runs = group_runs(results, g)
        title = GROUP_TITLES.get(g, g)
        varying = varying_settings(runs)
        settings = [k for k in GROUP_SETTINGS.get(g, varying) if k in varying] or varying[:1]
        doc += [Heading(title, 3), Paragraph(common_settings(runs, varying)),
                runs_table(runs, settings, thresholds, n_train if g == "batch_size" else None)]
        if g == "momentum":
            for r in runs:
                if r["name"] in (BASELINE_RUN, REFERENCE_RUN) and r["history"].get("train_loss"):
                    doc.append(figs.add(f"curves-{r['name']}", plot_run(r),
                                        f"Training and validation loss and accuracy per epoch, "
                                        f"{describe(r)}."))
            doc.append(figs.add("momentum", plot_momentum(runs, thresholds),
                                "Momentum settings overlaid, per epoch and per second of "
                                "training; dotted lines mark the accuracy thresholds."))
            text = momentum_discussion(runs, thresholds, n_test)
        elif g in GROUP_PARAM:
            param = GROUP_PARAM[g]
            slug = g.replace("_", "-")
            doc.append(figs.add(f"{slug}-curves", plot_sweep_curves(runs, param),
                                f"{title} sweep: training loss and validation accuracy per "
                                "epoch; a red x ends a diverged run."))
            doc.append(figs.add(f"{slug}-summary", plot_sweep_summary(runs, param),
                                f"{title} sweep: final validation accuracy (the star is the "
                                f"best; diverged runs are marked, not plotted) and seconds "
                                f"per epoch, against the {title.lower()} on a log axis."))
            text = (lr_discussion(runs, best.get("lr")) if g == "lr" else
                    batch_size_discussion(runs, n_train, best.get("batch_size")))
        else:
            varying = varying_settings(runs)
            numeric = len(varying) == 1 and all(
                isinstance(r["config"][varying[0]], (int, float))
                and not isinstance(r["config"][varying[0]], bool)
                and r["config"][varying[0]] > 0 for r in runs)
            param = varying[0] if numeric else None
            doc.append(figs.add(f"{g}-curves", plot_sweep_curves(runs, param),
                                f"{title}: training loss and validation accuracy per epoch."))
            summary = plot_sweep_summary(runs, param) if numeric else plot_run_bars(runs)
            doc.append(figs.add(f"{g}-summary", summary,
                                f"{title}: final validation accuracy per run (diverged runs "
                                "marked, not plotted)."))
            text = grid_discussion(runs, best.get("overall"))
        discussion += [Heading(title, 3)] + [Paragraph(t) for t in text]

    model_path, examples_path = results_dir / "model.npz", results_dir / "examples.npz"
    if model_path.is_file() or examples_path.is_file():
        doc.append(Heading("The reference model", 3))
        ref = by_name.get(results.get("meta", {}).get("reference") or REFERENCE_RUN)
        doc.append(Paragraph(
            "The saved model (model.npz) and the test examples below are those of "
            + (f"{ref['name']} ("
               + (f"{describe(ref)}, " if describe(ref) != ref["name"] else "")
               + f"test accuracy {f4(ref.get('test_acc'))})." if ref else
               "the study's reference run.")))
    if model_path.is_file():
        from softmax_mnist.modelfile import load_model

        model, _ = load_model(model_path)
        doc.append(figs.add("weights", plot_weights(model.W),
                            "The 10 learned weight vectors as 28x28 images, one diverging "
                            "colour scale centred at 0 for all (red: evidence for the class, "
                            "blue: against)."))
    if examples_path.is_file():
        with np.load(examples_path, allow_pickle=False) as z:
            ex = {k: z[k] for k in z.files}
        if "confusion" in ex:
            doc.append(figs.add("confusion", plot_confusion(ex["confusion"]),
                                "Test confusion matrix of the reference model (counts; colour "
                                "is the fraction of the true class)."))
            discussion += [Heading("Errors of the reference model", 3)] + [
                Paragraph(t) for t in confusion_sentences(ex["confusion"])]
        for kind, caption in (
            ("mistakes", "The most confident mistakes on the test split: true label, "
                         "prediction and its probability."),
            ("ambiguous", "The most ambiguous test images (smallest margin m between the top "
                          "two probabilities): true label, prediction and its probability."),
        ):
            if f"{kind}_images" in ex and len(ex[f"{kind}_images"]):
                fig = plot_examples(ex[f"{kind}_images"], ex[f"{kind}_true"], ex[f"{kind}_pred"],
                                    ex[f"{kind}_prob"], caption.split(":")[0],
                                    margin=ex.get(f"{kind}_margin"))
                doc.append(figs.add(kind, fig, caption))

    if discussion:
        doc += [Heading("Discussion")] + discussion
    doc.append(Paragraph(f"Generated by `softmax-mnist report` from {results_dir.name}/"
                         "results.json; rebuilding it from the same file gives the same text."))
    return doc


# ---- rendering -----------------------------------------------------------------------------


def to_markdown(doc: list, results_dir: Path) -> str:
    out = []
    for block in doc:
        if isinstance(block, Heading):
            out.append("#" * block.level + " " + block.text)
        elif isinstance(block, Paragraph):
            out.append(block.text)
        elif isinstance(block, Bullets):
            out.append("\n".join(f"- {item}" for item in block.items))
        elif isinstance(block, Table):
            lines = ["| " + " | ".join(block.header) + " |",
                     "|" + "|".join("---" for _ in block.header) + "|"]
            lines += ["| " + " | ".join(row) + " |" for row in block.rows]
            out.append("\n".join(lines))
        elif isinstance(block, Image):
            rel = block.path.relative_to(results_dir).as_posix()
            out.append(f"![Figure {block.number}]({rel})\n\n"
                       f"*Figure {block.number}. {block.caption}*")
    return "\n\n".join(out) + "\n"


PAGE = (11.69, 8.27)        # A4 landscape, inches
MARGIN = 0.6                # inches
TEXT_WIDTH = 138            # characters of 10 pt sans per line on a landscape page


def _plain(text: str) -> str:
    """Markdown emphasis and code marks off, for the PDF."""
    return re.sub(r"\*\*(.+?)\*\*|`(.+?)`", lambda m: m.group(1) or m.group(2), text)


def _text_lines(block) -> list[tuple[str, dict]]:
    """(line, text kwargs) for one text block; wrapping is by character count."""
    if isinstance(block, Heading):
        size = {1: 18, 2: 14}.get(block.level, 12)
        return [("", {"size": 6}), (block.text, {"size": size, "weight": "bold"})]
    if isinstance(block, Paragraph):
        return [(line, {"size": 10}) for line in textwrap.wrap(_plain(block.text), TEXT_WIDTH)] \
            + [("", {"size": 5})]
    if isinstance(block, Bullets):
        lines = []
        for item in block.items:
            wrapped = textwrap.wrap(_plain(item), TEXT_WIDTH - 4)
            lines += [(("- " if i == 0 else "  ") + w, {"size": 10})
                      for i, w in enumerate(wrapped)]
        return lines + [("", {"size": 5})]
    if isinstance(block, Table):
        widths = [max(len(row[i]) for row in [block.header, *block.rows])
                  for i in range(len(block.header))]
        total = sum(widths) + 2 * (len(widths) - 1)
        # monospace 0.6 em per character; shrink the font so the widest table fits
        size = min(9.0, (PAGE[0] - 2 * MARGIN) * 72 / (0.6 * max(total, 1)))

        def fmt(row):
            return "  ".join(cell.rjust(w) if i else cell.ljust(w)
                             for i, (cell, w) in enumerate(zip(row, widths)))

        style = {"size": size, "family": "monospace"}
        return ([(fmt(block.header), {**style, "weight": "bold"}),
                 ("-" * total, style)] + [(fmt(r), style) for r in block.rows]
                + [("", {"size": 5})])
    raise TypeError(block)


def _new_page() -> Figure:
    return Figure(figsize=PAGE)


def _figure_page(image: Image) -> Figure:
    """A page with the caption on top and the PNG below, scaled to fit, aspect kept."""
    import matplotlib.image as mpimg

    fig = _new_page()
    caption = textwrap.wrap(f"Figure {image.number}. {image.caption}", TEXT_WIDTH)
    for k, line in enumerate(caption):
        fig.text(MARGIN / PAGE[0], 1 - (MARGIN + 0.2 * k) / PAGE[1], line, size=10,
                 va="top", style="italic")
    top = MARGIN + 0.2 * len(caption) + 0.15
    rgba = mpimg.imread(image.path)
    if rgba.dtype != np.uint8:
        rgba = np.round(np.clip(rgba, 0, 1) * 255).astype(np.uint8)
    rgb = rgba[..., :3]
    if rgba.shape[-1] == 4:  # flatten onto white: one opaque image, no soft mask
        alpha = rgba[..., 3:4].astype(np.float32) / 255
        rgb = np.round(rgb * alpha + 255 * (1 - alpha)).astype(np.uint8)
    box_w, box_h = PAGE[0] - 2 * MARGIN, PAGE[1] - top - MARGIN
    h, w = rgb.shape[:2]
    scale = min(box_w / w, box_h / h)
    iw, ih = w * scale, h * scale
    left = MARGIN + (box_w - iw) / 2
    ax = fig.add_axes([left / PAGE[0], (MARGIN + box_h - ih) / PAGE[1],
                       iw / PAGE[0], ih / PAGE[1]])
    ax.imshow(rgb, interpolation="none")  # "none": the PNG embedded as is, not resampled
    ax.set_axis_off()
    return fig


def render_pdf(doc: list, path: Path) -> tuple[int, list[int]]:
    """Write ``doc`` to ``path`` (atomically); text flows over pages, each figure gets its own.
    Returns (number of pages, 0-based indices of the figure pages)."""
    from matplotlib.backends.backend_pdf import PdfPages

    pages: list[Figure] = []
    figure_pages: list[int] = []
    page, y = None, 0.0
    line_h = 1.45 / 72  # inches per point of font size

    def height(block) -> float:
        if isinstance(block, Image):
            return 0.0
        return sum(kw["size"] * line_h for _, kw in _text_lines(block))

    for i, block in enumerate(doc):
        if isinstance(block, Image):
            pages.append(_figure_page(block))
            figure_pages.append(len(pages) - 1)
            page = None
            continue
        lines = _text_lines(block)
        # keep a heading with what follows it, and a table in one piece when it fits a page
        need = height(block)
        if isinstance(block, Heading):  # with the text up to the next heading or figure
            after = 0.0
            for nxt in doc[i + 1:]:
                if isinstance(nxt, (Heading, Image)):
                    break
                after += height(nxt)
            need += after if need + after < PAGE[1] - 2 * MARGIN else 40 * line_h
        for k, (line, kw) in enumerate(lines):
            h = kw["size"] * line_h
            keep = need if k == 0 and need < PAGE[1] - 2 * MARGIN else h
            if page is None or y - keep < MARGIN:
                page = _new_page()
                pages.append(page)
                y = PAGE[1] - MARGIN
            y -= h
            if line:
                page.text(MARGIN / PAGE[0], y / PAGE[1], line, va="baseline", **kw)

    buf = io.BytesIO()
    with PdfPages(buf, metadata={"Title": "softmax-mnist study report",
                                 "Creator": "softmax-mnist"}) as pdf:
        for fig in pages:
            pdf.savefig(fig)
    atomic_write(path, lambda f: f.write(buf.getvalue()))
    return len(pages), figure_pages


def build_report(results_dir: str | os.PathLike) -> ReportPaths:
    """Read a study (or sweep) folder and write figures/*.png, report.md and report.pdf into it."""
    results_dir = Path(results_dir)
    results = load_results(results_dir)
    doc = build_document(results, results_dir)
    md = atomic_write_text(results_dir / "report.md", to_markdown(doc, results_dir))
    pdf = results_dir / "report.pdf"
    n_pages, figure_pages = render_pdf(doc, pdf)
    figures = [b.path for b in doc if isinstance(b, Image)]
    return ReportPaths(md, pdf, figures, n_pages, figure_pages)
