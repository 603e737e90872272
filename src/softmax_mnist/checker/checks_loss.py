"""The checks of loss.py (and that neither file uses a deep learning framework): construction,
the loss against the reference on batches of 100, 1 and 37 and for huge logits, the accuracy,
and the gradient against the reference and against central differences of the student's own
loss (core.gradcheck), with a hint for each usual mistake (a sum for the mean, N times, the sign)."""

from __future__ import annotations

import inspect
import math
from pathlib import Path

import numpy as np

from softmax_mnist.checker.cases import (
    SEED,
    CheckFailed,
    batch,
    call_forward,
    close,
    reference,
    weights,
)
from softmax_mnist.checker.folder import FRAMEWORKS, C, D, Student, framework_imports, local_imports
from softmax_mnist.core.gradcheck import central_differences


def check_framework(s: Student, ctx) -> str:
    for cls, filename in ((s.Loss, "loss.py"), (s.SGD, "optimizer.py")):
        try:
            source = str(Path(inspect.getsourcefile(cls) or "").resolve())
        except TypeError:  # a class without a source file (built in C)
            source = "compiled code"
        if source not in s.files:
            raise CheckFailed(f"{cls.__name__} in {filename} is not defined in your folder: it comes "
                              f"from {source}",
                              "the check compares your own implementation with this package's; "
                              f"write the class in {filename}")
    files = [s.folder / "loss.py", s.folder / "optimizer.py"]
    found = []
    for path in local_imports(files, s.folder):
        for name, line in framework_imports(path):
            found.append(f"{path.name} line {line}: import {name}")
    at_import = [f"{top} (from {where})" for top, where in s.blocker.seen.items()]
    loaded = sorted({m.partition(".")[0] for m in s.new_modules} & set(FRAMEWORKS))
    if found or at_import or loaded:
        parts = []
        if found:
            parts.append("in the source: " + "; ".join(found))
        if at_import:
            parts.append("when importing: " + ", ".join(at_import))
        raise CheckFailed(
            "a deep learning framework is imported: " + " | ".join(parts),
            "the course asks for NumPy only: remove the import and write the forward pass, the "
            "gradient and the update with NumPy arrays (the checker ran the rest without it)")
    extra = sorted({m.partition(".")[0] for m in s.new_modules} - {"loss", "optimizer"})
    shown = ", ".join(extra[:6]) + (", ..." if len(extra) > 6 else "") if extra else "nothing else"
    return ("none in the source of loss.py, optimizer.py or their local imports; importing them "
            f"loaded {shown}")


def check_construction(s: Student, ctx) -> str:
    model = s.Loss(D, C)
    problems = []
    for name, shape in (("W", (D, C)), ("b", (1, C))):
        value = getattr(model, name, None)
        if value is None:
            raise CheckFailed(f"SoftmaxCrossEntropyLoss(784, 10) has no attribute {name}",
                              f"set self.{name} in __init__ (the course's XavierInit does it)")
        arr = np.asarray(value)
        if arr.shape != shape:
            problems.append(f"{name} has shape {arr.shape}, not {shape}")
        if not np.issubdtype(arr.dtype, np.floating):
            problems.append(f"{name} has dtype {arr.dtype}, not a float type")
        elif not np.isfinite(arr).all():
            problems.append(f"{name} has non-finite values")
        elif not np.any(arr):
            problems.append(f"{name} is all zero")
    frozen = s.Loss(D, C, False)
    if getattr(model, "trainable", None) is not True or getattr(frozen, "trainable", None) is not False:
        problems.append("`trainable` is not kept as given (True by default, False when passed False)")
    if problems:
        raise CheckFailed("; ".join(problems),
                          "in __init__: W = random normal of shape (num_input, num_output), b of shape "
                          "(1, num_output), float; keep self.trainable = trainable")
    W, b = np.asarray(model.W), np.asarray(model.b)
    return (f"W {W.shape} {W.dtype}, b {b.shape} {b.dtype}, finite, not all zero "
            f"(std {W.std():.3f}); trainable kept")


def _loss_against_reference(s: Student, n: int, b_offset: float = 0.0, seed: int = 0):
    rng = np.random.default_rng(SEED + seed)
    W, b = weights(rng)
    x, y = batch(rng, n, W, b)
    b = b + b_offset
    got, _ = call_forward(s.loss(W, b), x, y)
    want, _ = call_forward(reference(W, b), x, y)
    return got, want


def _loss_hint(got, want, n):
    if close(got, want * n, rtol=1e-5):
        return "it is the sum over the batch: the loss is the mean, divide by N (the batch size)"
    if close(got, -want, rtol=1e-5):
        return "wrong sign: the loss is minus the mean log-probability of the true class"
    return ("the loss is -mean_i log softmax(x_i W + b)[label_i], labels integers of shape (N,); "
            "check the softmax's axis (1: over classes) and that W, b are used as given")


