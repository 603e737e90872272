"""The playground's runs: the one training thread of a server, the runs kept for comparison, the
data they train on, and each run's model.

    Playground(data_dir)   start / stop / pause / one_epoch / remove runs; open_model (serve MODEL);
                           hello and run_list (what a page is told); model_of, model_file, explain
    Run                    one run as the pages show it, and ``delta``: what a page has not seen

Training runs in one background thread through ``fit``, with its hooks: ``on_step`` after every
step (a pause waits there, slow motion sleeps there, and every few steps the step losses are
streamed as means of blocks of steps, at most POINTS_PER_EPOCH a epoch), ``on_epoch`` at each
epoch end (the history's numbers as recorded, the weights' pictures), ``stop`` the Stop button.
Every change is made under ``cond`` and bumps ``version``, which the event streams wait for.
Kept: the data of the last DATA_KEPT preprocessings, and the last MAX_RUNS runs for comparison.
"""

from __future__ import annotations

import json
import logging
import math
import tempfile
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from softmax_mnist.apps.playground_form import (
    DEFAULTS,
    MAX_EPOCHS,
    TRAINING_IMAGES,
    run_name,
    settings_from_form,
)
from softmax_mnist.apps.playground_pictures import (
    evidence_pictures,
    gray_picture,
    predictions,
    templates_of,
    test_result,
)
from softmax_mnist.apps.web import png_data_url
from softmax_mnist.core.config import TrainConfig
from softmax_mnist.core.data import (
    FILES,
    NUM_CLASSES,
    NUM_FEATURES,
    VAL_SIZE,
    Splits,
    find_file,
    load_raw,
    load_splits,
    resolve_data_dir,
)
from softmax_mnist.core.fit import fit
from softmax_mnist.core.functional import softmax
from softmax_mnist.core.loop import DIVERGENCE_FACTOR, Hooks, divergence_limit
from softmax_mnist.core.model import SoftmaxRegression
from softmax_mnist.core.presets import preset
from softmax_mnist.errors import ConfigError, DataError, DivergenceError, Interrupted, SoftmaxMnistError
from softmax_mnist.study.modelfile import load_model, model_inputs, save_model

log = logging.getLogger(__name__)

MAX_RUNS = 10  # runs kept for comparison; the oldest is dropped (never the one training)
DATA_KEPT = 2  # prepared datasets kept (about 220 MB each): e.g. course and the best preset's
POINTS_PER_EPOCH = 50  # loss points per epoch on the chart: each the mean of a block of steps
SLOW_EPOCH_SECONDS = 1.0  # "slow motion": an epoch takes at least this long
# the last epoch's mean training loss the course's settings reach (10 epochs, seed 0: 0.29 with
# momentum 0.9, 0.40 without; measured in this playground). A run whose loss is over HIGH_LOSS, a
# uniform guess's ln 10 (which any normal run is below from its first epoch on), gets a warning
# on the page even when its accuracy looks fine (lr 100: accuracy ~0.90 with a loss of 12 to 15)
COURSE_TRAIN_LOSS = (0.29, 0.40)
HIGH_LOSS = math.log(NUM_CLASSES)


class PageError(SoftmaxMnistError):
    """A request the playground refuses: ``code`` names the case for the pages (which say it in
    their language), ``info`` the numbers they need, ``status`` the HTTP status."""

    status = 409

    def __init__(self, message: str, code: str, **info):
        super().__init__(message)
        self.code, self.info = code, info


class Busy(PageError):
    """A Train while another run trains."""


@dataclass
class Prepared:
    """One preprocessing of MNIST, with a validation digit of each class to show predictions on."""

    splits: Splits
    sample_idx: np.ndarray  # (NUM_CLASSES,) indices into the validation split, digit 0 .. 9
    sample_images: list[str]  # what the model sees of them, as PNG data URLs

    def predictions(self, params: tuple | None) -> list[dict]:
        """The validation digits, with the predictions of ``params`` (W, b) when given."""
        return predictions(self.splits.x_val[self.sample_idx], self.sample_images, params)


