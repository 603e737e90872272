"""The study report, built from a saved study folder without training, in zh or en.

``build_report(folder, lang)`` reads results.json (results.py) and, when present, model.npz
and examples.npz; it draws the figures (visualize.py), takes every sentence from
discussion.py, computes the method section (a gradient check on the saved model, the key
code read from this package's source), and writes report.typ + template.typ -> report.pdf
(Typst) and report.md (typeset.py): one document, two renderings.
"""

from __future__ import annotations

import ast
import inspect
import os
import textwrap
from dataclasses import dataclass
from pathlib import Path

import matplotlib
import numpy as np

from softmax_mnist import __version__
from softmax_mnist.fileio import atomic_write_text
from softmax_mnist.study import discussion, findings, fonts
from softmax_mnist.study import results as rs
from softmax_mnist.study import visualize as viz
from softmax_mnist.study.results import ResultsError, load_results, summaries, summarize
from softmax_mnist.study.typeset import (
    Bullets,
    Code,
    Document,
    Heading,
    Image,
    Math,
    Para,
    Table,
    check_fonts,
    compile_pdf,
    literal,
    to_markdown,
    write_typst,
)
from softmax_mnist.study.wording import four_places, mean_sd, points, two_significant

ReportError = ResultsError
FIGURES = 8  # a full study's figures: the length of the report's progress bar
GRAD_CHECK_ENTRIES = 60  # entries of W checked by central differences, besides all of b


@dataclass
class ReportPaths:
    markdown: Path
    pdf: Path
    typst: Path
    figures: list[Path]
    pages: int


def output_name(lang: str, suffix: str) -> str:
    """The file (suffix ".md", ".typ", ".pdf") or figure folder (suffix "") of a report in
    ``lang``: Chinese, the default, is report.md and figures/; English sits beside it as
    report.en.md and figures.en/, so building one language never writes over the other."""
    if suffix:
        return "report" + ("" if lang == "zh" else f".{lang}") + suffix
    return "figures" + ("" if lang == "zh" else f".{lang}")


def T(lang: str, en: str, zh: str) -> str:
    """The text in the report's language."""
    return zh if lang == "zh" else en


# ---- the method: computed when the report is built -----------------------------------------


GRAD_FLOOR = 1e-6  # entries of the gradient smaller than this are judged by absolute error


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
    nums = central_differences(loss, [(param, idx) for param, _, idx in picks], h)
    errors = [abs(num - grad[idx]) / max(abs(num), abs(grad[idx]), GRAD_FLOOR)
              for num, (_, grad, idx) in zip(nums, picks)]
    return float(max(errors)), float(np.median(errors))


def source_of(func) -> str:
    """The source of ``func`` without its docstring (read now, so it cannot drift)."""
    return _without_docstring(textwrap.dedent(inspect.getsource(func)))


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
            for f in node.body:
                if isinstance(f, (ast.FunctionDef, ast.AsyncFunctionDef)) and f.name == name:
                    first = min([f.lineno, *(d.lineno for d in f.decorator_list)])
                    lines = text.splitlines()[first - 1: f.end_lineno]
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


