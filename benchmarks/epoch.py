"""Time one training epoch: this package's ``fit`` against the course framework's way.

Both train softmax regression on the first 55,000 MNIST training images with
minibatch SGD (heavy-ball momentum) and the course's preprocessing (x / 255 minus
each image's own mean), for exactly one epoch from a fresh model.

  package  softmax_mnist.core.fit.fit on float32 arrays preprocessed once, up front
           (batches gathered by fancy indexing).
  course   written here the way the course framework does it: a Dataset whose
           __getitem__ preprocesses one image (float64), a loader that loops in Python
           over each batch's indices and np.stack's the samples, a fused
           layer + softmax cross-entropy class with float64 W, b, and the course's SGD.

Runs alternate package, course, package, course, ... so that machine noise hits
both; the table reports the median and the minimum seconds per epoch, their ratio
course / package, and the test accuracy after each epoch as a check that both train.

    python benchmarks/epoch.py [--data-dir DIR] [--repeats N] [--batch-size B]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from dataclasses import replace
from datetime import datetime
from pathlib import Path

import numpy as np

from softmax_mnist.core.config import TrainConfig
from softmax_mnist.core.data import load_raw, load_splits
from softmax_mnist.core.fit import fit
from softmax_mnist.core.loop import evaluate
from softmax_mnist.core.model import SoftmaxRegression
from softmax_mnist.errors import SoftmaxMnistError

REPO_ROOT = Path(__file__).resolve().parents[1]
N_TRAIN = 55000
LR = 0.01
MOMENTUM = 0.9


# ---- the course framework's way, written from its description -----------------------------


class CourseDataset:
    """Raw uint8 images (N, 784); each __getitem__ preprocesses one image as float64."""

    def __init__(self, images: np.ndarray, labels: np.ndarray):
        self.images = images.reshape(len(images), -1)
        self.labels = labels

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, idx):
        image = self.images[idx] / 255.0  # uint8 / float -> float64
        image = image - image.mean()
        return image, self.labels[idx]


class CourseLoader:
    """One epoch of batches, each built sample by sample in Python and np.stack'ed."""

    def __init__(self, dataset: CourseDataset, batch_size: int, rng: np.random.Generator):
        self.dataset, self.batch_size, self.rng = dataset, batch_size, rng

    def __iter__(self):
        order = self.rng.permutation(len(self.dataset))
        for start in range(0, len(order), self.batch_size):
            images, labels = [], []
            for idx in order[start : start + self.batch_size]:
                image, label = self.dataset[idx]
                images.append(image)
                labels.append(label)
            yield np.stack(images), np.array(labels)


class CourseSoftmaxCrossEntropy:
    """Fused linear layer + softmax + cross-entropy with float64 W (D, C) and b (1, C)."""

    def __init__(self, num_input: int, num_output: int, rng: np.random.Generator):
        std = np.sqrt(4.0 / (num_input + num_output))  # same init (and draw order) as the package
        self.num_output = num_output
        self.W = rng.normal(0.0, std, (num_input, num_output))
        self.b = rng.normal(0.0, std, (1, num_output))
        self.W_grad = np.zeros_like(self.W)
        self.b_grad = np.zeros_like(self.b)

    def forward(self, x: np.ndarray, labels: np.ndarray) -> tuple[float, float]:
        logits = x @ self.W + self.b
        e = np.exp(logits - logits.max(axis=1, keepdims=True))
        self.prob = e / e.sum(axis=1, keepdims=True)
        self.onehot = np.eye(self.num_output)[labels]
        self.x = x
        loss = -np.sum(self.onehot * np.log(self.prob + 1e-12)) / len(x)
        acc = np.mean(self.prob.argmax(axis=1) == labels)
        return float(loss), float(acc)

    def gradient_computing(self) -> None:
        d = (self.prob - self.onehot) / len(self.x)
        self.W_grad = self.x.T @ d
        self.b_grad = d.sum(axis=0, keepdims=True)


class CourseSGD:
    """The course's heavy-ball update: diff = mu * diff - lr * grad; param += diff."""

    def __init__(self, model: CourseSoftmaxCrossEntropy, learning_rate: float, momentum: float):
        self.model, self.learning_rate, self.momentum = model, learning_rate, momentum
        self.diff_W = np.zeros_like(model.W)
        self.diff_b = np.zeros_like(model.b)

    def step(self) -> None:
        m = self.model
        self.diff_W = self.momentum * self.diff_W - self.learning_rate * m.W_grad
        self.diff_b = self.momentum * self.diff_b - self.learning_rate * m.b_grad
        m.W += self.diff_W
        m.b += self.diff_b


def course_epoch(model, optimizer, loader) -> tuple[list[float], list[float]]:
    losses, accs = [], []
    for x, y in loader:
        loss, acc = model.forward(x, y)
        model.gradient_computing()
        optimizer.step()
        losses.append(loss)
        accs.append(acc)
    return losses, accs


# ---- one timed run of each ---------------------------------------------------------------


def run_package(splits, batch_size: int, seed: int) -> tuple[float, float]:
    """Seconds for one epoch of ``fit``, and the test accuracy after it."""
    model = SoftmaxRegression(784, 10, rng=np.random.default_rng(seed), dtype=np.float32)
    shuffle_rng = np.random.default_rng(seed + 1000)
    config = TrainConfig(epochs=1, batch_size=batch_size, lr=LR, momentum=MOMENTUM)
    start = time.perf_counter()
    fit(config, replace(splits, x_val=None, y_val=None), model=model, rng=shuffle_rng)
    seconds = time.perf_counter() - start
    _, test_acc = evaluate(model, splits.x_test, splits.y_test)
    return seconds, test_acc