def check_forward(s: Student, ctx) -> str:
    got, want = _loss_against_reference(s, 100)
    if not close(got, want):
        raise CheckFailed(f"loss {got:.6g} on a batch of 100, the reference gives {want:.6g} "
                          "(same W, b and batch)", _loss_hint(got, want, 100))
    return f"loss {got:.6f} on a batch of 100 = the reference's"


def check_forward_overflow(s: Student, ctx) -> str:
    lines = []
    for offset in (1000.0, -1000.0):
        got, want = _loss_against_reference(s, 20, offset, seed=1)
        if not close(got, want, rtol=1e-5):
            nonfinite = not math.isfinite(got)
            raise CheckFailed(
                f"loss {got:.6g} for logits near {offset:+g}, the reference gives {want:.6g} "
                "(adding the same number to every logit of a row changes no probability)",
                "exp overflows (or underflows to 0/0) when the logits are large: subtract each row's "
                "max logit before exp, z - z.max(axis=1, keepdims=True); softmax does not change"
                if nonfinite else _loss_hint(got, want, 20))
        lines.append(f"{got:.4f}")
    return f"loss finite and right for logits near +1000 and -1000 ({', '.join(lines)})"


def check_forward_one(s: Student, ctx) -> str:
    got, want = _loss_against_reference(s, 1, seed=2)
    if not close(got, want):
        raise CheckFailed(f"loss {got:.6g} on a batch of one sample, the reference gives {want:.6g}",
                          "keep the batch axis: Input is (1, 784), logits (1, 10); no squeeze, "
                          "sums over axis=1 with keepdims=True")
    return f"loss {got:.6f} on a batch of 1 = the reference's"


def check_forward_odd(s: Student, ctx) -> str:
    got, want = _loss_against_reference(s, 37, seed=3)
    if not close(got, want):
        raise CheckFailed(f"loss {got:.6g} on a batch of 37 (the last batch when the batch size does "
                          f"not divide the data), the reference gives {want:.6g}",
                          "take N from the input, N = Input.shape[0], not from a fixed batch size")
    return f"loss {got:.6f} on a batch of 37 = the reference's"


def check_accuracy(s: Student, ctx) -> str:
    shown = []
    for i, n in enumerate((100, 37, 1)):
        rng = np.random.default_rng(SEED + 10 + i)
        W, b = weights(rng)
        x, y = batch(rng, n, W, b)
        _, got = call_forward(s.loss(W, b), x, y)
        _, want = call_forward(reference(W, b), x, y)
        if not close(got, want, rtol=0, atol=1e-9):
            if close(got, want * n, rtol=0, atol=1e-6) and n > 1:
                hint = "that is a count: the accuracy is the fraction of the batch, divide by N"
            elif close(got, want * 100, rtol=0, atol=1e-6):
                hint = "that is a percentage: return the fraction in [0, 1]"
            else:
                hint = ("labels are integers of shape (N,), not one-hot: compare "
                        "scores.argmax(axis=1) with labels itself and take the mean")
            raise CheckFailed(f"accuracy {got:.6g} on a batch of {n}, the reference gives {want:.6g}", hint)
        shown.append(f"{got:.2f}")
    return f"accuracy right on batches of 100, 37 and 1 ({', '.join(shown)})"


def _gradients(model):
    gW = getattr(model, "grad_W", None)
    gb = getattr(model, "grad_b", None)
    if gW is None or gb is None:
        raise CheckFailed("after gradient_computing() there is no "
                          + " and no ".join(n for n, g in (("grad_W", gW), ("grad_b", gb)) if g is None),
                          "gradient_computing must set self.grad_W and self.grad_b")
    return np.asarray(gW, dtype=np.float64), np.asarray(gb, dtype=np.float64)


def check_gradient_shapes(s: Student, ctx) -> str:
    rng = np.random.default_rng(SEED + 20)
    W, b = weights(rng)
    x, y = batch(rng, 100, W, b)
    model = s.loss(W, b)
    call_forward(model, x, y)
    model.gradient_computing()
    gW, gb = _gradients(model)
    problems = [f"{n} has shape {g.shape}, not {want}" for n, g, want in
                (("grad_W", gW, (D, C)), ("grad_b", gb, (1, C))) if g.shape != want]
    if problems:
        hint = "grad_W = Input.T @ dlogits (784, 10); grad_b = dlogits.sum(axis=0, keepdims=True) (1, 10)"
        if gb.shape == (C,):
            hint = "keep the row axis of grad_b: dlogits.sum(axis=0, keepdims=True) is (1, 10), like b"
        elif gb.ndim == 2 and gb.shape[1] == C and gb.shape[0] > 1:
            hint = "grad_b still has one row per sample: sum over the batch, axis=0, keepdims=True"
        raise CheckFailed("; ".join(problems), hint)
    return "grad_W (784, 10) and grad_b (1, 10)"