def method_section(doc: Document, lang: str, check: tuple[float, float] | None, n_check: int,
                   study: bool = True, impl: dict | None = None) -> None:
    L = lang
    doc.add(Heading(T(L, "Method", "方法")), Heading(T(L, "Model and loss", "模型与损失函数"), 2),
            Para(T(L, "An image is a row x of D = 784 pixel values; the model gives each of the C = 10 "
                   "classes a score (logit) and turns the scores into probabilities with the softmax. "
                   "For a minibatch X (N × D), with W (D × C) and b (1 × C):",
                   "每张图像展开为 D = 784 维的行向量 x；模型为 C = 10 个类别各给出一个得分（logit），"
                   "再用 softmax 把得分变成概率。对一个小批量 X（N × D），参数 W（D × C）和 b（1 × C）：")),
            Math("Z = X W + b, quad p_(i c) = e^(z_(i c)) / (sum_(k=1)^C e^(z_(i k)))",
                 r"Z = XW + b,\qquad p_{ic} = \frac{e^{z_{ic}}}{\sum_{k=1}^{C} e^{z_{ik}}}",
                 "eq-softmax"),
            Para(T(L, "The loss is the mean cross-entropy between the predicted probabilities and the "
                   "true labels $y_i$ (Y is their one-hot matrix):",
                   "损失是预测概率与真实标签 $y_i$ 之间的平均交叉熵（Y 为标签的 one-hot 矩阵）：")),
            Math("L = -1/N sum_(i=1)^N log p_(i, y_i) = -1/N sum_(i=1)^N sum_(c=1)^C Y_(i c) log p_(i c)",
                 r"L = -\frac{1}{N}\sum_{i=1}^{N}\log p_{i,y_i} = -\frac{1}{N}\sum_{i=1}^{N}"
                 r"\sum_{c=1}^{C} Y_{ic}\log p_{ic}", "eq-ce"),
            Heading(T(L, "Gradient", "梯度推导"), 2),
            Para(T(L, "Differentiate @eq-ce through @eq-softmax. For one sample, "
                   "$log p_(i c) = z_(i c) - log sum_(k=1)^C e^(z_(i k))$, so "
                   "$(partial (-log p_(i, y_i))) / (partial z_(i c)) = p_(i c) - Y_(i c)$: the derivative "
                   "of the log-sum-exp is the softmax itself, and the true class loses 1. Averaging "
                   "over the N samples and applying the chain rule through Z = XW + b, with "
                   "$(partial z_(i c)) / (partial W_(d c)) = x_(i d)$ and $(partial z_(i c)) / (partial b_c) = 1$:",
                   "由 @eq-softmax 和 @eq-ce 求梯度。对单个样本，$log p_(i c) = z_(i c) - log sum_(k=1)^C e^(z_(i k))$，因此 "
                   "$(partial (-log p_(i, y_i))) / (partial z_(i c)) = p_(i c) - Y_(i c)$：log-sum-exp 的导数正是 "
                   "softmax 本身，真实类别处再减去 1。对 N 个样本取平均，再沿 Z = XW + b 用链式法则，其中 "
                   "$(partial z_(i c)) / (partial W_(d c)) = x_(i d)$，$(partial z_(i c)) / (partial b_c) = 1$：")),
            Math("(partial L)/(partial Z) = (P - Y)/N, quad (partial L)/(partial W) = X^T (P - Y)/N, "
                 "quad (partial L)/(partial b) = bold(1)^T (P - Y)/N",
                 r"\frac{\partial L}{\partial Z} = \frac{P - Y}{N},\qquad \frac{\partial L}{\partial W}"
                 r" = \frac{X^{\top}(P - Y)}{N},\qquad \frac{\partial L}{\partial b} = "
                 r"\frac{\mathbf{1}^{\top}(P - Y)}{N}", "eq-grad"),
            Para(T(L, "so ∂L/∂b is the column sums of (P − Y)/N. The division by N makes the gradient "
                   "that of the mean, so the learning rate does not have to change with the batch "
                   "size to keep the same step per update.",
                   "即 ∂L/∂b 是 (P − Y)/N 的列和。除以 N 使其成为平均损失的梯度，"
                   "这样每次更新的步长不会随批大小成倍变化。")),
            Heading(T(L, "A numerically stable log-softmax", "数值稳定的 log-softmax"), 2),
            Para(T(L, "In float32, $e^z$ overflows to infinity for z > 88.7, and logits of that size occur "
                   "with a large learning rate or long training; log(softmax + ε) also loses the "
                   "small probabilities. Subtracting the row maximum $m_i$ changes nothing "
                   "mathematically (it cancels between numerator and denominator) and makes every "
                   "exponent ≤ 0, as @eq-logsoftmax does:",
                   "在 float32 中，z > 88.7 时 $e^z$ 就溢出为无穷大，而学习率较大或训练较久时这样大的 logit 并不少见；"
                   "log(softmax + ε) 的写法还会丢失很小的概率。减去每行的最大值 $m_i$ 在数学上不改变结果"
                   "（分子分母同时约去），却让所有指数都 ≤ 0，即 @eq-logsoftmax：")),
            Math("log p_(i c) = z_(i c) - m_i - log sum_(k=1)^C e^(z_(i k) - m_i), quad m_i = max_k z_(i k)",
                 r"\log p_{ic} = z_{ic} - m_i - \log\sum_{k=1}^{C} e^{z_{ik}-m_i},\qquad "
                 r"m_i = \max_k z_{ik}", "eq-logsoftmax"))
    if check is not None:
        worst, median = check
        ok = worst < 1e-5
        doc.add(Para(T(L, f"Gradient check: on the saved model (model.npz) and {n_check} test images, the "
                       f"analytic gradient of @eq-grad was compared in float64 with central differences "
                       f"(h = 10⁻⁵) on {GRAD_CHECK_ENTRIES} random entries of W and all 10 of b. The error "
                       "of an entry is |a − n| / max(|a|, |n|, 10⁻⁶): relative for ordinary entries, absolute "
                       "for entries below 10⁻⁶, where the central difference's own rounding (about 10⁻¹¹) "
                       f"would otherwise look like a wrong formula. The largest error is {worst:.1e}, the "
                       f"median {median:.1e}"
                       + ((": far below" if worst < 1e-7 else ": below") + " the 10⁻⁵ past which a formula is suspect." if ok else
                          "; above 10⁻⁵, so look at the formula."),
                       f"梯度检验：在保存的模型（model.npz）和 {n_check} 张测试图像上，用 float64 把 @eq-grad 的解析梯度"
                       f"与中心差分（h = 10⁻⁵）比较，检查 W 中随机的 {GRAD_CHECK_ENTRIES} 个元素和 b 的全部 10 个元素。"
                       "每个元素的误差取 |a − n| / max(|a|, |n|, 10⁻⁶)：一般元素看相对误差；小于 10⁻⁶ 的元素看绝对误差，"
                       "因为中心差分本身的舍入误差约为 10⁻¹¹，除以一个很小的梯度会被误当成公式错误。"
                       f"最大误差为 {worst:.1e}，中位数为 {median:.1e}"
                       + (("，远低于" if worst < 1e-7 else "，低于") + "提示公式可能有误的 10⁻⁵。" if ok else "，超过 10⁻⁵，公式需要检查。"))))
        if impl:
            doc.add(Para(T(L, f"The saved model was trained with the classes of {impl['name']}/; the check above "
                           "tests @eq-grad on its weights, not their `gradient_computing`: "
                           f"`softmax-mnist check {impl['name']}` compares that with central differences.",
                           f"保存的模型由 {impl['name']}/ 中的类训练；上面的检验是在其权重上检验 @eq-grad，"
                           f"而不是检验他们的 `gradient_computing`：后者由 `softmax-mnist check {impl['name']}` "
                           "与中心差分比较。")))
    doc.add(Heading(T(L, "Momentum", "动量"), 2),
            Para(T(L, "SGD with heavy-ball momentum keeps a velocity v per parameter; with μ = 0 it is "
                   "plain SGD, w ← w − ηg:",
                   "带 heavy-ball 动量的 SGD 为每个参数保留一个速度 v；μ = 0 时即普通 SGD：w ← w − ηg。")),
            Math("v <- mu v - eta g, quad w <- w + v, quad "
                 "v -> -eta / (1 - mu) g quad \"(constant g)\"",
                 r"v \leftarrow \mu v - \eta g,\qquad w \leftarrow w + v,\qquad "
                 r"v \to -\frac{\eta}{1-\mu}\,g\ \ \text{(constant } g\text{)}", "eq-momentum"),
            Para(T(L, "Where the gradient changes slowly, the velocity settles at the geometric sum "
                   "−ηg(1 + μ + μ² + …) = −ηg/(1 − μ): momentum 0.9 moves ten times as far per step as "
                   "plain SGD at the same η." + (" The effective step η/(1 − μ) is why the momentum "
                                                 "study below adds controls at equal effective step."
                                                 if study else ""),
                   "在梯度变化缓慢的方向上，速度趋于几何级数 −ηg(1 + μ + μ² + …) = −ηg/(1 − μ)："
                   "同样的 η 下，动量 0.9 每步走的距离是普通 SGD 的十倍。η/(1 − μ) 称为有效步长"
                   + ("，这正是下面的动量实验要加入“等有效步长”对照的原因。" if study else "。"))),
            )
    if impl:  # study --impl: the student's code is what trained
        _impl_code(doc, L, impl)
        return
    doc.add(Heading(T(L, "Key code", "关键代码"), 2),
            Para(T(L, "The course's three functions, written the course's way (@code-key): `forward` "
                   "computes the logits, the stable log-softmax of @eq-logsoftmax, the mean "
                   "cross-entropy and the accuracy, and keeps X, P and Y for the backward pass; "
                   "`gradient_computing` applies @eq-grad; `step` applies @eq-momentum with the "
                   "velocity kept between steps. They live in softmax_mnist/study/keycode.py, read "
                   "from there when this report was built. The training itself ran on a faster "
                   "version of the same formulas (core/functional.py, core/model.py, "
                   "core/optimizer.py); tests/test_keycode.py checks that the two give the same loss, "
                   "accuracy, gradients and momentum steps to float32 rounding.",
                   "课程要求的三个函数按课程的写法给出（@code-key）：`forward` 计算 logit、@eq-logsoftmax 的稳定 "
                   "log-softmax、平均交叉熵和准确率，并留下 X、P、Y 供反向传播使用；`gradient_computing` 按 @eq-grad "
                   "计算梯度；`step` 按 @eq-momentum 更新参数，速度在各步之间保留。这段代码位于 "
                   "softmax_mnist/study/keycode.py，生成报告时直接从该文件读取。实际训练用的是同一组公式的更快实现"
                   "（core/functional.py、core/model.py、core/optimizer.py）；tests/test_keycode.py 检验两者给出的损失、"
                   "准确率、梯度和带动量的更新在 float32 舍入误差内一致。")),
            Code(key_code(), T(L, "forward, gradient_computing and SGD.step (softmax_mnist/study/keycode.py; "
                               "the comments are in Chinese, the course's language).",
                               "forward、gradient_computing 与 SGD.step（softmax_mnist/study/keycode.py）。"),
                 "code-key"))


def key_code() -> str:
    """The three methods of study/keycode.py under their class lines, read from its source."""
    from softmax_mnist.study import keycode

    loss, sgd = keycode.SoftmaxCrossEntropyLoss, keycode.SGD
    parts = [f"class {loss.__name__}:", inspect.getsource(loss.forward).rstrip(), "",
             inspect.getsource(loss.gradient_computing).rstrip(), "", "",
             f"class {sgd.__name__}:", inspect.getsource(sgd.step).rstrip()]
    return "\n".join(parts)


