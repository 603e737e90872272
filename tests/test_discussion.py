"""The report's sentences: the branches test_report does not reach (large steps, rates too large or stable
to the end, the ablation's three verdicts, a user grid, the batch paragraphs) give the
sentences pinned in discussion_pinned.json, written by the code before the phrasing moved
into tables."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from softmax_mnist.study.report import discussion
from softmax_mnist.study.results import Stat, Summary

N_VAL = 5000
BASE = {"epochs": 10, "batch_size": 100, "lr": 0.01, "momentum": 0.0, "nesterov": False}
PINNED = json.loads((Path(__file__).parent / "discussion_pinned.json").read_text(encoding="utf-8"))


def setting(finals, name="s", diverged=0, loss=0.3, **config):
    """A setting over len(finals) seeds (plus ``diverged`` seeds that diverged)."""
    n = len(finals)
    val = [Stat(tuple(f - 0.01 * (9 - e) for f in finals)) for e in range(10)]
    return Summary(setting=name, group="g", config={**BASE, **config},
                   seeds=tuple(range(n + diverged)), diverged=diverged,
                   val_acc=Stat(tuple(finals)), train_acc=Stat(tuple(f - 0.01 for f in finals)),
                   train_loss=Stat((loss,) * n), test_acc=Stat(tuple(f - 0.005 for f in finals)),
                   epochs_to={"0.92": [3] * n + [None] * diverged},
                   curves={"val_acc": val, "train_acc": [Stat(tuple(s.values)) for s in val]},
                   by_seed={i: (f, loss + 0.001 * i, None) for i, f in enumerate(finals)})


def large(lang):
    pairs = [(setting([0.93, 0.931, 0.932], lr=0.5, momentum=0.9),
              setting([0.9], diverged=2, lr=5.0)),
             (setting([0.90], diverged=2, lr=1.0, momentum=0.9),
              setting([0.92, 0.921, 0.922], lr=10.0))]
    plain = setting([0.919, 0.92, 0.921], "momentum-0")
    mom = setting([0.934, 0.935, 0.936], "momentum-0.9", momentum=0.9)
    return discussion.momentum_text(plain, mom, None, None, None, [0.92], N_VAL, lang, large=pairs)[1]


def rates_too_large(lang):
    items = [setting([0.90, 0.901, 0.902], lr=0.001), setting([0.925, 0.926, 0.927], lr=0.1),
             setting([0.91, 0.911, 0.912], lr=0.5), setting([0.5], diverged=2, lr=5.0)]
    return " ".join(discussion.lr_text(items, N_VAL, lang))


def rates_stable(lang):
    items = [setting([0.90, 0.901, 0.902], lr=0.01, momentum=0.9),
             setting([0.925, 0.926, 0.927], lr=0.1, momentum=0.9)]
    return " ".join(discussion.lr_text(items, N_VAL, lang))


def ablation(lang):
    full = setting([0.968, 0.969, 0.97], epochs=20)
    course = setting([0.93, 0.931, 0.932], momentum=0.9)
    short = setting([0.96, 0.961, 0.962], epochs=10)
    rows = [("deskew", setting([0.95, 0.951, 0.952])), ("blur", setting([0.968, 0.9695, 0.9698])),
            ("ink size", setting([0.975, 0.976, 0.977]))]
    return " ".join(discussion.ablation_text(full, rows, N_VAL, lang, course=course, short=short))


def grid(lang):
    items = [setting([0.92, 0.921, 0.922], "lr=0.1"), setting([0.9205, 0.921, 0.9215], "lr=0.05"),
             setting([0.9], "lr=5", diverged=2)]
    return " ".join(discussion.grid_text(items, N_VAL, lang))


def batch(lang):
    fixed = [setting([0.925, 0.926, 0.927], batch_size=10), setting([0.90, 0.901, 0.902], batch_size=1000)]
    scaled = [setting([0.925, 0.926, 0.927], batch_size=10, lr=0.001),
              setting([0.924, 0.925, 0.926], batch_size=1000, lr=0.1)]
    epoch = {b: {"median": 0.5 + 50 / b} for b in (10, 50, 100, 500, 1000)}
    heat = {10: 0.01, 100: 0.05, 1000: 0.5}
    return " ".join(discussion.batch_text(fixed, scaled, epoch, heat, 55000, N_VAL, lang))


CASES = {"large": large, "rates_too_large": rates_too_large, "rates_stable": rates_stable,
         "ablation": ablation, "grid": grid, "batch": batch}


@pytest.mark.parametrize("lang", ["zh", "en"])
@pytest.mark.parametrize("case", sorted(CASES))
def test_each_branch_says_what_it_said_before_the_tables(case, lang):
    assert CASES[case](lang) == PINNED[f"{case}.{lang}"]
