"""The report: each analysis pinned on synthetic results (within noise is said so, controls are
read right, stacked rows are marked), and the typeset documents of a real quick study: pages,
embedded fonts, Chinese text, a report.typ that recompiles, the same conclusions twice."""

from __future__ import annotations

import contextlib
import io
import re
import shutil
import subprocess

import numpy as np
import pytest

from softmax_mnist.apps.cli import main
from softmax_mnist.fileio import atomic_write_json
from softmax_mnist.study.report import discussion, findings, measures, method, typeset, wording
from softmax_mnist.study.report import document as report
from softmax_mnist.study.results import summarize

N_VAL = 5000
BASE = {"epochs": 10, "batch_size": 100, "lr": 0.01, "momentum": 0.0, "nesterov": False,
        "weight_decay": 0.0, "preprocess": "course", "val_size": N_VAL, "seed": 0,
        "lr_decay": "none", "deskew": False, "ink_size": 0.0, "blur_sigma": 0.0}


def runs_of_setting(setting, group, finals, curve=None, stacked=True, **config):
    """Three seeds of one setting whose final validation accuracies are ``finals``."""
    out = []
    for seed, final in enumerate(finals):
        val = list(curve or np.linspace(final - 0.03, final, 10))
        val[-1] = final
        out.append({
            "name": f"{setting}@s{seed}", "setting": setting, "group": group,
            "config": {**BASE, **config, "seed": seed}, "status": "ok", "error": None,
            "history": {"train_loss": [0.5] * len(val), "train_acc": [a - 0.01 for a in val],
                        "val_loss": [0.3] * len(val), "val_acc": val},
            "epochs_to": {"0.90": 1, "0.92": next((e for e, a in enumerate(val, 1) if a >= 0.92),
                                                  None)},
            "final_train_acc": final + 0.002, "final_train_loss": 0.3, "final_val_acc": final,
            "final_val_loss": 0.3, "test_acc": final - 0.01, "test_loss": 0.3,
            **({"pass": seed + 1, "stacked_with": []} if stacked else {}),
        })
    return out


def results_of(*groups):
    runs = [r for g in groups for r in g]
    return {"meta": {"thresholds": [0.9, 0.92], "seeds": [0, 1, 2]},
            "setup": {"n_val": N_VAL}, "runs": runs,
            "groups": {r["group"]: [] for r in runs}}


def momentum_case(control_finals):
    res = results_of(
        runs_of_setting("momentum-0", "momentum", [0.9195, 0.9201, 0.9190]),
        runs_of_setting("momentum-0.9", "momentum", [0.9347, 0.9350, 0.9341], momentum=0.9),
        runs_of_setting("sgd-equal-step", "momentum", control_finals, lr=0.1),
        runs_of_setting("momentum-0.9-lr-0.001", "momentum", [0.9197, 0.9199, 0.9193],
                        lr=0.001, momentum=0.9))
    s = {n: summarize(res, n) for n in ("momentum-0", "momentum-0.9", "sgd-equal-step",
                                         "momentum-0.9-lr-0.001")}
    return res, s


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_momentum_that_only_matches_its_equal_step_control_says_so(lang):
    _, s = momentum_case([0.9351, 0.9346, 0.9349])
    text = " ".join(discussion.momentum_text(s["momentum-0"], s["momentum-0.9"], s["sgd-equal-step"],
                                     s["momentum-0.9-lr-0.001"], None, [0.9, 0.92], N_VAL, lang))
    if lang == "en":
        assert "momentum 0.9 is within noise of it" in text
        assert "within noise of plain SGD (0.9195 ± 0.0006)" in text
        assert "'a larger effective step trains faster'" in text
        assert "points higher, beyond the noise bound" in text  # momentum vs plain at equal lr
        assert "moves exactly" not in text and "close to one of plain SGD" in text
    else:
        assert "在噪声范围" in text and "更大的有效步长更快" in text and "比普通" not in text


def test_momentum_ahead_of_its_control_is_said_to_be_ahead():
    _, s = momentum_case([0.9195, 0.9201, 0.9190])  # the control is as slow as plain SGD
    text = " ".join(discussion.momentum_text(s["momentum-0"], s["momentum-0.9"], s["sgd-equal-step"],
                                     None, None, [0.9, 0.92], N_VAL, "en"))
    assert "beyond the noise" in text and "stays ahead at an equal effective step" in text
    assert "'a larger effective step trains faster'" not in text