def _scale(got, want):
    """The number k with got ~ k * want, and the relative error left after it."""
    k = float((got * want).sum() / max((want * want).sum(), 1e-300))
    rest = float(np.linalg.norm(got - k * want) / max(np.linalg.norm(k * want), 1e-300))
    return k, rest


def _rel(got, want):
    return float(np.linalg.norm(got - want) / max(np.linalg.norm(want), 1e-300))


def _numerical(model, x, y, W, b, entries):
    """Central differences (float64, h = 1e-5) of the model's own loss at W, b entries."""
    Wh, bh = W.copy(), b.copy()

    def loss() -> float:
        model.W, model.b = Wh.copy(), bh.copy()  # a fresh pair: a forward may keep or change them
        return call_forward(model, x, y)[0]

    num = central_differences(loss, [(Wh if which == "W" else bh, idx) for which, idx in entries])
    model.W, model.b = W.copy(), b.copy()
    return num


def check_gradient(s: Student, ctx) -> str:
    errors = []
    for i, n in enumerate((100, 37)):
        rng = np.random.default_rng(SEED + 30 + i)
        W, b = weights(rng)
        x, y = batch(rng, n, W, b)
        model = s.loss(W, b)
        call_forward(model, x, y)
        model.gradient_computing()
        gW, gb = _gradients(model)
        ref = reference(W, b)
        call_forward(ref, x, y)
        ref.gradient_computing()
        rW, rb = np.asarray(ref.grad_W), np.asarray(ref.grad_b)
        if gW.size != rW.size or gb.size != rb.size:
            raise CheckFailed(f"grad_W has {gW.size} numbers and grad_b {gb.size}; they should have "
                              f"{rW.size} and {rb.size} (shapes (784, 10), (1, 10))",
                              "see the gradient-shapes check")
        gW, gb = gW.reshape(rW.shape), gb.reshape(rb.shape)
        got, want = np.concatenate([gW.ravel(), gb.ravel()]), np.concatenate([rW.ravel(), rb.ravel()])
        # the same entries, by central differences of the student's own loss
        picks = rng.choice(D * C, 12, replace=False)
        entries = [("W", np.unravel_index(p, (D, C))) for p in picks] + [("b", (0, c)) for c in range(C)]
        num = _numerical(model, x, y, W, b, entries)
        ana = np.array([(gW if w == "W" else gb)[idx] for w, idx in entries])
        err_ref, err_num = _rel(got, want), _rel(ana, num)
        errors.append((n, err_ref, err_num))
        if err_ref <= 1e-5 and err_num <= 1e-4:
            continue
        k, rest = _scale(got, want)
        what = f"for a batch of {n}: "
        if rest < 1e-5 and abs(k - 1) > 1e-3:
            if abs(k - n) < 1e-3 * n:
                raise CheckFailed(what + f"the gradients are {k:.4g} = N times the reference's "
                                  f"(and {_scale(ana, num)[0]:.4g}x the central differences of your loss)",
                                  "the loss is the mean over the batch, so its gradient is too: divide "
                                  "grad_W and grad_b by N = Input.shape[0]")
            if abs(k - n / 100) < 1e-6 and n != 100:
                raise CheckFailed(what + f"the gradients are {k:.4g} = {n}/100 times the reference's",
                                  "divide by the batch's own size N = Input.shape[0], not by a fixed 100")
            if abs(k * n - 1) < 1e-3:
                raise CheckFailed(what + f"the gradients are 1/N = {k:.4g} times the reference's",
                                  "you divide by N twice (dlogits already holds the 1/N of the mean)")
            if abs(k + 1) < 1e-3:
                raise CheckFailed(what + "the gradients have the wrong sign",
                                  "d loss / d logits = softmax - onehot(labels), not onehot - softmax")
            raise CheckFailed(what + f"the gradients are {k:.4g} times the reference's", "")
        bad, err = ("grad_W", _rel(gW, rW)) if _rel(gW, rW) > 1e-5 else ("grad_b", _rel(gb, rb))
        raise CheckFailed(
            what + f"{bad} differs from the reference (relative error {err:.2g}); "
            f"against central differences of your own loss: {err_num:.2g}",
            "dlogits = (softmax - onehot(labels)) / N; grad_W = Input.T @ dlogits; "
            "grad_b = dlogits.sum(axis=0, keepdims=True); use the Input and W of the last forward")
    worst_ref = max(e[1] for e in errors)
    worst_num = max(e[2] for e in errors)
    return (f"= the reference (relative error {worst_ref:.1g}) and central differences in float64 "
            f"({worst_num:.1g}), batches of 100 and 37")