def _impl_code(doc: Document, L: str, impl: dict) -> None:
    """Key code of a study run on a student's classes: their three methods, as they trained."""
    name, ref = impl["name"], impl["reference"]
    also = (T(L, f" Settings the course's `SGD(model, learning_rate, momentum)` has no argument for "
              f"({', '.join(ref)}) trained with the reference implementation's SGD instead.",
              f"课程的 `SGD(model, learning_rate, momentum)` 没有对应参数的设置（{', '.join(ref)}）"
              "改用参考实现的 SGD 训练。") if ref else "")
    doc.add(Heading(T(L, "Key code", "关键代码"), 2),
            Para(T(L, f"This study ran on the implementation in {name}/: every run trained with its "
                   "`SoftmaxCrossEntropyLoss` (loss.py) and `SGD` (optimizer.py) in the course's loop, "
                   "on the reference implementation's minibatches and initial weights; validation and test "
                   "numbers were measured on the weights it reached. Its three functions follow, "
                   "as the study copied them (impl/ in the study folder). The training times in this "
                   "report are of the reference implementation, timed apart." + also,
                   f"本实验使用 {name}/ 中的实现：每次训练都在课程的训练循环中使用其中的 "
                   "`SoftmaxCrossEntropyLoss`（loss.py）和 `SGD`（optimizer.py），小批量与初始权重与参考实现相同；"
                   "验证与测试结果在其训练得到的权重上测量。下面是其中的三个函数，即实验时复制的版本"
                   "（实验文件夹中的 impl/）。报告中的训练时间是参考实现单独测量的时间。" + also)),
            Code(impl["forward"], T(L, f"forward ({name}/loss.py).", f"forward（{name}/loss.py）。"),
                 "code-forward"),
            Code(impl["gradient_computing"], T(L, f"gradient_computing ({name}/loss.py).",
                                               f"gradient_computing（{name}/loss.py）。"), "code-backward"),
            Code(impl["step"], T(L, f"SGD.step ({name}/optimizer.py).", f"SGD.step（{name}/optimizer.py）。"),
                 "code-step"))


# ---- tables --------------------------------------------------------------------------------


def _ep(epochs: list) -> str:
    e = rs.median_epoch(epochs)
    if e is None:
        hit = [x for x in epochs if x is not None]
        return "–" if not hit else f"– ({len(hit)}/{len(epochs)})"
    return f"{e:g}"


def _opt_name(s, lang: str) -> str:
    c = s.config
    if s.setting == rs.CONTROL:
        return T(lang, "plain SGD, equal step", "普通 SGD，等有效步长")
    if s.setting == rs.CONTROL_SMALL:
        return T(lang, "momentum 0.9, equal step", "动量 0.9，等有效步长")
    if s.setting in rs.CONTROLS_LARGE:
        return T(lang, "plain SGD, large step", "普通 SGD，大步长对照")
    if c.get("nesterov"):
        return f"Nesterov {c['momentum']:g}"
    return T(lang, f"momentum {c['momentum']:g}", f"动量 {c['momentum']:g}") if c.get("momentum") \
        else T(lang, "plain SGD", "普通 SGD")


def _acc_cell(s, L: str) -> str:
    """Mean ± sd of the validation accuracy, or how many seeds diverged."""
    if s.diverged:
        n = len(s.seeds)
        return T(L, f"diverged ({s.diverged}/{n})", f"发散（{s.diverged}/{n}）")
    return mean_sd(s.val_acc)


def _large_pairs(results: dict) -> list:
    """(momentum 0.9 at lr η, plain SGD at η/(1−μ)) for the plain-SGD large-step controls."""
    lrs = summaries(results, "lr")
    out = []
    for name in rs.CONTROLS_LARGE:
        p = summarize(results, name)
        m = next((s for s in lrs if p and s.config.get("momentum")
                  and abs(s.config["lr"] / (1 - s.config["momentum"]) - p.config["lr"]) < 1e-9), None)
        if p and m:
            out.append((m, p))
    return out


def _eff(c: dict) -> str:
    return f"{c['lr'] / (1 - c.get('momentum', 0)):g}"


@dataclass
class _Figures:
    """Where the figures go, and the progress bar they advance (or None)."""

    dir: Path
    bar: object = None


def _figure(doc, figs: _Figures, name, fig, caption, lang, width=1.0):
    path = viz.save_figure(fig, figs.dir / f"{name}.png", dpi=200)
    if figs.bar is not None:
        figs.bar.update()
    doc.add(Image(f"{figs.dir.name}/{path.name}", caption, f"fig-{name}", width))
    return path


# ---- the document --------------------------------------------------------------------------