def lr_case(finals_by_lr, sd=0.0004):
    groups = [runs_of_setting(f"lr-{lr:g}", "lr", [f - sd, f, f + sd], lr=lr, momentum=0.9)
              for lr, f in finals_by_lr.items()]
    res = results_of(*groups)
    return [summarize(res, f"lr-{lr:g}") for lr in finals_by_lr]


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_a_rate_ahead_by_less_than_its_noise_is_not_called_best(lang):
    items = lr_case({0.001: 0.9199, 0.01: 0.9348, 0.05: 0.9360, 0.1: 0.9354})
    text = " ".join(discussion.lr_text(items, N_VAL, lang))
    if lang == "en":
        assert "Learning rates 0.01 and 0.1 are within noise of it: the sweep does not separate" in text
        assert "Too small: lr 0.001" in text
        assert "best rate" not in text
    else:
        assert "学习率 0.01 和 0.1 与它的差异在噪声范围内，这组实验在它们之间分不出高下" in text


def test_a_rate_ahead_beyond_its_noise_leads_by_its_margin():
    items = lr_case({0.01: 0.90, 0.05: 0.95, 0.1: 0.91})
    text = " ".join(discussion.lr_text(items, N_VAL, "en"))
    assert "It is 4.00 points higher than the runner-up, lr 0.1, beyond the noise bound" in text
    assert "separate" not in text


def test_without_per_image_data_the_rule_pairs_seeds_and_adds_binomial_errors():
    items = lr_case({0.01: 0.93, 0.05: 0.94}, sd=0.0)
    d, nz, real = findings.gap(items[0], items[1], N_VAL)
    p1, p2 = 0.93, 0.94
    assert nz == pytest.approx(2 * np.sqrt(p1 * (1 - p1) / N_VAL + p2 * (1 - p2) / N_VAL))
    assert d == pytest.approx(0.01) and real  # 1 point against about 1.0
    wide = lr_case({0.01: 0.93, 0.05: 0.94}, sd=0.02)  # the same seeds move both together:
    assert findings.gap(wide[0], wide[1], N_VAL)[1] == pytest.approx(nz)  # paired, no wider


def test_time_within_noise_and_beyond():
    _, s = momentum_case([0.9351, 0.9346, 0.9349])
    step = {"momentum-0": {"median": 4.0}, "momentum-0.9": {"median": 7.0}}
    near = {"momentum-0": {"median": 0.100, "q1": 0.098, "q3": 0.103},
            "momentum-0.9": {"median": 0.104, "q1": 0.101, "q3": 0.106}}
    text = discussion.time_text(near, step, s["momentum-0"], s["momentum-0.9"], [0.9, 0.92], 5, "en")
    assert "within noise" in text and "costs 4.0 µs without momentum and 7.0 µs" in text
    assert "0.10 s with plain SGD and 0.10 s with momentum" in text  # two significant digits
    far = {**near, "momentum-0.9": {"median": 0.200, "q1": 0.198, "q3": 0.203}}
    text = discussion.time_text(far, step, s["momentum-0"], s["momentum-0.9"], [0.9, 0.92], 5, "en")
    assert "momentum is 100% slower, beyond the noise" in text


def test_time_is_compared_round_by_round():
    """Interleaved rounds are paired: a load spike that hits both settings in one round
    cancels in their ratio, however much it spreads each one's times."""
    _, s = momentum_case([0.9351, 0.9346, 0.9349])
    step = {"momentum-0": {"median": 4.0}, "momentum-0.9": {"median": 7.0}}
    a = [0.10, 0.25, 0.10, 0.30, 0.12, 0.28, 0.11]
    for factors, words in (([1.02] * 7, "they differ by 2%, within noise (10%)"),
                           ([1.5] * 7, "momentum is 50% slower, beyond the noise bound of 10%"),
                           ([1.5, 0.8, 1.5, 0.8, 1.5, 1.5, 0.8], "within noise")):
        b = [t * f for t, f in zip(a, factors)]
        epoch = {"momentum-0": {"times": a, "median": float(np.median(a)), "q1": 0.1, "q3": 0.27},
                 "momentum-0.9": {"times": b, "median": float(np.median(b)), "q1": 0.1, "q3": 0.3}}
        text = discussion.time_text(epoch, step, s["momentum-0"], s["momentum-0.9"], [0.9, 0.92], 7, "en")
        assert words in text, text


