"""The report's method section: the model, the loss and its gradient as formulas, the stable
log-softmax, the gradient check on the saved model, momentum, and the key code (the course's
three functions from keycode.py, or a student's own from their study folder).

The words come from words_zh.py / words_en.py (wording.say); the numbers from measures.py;
this module decides which paragraphs a report has and places the formulas (each as Typst and
LaTeX) between them.
"""

from __future__ import annotations

from softmax_mnist.study.report.keycode import key_code
from softmax_mnist.study.report.measures import GRAD_CHECK_ENTRIES, GRAD_FAR_BELOW, GRAD_SUSPECT
from softmax_mnist.study.report.typeset import Code, Document, Heading, Math, Para
from softmax_mnist.study.report.wording import say

SOFTMAX = Math("Z = X W + b, quad p_(i c) = e^(z_(i c)) / (sum_(k=1)^C e^(z_(i k)))",
               r"Z = XW + b,\qquad p_{ic} = \frac{e^{z_{ic}}}{\sum_{k=1}^{C} e^{z_{ik}}}",
               "eq-softmax")
CROSS_ENTROPY = Math("L = -1/N sum_(i=1)^N log p_(i, y_i) = -1/N sum_(i=1)^N sum_(c=1)^C Y_(i c) log p_(i c)",
                     r"L = -\frac{1}{N}\sum_{i=1}^{N}\log p_{i,y_i} = -\frac{1}{N}\sum_{i=1}^{N}"
                     r"\sum_{c=1}^{C} Y_{ic}\log p_{ic}", "eq-ce")
GRADIENT = Math("(partial L)/(partial Z) = (P - Y)/N, quad (partial L)/(partial W) = X^T (P - Y)/N, "
                "quad (partial L)/(partial b) = bold(1)^T (P - Y)/N",
                r"\frac{\partial L}{\partial Z} = \frac{P - Y}{N},\qquad \frac{\partial L}{\partial W}"
                r" = \frac{X^{\top}(P - Y)}{N},\qquad \frac{\partial L}{\partial b} = "
                r"\frac{\mathbf{1}^{\top}(P - Y)}{N}", "eq-grad")
LOG_SOFTMAX = Math("log p_(i c) = z_(i c) - m_i - log sum_(k=1)^C e^(z_(i k) - m_i), "
                   "quad m_i = max_k z_(i k)",
                   r"\log p_{ic} = z_{ic} - m_i - \log\sum_{k=1}^{C} e^{z_{ik}-m_i},\qquad "
                   r"m_i = \max_k z_{ik}", "eq-logsoftmax")
MOMENTUM = Math("v <- mu v - eta g, quad w <- w + v, quad "
                "v -> -eta / (1 - mu) g quad \"(constant g)\"",
                r"v \leftarrow \mu v - \eta g,\qquad w \leftarrow w + v,\qquad "
                r"v \to -\frac{\eta}{1-\mu}\,g\ \ \text{(constant } g\text{)}", "eq-momentum")


def method_section(doc: Document, lang: str, check: tuple[float, float] | None, n_check: int,
                   study: bool = True, impl: dict | None = None) -> None:
    """The method in ``lang``: ``check`` is (largest, median) error of the gradient check on
    ``n_check`` images (None: no saved model to check); ``study`` adds why the momentum study
    has controls; ``impl`` (keycode.impl_sources) shows a student's code instead of the course's."""
    def words(key: str, **fields) -> str:
        return say(lang, key, **fields)

    doc.add(Heading(words("method")), Heading(words("method.model"), 2),
            Para(words("method.softmax")), SOFTMAX, Para(words("method.loss")), CROSS_ENTROPY,
            Heading(words("method.gradient"), 2), Para(words("method.derivation")), GRADIENT,
            Para(words("method.mean")),
            Heading(words("method.stable"), 2), Para(words("method.overflow")), LOG_SOFTMAX)
    if check is not None:
        worst, median = check
        verdict = ("far below" if worst < GRAD_FAR_BELOW else "below" if worst < GRAD_SUSPECT
                   else "above")
        doc.add(Para(words("method.check", images=n_check, entries=GRAD_CHECK_ENTRIES, worst=worst,
                           median=median) + words(f"method.check.{verdict}")))
        if impl:
            doc.add(Para(words("method.check.impl", name=impl["name"])))
    doc.add(Heading(words("method.momentum"), 2), Para(words("method.heavy ball")), MOMENTUM,
            Para(words("method.effective step")
                 + words("method.effective step.controls" if study else "method.effective step.end")))
    if impl:  # study --impl: the student's code is what trained
        _impl_code(doc, lang, impl)
        return
    doc.add(Heading(words("method.key code"), 2), Para(words("method.key code.course")),
            Code(key_code(), words("method.key code.caption"), "code-key"))


def _impl_code(doc: Document, lang: str, impl: dict) -> None:
    """Key code of a study run on a student's classes: their three methods, as they trained."""
    name, reference = impl["name"], impl["reference"]
    also = (say(lang, "method.impl.reference", settings=", ".join(reference)) if reference
            else "")
    doc.add(Heading(say(lang, "method.key code"), 2),
            Para(say(lang, "method.impl", name=name) + also),
            Code(impl["forward"], say(lang, "method.impl.forward", name=name), "code-forward"),
            Code(impl["gradient_computing"], say(lang, "method.impl.backward", name=name),
                 "code-backward"),
            Code(impl["step"], say(lang, "method.impl.step", name=name), "code-step"))