def build_document(results: dict, folder: Path, lang: str, bar=None) -> tuple[Document, list[Path]]:
    """Every block of the report in ``lang``, rendering the figures into folder/figures."""
    L = lang
    meta, setup = results.get("meta", {}), results.get("setup", {})
    n_val, n_train, n_test = (int(setup.get(k) or d) for k, d in
                              (("n_val", 5000), ("n_train", 55000), ("n_test", 10000)))
    thresholds = rs.thresholds_of(results)
    seeds = meta.get("seeds") or [meta.get("seed", 0)]
    groups = results.get("groups", {})
    figs = _Figures(folder / output_name(lang, ""), bar)
    paths: list[Path] = []
    sweep = "momentum" not in groups
    title = T(L, "Softmax regression on MNIST: " + ("sweep report" if sweep else "study report"),
              "MNIST 手写数字的 Softmax 回归：" + ("参数扫描报告" if sweep else "实验报告"))
    data = ("MNIST (train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte, "
            "t10k-labels-idx1-ubyte)")
    stamp = f"{literal(meta.get('version', __version__))} · {literal(str(meta.get('started', ''))[:10])}"
    subtitle = T(L, f"softmax-mnist {stamp} · seeds {_seeds(seeds)} · data: {data}",
                 f"softmax-mnist {stamp} · 随机种子 {_seeds(seeds)} · 数据：{data}")
    doc = Document(title, subtitle, L)
    S = {name: summarize(results, name) for name in
         (rs.BASELINE, rs.REFERENCE, rs.NESTEROV, rs.CONTROL, rs.CONTROL_SMALL, rs.BEST,
          rs.BEST_SHORT)}
    timing = results.get("timing") or {}
    epoch_t, step_t = timing.get("epoch", {}), timing.get("step", {})

    # -- summary
    finals = [s for s in (S[rs.BASELINE], S[rs.REFERENCE], S[rs.NESTEROV], S[rs.BEST_SHORT],
                          S[rs.BEST]) if s]
    grid_best = summarize(results, results.get("best", {}).get("grid") or "") if sweep else None
    if grid_best:
        finals.append(grid_best)
    doc.add(Heading(T(L, "Summary", "摘要")))
    if finals:
        rows = [[_final_name(s, L), mean_sd(s.train_acc), mean_sd(s.val_acc), mean_sd(s.test_acc)]
                for s in finals]
        doc.add(Para(_summary_para(results, S, n_val, L)),
                Table([T(L, "final model", "最终模型"), T(L, "train accuracy", "训练准确率"),
                       T(L, "validation", "验证准确率"), T(L, "test", "测试准确率")], rows,
                      T(L, f"Accuracy of the final models, mean ± sd over seeds; training accuracy "
                        f"measured on the {n_train:,} training images after training. The test "
                        "split is read only for these models.",
                        f"最终模型的准确率（多个种子的均值 ± 标准差）；训练准确率是训练结束后在 {n_train:,} 张训练图像上"
                        "重新测量的。测试集只用于这几个模型。"), "tab-summary"))
    model, meta_m, ex = _load_model_and_examples(folder)
    check, n_check = None, 0
    if model is not None and ex is not None and "mistakes_images" in ex and len(ex["mistakes_images"]):
        from softmax_mnist.study.modelfile import model_inputs

        x = model_inputs(ex["mistakes_images"], meta_m)
        check, n_check = gradient_check(model.W, model.b, x, ex["mistakes_true"]), len(x)
    method_section(doc, L, check, n_check, study=not sweep, impl=impl_sources(folder, meta))

    # -- setup
    doc.add(Heading(T(L, "Setup", "实验设置")), Bullets(_setup_items(results, n_train, n_val, n_test,
                                                                    seeds, L)),
            Para(discussion.noise_rule(n_val, len(seeds), L)))

    if not sweep and S[rs.BASELINE] and S[rs.REFERENCE]:
        plain, mom = S[rs.BASELINE], S[rs.REFERENCE]
        doc.add(Heading(T(L, "(a) Training and test accuracy", "(a) 训练与测试准确率")))
        E = mom.config["epochs"]
        doc.add(Para(T(L, "@fig-curves shows the training loss and accuracy per epoch of the course's two "
                       f"settings (batch 100, lr 0.01, {E} epochs), without momentum and with momentum 0.9.",
                       f"@fig-curves 给出课程两个设置（批大小 100、学习率 0.01、{E} 轮）每轮的训练损失和准确率："
                       "不带动量与动量 0.9。")))
        with matplotlib.rc_context(viz.figure_style(L)):
            paths.append(_figure(doc, figs, "curves", viz.plot_training_curves(
                [plain, mom], [_opt_name(plain, L), _opt_name(mom, L)], L),
                T(L, f"Loss (left) and accuracy (right) per epoch: training (solid, running over the "
                  f"epoch) and validation (dashed), mean of {len(seeds)} seeds; the band spans the "
                  "lowest to the highest seed.",
                  f"每轮的损失（左）与准确率（右）：训练（实线，轮内平均）与验证（虚线），{len(seeds)} 个种子的均值，"
                  "阴影为最低到最高的种子。"), L))
        doc.add(Para(discussion.curves_text(plain, mom, {}, L, n_train, n_val)))

        # -- momentum
        has_time = bool(epoch_t and step_t and all(k in epoch_t and k in step_t
                                                       for k in (rs.BASELINE, rs.REFERENCE)))
        doc.add(Heading(T(L, "(b) With and without momentum", "(b) 有无动量的比较")),
                Para(T(L, "@tab-momentum lists the momentum settings and their controls, @fig-momentum "
                       "their validation curves" + (", @tab-time their training time." if has_time else "."),
                       "@tab-momentum 列出动量设置及其对照，@fig-momentum 给出它们的验证曲线"
                       + ("，@tab-time 给出训练时间。" if has_time else "。"))))
        mset = [s for s in summaries(results, "momentum")]
        rows = [[_opt_name(s, L), f"{s.config['lr']:g}", _eff(s.config),
                 *[_ep(s.epochs_to[rs.key(t)]) for t in thresholds], _acc_cell(s, L),
                 f"{s.train_loss.mean:.3f}" if s.train_loss.n else "–"] for s in mset]
        doc.add(Table([T(L, "optimizer", "优化器"), "η", "η/(1−μ)",
                       *[T(L, f"epochs to {t:.2f}", f"达到 {t:.2f} 的轮数") for t in thresholds],
                       T(L, "val. accuracy", "验证准确率"), T(L, "train. loss", "训练损失")], rows,
                      T(L, f"Momentum and its controls (batch 100, {E} epochs): median epoch at which the "
                        "validation accuracy first reached each threshold (– not reached; in brackets how "
                        "many seeds did), final validation accuracy as mean ± sd over seeds, and the last "
                        "epoch's training loss (mean).",
                        f"动量及其对照（批大小 100、{E} 轮）：验证准确率首次达到各阈值的轮数（种子中位数；– 为未达到，"
                        "括号内为达到的种子数）、最终验证准确率（均值 ± 标准差）和最后一轮的训练损失（均值）。"),
                      "tab-momentum"))
        panels = [[(plain, _opt_name(plain, L), False), (mom, _opt_name(mom, L), False)]
                  + ([(S[rs.NESTEROV], _opt_name(S[rs.NESTEROV], L), False)] if S[rs.NESTEROV] else [])]
        ctrl = [(mom, T(L, "momentum 0.9, η 0.01", "动量 0.9，η 0.01"), False)]  # pairs: see plot_val_curves
        if S[rs.CONTROL]:
            ctrl.append((S[rs.CONTROL], T(L, f"plain SGD, η {S[rs.CONTROL].config['lr']:g}",
                                          f"普通 SGD，η {S[rs.CONTROL].config['lr']:g}"), True))
        ctrl.append((plain, T(L, "plain SGD, η 0.01", "普通 SGD，η 0.01"), False))
        if S[rs.CONTROL_SMALL]:
            ctrl.append((S[rs.CONTROL_SMALL], T(L, f"momentum 0.9, η {S[rs.CONTROL_SMALL].config['lr']:g}",
                                                f"动量 0.9，η {S[rs.CONTROL_SMALL].config['lr']:g}"), True))
        with matplotlib.rc_context(viz.figure_style(L)):
            paths.append(_figure(doc, figs, "momentum", viz.plot_val_curves(
                [panels[0], ctrl], thresholds, L),
                T(L, "Validation accuracy per epoch (mean and seed range). Left: plain SGD, momentum 0.9 "
                  "and Nesterov at η 0.01. Right: each against its equal-effective-step control "
                  "(dashed): η/(1−μ) is the same for the two lines of one colour pair.",
                  "每轮验证准确率（均值与种子范围）。左：η = 0.01 时的普通 SGD、动量 0.9 与 Nesterov。"
                  "右：各自与其等有效步长对照（虚线）比较，成对的两条线 η/(1−μ) 相同。"), L))
        for p in discussion.momentum_text(plain, mom, S[rs.CONTROL], S[rs.CONTROL_SMALL], S[rs.NESTEROV],
                                  thresholds, n_val, L, _large_pairs(results)):
            doc.add(Para(p))
        if has_time:
            rows = [[_opt_name(S[k], L), two_significant(epoch_t[k]["median"]),
                     f"{two_significant(epoch_t[k]['q1'])}–{two_significant(epoch_t[k]['q3'])}",
                     two_significant(step_t[k]["median"])] for k in (rs.BASELINE, rs.REFERENCE, rs.NESTEROV)
                    if k in epoch_t and k in step_t and S[k]]
            doc.add(Table([T(L, "optimizer", "优化器"), T(L, "s per epoch (median)", "每轮秒数（中位数）"),
                           T(L, "quartiles", "四分位数"), T(L, "µs per update", "每次更新微秒数")], rows,
                          T(L, f"Training time: one epoch of {n_train:,} images at batch {mom.config['batch_size']} (no validation pass), "
                            f"{timing.get('rounds', 5)} epochs each interleaved after a warm-up, median and "
                            "quartiles; the update step alone on a 784 × 10 model. Two significant digits: "
                            "on a shared machine a second run can differ by more than that; the rows are "
                            "in a fixed order, not ranked.",
                            f"训练时间：批大小 {mom.config['batch_size']} 下一轮 {n_train:,} 张图像（不含验证），预热后各 {timing.get('rounds', 5)} 轮交替测量，"
                            "给出中位数与四分位数；以及在 784 × 10 模型上单独测量的一次参数更新。只保留两位有效数字："
                            "在共用的机器上重测一次的差别可能更大；各行按固定顺序排列，不是排名。"), "tab-time"),
                    Para(discussion.time_text(epoch_t, step_t, plain, mom, thresholds, timing.get("rounds", 5), L,
                                      n_train, S[rs.CONTROL])))

        # -- learning rate and batch size
        doc.add(Heading(T(L, "(c) Learning rate, batch size and other settings",
                          "(c) 学习率、批大小及其他设置的影响")))
        lrs = summaries(results, "lr")
        if lrs:
            doc.add(Heading(T(L, "Learning rate", "学习率"), 2),
                    Para(T(L, f"{len(lrs)} learning rates, each with momentum 0.9 and {len(seeds)} seeds: "
                           "@tab-lr and @fig-lr.",
                           f"{len(lrs)} 个学习率，均配合动量 0.9、各 {len(seeds)} 个种子：见 @tab-lr 和 @fig-lr。")))
            rows = [[f"{s.config['lr']:g}", _eff(s.config), mean_sd(s.val_acc),
                     mean_sd(s.train_loss) if s.ok else T(L, "diverged", "发散")] for s in
                    sorted(lrs, key=lambda s: s.config["lr"])]
            doc.add(Table(["η", "η/(1−μ)", T(L, "val. accuracy", "验证准确率"),
                           T(L, "final training loss", "最终训练损失")], rows,
                          T(L, f"Learning rate with momentum 0.9 (batch 100, {E} epochs), mean ± sd over "
                            f"{len(seeds)} seeds.",
                            f"学习率（动量 0.9、批大小 100、{E} 轮），{len(seeds)} 个种子的均值 ± 标准差。"),
                          "tab-lr"))
            with matplotlib.rc_context(viz.figure_style(L)):
                paths.append(_figure(doc, figs, "lr", viz.plot_sweep(lrs, "lr", L),
                                     T(L, "Learning rate: validation accuracy per epoch (left) and final "
                                       "validation accuracy, mean ± sd over seeds (right).",
                                       "学习率：每轮验证准确率（左）与最终验证准确率的均值 ± 标准差（右）。"), L))
            for p in discussion.lr_text(lrs, n_val, L):
                doc.add(Para(p))
        bss = summaries(results, "batch_size")
        if bss:
            fixed = sorted([s for s in bss if not s.setting.endswith("-scaled")],
                           key=lambda s: s.config["batch_size"])
            scaled = {s.config["batch_size"]: s for s in bss if s.setting.endswith("-scaled")}
            bs_time = {int(k[3:]): v for k, v in epoch_t.items() if k.startswith("bs-")}
            heat = summaries(results, "lr_batch")
            doc.add(Heading(T(L, "Batch size", "批大小"), 2),
                    Para(T(L, f"{len(fixed)} batch sizes at a fixed learning rate and at one scaled with "
                           "the batch (@tab-batch, @fig-batch)" + (", and every learning rate at every "
                                                                  "batch size (@fig-heatmap)." if heat else "."),
                           f"{len(fixed)} 个批大小，分别用固定学习率和随批大小缩放的学习率（@tab-batch、@fig-batch）"
                           + ("，以及所有学习率与批大小的组合（@fig-heatmap）。" if heat else "。"))))
            rows = []
            for s in fixed:
                b = s.config["batch_size"]
                sc = scaled.get(b)
                rows.append([str(b), f"{-(-n_train // b):,}", mean_sd(s.val_acc),
                             f"{sc.config['lr']:g}" if sc else "–", mean_sd(sc.val_acc) if sc else "–",
                             two_significant(bs_time[b]["median"]) if b in bs_time else "–"])
            doc.add(Table([T(L, "batch", "批大小"), T(L, "updates/epoch", "每轮更新数"),
                           T(L, "val. acc. (η 0.01)", "验证准确率（η 0.01）"), T(L, "scaled η", "缩放后 η"),
                           T(L, "val. acc. (scaled)", "验证准确率（缩放）"), T(L, "s/epoch", "每轮秒数")], rows,
                          T(L, f"Batch size with momentum 0.9, {fixed[0].config['epochs']} epochs: at the fixed "
                            "η 0.01 and with η = 0.01 × B/100; mean ± sd over seeds; seconds per epoch are "
                            "interleaved medians.",
                            f"批大小（动量 0.9、{fixed[0].config['epochs']} 轮）：固定 η = 0.01 与 η = 0.01 × B/100 两种情况，"
                            "种子均值 ± 标准差；每轮秒数为交替测量的中位数。"), "tab-batch"))
            with matplotlib.rc_context(viz.figure_style(L)):
                paths.append(_figure(doc, figs, "batch", viz.plot_batch(
                    fixed, list(scaled.values()), bs_time, L),
                    T(L, "Batch size: final validation accuracy at a fixed and at a scaled learning rate "
                      "(left, mean ± sd over seeds) and seconds per epoch (right, median with quartiles).",
                      "批大小：固定与缩放学习率下的最终验证准确率（左，均值 ± 标准差）及每轮耗时（右，中位数与四分位数）。"), L))
            best_lr = {}
            if heat:
                lr_list = sorted({s.config["lr"] for s in heat})
                sizes = sorted({s.config["batch_size"] for s in heat})
                acc = np.full((len(sizes), len(lr_list)), np.nan)
                for s in heat:
                    if s.ok:
                        acc[sizes.index(s.config["batch_size"]), lr_list.index(s.config["lr"])] = \
                            s.val_acc.mean
                for i, b in enumerate(sizes):
                    if np.isfinite(acc[i]).any():
                        best_lr[b] = lr_list[int(np.nanargmax(acc[i]))]
                hs = max(s.val_acc.n for s in heat)
                ep = heat[0].config["epochs"]
                seeds_en = f"mean over {hs} seeds" if hs > 1 else "one seed"
                seeds_zh = f"{hs} 个种子的均值" if hs > 1 else "单个种子"
                with matplotlib.rc_context(viz.figure_style(L)):
                    paths.append(_figure(doc, figs, "heatmap", viz.plot_heatmap(lr_list, sizes, acc, L),
                                         T(L, f"Final validation accuracy ({seeds_en}) for every learning "
                                           f"rate and batch size (momentum 0.9, {ep} epochs); bold: the highest.",
                                           f"各学习率与批大小组合的最终验证准确率（{seeds_zh}；动量 0.9，{ep} 轮），"
                                           "粗体为最高值。"), L, 0.8))
            for p in discussion.batch_text(fixed, list(scaled.values()), bs_time, best_lr, n_train, n_val, L):
                doc.add(Para(p))
        _ablation(doc, results, S, n_val, L)
    else:
        _grid(doc, results, figs, paths, n_val, L)

    _model_section(doc, figs, paths, model, ex, results, L)
    _appendix(doc, results, L)
    return doc, paths


