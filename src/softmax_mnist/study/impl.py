"""``softmax-mnist study --impl DIR``: the study on a student's own loss.py and optimizer.py.

The folder is read as ``softmax-mnist check`` reads it (checker.folder: preflight, the files,
their encoding and syntax; no deep learning framework in the source or at import,
FrameworkBlocker; the course's other files supplied, CourseShims). The student's code runs in a
worker process (``python -m softmax_mnist.study.impl``), without the checker's memory limit, so
that whatever it does stays a one-line failure: an exception, a sys.exit() or os._exit(), a
call that never returns (CALL_SECONDS), a crash. The study itself (plans, results, files,
reports) stays in this process, which stays responsive: SIGINT and SIGTERM ask the worker to
stop after its current step and end it when it does not (STOP_SECONDS). The worker talks as
check's child does (checker.process.Child, checker.guard: events on its own stdout, the
student's prints on stderr, forwarded here).

``Impl.trainer`` is run_study's ``trainer`` hook: the worker runs one run of the package's one
loop (core.loop.train: its seeded minibatches, History and divergence rule) with the student's
objects as the learner (their ``forward``, ``gradient_computing`` and ``step``) on the same
arrays (handed over as .npy files), and sends back the trained W and b (this package evaluates
and saves them in a ``SoftmaxRegression``) and the History that ``core.fit.fit`` would record.
Settings the course's ``SGD(model, learning_rate, momentum)`` cannot express (Nesterov, weight
decay) train with this package's SGD here instead (``reference_only``); the results say which.
"""

from __future__ import annotations

import importlib
import json
import math
import os
import signal
import sys
import tempfile
import threading
import time
import weakref
from dataclasses import asdict, dataclass, field
from pathlib import Path
from types import SimpleNamespace

import numpy as np

from softmax_mnist.checker.checks import IMPORT_LIMIT
from softmax_mnist.checker.folder import (
    CannotRun,
    CourseShims,
    FrameworkBlocker,
    framework_imports,
    local_imports,
    preflight,
    read_source,
)
from softmax_mnist.checker.guard import CheckTimeout, Watchdog, cap_processes, open_channel
from softmax_mnist.checker.learner import CourseLearner
from softmax_mnist.checker.process import MAX_PROCESSES, Child, Output
from softmax_mnist.core.config import TrainConfig
from softmax_mnist.core.data import NUM_CLASSES, NUM_FEATURES, Splits
from softmax_mnist.core.fit import schedule_of, setting_of
from softmax_mnist.core.loop import History, Hooks, train
from softmax_mnist.core.model import SoftmaxRegression
from softmax_mnist.errors import DivergenceError, Interrupted, SoftmaxMnistError, command
from softmax_mnist.fileio import atomic_write_text

SOURCE_DIR = "impl"  # the study folder's copy of the student's files, read by the report
SMOKE_SECONDS = 10  # one iteration on a batch of 8
CALL_SECONDS = 120  # one call of forward, gradient_computing or step: longer is a hang
STOP_SECONDS = 5  # after SIGINT/SIGTERM, the worker's time to finish its step
START_SECONDS = 30  # the worker's own start-up (Python, NumPy)
ARRAYS = ("x_train", "y_train", "x_val", "y_val")  # what loop.train reads of a Splits


class ImplError(SoftmaxMnistError):
    """The student's folder cannot be studied, or their code failed during a run."""


def reference_only(config: TrainConfig) -> bool:
    """Settings the course's SGD(model, learning_rate, momentum) has no argument for."""
    return config.nesterov or config.weight_decay > 0


# ---- in this process: the study's handle on the student's implementation --------------------


NUMBER = (int, float)
WORKER_EVENTS = {  # the worker's events and the fields each must have
    "ready": {},
    "error": {"message": str},
    "log": {"line": str},
    "done": {"history": dict, "weights": str},
    "diverged": {"message": str, "history": dict},
    "interrupted": {"message": str, "epoch": int, "step": int},
}


