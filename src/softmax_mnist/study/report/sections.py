"""The report's result sections as blocks: the course's curves, momentum and its controls
with their times, learning rate, batch size, the preset best and its ablation, a sweep's
grid, and what the saved model learned. Each section places its tables and figures and takes
its findings from discussion.py, its own words from words_zh.py / words_en.py (wording.say).

``Figures`` renders a figure into the report's figure folder and advances the progress bar.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import matplotlib

from softmax_mnist.study import results as rs
from softmax_mnist.study.report import discussion
from softmax_mnist.study.report import visualize as viz
from softmax_mnist.study.report.measures import (
    accuracy_grid,
    effective_step,
    initial_weights,
    large_step_pairs,
)
from softmax_mnist.study.report.typeset import Bullets, Document, Heading, Image, Para, Table
from softmax_mnist.study.report.wording import mean_sd, say, two_significant
from softmax_mnist.study.results import summaries, summarize


@dataclass
class Figures:
    """Where the figures go, the progress bar they advance (or None), and those drawn so far."""

    dir: Path
    bar: object = None
    paths: list[Path] = field(default_factory=list)

    def add(self, doc: Document, name: str, fig, caption: str, width: float = 1.0) -> None:
        """Save ``fig`` as name.png and place it in ``doc`` with its caption."""
        path = viz.save_figure(fig, self.dir / f"{name}.png", dpi=200)
        if self.bar is not None:
            self.bar.update()
        doc.add(Image(f"{self.dir.name}/{path.name}", caption, f"fig-{name}", width))
        self.paths.append(path)


def setting_label(s, lang: str) -> str:
    """How a table or legend names a momentum-study setting: 'momentum 0.9', 'plain SGD, equal step'."""
    config = s.config
    if s.setting == rs.CONTROL:
        return say(lang, "plain SGD, equal step")
    if s.setting == rs.CONTROL_SMALL:
        return say(lang, "momentum, equal step")
    if s.setting in rs.CONTROLS_LARGE:
        return say(lang, "plain SGD, large step")
    if config.get("nesterov"):
        return say(lang, "nesterov", momentum=config["momentum"])
    if config.get("momentum"):
        return say(lang, "momentum", momentum=config["momentum"])
    return say(lang, "plain SGD")


def accuracy_cell(s, lang: str) -> str:
    """Mean ± sd of the validation accuracy, or how many seeds diverged."""
    if s.diverged:
        return say(lang, "diverged of", diverged=s.diverged, seeds=len(s.seeds))
    return mean_sd(s.val_acc)


def _epochs_cell(epochs: list) -> str:
    median = rs.median_epoch(epochs)
    if median is None:
        hit = [x for x in epochs if x is not None]
        return "–" if not hit else f"– ({len(hit)}/{len(epochs)})"
    return f"{median:g}"


def _step(config: dict) -> str:
    return f"{effective_step(config):g}"


def curves_section(doc: Document, figures: Figures, plain, mom, seeds: int, n_train: int,
                   n_val: int, lang: str) -> None:
    """(a): the course's two settings, their training curves."""
    doc.add(Heading(say(lang, "curves")),
            Para(say(lang, "curves.intro", epochs=mom.config["epochs"])))
    with matplotlib.rc_context(viz.figure_style(lang)):
        figures.add(doc, "curves", viz.plot_training_curves(
            [plain, mom], [setting_label(plain, lang), setting_label(mom, lang)], lang),
            say(lang, "curves.caption", seeds=seeds))
    doc.add(Para(discussion.curves_text(plain, mom, {}, lang, n_train, n_val)))


