"""The study report, built from a saved study folder without training, in zh or en.

``build_report(folder, lang)`` reads results.json (results.py) and, when present, model.npz
and examples.npz (measures.py), and writes report.typ + template.typ -> report.pdf (Typst)
and report.md (typeset.py): one document, two renderings. ``build_document`` lays the
document out: title, summary, method (method.py), setup, the result sections (sections.py)
and the appendix. Every sentence comes from words_zh.py / words_en.py (the report's own
words, looked up by wording.say) or discussion.py (the findings).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from softmax_mnist import __version__
from softmax_mnist.fileio import atomic_write_text
from softmax_mnist.study import results as rs
from softmax_mnist.study.report import discussion, findings, fonts, sections
from softmax_mnist.study.report.keycode import impl_sources
from softmax_mnist.study.report.measures import check_saved_model, load_model_and_examples
from softmax_mnist.study.report.method import method_section
from softmax_mnist.study.report.typeset import (
    Bullets,
    Document,
    Heading,
    Para,
    Table,
    check_fonts,
    compile_pdf,
    literal,
    to_markdown,
    write_typst,
)
from softmax_mnist.study.report.wording import four_places, mean_sd, points, say
from softmax_mnist.study.results import load_results, summarize

FIGURES = 8  # a full study's figures: the length of the report's progress bar
DATA = ("MNIST (train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte, "
        "t10k-labels-idx1-ubyte)")
NAMED = (rs.BASELINE, rs.REFERENCE, rs.NESTEROV, rs.CONTROL, rs.CONTROL_SMALL, rs.BEST,
         rs.BEST_SHORT)  # the settings the report names, summarized once
# the 1-minute load average when training begins, before the study has run long enough to count:
# at or above it, other work shared the machine and the appendix says the times are inflated
BUSY_LOAD = 0.5


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


def build_document(results: dict, folder: Path, lang: str, bar=None) -> tuple[Document, list[Path]]:
    """Every block of the report in ``lang``, rendering the figures into folder/figures."""
    meta, setup = results.get("meta", {}), results.get("setup", {})
    n_val, n_train, n_test = (int(setup.get(k) or d) for k, d in
                              (("n_val", 5000), ("n_train", 55000), ("n_test", 10000)))
    seeds = meta.get("seeds") or [meta.get("seed", 0)]
    sweep = "momentum" not in results.get("groups", {})
    figures = sections.Figures(folder / output_name(lang, ""), bar)
    stamp = f"{literal(meta.get('version', __version__))} · {literal(str(meta.get('started', ''))[:10])}"
    doc = Document(say(lang, "title.sweep" if sweep else "title.study"),
                   say(lang, "subtitle", stamp=stamp, seeds=seed_list(seeds), data=DATA), lang)
    named = {name: summarize(results, name) for name in NAMED}

    _summary(doc, results, named, sweep, n_train, n_val, lang)
    model, model_meta, examples = load_model_and_examples(folder)
    check, n_check = check_saved_model(model, model_meta, examples)
    method_section(doc, lang, check, n_check, study=not sweep, impl=impl_sources(folder, meta))
    doc.add(Heading(say(lang, "setup")),
            Bullets(setup_items(results, n_train, n_val, n_test, seeds, lang)),
            Para(discussion.noise_rule(n_val, len(seeds), lang)))

    plain, mom = named[rs.BASELINE], named[rs.REFERENCE]
    if not sweep and plain and mom:
        thresholds = rs.thresholds_of(results)
        sections.curves_section(doc, figures, plain, mom, len(seeds), n_train, n_val, lang)
        sections.momentum_section(doc, figures, results, named, thresholds, n_train, n_val, lang)
        doc.add(Heading(say(lang, "settings")))
        sections.lr_section(doc, figures, results, len(seeds), mom.config["epochs"], n_val, lang)
        sections.batch_section(doc, figures, results, n_train, n_val, lang)
        sections.ablation_section(doc, results, named, n_val, lang)
    else:
        sections.grid_section(doc, figures, results, n_val, lang)
    sections.model_section(doc, figures, model, examples, results, lang)
    appendix(doc, results, lang)
    return doc, figures.paths


def seed_list(seeds) -> str:
    """'0–4' for a run of three or more consecutive seeds, else '0, 3'."""
    seeds = sorted(seeds)
    if len(seeds) > 2 and seeds == list(range(seeds[0], seeds[-1] + 1)):
        return f"{seeds[0]}–{seeds[-1]}"
    return ", ".join(map(str, seeds))


# ---- summary and setup ---------------------------------------------------------------------


def _summary(doc: Document, results: dict, named: dict, sweep: bool, n_train: int, n_val: int,
             lang: str) -> None:
    finals = [s for s in (named[rs.BASELINE], named[rs.REFERENCE], named[rs.NESTEROV],
                          named[rs.BEST_SHORT], named[rs.BEST]) if s]
    grid_best = summarize(results, results.get("best", {}).get("grid") or "") if sweep else None
    if grid_best:
        finals.append(grid_best)
    doc.add(Heading(say(lang, "summary")))
    if not finals:
        return
    rows = [[_final_name(s, lang), mean_sd(s.train_acc), mean_sd(s.val_acc), mean_sd(s.test_acc)]
            for s in finals]
    doc.add(Para(summary_paragraph(named, n_val, lang)),
            Table([say(lang, "final model"), say(lang, "train accuracy"),
                   say(lang, "validation"), say(lang, "test")], rows,
                  say(lang, "summary.caption", n_train=n_train), "tab-summary"))


def _final_name(s, lang: str) -> str:
    if s.setting in (rs.BEST, rs.BEST_SHORT):
        return say(lang, "preset best", epochs=s.config["epochs"])
    if s.group == "grid":
        return s.setting
    return sections.setting_label(s, lang) + say(lang, "course settings")


def summary_paragraph(named: dict, n_val: int, lang: str) -> str:
    """The summary's verdict on momentum (and on the preset best, when it ran)."""
    plain, mom, best = named[rs.BASELINE], named[rs.REFERENCE], named[rs.BEST]
    if not (plain and mom):
        return say(lang, "summary.sweep")
    gain, _, real = findings.gap(plain, mom, n_val)
    control = named[rs.CONTROL]
    matched = control is not None and not findings.gap(control, mom, n_val)[2]
    verdict = ("summary.within" if not real else "summary.above" if gain > 0 else "summary.below")
    text = (say(lang, "summary.momentum", verdict=say(lang, verdict, points=points(gain)))
            + say(lang, "summary.matched" if matched else "full stop"))
    if best and best.test_acc.n:
        text += say(lang, "summary.best", accuracy=four_places(best.test_acc.mean))
    return text + say(lang, "summary.table")


