"""``softmax-mnist study --impl DIR``: the study on a student's own loss.py and optimizer.py.

The folder is read as ``softmax-mnist check`` reads it (check.preflight: the files, their
syntax; no deep learning framework in the source or at import, check_child.FrameworkBlocker;
the course's other files supplied, check_child.CourseShims), but imported in this process: the
study runs the student's code on purpose, without the checker's time and memory limits.

``Impl.trainer`` is run_study's ``trainer`` hook: one run of the package's one loop
(core.loop.train: its seeded minibatches, History and divergence rule) with the student's
objects as the learner (their ``forward``, ``gradient_computing`` and ``step``),
returning a ``SoftmaxRegression`` holding the trained W and b (so this package evaluates and
saves it) and the History that ``core.loop.fit`` would record. Settings the course's
``SGD(model, learning_rate, momentum)`` cannot express (Nesterov, weight decay) train with
this package's SGD instead (``reference_only``); the results say which.
"""

from __future__ import annotations

import contextlib
import importlib
import math
import signal
import sys
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

from softmax_mnist.core.config import TrainConfig
from softmax_mnist.core.data import Splits
from softmax_mnist.core.loop import Hooks, evaluate, schedule_of, setting_of, train
from softmax_mnist.core.model import SoftmaxRegression
from softmax_mnist.course.check import CannotRun, framework_imports, local_imports, preflight
from softmax_mnist.errors import DivergenceError, Interrupted, SoftmaxMnistError
from softmax_mnist.fileio import atomic_write_text

SOURCE_DIR = "impl"  # the study folder's copy of the student's files, read by the report


class ImplError(SoftmaxMnistError):
    """The student's folder cannot be studied, or their code failed during a run."""


def reference_only(config: TrainConfig) -> bool:
    """Settings the course's SGD(model, learning_rate, momentum) has no argument for."""
    return config.nesterov or config.weight_decay > 0


class _CourseLearner:
    """One setting trained by the student's objects, for loop.train: ``step`` is the course's
    forward, gradient_computing and SGD.step; the weights are read out to evaluate."""

    size, num_classes = 1, 10

    def __init__(self, impl: Impl, config: TrainConfig, core: SoftmaxRegression):
        self.impl, self.core, self.schedule = impl, core, schedule_of(config)
        self.settings = [setting_of(config)]
        self.model = impl._call("SoftmaxCrossEntropyLoss(784, 10)", impl.Loss, core.W.shape[0], 10)
        self.model.W, self.model.b = core.W.copy(), core.b.copy()
        self.opt = impl._call("SGD(model, learning_rate, momentum)", impl.SGD, self.model,
                              config.lr, config.momentum)

    def start_epoch(self, epoch: int) -> None:
        self.opt.learning_rate = self.schedule(self.settings[0].lr, epoch)

    def step(self, xb, yb):
        impl = self.impl
        loss, acc = impl._pair(impl._call("forward", self.model.forward, xb, yb))
        if math.isfinite(loss):
            impl._call("gradient_computing", self.model.gradient_computing)
            impl._call("step", self.opt.step)
        return loss, acc

    def drop(self, mask) -> None:
        """Nothing to mask: one setting, and the loop stops when it diverges."""

    def copy_out(self) -> None:
        self.impl._copy(self.model, self.core)

    def evaluate(self, x, y):
        self.copy_out()
        loss, acc = evaluate(self.core, x, y)
        return np.array([loss]), np.array([acc])

    def arrays(self) -> dict:
        return {}  # train is given no checkpoint hook: the student's objects are not saved


