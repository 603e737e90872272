"""The report's sentences: pure functions from measured numbers to text, in zh or en.

Each function first asks findings.py what the numbers show (which setting is ahead, whether a
gap exceeds its noise: results.compare), once, in no language; then it looks the finding's
sentence up in the language's table (phrases_zh.py, phrases_en.py, through wording.say) and
fills in the numbers. So the two languages never disagree. The same numbers give the same
text; numbers within noise are said to be within noise, and nothing is called "best"
without saying how far ahead it is.
"""

from __future__ import annotations

import math

import numpy as np

from softmax_mnist.study.report import findings
from softmax_mnist.study.report.findings import direction, effective_step
from softmax_mnist.study.report.wording import join_words, mean_sd, points, reference, say, two_significant
from softmax_mnist.study.results import Comparison, Summary, compare, median_epoch


def _verdict(c: Comparison, lang: str, ref: str = "") -> str:
    """A comparison by the rule, as a predicate of the setting compared against ``ref``:
    '比它高 0.25 个百分点，超过噪声界 0.12 个百分点' / '与它相差 0.05 个百分点，在噪声范围（…）之内';
    without ``ref`` the sentence already named it ('高 0.25 个百分点，…')."""
    key = f"verdict.{direction(c)}" + (".ref" if ref else "")
    return say(lang, key, gain=points(c.gain), noise=points(c.noise), ref=reference(ref, lang))


def _reach(epochs: list, t: float, lang: str, total: int) -> str:
    """A whole predicate: 'first reached 0.92 in epoch 2' / '在第 2 轮首次达到 0.92'."""
    epoch, hit = findings.reach(epochs)
    if epoch is not None:
        return say(lang, "reach.epoch", t=t, epoch=epoch)
    return say(lang, "reach.never.some" if hit else "reach.never", t=t, total=total, hit=hit,
               seeds=len(epochs))


def _loss(a: Summary, b: Summary, n_eval: int, lang: str) -> str:
    """b's final training loss beside a's, by the same rule: 'final training loss 0.269
    against 0.293, lower in every seed'; empty without losses."""
    change = findings.loss_change(a, b, n_eval)
    if change is None:
        return ""
    return say(lang, f"loss.{change}", a=a.train_loss.mean, b=b.train_loss.mean)


def noise_rule(n_val: int, seeds: int, lang: str) -> str:
    """The rule every 'higher', 'lower' and 'within noise' below follows, said once."""
    return say(lang, "noise_rule", n_val=n_val, seeds=seeds)


def optimizer_name(s: Summary, lang: str) -> str:
    """'momentum 0.9 (lr 0.01)', 'Nesterov momentum 0.9 (lr 0.01)', 'plain SGD (lr 0.1)'."""
    c = s.config
    kind = "nesterov" if c.get("nesterov") else "momentum" if c.get("momentum") else "plain"
    return say(lang, f"name.{kind}", momentum=c.get("momentum", 0), lr=c["lr"])


# ---- (a) curves ----------------------------------------------------------------------------


def curves_text(plain: Summary, mom: Summary, test: dict, lang: str, n_train: int = 55000,
                n_val: int = 5000) -> str:
    """What the training curves show: the running training accuracy against validation, split
    into what the running average explains and what the two image sets explain, and the
    training accuracy measured after training beside validation and test."""
    running = mom.curves["train_acc"][-1].mean if mom.curves["train_acc"] else None
    train, val = mom.train_acc.mean, mom.val_acc.mean
    text = say(lang, "curves.running")
    why = findings.running_gap(running, train, val)
    if why:
        text += say(lang, f"curves.gap.{why}", running=running, val=val, train=train,
                    from_running=points(train - running),
                    from_images=points(val - train), n_val=n_val)
    text += say(lang, "curves.after", n_train=n_train,
                plain_train=mean_sd(plain.train_acc), plain_val=mean_sd(plain.val_acc),
                plain_test=mean_sd(plain.test_acc), mom_train=mean_sd(mom.train_acc),
                mom_val=mean_sd(mom.val_acc), mom_test=mean_sd(mom.test_acc))
    kind, gap = findings.fit_gap(mom)
    return text + say(lang, f"fit.{kind}", gap=points(gap))


# ---- (b) momentum --------------------------------------------------------------------------