def run_course(dataset, x_test, y_test, batch_size: int, seed: int) -> tuple[float, float]:
    """Seconds for one epoch the course's way, and the test accuracy after it."""
    model = CourseSoftmaxCrossEntropy(784, 10, np.random.default_rng(seed))
    optimizer = CourseSGD(model, LR, MOMENTUM)
    loader = CourseLoader(dataset, batch_size, np.random.default_rng(seed + 1000))
    start = time.perf_counter()
    course_epoch(model, optimizer, loader)
    seconds = time.perf_counter() - start
    _, test_acc = model.forward(x_test, y_test)
    return seconds, test_acc


# ---- machine description -----------------------------------------------------------------


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown"


def blas_info() -> str:
    try:
        from threadpoolctl import threadpool_info  # optional; used only when present
    except ImportError:
        pass
    else:
        libs = [
            f"{i.get('internal_api')} {i.get('version')} "
            f"({i.get('num_threads')} threads, {i.get('architecture')})"
            for i in threadpool_info()
            if i.get("user_api") == "blas"
        ]
        if libs:
            return "; ".join(libs)
    try:
        deps = np.show_config(mode="dicts")["Build Dependencies"]  # numpy >= 1.26
        blas = deps["blas"]
        return f"{blas.get('name')} {blas.get('version')}"
    except Exception:  # older numpy: no dict mode
        return "unknown (see numpy.show_config())"


def machine_lines() -> list[str]:
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    env = "  ".join(f"{k}={os.environ.get(k, '(unset)')}"
                    for k in ("OPENBLAS_CORETYPE", "OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS"))
    return [
        f"date     {datetime.now().astimezone().isoformat(timespec='seconds')}",
        f"cpu      {cpu_model()}, {os.cpu_count()} cores ({usable} usable)",
        f"python   {platform.python_version()}, numpy {np.__version__}",
        f"blas     {blas_info()}",
        f"env      {env}",
    ]


# ---- main --------------------------------------------------------------------------------


def default_data_dir() -> Path:
    env = os.environ.get("MNIST_DATA_DIR")
    return Path(env) if env else REPO_ROOT.parent / "shared" / "data" / "mnist"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", type=Path, default=default_data_dir(),
                        help="MNIST folder (default: $MNIST_DATA_DIR, else ../shared/data/mnist)")
    parser.add_argument("--repeats", type=int, default=5, help="timed epochs of each (default 5)")
    parser.add_argument("--batch-size", type=int, default=100, help="minibatch size (default 100)")
    args = parser.parse_args(argv)
    if args.repeats < 1:
        parser.error("--repeats must be at least 1")
    if not 1 <= args.batch_size <= N_TRAIN:
        parser.error(f"--batch-size must be in 1..{N_TRAIN}")

    # everything loaded and preprocessed once, outside the timings
    try:
        splits = load_splits(args.data_dir, val_size=60000 - N_TRAIN, preprocess_mode="course")
        train_images, train_labels = load_raw(args.data_dir, "train")
        test_images, y_test = load_raw(args.data_dir, "t10k")
    except SoftmaxMnistError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    dataset = CourseDataset(train_images[:N_TRAIN], train_labels[:N_TRAIN])
    x_test = test_images.reshape(len(test_images), -1) / 255.0
    x_test -= x_test.mean(axis=1, keepdims=True)

    print(f"one training epoch of softmax regression on MNIST: {N_TRAIN:,} images, "
          f"batch {args.batch_size}, lr {LR}, momentum {MOMENTUM}, course preprocessing")
    print("\n".join(machine_lines()))
    print(f"data     {args.data_dir}")
    print()
    print(f"{'run':>3}  {'implementation':<16} {'seconds':>8}  {'test acc':>8}")
    times = {"package": [], "course": []}
    accs = {"package": [], "course": []}
    for r in range(args.repeats):  # interleaved: package, course, package, course, ...
        for name in ("package", "course"):
            if name == "package":
                seconds, acc = run_package(splits, args.batch_size, seed=r)
            else:
                seconds, acc = run_course(dataset, x_test, y_test, args.batch_size, seed=r)
            times[name].append(seconds)
            accs[name].append(acc)
            print(f"{r + 1:>3}  {name:<16} {seconds:>8.3f}  {acc:>8.4f}", flush=True)

    print()
    labels = {"package": "package (float32)", "course": "course (float64)"}
    print(f"{'implementation':<18} {'median s':>9} {'min s':>8} {'max s':>8}  {'test acc':>8}")
    for name in ("package", "course"):
        t = times[name]
        print(f"{labels[name]:<18} {statistics.median(t):>9.3f} {min(t):>8.3f} {max(t):>8.3f}  "
              f"{accs[name][-1]:>8.4f}")
    med = statistics.median(times["course"]) / statistics.median(times["package"])
    best = min(times["course"]) / min(times["package"])
    print(f"{'ratio course/package':<18} {med:>8.1f}x {best:>7.1f}x")
    print(f"(repeats {args.repeats}; test acc is after the last run's epoch)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
