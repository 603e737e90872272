"""The checks that run the whole course iteration: vectorised (time per minibatch against the
reference, and no Python line run once per sample) and train (one epoch of MNIST, the student's
classes and the reference on the same batches, the same validation accuracy within a margin)."""

from __future__ import annotations

import sys
import time
from collections import Counter
from pathlib import Path
from types import SimpleNamespace

import numpy as np

from softmax_mnist.checker.cases import SEED, CheckFailed, DataProblem, batch, reference, weights
from softmax_mnist.checker.folder import C, D, Student, source_line
from softmax_mnist.checker.learner import CourseLearner
from softmax_mnist.core.functional import init_std
from softmax_mnist.core.loop import train
from softmax_mnist.core.optimizer import Setting
from softmax_mnist.course.optimizer import SGD as RefSGD


def _count_lines(fn, files):
    """How often each line of the student's files ran during ``fn()``."""
    counts: Counter = Counter()

    def local(frame, event, arg):
        if event == "line":
            counts[(frame.f_code.co_filename, frame.f_lineno)] += 1
        return local

    def top(frame, event, arg):
        return local if frame.f_code.co_filename in files else None

    sys.settrace(top)
    try:
        fn()
    finally:
        sys.settrace(None)
    return counts


def _iteration(model, opt, x, y):
    def run():
        model.forward(x, y)
        model.gradient_computing()
        opt.step()
    return run


VECTOR_BOUND = 20.0  # fail past this many times the reference's time per minibatch of 1000


def check_vectorised(s: Student, ctx) -> str:
    rng = np.random.default_rng(SEED + 50)
    W, b = weights(rng)
    data = {n: batch(rng, n, W, b) for n in (16, 48, 100, 1000)}
    model = s.loss(W, b)
    opt = s.SGD(model, 1e-4, 0.9)
    c1 = _count_lines(_iteration(model, opt, *data[16]), s.files)
    c2 = _count_lines(_iteration(model, opt, *data[48]), s.files)
    per_sample = sorted(k for k in c2 if c2[k] - c1.get(k, 0) >= 48 - 16)
    ref = reference(W, b)
    ref_opt = RefSGD(ref, 1e-4, 0.9)
    times = {}
    budget = time.perf_counter() + 6.0
    for n in (100, 1000):
        x, y = data[n]
        runs = {"student": _iteration(model, opt, x, y), "reference": _iteration(ref, ref_opt, x, y)}
        samples = {k: [] for k in runs}
        for r in range(9):  # interleaved, medians: the machine's load hits both alike
            for k, run in runs.items():
                t = time.perf_counter()
                run()
                samples[k].append(time.perf_counter() - t)
            if r >= 2 and time.perf_counter() > budget:
                break
        times[n] = {k: float(np.median(v)) for k, v in samples.items()}
    ratio = times[1000]["student"] / times[1000]["reference"]
    growth = times[1000]["student"] / times[100]["student"]
    ref_growth = times[1000]["reference"] / times[100]["reference"]
    measured = (f"{ratio:.1f}x the reference's time per minibatch of 1000 "
                f"({times[1000]['student'] * 1e3:.2f} ms vs {times[1000]['reference'] * 1e3:.2f} ms); "
                f"100 -> 1000 samples: {growth:.1f}x longer (reference {ref_growth:.1f}x)")
    ctx["vectorised"] = {"ratio": ratio, "growth": growth, "reference_growth": ref_growth,
                         "ms": {str(n): {k: v * 1e3 for k, v in t.items()} for n, t in times.items()}}
    if per_sample:
        filename, line = per_sample[0]
        where = f"{Path(filename).name} line {line}"
        code = source_line(where, s.folder)
        raise CheckFailed(f"a Python loop over samples: {where} ({code}) ran {c2[per_sample[0]]} times "
                          f"for a batch of 48, {c1.get(per_sample[0], 0)} for 16; {measured}",
                          "do the whole batch at once: logits = Input @ W + b, (N, 10) arrays, "
                          "grad_W = Input.T @ dlogits; no loop over the rows")
    if ratio > VECTOR_BOUND:
        raise CheckFailed(f"{measured}; the bound is {VECTOR_BOUND:g}x",
                          "look for work done per sample or repeated per call (np.eye, copies, "
                          "np.einsum without optimize); matrix products do the batch at once")
    return measured


# ---- training: the course's loop with the student's classes on real MNIST -------------------


TRAIN = {"epochs": 1, "batch_size": 100, "learning_rate": 0.01, "momentum": 0.9, "margin": 0.01}


def check_train(s: Student, ctx) -> str:
    from softmax_mnist.core.data import load_raw, preprocess, split_at
    from softmax_mnist.errors import SoftmaxMnistError

    try:
        images, labels = load_raw(ctx["data_dir"], "train")
    except (SoftmaxMnistError, OSError, EOFError) as e:  # the data, not the student's code
        raise DataProblem(str(e)) from None
    x = preprocess(images, "course")
    del images
    cut = split_at(len(x))
    x_train, y_train, x_val, y_val = x[:cut], labels[:cut], x[cut:], labels[cut:]
    rng = np.random.default_rng(SEED + 60)
    std = init_std(D, C)  # the course's init
    W0, b0 = rng.normal(0, std, (D, C)), rng.normal(0, std, (1, C))
    lr, mu, bs = TRAIN["learning_rate"], TRAIN["momentum"], TRAIN["batch_size"]
    model, ref = s.loss(W0, b0), reference(W0, b0)
    opt, ref_opt = s.SGD(model, lr, mu), RefSGD(ref, lr, mu)
    # the course's loop (core.loop.train), both models on the same batches, in float64
    learner = CourseLearner([(model, opt), (ref, ref_opt)], [Setting(lr, mu)] * 2, dtype=np.float64,
                            keep_going=True)
    train(learner, SimpleNamespace(x_train=x_train, y_train=y_train), TRAIN["epochs"], bs, rng)
    first_bad = learner.first_bad[0]

    def val_acc(Wm, bm):
        Wm, bm = np.asarray(Wm, np.float64), np.asarray(bm, np.float64).reshape(1, C)
        logits = x_val.astype(np.float64) @ Wm + bm
        return float(np.mean(logits.argmax(axis=1) == y_val))

    got, want = val_acc(model.W, model.b), val_acc(ref.W, ref.b)
    ctx["train"] = {"val_acc": got, "reference_val_acc": want, **TRAIN}
    setting = (f"{TRAIN['epochs']} epoch of 55,000 images, batch {bs}, lr {lr}, momentum {mu}, "
               "same start and batches as the reference")
    if not got >= want - TRAIN["margin"]:
        nan = f"; the loss was not finite from iteration {first_bad}" if first_bad else ""
        raise CheckFailed(f"validation accuracy {got:.4f}, the reference reaches {want:.4f} "
                          f"(margin {TRAIN['margin']}) after {setting}{nan}",
                          "the checks above say where forward, the gradient or the update differ")
    return f"validation accuracy {got:.4f} (reference {want:.4f}) after {setting}"


