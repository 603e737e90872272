"""The code the report shows: the course's three functions written the course's way, and
the source of a student's own three when the study ran on their classes (``study --impl``).

``SoftmaxCrossEntropyLoss.forward``, ``gradient_computing`` and ``SGD.step`` below are written
the course's way (plain NumPy, Chinese comments) in about 20 lines. The training itself runs
on the engine (core/functional.cross_entropy, core/model, core/optimizer.sgd_update), which is
faster and shares one code path with the stacked sweeps, but longer and harder to read. These
classes are the readable version of the same mathematics; tests/test_keycode.py holds them
equal to the engine (loss, accuracy, gradients and a few momentum steps) to float32 rounding,
so the code in the report is code that works. ``key_code`` reads them from this file's source
when the report is built, so the report cannot drift from them; ``impl_sources`` reads a
student's methods from the study folder's copy (impl/) without running them.
"""

from __future__ import annotations

import ast
import inspect
import textwrap
from pathlib import Path

import numpy as np

from softmax_mnist.study.report.typeset import literal


class SoftmaxCrossEntropyLoss:
    """The course's loss layer: W (D, C), b (1, C); forward, then gradient_computing."""

    def __init__(self, W: np.ndarray, b: np.ndarray):
        self.W, self.b = W, b
        self.trainable = True

    def forward(self, Input, labels):
        self.X = Input                                        # 留给反向传播
        Z = Input @ self.W + self.b                           # logit，形状 (N, C)
        Z = Z - Z.max(axis=1, keepdims=True)                  # 每行减去最大值，exp 不会溢出
        log_P = Z - np.log(np.exp(Z).sum(axis=1, keepdims=True))  # 稳定的 log-softmax
        self.P = np.exp(log_P)                                # 各类概率
        self.Y = np.eye(self.W.shape[1], dtype=Input.dtype)[labels]  # one-hot 标签
        loss = -np.mean(log_P[np.arange(len(labels)), labels])  # 平均交叉熵
        acc = np.mean(log_P.argmax(axis=1) == labels)
        return loss, acc

    def gradient_computing(self):
        dZ = (self.P - self.Y) / len(self.X)                  # ∂L/∂Z = (P − Y)/N
        self.grad_W = self.X.T @ dZ                           # ∂L/∂W = Xᵀ(P − Y)/N
        self.grad_b = dZ.sum(axis=0, keepdims=True)           # ∂L/∂b：各列求和


class SGD:
    """The course's optimizer: heavy-ball momentum; momentum 0 is plain SGD."""

    def __init__(self, model: SoftmaxCrossEntropyLoss, learning_rate: float, momentum: float = 0.0):
        self.model, self.learning_rate, self.momentum = model, learning_rate, momentum
        self.v_W, self.v_b = np.zeros_like(model.W), np.zeros_like(model.b)

    def step(self):
        m, lr, mu = self.model, self.learning_rate, self.momentum
        self.v_W = mu * self.v_W - lr * m.grad_W              # v ← μv − ηg，速度跨步保留
        self.v_b = mu * self.v_b - lr * m.grad_b
        m.W += self.v_W                                       # w ← w + v
        m.b += self.v_b


# ---- the source, as the report shows it ------------------------------------------------------


def key_code() -> str:
    """The three methods above under their class lines, read from this file's source."""
    loss, sgd = SoftmaxCrossEntropyLoss, SGD
    parts = [f"class {loss.__name__}:", inspect.getsource(loss.forward).rstrip(), "",
             inspect.getsource(loss.gradient_computing).rstrip(), "", "",
             f"class {sgd.__name__}:", inspect.getsource(sgd.step).rstrip()]
    return "\n".join(parts)


def method_source(path: Path, cls: str, name: str) -> str | None:
    """The source of method ``cls.name`` in the file ``path`` (read, never run), without its
    docstring; None when the file has no such method."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
        tree = ast.parse(text)
    except (OSError, SyntaxError, ValueError):
        return None
    for node in tree.body:
        if isinstance(node, ast.ClassDef) and node.name == cls:
            for method in node.body:
                if isinstance(method, (ast.FunctionDef, ast.AsyncFunctionDef)) and method.name == name:
                    first = min([method.lineno, *(d.lineno for d in method.decorator_list)])
                    lines = text.splitlines()[first - 1: method.end_lineno]
                    return _without_docstring(textwrap.dedent("\n".join(lines)))
    return None


def impl_sources(folder: Path, meta: dict) -> dict | None:
    """For a study run on a student's classes (meta "impl", ``study --impl``): their name, the
    settings this package's SGD trained instead, and the source of their forward,
    gradient_computing and step, read from the study folder's copy (impl/)."""
    if not meta.get("impl"):
        return None
    where = folder / "impl"
    # the folder's name is the student's text: shown as it is, never read as markup (typeset.literal)
    out = {"name": literal(meta["impl"]), "reference": list(meta.get("impl_reference") or [])}
    for key, file, cls in (("forward", "loss.py", "SoftmaxCrossEntropyLoss"),
                           ("gradient_computing", "loss.py", "SoftmaxCrossEntropyLoss"),
                           ("step", "optimizer.py", "SGD")):
        out[key] = method_source(where / file, cls, key) or f"# {cls}.{key}: not found in {file}"
    return out


def _without_docstring(src: str) -> str:
    body = ast.parse(src).body[0].body
    lines = src.splitlines()
    if body and isinstance(body[0], ast.Expr) and isinstance(getattr(body[0], "value", None),
                                                              ast.Constant):
        doc = body[0]
        del lines[doc.lineno - 1: doc.end_lineno]
    return "\n".join(lines)