@dataclass
class Run:
    """One run as the page shows it. Fields change only under the Playground's lock."""

    id: int
    name: str
    settings: dict | None  # TrainConfig.to_dict() (None: a model file opened with serve MODEL)
    meta: dict  # how inputs are prepared: preprocess, stats, transform (as model.npz has it)
    status: str = "waiting"  # waiting, loading, training, done, stopped, diverged, failed, loaded
    message: str = ""  # English; the pages build their own text from status and the fields below
    paused: bool = False
    slow: bool = False  # trained in slow motion (pages are sent its changes more often)
    stopped_at: dict | None = None  # {epoch, step} of a stopped run
    diverged: dict | None = None  # {epoch, loss (None: not finite), limit, lr} of a diverged run
    epochs: int = 0
    points: list = field(default_factory=list)  # [x in epochs, mean step loss of a block]
    epoch_rows: list = field(default_factory=list)  # per epoch: history's numbers
    templates: dict | None = None  # W's ten columns for the page to draw (templates_of), last epoch
    samples: list | None = None  # predictions on the validation digits, from the last epoch
    test: dict | None = None  # {loss, acc, confusion: 10 x 10 counts [true][predicted]}
    params: tuple | None = None  # (W, b) copies, from the last epoch (at the end: the final ones)
    version: int = 0  # bumped when the fields sent whole (not appended) change
    steps: int = 0  # steps done, counted by the stop hook
    in_epoch: int = 0  # steps of the current epoch already in points
    train_seconds: float = 0.0

    def summary(self) -> dict:
        last = self.epoch_rows[-1] if self.epoch_rows else {}
        return {"id": self.id, "name": self.name, "settings": self.settings, "status": self.status,
                "message": self.message, "epochs": self.epochs, "epochs_done": len(self.epoch_rows),
                "paused": self.paused, "stopped_at": self.stopped_at, "diverged": self.diverged,
                "train_loss": last.get("train_loss"), "val_acc": last.get("val_acc"),
                "test_acc": self.test["acc"] if self.test else None,
                "test_loss": self.test["loss"] if self.test else None,
                "train_seconds": round(self.train_seconds, 3),
                "downloadable": self.params is not None and self.status in ("done", "stopped", "loaded")}

    def delta(self, cursor: tuple | None) -> tuple[dict | None, tuple]:
        """What a page that has seen ``cursor`` (points, epochs, version) lacks, and the new cursor."""
        n_points, n_epochs, version = cursor or (0, 0, -1)
        if (n_points, n_epochs, version) == (len(self.points), len(self.epoch_rows), self.version):
            return None, cursor
        out = {"id": self.id, "points": self.points[n_points:], "epochs": self.epoch_rows[n_epochs:]}
        if version != self.version:
            out.update(status=self.status, message=self.message, templates=self.templates,
                       samples=self.samples, test=self.test)
        return out, (len(self.points), len(self.epoch_rows), self.version)


def missing_data(data_dir: Path) -> str | None:
    """None when the four MNIST files are in ``data_dir``, else how to get them."""
    try:
        for name in FILES.values():
            find_file(data_dir, name)
    except DataError as e:
        return (f"{e}. Then press Train again (or start `softmax-mnist serve --data-dir DIR` "
                "with a folder that holds the four files).")
    return None