def _seeds(seeds) -> str:
    seeds = sorted(seeds)
    if len(seeds) > 2 and seeds == list(range(seeds[0], seeds[-1] + 1)):
        return f"{seeds[0]}–{seeds[-1]}"
    return ", ".join(map(str, seeds))


def _final_name(s, lang: str) -> str:
    if s.setting == rs.BEST:
        return T(lang, f"preset best, {s.config['epochs']} epochs", f"预设 best，{s.config['epochs']} 轮")
    if s.setting == rs.BEST_SHORT:
        return T(lang, f"preset best, {s.config['epochs']} epochs", f"预设 best，{s.config['epochs']} 轮")
    if s.group == "grid":
        return s.setting
    return _opt_name(s, lang) + T(lang, ", course settings", "，课程设置")


def _summary_para(results, S, n_val, L) -> str:
    plain, mom, best = S[rs.BASELINE], S[rs.REFERENCE], S[rs.BEST]
    if not (plain and mom):
        return T(L, "Results of a user sweep; every choice below is made on the validation split.",
                 "用户参数扫描的结果；下面所有选择都基于验证集。")
    d, nz, real = findings.gap(plain, mom, n_val)
    ctrl = S[rs.CONTROL]
    matched = ctrl is not None and not findings.gap(ctrl, mom, n_val)[2]
    if real:
        verdict = T(L, f"{points(d)} points {'above' if d > 0 else 'below'} plain SGD on validation, "
                    "beyond noise", f"比普通 SGD {'高' if d > 0 else '低'} {points(d)} 个百分点，超过噪声界")
    else:
        verdict = T(L, f"within noise of plain SGD ({points(d)} points apart)",
                    f"与普通 SGD 相差 {points(d)} 个百分点，在噪声范围内")
    text = T(L, f"With the course's settings, momentum 0.9 ends {verdict}"
             + ("; plain SGD with the same effective step η/(1−μ) is within noise of momentum, so the "
                "gain belongs to the larger step." if matched else "."),
             f"在课程设置下，动量 0.9 的验证准确率{verdict}"
             + ("；而有效步长 η/(1−μ) 相同的普通 SGD 与它在噪声范围内，可见收益来自更大的步长。" if matched else "。"))
    if best and best.test_acc.n:
        text += T(L, f" The preset \"best\" (chosen by a search on the validation split: deskewed, "
                  "size-normalised and blurred images, a decaying rate, still a linear model) reaches "
                  f"test accuracy {four_places(best.test_acc.mean)}.",
                  "预设 best（在验证集上搜索选出：图像做倾斜校正、尺寸归一化和模糊，学习率线性衰减，仍是线性模型）"
                  f"的测试准确率为 {four_places(best.test_acc.mean)}。")
    text += T(L, " @tab-summary gives the accuracies of the final models.", "最终模型的准确率见 @tab-summary。")
    return text