def test_two_significant_digits():
    assert [wording.two_significant(x) for x in (0.5721, 1.069, 12.3, 347.0, 0.0312)] == \
        ["0.57", "1.1", "12", "350", "0.031"]


def test_english_is_written_beside_the_chinese_and_no_daggers(tmp_path):
    res, _ = momentum_case([0.9351, 0.9346, 0.9349])
    res["runs"] += runs_of_setting("nesterov-0.9", "momentum", [0.935, 0.934, 0.936],
                                   momentum=0.9, nesterov=True, stacked=False)
    res["passes"] = [{"id": k, "runs": [r["name"] for r in res["runs"] if r.get("pass") == k],
                      "seconds": 1.0} for k in (1, 2, 3)]
    res["groups"] = {"momentum": [r["name"] for r in res["runs"]]}
    atomic_write_json(tmp_path / "results.json", res)
    calls = []

    class Bar:  # tqdm's update/close, recorded
        def update(self, k=1):
            calls.append(k)

        def close(self):
            calls.append("closed")

    paths = report.build_report(tmp_path, "en", progress=lambda **kw: Bar())
    assert calls == [1] * (len(paths.figures) + 1) + ["closed"]  # a step per figure, and the PDF
    assert (paths.markdown.name, paths.typst.name, paths.pdf.name) == \
        ("report.en.md", "report.en.typ", "report.en.pdf")
    assert all(p.parent.name == "figures.en" for p in paths.figures)
    assert not (tmp_path / "report.md").exists() and not (tmp_path / "figures").exists()
    md = paths.markdown.read_text(encoding="utf-8")
    assert "](figures.en/" in md and "†" not in md and "stacked" not in md


def test_confusion_and_mistakes_sentences_come_from_the_counts():
    cm = np.diag(np.full(10, 100))
    cm[5, 5], cm[5, 3] = 80, 20  # class 5 is the hardest, taken for 3
    cm[9, 4], cm[7, 1] = 7, 3
    text = discussion.confusion_text(cm, "en")
    assert "hardest class is 5 (recall 0.800)" in text
    assert ("three most frequent confusions are a 5 read as 3 (20 images), a 9 read as 4 (7 images) "
            "and a 7 read as 1 (3 images)") in text
    assert "最常见的三种错误是把 5 判为 3（20 张）" in discussion.confusion_text(cm, "zh")
    assert "the only" not in discussion.confusion_text(np.diag(np.full(10, 5)), "en")
    text = discussion.mistakes_text([7, 7, 2], [2, 2, 7], np.array([0.999, 0.995, 0.97]), "en")
    assert "probability 0.970 to 0.999 (2 above 0.99)" in text and "a 7 read as 2 (2 images)" in text


def test_gradient_check_finds_a_wrong_gradient():
    rng = np.random.default_rng(0)
    W, b = rng.normal(0, 0.1, (20, 4)), rng.normal(0, 0.1, (1, 4))
    x, y = rng.normal(0, 1, (8, 20)), rng.integers(0, 4, 8)
    assert measures.gradient_check(W, b, x, y)[0] < 1e-6
    from softmax_mnist.core import functional

    real = functional.cross_entropy

    def times_n(logits, labels, **kw):  # the classic bug: dlogits not divided by N
        loss, d = real(logits, labels, **kw)
        return loss, d * len(labels)

    functional.cross_entropy = times_n
    try:
        assert measures.gradient_check(W, b, x, y)[0] > 0.5
    finally:
        functional.cross_entropy = real


def test_key_code_is_the_course_shaped_code_read_from_its_source():
    from softmax_mnist.study.report import keycode
    from softmax_mnist.study.report.typeset import Code, Document

    doc = Document("t", "s", "zh")
    method.method_section(doc, "zh", None, 0)
    code = next(b for b in doc.blocks if isinstance(b, Code) and b.label == "code-key")
    assert code.source == keycode.key_code()
    assert "def step(self)" in code.source and "stack" not in code.source.lower()
    import inspect
    assert inspect.getsource(keycode.SGD.step).rstrip() in code.source
    text = " ".join(b.text for b in doc.blocks if hasattr(b, "text"))
    assert "study/report/keycode.py" in text and "tests/test_keycode.py" in text
    assert "本软件包" not in text and "堆叠" not in text