def setup_items(results: dict, n_train: int, n_val: int, n_test: int, seeds, lang: str) -> list[str]:
    """The setup's bullets: the splits, preprocessing and initialisation, seeds, stacking."""
    preprocess = results.get("setup", {}).get("preprocess", "course")
    return [say(lang, "setup.data", n_train=n_train, n_val=n_val, n_test=n_test),
            say(lang, "setup.preprocess", preprocess=preprocess),
            say(lang, "setup.seeds", seeds=seed_list(seeds)),
            say(lang, "setup.stacked")]


# ---- appendix ------------------------------------------------------------------------------


def appendix(doc: Document, results: dict, lang: str) -> None:
    """The machine, the study's own times, how busy the machine was, the CJK fonts."""
    meta = results.get("meta", {})
    machine = {k: literal(v) for k, v in meta.get("machine", {}).items()}  # as the study wrote them
    cores = machine.get("cores", "?")
    load = meta.get("load")
    busy = ""
    if load:
        busy = say(lang, "appendix.busy" if load[0] >= BUSY_LOAD else "appendix.quiet",
                      at_training=load[0], at_timing=load[1], cores=cores)
    text = say(lang, "appendix.machine", cpu=machine.get("cpu", "?"), cores=cores,
                  python=machine.get("python", "?"), numpy=machine.get("numpy", "?"),
                  typst=machine.get("typst", "?"), train_seconds=meta.get("train_seconds", 0),
                  timing_seconds=meta.get("timing_seconds", 0))
    doc.add(Heading(say(lang, "appendix")), Para(text + busy + _fonts_sentence(lang)))


def _fonts_sentence(lang: str) -> str:
    """The CJK fonts this report's PDF and figures were set in (fonts.py chose them)."""
    cjk = fonts.cjk_fonts()
    if cjk["serif"] is None:
        return ""
    return say(lang, "appendix.fonts", serif=cjk["serif"].family, sans=cjk["sans"].family)


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