def momentum_text(plain: Summary, mom: Summary, control: Summary | None,
                  small: Summary | None, nesterov: Summary | None, thresholds, n_val: int,
                  lang: str, large: list | None = None) -> list[str]:
    """Plain SGD against momentum 0.9, the equal-effective-step controls, the large steps
    (``large``: (momentum 0.9 at lr η, plain SGD at η/(1−μ)) pairs), Nesterov; and why."""
    epochs = mom.config["epochs"]
    t = max(thresholds)
    k = f"{t:.2f}"
    out = [say(lang, "momentum.result", seeds=mom.val_acc.n,
               reach_mom=_reach(mom.epochs_to[k], t, lang, epochs),
               reach_plain=_reach(plain.epochs_to[k], t, lang, epochs), epochs=epochs,
               mom=mean_sd(mom.val_acc), plain=mean_sd(plain.val_acc),
               verdict=_verdict(compare(plain, mom, n_val), lang), loss=_loss(plain, mom, n_val, lang))]
    if control is not None:
        cc = compare(control, mom, n_val)
        far = max((abs(x.mean - y.mean) for x, y in zip(mom.curves["val_acc"],
                                                         control.curves["val_acc"])), default=0)
        p = say(lang, "momentum.control", lr=control.config["lr"],
                reach=_reach(control.epochs_to[k], t, lang, epochs), epochs=epochs,
                control=mean_sd(control.val_acc), verdict=_verdict(cc, lang, say(lang, "ref.it")),
                far=points(far))
        cs = None
        if small is not None:
            cs = compare(plain, small, n_val)
            ref = say(lang, "ref.plain_at", plain=mean_sd(plain.val_acc))
            p += say(lang, "momentum.small", lr=small.config["lr"], small=mean_sd(small.val_acc),
                     verdict=_verdict(cs, lang, ref))
        out.append(p)
        out.append(say(lang, f"why.{findings.momentum_reading(cc, cs)}"))
    if large:
        out.append(_large_steps(large, n_val, lang))
    if nesterov is not None:
        cn = compare(mom, nesterov, n_val)
        out.append(say(lang, "nesterov.apart" if cn.real else "nesterov.same",
                       nesterov=mean_sd(nesterov.val_acc),
                       verdict=_verdict(cn, lang, say(lang, "ref.heavy_ball"))))
    return out


def _large_steps(pairs: list, n_val: int, lang: str) -> str:
    """Momentum 0.9 at lr η against plain SGD at η/(1−μ), for the largest steps: does momentum
    help on its own near the largest stable step?"""
    parts, own = [], []
    for mom, plain in pairs:
        step = effective_step(mom.config)
        kind, way = findings.large_step(mom, plain, n_val)
        if way == "ahead":
            own.append(step)
        verdict = ""
        if kind == "both_ok":
            verdict = _verdict(compare(plain, mom, n_val), lang, say(lang, "ref.plain"))
        parts.append(say(lang, f"large.{kind}", step=step, lr_mom=mom.config["lr"],
                         lr_plain=plain.config["lr"], mom=mean_sd(mom.val_acc),
                         plain=mean_sd(plain.val_acc), seeds=len(plain.seeds),
                         mom_diverged=mom.diverged, plain_diverged=plain.diverged, verdict=verdict))
    text = say(lang, "large.intro", parts=say(lang, "sep.clause").join(parts),
               steps=join_words([f"{effective_step(m.config):g}" for m, _ in pairs], lang))
    return text + say(lang, f"large.{findings.large_steps_outcome(pairs, n_val)}",
                      steps=join_words([f"{e:g}" for e in own], lang))