def _echo(chunk: bytes) -> None:
    """The student's prints, passed on to this process's stderr on any console."""
    text = chunk.decode("utf-8", "replace")
    try:
        sys.stderr.write(text)
    except UnicodeEncodeError:
        enc = getattr(sys.stderr, "encoding", None) or "ascii"
        sys.stderr.write(text.encode(enc, "backslashreplace").decode(enc))
    sys.stderr.flush()


class _EchoOutput(Output):
    def add(self, chunk: bytes) -> None:
        super().add(chunk)
        _echo(chunk)


class Worker:
    """The worker process that holds the student's classes (see the module's doc)."""

    def __init__(self, folder: Path, smoke_seconds: float):
        self.folder, self.name = folder, folder.name
        self.output = _EchoOutput()
        self.tmp = tempfile.TemporaryDirectory(prefix="softmax-mnist-impl-")
        self.data: dict[int, tuple[object, str]] = {}  # id(Splits) -> (it, its folder)
        spec = {"folder": str(folder), "smoke_seconds": smoke_seconds, "call_seconds": CALL_SECONDS,
                "import_seconds": IMPORT_LIMIT, "max_processes": MAX_PROCESSES}
        self.child = Child("softmax_mnist.study.impl", spec, WORKER_EVENTS, self.output,
                           cwd=self.tmp.name, memory_mb=None)
        self._end = weakref.finalize(self, Worker._close, self.child, self.tmp)
        event = self._wait(START_SECONDS + IMPORT_LIMIT + smoke_seconds + 5, what="loading the classes")
        if event["event"] == "error":
            self.end()
            raise ImplError(event["message"])

    @staticmethod
    def _close(child: Child, tmp) -> None:
        child.end()
        tmp.cleanup()

    def end(self) -> None:
        self._end()

    def _lost(self, code, what: str) -> ImplError:
        tail = self.output.tail()
        how = f"exit code {code}" if code is None or code >= 0 else f"signal {-code}"
        return ImplError(f"{self.name}: the student's code ended the process running it ({how}) "
                         f"while {what}" + (f" ({tail})" if tail else "")
                         + f": look for sys.exit, os._exit or a crash; `softmax-mnist check "
                         f"{self.folder}` says where")

    def _wait(self, seconds: float, what: str, stop=None, log=None) -> dict:
        """The worker's next answer; ImplError when it ends or falls silent, Interrupted when
        ``stop()`` turns true (the worker is asked to stop, and ended if it does not)."""
        deadline = None if seconds is None else time.monotonic() + seconds
        asked = None
        while True:
            if stop is not None and asked is None and stop():  # the worker stops for good
                asked = time.monotonic()
                self.child.send({"stop": True})
            event = self.child.next(0.2)
            if event is None:
                now = time.monotonic()
                if asked is not None and now - asked > STOP_SECONDS:
                    self.end()
                    raise Interrupted(f"the student's code did not stop within {STOP_SECONDS} s "
                                      "and was ended (a run of --impl restarts when resumed)")
                if deadline is not None and now > deadline:
                    self.end()
                    raise ImplError(f"{self.name}: {what} did not finish within {seconds:g} s "
                                    f"(an endless loop?); `{command('check', self.folder)}` says where")
                continue
            kind = event["event"]
            if kind == "log":
                if log is not None:
                    log(event["line"])
                continue
            if kind in ("exit", "eof"):
                code = event.get("code")
                if code is None:
                    code = self.child.wait(2.0)
                self.end()
                raise self._lost(code, what)
            return event

    def _arrays(self, data) -> str:
        """The folder of ``data``'s training and validation arrays as .npy files (written once)."""
        held = self.data.get(id(data))
        if held is not None and held[0] is data:
            return held[1]
        where = Path(self.tmp.name) / f"data-{len(self.data)}"
        where.mkdir()
        for key in ARRAYS:
            np.save(where / f"{key}.npy", getattr(data, key), allow_pickle=False)
        self.data[id(data)] = (data, str(where))
        return str(where)

    def train(self, config: TrainConfig, data, log=None, stop=None) -> tuple[SoftmaxRegression, History]:
        self.child.send({"config": config.to_dict(), "data": self._arrays(data), "log": log is not None})
        what = f"training a run (lr {config.lr:g}, momentum {config.momentum:g}, batch {config.batch_size})"
        event = self._wait(None, what, stop=stop, log=log)
        kind = event["event"]
        if kind == "error":
            raise ImplError(event["message"])
        if kind == "interrupted":
            raise Interrupted(event["message"], event["epoch"], event["step"])
        history = History(**event["history"])
        if kind == "diverged":
            raise DivergenceError(event["message"], history=history)
        core = SoftmaxRegression(data.x_train.shape[1], NUM_CLASSES, rng=np.random.default_rng(config.seed))
        with np.load(event["weights"], allow_pickle=False) as saved:
            core.params["W"][...] = saved["W"]
            core.params["b"][...] = saved["b"]
        return core, history