def test_typst_escapes_markup_and_keeps_references_math_and_code():
    out = typeset.typst_text("a*b_c #x @fig-lr 10% <y> [z] $p_(i c)$ `x_y`")
    assert out == r"a\*b\_c \#x #ref(<fig-lr>) 10% \<y\> \[z\] $p_(i c)$ `x_y`"
    # Chinese: no space between a character and a reference (Typst spaces "式 1" itself)
    assert typeset.typst_text("由 @eq-softmax 和 @eq-ce 求梯度") == \
        "由#ref(<eq-softmax>)和#ref(<eq-ce>)求梯度"
    assert typeset.latex_of("partial L / partial z_(i c) + e^(z_(i k))") == \
        r"\partial L / \partial z_{i c} + e^{z_{i k}}"


# ---- a real quick study, typeset ------------------------------------------------------------


def run_cli(args) -> tuple[int, str]:
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        rc = main(args)
    return rc, buf.getvalue()


@pytest.fixture(scope="module")
def two_studies(mnist_dir, tmp_path_factory):
    """Two `study --quick --lang zh` runs with the same seed on real MNIST."""
    outs = []
    for k in range(2):
        out = tmp_path_factory.mktemp(f"study{k}") / "study"
        rc, _ = run_cli(["study", "--quick", "--data-dir", str(mnist_dir), "--out", str(out),
                         "--lang", "zh"])
        assert rc == 0
        outs.append(out)
    return outs


def pdf_text(path) -> str:
    return subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True,
                          check=True).stdout


def test_chinese_pdf_fonts_embedded_headings_extractable(two_studies, mnist_dir):
    out = two_studies[0]
    from pypdf import PdfReader

    pages = len(PdfReader(out / "report.pdf").pages)
    assert 4 <= pages <= 12
    box = PdfReader(out / "report.pdf").pages[0].mediabox
    assert (round(float(box.width)), round(float(box.height))) == (595, 842)  # A4 portrait
    fonts = subprocess.run(["pdffonts", str(out / "report.pdf")], capture_output=True, text=True,
                           check=True).stdout.splitlines()[2:]
    assert fonts and all(line.split()[-5] == "yes" for line in fonts), fonts  # the emb column
    text = pdf_text(out / "report.pdf")
    for heading in ("摘要", "方法", "梯度推导", "有无动量的比较", "学习率", "批大小", "模型学到了什么"):
        assert heading in text, heading
    md = (out / "report.md").read_text(encoding="utf-8")
    typ = (out / "report.typ").read_text(encoding="utf-8")
    for doc in (md, typ):
        assert str(mnist_dir) not in doc and "/home/" not in doc and "/work/" not in doc
    assert md.count("![图") == typ.count("#figure(image(") >= 6
    figures = re.findall(r"\(figures/([\w-]+\.png)\)", md)
    assert all((out / "figures" / f).is_file() for f in figures)


def test_report_typ_recompiles_after_an_edit(two_studies, tmp_path):
    folder = tmp_path / "copy"
    shutil.copytree(two_studies[0], folder)
    typ = folder / "report.typ"
    typ.write_text(typ.read_text(encoding="utf-8").replace("= 摘要", "= 摘要（已修改）", 1),
                   encoding="utf-8")
    (folder / "report.pdf").unlink()
    rc, printed = run_cli(["report", str(folder), "--typeset-only"])
    assert rc == 0 and "已修改" in pdf_text(folder / "report.pdf")
    chinese = {p: p.read_bytes() for p in [folder / "report.pdf", folder / "report.md", typ,
                                            *sorted((folder / "figures").glob("*.png"))]}
    rc, _ = run_cli(["report", str(folder), "--lang", "en"])  # the other language, no training
    assert rc == 0
    text = pdf_text(folder / "report.en.pdf")
    assert "Summary" in text and "With and without momentum" in text and "摘要" not in text
    assert (folder / "report.en.md").is_file() and len(list((folder / "figures.en").glob("*.png"))) >= 6
    # the Chinese report is untouched, byte for byte, figures included
    assert all(p.read_bytes() == data for p, data in chinese.items())
    assert sorted((folder / "figures").glob("*.png")) == [p for p in chinese if p.suffix == ".png"]
    rc, printed = run_cli(["report", str(folder), "--typeset-only", "--lang", "en"])
    assert rc == 0 and "report.en.pdf" in printed
    assert all(p.read_bytes() == data for p, data in chinese.items())