def momentum_section(doc: Document, figures: Figures, results: dict, named: dict, thresholds,
                     n_train: int, n_val: int, lang: str) -> None:
    """(b): momentum against plain SGD and the equal-step controls, and their times."""
    plain, mom = named[rs.BASELINE], named[rs.REFERENCE]
    control, control_small, nesterov = named[rs.CONTROL], named[rs.CONTROL_SMALL], named[rs.NESTEROV]
    timing = results.get("timing") or {}
    epoch_t, step_t = timing.get("epoch", {}), timing.get("step", {})
    has_time = bool(epoch_t and step_t and all(k in epoch_t and k in step_t
                                               for k in (rs.BASELINE, rs.REFERENCE)))
    doc.add(Heading(say(lang, "momentum.heading")),
            Para(say(lang, "momentum.intro")
                 + say(lang, "momentum.intro.time" if has_time else "full stop")))
    rows = [[setting_label(s, lang), f"{s.config['lr']:g}", _step(s.config),
             *[_epochs_cell(s.epochs_to[rs.key(t)]) for t in thresholds], accuracy_cell(s, lang),
             f"{s.train_loss.mean:.3f}" if s.train_loss.n else "–"]
            for s in summaries(results, "momentum")]
    doc.add(Table([say(lang, "optimizer"), "η", "η/(1−μ)",
                   *[say(lang, "epochs to", threshold=t) for t in thresholds],
                   say(lang, "val. accuracy"), say(lang, "train. loss")], rows,
                  say(lang, "momentum.caption", epochs=mom.config["epochs"]), "tab-momentum"))
    left = [(plain, setting_label(plain, lang), False), (mom, setting_label(mom, lang), False)]
    if nesterov:
        left.append((nesterov, setting_label(nesterov, lang), False))
    right = [(mom, say(lang, "momentum at", lr=0.01), False)]  # pairs: see plot_val_curves
    if control:
        right.append((control, say(lang, "plain SGD at", lr=control.config["lr"]), True))
    right.append((plain, say(lang, "plain SGD at", lr=0.01), False))
    if control_small:
        right.append((control_small, say(lang, "momentum at", lr=control_small.config["lr"]), True))
    with matplotlib.rc_context(viz.figure_style(lang)):
        figures.add(doc, "momentum", viz.plot_val_curves([left, right], thresholds, lang),
                    say(lang, "momentum.figure"))
    for text in discussion.momentum_text(plain, mom, control, control_small, nesterov, thresholds, n_val,
                                 lang, large_step_pairs(results)):
        doc.add(Para(text))
    if has_time:
        rounds = timing.get("rounds", 5)
        rows = [[setting_label(named[k], lang), two_significant(epoch_t[k]["median"]),
                 f"{two_significant(epoch_t[k]['q1'])}–{two_significant(epoch_t[k]['q3'])}",
                 two_significant(step_t[k]["median"])] for k in (rs.BASELINE, rs.REFERENCE, rs.NESTEROV)
                if k in epoch_t and k in step_t and named[k]]
        doc.add(Table([say(lang, "optimizer"), say(lang, "s per epoch"),
                       say(lang, "quartiles"), say(lang, "µs per update")], rows,
                      say(lang, "time.caption", n_train=n_train, batch=mom.config["batch_size"],
                             rounds=rounds), "tab-time"),
                Para(discussion.time_text(epoch_t, step_t, plain, mom, thresholds, rounds, lang,
                                  n_train, control)))


def lr_section(doc: Document, figures: Figures, results: dict, seeds: int, epochs: int,
               n_val: int, lang: str) -> None:
    """(c), first part: the learning rates with momentum 0.9."""
    lrs = summaries(results, "lr")
    if not lrs:
        return
    doc.add(Heading(say(lang, "lr"), 2),
            Para(say(lang, "lr.intro", rates=len(lrs), seeds=seeds)))
    rows = [[f"{s.config['lr']:g}", _step(s.config), mean_sd(s.val_acc),
             mean_sd(s.train_loss) if s.ok else say(lang, "diverged")]
            for s in sorted(lrs, key=lambda s: s.config["lr"])]
    doc.add(Table(["η", "η/(1−μ)", say(lang, "val. accuracy"), say(lang, "final training loss")],
                  rows, say(lang, "lr.caption", epochs=epochs, seeds=seeds), "tab-lr"))
    with matplotlib.rc_context(viz.figure_style(lang)):
        figures.add(doc, "lr", viz.plot_sweep(lrs, "lr", lang), say(lang, "lr.figure"))
    for text in discussion.lr_text(lrs, n_val, lang):
        doc.add(Para(text))