@dataclass
class Impl:
    """A student's SoftmaxCrossEntropyLoss and SGD from ``folder``, held by a worker process."""

    folder: Path
    files: list[Path]
    worker: Worker | None = field(default=None, repr=False)

    @property
    def name(self) -> str:
        """What the results record: the folder's name, never its path."""
        return self.folder.name

    def study_meta(self, plan) -> dict:
        """results.json meta: the implementation, and the settings it could not train."""
        from softmax_mnist.study.results import setting_name

        return {"impl": self.name, "impl_reference": sorted({setting_name(n) for n, _, c in plan
                                                             if reference_only(c)})}

    def save_source(self, out) -> list[Path]:
        """Copy the files the study ran on into ``out``/impl, for the report's key code."""
        return [atomic_write_text(Path(out) / SOURCE_DIR / p.name, read_source(p, strict=False))
                for p in self.files]

    def trainer(self, config: TrainConfig, data: Splits, log=None, progress=None, stop=None):
        """Train ``config`` with the student's classes; (SoftmaxRegression, History).

        The same start as this package's run of the seed (W and b from SoftmaxRegression's
        init, then the same shuffles) and the same loop (loop.train), so a correct
        implementation gives the reference's numbers up to float rounding. Raises
        DivergenceError as ``fit`` does, Interrupted when ``stop()`` turns true (the run
        restarts on --resume: no checkpoint of the student's objects), ImplError when the
        student's code fails, exits or hangs.
        """
        if reference_only(config):
            from softmax_mnist.study.run import train_model

            return train_model(config, data, log, stop=stop, progress=progress)
        if self.worker is None:
            raise ImplError(f"{self.name}: the worker running the student's code has ended")
        try:
            return self.worker.train(config, data, log, stop)
        except (ImplError, Interrupted):
            self.worker = None  # ended: a later call says so instead of waiting
            raise


def load(folder) -> Impl:
    """Start a worker holding the student's classes from ``folder``; a one-line ImplError when
    they cannot be: no folder, a file missing or not UTF-8, a syntax error, a deep learning
    framework, an import that raises, a class missing, or an iteration that fails
    (``smoke_test``)."""
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
    return Impl(folder, files, Worker(folder, SMOKE_SECONDS))


# ---- in the worker process: the student's classes --------------------------------------------


