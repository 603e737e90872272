"""What the study's numbers show, before anything is said about them: the noise rule on two
settings (results.compare), on paired epoch times, the fit of a step's time to the batch size,
the most frequent confusions. Pure functions from numbers to small values, in no language;
discussion.py phrases what they find."""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass

import numpy as np

from softmax_mnist.study.results import Comparison, Summary, beyond, compare, differs, median_epoch

TIME_FLOOR = 0.10  # on a shared machine, time differences under 10% are not resolved


def gap(a: Summary, b: Summary, n_eval: int) -> tuple[float, float, bool]:
    """(b's mean validation accuracy minus a's, the rule's noise bound, whether the rule finds
    them apart): results.compare, paired by seed and by image."""
    c = compare(a, b, n_eval)
    return c.gain, c.noise, c.real


def time_ratio(a: dict, b: dict) -> tuple[float, float, bool]:
    """How much longer b's epochs take than a's (a fraction), the noise bound, and whether
    the difference is real: the noise rule on paired rounds.

    The epochs were interleaved, so round r of a and of b ran side by side: each round gives
    one paired difference b_r / a_r − 1. The rule: beyond two standard errors of their mean,
    the same sign in every round, and (a shared machine) at least TIME_FLOOR."""
    if a.get("times") and b.get("times") and len(a["times"]) == len(b["times"]):
        ratios = [y / x - 1 for x, y in zip(a["times"], b["times"])]
        mean = statistics.fmean(ratios)
        se = statistics.stdev(ratios) / math.sqrt(len(ratios)) if len(ratios) > 1 else math.inf
        return mean, max(TIME_FLOOR, 2 * se), beyond(mean, se, ratios) and abs(mean) >= TIME_FLOOR
    spread = max((x["q3"] - x["q1"]) / x["median"] for x in (a, b))
    rel = (b["median"] - a["median"]) / a["median"]
    tol = max(TIME_FLOOR, spread)
    return rel, tol, abs(rel) > tol


def step_fit(epoch: dict, n_train: int) -> tuple[float, float] | None:
    """The time of one training step t(B) = a + c B fitted over the batch sizes timed
    (``epoch``: batch -> {"median": seconds per epoch}): (a, c) in microseconds, the part of a
    step that does not grow with the batch and the cost per image. None for fewer than 5
    (a quick study's four sizes give too loose a line to speak of)."""
    sizes = sorted(epoch)
    if len(sizes) < 5:
        return None
    per_step = [epoch[b]["median"] / math.ceil(n_train / b) * 1e6 for b in sizes]
    per_image, fixed = np.polyfit(np.array(sizes, dtype=np.float64), np.array(per_step), 1)
    return float(fixed), float(per_image)