class Playground:
    """The runs, the data and the one training thread of a server; pages follow it through
    playground_stream.Streams."""

    def __init__(self, data_dir=None, max_runs: int = MAX_RUNS, draw_page: bool = False):
        self.data_dir = resolve_data_dir(data_dir)
        self.max_runs = max_runs
        self.draw_page = draw_page  # a draw page at / (serve MODEL): the page links to it
        self._resume = threading.Event()  # cleared while the training run is paused
        self._resume.set()
        self._pause_after_epoch = False  # "one epoch": go on, and pause again when the epoch ends
        self.cond = threading.Condition()
        self.runs: OrderedDict[int, Run] = OrderedDict()
        self.training: Run | None = None
        self.version = 0  # bumped on every change; pages wait for it
        self.list_version = 0  # bumped when a run is added or dropped or its summary changes
        self.closed = False
        self._next_id = 1
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._data: OrderedDict[tuple, Prepared] = OrderedDict()
        self._data_lock = threading.Lock()
        self.data_message = missing_data(self.data_dir)

    # ---- what pages see ------------------------------------------------------------------------

    def _changed(self, run: Run | None = None, listed: bool = False) -> None:
        """Call with the lock held, after changing ``run``'s whole-sent fields or the run list."""
        if run is not None:
            run.version += 1
        if listed:
            self.list_version += 1
        self.version += 1
        self.cond.notify_all()

    def _add(self, run: Run) -> None:
        """Add ``run`` (lock held), dropping the oldest runs beyond max_runs, never the one training."""
        self.runs[run.id] = run
        for old in list(self.runs.values()):
            if len(self.runs) <= self.max_runs:
                break
            if old is not self.training and old is not run:
                del self.runs[old.id]
        self._changed(run, listed=True)

    def hello(self) -> dict:
        return {"data": {"ok": self.data_message is None, "message": self.data_message,
                         "dir": str(self.data_dir)},
                "defaults": DEFAULTS, "best": preset("best"), "max_runs": self.max_runs,
                "max_epochs": MAX_EPOCHS, "slow_epoch_seconds": SLOW_EPOCH_SECONDS,
                "divergence_limit": divergence_limit(NUM_CLASSES), "divergence_factor": DIVERGENCE_FACTOR,
                "course_loss": COURSE_TRAIN_LOSS, "high_loss": HIGH_LOSS,
                "draw_page": self.draw_page, "n_train": TRAINING_IMAGES - VAL_SIZE}

    def run_list(self) -> dict:
        return {"runs": [r.summary() for r in self.runs.values()],
                "training": self.training.id if self.training else None}

    def close(self) -> None:
        """Stop training and end every page's stream (for a server that shuts down)."""
        self.stop()
        with self.cond:
            self.closed = True
            self.cond.notify_all()
        if self._thread is not None:
            self._thread.join(timeout=30)

    # ---- runs ----------------------------------------------------------------------------------

    def open_model(self, path) -> Run:
        """A model file as the first run: its templates, drawing, and test accuracy if MNIST is here."""
        model, meta = load_model(path)
        if model.W.shape != (NUM_FEATURES, NUM_CLASSES):
            raise ConfigError(f"{path}: serve needs a 28x28, 10-class model, "
                              f"this one has W of shape {model.W.shape}")
        settings = meta.get("config")
        name = Path(path).name + (f" ({run_name({**DEFAULTS, **settings})})"
                                  if isinstance(settings, dict) and set(DEFAULTS) - {"slow"} <= set(settings)
                                  else "")
        run = Run(0, name, None, {k: meta.get(k) for k in ("preprocess", "stats", "transform")},
                  status="loaded", message=f"opened from {path}")
        run.params = (model.W.copy(), model.b.copy())
        run.templates = templates_of(model.W)
        if self.data_message is None:
            images, labels = load_raw(self.data_dir, "t10k")
            run.test = test_result(model, model_inputs(images, meta), labels)
        with self.cond:
            run.id = self._next_id
            self._next_id += 1
            self._add(run)
        return run

    def start(self, form) -> Run:
        """Start training with the page's settings; Busy if a run is training, ConfigError if the
        settings are bad, DataError if MNIST is not here."""
        config, slow = settings_from_form(form)
        self.data_message = missing_data(self.data_dir)  # it may have been downloaded since
        if self.data_message:
            raise DataError(self.data_message)
        settings = config.to_dict()
        with self.cond:
            if self.training is not None:
                t = self.training
                raise Busy(f"run #{t.id} ({t.name}) is training, and this server trains one run at "
                           "a time: wait for it to end or press Stop, then Train again", "busy", run=t.id)
            run = Run(self._next_id, run_name(settings), settings,
                      {"preprocess": config.preprocess, "transform": config.transform()},
                      epochs=config.epochs, slow=slow)
            self._next_id += 1
            self.training = run
            self._stop.clear()
            self._resume.set()
            self._pause_after_epoch = False
            self._add(run)
        self._thread = threading.Thread(target=self._train, args=(run, config, slow),
                                        name=f"playground run {run.id}", daemon=True)
        self._thread.start()
        return run

    def stop(self) -> Run | None:
        """Ask the run that trains to stop after its current step; the run, or None."""
        with self.cond:
            self._stop.set()
            self._resume.set()  # a paused run stops too
            return self.training

    def pause(self, paused: bool, after_epoch: bool = False) -> Run:
        """Hold the run that trains after its current step (or let it go on, and with
        ``after_epoch`` hold it again at the end of its epoch); PageError if none."""
        with self.cond:
            run = self.training
            if run is None:
                raise PageError("nothing is training", "idle")
            run.paused = paused
            self._pause_after_epoch = after_epoch
            (self._resume.clear if paused else self._resume.set)()
            self._changed(run, listed=True)
            return run

    def one_epoch(self) -> Run:
        """Let the run that trains go on to the end of its current epoch, then pause it."""
        return self.pause(False, after_epoch=True)

    def remove(self, run_id: int) -> None:
        """Drop a run from the comparison (for every page); PageError while it trains."""
        with self.cond:
            run = self.runs.get(run_id)
            if run is None:
                raise PageError(f"no run #{run_id}", "no_run", run=run_id)
            if run is self.training:
                raise PageError(f"run #{run_id} is training: stop it first", "remove_training", run=run_id)
            del self.runs[run_id]
            self._changed(listed=True)

    def get(self, run_id: int) -> Run | None:
        with self.cond:
            return self.runs.get(run_id)

    def _set(self, run: Run, **fields) -> None:
        with self.cond:
            for k, v in fields.items():
                setattr(run, k, v)
            self._changed(run, listed=True)

    def data(self, config: TrainConfig) -> Prepared:
        """The splits ``config`` trains on: loaded once, kept while among the last DATA_KEPT used."""
        key = data_key(config)
        with self._data_lock:
            if key in self._data:
                self._data.move_to_end(key)
                return self._data[key]
            while len(self._data) >= DATA_KEPT:  # free memory before loading the next one
                self._data.popitem(last=False)
            splits = load_splits(self.data_dir, config.val_size, config.preprocess, config.transform())
            idx = np.array([int(np.argmax(splits.y_val == d)) for d in range(NUM_CLASSES)])
            prepared = Prepared(splits, idx, [png_data_url(gray_picture(splits.x_val[i])) for i in idx])
            self._data[key] = prepared
            return prepared

    def _train(self, run: Run, config: TrainConfig, slow: bool) -> None:
        """The training thread: one run, streamed as it goes, then its test accuracy."""
        model = None
        try:
            with self._data_lock:
                cached = data_key(config) in self._data
            if not cached:
                self._set(run, status="loading", message="loading and preparing MNIST")
            data = self.data(config)
            d = data.splits
            run.meta["stats"] = d.stats
            self._set(run, status="training", message="", samples=data.predictions(None))
            # as study.run.train_model builds them, so the same seed gives the same history as `train`
            rng = np.random.default_rng(config.seed)
            model = SoftmaxRegression(d.x_train.shape[1], NUM_CLASSES, rng=rng)
            # the starting weights can read a drawn digit already, before the first epoch ends
            W0 = model.W.copy()
            self._set(run, params=(W0, model.b.copy()), templates=templates_of(W0))
            n_iter = math.ceil(len(d.x_train) / config.batch_size)
            block = math.ceil(n_iter / POINTS_PER_EPOCH)
            step_seconds = SLOW_EPOCH_SECONDS / n_iter if slow else 0.0
            start = time.perf_counter()
            paused_for = 0.0
            seen = {"losses": None}  # the epoch's step losses so far: a stop streams their last block

            def on_step(epoch: int, step: int, steps: int, losses, accs) -> None:  # after every step
                nonlocal paused_for
                run.steps += 1  # only this thread writes it
                if not self._resume.is_set():  # paused: wait here, between two steps
                    t0 = time.perf_counter()
                    self._resume.wait()
                    paused_for += time.perf_counter() - t0
                if step_seconds:
                    ahead = start + paused_for + run.steps * step_seconds - time.perf_counter()
                    if ahead > 0.001:
                        time.sleep(ahead)
                seen["losses"] = losses
                if step % block == 0 or step == steps:
                    stream_points(epoch, step)

            def stream_points(epoch: int, step: int) -> None:
                points = block_means(seen["losses"][:, 0], run.in_epoch, step, block, epoch - 1, n_iter)
                with self.cond:
                    run.points.extend(points)
                    run.in_epoch = step % n_iter
                    self._changed()

            def on_epoch(epoch: int, histories, arrays) -> None:  # its numbers as History recorded them
                h = histories[0]
                row = {"epoch": epoch, "train_loss": h.train_loss[-1], "train_acc": h.train_acc[-1],
                       "val_loss": h.val_loss[-1], "val_acc": h.val_acc[-1], "seconds": h.epoch_time[-1]}
                W, b = model.W.copy(), model.b.copy()
                samples = data.predictions((W, b))
                templates = templates_of(W)
                with self.cond:
                    run.epoch_rows.append(row)
                    run.params, run.templates, run.samples = (W, b), templates, samples
                    if self._pause_after_epoch:  # "one epoch" asked: held before the next step
                        self._pause_after_epoch, run.paused = False, True
                        self._resume.clear()
                    self._changed(run, listed=True)

            try:
                fit(config, d, Hooks(on_step=on_step, on_epoch=on_epoch, stop=self._stop.is_set),
                    model=model, rng=rng)
                status, message = "done", ""
            except Interrupted as e:
                if e.step % block and e.step < n_iter:  # the steps since the last block's point
                    stream_points(e.epoch, e.step)
                status, message = "stopped", f"stopped in epoch {e.epoch}, after step {e.step}"
                run.stopped_at = {"epoch": e.epoch, "step": e.step}
            run.train_seconds = time.perf_counter() - start - paused_for
            params, templates, samples = run.params, run.templates, run.samples  # of the last epoch's end
            if status != "done":  # stopped within an epoch: the weights moved since
                params = (model.W.copy(), model.b.copy())
                templates, samples = templates_of(params[0]), data.predictions(params)
            self._set(run, params=params, templates=templates, samples=samples, paused=False,
                      test=test_result(model, d.x_test, d.y_test), status=status, message=message)
        except DivergenceError as e:
            # no weights to show or ask: the starting ones would pass for what it learned
            self._set(run, status="diverged", message=str(e), params=None, templates=None, paused=False,
                      diverged=divergence_info(run, e, config))
        except SoftmaxMnistError as e:
            self._set(run, status="failed", message=str(e))
        except Exception as e:  # the page must hear of it; the server goes on
            log.exception("playground run %d failed", run.id)
            self._set(run, status="failed", message=f"{type(e).__name__}: {e}")
        finally:
            with self.cond:
                self.training = None
                self._changed(run, listed=True)

    # ---- a run's model -------------------------------------------------------------------------

    def model_of(self, run: Run) -> SoftmaxRegression:
        with self.cond:
            if run.status == "diverged":
                raise PageError(f"run #{run.id} diverged: it has no usable weights", "diverged", run=run.id)
            if run.params is None:
                raise PageError(f"run #{run.id} has no weights yet (it is {run.status})", "no_weights",
                                run=run.id, status=run.status)
            W, b = run.params
        model = SoftmaxRegression(NUM_FEATURES, NUM_CLASSES)
        model.params["W"][...], model.params["b"][...] = W, b
        return model

    def model_file(self, run: Run) -> bytes:
        """The run's weights as model.npz, exactly what `train` would write."""
        model = self.model_of(run)
        with tempfile.TemporaryDirectory() as tmp:
            path = save_model(Path(tmp) / "model.npz", model, run.meta["preprocess"], run.meta.get("stats"),
                              extra={"config": run.settings} if run.settings else None,
                              transform=run.meta.get("transform"))
            return path.read_bytes()

    def explain(self, run: Run, image: np.ndarray) -> dict:
        """A prepared digit (28, 28) -> the ten probabilities and, for the two likeliest classes,
        the evidence: feature value x weight per pixel (their sum plus b is the class score)."""
        model = self.model_of(run)
        x = model_inputs(image[None], run.meta)[0]
        logits = x @ model.W + model.b[0]
        probs = softmax(logits[None])[0]
        top = [int(c) for c in np.argsort(-probs, kind="stable")[:2]]
        return {"digit": top[0], "probs": [round(float(p), 6) for p in probs],
                "image": png_data_url(image), "seen": png_data_url(gray_picture(x)),
                "evidence": [{"digit": c, "score": round(float(logits[c]), 4),
                              "bias": round(float(model.b[0, c]), 4), "picture": picture}
                             for c, picture in zip(top, evidence_pictures(x, model.W, top))]}