@dataclass
class Impl:
    """A student's SoftmaxCrossEntropyLoss and SGD, imported from ``folder``."""

    folder: Path
    Loss: type
    SGD: type
    files: list[Path]

    @property
    def name(self) -> str:
        """What the results record: the folder's name, never its path."""
        return self.folder.name

    def study_meta(self, plan) -> dict:
        """results.json meta: the implementation, and the settings it could not train."""
        from softmax_mnist.study.results import setting_of

        return {"impl": self.name, "impl_reference": sorted({setting_of(n) for n, _, c in plan
                                                             if reference_only(c)})}

    def save_source(self, out) -> list[Path]:
        """Copy the files the study ran on into ``out``/impl, for the report's key code."""
        return [atomic_write_text(Path(out) / SOURCE_DIR / p.name, p.read_text(encoding="utf-8"))
                for p in self.files]

    def trainer(self, config: TrainConfig, data: Splits, log=None, progress=None, stop=None):
        """Train ``config`` with the student's classes; (SoftmaxRegression, History).

        The same start as this package's run of the seed (W and b from SoftmaxRegression's
        init, then the same shuffles) and the same loop (loop.train), so a correct
        implementation gives the reference's numbers up to float rounding. Raises
        DivergenceError as ``fit`` does, Interrupted when ``stop()`` turns true (the run
        restarts on --resume: no checkpoint of the student's objects).
        """
        if reference_only(config):
            from softmax_mnist.study.run import train_model

            return train_model(config, data, log, stop=stop, progress=progress)
        rng = np.random.default_rng(config.seed)
        core = SoftmaxRegression(data.x_train.shape[1], 10, rng=rng)
        learner = _CourseLearner(self, config, core)
        hooks = Hooks(log=log, stop=stop, progress=progress)
        with threadpool_limits(1, user_api="blas"), np.errstate(over="ignore", invalid="ignore"):
            try:
                hists, diverged = train(learner, data, config.epochs, config.batch_size, rng, hooks)
            except Interrupted as e:
                raise Interrupted(f"{e} (a run of --impl restarts when resumed)", e.epoch,
                                  e.step) from None
        if diverged[0]:
            raise DivergenceError(diverged[0], history=hists[0])
        learner.copy_out()
        return core, hists[0]

    # ---- calling the student's code --------------------------------------------------------

    def _call(self, what: str, fn, *args):
        try:
            return fn(*args)
        except ImplError:  # the time limit of smoke_test
            raise
        except Exception as e:  # noqa: BLE001 - the student's code may raise anything
            raise ImplError(f"{self.name}: {what} raised {type(e).__name__}: {e}; "
                            f"`softmax-mnist check {self.folder}` says where") from None

    def _pair(self, out) -> tuple[float, float]:
        try:
            loss, acc = out
            return float(np.asarray(loss, dtype=np.float64).reshape(())), \
                float(np.asarray(acc, dtype=np.float64).reshape(()))
        except (TypeError, ValueError):
            raise ImplError(f"{self.name}: forward returned {type(out).__name__}, not the pair "
                            f"(loss, acc); `softmax-mnist check {self.folder}` says more") from None

    def _copy(self, model, core: SoftmaxRegression) -> None:
        """The student's W and b into ``core`` (float32), or ImplError naming the bad shape."""
        for key in ("W", "b"):
            value = np.asarray(getattr(model, key, None))
            want = core.params[key]
            if value.size != want.size or not np.issubdtype(value.dtype, np.number):
                raise ImplError(f"{self.name}: after training, {key} has shape {value.shape}, not "
                                f"{want.shape}; `softmax-mnist check {self.folder}` says more")
            want[...] = value.reshape(want.shape)

    def smoke_test(self) -> None:
        """One course iteration on a small random batch: a one-line ImplError before the study
        writes anything when the classes cannot train (an unfilled TODO, a missing method)."""
        rng = np.random.default_rng(0)
        core = SoftmaxRegression(784, 10, rng=rng)
        x = rng.random((8, 784), dtype=np.float32)
        x -= x.mean(axis=1, keepdims=True)
        y = rng.integers(0, 10, 8)
        model = self._call("SoftmaxCrossEntropyLoss(784, 10)", self.Loss, 784, 10)
        model.W, model.b = core.W.copy(), core.b.copy()
        opt = self._call("SGD(model, 0.01, 0.9)", self.SGD, model, 0.01, 0.9)
        loss, _ = self._pair(self._call("forward", model.forward, x, y))
        if not math.isfinite(loss):
            raise ImplError(f"{self.name}: forward gave a loss of {loss} on a small batch; "
                            f"`softmax-mnist check {self.folder}` says where")
        self._call("gradient_computing", model.gradient_computing)
        self._call("step", opt.step)
        self._copy(model, core)