def _setup_items(results, n_train, n_val, n_test, seeds, L) -> list[str]:
    setup = results.get("setup", {})
    items = [
        T(L, f"Data: MNIST, the first {n_train:,} training images train, the last {n_val:,} validate "
          f"(every choice is made on them), the {n_test:,} test images only report the final models.",
          f"数据：MNIST，训练文件的前 {n_train:,} 张用于训练，后 {n_val:,} 张用于验证（所有选择都依据验证集），"
          f"{n_test:,} 张测试图像只用于报告最终模型。"),
        T(L, f"Preprocessing ({setup.get('preprocess', 'course')}): pixels scaled to [0, 1], then each "
          "image's own mean subtracted. Initialisation: W, b ~ Normal(0, √(4/(784+10))), as the course.",
          f"预处理（{setup.get('preprocess', 'course')}）：像素缩放到 [0, 1]，再减去每张图像自身的均值。"
          "初始化：W、b ~ Normal(0, √(4/(784+10)))，与课程一致。"),
        T(L, f"Seeds {_seeds(seeds)}: the seed sets the initial weights and the order of the minibatches; "
          "for one seed, every setting starts from the same weights and sees the same batches.",
          f"随机种子 {_seeds(seeds)}：种子决定初始权重和小批量的顺序；同一个种子下所有设置从相同的权重出发、"
          "看到相同的批次。"),
        T(L, "Settings that differ only in the optimizer's numbers (learning rate, momentum) train "
          "together, in one pass over the same batches; so a single setting has no training time of "
          "its own, and every time in this report comes from separate, interleaved measurements.",
          "只有优化器参数（学习率、动量）不同的设置在同一遍训练中一起计算，它们看到的小批量完全相同；"
          "因此单个设置没有自己的训练时间，本报告中的所有时间都来自单独的交替测量。"),
    ]
    return items


def _pass_groups(results: dict, p: dict) -> set:
    group = {r["name"]: r["group"] for r in results["runs"]}
    return {group[n] for n in p["runs"] if n in group}


def _ablation(doc, results, S, n_val, L) -> None:
    full = S[rs.BEST]
    if not full:
        return
    names = {"no-deskew": T(L, "deskewing", "倾斜校正"), "no-ink-size": T(L, "size normalisation", "尺寸归一化"),
             "no-blur": T(L, "the blur", "高斯模糊"), "no-decay": T(L, "the decaying rate", "学习率衰减"),
             "no-transform": T(L, "all three image transforms", "全部三种图像变换")}
    rows_s = [(names[k], summarize(results, f"{rs.BEST}-{k}")) for k in names]
    rows_s = [(n, s) for n, s in rows_s if s]
    c = full.config
    seeds = full.val_acc.n
    doc.add(Heading(T(L, "The preset best and what each part adds", "预设 best 及各部分的作用"), 2),
            Para(T(L, "The model stays a linear softmax regression on 784 pixels; what changes is the "
                   "images and the schedule. The values come from a two-stage search on the validation "
                   "split (benchmarks/preset_search.py, seeds 0–2, tables in benchmarks/README.md): first "
                   "11 combinations of image transforms under one optimizer setting, then 8 optimizer "
                   "settings on the best transform; the test split was read only at the end. The "
                   "preset is:",
                   "模型仍是 784 个像素上的线性 softmax 回归；改变的是输入图像和学习率的安排。各项取值来自验证集上的两阶段搜索"
                   "（benchmarks/preset_search.py，种子 0–2，结果表见 benchmarks/README.md）：先在一组固定的优化设置下比较 "
                   "11 种图像变换组合，再在最好的变换上比较 8 组优化设置；测试集只在最后读取一次。预设的内容是：")),
            Bullets([
                T(L, "deskew: each image is shifted so that its centre of mass is central and sheared so "
                  "that its main axis is vertical (from its second moments);",
                  "倾斜校正（deskew）：按图像的一阶矩把质心移到中心，并按二阶矩做剪切，使主轴竖直；"),
                T(L, f"size normalisation: the ink is scaled to a vertical spread of {c.get('ink_size', 0):g} "
                  "pixels (standard deviation of the ink's rows);",
                  f"尺寸归一化：把笔迹缩放到竖直方向的标准差为 {c.get('ink_size', 0):g} 像素；"),
                T(L, f"blur: a Gaussian of σ = {c.get('blur_sigma', 0):g} pixels, so that a stroke one pixel "
                  "off still meets the template;", f"模糊：σ = {c.get('blur_sigma', 0):g} 像素的高斯模糊，使偏移一个像素的笔画仍能与模板重合；"),
                T(L, f"SGD with momentum {c['momentum']:g}, η {c['lr']:g} decaying linearly to η/{c['epochs']} "
                  f"over {c['epochs']} epochs, batch {c['batch_size']}.",
                  f"SGD，动量 {c['momentum']:g}，学习率 {c['lr']:g} 在 {c['epochs']} 轮内线性衰减到 η/{c['epochs']}，"
                  f"批大小 {c['batch_size']}。")]))
    course = S[rs.REFERENCE]
    parts = [(n, s) for (k, n), (_, s) in zip(names.items(), rows_s) if k != "no-transform"] \
        if len(rows_s) == len(names) else rows_s
    text = discussion.ablation_text(full, parts, n_val, L, course, S[rs.BEST_SHORT])
    for p in text[:1]:
        doc.add(Para(p))
    rows = [[T(L, "full preset", "完整预设"), mean_sd(full.val_acc), "–", "–",
             f"{full.train_loss.mean:.3f}" if full.train_loss.n else "–"]]
    for n, s in rows_s:
        if s.ok:
            cmp = rs.compare(s, full, n_val)
            verdict = (T(L, "beyond noise", "超过噪声界") if cmp.real else T(L, "within noise", "在噪声范围内"))
            rows.append([T(L, f"without {n}", f"去掉{n}"), mean_sd(s.val_acc), f"{-cmp.gain * 100:+.2f}",
                         verdict, f"{s.train_loss.mean:.3f}"])
        else:
            rows.append([T(L, f"without {n}", f"去掉{n}"), _acc_cell(s, L), "–", "–", "–"])
    doc.add(Table([T(L, "variant", "变体"), T(L, "val. accuracy", "验证准确率"),
                   T(L, "change (points)", "变化（百分点）"), T(L, "by the rule", "按规则"),
                   T(L, "train. loss", "训练损失")], rows,
                  T(L, f"Ablation of the preset on the validation split ({seeds} seeds, {c['epochs']} epochs; "
                    "each variant switches off one part); the change and its verdict follow the "
                    "method's rule, paired by seed and image.",
                    f"预设 best 的消融实验（验证集，{seeds} 个种子，{c['epochs']} 轮；每行去掉一个部分）；"
                    "变化及其判断按方法部分的规则，按种子、按图像成对比较。"), "tab-ablation"))
    for p in text[1:]:
        doc.add(Para(p))