def batch_section(doc: Document, figures: Figures, results: dict, n_train: int, n_val: int,
                  lang: str) -> None:
    """(c), second part: batch sizes at a fixed and a scaled rate, and the lr x batch heatmap."""
    sizes = summaries(results, "batch_size")
    if not sizes:
        return
    fixed = sorted([s for s in sizes if not s.setting.endswith("-scaled")],
                   key=lambda s: s.config["batch_size"])
    scaled = {s.config["batch_size"]: s for s in sizes if s.setting.endswith("-scaled")}
    epoch_t = (results.get("timing") or {}).get("epoch", {})
    times = {int(k[3:]): v for k, v in epoch_t.items() if k.startswith("bs-")}
    heat = summaries(results, "lr_batch")
    doc.add(Heading(say(lang, "batch.heading"), 2),
            Para(say(lang, "batch.intro", sizes=len(fixed))
                 + say(lang, "batch.intro.heatmap" if heat else "full stop")))
    rows = []
    for s in fixed:
        batch = s.config["batch_size"]
        at_scaled = scaled.get(batch)
        rows.append([str(batch), f"{-(-n_train // batch):,}", mean_sd(s.val_acc),
                     f"{at_scaled.config['lr']:g}" if at_scaled else "–",
                     mean_sd(at_scaled.val_acc) if at_scaled else "–",
                     two_significant(times[batch]["median"]) if batch in times else "–"])
    doc.add(Table([say(lang, "batch"), say(lang, "updates per epoch"),
                   say(lang, "val. acc. fixed"), say(lang, "scaled η"),
                   say(lang, "val. acc. scaled"), say(lang, "s/epoch")], rows,
                  say(lang, "batch.caption", epochs=fixed[0].config["epochs"]), "tab-batch"))
    with matplotlib.rc_context(viz.figure_style(lang)):
        figures.add(doc, "batch", viz.plot_batch(fixed, list(scaled.values()), times, lang),
                    say(lang, "batch.figure"))
    best_lr = {}
    if heat:
        rates, batch_sizes, acc, best_lr = accuracy_grid(heat)
        seeds = max(s.val_acc.n for s in heat)
        over = (say(lang, "heatmap.seeds", seeds=seeds) if seeds > 1
                else say(lang, "heatmap.one seed"))
        with matplotlib.rc_context(viz.figure_style(lang)):
            figures.add(doc, "heatmap", viz.plot_heatmap(rates, batch_sizes, acc, lang),
                        say(lang, "heatmap.figure", seeds=over, epochs=heat[0].config["epochs"]),
                        0.8)
    for text in discussion.batch_text(fixed, list(scaled.values()), times, best_lr, n_train, n_val, lang):
        doc.add(Para(text))


ABLATIONS = ("no-deskew", "no-ink-size", "no-blur", "no-decay", "no-transform")


def ablation_section(doc: Document, results: dict, named: dict, n_val: int, lang: str) -> None:
    """The preset best, what it is, and what switching off each of its parts costs."""
    full = named[rs.BEST]
    if not full:
        return
    parts = {key: say(lang, f"ablation.{key}") for key in ABLATIONS}
    variants = [(part, summarize(results, f"{rs.BEST}-{key}")) for key, part in parts.items()]
    variants = [(part, s) for part, s in variants if s]
    config = full.config
    doc.add(Heading(say(lang, "ablation"), 2), Para(say(lang, "ablation.intro")),
            Bullets([say(lang, "ablation.deskew"),
                     say(lang, "ablation.ink size", ink_size=config.get("ink_size", 0)),
                     say(lang, "ablation.blur", blur_sigma=config.get("blur_sigma", 0)),
                     say(lang, "ablation.optimizer", momentum=config["momentum"],
                            lr=config["lr"], epochs=config["epochs"],
                            batch_size=config["batch_size"])]))
    # each part alone, when every variant ran; the transforms together are a row of the table
    each = ([(part, s) for key, (part, s) in zip(parts, variants) if key != "no-transform"]
            if len(variants) == len(parts) else variants)
    text = discussion.ablation_text(full, each, n_val, lang, named[rs.REFERENCE], named[rs.BEST_SHORT])
    for paragraph in text[:1]:
        doc.add(Para(paragraph))
    rows = [[say(lang, "ablation.full"), mean_sd(full.val_acc), "–", "–",
             f"{full.train_loss.mean:.3f}" if full.train_loss.n else "–"]]
    for part, s in variants:
        without = say(lang, "ablation.without", part=part)
        if s.ok:
            cmp = rs.compare(s, full, n_val)
            rows.append([without, mean_sd(s.val_acc), f"{-cmp.gain * 100:+.2f}",
                         say(lang, "beyond noise" if cmp.real else "within noise"),
                         f"{s.train_loss.mean:.3f}"])
        else:
            rows.append([without, accuracy_cell(s, lang), "–", "–", "–"])
    doc.add(Table([say(lang, "variant"), say(lang, "val. accuracy"), say(lang, "change"),
                   say(lang, "by the rule"), say(lang, "train. loss")], rows,
                  say(lang, "ablation.caption", seeds=full.val_acc.n, epochs=config["epochs"]),
                  "tab-ablation"))
    for paragraph in text[1:]:
        doc.add(Para(paragraph))


