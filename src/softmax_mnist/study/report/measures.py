"""What the report computes or reads itself, beyond results.json's summaries: the gradient
check on the saved model, model.npz and examples.npz read and checked, the reference run's
initial weights drawn again, the pairs behind the large-step controls, and the grid of
validation accuracies behind the heatmap.

Numbers only: no sentence, no figure (report.py and sections.py place them, the words tables
and discussion.py say them).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from softmax_mnist.core.data import NUM_CLASSES, NUM_FEATURES
from softmax_mnist.study import results as rs
from softmax_mnist.study.results import ResultsError, summaries, summarize

GRAD_CHECK_ENTRIES = 60  # entries of W checked by central differences, besides all of b
GRAD_FLOOR = 1e-6  # entries of the gradient smaller than this are judged by absolute error
GRAD_SUSPECT = 1e-5  # a largest error above this: look at the formula
GRAD_FAR_BELOW = 1e-7  # a largest error below this is far from suspect
SIDE = 28  # the images' side in pixels, as examples.npz stores them


def gradient_check(W, b, x, y, entries: int = GRAD_CHECK_ENTRIES, h: float = 1e-5,
                   seed: int = 0) -> tuple[float, float]:
    """(largest, median) relative error |a - n| / max(|a|, |n|, GRAD_FLOOR) between the
    analytic gradient (functional.cross_entropy, then dW = X^T dlogits, db = column sums) and
    central differences, in float64, over ``entries`` random entries of W and every entry of b.

    The floor keeps the verdict meaningful for entries near zero: there a central difference
    is itself off by rounding (about 1e-16 L / h, 1e-11 here), which divided by a tiny
    gradient would look like a wrong formula."""
    from softmax_mnist.core.functional import cross_entropy
    from softmax_mnist.core.gradcheck import central_differences

    W, b, x = (np.asarray(a, dtype=np.float64).copy() for a in (W, b, x))

    def loss() -> float:
        return cross_entropy(x @ W + b, y)[0]

    _, dlogits = cross_entropy(x @ W + b, y)
    dW, db = x.T @ dlogits, dlogits.sum(axis=0, keepdims=True)
    rng = np.random.default_rng(seed)
    picks = [(W, dW, (int(i), int(j))) for i, j in zip(rng.integers(0, W.shape[0], entries),
                                                        rng.integers(0, W.shape[1], entries))]
    picks += [(b, db, (0, j)) for j in range(b.shape[1])]
    numeric = central_differences(loss, [(param, idx) for param, _, idx in picks], h)
    errors = [abs(num - grad[idx]) / max(abs(num), abs(grad[idx]), GRAD_FLOOR)
              for num, (_, grad, idx) in zip(numeric, picks)]
    return float(max(errors)), float(np.median(errors))


def check_saved_model(model, model_meta, examples) -> tuple[tuple[float, float] | None, int]:
    """The gradient check on the saved model and the test images of its most confident
    mistakes, and how many images that is; (None, 0) when the folder lacks either."""
    if model is None or examples is None or not len(examples.get("mistakes_images", ())):
        return None, 0
    from softmax_mnist.study.modelfile import model_inputs

    x = model_inputs(examples["mistakes_images"], model_meta)
    return gradient_check(model.W, model.b, x, examples["mistakes_true"]), len(x)


def load_model_and_examples(folder: Path):
    """model.npz and examples.npz of a study folder (None for a missing one), checked: a
    damaged or edited file is a one-line ResultsError naming it, not a traceback in a figure."""
    model = meta = examples = None
    if (folder / "model.npz").is_file():
        from softmax_mnist.study.modelfile import load_model

        model, meta = load_model(folder / "model.npz")
        if model.W.shape != (NUM_FEATURES, NUM_CLASSES):
            raise ResultsError(f"{folder / 'model.npz'}: the report needs a 28x28, 10-class model, "
                               f"this one has W of shape {model.W.shape}; rerun the study")
    if (folder / "examples.npz").is_file():
        examples = read_examples(folder / "examples.npz")
    return model, meta, examples


def read_examples(path: Path) -> dict:
    """The arrays of examples.npz (artifacts.examples), each of the dtype and shape the
    report draws: confusion (10, 10) counts, class_means (10, 28, 28), and per prefix
    (mistakes, ambiguous) images (k, 28, 28) uint8, true and pred (k,) classes, prob (k,)."""
    import zipfile
    import zlib

    from softmax_mnist.study.modelfile import MAX_BYTES, _read_npy

    def bad(what: str) -> ResultsError:
        return ResultsError(f"{path}: {what}; rerun the study (it writes examples.npz again)")

    try:
        with zipfile.ZipFile(path) as zf:
            infos = [i for i in zf.infolist() if i.filename.endswith(".npy")]
            if sum(i.file_size for i in infos) > MAX_BYTES:
                raise bad(f"its arrays claim over {MAX_BYTES:,} bytes")
            arrays = {i.filename[:-4]: _read_npy(zf.read(i), i.filename[:-4], bad) for i in infos}
    except ResultsError:
        raise
    except (OSError, EOFError, zipfile.BadZipFile, zlib.error, NotImplementedError, RuntimeError,
            ValueError) as e:
        raise bad(f"not a valid .npz file ({type(e).__name__})") from None

    def check(name: str, kinds: str, shape: tuple, low=None, high=None) -> None:
        a = arrays[name]
        if a.dtype.kind not in kinds or a.ndim != len(shape) or any(
                n is not None and n != m for n, m in zip(shape, a.shape)):
            want = "x".join("k" if n is None else str(n) for n in shape)
            raise bad(f"{name} is {a.dtype} {a.shape}, expected {want} "
                      f"{'integers' if kinds == 'iu' else 'uint8' if kinds == 'u' else 'floats'}")
        if a.dtype.kind == "f" and not np.isfinite(a).all():
            raise bad(f"{name} holds non-finite values")
        if a.size and ((low is not None and a.min() < low) or (high is not None and a.max() > high)):
            raise bad(f"{name} holds values outside {low}..{high}")

    if "confusion" in arrays:
        check("confusion", "iu", (NUM_CLASSES, NUM_CLASSES), 0)
    if "class_means" in arrays:
        check("class_means", "f", (NUM_CLASSES, SIDE, SIDE))
    for prefix in ("mistakes", "ambiguous"):
        parts = [f"{prefix}_{k}" for k in ("images", "true", "pred", "prob")]
        if not any(p in arrays for p in parts):
            continue
        missing = [p for p in parts if p not in arrays]
        if missing:
            raise bad(f"{', '.join(missing)} missing beside the other {prefix} arrays")
        if arrays[parts[0]].dtype != np.uint8:
            raise bad(f"{parts[0]} is {arrays[parts[0]].dtype}, expected uint8 images")
        check(parts[0], "u", (None, SIDE, SIDE))
        k = len(arrays[parts[0]])
        check(parts[1], "iu", (k,), 0, NUM_CLASSES - 1)
        check(parts[2], "iu", (k,), 0, NUM_CLASSES - 1)
        check(parts[3], "f", (k,), 0, 1)
    return arrays


def initial_weights(results: dict, ref: str | None, model):
    """The reference run's initial W, drawn again from its seed as training drew it (the
    first draw of default_rng(seed)); None when the run is unknown or its shape differs."""
    from softmax_mnist.core.model import SoftmaxRegression

    run = next((r for r in results["runs"] if r["name"] == ref), None)
    if run is None:
        return None
    init = SoftmaxRegression(model.W.shape[0], model.W.shape[1],
                             rng=np.random.default_rng(run["config"]["seed"]))
    return init.W


def effective_step(config: dict) -> float:
    """η/(1−μ): how far a step moves where the gradient changes slowly."""
    return config["lr"] / (1 - config.get("momentum", 0))


def large_step_pairs(results: dict) -> list:
    """(momentum 0.9 at lr η, plain SGD at η/(1−μ)) for the plain-SGD large-step controls."""
    lrs = summaries(results, "lr")
    out = []
    for name in rs.CONTROLS_LARGE:
        plain = summarize(results, name)
        mom = next((s for s in lrs if plain and s.config.get("momentum")
                    and abs(effective_step(s.config) - plain.config["lr"]) < 1e-9), None)
        if plain and mom:
            out.append((mom, plain))
    return out


def accuracy_grid(heat: list) -> tuple[list, list, np.ndarray, dict]:
    """The heatmap's numbers from the lr x batch summaries: the learning rates, the batch
    sizes, the mean final validation accuracy (batch sizes x rates, NaN where a setting
    diverged) and each batch size's best rate."""
    rates = sorted({s.config["lr"] for s in heat})
    sizes = sorted({s.config["batch_size"] for s in heat})
    acc = np.full((len(sizes), len(rates)), np.nan)
    for s in heat:
        if s.ok:
            acc[sizes.index(s.config["batch_size"]), rates.index(s.config["lr"])] = s.val_acc.mean
    best_lr = {b: rates[int(np.nanargmax(acc[i]))] for i, b in enumerate(sizes)
               if np.isfinite(acc[i]).any()}
    return rates, sizes, acc, best_lr