class Loaded:
    """The student's classes, imported in the worker; ``dog`` bounds each call of theirs."""

    def __init__(self, folder: Path, Loss: type, SGD: type, dog, call_seconds: float):
        self.folder, self.Loss, self.SGD, self.dog = folder, Loss, SGD, dog
        self.call_seconds = call_seconds
        self.name = folder.name

    def train(self, config: TrainConfig, data, log=None, stop=None):
        """(SoftmaxRegression, History) of ``config`` trained by the student's classes."""
        from threadpoolctl import threadpool_limits

        rng = np.random.default_rng(config.seed)
        core = SoftmaxRegression(data.x_train.shape[1], NUM_CLASSES, rng=rng)
        model = self._call("SoftmaxCrossEntropyLoss(784, 10)", self.Loss, core.W.shape[0], 10)
        model.W, model.b = core.W.copy(), core.b.copy()
        opt = self._call("SGD(model, learning_rate, momentum)", self.SGD, model, config.lr, config.momentum)
        learner = CourseLearner([(model, opt)], [setting_of(config)], schedule_of(config),
                                call=self._call, pair=self._pair, cores=[core], copy=self._copy)
        hooks = Hooks(log=log, stop=stop)
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

    def _call(self, what: str, fn, *args, bounded: bool = True):
        """``fn(*args)``, bounded by CALL_SECONDS (unless ``bounded`` is False: inside a limit of
        the caller's); ImplError naming ``what`` for whatever goes wrong."""
        if bounded:
            self.dog.arm(self.call_seconds)
        try:
            try:
                return fn(*args)
            finally:
                if bounded:
                    self.dog.disarm()
        except ImplError:
            raise
        except CheckTimeout as e:
            if not bounded:
                raise
            raise ImplError(f"{self.name}: {what} did not finish within {e.seconds:g} s (an endless "
                            f"loop?); `{command('check', self.folder)}` says where") from None
        except SystemExit as e:
            code = "" if e.code is None else repr(e.code)
            raise ImplError(f"{self.name}: {what} called sys.exit({code}); "
                            "the course's classes return their results instead; remove it") from None
        except Exception as e:  # noqa: BLE001 - the student's code may raise anything
            raise ImplError(f"{self.name}: {what} raised {type(e).__name__}: {e}; "
                            f"`{command('check', self.folder)}` says where") from None

    def _pair(self, out) -> tuple[float, float]:
        try:
            loss, acc = out
            return float(np.asarray(loss, dtype=np.float64).reshape(())), \
                float(np.asarray(acc, dtype=np.float64).reshape(()))
        except (TypeError, ValueError):
            raise ImplError(f"{self.name}: forward returned {type(out).__name__}, not the pair "
                            f"(loss, acc); `{command('check', self.folder)}` says more") from None

    def _copy(self, model, core: SoftmaxRegression) -> None:
        """The student's W and b into ``core`` (float32), or ImplError naming the bad shape."""
        for key in ("W", "b"):
            value = np.asarray(getattr(model, key, None))
            want = core.params[key]
            if value.size != want.size or not np.issubdtype(value.dtype, np.number):
                raise ImplError(f"{self.name}: after training, {key} has shape {value.shape}, not "
                                f"{want.shape}; `{command('check', self.folder)}` says more")
            want[...] = value.reshape(want.shape)

    def smoke_test(self, seconds: float) -> None:
        """One course iteration on a small random batch: a one-line ImplError before the study
        writes anything when the classes cannot train (an unfilled TODO, a missing method)."""
        self.dog.arm(seconds)
        try:
            try:
                self._smoke()
            finally:
                self.dog.disarm()
        except CheckTimeout:
            raise ImplError(f"{self.name}: one iteration on a batch of 8 did not finish within "
                            f"{seconds:g} s (an endless loop?); `{command('check', self.folder)}` "
                            "says where") from None

    def _smoke(self) -> None:
        rng = np.random.default_rng(0)
        core = SoftmaxRegression(NUM_FEATURES, NUM_CLASSES, rng=rng)
        x = rng.random((8, 784), dtype=np.float32)
        x -= x.mean(axis=1, keepdims=True)
        y = rng.integers(0, NUM_CLASSES, 8)
        model = self._call("SoftmaxCrossEntropyLoss(784, 10)", self.Loss, 784, 10, bounded=False)
        model.W, model.b = core.W.copy(), core.b.copy()
        opt = self._call("SGD(model, 0.01, 0.9)", self.SGD, model, 0.01, 0.9, bounded=False)
        loss, _ = self._pair(self._call("forward", model.forward, x, y, bounded=False))
        if not math.isfinite(loss):
            raise ImplError(f"{self.name}: forward gave a loss of {loss} on a small batch; "
                            f"`{command('check', self.folder)}` says where")
        self._call("gradient_computing", model.gradient_computing, bounded=False)
        self._call("step", opt.step, bounded=False)
        self._copy(model, core)