def data_key(config: TrainConfig) -> tuple:
    return config.val_size, config.preprocess, json.dumps(config.transform(), sort_keys=True)


def block_means(losses, first: int, done: int, block: int, epochs_done: int, n_iter: int) -> list:
    """Points [x, loss] for steps first .. done of an epoch, one per block of ``block`` steps
    (blocks start at multiples of ``block``; the last may be short): x = epochs_done + end / n_iter."""
    points = []
    while first < done:  # fsum of a list: 2 us a block on the training thread (np.mean: 25 us)
        end = min((first // block + 1) * block, done)
        mean = math.fsum(np.asarray(losses[first:end]).tolist()) / (end - first)
        points.append([epochs_done + end / n_iter, mean])
        first = end
    return points


def divergence_info(run: Run, e: DivergenceError, config: TrainConfig) -> dict:
    """Where and why a run diverged, for the page to explain in its own words: the epoch, and the
    epoch's mean loss when that passed the limit (None: a step's loss was not finite)."""
    losses = e.history.train_loss if e.history is not None else []
    over = len(losses) > len(run.epoch_rows)  # the epoch ended, recorded, and was over the limit
    return {"epoch": len(run.epoch_rows) + 1, "loss": float(losses[-1]) if over else None,
            "limit": divergence_limit(NUM_CLASSES), "lr": config.lr, "weight_decay": config.weight_decay}