def masked(path) -> list[str]:
    """The sentences of report.md with every number masked."""
    text = path.read_text(encoding="utf-8")
    text = re.sub(r"\d[\d,]*(\.\d+)?(e-?\d+)?", "#", text)
    return [line for line in text.splitlines() if line.strip()]


def test_two_runs_with_the_same_seed_reach_the_same_conclusions(two_studies):
    a, b = (masked(out / "report.md") for out in two_studies)
    assert len(a) == len(b)
    diff = [(x, y) for x, y in zip(a, b) if x != y]
    assert not diff, diff[:3]


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_the_derivation_typesets_grouped_fractions(tmp_path, lang):
    """∂(−log p)/∂z must print as one fraction (numerator over denominator), not as
    ∂·[(−log p)/∂]·z: Typst's / binds to the next token, so each side needs its brackets;
    the Markdown gets \\frac and \\sum, never 'log sum'."""
    doc = typeset.Document("t", "s", lang)
    method.method_section(doc, lang, None, 0)
    para = next(b.text for b in doc.blocks if isinstance(b, typeset.Para) and "partial" in b.text)
    maths = [m for m in re.findall(r"\$([^$]+)\$", para) if "/" in m]
    assert len(maths) == 3
    for m in maths:
        assert re.fullmatch(r"\(partial [^$]*\) / \(partial [^$]*\)( = .*)?", m), m
    md = typeset.to_markdown(doc)
    assert r"\frac{\partial (-\log p_{i, y_i})}{\partial z_{i c}}" in md
    assert r"\log \sum_{k=1}^C e^{z_{i k}}" in md and "log sum" not in md
    typ = typeset.write_typst(doc, tmp_path)
    typeset.compile_pdf(typ)
    words = re.findall(r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">([^<]*)<',
                       subprocess.run(["pdftotext", "-bbox", str(tmp_path / "report.pdf"), "-"],
                                      capture_output=True, text=True, check=True).stdout)
    top = next(w for w in words if w[4].startswith("𝜕(−"))  # the numerator, in one piece
    below = [w for w in words if w[4] == "𝜕𝑧"
             and float(w[1]) > float(top[3])                      # under it ...
             and float(top[0]) <= float(w[0]) <= float(top[0]) + 60]  # ... and within its span
    assert below, "the numerator ∂(−log p) has no ∂z under it: not a fraction"


@pytest.mark.parametrize("load, busy", [([0.0, 1.0], False), ([2.1, 3.0], True)])
def test_the_appendix_calls_the_machine_shared_only_when_other_work_ran(load, busy):
    """The load when training began is other programs' (the study has barely started); at the
    timing the study's own training counts, so 1.0 on 2 cores is no sign of a shared machine."""
    for lang, shared in (("zh", "并非空闲"), ("en", "was shared")):
        doc = typeset.Document("t", "s", lang)
        report.appendix(doc, {"meta": {"machine": {"cpu": "X", "cores": 2}, "load": load}}, lang)
        text = doc.blocks[-1].text
        assert (shared in text) is busy, text
        assert f"{load[0]:.1f}" in text and f"{load[1]:.1f}" in text


def test_both_languages_have_every_entry_with_the_same_fields():
    """wording.say's tables: zh and en have the same keys, each filling the same fields, so a
    number said in one language is said in the other; the findings' tables (phrases_*) and the
    report's own words (words_*) share no key, so neither hides an entry of the other."""
    import string

    from softmax_mnist.study.report import phrases_en, phrases_zh, words_en, words_zh

    def fields(text):
        return {name for _, name, _, _ in string.Formatter().parse(text) if name}

    only_zh = {("momentum.control", "epochs")}  # the English control does not repeat the epochs
    zh, en = wording.PHRASES["zh"], wording.PHRASES["en"]
    assert set(zh) == set(en)
    for key in zh:
        assert fields(zh[key]) - {f for k, f in only_zh if k == key} == fields(en[key]), key
    assert set(phrases_zh.PHRASES) == set(phrases_en.PHRASES)
    assert set(words_zh.WORDS) == set(words_en.WORDS)
    assert not set(phrases_en.PHRASES) & set(words_en.WORDS)