def import_classes(folder: Path, dog, import_seconds: float) -> tuple[type, type]:
    """The student's SoftmaxCrossEntropyLoss and SGD, imported here with frameworks blocked
    and the course's other files supplied; ImplError when that fails."""
    blocker = FrameworkBlocker({str(p) for p in folder.glob("*.py")})
    sys.meta_path.insert(0, blocker)
    sys.meta_path.append(CourseShims())
    sys.path.insert(0, str(folder))
    sys.dont_write_bytecode = True  # no __pycache__ in theirs
    classes = []
    for module, cls in (("loss", "SoftmaxCrossEntropyLoss"), ("optimizer", "SGD")):
        dog.arm(import_seconds)
        try:
            try:
                mod = importlib.import_module(module)
            finally:
                dog.disarm()
        except CheckTimeout:
            raise ImplError(f"{folder.name}: importing {module}.py did not finish within "
                            f"{import_seconds:g} s (code at the top level of a file runs on "
                            "import)") from None
        except (Exception, SystemExit) as e:  # noqa: BLE001 - the student's import may raise anything
            raise ImplError(f"{folder.name}: importing {module}.py raised {type(e).__name__}: {e}; "
                            f"`{command('check', folder)}` says where") from None
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
    return classes[0], classes[1]


def worker_main() -> int:
    """The worker: load the classes, then train what the study asks, one run at a time."""
    spec, emit, requests = open_channel()
    cap_processes(spec["max_processes"])
    if hasattr(signal, "SIGINT"):  # Ctrl-C reaches the whole console: the study decides
        signal.signal(signal.SIGINT, signal.SIG_IGN)
    folder = Path(spec["folder"])
    stop = threading.Event()
    todo: list[dict] = []
    ready = threading.Condition()

    def read_requests():  # stop at once; train in turn; the study gone: end here too
        for line in requests:
            message = json.loads(line)
            if message.get("stop"):
                stop.set()
            else:
                with ready:
                    todo.append(message)
                    ready.notify()
        os._exit(0)

    threading.Thread(target=read_requests, daemon=True, name="impl-requests").start()
    dog = Watchdog({str(p) for p in folder.glob("*.py")})
    try:
        Loss, SGD = import_classes(folder, dog, spec["import_seconds"])
        loaded = Loaded(folder, Loss, SGD, dog, spec["call_seconds"])
        loaded.smoke_test(spec["smoke_seconds"])
    except ImplError as e:
        emit(event="error", message=str(e))
        return 0
    emit(event="ready")
    runs, arrays = 0, {}  # the study's few distinct splits, each read once
    while True:
        with ready:
            while not todo:
                ready.wait()
            message = todo.pop(0)
        config = TrainConfig.from_dict(message["config"])
        if message["data"] not in arrays:
            arrays[message["data"]] = SimpleNamespace(**{
                k: np.load(Path(message["data"]) / f"{k}.npy", allow_pickle=False) for k in ARRAYS})
        data = arrays[message["data"]]
        log = (lambda line: emit(event="log", line=line)) if message["log"] else None
        try:
            core, history = loaded.train(config, data, log, stop.is_set)
        except DivergenceError as e:
            emit(event="diverged", message=str(e), history=asdict(e.history))
        except Interrupted as e:
            emit(event="interrupted", message=str(e), epoch=e.epoch, step=e.step)
        except ImplError as e:
            emit(event="error", message=str(e))
        else:
            runs += 1
            path = Path(message["data"]).parent / f"weights-{os.getpid()}-{runs}.npz"
            np.savez(path, W=core.W, b=core.b)
            emit(event="done", history=asdict(history), weights=str(path))


if __name__ == "__main__":
    sys.exit(worker_main())
