"""What the playground shows of a model: its weights as ten templates, what it saw of a digit and
the evidence for a class, its predictions on a few validation digits, and its test result.

    templates_of(W)           W's ten columns, int8 for the page to draw
    evidence_pictures(x, W)   per pixel, feature value x weight: how much it pushed each score
    gray_picture(x)           a feature vector as an image, its range stretched
    predictions(x, images)    the validation digits with what ``params`` predict for them
    test_result(model, x, y)  test loss, accuracy, confusion matrix and the surest mistakes
"""

from __future__ import annotations

import base64

import numpy as np

from softmax_mnist.apps.prepare import SIZE
from softmax_mnist.apps.web import png_data_url, template_image
from softmax_mnist.core.data import NUM_CLASSES
from softmax_mnist.core.functional import confusion_matrix, softmax
from softmax_mnist.core.loop import evaluate
from softmax_mnist.core.model import SoftmaxRegression

MISTAKES_SHOWN = 8


def templates_of(W: np.ndarray) -> dict:
    """W (784, 10) -> {"scale": max |W|, "int8": base64 of the (10, 784) int8 round(127 W^T / scale)}:
    the page draws the ten pictures itself (red > 0, blue < 0, as web.template_image), so the
    training thread spends microseconds on them, not the milliseconds of ten PNGs."""
    scale = float(np.abs(W).max()) or 1.0  # one scale for all ten, so they compare
    q = np.round(W.T * (127 / scale)).astype(np.int8)
    return {"scale": scale, "int8": base64.b64encode(q.tobytes()).decode("ascii")}


def evidence_pictures(x: np.ndarray, W: np.ndarray, classes) -> list[str]:
    """Feature values x (784,) times each class's weights: per pixel, how much it pushed the score
    (red toward the class, blue against), one scale for all so they compare; PNG data URLs."""
    evidence = [x * W[:, c] for c in classes]
    scale = max(float(np.abs(e).max()) for e in evidence) or 1.0
    return [png_data_url(template_image(e, scale)) for e in evidence]


def gray_picture(x: np.ndarray) -> np.ndarray:
    """A feature vector (784,) -> uint8 (28, 28), its range stretched to 0 .. 255."""
    lo, hi = float(x.min()), float(x.max())
    return np.round((x.reshape(SIZE, SIZE) - lo) * (255 / (hi - lo or 1.0))).astype(np.uint8)


def predictions(x: np.ndarray, images: list[str], params: tuple | None) -> list[dict]:
    """The digits ``x`` (one per class, in order) with their pictures, and the predictions of
    ``params`` (W, b) when given: the class and its probability."""
    out = [{"label": d, "image": img} for d, img in enumerate(images)]
    if params is not None:
        probs = softmax(x @ params[0] + params[1])
        for sample, p in zip(out, probs):
            sample["pred"], sample["prob"] = int(p.argmax()), round(float(p.max()), 4)
    return out


def test_result(model: SoftmaxRegression, x: np.ndarray, y: np.ndarray) -> dict:
    """Test loss, accuracy and the confusion matrix [true][predicted] (reported, never used to choose),
    and the MISTAKES_SHOWN most confident mistakes: what the model saw and the evidence for the
    class it chose and for the true one."""
    loss, acc = evaluate(model, x, y)
    probs = np.concatenate([softmax(x[i:i + 10000] @ model.W + model.b) for i in range(0, len(x), 10000)])
    pred = probs.argmax(axis=1)
    wrong = np.flatnonzero(pred != y)
    worst = wrong[np.argsort(-probs[wrong, pred[wrong]], kind="stable")[:MISTAKES_SHOWN]]
    mistakes = []
    for i in worst:
        p, t = int(pred[i]), int(y[i])
        chosen, true = evidence_pictures(x[i], model.W, (p, t))
        mistakes.append({"index": int(i), "label": t, "pred": p, "prob": round(float(probs[i, p]), 4),
                         "prob_label": round(float(probs[i, t]), 4),
                         "seen": png_data_url(gray_picture(x[i])), "evidence": [chosen, true]})
    return {"loss": loss, "acc": acc, "confusion": confusion_matrix(y, pred, NUM_CLASSES).tolist(),
            "mistakes": mistakes}