def _grid(doc, results, figs, paths, n_val, L) -> None:
    items = summaries(results, "grid")
    if not items:
        return
    doc.add(Heading(T(L, "The grid", "参数网格")))
    varying = [k for k in items[0].config if k != "seed"
               and len({repr(s.config[k]) for s in items}) > 1]
    rows = [[s.setting, mean_sd(s.val_acc) if s.ok else T(L, "diverged", "发散"), mean_sd(s.train_acc),
             mean_sd(s.test_acc) if s.test_acc.n else "–"] for s in items]
    doc.add(Table([T(L, "setting", "设置"), T(L, "val. accuracy", "验证准确率"),
                   T(L, "train accuracy", "训练准确率"), T(L, "test", "测试")], rows,
                  T(L, "Every setting of the grid (mean ± sd over seeds); the test split only for the "
                    "best on validation.", "网格中的每个设置（种子均值 ± 标准差）；测试集只用于验证集上最好的设置。"),
                  "tab-grid"),
            Para(T(L, "@tab-grid lists every setting of the grid" + (", @fig-grid shows them." if len(items) > 1 else "."),
                   "@tab-grid 列出网格中的每个设置" + ("，@fig-grid 给出图示。" if len(items) > 1 else "。"))))
    numeric = len(varying) == 1 and all(isinstance(s.config[varying[0]], (int, float))
                                        and not isinstance(s.config[varying[0]], bool)
                                        and s.config[varying[0]] > 0 for s in items)
    if len(items) > 1:
        with matplotlib.rc_context(viz.figure_style(L)):
            if numeric:
                paths.append(_figure(doc, figs, "grid", viz.plot_sweep(items, varying[0], L),
                                     T(L, "Validation accuracy per epoch and final, against the swept "
                                       "setting.", "每轮与最终的验证准确率随扫描参数的变化。"), L))
            else:
                paths.append(_figure(doc, figs, "grid", viz.plot_bars(items, L),
                                     T(L, "Final validation accuracy per setting (mean, sd as the error bar).",
                                       "每个设置的最终验证准确率（均值，误差线为标准差）。"), L, 0.8))
    for p in discussion.grid_text(items, n_val, L):
        doc.add(Para(p))
    epoch_t = (results.get("timing") or {}).get("epoch", {})
    stacked = any(r.get("pass") for r in results["runs"] if r["group"] == "grid")
    if epoch_t:
        batch = {name: s.config["batch_size"] for name in epoch_t if (s := summarize(results, name))}
        rows = [[name, str(batch.get(name, "–")), two_significant(t["median"]), f"{two_significant(t['q1'])}–{two_significant(t['q3'])}"]
                for name, t in epoch_t.items()]
        doc.add(Table([T(L, "setting", "设置"), T(L, "batch", "批大小"), T(L, "s per epoch (median)", "每轮秒数（中位数）"),
                       T(L, "quartiles", "四分位数")], rows,
                      T(L, f"Training time of one epoch (no validation pass) for each batch size and kind of "
                        f"optimizer in the grid: {(results.get('timing') or {}).get('rounds', 7)} epochs each, "
                        "interleaved after a warm-up. Settings that differ only in the learning rate take the "
                        "same time per epoch.",
                        f"网格中每种批大小与优化器组合的单轮训练时间（不含验证）：预热后各 "
                        f"{(results.get('timing') or {}).get('rounds', 7)} 轮交替测量。只有学习率不同的设置每轮耗时相同。"),
                      "tab-grid-time"),
                Para(T(L, "@tab-grid-time gives the time per epoch"
                       + ("; settings trained together in one pass have no time of their own." if stacked
                          else "."),
                       "每轮耗时见 @tab-grid-time" + ("；在同一遍训练中一起计算的设置没有各自的耗时。" if stacked else "。"))))


def _run_words(results: dict, name: str | None, L: str) -> str:
    """A run as a reader names it: 'momentum 0.9 (lr 0.01), seed 0'."""
    run = next((r for r in results["runs"] if r["name"] == name), None)
    if run is None:
        return T(L, "the study's reference run", "本实验的参考运行")
    s = summarize(results, run.get("setting", rs.setting_name(name)))
    what = discussion.optimizer_name(s, L) if s.group == "momentum" else s.setting
    return T(L, f"{what}, seed {run['config']['seed']}", f"{what}，随机种子 {run['config']['seed']}")


def _load_model_and_examples(folder: Path):
    """model.npz and examples.npz of a study folder (None for a missing one), checked: a
    damaged or edited file is a one-line ResultsError naming it, not a traceback in a figure."""
    model = meta = ex = None
    if (folder / "model.npz").is_file():
        from softmax_mnist.study.modelfile import load_model

        model, meta = load_model(folder / "model.npz")
        if model.W.shape != (784, 10):
            raise ResultsError(f"{folder / 'model.npz'}: the report needs a 28x28, 10-class model, "
                               f"this one has W of shape {model.W.shape}; rerun the study")
    if (folder / "examples.npz").is_file():
        ex = _read_examples(folder / "examples.npz")
    return model, meta, ex


def _read_examples(path: Path) -> dict:
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
            ex = {i.filename[:-4]: _read_npy(zf.read(i), i.filename[:-4], bad) for i in infos}
    except ResultsError:
        raise
    except (OSError, EOFError, zipfile.BadZipFile, zlib.error, NotImplementedError, RuntimeError,
            ValueError) as e:
        raise bad(f"not a valid .npz file ({type(e).__name__})") from None

    def check(name: str, kinds: str, shape: tuple, low=None, high=None) -> None:
        a = ex[name]
        if a.dtype.kind not in kinds or a.ndim != len(shape) or any(
                n is not None and n != m for n, m in zip(shape, a.shape)):
            want = "x".join("k" if n is None else str(n) for n in shape)
            raise bad(f"{name} is {a.dtype} {a.shape}, expected {want} "
                      f"{'integers' if kinds == 'iu' else 'uint8' if kinds == 'u' else 'floats'}")
        if a.dtype.kind == "f" and not np.isfinite(a).all():
            raise bad(f"{name} holds non-finite values")
        if a.size and ((low is not None and a.min() < low) or (high is not None and a.max() > high)):
            raise bad(f"{name} holds values outside {low}..{high}")

    if "confusion" in ex:
        check("confusion", "iu", (10, 10), 0)
    if "class_means" in ex:
        check("class_means", "f", (10, 28, 28))
    for prefix in ("mistakes", "ambiguous"):
        parts = [f"{prefix}_{k}" for k in ("images", "true", "pred", "prob")]
        if not any(p in ex for p in parts):
            continue
        missing = [p for p in parts if p not in ex]
        if missing:
            raise bad(f"{', '.join(missing)} missing beside the other {prefix} arrays")
        if ex[parts[0]].dtype != np.uint8:
            raise bad(f"{parts[0]} is {ex[parts[0]].dtype}, expected uint8 images")
        check(parts[0], "u", (None, 28, 28))
        k = len(ex[parts[0]])
        check(parts[1], "iu", (k,), 0, 9)
        check(parts[2], "iu", (k,), 0, 9)
        check(parts[3], "f", (k,), 0, 1)
    return ex


