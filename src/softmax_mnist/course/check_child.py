"""The child process of ``softmax-mnist check``: it imports a student's loss.py and optimizer.py
and runs the checks on them, reporting one JSON line per event to the parent (check.py).

    python -X utf8 -m softmax_mnist.course.check_child      (the spec as one JSON line on stdin)

Spec: {"key", "folder", "data_dir", "checks": [names], "broken": {method: why}, "memory_mb",
"max_processes", "limits": {name: seconds}, "dump": a file for tracebacks (Dumps), "late": seconds}.
Events, each with the spec's "key": {"event": "limits", "memory": "rlimit" | "none"}, {"event":
"ready"}, {"event": "start", "check"}, {"event": "result", "check", "passed", "message", "hint",
"seconds", "broken", "frameworks"}, {"event": "where", "check", "where", "why"}, {"event": "fatal",
"error", "data"}. The events go to this process's own stdout, kept as a private copy (``channel``);
file descriptor 1 itself then points at stderr and 0 at the null device, so whatever the student's
code prints (Python or C) lands on stderr and ``input()`` ends at once.

Nothing here is POSIX-only. Time limits are a watchdog thread (``Watchdog``): at the limit it
raises CheckTimeout in the main thread between two bytecodes, as a signal handler would, so an
endless Python loop is stopped where it is and the line is named; it also tells the parent
where the student's code was, for when even that does not come back and the parent ends the
process. The memory limit is RLIMIT_AS where the system enforces it (probed, not assumed);
elsewhere the parent's watchdog measures the process tree and this process says where it was
when it neared the limit.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.util
import inspect
import json
import math
import os
import sys
import threading
import time
import traceback
import types
from collections import Counter
from pathlib import Path

# everything the checks need is imported before the student's folder goes on sys.path, so a
# file of theirs named like a library cannot shadow it
import numpy as np

from softmax_mnist.core.gradcheck import central_differences
from softmax_mnist.core.model import SoftmaxRegression
from softmax_mnist.course.check import (
    CHECKS,
    FRAMEWORKS,
    MEMORY_HINT,
    framework_imports,
    local_imports,
    read_source,
)
from softmax_mnist.course.loss import SoftmaxCrossEntropyLoss as RefLoss
from softmax_mnist.course.optimizer import SGD as RefSGD

D, C = 784, 10
SEED = 20240613


class CheckTimeout(BaseException):
    """Raised in the student's code at a time limit (Watchdog); BaseException so `except
    Exception` keeps it. ``seconds``: the limit (the watchdog raises a subclass that holds it)."""

    seconds: float = 0.0


class DataProblem(Exception):
    """The MNIST files cannot be read: the check cannot run, for any student (exit status 2)."""


class CheckFailed(Exception):
    """A check's verdict: ``message`` says what is wrong, ``hint`` how to fix it."""

    def __init__(self, message: str, hint: str = ""):
        super().__init__(message)
        self.message, self.hint = message, hint


# ---- the student's code: import, frameworks blocked, course files supplied ------------------


class _Stub(types.ModuleType):
    """What ``import torch`` gives inside the checker: an empty module that says why."""

    def __getattr__(self, attr):
        if attr.startswith("__"):
            raise AttributeError(attr)
        top = self.__name__.partition(".")[0]
        raise AttributeError(f"{self.__name__}.{attr}: {top} is not available inside softmax-mnist "
                             "check (the course's loss.py and optimizer.py use NumPy only)")


class _StubLoader(importlib.abc.Loader):
    def create_module(self, spec):
        return _Stub(spec.name)

    def exec_module(self, module):
        pass


class FrameworkBlocker(importlib.abc.MetaPathFinder):
    """First on sys.meta_path: records every import of a deep learning framework (and where it
    came from) and hands back an empty stand-in instead of loading it, so the other checks still
    tell whether the rest works, and a 1 GB library never loads under the memory limit."""

    def __init__(self, student_files: set[str]):
        self.student_files = student_files
        self.seen: dict[str, str] = {}  # top-level name -> "loss.py line 3"

    def find_spec(self, fullname, path=None, target=None):
        top = fullname.partition(".")[0]
        if top not in FRAMEWORKS:
            return None
        self.seen.setdefault(top, _student_location(self.student_files) or "an import")
        return importlib.util.spec_from_loader(fullname, _StubLoader(), is_package=True)


# The course's other files, for a student's import of them when the folder lacks them: minimal
# names over this package, loaded only when asked for (last on sys.meta_path, so the folder's own
# files and installed packages come first).
COURSE_SHIMS = {
    "dataloader": ("softmax_mnist.course.dataloader", ("Dataset", "DataLoader", "build_dataloader")),
    "visualize": ("softmax_mnist.course.visualize", ("plot_loss_and_acc",)),
    "solver": ("softmax_mnist.course.solver", ("Solver",)),
}


class _ShimLoader(importlib.abc.Loader):
    def create_module(self, spec):
        return None

    def exec_module(self, module):
        source, names = COURSE_SHIMS[module.__name__]

        def __getattr__(attr):  # import the real module only when a name is used
            if attr in names:
                return getattr(importlib.import_module(source), attr)
            raise AttributeError(f"module {module.__name__!r} (the checker's stand-in) has no {attr!r}")

        module.__getattr__ = __getattr__
        module.__all__ = list(names)


class CourseShims(importlib.abc.MetaPathFinder):
    def find_spec(self, fullname, path=None, target=None):
        if fullname in COURSE_SHIMS:
            return importlib.util.spec_from_loader(fullname, _ShimLoader())
        return None


def _student_location(files: set[str], tb=None) -> str | None:
    """'loss.py line 12' of the innermost frame in the student's files (of ``tb`` or the stack)."""
    if tb is not None:
        frames = [(f.filename, f.lineno) for f in traceback.extract_tb(tb)]
    else:
        frames = [(f.filename, f.lineno) for f in reversed(traceback.extract_stack())]
    for filename, lineno in reversed(frames) if tb is not None else frames:
        if filename in files:
            return f"{Path(filename).name} line {lineno}"
    return None


def _outer_student_function(files: set[str], tb) -> str | None:
    """The student's method the checker called (outermost student frame) in traceback ``tb``."""
    for f in traceback.extract_tb(tb):
        if f.filename in files:
            return f.name
    return None


def _source_line(location: str | None, folder: Path) -> str:
    if not location:
        return ""
    name, _, line = location.partition(" line ")
    try:
        text = read_source(folder / name, strict=False).splitlines()[int(line) - 1]
    except (OSError, IndexError, ValueError):
        return ""
    return text.strip()


class Student:
    """The student's two classes, imported from ``folder`` with frameworks blocked."""

    def __init__(self, folder: Path):
        self.folder = folder.resolve()
        self.files = {str(p) for p in self.folder.glob("*.py")}
        self.blocker = FrameworkBlocker(self.files)
        sys.meta_path.insert(0, self.blocker)
        sys.meta_path.append(CourseShims())
        sys.path.insert(0, str(self.folder))
        before = set(sys.modules)
        self.loss_module = self._import("loss")
        self.optimizer_module = self._import("optimizer")
        self.new_modules = sorted(set(sys.modules) - before)
        self.Loss = self._class(self.loss_module, "SoftmaxCrossEntropyLoss", "loss.py")
        self.SGD = self._class(self.optimizer_module, "SGD", "optimizer.py")

    def _import(self, name):
        module = importlib.import_module(name)
        where = Path(getattr(module, "__file__", "") or "").resolve()
        if where != self.folder / f"{name}.py":
            raise ImportError(f"`import {name}` found {where}, not {self.folder / f'{name}.py'}")
        return module

    @staticmethod
    def _class(module, name, filename):
        cls = getattr(module, name, None)
        if not isinstance(cls, type):
            raise LookupError(f"{filename} has no class {name} (the course's name for it)")
        return cls

    def loss(self, W=None, b=None, trainable=True):
        """A student's SoftmaxCrossEntropyLoss(784, 10), with W and b set to copies when given."""
        model = self.Loss(D, C, trainable) if trainable is not True else self.Loss(D, C)
        if W is not None:
            model.W = W.copy()
            model.b = b.copy()
        return model


def describe_error(e: BaseException, student: Student, limits_mb: int) -> tuple[str, str]:
    """(message, hint) for an exception out of the student's code."""
    where = _student_location(student.files, e.__traceback__)
    fn = _outer_student_function(student.files, e.__traceback__)
    code = _source_line(where, student.folder)
    at = f" at {where}" + (f" ({code})" if code else "") if where else ""
    in_fn = f"{fn}() " if fn else ""
    if isinstance(e, CheckTimeout):
        return (f"{in_fn}did not finish within {e.seconds:g} s" + (f"; it was running{at}" if at else ""),
                "an endless loop? look at the loop around that line: does its condition ever change? "
                "(or code far slower than the reference: see the vectorised check)")
    if isinstance(e, MemoryError):
        return f"{in_fn}ran out of memory (the limit is {limits_mb} MB){at}: {e}", MEMORY_HINT
    if where is None:  # raised in the checker, on something the student's code returned
        return (f"checking what your code returned failed: {type(e).__name__}: {e}",
                "see the shapes and types the course asks for: forward -> (loss, acc); "
                "grad_W (784, 10), grad_b (1, 10)")
    return (f"{in_fn}raised {type(e).__name__}: {e}{at}",
            "call your class on a small batch yourself to see the whole traceback, e.g. "
            "m = SoftmaxCrossEntropyLoss(784, 10); m.forward(x, y); m.gradient_computing()")


# ---- reference and data ---------------------------------------------------------------------


def reference(W, b):
    """This package's SoftmaxCrossEntropyLoss, in float64, holding copies of W and b."""
    ref = RefLoss(D, C)
    ref.core = SoftmaxRegression(D, C, dtype=np.float64)
    ref.W, ref.b = W, b
    return ref


def weights(rng, scale=0.05):
    return rng.normal(0.0, scale, (D, C)), rng.normal(0.0, scale, (1, C))


def batch(rng, n, W, b, noise=1.0):
    """n course-like inputs (row mean 0) and labels that the weights get right fairly often."""
    x = rng.random((n, D))
    x -= x.mean(axis=1, keepdims=True)
    y = (x @ W + b + rng.normal(0.0, noise * 0.3, (n, C))).argmax(axis=1).astype(np.int64)
    return x, y


def call_forward(model, x, y):
    out = model.forward(x.copy(), y.copy())
    if not isinstance(out, (tuple, list)) or len(out) != 2:
        raise CheckFailed(f"forward returned {type(out).__name__}, not the pair (loss, acc)",
                          "end forward with `return loss, acc`")
    loss, acc = out
    return float(np.asarray(loss, dtype=np.float64).reshape(())), \
        float(np.asarray(acc, dtype=np.float64).reshape(()))


def close(a: float, b: float, rtol=1e-6, atol=1e-9) -> bool:
    return math.isfinite(a) and abs(a - b) <= atol + rtol * abs(b)


# ---- the checks: each returns a one-line message on success or raises CheckFailed -----------


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


# ---- SGD: on a plain layer object, so optimizer.py is checked apart from loss.py ------------


class Layer:
    """What the course's SGD sees of the model: W, b, grad_W, grad_b, trainable."""

    def __init__(self, W, b, trainable=True):
        self.W, self.b = W.copy(), b.copy()
        self.grad_W, self.grad_b = np.zeros_like(W), np.zeros_like(b)
        self.trainable = trainable
        self.num_input, self.num_output = W.shape


class _Holder:  # the reference SGD's view: params and grads dicts
    def __init__(self, W, b):
        self.params = {"W": W.copy(), "b": b.copy()}
        self.grads = {"W": np.zeros_like(W), "b": np.zeros_like(b)}


def _run_student_sgd(s, lr, mu, W, b, grads, trainable=True):
    layer = Layer(W, b, trainable)
    opt = s.SGD(layer, lr, mu)
    out = []
    for gW, gb in grads:
        layer.grad_W, layer.grad_b = gW.copy(), gb.copy()
        opt.step()
        out.append((np.array(layer.W, dtype=np.float64), np.array(layer.b, dtype=np.float64)))
    return out


def _run_reference_sgd(lr, mu, W, b, grads):
    h = _Holder(W, b)
    opt = RefSGD(h, lr, mu)
    out = []
    for gW, gb in grads:
        h.grads["W"][...], h.grads["b"][...] = gW, gb
        opt.step()
        out.append((h.params["W"].copy(), h.params["b"].copy()))
    return out


def _simulate(rule, lr, mu, w, gs):
    """Trajectory of one parameter under a (possibly wrong) update rule, for the hints."""
    w, v, out = w.copy(), np.zeros_like(w), []
    for g in gs:
        if rule == "reset":
            w = w - lr * g
        elif rule == "sign":
            v = mu * v + lr * g
            w = w + v
        elif rule == "sign-momentum":
            v = -mu * v - lr * g
            w = w + v
        elif rule == "on-gradient":
            w = w + (mu * g - lr * g)
        elif rule == "on-gradient-scaled":
            w = w - lr * mu * g
        elif rule == "dampened":
            v = mu * v + (1 - mu) * g
            w = w - lr * v
        elif rule == "nesterov":
            v = mu * v - lr * g
            w = w + mu * v - lr * g
        out.append(w.copy())
    return out


MOMENTUM_HINTS = {
    "reset": "the steps are plain SGD: the velocity starts from zero in every step() (or momentum is "
             "not used); keep it on self, made once in __init__, and update it in place each step",
    "sign": "the weights move uphill: the velocity is v <- mu v - lr grad (minus lr grad), then w <- w + v",
    "sign-momentum": "the momentum term's sign is flipped: v <- mu v - lr grad, with +mu v",
    "on-gradient": "momentum multiplies the gradient instead of the previous velocity: keep v between "
                   "steps and use v <- mu v - lr grad, w <- w + v",
    "on-gradient-scaled": "momentum multiplies the gradient instead of the previous velocity: keep v "
                          "between steps and use v <- mu v - lr grad, w <- w + v",
    "dampened": "that is the dampened average v <- mu v + (1 - mu) grad; the course's momentum is "
                "v <- mu v - lr grad, w <- w + v, without the (1 - mu)",
    "nesterov": "that is Nesterov's look-ahead; the course's momentum is heavy ball: w <- w + v",
}


def _same(a, b):
    return np.allclose(a, b, rtol=1e-6, atol=1e-9)


def _sgd_setup(seed, steps):
    rng = np.random.default_rng(SEED + seed)
    W, b = rng.normal(0, 0.1, (D, C)), rng.normal(0, 0.1, (1, C))
    grads = [(rng.normal(0, 1, (D, C)), rng.normal(0, 1, (1, C))) for _ in range(steps)]
    return W, b, grads


def check_sgd(s: Student, ctx) -> str:
    lr = 0.1
    W, b, grads = _sgd_setup(40, 3)
    got = _run_student_sgd(s, lr, 0.0, W, b, grads)
    want = _run_reference_sgd(lr, 0.0, W, b, grads)
    for k, ((gw, gb), (rw, rb)) in enumerate(zip(got, want), start=1):
        for name, g, r, w0, grad in (("W", gw, rw, W, [x[0] for x in grads]),
                                     ("b", gb, rb, b, [x[1] for x in grads])):
            if g.shape != r.shape or not _same(g, r):
                if g.shape == r.shape and _same(g, _simulate("sign", lr, 0.0, w0, grad)[k - 1]):
                    raise CheckFailed(f"with momentum 0, step {k} moved {name} by +lr * grad_{name}",
                                      "the weights must go downhill: w <- w - lr * grad")
                if g.shape == r.shape and _same(g, (w0 if k == 1 else got[k - 2][0 if name == 'W' else 1])):
                    raise CheckFailed(f"with momentum 0, step {k} did not change {name}",
                                      "update model.W and model.b in step(), e.g. "
                                      "model.W -= lr * model.grad_W")
                raise CheckFailed(f"with momentum 0, {name} after step {k} is not w - lr * grad_{name}",
                                  "momentum 0 must be plain SGD: w <- w - lr * grad")
    return "momentum 0 is plain SGD: w <- w - lr * grad, 3 steps, W and b"


def check_momentum(s: Student, ctx) -> str:
    lr, mu, steps = 0.1, 0.9, 4
    W, b, grads = _sgd_setup(41, steps)
    got = _run_student_sgd(s, lr, mu, W, b, grads)
    want = _run_reference_sgd(lr, mu, W, b, grads)
    for i, name in enumerate(("W", "b")):
        w0 = (W, b)[i]
        gs = [g[i] for g in grads]
        traj = [t[i] for t in got]
        ref = [t[i] for t in want]
        if all(t.shape == r.shape and _same(t, r) for t, r in zip(traj, ref)):
            continue
        first = next(k for k, (t, r) in enumerate(zip(traj, ref), start=1)
                     if t.shape != r.shape or not _same(t, r))
        for rule, hint in MOMENTUM_HINTS.items():
            sim = _simulate(rule, lr, mu, w0, gs)
            if all(t.shape == m.shape and _same(t, m) for t, m in zip(traj, sim)):
                raise CheckFailed(f"with momentum {mu}, {name} differs from v <- mu v - lr grad, "
                                  f"w <- w + v from step {first} of {steps}", hint)
        raise CheckFailed(f"with momentum {mu}, {name} differs from v <- mu v - lr grad, "
                          f"w <- w + v from step {first} of {steps}",
                          "keep one velocity per parameter (W and b) on self, start it at zero, and "
                          "in each step do v <- mu v - lr grad, then w <- w + v")
    return f"v <- mu v - lr grad, w <- w + v over {steps} steps (mu {mu}), velocity kept, W and b"


def check_frozen(s: Student, ctx) -> str:
    W, b, grads = _sgd_setup(42, 2)
    for mu in (0.0, 0.9):
        got = _run_student_sgd(s, 0.1, mu, W, b, grads, trainable=False)
        for k, (gw, gb) in enumerate(got, start=1):
            if not (np.array_equal(gw, W) and np.array_equal(gb, b)):
                raise CheckFailed(f"with model.trainable False (momentum {mu}), step {k} changed "
                                  + ("W" if not np.array_equal(gw, W) else "b"),
                                  "in step(), update only when model.trainable is True")
    return "nothing changes when trainable is False (momentum 0 and 0.9)"


# ---- vectorised: time per minibatch and Python lines per sample -----------------------------


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
        code = _source_line(where, s.folder)
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
    std = math.sqrt(4.0 / (D + C))  # the course's init
    W0, b0 = rng.normal(0, std, (D, C)), rng.normal(0, std, (1, C))
    lr, mu, bs = TRAIN["learning_rate"], TRAIN["momentum"], TRAIN["batch_size"]
    model, ref = s.loss(W0, b0), reference(W0, b0)
    opt, ref_opt = s.SGD(model, lr, mu), RefSGD(ref, lr, mu)
    first_bad = None
    it = 0
    for _ in range(TRAIN["epochs"]):
        order = rng.permutation(len(x_train))
        for start in range(0, len(order), bs):  # the course's loop, both models on the same batches
            idx = order[start:start + bs]
            xb, yb = x_train[idx].astype(np.float64), y_train[idx]
            for m, o in ((model, opt), (ref, ref_opt)):
                loss, _ = m.forward(xb.copy() if m is model else xb, yb)
                m.gradient_computing()
                o.step()
                if m is model and first_bad is None and not math.isfinite(float(np.asarray(loss).ravel()[0])):
                    first_bad = it + 1
            it += 1

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


FUNCTIONS = {
    "framework": check_framework, "construction": check_construction, "forward": check_forward,
    "forward-overflow": check_forward_overflow, "forward-batch-of-one": check_forward_one,
    "forward-odd-batch": check_forward_odd, "accuracy": check_accuracy,
    "gradient-shapes": check_gradient_shapes, "gradient": check_gradient, "sgd": check_sgd,
    "momentum": check_momentum, "frozen": check_frozen, "vectorised": check_vectorised,
    "train": check_train,
}


# ---- the process: its channel, its limits, its watchdog --------------------------------------


def open_channel():
    """(spec, emit): read the spec line from stdin, then keep private copies of stdin and stdout
    and point descriptors 0 and 1 at the null device and at stderr, so the student's code can
    neither read the parent's requests nor print into the event channel by accident.

    ``emit(**event)`` writes one event line with the spec's key; thread-safe.
    """
    stdin = os.fdopen(os.dup(0), "rb")
    spec = json.loads(stdin.readline())
    channel = os.fdopen(os.dup(1), "w", encoding="utf-8", newline="\n")
    os.dup2(2, 1)
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)
    sys.stdout = sys.stderr
    lock = threading.Lock()

    def emit(**event):
        line = json.dumps({"key": spec["key"], **event}, ensure_ascii=False)
        with lock:
            channel.write(line + "\n")
            channel.flush()

    return spec, emit, stdin


def limit_memory(mb: int) -> str:
    """Cap this process's address space at ``mb`` (RLIMIT_AS) and leave no core files; "rlimit"
    when the system enforces the cap (an allocation past it is refused: probed, because some
    systems accept the setting and ignore it), else "none"."""
    try:
        import resource
    except ImportError:  # not on this system
        return "none"
    if hasattr(resource, "RLIMIT_CORE"):
        try:
            resource.setrlimit(resource.RLIMIT_CORE, (0, 0))  # a crash leaves no core file in their folder
        except (ValueError, OSError):
            pass
    limit = mb * 1024 * 1024
    try:
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    except (ValueError, OSError, AttributeError):
        return "none"
    import mmap

    try:  # reserved, never touched: refused at once where the cap holds
        probe = mmap.mmap(-1, limit + (64 << 20))
    except (OSError, ValueError, OverflowError, MemoryError):
        return "rlimit"
    probe.close()
    return "none"


PROCESS_MARGIN = 64  # processes (threads on Linux) of this user a submission may add


def limit_processes() -> str:
    """RLIMIT_NPROC where the system has it and it binds: it counts every process (on Linux,
    every thread) of the user and does not bind root, so the cap is the user's count now plus
    PROCESS_MARGIN. Elsewhere the parent's watchdog counts the process tree."""
    try:
        import resource
    except ImportError:
        return "none"
    if not hasattr(resource, "RLIMIT_NPROC") or not hasattr(os, "geteuid") or os.geteuid() == 0:
        return "none"
    import psutil

    uid = os.getuid()
    count = 0
    for p in psutil.process_iter(["uids", "num_threads"]):
        uids, threads = p.info["uids"], p.info["num_threads"]
        if uids is not None and uids.real == uid:
            count += threads or 1
    try:
        resource.setrlimit(resource.RLIMIT_NPROC, (count + PROCESS_MARGIN, count + PROCESS_MARGIN))
    except (ValueError, OSError):
        return "none"
    return "rlimit"


# audit events (PEP 578) that start a process, on any system
STARTS_PROCESS = {"os.fork", "os.forkpty", "os.posix_spawn", "os.spawn", "os.system", "os.startfile",
                  "subprocess.Popen", "_winapi.CreateProcess", "pty.spawn"}


def cap_processes(max_processes: int) -> None:
    """Hold every start of a process once this one has ``max_processes`` live descendants: the
    start waits (the tree is then over the parent's cap, MAX_PROCESSES counting this process,
    and its watchdog ends the tree within a poll). The watchdog alone samples, and 40 starts
    fit between two of its looks on a quiet machine; RLIMIT_NPROC does not bind root. An audit
    hook cannot be removed from Python code, only passed by C code (check --help says so)."""
    import psutil

    me = psutil.Process()

    def hook(event, _args):
        if event in STARTS_PROCESS:
            while len(me.children(recursive=True)) >= max_processes:
                time.sleep(0.05)

    sys.addaudithook(hook)


def _raise_in(thread_id: int, exc_type: type | None) -> None:
    """Raise ``exc_type`` in thread ``thread_id`` at its next bytecode (CPython's documented
    PyThreadState_SetAsyncExc; what a signal handler does, without signals); None takes back
    one not yet raised."""
    import ctypes

    exc = None if exc_type is None else ctypes.py_object(exc_type)  # None: a NULL pointer
    ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(thread_id), exc)


def where_now(files: set[str], thread_id: int) -> str | None:
    """'loss.py line 12': the innermost frame of the student's files that ``thread_id`` runs."""
    frame = getattr(sys, "_current_frames", dict)().get(thread_id)
    while frame is not None:
        if frame.f_code.co_filename in files:
            return f"{Path(frame.f_code.co_filename).name} line {frame.f_lineno}"
        frame = frame.f_back
    return None


class Watchdog:
    """The time limit of the main thread's current work, and where it was when it ran over.

    ``arm(seconds)`` / ``disarm()`` around the work. At the limit the thread raises CheckTimeout
    (a subclass holding ``seconds``) in the main thread, again every second while it keeps
    running (a bare ``except:`` in the student's code catches one), and calls
    ``late(where, "time")``. With ``memory_mb``, it also calls ``late(where, "memory")`` while
    this process holds more than half of it (where no RLIMIT_AS holds, the parent's watchdog
    ends the process at the limit; this names the line first). Each place is told once.
    """

    def __init__(self, files: set[str], late=None, memory_mb: int | None = None):
        self.files, self.late, self.memory_mb = files, late, memory_mb
        self.main = threading.main_thread().ident
        self.cond = threading.Condition(threading.Lock())  # a plain lock: arm() runs per call
        self.deadline: float | None = None
        self.seconds = 0.0
        self.told: set[tuple[str, str]] = set()
        self.fired = False
        self.wake_at = 0.0  # when the thread wakes next by itself
        threading.Thread(target=self._run, name="check-watchdog", daemon=True).start()

    def arm(self, seconds: float) -> None:
        with self.cond:
            self.seconds, self.deadline = seconds, time.monotonic() + seconds
            self.told.clear()
            self.fired = False
            if self.deadline < self.wake_at:  # else it wakes first anyway: no thread switch per call
                self.cond.notify()

    def disarm(self) -> None:
        with self.cond:
            self.deadline = None
            if self.fired:  # a CheckTimeout raised but not yet delivered is taken back
                self.fired = False
                _raise_in(self.main, None)

    def _tell(self, why: str) -> None:
        where = where_now(self.files, self.main)
        if where and (where, why) not in self.told and self.late is not None:
            self.told.add((where, why))
            self.late(where, why)

    def _run(self) -> None:
        process = None
        if self.memory_mb:
            try:
                import psutil

                process = psutil.Process()
            except (ImportError, OSError):  # the time limit matters more than naming the line
                process = None
        while True:
            with self.cond:
                now = time.monotonic()
                wait = 0.05 if process is not None else None
                if self.deadline is not None:
                    wait = min(wait or 1e9, max(self.deadline - now, 0.0))
                self.wake_at = float("inf") if wait is None else now + wait
                self.cond.wait(wait)
                deadline = self.deadline
                if deadline is not None and time.monotonic() >= deadline:
                    self.deadline = time.monotonic() + 1.0  # once more later, if it was caught
                    self.fired = True
                    _raise_in(self.main, type("CheckTimeout", (CheckTimeout,), {"seconds": self.seconds}))
                    self._tell("time")
                elif deadline is not None and process is not None:
                    if process.memory_info().rss > 0.5 * self.memory_mb * 1024 * 1024:
                        self._tell("memory")


class Dumps:
    """Tracebacks written by faulthandler's own C thread, which runs while the student's code
    holds the interpreter inside a NumPy call (where no Python thread can look): after the
    check's limit plus ``late`` seconds, and at once on SIGUSR1 where the system has it (the
    parent asks before it ends this process). The parent reads the file: check.where_in_dump."""

    def __init__(self, path: str, late: float):
        import faulthandler

        self.faulthandler, self.late = faulthandler, late
        self.file = open(path, "w", encoding="utf-8")  # noqa: SIM115 - open while this process lives
        if hasattr(faulthandler, "register") and hasattr(signal_module(), "SIGUSR1"):
            faulthandler.register(signal_module().SIGUSR1, file=self.file, all_threads=True)

    def arm(self, seconds: float) -> None:
        self.file.seek(0)
        self.file.truncate()
        self.faulthandler.dump_traceback_later(seconds + self.late, file=self.file)

    def disarm(self) -> None:
        self.faulthandler.cancel_dump_traceback_later()


def signal_module():
    import signal

    return signal


def end_with_parent(stdin) -> None:
    """End this process when the parent's end of stdin closes (the parent ended, or ended us):
    an orphan would otherwise run the student's code on, whatever it does."""
    def wait():
        while stdin.read(65536):
            pass
        os._exit(1)

    threading.Thread(target=wait, name="check-parent", daemon=True).start()


def main() -> int:
    spec, emit, stdin = open_channel()
    end_with_parent(stdin)
    memory = limit_memory(spec["memory_mb"])
    limit_processes()
    cap_processes(spec["max_processes"])
    emit(event="limits", memory=memory)
    sys.dont_write_bytecode = True  # no __pycache__ in the student's folder
    folder = Path(spec["folder"])
    os.chdir(folder)
    files = {str(p) for p in folder.resolve().glob("*.py")}
    current = [None]
    dog = Watchdog(files, lambda where, why: emit(event="where", check=current[0], where=where, why=why),
                   memory_mb=spec["memory_mb"] if memory == "none" else None)
    dumps = Dumps(spec["dump"], spec["late"])
    import_limit = spec["limits"]["import"]
    dog.arm(import_limit)
    dumps.arm(import_limit)
    try:
        try:
            student = Student(folder)
        finally:
            dog.disarm()
            dumps.disarm()
    except CheckTimeout:
        emit(event="fatal", error=f"importing loss.py and optimizer.py did not finish within "
             f"{import_limit:g} s (code at the top level of a file runs on import)")
        return 0
    except BaseException as e:  # noqa: BLE001 - anything the student's import raises is reported
        where = _student_location(files, e.__traceback__)
        if isinstance(e, SyntaxError) and e.filename:
            where = f"{Path(e.filename).name} line {e.lineno}"
        emit(event="fatal", error=f"importing the student's files raised {type(e).__name__}: {e}"
             + (f" ({where})" if where else ""))
        return 0
    emit(event="ready")
    broken: dict[str, str] = dict(spec["broken"])
    ctx = {"data_dir": spec["data_dir"]}
    for name in spec["checks"]:
        uses = CHECKS[name]["uses"]
        current[0] = name
        emit(event="start", check=name)
        start = time.perf_counter()
        passed, hint, new_broken = False, "", {}
        blocked = [m for m in uses if m in broken]
        for key in ("vectorised", "train"):  # numbers a check leaves for its result's details
            ctx.pop(key, None)
        if blocked:
            message = f"not run: {blocked[0]}() {broken[blocked[0]]}"
        else:
            try:
                limit = spec["limits"].get(name, spec["limits"]["default"])
                dog.arm(limit)
                dumps.arm(limit)
                try:
                    message = FUNCTIONS[name](student, ctx)
                finally:
                    dog.disarm()
                    dumps.disarm()
                passed = True
            except CheckFailed as e:
                message, hint = e.message, e.hint
            except DataProblem as e:
                emit(event="fatal", error=f"the train check needs MNIST: {e}", data=True)
                return 0
            except BaseException as e:  # noqa: BLE001 - the student's code may raise anything
                if isinstance(e, KeyboardInterrupt):
                    raise
                message, hint = describe_error(e, student, spec["memory_mb"])
                fn = _outer_student_function(student.files, e.__traceback__)
                if isinstance(e, CheckTimeout) and fn:
                    new_broken[fn] = f"did not finish within {e.seconds:g} s in the {name} check"
        broken.update(new_broken)
        extra = {k: ctx[k] for k in ("vectorised", "train") if k in ctx}
        emit(event="result", check=name, passed=passed, message=message, hint=hint,
             seconds=time.perf_counter() - start, broken=new_broken,
             frameworks=dict(student.blocker.seen), **extra)
        current[0] = None
    return 0


if __name__ == "__main__":
    sys.exit(main())