def confusions(cm, k: int = 3) -> list[tuple[int, int, int]]:
    """The ``k`` most frequent confusions of a confusion matrix: (true, predicted, count)."""
    off = np.array(cm, dtype=np.int64)
    np.fill_diagonal(off, 0)
    order = np.argsort(-off, axis=None, kind="stable")[:k]
    return [(int(i // off.shape[1]), int(i % off.shape[1]), int(off.flat[i])) for i in order
            if off.flat[i] > 0]


# ---- one comparison -------------------------------------------------------------------------


def direction(c: Comparison) -> str:
    """b against a by the rule on validation accuracy: "higher", "lower" or "same" (within
    noise)."""
    if not c.real:
        return "same"
    return "higher" if c.gain > 0 else "lower"


def loss_direction(c: Comparison) -> str:
    """b's final training loss against a's by the same rule: "lower", "higher" or "same"."""
    if not c.loss_real:
        return "same"
    return "lower" if c.loss_gain < 0 else "higher"


def loss_change(a: Summary, b: Summary, n_eval: int) -> str | None:
    """loss_direction of b against a, or None when either has no final training loss."""
    c = compare(a, b, n_eval)
    if c.loss_gain is None or not (math.isfinite(a.train_loss.mean) and math.isfinite(b.train_loss.mean)):
        return None
    return loss_direction(c)


def reach(epochs: list) -> tuple[float | None, int]:
    """(the median first epoch over seeds, None when a seed never got there; how many seeds
    got there)."""
    return median_epoch(epochs), sum(e is not None for e in epochs)


# ---- (a) curves -----------------------------------------------------------------------------


def running_gap(running: float | None, train: float, val: float) -> str | None:
    """Why the last epoch's running training accuracy sits below validation, if it does:
    "images" (part running average, part easier validation images: training accuracy
    measured after training is below validation too) or "running" (the running average
    alone)."""
    if running is None or running >= val:
        return None
    return "images" if train < val else "running"


def fit_gap(s: Summary) -> tuple[str, float]:
    """Training against validation accuracy after training: ("below", or "below_near_test"
    when test is closer to training than validation is; "slight" under 2 points above;
    "over"), and training minus validation."""
    tr, va = s.train_acc.mean, s.val_acc.mean
    te = s.test_acc.mean if s.test_acc.n else None
    if tr < va:  # no overfitting; the validation images are the easier ones here
        near_test = te is not None and abs(tr - te) < abs(va - te)
        return ("below_near_test" if near_test else "below"), tr - va
    return ("slight" if tr - va < 0.02 else "over"), tr - va


# ---- (b) momentum ---------------------------------------------------------------------------


def momentum_reading(control: Comparison, small: Comparison | None) -> str:
    """What the equal-effective-step controls mean (``control``: momentum against plain SGD
    at its effective step; ``small``: momentum at a small rate against plain SGD at the same
    effective step): "step" (both within noise: the effective step explains it all),
    "step_at_large" (only the first), "momentum_ahead", "momentum_lower"."""
    if not control.real:
        return "step" if small is None or not small.real else "step_at_large"
    return "momentum_ahead" if control.gain > 0 else "momentum_lower"


def large_step(mom: Summary, plain: Summary, n_val: int) -> tuple[str, str | None]:
    """One effective step: momentum 0.9 at lr η against plain SGD at η/(1−μ). (what
    happened: "plain_diverged", "momentum_diverged", "both_diverged" or "both_ok"; whether
    momentum is "ahead" or "behind" there, None when neither)."""
    if not plain.ok and mom.ok:
        return "plain_diverged", "ahead"
    if not mom.ok:
        return ("momentum_diverged", "behind") if plain.ok else ("both_diverged", None)
    way = direction(compare(plain, mom, n_val))
    return "both_ok", {"higher": "ahead", "lower": "behind"}.get(way)


def large_steps_outcome(pairs: list, n_val: int) -> str:
    """Over all effective steps: "own" (somewhere momentum is ahead), "behind" (nowhere ahead,
    somewhere behind), "none_stable" (within noise and nothing diverged), "none"."""
    ways = [large_step(m, p, n_val)[1] for m, p in pairs]
    if "ahead" in ways:
        return "own"
    if "behind" in ways:
        return "behind"
    return "none_stable" if all(m.ok and p.ok for m, p in pairs) else "none"


def effective_step(config: dict) -> float:
    """η/(1−μ): the step of plain SGD that momentum μ at rate η matches along a steady
    gradient."""
    return config["lr"] / (1 - config["momentum"])


def update_share(plain_update: float, mom_update: float, step: float) -> float | None:
    """Momentum's extra cost per update as a fraction of a whole training step; None under
    1%, too small to state."""
    share = (mom_update - plain_update) / step
    return share if share >= 0.01 else None


def time_direction(rel: float, real: bool) -> str:
    """The second setting's epochs against the first's: "slower", "faster" or "same"."""
    if not real:
        return "same"
    return "slower" if rel > 0 else "faster"


# ---- (c) learning rate and batch size -------------------------------------------------------


@dataclass(frozen=True)
class RateFindings:
    """What a learning-rate sweep shows (``good``: the rates that never diverged, by rate)."""

    top: Summary                 # the highest mean validation accuracy
    tied: list[Summary]          # within noise of top
    runner_up: Summary | None    # the next highest, when none is tied
    small: list[Summary]         # below top's rate and below it beyond noise
    rising: list[Summary]        # of small: still rising in the last epoch
    large_low: list[Summary]     # above top's rate, below it beyond noise
    large_diverged: list[Summary]
    stable_to_the_end: bool      # nothing too large, and the largest rate is top or tied


def rates(items: list[Summary], n_val: int) -> RateFindings | None:
    """Which rates are within noise of the highest mean, which too small or too large; None
    when every rate diverged."""
    items = sorted(items, key=lambda s: s.config["lr"])
    good = [s for s in items if s.ok]
    if not good:
        return None
    top = max(good, key=lambda s: s.val_acc.mean)
    tied = [s for s in good if s is not top and not differs(s, top, n_val)]
    runner_up = max((s for s in good if s is not top), key=lambda s: s.val_acc.mean, default=None)
    small = [s for s in good if s.config["lr"] < top.config["lr"] and s not in tied]
    large = [s for s in items if s.config["lr"] > top.config["lr"] and s not in tied]
    rising = [s for s in small if len(s.curves["val_acc"]) >= 2
              and s.curves["val_acc"][-1].mean > s.curves["val_acc"][-2].mean]
    return RateFindings(top, tied, None if tied else runner_up, small, rising,
                        [s for s in large if s.ok], [s for s in large if not s.ok],
                        not large and (good[-1] is top or good[-1] in tied))


def spread(items: list[Summary]) -> float:
    """The range of mean validation accuracy over ``items``."""
    return max(s.val_acc.mean for s in items) - min(s.val_acc.mean for s in items)


@dataclass(frozen=True)
class ScaledBatches:
    """The batch sizes trained with the rate scaled with the batch, against the fixed rate."""

    top: Summary           # the highest mean validation accuracy
    within: int            # how many of the other sizes are within noise of top
    others: int            # how many other sizes
    spread: float          # the range of mean validation accuracy
    narrower: bool         # the range is below the fixed rate's
    updates_explain: bool  # below half of it: the missing updates explain most of the gap


def scaled_batches(scaled: list[Summary], fixed_spread: float, n_val: int) -> ScaledBatches:
    top = max(scaled, key=lambda s: s.val_acc.mean)
    within = sum(1 for s in scaled if s is not top and not differs(s, top, n_val))
    scaled_spread = spread(scaled)
    return ScaledBatches(top, within, len(scaled) - 1, scaled_spread, scaled_spread < fixed_spread,
                         scaled_spread < fixed_spread / 2)


def rising_steadily(values: list[float]) -> bool:
    """Never falling, and the last above the first."""
    return all(x <= y for x, y in zip(values, values[1:])) and values[0] < values[-1]


# ---- the best setting, a user grid ----------------------------------------------------------


def ablation(full: Summary, rows: list[tuple[str, Summary]], n_val: int):
    """Each part switched off against the full setting: (the part whose removal costs the
    most and its comparison, or None without rows; the parts that earn their place, those
    within noise, those better removed)."""
    drops = [(name, compare(s, full, n_val)) for name, s in rows if s.ok]
    if not drops:
        return None, [], [], []
    worst = max(drops, key=lambda x: x[1].gain)
    ways = [(name, direction(c)) for name, c in drops]
    return (worst, [n for n, w in ways if w == "higher"], [n for n, w in ways if w == "same"],
            [n for n, w in ways if w == "lower"])


def grid(items: list[Summary], n_val: int):
    """A user grid: (the top setting, None when all diverged; the settings within its noise;
    the diverged ones)."""
    good = [s for s in items if s.ok]
    if not good:
        return None, [], []
    top = max(good, key=lambda s: s.val_acc.mean)
    tied = [s.setting for s in good if s is not top and not differs(s, top, n_val)]
    return top, tied, [s.setting for s in items if not s.ok]


# ---- the model ------------------------------------------------------------------------------


def correlation(a, b) -> float:
    return float(np.corrcoef(np.asarray(a, np.float64).ravel(), np.asarray(b, np.float64).ravel())[0, 1])


@dataclass(frozen=True)
class Templates:
    """What the columns of W hold against the classes' mean test images."""

    own: np.ndarray        # per class: correlation with its mean image
    contrast: np.ndarray   # per class: with its mean minus the other classes' mean
    empty: int             # classes whose most negative pixel has less ink than the others there
    classes: int
    zero_row: int          # the 0 template's most negative pixel, 1-based
    zero_col: int
    zero_ink: float        # a 0's mean ink there, as a fraction of full ink
    others_ink: float      # the other digits' there


def templates(W, class_means) -> Templates:
    W = np.asarray(W, np.float64)
    means = np.asarray(class_means, np.float64).reshape(len(class_means), -1)
    classes = W.shape[1]
    others = [np.delete(means, c, axis=0).mean(axis=0) for c in range(classes)]
    own = np.array([correlation(W[:, c], means[c]) for c in range(classes)])
    contrast = np.array([correlation(W[:, c], means[c] - others[c]) for c in range(classes)])
    lowest = [int(np.argmin(W[:, c])) for c in range(classes)]
    empty = sum(means[c, i] < others[c][i] for c, i in enumerate(lowest))
    full_ink = float(means.max()) or 1.0
    row, col = divmod(lowest[0], 28)
    return Templates(own, contrast, empty, classes, row + 1, col + 1,
                     means[0, lowest[0]] / full_ink, others[0][lowest[0]] / full_ink)


def background(W, class_means, W0) -> tuple[int, float, float] | None:
    """The pixels without ink in any mean image: (how many, the standard deviation of their
    weights, the mean over classes of the standard deviation of their change from ``W0``);
    None for fewer than two."""
    W = np.asarray(W, np.float64)
    means = np.asarray(class_means, np.float64).reshape(len(class_means), -1)
    blank = means.max(axis=0) == 0
    if blank.sum() < 2:
        return None
    change = W - np.asarray(W0, np.float64)
    within = float(np.mean([change[blank, c].std() for c in range(W.shape[1])]))
    return int(blank.sum()), float(W[blank].std()), within


def recalls(cm) -> tuple[np.ndarray, int, int]:
    """Recall per class, the hardest class and the easiest."""
    cm = np.asarray(cm)
    recall = np.diag(cm) / np.maximum(cm.sum(axis=1), 1)
    return recall, int(np.argmin(recall)), int(np.argmax(recall))


def mean_image_correlations(class_means, pairs) -> tuple[list[float], float]:
    """The correlation of the mean images of each (a, b, _) in ``pairs``, and the median over
    all pairs of classes."""
    means = np.asarray(class_means, np.float64).reshape(len(class_means), -1)
    r = np.corrcoef(means)
    every = [r[i, j] for i in range(len(means)) for j in range(i + 1, len(means))]
    return [r[a, b] for a, b, _ in pairs], float(np.median(every))


def mistakes(true, pred, prob) -> tuple[tuple[int, int], int, int] | None:
    """The most confident mistakes: (their most common (true, predicted) pair, how many
    have it, how many have the wrong class above 0.99); None without any."""
    true, pred, prob = np.asarray(true), np.asarray(pred), np.asarray(prob)
    if not len(true):
        return None
    common = statistics.multimode(zip(true.tolist(), pred.tolist()))[0]
    count = sum(1 for t, p in zip(true, pred) if (t, p) == common)
    return common, count, int((prob > 0.99).sum())