def time_text(epoch: dict, step: dict, plain: Summary, mom: Summary, thresholds, rounds: int,
              lang: str, n_train: int = 55000, control: Summary | None = None) -> str:
    """Seconds per epoch with and without momentum (interleaved medians, two significant
    digits), compared by the noise rule on paired rounds; the update's own cost beside a whole
    training step; and the training time to the highest threshold (epochs x median epoch
    time) of momentum, plain SGD and plain SGD at momentum's effective step (``control``, whose
    epochs cost what plain SGD's do)."""
    plain_epoch, mom_epoch = epoch[plain.setting]["median"], epoch[mom.setting]["median"]
    rel, tol, real = findings.time_ratio(epoch[plain.setting], epoch[mom.setting])
    plain_update, mom_update = step[plain.setting]["median"], step[mom.setting]["median"]
    t = max(thresholds)
    k = f"{t:.2f}"
    batch = mom.config["batch_size"]
    step_us = mom_epoch / math.ceil(n_train / batch) * 1e6
    share = findings.update_share(plain_update, mom_update, step_us)
    text = (say(lang, "time.epochs", rounds=rounds, plain=two_significant(plain_epoch),
                mom=two_significant(mom_epoch))
            + say(lang, f"time.{findings.time_direction(rel, real)}", rel=abs(rel), tol=tol)
            + say(lang, "time.update.tiny" if share is None else "time.update",
                  plain=two_significant(plain_update), mom=two_significant(mom_update), batch=batch,
                  step=two_significant(step_us), share=share))
    mom_epochs, plain_epochs = median_epoch(mom.epochs_to[k]), median_epoch(plain.epochs_to[k])
    control_epochs = median_epoch(control.epochs_to[k]) if control is not None else None
    if mom_epochs is None:
        return text
    text += say(lang, "time.to", t=t, mom=two_significant(mom_epochs * mom_epoch))
    if plain_epochs is not None:
        text += say(lang, "time.to.plain", plain=two_significant(plain_epochs * plain_epoch))
    else:
        text += say(lang, "time.to.plain.never", epochs=mom.config["epochs"])
    if control_epochs is not None:
        text += say(lang, "time.to.control", lr=control.config["lr"],
                    control=two_significant(control_epochs * plain_epoch))
    text += say(lang, "time.to.end")
    if control_epochs is not None and control_epochs <= mom_epochs:
        text += say(lang, "time.saved_by_step")
    return text


# ---- (c) learning rate ---------------------------------------------------------------------


def _lr(s: Summary) -> str:
    return f"{s.config['lr']:g}"


def _rates(items: list[Summary], lang: str) -> str:
    """'0.001 (0.9199 ± 0.0013) and 0.5 (…)': rates with their validation accuracy."""
    return join_words([say(lang, "rate_acc", lr=_lr(s), acc=mean_sd(s.val_acc)) for s in items], lang)


def lr_text(items: list[Summary], n_val: int, lang: str) -> list[str]:
    """Which rates are within noise of the highest mean, which are too small or too large;
    the training loss beside the accuracy."""
    found = findings.rates(items, n_val)
    if found is None:
        return [say(lang, "lr.all_diverged")]
    top, tied = found.top, found.tied
    momentum = top.config.get("momentum", 0)
    p = say(lang, "lr.top", lr=_lr(top), acc=mean_sd(top.val_acc))
    if tied:
        p += say(lang, "lr.tied.one" if len(tied) == 1 else "lr.tied.many",
                 lrs=join_words([_lr(s) for s in tied], lang))
        p += say(lang, "lr.loss", loss=_loss_against(top, tied, n_val, lang))
    elif found.runner_up:
        ref = say(lang, "ref.runner_up", lr=_lr(found.runner_up))
        p += say(lang, "lr.runner_up", verdict=_verdict(compare(found.runner_up, top, n_val), lang, ref))
    if momentum:
        p += say(lang, "lr.momentum", momentum=momentum, factor=1 / (1 - momentum))
    out = [p]
    if found.small:
        p = say(lang, "lr.small", rates=_rates(found.small, lang))
        if found.rising:
            p += say(lang, "lr.small.rising", lrs=join_words([_lr(s) for s in found.rising], lang))
        out.append(p)
    parts = []
    if found.large_low:
        parts.append(say(lang, "lr.large.low", rates=_rates(found.large_low, lang)))
    if found.large_diverged:
        parts.append(say(lang, "lr.large.diverged",
                         lrs=join_words([_lr(s) for s in found.large_diverged], lang)))
    if parts:
        out.append(say(lang, "lr.large", parts=say(lang, "sep.clause").join(parts)))
    elif found.stable_to_the_end:
        largest = max(s.config["lr"] for s in items)
        out.append(say(lang, "lr.stable", lr=largest,
                       step=largest / (1 - momentum) if momentum else largest))
    return out


def _loss_against(top: Summary, others: list[Summary], n_val: int, lang: str) -> str:
    """The top rate's final training loss against each of ``others`` by the rule, grouped:
    '学习率 0.05 最后一轮的训练损失为 0.269，每个种子都低于学习率 0.01 的 0.293 和学习率 0.1 的 0.271'."""
    groups: dict[str, list[str]] = {"lower": [], "higher": [], "same": []}
    for s in others:
        c = compare(s, top, n_val)
        if c.loss_gain is None:
            continue
        groups[findings.loss_direction(c)].append(
            say(lang, "lr.loss.item", lr=_lr(s), loss=s.train_loss.mean))
    parts = [say(lang, f"lr.loss.{way}", items=join_words(v, lang)) for way, v in groups.items() if v]
    return say(lang, "lr.loss.top", lr=_lr(top), loss=top.train_loss.mean,
               parts=say(lang, "sep.comma").join(parts))