def grid_section(doc: Document, figures: Figures, results: dict, n_val: int, lang: str) -> None:
    """A sweep's grid: every setting, a figure, the findings and the times per epoch."""
    items = summaries(results, "grid")
    if not items:
        return
    doc.add(Heading(say(lang, "grid")))
    varying = [k for k in items[0].config if k != "seed"
               and len({repr(s.config[k]) for s in items}) > 1]
    rows = [[s.setting, mean_sd(s.val_acc) if s.ok else say(lang, "diverged"), mean_sd(s.train_acc),
             mean_sd(s.test_acc) if s.test_acc.n else "–"] for s in items]
    doc.add(Table([say(lang, "setting"), say(lang, "val. accuracy"),
                   say(lang, "train accuracy"), say(lang, "test split")], rows,
                  say(lang, "grid.caption"), "tab-grid"),
            Para(say(lang, "grid.intro")
                 + say(lang, "grid.intro.figure" if len(items) > 1 else "full stop")))
    numeric = len(varying) == 1 and all(isinstance(s.config[varying[0]], (int, float))
                                        and not isinstance(s.config[varying[0]], bool)
                                        and s.config[varying[0]] > 0 for s in items)
    if len(items) > 1:
        with matplotlib.rc_context(viz.figure_style(lang)):
            if numeric:
                figures.add(doc, "grid", viz.plot_sweep(items, varying[0], lang),
                            say(lang, "grid.sweep figure"))
            else:
                figures.add(doc, "grid", viz.plot_bars(items, lang), say(lang, "grid.bars figure"),
                            0.8)
    for text in discussion.grid_text(items, n_val, lang):
        doc.add(Para(text))
    timing = results.get("timing") or {}
    epoch_t = timing.get("epoch", {})
    stacked = any(r.get("pass") for r in results["runs"] if r["group"] == "grid")
    if epoch_t:
        batch = {name: s.config["batch_size"] for name in epoch_t if (s := summarize(results, name))}
        rows = [[name, str(batch.get(name, "–")), two_significant(t["median"]),
                 f"{two_significant(t['q1'])}–{two_significant(t['q3'])}"] for name, t in epoch_t.items()]
        doc.add(Table([say(lang, "setting"), say(lang, "batch"), say(lang, "s per epoch"),
                       say(lang, "quartiles")], rows,
                      say(lang, "grid.time caption", rounds=timing.get("rounds", 7)),
                      "tab-grid-time"),
                Para(say(lang, "grid.time")
                     + say(lang, "grid.time.stacked" if stacked else "full stop")))


def run_words(results: dict, name: str | None, lang: str) -> str:
    """A run as a reader names it: 'momentum 0.9 (lr 0.01), seed 0'."""
    run = next((r for r in results["runs"] if r["name"] == name), None)
    if run is None:
        return say(lang, "reference run")
    s = summarize(results, run.get("setting", rs.setting_name(name)))
    setting = discussion.optimizer_name(s, lang) if s.group == "momentum" else s.setting
    return say(lang, "run", setting=setting, seed=run["config"]["seed"])


def model_section(doc: Document, figures: Figures, model, examples, results: dict,
                  lang: str) -> None:
    """What the saved model learned: its weights, its confusions and its surest mistakes."""
    if model is None and examples is None:
        return

    def figure_text(label: str, text: str) -> Para:
        return Para(say(lang, "figure reference", label=label) + text)

    reference = results.get("meta", {}).get("reference")
    doc.add(Heading(say(lang, "model")),
            Para(say(lang, "model.intro", run=run_words(results, reference, lang))))
    ex = examples if examples is not None else {}
    with matplotlib.rc_context(viz.figure_style(lang)):
        if model is not None:
            figures.add(doc, "weights", viz.plot_weights(model.W, lang=lang),
                        say(lang, "model.weights"), 0.8)
            text = discussion.weights_text(model.W, ex.get("class_means"), lang,
                                   initial_weights(results, reference, model))
            doc.add(figure_text("fig-weights", text))
        if "confusion" in ex:
            figures.add(doc, "confusion", viz.plot_confusion(ex["confusion"], lang=lang),
                        say(lang, "model.confusion"), 0.62)
            shown = ""
            if "confusion_pairs" in ex and "confusion_images" in ex and len(ex["confusion_pairs"]):
                figures.add(doc, "confusions", viz.plot_confusion_examples(
                    ex["confusion_pairs"], ex["confusion_images"], lang),
                    say(lang, "model.confusions"), 0.75)
                shown = "@fig-confusions"
            doc.add(figure_text("fig-confusion", discussion.confusion_text(
                ex["confusion"], lang, ex.get("class_means"), shown)))
        if "mistakes_images" in ex and len(ex["mistakes_images"]):
            figures.add(doc, "mistakes", viz.plot_examples(
                ex["mistakes_images"], ex["mistakes_true"], ex["mistakes_pred"],
                ex["mistakes_prob"], lang=lang), say(lang, "model.mistakes"), 0.9)
            doc.add(figure_text("fig-mistakes", discussion.mistakes_text(
                ex["mistakes_true"], ex["mistakes_pred"], ex["mistakes_prob"], lang)))