def _model_section(doc, figs, paths, model, ex, results, L) -> None:
    if model is None and ex is None:
        return
    ref = results.get("meta", {}).get("reference")
    doc.add(Heading(T(L, "What the model learned", "模型学到了什么")),
            Para(T(L, f"The saved model (model.npz) is {_run_words(results, ref, L)}. Its weights, its "
                   "test confusion matrix and its most confident mistakes:",
                   f"保存的模型（model.npz）是{_run_words(results, ref, L)}。下面是它的权重、测试集混淆矩阵和置信度最高的错误：")))
    with matplotlib.rc_context(viz.figure_style(L)):
        if model is not None:
            means = ex["class_means"] if ex is not None and "class_means" in ex else None
            paths.append(_figure(doc, figs, "weights", viz.plot_weights(model.W, lang=L),
                                 T(L, "The ten weight templates (columns of W), one colour scale centred "
                                   "at 0: red raises the class's score, blue lowers it.",
                                   "十个权重模板（W 的各列），以 0 为中心的同一色标：红色提高该类得分，蓝色降低。"), L, 0.8))
            text = discussion.weights_text(model.W, means, L, _initial_weights(results, ref, model))
            doc.add(Para(T(L, "@fig-weights: ", "@fig-weights：") + text))
        if ex is not None and "confusion" in ex:
            paths.append(_figure(doc, figs, "confusion", viz.plot_confusion(ex["confusion"], lang=L),
                                 T(L, "Test confusion matrix (counts; off-diagonal colour: the fraction of "
                                   "the true class).", "测试集混淆矩阵（计数；非对角线颜色为占该真实类别的比例）。"), L, 0.62))
            shown = ""
            if "confusion_pairs" in ex and "confusion_images" in ex and len(ex["confusion_pairs"]):
                paths.append(_figure(doc, figs, "confusions", viz.plot_confusion_examples(
                    ex["confusion_pairs"], ex["confusion_images"], L),
                    T(L, "The three most frequent confusions on the test split, each with its most "
                      "confident examples.", "测试集上最常见的三种错误，每种给出置信度最高的几个例子。"), L, 0.75))
                shown = "@fig-confusions"
            doc.add(Para(T(L, "@fig-confusion: ", "@fig-confusion：") + discussion.confusion_text(
                ex["confusion"], L, ex.get("class_means"), shown)))
        if ex is not None and "mistakes_images" in ex and len(ex["mistakes_images"]):
            paths.append(_figure(doc, figs, "mistakes", viz.plot_examples(
                ex["mistakes_images"], ex["mistakes_true"], ex["mistakes_pred"], ex["mistakes_prob"],
                lang=L), T(L, "The most confident mistakes on the test split: true class, prediction and "
                           "its probability.", "测试集上置信度最高的错误：真实类别、预测类别及其概率。"), L, 0.9))
            doc.add(Para(T(L, "@fig-mistakes: ", "@fig-mistakes：") + discussion.mistakes_text(ex["mistakes_true"], ex["mistakes_pred"],
                                          ex["mistakes_prob"], L)))


def _initial_weights(results: dict, ref: str | None, model):
    """The reference run's initial W, drawn again from its seed as training drew it (the
    first draw of default_rng(seed)); None when the run is unknown or its shape differs."""
    from softmax_mnist.core.model import SoftmaxRegression

    run = next((r for r in results["runs"] if r["name"] == ref), None)
    if run is None:
        return None
    init = SoftmaxRegression(model.W.shape[0], model.W.shape[1],
                             rng=np.random.default_rng(run["config"]["seed"]))
    return init.W


# the 1-minute load average when training begins, before the study has run long enough to count:
# at or above it, other work shared the machine and the appendix says the times are inflated
BUSY_LOAD = 0.5


def _appendix(doc, results, L) -> None:
    m = results.get("meta", {})
    mc = {k: literal(v) for k, v in m.get("machine", {}).items()}  # as the study's machine wrote them
    load = m.get("load")
    load_en = load_zh = ""
    if load and load[0] >= BUSY_LOAD:
        load_en = (f" The machine was shared: its load average (runnable processes, 1 minute) was "
                   f"{load[0]:.1f} when training began and {load[1]:.1f} when the timing began, on "
                   f"{mc.get('cores', '?')} cores; times measured on a quieter machine are shorter, and "
                   "ratios of interleaved times move less than the times themselves.")
        load_zh = (f"测量时机器并非空闲：开始训练时的 1 分钟平均负载（可运行的进程数）为 {load[0]:.1f}，开始计时测量时为 "
                   f"{load[1]:.1f}，而机器只有 {mc.get('cores', '?')} 个核；在空闲的机器上时间会更短，交替测量得到的"
                   "时间之比比时间本身更稳定。")
    elif load:
        load_en = (f" Nothing else ran: the load average (runnable processes, 1 minute) was {load[0]:.1f} "
                   f"when training began and {load[1]:.1f} when the timing began, the study's own "
                   "training included.")
        load_zh = (f"测量时机器上没有其他任务：开始训练时的 1 分钟平均负载（可运行的进程数）为 {load[0]:.1f}，"
                   f"开始计时测量时为 {load[1]:.1f}（含本次训练自身）。")
    doc.add(Heading(T(L, "Appendix: machine and times", "附录：机器与耗时")),
            Para(T(L, f"Machine: {mc.get('cpu', '?')}, {mc.get('cores', '?')} cores; Python "
                   f"{mc.get('python', '?')}, NumPy {mc.get('numpy', '?')}, Typst (Python package) "
                   f"{mc.get('typst', '?')}. Training (all runs, validation passes and the final "
                   f"evaluations included): {m.get('train_seconds', 0):.0f} s; timing measurements: "
                   f"{m.get('timing_seconds', 0):.0f} s; loading "
                   "data and writing the report are not included." + load_en,
                   f"机器：{mc.get('cpu', '?')}，{mc.get('cores', '?')} 核；Python {mc.get('python', '?')}，"
                   f"NumPy {mc.get('numpy', '?')}，Typst（Python 包）{mc.get('typst', '?')}。训练（全部运行，含每轮验证与最终评估）"
                   f"用时 {m.get('train_seconds', 0):.0f} 秒；计时测量 "
                   f"{m.get('timing_seconds', 0):.0f} 秒；不含读取数据和生成报告的时间。" + load_zh)
                 + _fonts_sentence(L)))


def _fonts_sentence(L) -> str:
    """The CJK fonts this report's PDF and figures were set in (fonts.py chose them)."""
    f = fonts.cjk_fonts()
    if f["serif"] is None:
        return ""
    serif, sans = f["serif"].family, f["sans"].family
    return T(L, f" CJK fonts: {serif} (text), {sans} (headings and figures).",
             f"中文字体：正文 {serif}，标题与图 {sans}。")


# ---- writing -------------------------------------------------------------------------------


def build_report(folder: str | os.PathLike, lang: str = "zh", progress=None) -> ReportPaths:
    """Read a study (or sweep) folder; write figures/*.png, report.typ (+ template.typ),
    report.pdf and report.md into it, in ``lang`` (English: report.en.* and figures.en/, beside
    the Chinese files and never over them; output_name). ``progress(desc=, total=)`` (tqdm's
    signature) makes a bar advanced per figure and for the typesetting."""
    folder = Path(folder)
    check_fonts(lang)
    results = load_results(folder)
    bar = progress(desc="report", total=FIGURES + 1, unit="step") if progress else None
    doc, figures = build_document(results, folder, lang, bar)
    md = atomic_write_text(folder / output_name(lang, ".md"), to_markdown(doc))
    typ = write_typst(doc, folder, output_name(lang, ".typ"))
    pages = compile_pdf(typ)
    if bar is not None:
        bar.update()
        bar.close()
    return ReportPaths(md, typ.with_suffix(".pdf"), typ, figures, pages)