# ---- (c) batch size ------------------------------------------------------------------------


def batch_text(fixed: list[Summary], scaled: list[Summary], epoch: dict, heat: dict,
               n_train: int, n_val: int, lang: str) -> list[str]:
    """Batch size at a fixed rate and with the rate scaled with it (so the number of updates
    and the step size are separated), the heat map's best rate per batch, and epoch time."""
    fixed = sorted([s for s in fixed if s.ok], key=lambda s: s.config["batch_size"])
    scaled = sorted([s for s in scaled if s.ok], key=lambda s: s.config["batch_size"])
    if len(fixed) < 2:
        return []
    lo, hi = fixed[0], fixed[-1]
    lo_batch, hi_batch = lo.config["batch_size"], hi.config["batch_size"]
    c = compare(lo, hi, n_val)
    fixed_spread = findings.spread(fixed)
    p = say(lang, "batch.fixed", n_train=n_train, lo=lo_batch, hi=hi_batch,
            updates_lo=math.ceil(n_train / lo_batch), updates_hi=math.ceil(n_train / hi_batch),
            epochs=lo.config["epochs"], acc_lo=mean_sd(lo.val_acc), acc_hi=mean_sd(hi.val_acc))
    p += say(lang, f"batch.fixed.{direction(c)}", gain=points(c.gain), noise=points(c.noise))
    out = [p + say(lang, "batch.fixed.updates")]
    if len(scaled) >= 2:
        found = findings.scaled_batches(scaled, fixed_spread, n_val)
        p = say(lang, "batch.scaled", fixed=points(fixed_spread), scaled=points(found.spread),
                change=say(lang, "batch.range.shrinks" if found.narrower else "batch.range.changes"),
                within=say(lang, "batch.within.all" if found.within == found.others
                           else "batch.within.some", count=found.within),
                others=found.others, top=found.top.config["batch_size"])
        if found.updates_explain:
            p += say(lang, "batch.scaled.updates", hi=hi_batch, lo=lo_batch, ratio=hi_batch // lo_batch)
        else:
            p += say(lang, "batch.scaled.beyond")
        out.append(p)
    if heat:
        sizes = sorted(heat)
        rising = findings.rising_steadily([heat[b] for b in sizes])
        out.append(say(lang, "batch.heat.rising" if rising else "batch.heat.unsteady",
                       pairs=join_words([f"{b}: {heat[b]:g}" for b in sizes], lang)))
    sizes = sorted(epoch)
    if len(sizes) >= 2:
        time_lo, time_hi = epoch[sizes[0]]["median"], epoch[sizes[-1]]["median"]
        p = say(lang, "batch.time", lo=sizes[0], hi=sizes[-1], time_lo=two_significant(time_lo),
                time_hi=two_significant(time_hi), ratio=two_significant(time_lo / time_hi),
                image_lo=two_significant(time_lo / n_train * 1e6),
                image_hi=two_significant(time_hi / n_train * 1e6))
        fit = findings.step_fit(epoch, n_train)
        if fit and fit[0] > 0:
            p += say(lang, "batch.time.fit", fixed=two_significant(fit[0]),
                     per_image=two_significant(fit[1]))
        out.append(p)
    return out


# ---- the best setting ----------------------------------------------------------------------


def ablation_text(full: Summary, rows: list[tuple[str, Summary]], n_val: int, lang: str,
                  course: Summary | None = None, short: Summary | None = None) -> list[str]:
    """The best preset against the course's setting (at its own epochs and at the course's),
    and each part switched off in turn, every verdict by the noise rule: a part earns its
    place only when switching it off costs accuracy beyond noise."""
    out = []
    if course is not None and course.ok:
        epochs = full.config["epochs"]
        ref = say(lang, "ref.course_at", epochs=course.config["epochs"])
        p = say(lang, "ablation.course", epochs=epochs, acc=mean_sd(full.val_acc),
                verdict=_verdict(compare(course, full, n_val), lang, ref))
        if short is not None and short.ok:
            short_epochs = short.config["epochs"]
            p += say(lang, "ablation.short", short=short_epochs, epochs=epochs, acc=mean_sd(short.val_acc),
                     verdict_course=_verdict(compare(course, short, n_val), lang, say(lang, "ref.course")),
                     verdict_short=_verdict(compare(short, full, n_val), lang,
                                            say(lang, "ref.epochs", epochs=short_epochs)))
        if full.test_acc.n:
            p += say(lang, "ablation.test", test=mean_sd(full.test_acc))
        out.append(p)
    worst, earn, same, hurt = findings.ablation(full, rows, n_val)
    if worst is None:
        return out
    p = say(lang, "ablation.worst", seeds=full.val_acc.n, worst=worst[0], drop=points(worst[1].gain))
    for kind, names in (("earn", earn), ("same", same)):
        if names:
            p += say(lang, f"ablation.{kind}.{'one' if len(names) == 1 else 'many'}",
                     parts=join_words(names, lang))
    if hurt:
        p += say(lang, "ablation.hurt", parts=join_words(hurt, lang))
    out.append(p)
    return out


# ---- the model -----------------------------------------------------------------------------


def _ink(share: float, lang: str) -> str:
    """A fraction of full ink: '为满墨的 12%' / '12% of full ink'; under 1% said so."""
    return say(lang, "ink.under_1" if share < 0.01 else "ink.share", share=share)


def weights_text(W, class_means, lang: str, W0=None) -> str:
    """What the templates (columns of ``W``, 784 x 10) hold, from the numbers: their
    correlation with each class's mean test image (``class_means``, 10 x 28 x 28) and with
    that mean minus the other classes' mean; where the most negative weights sit; and, with
    the initial weights ``W0``, why the blank background is speckled."""
    text = say(lang, "weights.base")
    if class_means is None:
        return text
    found = findings.templates(W, class_means)
    negative = say(lang, "weights.negative.all" if found.empty == found.classes
                   else "weights.negative.some", empty=found.empty)  # templates most negative off their ink
    text += say(lang, "weights.contrast", negative=negative,
                own_min=found.own.min(), own_max=found.own.max(),
                contrast_min=found.contrast.min(), contrast_max=found.contrast.max(),
                row=found.zero_row, col=found.zero_col,
                zero_ink=_ink(found.zero_ink, lang), others_ink=found.others_ink)
    if W0 is not None:
        blank = findings.background(W, class_means, W0)
        if blank is not None:
            pixels, sd, within = blank
            text += say(lang, "weights.background", pixels=pixels, sd=sd, within=within)
    return text


def confusion_text(cm: np.ndarray, lang: str, class_means=None, figure: str = "") -> str:
    """The hardest and easiest class, the three most frequent confusions, and why a linear
    model makes them (how alike the two classes' mean images are)."""
    recall, hard, easy = findings.recalls(cm)
    top = findings.confusions(cm)
    if not top:
        return say(lang, "confusion.none")
    text = say(lang, "confusion.recall", hard=hard, hard_recall=recall[hard], easy=easy,
               easy_recall=recall[easy])
    text += say(lang, f"confusion.top.{len(top)}", pairs=join_words(
        [say(lang, "confusion.pair", true=a, pred=b, count=n) for a, b, n in top], lang))
    if class_means is not None:
        pairs, median = findings.mean_image_correlations(class_means, top)
        text += say(lang, "confusion.alike", correlations=join_words([f"{r:.2f}" for r in pairs], lang),
                    median=median, figure=say(lang, "confusion.figure", figure=figure) if figure else "")
    return text


def mistakes_text(true, pred, prob, lang: str) -> str:
    """The most confident mistakes: how confident, and their most common pair."""
    found = findings.mistakes(true, pred, prob)
    if found is None:
        return ""
    (a, b), count, over = found
    prob = np.asarray(prob)
    return say(lang, "mistakes", count=len(prob), low=prob.min(), high=prob.max(), over=over,
               true=a, pred=b, pair_count=count)


def grid_text(items: list[Summary], n_val: int, lang: str) -> list[str]:
    """A user grid: the top setting and those within its noise."""
    top, tied, diverged = findings.grid(items, n_val)
    if top is None:
        return [say(lang, "grid.all_diverged")]
    text = say(lang, "grid.top", top=top.setting, acc=mean_sd(top.val_acc))
    if tied:
        text += say(lang, "grid.tied.one" if len(tied) == 1 else "grid.tied.many",
                    tied=join_words(tied, lang))
    else:
        text += say(lang, "grid.untied")
    if diverged:
        text += say(lang, "grid.diverged", settings=join_words(diverged, lang))
    return [text]