def load(folder) -> Impl:
    """Import the student's classes from ``folder``; a one-line ImplError (or check.CannotRun)
    when they cannot be: no folder, a file missing, a syntax error, a deep learning framework,
    an import that raises, a class missing, or an iteration that fails (``smoke_test``)."""
    folder = Path(folder)
    try:
        preflight(folder)
    except CannotRun as e:
        raise ImplError(f"--impl {folder}: " + str(e).replace("the check", "the study")) from None
    folder = folder.resolve()
    files = local_imports([folder / "loss.py", folder / "optimizer.py"], folder)
    for path in files:
        for name, line in framework_imports(path):
            raise ImplError(f"{path.name} line {line} imports {name}; the study runs NumPy code "
                            "only (the course's rule): remove the import")
    from softmax_mnist.course.check_child import CourseShims, FrameworkBlocker

    # their module names, but not those already imported (a numpy.py of theirs stays unused)
    names = [p.stem for p in folder.glob("*.py") if p.stem in ("loss", "optimizer")
             or p.stem not in sys.modules]
    saved = {n: sys.modules.pop(n) for n in names if n in sys.modules}
    blocker, shims = FrameworkBlocker({str(p) for p in folder.glob("*.py")}), CourseShims()
    sys.meta_path.insert(0, blocker)
    sys.meta_path.append(shims)
    sys.path.insert(0, str(folder))
    bytecode, sys.dont_write_bytecode = sys.dont_write_bytecode, True  # no __pycache__ in theirs
    try:
        classes = []
        for module, cls in (("loss", "SoftmaxCrossEntropyLoss"), ("optimizer", "SGD")):
            try:
                mod = importlib.import_module(module)
            except Exception as e:  # noqa: BLE001 - the student's import may raise anything
                raise ImplError(f"{folder.name}: importing {module}.py raised {type(e).__name__}: {e}; "
                                f"`softmax-mnist check {folder}` says where") from None
            if Path(getattr(mod, "__file__", "") or "").resolve() != folder / f"{module}.py":
                raise ImplError(f"`import {module}` found {mod.__file__}, not {folder / module}.py")
            found = getattr(mod, cls, None)
            if not isinstance(found, type):
                raise ImplError(f"{folder.name}: {module}.py has no class {cls} (the course's name)")
            classes.append(found)
        if blocker.seen:
            top, where = next(iter(blocker.seen.items()))
            raise ImplError(f"{folder.name}: importing loss.py and optimizer.py imports {top} "
                            f"({where}); the study runs NumPy code only: remove the import")
    finally:
        sys.dont_write_bytecode = bytecode
        sys.path.remove(str(folder))
        sys.meta_path.remove(blocker)
        sys.meta_path.remove(shims)
        for n in names:  # their modules live on in their classes, not under these names
            sys.modules.pop(n, None)
        sys.modules.update(saved)
    impl = Impl(folder, classes[0], classes[1], files)
    with _time_limit(SMOKE_SECONDS, f"{folder.name}: one iteration on a batch of 8 did not finish "
                     f"within {SMOKE_SECONDS} s (an endless loop?); `softmax-mnist check {folder}` "
                     "says where"):
        impl.smoke_test()
    return impl


SMOKE_SECONDS = 10


@contextlib.contextmanager
def _time_limit(seconds: float, message: str):
    """ImplError(message) when the block runs past ``seconds`` (SIGALRM: main thread only;
    elsewhere the block runs unbounded)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def expire(signum, frame):
        raise ImplError(message)

    old = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)
