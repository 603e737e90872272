"""The report's sentences: pure functions from measured numbers to text, in zh or en.

Each function first decides what the numbers show (which setting is ahead, whether a gap
exceeds its noise: results.noise), then phrases that finding in the chosen language; the
decision is made once, so the two languages never disagree. The same numbers give the same
text; numbers within noise are said to be within noise, and nothing is called "best"
without saying how far ahead it is.
"""

from __future__ import annotations

import math
import statistics

import numpy as np

from softmax_mnist.study.findings import confusions, gap, step_fit, time_ratio
from softmax_mnist.study.results import Summary, compare, differs, median_epoch
from softmax_mnist.study.wording import join_words, mean_sd, points, spaced, two_significant


def _reach(epochs: list, t: float, lang: str, total: int) -> str:
    """A whole predicate: 'first reached 0.92 in epoch 2' / '在第 2 轮首次达到 0.92'."""
    e = median_epoch(epochs)
    if e is None:
        hit = sum(x is not None for x in epochs)
        if lang == "zh":
            return (f"在 {total} 轮内没有达到 {t:.2f}"
                    + (f"（{len(epochs)} 个种子中有 {hit} 个达到）" if hit else ""))
        return (f"did not reach {t:.2f} within {total} epochs"
                + (f" ({hit} of {len(epochs)} seeds did)" if hit else ""))
    return f"在第 {e:g} 轮首次达到 {t:.2f}" if lang == "zh" else f"first reached {t:.2f} in epoch {e:g}"


def _loss(a: Summary, b: Summary, n_eval: int, lang: str, name_a: str = "", name_b: str = "") -> str:
    """Training loss beside accuracy, b against a by the same rule: 'the final training loss of
    lr 0.05, 0.269, is below lr 0.01's 0.293 in every seed'. Without names the sentence has
    already named b and a."""
    c = compare(a, b, n_eval)
    la, lb = a.train_loss.mean, b.train_loss.mean
    if c.loss_gain is None or not (math.isfinite(la) and math.isfinite(lb)):
        return ""
    lower = c.loss_gain < 0
    if lang == "zh":
        head = f"{name_b}最后一轮的训练损失为 {lb:.3f}，" if name_b else f"最后一轮的训练损失 {lb:.3f} 对 {la:.3f}，"
        if not name_b:
            return head + (f"每个种子都{'更低' if lower else '更高'}" if c.loss_real else "在噪声范围内")
        if c.loss_real:
            return head + f"每个种子都{'低于' if lower else '高于'}{name_a}的 {la:.3f}"
        return head + f"与{name_a}的 {la:.3f} 在噪声范围内"
    if not name_b:
        return (f"final training loss {lb:.3f} against {la:.3f}, "
                + (f"{'lower' if lower else 'higher'} in every seed" if c.loss_real else "within noise"))
    head = f"the final training loss of {name_b} is {lb:.3f}"
    if c.loss_real:
        return head + f", {'below' if lower else 'above'} the {la:.3f} of {name_a} in every seed"
    return head + f", within noise of the {la:.3f} of {name_a}"


def noise_rule(n_val: int, seeds: int, lang: str) -> str:
    """The rule every 'higher', 'lower' and 'within noise' below follows, said once."""
    if lang == "zh":
        return (f"比较的规则（全文只用这一条）：同一个随机种子下，两个设置从相同的初始权重出发、看到相同的小批量，"
                f"又在同样的 {n_val:,} 张验证图像上评估，因此按种子、按图像成对比较。差值 d 是各种子验证准确率之差的均值；"
                "它的标准误由两部分合成：一是图像部分，即每张图像上两个模型“答对与否”之差（按种子平均）的方差除以图像数，"
                "与 McNemar 检验一样，只有两个模型判断不同的图像才起作用；二是种子部分，即各种子差值的方差除以种子数"
                f"（{seeds} 个种子）。只有当 |d| 超过两倍标准误（下文的“噪声界”）、并且每个种子的差值方向一致时，"
                "才说一个设置“更高”或“更低”；否则说两者“在噪声范围内”。最后一轮的训练损失按同一规则在种子间成对比较，"
                "与准确率并列给出；训练时间也按这条规则比较逐轮成对的耗时。")
    return (f"The rule for every comparison (the only one used): with one seed, two settings start "
            f"from the same weights, see the same minibatches and are scored on the same {n_val:,} "
            "validation images, so they are compared in pairs, seed by seed and image by image. "
            "The gain d is the mean over seeds of the difference of their validation accuracies. "
            "Its standard error adds two parts: the images (the variance over images of the "
            "difference in being right, averaged over seeds, divided by the number of images; as "
            "in McNemar's test only the images on which the two models disagree count) and the "
            f"seeds (the variance of the per-seed differences over {seeds} seeds, divided by their "
            "number). One setting is called higher or lower only when |d| exceeds two standard "
            "errors (the noise bound below) and every seed agrees on the direction; otherwise the "
            "two are within noise. The final training loss is compared by the same rule, paired "
            "by seed, beside the accuracy; training times by the same rule on paired rounds.")


# ---- (a) curves ----------------------------------------------------------------------------


def curves_text(plain: Summary, mom: Summary, test: dict, lang: str, n_train: int = 55000,
                n_val: int = 5000) -> str:
    """What the training curves show: the running training accuracy against validation, split
    into what the running average explains and what the two image sets explain, and the
    training accuracy measured after training beside validation and test."""
    zh = lang == "zh"
    r = mom.curves["train_acc"][-1].mean if mom.curves["train_acc"] else None
    t, v = mom.train_acc.mean, mom.val_acc.mean
    if zh:
        text = ("曲线中的训练损失和训练准确率是一轮内各个小批量的平均（下文称“轮内平均”），统计时权重仍在更新，"
                "代表这一轮“平均”的模型；验证指标则在每轮结束后用该轮最终的权重计算。")
    else:
        text = ("The training loss and accuracy in the curves are averages over the minibatches "
                "of an epoch, measured while the weights still change, so they describe the "
                "epoch's average model; validation is measured after the epoch with its final "
                "weights.")
    if r is not None and r < v:
        if t < v:
            text += (f"动量 0.9 在最后一轮的训练准确率（轮内平均）为 {r:.4f}，低于验证准确率 {v:.4f}。其中 "
                     f"{points(t - r)} 个百分点来自轮内平均（训练结束后重新测量，训练准确率为 {t:.4f}），其余 "
                     f"{points(v - t)} 个百分点是因为这 {n_val:,} 张验证图像对模型来说更容易：即使正确测量，训练准确率仍低于验证准确率。"
                     if zh else
                     f" With momentum 0.9 the running training accuracy of the last epoch, {r:.4f}, "
                     f"sits below the validation accuracy, {v:.4f}. {points(t - r)} points of that "
                     f"gap are the running average (measured again after training, the training "
                     f"accuracy is {t:.4f}); the other {points(v - t)} points are the images: these "
                     f"{n_val:,} validation images are easier for the model, since even measured "
                     "properly the training accuracy stays below validation.")
        else:
            text += (f"动量 0.9 在最后一轮的训练准确率（轮内平均）{r:.4f} 低于验证准确率 {v:.4f}，这完全是轮内平均造成的："
                     f"训练结束后重新测量，训练准确率为 {t:.4f}。" if zh else
                     f" With momentum 0.9 the running training accuracy of the last epoch, {r:.4f}, "
                     f"sits below validation, {v:.4f}, only because it is a running average: "
                     f"measured again after training it is {t:.4f}.")
    if zh:
        text += (f"训练结束后在 {n_train:,} 张训练图像上测量：不带动量时训练、验证、测试准确率分别为 {mean_sd(plain.train_acc)}、"
                 f"{mean_sd(plain.val_acc)}、{mean_sd(plain.test_acc)}；动量 0.9 时为 {mean_sd(mom.train_acc)}、{mean_sd(mom.val_acc)}、"
                 f"{mean_sd(mom.test_acc)}。")
    else:
        text += (f" After training, measured on the {n_train:,} training images: plain SGD has training "
                 f"accuracy {mean_sd(plain.train_acc)} (validation {mean_sd(plain.val_acc)}, test "
                 f"{mean_sd(plain.test_acc)}), momentum 0.9 {mean_sd(mom.train_acc)} (validation "
                 f"{mean_sd(mom.val_acc)}, test {mean_sd(mom.test_acc)}).")
    return text + ("" if zh else " ") + _fit_gap(mom, lang)


def _fit_gap(s: Summary, lang: str) -> str:
    """Training against validation and test accuracy after training: overfitting or not."""
    tr, va, te = s.train_acc.mean, s.val_acc.mean, s.test_acc.mean if s.test_acc.n else None
    zh = lang == "zh"
    if tr < va:  # no overfitting; the validation images are the easier ones here
        near_test = te is not None and abs(tr - te) < abs(va - te)
        if zh:
            return ("训练准确率低于验证准确率" + ("，而测试准确率更接近训练准确率" if near_test else "")
                    + "：线性模型几乎不会过拟合。")
        return ("Training accuracy is below validation"
                + (", and the test accuracy is closer to the training one" if near_test else "")
                + ": a linear model hardly overfits.")
    if tr - va < 0.02:
        return (f"训练准确率只比验证准确率高 {points(tr - va)} 个百分点：线性模型的容量有限，几乎没有过拟合。" if zh
                else f"Training accuracy is only {points(tr - va)} points above validation: a linear "
                "model has little capacity to overfit.")
    return (f"训练准确率比验证准确率高 {points(tr - va)} 个百分点：有一定程度的过拟合。" if zh
            else f"Training accuracy is {points(tr - va)} points above validation: some overfitting.")


def optimizer_name(s: Summary, lang: str) -> str:
    c = s.config
    zh = lang == "zh"
    if c.get("nesterov"):
        return f"Nesterov 动量 {c['momentum']:g}（学习率 {c['lr']:g}）" if zh else \
            f"Nesterov momentum {c['momentum']:g} (lr {c['lr']:g})"
    if c.get("momentum"):
        return f"动量 {c['momentum']:g}（学习率 {c['lr']:g}）" if zh else \
            f"momentum {c['momentum']:g} (lr {c['lr']:g})"
    return f"普通 SGD（学习率 {c['lr']:g}）" if zh else f"plain SGD (lr {c['lr']:g})"


# ---- (b) momentum --------------------------------------------------------------------------


def _verdict(c, lang: str, ref: str = "") -> str:
    """A comparison by the rule, as a predicate of the setting compared against ``ref``:
    '比它高 0.25 个百分点，超过噪声界 0.12 个百分点' / '与它相差 0.05 个百分点，在噪声范围（…）之内';
    without ``ref`` the sentence already named it ('高 0.25 个百分点，…')."""
    zh = lang == "zh"
    if c.real:
        up = c.gain > 0
        if zh:
            return (f"{'比' + spaced(ref) if ref else ''}{'高' if up else '低'} {points(c.gain)} 个百分点，"
                    f"超过噪声界 {points(c.noise)} 个百分点")
        return (f"{points(c.gain)} points {'higher' if up else 'lower'}{' than ' + ref if ref else ''}, "
                f"beyond the noise bound of {points(c.noise)} points")
    if zh:
        return f"{'与' + spaced(ref) if ref else ''}相差 {points(c.gain)} 个百分点，在噪声范围（{points(c.noise)} 个百分点）之内"
    return (f"within noise{' of ' + ref if ref else ''} (a difference of {points(c.gain)} points, "
            f"bound {points(c.noise)})")


def momentum_text(plain: Summary, mom: Summary, control: Summary | None,
                  small: Summary | None, nesterov: Summary | None, thresholds, n_val: int,
                  lang: str, large: list | None = None) -> list[str]:
    """Plain SGD against momentum 0.9, the equal-effective-step controls, the large steps
    (``large``: (momentum 0.9 at lr η, plain SGD at η/(1−μ)) pairs), Nesterov; and why."""
    zh = lang == "zh"
    E = mom.config["epochs"]
    t = max(thresholds)
    k = f"{t:.2f}"
    c = compare(plain, mom, n_val)
    out = []
    if zh:
        p = (f"按 {mom.val_acc.n} 个种子的中位数，动量 0.9 的验证准确率{_reach(mom.epochs_to[k], t, lang, E)}，"
             f"普通 SGD {_reach(plain.epochs_to[k], t, lang, E)}。{E} 轮后，动量 0.9 的平均验证准确率为 "
             f"{mean_sd(mom.val_acc)}，普通 SGD 为 {mean_sd(plain.val_acc)}：{_verdict(c, lang)}；"
             f"{_loss(plain, mom, n_val, lang)}。")
    else:
        p = (f"As the median over {mom.val_acc.n} seeds, the validation accuracy with momentum 0.9 "
             f"{_reach(mom.epochs_to[k], t, lang, E)}; plain SGD {_reach(plain.epochs_to[k], t, lang, E)}. "
             f"After {E} epochs the mean validation accuracy was {mean_sd(mom.val_acc)} with momentum "
             f"and {mean_sd(plain.val_acc)} without: {_verdict(c, lang)}; {_loss(plain, mom, n_val, lang)}.")
    out.append(p)
    matched = False
    if control is not None:
        cc = compare(control, mom, n_val)
        far = max((abs(x.mean - y.mean) for x, y in zip(mom.curves["val_acc"],
                                                         control.curves["val_acc"])), default=0)
        lr_eff = control.config["lr"]
        if zh:
            p = (f"但这一比较把两件事混在了一起。动量 μ 使参数沿稳定梯度方向的有效步长变为 η/(1−μ)："
                 f"学习率 0.01、动量 0.9 的有效步长是 {lr_eff:g}。对照实验让普通 SGD 以同样的有效步长训练（学习率 {lr_eff:g}）："
                 f"它的验证准确率{_reach(control.epochs_to[k], t, lang, E)}，{E} 轮后为 {mean_sd(control.val_acc)}，"
                 f"动量 0.9 {_verdict(cc, lang, '它')}；两者逐轮的平均验证准确率最多相差 {points(far)} 个百分点"
                 "（@fig-momentum）。")
        else:
            p = (f"That comparison mixes two things. Momentum μ makes the effective step along a "
                 f"steady gradient η/(1−μ): lr 0.01 with momentum 0.9 has an effective step of "
                 f"{lr_eff:g}. The control trains plain SGD at that step, lr {lr_eff:g}: its "
                 f"validation accuracy {_reach(control.epochs_to[k], t, lang, E)} and ends at "
                 f"{mean_sd(control.val_acc)}; momentum 0.9 is {_verdict(cc, lang, 'it')}. The mean "
                 f"validation curves of the two differ by at most {points(far)} points in any epoch "
                 "(@fig-momentum).")
        matched = not cc.real
        if small is not None:
            cs = compare(plain, small, n_val)
            if zh:
                p += (f"反过来，动量 0.9 配学习率 {small.config['lr']:g}（有效步长 0.01，与普通 SGD 相同）"
                      f"得到 {mean_sd(small.val_acc)}，{_verdict(cs, lang, f'普通 SGD 的 {mean_sd(plain.val_acc)} ')}。")
            else:
                p += (f" Conversely, momentum 0.9 at lr {small.config['lr']:g} (effective step "
                      f"0.01, as plain SGD's) ends at {mean_sd(small.val_acc)}, "
                      f"{_verdict(cs, lang, 'plain SGD (' + mean_sd(plain.val_acc) + ')')}.")
            matched = matched and not cs.real
        out.append(p)
        out.append(_why(not cc.real, matched, cc.real and cc.gain > 0, zh))
    if large:
        out.append(_large_steps(large, n_val, lang))
    if nesterov is not None:
        cn = compare(mom, nesterov, n_val)
        if zh:
            out.append(f"Nesterov 动量 0.9 得到 {mean_sd(nesterov.val_acc)}，{_verdict(cn, lang, '普通（heavy-ball）动量')}"
                       + ("：在这个光滑的凸问题上，“先看一步”的修正几乎不起作用。" if not cn.real else "。"))
        else:
            out.append(f"Nesterov momentum 0.9 ends at {mean_sd(nesterov.val_acc)}, "
                       f"{_verdict(cn, lang, 'heavy-ball momentum')}"
                       + ("; on this smooth convex problem the look-ahead correction changes "
                          "little." if not cn.real else "."))
    return out


def _large_steps(pairs: list, n_val: int, lang: str) -> str:
    """Momentum 0.9 at lr η against plain SGD at η/(1−μ), for the largest steps: does momentum
    help on its own near the largest stable step?"""
    zh = lang == "zh"
    parts, own, worse = [], [], []
    for m, p in pairs:
        eff = m.config["lr"] / (1 - m.config["momentum"])
        if not p.ok and m.ok:
            own.append(eff)
            bad = p.diverged
            parts.append(f"有效步长 {eff:g} 时，动量 0.9（学习率 {m.config['lr']:g}）得到 {mean_sd(m.val_acc)}，"
                         f"普通 SGD（学习率 {p.config['lr']:g}）在 {len(p.seeds)} 个种子中有 {bad} 个发散" if zh else
                         f"at effective step {eff:g}, momentum 0.9 (lr {m.config['lr']:g}) ends at "
                         f"{mean_sd(m.val_acc)} while plain SGD (lr {p.config['lr']:g}) diverged in {bad} of "
                         f"{len(p.seeds)} seeds")
        elif not m.ok:
            if p.ok:
                worse.append(eff)
            parts.append(f"有效步长 {eff:g} 时，动量 0.9 在 {m.diverged} 个种子中发散，普通 SGD "
                         + (f"得到 {mean_sd(p.val_acc)}" if p.ok else f"在 {p.diverged} 个种子中发散") if zh else
                         f"at effective step {eff:g}, momentum 0.9 diverged in {m.diverged} seeds and plain SGD "
                         + (f"ends at {mean_sd(p.val_acc)}" if p.ok else f"in {p.diverged}"))
        else:
            c = compare(p, m, n_val)
            if c.real:
                (own if c.gain > 0 else worse).append(eff)
            parts.append(f"有效步长 {eff:g} 时，动量 0.9 为 {mean_sd(m.val_acc)}，普通 SGD 为 {mean_sd(p.val_acc)}，"
                         f"动量{_verdict(c, lang, '普通 SGD ')}" if zh else
                         f"at effective step {eff:g}, momentum 0.9 ends at {mean_sd(m.val_acc)} and plain SGD "
                         f"at {mean_sd(p.val_acc)}: momentum is {_verdict(c, lang, 'plain SGD')}")
    steps = join_words([f"{e:g}" for e in own], lang)
    if zh:
        text = ("动量自身的好处会不会在大步长时才显现？学习率实验中动量 0.9 的两个最大学习率对应有效步长 "
                + join_words([f"{m.config['lr'] / (1 - m.config['momentum']):g}" for m, _ in pairs], lang)
                + "，对照组用普通 SGD 以相同的有效步长训练：" + "；".join(parts) + "。")
        if own:
            text += f"所以在有效步长 {steps} 时，动量确实有普通 SGD 没有的好处：它在这样大的步长下仍然稳定、结果更好。"
        elif worse:
            text += "在这些大步长下动量并不占优。"
        else:
            text += ("即使在这些大步长下，两者也在噪声范围内，而且都没有发散：本实验没有发现动量独有的好处，"
                     "普通 SGD 的稳定性上限在试过的步长之外。"
                     if all(m.ok and p.ok for m, p in pairs) else
                     "即使在这些大步长下，两者也在噪声范围内：本实验没有发现动量独有的好处。")
        return text
    text = ("Does momentum help on its own at large steps? The lr group's two "
            "largest rates give momentum 0.9 the effective steps "
            + join_words([f"{m.config['lr'] / (1 - m.config['momentum']):g}" for m, _ in pairs], lang)
            + "; the controls train plain SGD at those steps: " + "; ".join(parts) + ".")
    if own:
        text += (f" So at effective step {steps} momentum does what plain SGD cannot: it stays "
                 "stable, or ends higher, at that step.")
    elif worse:
        text += " At these large steps momentum is not ahead."
    else:
        text += (" Even at these large steps the two are within noise"
                 + (", and neither diverged: this study finds no gain of momentum's own, and plain "
                    "SGD's stability limit lies beyond the steps tried." if all(m.ok and p.ok for m, p in pairs)
                    else ": this study finds no gain of momentum's own."))
    return text


def _why(equal: bool, matched: bool, momentum_ahead: bool, zh: bool) -> str:
    """What the controls mean: ``equal``, momentum within noise of plain SGD at its effective
    step; ``matched``, the small-step control agrees too."""
    if equal and matched:
        if zh:
            return ("这与理论对这个问题的预期一致。softmax 回归的交叉熵损失是光滑的凸函数；heavy-ball 动量把过去的梯度按 μᵏ "
                    "加权累加，只要梯度在约 1/(1−μ) = 10 步内变化不大，它的每一步就近似于步长为 η/(1−μ) 的普通 SGD。"
                    "因此本实验中“动量更快”应理解为“更大的有效步长更快”：少用的轮数来自更大的步长，而不是动量本身。")
        return ("This is what theory predicts for this problem. The cross-entropy loss of softmax "
                "regression is smooth and convex; heavy-ball momentum sums past gradients with "
                "weights μᵏ, and while the gradient changes little over about 1/(1−μ) = 10 steps "
                "each of its steps is close to one of plain SGD with step η/(1−μ). So 'momentum "
                "trains faster' here reads as 'a larger effective step trains faster': the epochs "
                "saved belong to the larger step, not to momentum.")
    if equal:
        if zh:
            return ("在有效步长 0.1 处，动量与等步长的普通 SGD 在噪声范围内；但在有效步长 0.01 处两者不同（见上）。"
                    "有效步长解释了课程设置下的差别，小步长处的差别本实验没有进一步拆分。")
        return ("At the effective step 0.1 momentum is within noise of plain SGD at that step, but at "
                "the effective step 0.01 the two differ (above): the effective step explains the gap "
                "at the course's settings; this study does not take the small-step difference apart.")
    if momentum_ahead:
        if zh:
            return ("在相同有效步长下动量仍然领先，说明除了步长变大之外，梯度的指数平均本身（减小小批量噪声、"
                    "抑制陡峭方向上的振荡）在这里也起了作用。")
        return ("Momentum stays ahead at an equal effective step, so beyond the larger step the "
                "averaging of gradients itself (less minibatch noise, less oscillation across "
                "steep directions) helps here.")
    if zh:
        return "在相同有效步长下动量反而更低。"
    return "At an equal effective step momentum ends lower."


def time_text(epoch: dict, step: dict, plain: Summary, mom: Summary, thresholds, rounds: int,
              lang: str, n_train: int = 55000, control: Summary | None = None) -> str:
    """Seconds per epoch with and without momentum (interleaved medians, two significant
    digits), compared by the noise rule on paired rounds; the update's own cost beside a whole
    training step; and the training time to the highest threshold (epochs x median epoch
    time) of momentum, plain SGD and plain SGD at momentum's effective step (``control``, whose
    epochs cost what plain SGD's do)."""
    zh = lang == "zh"
    a, b = epoch[plain.setting], epoch[mom.setting]
    rel, tol, real = time_ratio(a, b)
    sp, sm = step[plain.setting]["median"], step[mom.setting]["median"]
    t = max(thresholds)
    k = f"{t:.2f}"
    E = mom.config["epochs"]
    em, ep = median_epoch(mom.epochs_to[k]), median_epoch(plain.epochs_to[k])
    ec = median_epoch(control.epochs_to[k]) if control is not None else None
    B = mom.config["batch_size"]
    step_us = b["median"] / math.ceil(n_train / B) * 1e6
    share = (sm - sp) / step_us
    if zh:
        text = (f"每轮训练耗时（{rounds} 轮的中位数）：普通 SGD {two_significant(a['median'])} 秒，动量 0.9 {two_significant(b['median'])} 秒。"
                "两种设置在预热一轮后逐轮交替测量，机器负载的变化同时落在两者身上；按同一规则比较逐轮耗时之比，")
        text += (f"两者相差 {abs(rel):.0%}，在噪声范围（{tol:.0%}）之内。" if not real else
                 f"动量{'慢' if rel > 0 else '快'} {abs(rel):.0%}，超过噪声界 {tol:.0%}。")
        text += (f"单独测量一次参数更新：不带动量 {two_significant(sp)} 微秒，带动量 {two_significant(sm)} 微秒，"
                 f"而批大小 {B} 时完整的一步训练约 {two_significant(step_us)} 微秒，动量多出的部分"
                 + (f"约占一步的 {share:.0%}。" if share >= 0.01 else "不到一步的 1%。"))
        if em is not None:
            text += (f"按“达到 {t:.2f} 的轮数 × 每轮耗时中位数”估算，动量 0.9 约需 {two_significant(em * b['median'])} 秒训练时间；"
                     + (f"普通 SGD 约需 {two_significant(ep * a['median'])} 秒" if ep is not None else
                        f"普通 SGD 在 {E} 轮内没有达到")
                     + (f"；有效步长相同的普通 SGD（学习率 {control.config['lr']:g}，每轮耗时与普通 SGD 相同）"
                        f"约需 {two_significant(ec * a['median'])} 秒" if ec is not None else "")
                     + "。")
            if ec is not None and ec <= em:
                text += "省下的时间来自更大的有效步长，而不是动量。"
        return text
    text = (f"One epoch took {two_significant(a['median'])} s with plain SGD and {two_significant(b['median'])} s with "
            f"momentum 0.9 (medians of {rounds} epochs, the two interleaved epoch by epoch after a "
            "warm-up, so that the machine's load falls on both alike). By the same rule on the "
            "per-round ratios, ")
    text += (f"they differ by {abs(rel):.0%}, within noise ({tol:.0%})." if not real else
             f"momentum is {abs(rel):.0%} {'slower' if rel > 0 else 'faster'}, beyond the noise "
             f"bound of {tol:.0%}.")
    text += (f" Timed alone, one update costs {two_significant(sp)} µs without momentum and {two_significant(sm)} µs "
             f"with it, while a whole training step at batch {B} takes about {two_significant(step_us)} µs: "
             + (f"momentum's extra is about {share:.0%} of a step." if share >= 0.01 else
                "momentum's extra is under 1% of a step."))
    if em is not None:
        text += (f" As epochs to {t:.2f} times the median epoch time, momentum 0.9 needs about "
                 f"{two_significant(em * b['median'])} s of training; "
                 + (f"plain SGD about {two_significant(ep * a['median'])} s" if ep is not None else
                    f"plain SGD does not get there within {E} epochs")
                 + (f"; plain SGD at the same effective step (lr {control.config['lr']:g}, whose "
                    f"epochs cost what plain SGD's do) about {two_significant(ec * a['median'])} s"
                    if ec is not None else "") + ".")
        if ec is not None and ec <= em:
            text += " The time saved belongs to the larger effective step, not to momentum."
    return text


# ---- (c) learning rate ---------------------------------------------------------------------


def lr_text(items: list[Summary], n_val: int, lang: str) -> list[str]:
    """Which rates are within noise of the highest mean, which are too small or too large;
    the training loss beside the accuracy."""
    zh = lang == "zh"
    items = sorted(items, key=lambda s: s.config["lr"])
    good = [s for s in items if s.ok]
    if not good:
        return ["所有学习率都发散了。" if zh else "Every learning rate diverged."]
    top = max(good, key=lambda s: s.val_acc.mean)
    tied = [s for s in good if s is not top and not differs(s, top, n_val)]
    mu = top.config.get("momentum", 0)
    out = []
    lrs = [f"{s.config['lr']:g}" for s in tied]
    second = max((s for s in good if s is not top), key=lambda s: s.val_acc.mean, default=None)
    if zh:
        p = f"平均验证准确率最高的是学习率 {top.config['lr']:g}（{mean_sd(top.val_acc)}）。"
        if tied:
            p += (f"学习率 {join_words(lrs, lang)} 与它的差异在噪声范围内，这组实验在"
                  f"{'两者' if len(tied) == 1 else '它们'}之间分不出高下。")
        elif second:
            p += f"它{_verdict(compare(second, top, n_val), lang, f'第二名（学习率 {_lr(second)}）')}。"
        if tied:
            p += "训练损失给出另一个角度：" + _loss_against(top, tied, n_val, lang) + "。"
        if mu:
            p += f"所有学习率都配合动量 {mu:g}，有效步长是学习率的 {1 / (1 - mu):g} 倍。"
    else:
        p = f"The highest mean validation accuracy was at lr {top.config['lr']:g} ({mean_sd(top.val_acc)})."
        if tied:
            p += (f" Learning rate{'s' if len(tied) > 1 else ''} {join_words(lrs, lang)} "
                  f"{'are' if len(tied) > 1 else 'is'} within noise of it: the sweep does not "
                  "separate them.")
        elif second:
            p += (f" It is {_verdict(compare(second, top, n_val), lang, f'the runner-up, lr {_lr(second)}')}.")
        if tied:
            p += " The training loss gives another view: " + _loss_against(top, tied, n_val, lang) + "."
        if mu:
            p += (f" Every rate here runs with momentum {mu:g}, so the effective step is "
                  f"{1 / (1 - mu):g} times the rate.")
    out.append(p)
    small = [s for s in good if s.config["lr"] < top.config["lr"] and s not in tied]
    large = [s for s in items if s.config["lr"] > top.config["lr"] and s not in tied]
    if small:
        rising = [s for s in small if len(s.curves["val_acc"]) >= 2
                  and s.curves["val_acc"][-1].mean > s.curves["val_acc"][-2].mean]
        names = _rates(small, lang)
        if zh:
            p = f"步长太小：学习率 {names}低于最高值，超过噪声界。"
            if rising:
                p += (f"学习率 {join_words([_lr(s) for s in rising], lang)} "
                      "的验证准确率在最后一轮仍在上升（@fig-lr）：在给定的轮数内还没有收敛。")
        else:
            p = f"Too small: lr {names} end below the top, beyond noise."
            if rising:
                p += (f" The validation accuracy at lr {join_words([_lr(s) for s in rising], lang)} "
                      "still rises in the last epoch (@fig-lr): not converged in the epochs given.")
        out.append(p)
    if large:
        bad = [s for s in large if not s.ok]
        low = [s for s in large if s.ok]
        parts = []
        if low:
            names = _rates(low, lang)
            parts.append(f"学习率 {names}低于最高值，超过噪声界" if zh else
                         f"lr {names} end below the top beyond noise")
        if bad:
            names = join_words([f"{s.config['lr']:g}" for s in bad], lang)
            parts.append(f"学习率 {names} 发散" if zh else f"lr {names} diverged")
        out.append(("步长太大：" + "；".join(parts) + "。") if zh else
                   ("Too large: " + "; ".join(parts) + "."))
    elif good[-1] is top or good[-1] in tied:
        hi = items[-1].config["lr"]
        eff = hi / (1 - mu) if mu else hi
        out.append(f"在试过的范围内没有学习率明显过大：即使学习率 {hi:g}（有效步长 {eff:g}）训练也保持稳定。" if zh else
                   f"No rate tried was clearly too large: even lr {hi:g} (effective step {eff:g}) "
                   "trained stably.")
    return out


def _loss_against(top: Summary, others: list[Summary], n_val: int, lang: str) -> str:
    """The top rate's final training loss against each of ``others`` by the rule, grouped:
    '学习率 0.05 最后一轮的训练损失为 0.269，每个种子都低于学习率 0.01 的 0.293 和学习率 0.1 的 0.271'."""
    zh = lang == "zh"
    groups: dict[str, list[str]] = {"lower": [], "higher": [], "same": []}
    for s in others:
        c = compare(s, top, n_val)
        if c.loss_gain is None:
            continue
        key = ("lower" if c.loss_gain < 0 else "higher") if c.loss_real else "same"
        groups[key].append(f"学习率 {_lr(s)} 的 {s.train_loss.mean:.3f}" if zh else
                           f"the {s.train_loss.mean:.3f} of lr {_lr(s)}")
    if zh:
        parts = [f"每个种子都{'低于' if k == 'lower' else '高于'}{join_words(v, lang)}" for k, v in groups.items()
                 if v and k != "same"]
        parts += [f"与{join_words(groups['same'], lang)}在噪声范围内"] if groups["same"] else []
        return f"学习率 {_lr(top)} 最后一轮的训练损失为 {top.train_loss.mean:.3f}，" + "，".join(parts)
    parts = [f"{'below' if k == 'lower' else 'above'} {join_words(v, lang)} in every seed"
             for k, v in groups.items() if v and k != "same"]
    parts += [f"within noise of {join_words(groups['same'], lang)}"] if groups["same"] else []
    return f"the final training loss at lr {_lr(top)} is {top.train_loss.mean:.3f}, " + ", ".join(parts)


def _lr(s: Summary) -> str:
    return f"{s.config['lr']:g}"


def _rates(items: list[Summary], lang: str) -> str:
    """'0.001 (0.9199 ± 0.0013) and 0.5 (…)': rates with their validation accuracy."""
    return join_words([f"{s.config['lr']:g}（{mean_sd(s.val_acc)}）" if lang == "zh" else
                  f"{s.config['lr']:g} ({mean_sd(s.val_acc)})" for s in items], lang)


# ---- (c) batch size ------------------------------------------------------------------------


def batch_text(fixed: list[Summary], scaled: list[Summary], epoch: dict, heat: dict,
               n_train: int, n_val: int, lang: str) -> list[str]:
    """Batch size at a fixed rate and with the rate scaled with it (so the number of updates
    and the step size are separated), the heat map's best rate per batch, and epoch time."""
    zh = lang == "zh"
    fixed = sorted([s for s in fixed if s.ok], key=lambda s: s.config["batch_size"])
    scaled = sorted([s for s in scaled if s.ok], key=lambda s: s.config["batch_size"])
    if len(fixed) < 2:
        return []
    lo, hi = fixed[0], fixed[-1]
    E = lo.config["epochs"]
    u = [math.ceil(n_train / s.config["batch_size"]) for s in (lo, hi)]
    d, nz, real = gap(lo, hi, n_val)
    rng_f = max(s.val_acc.mean for s in fixed) - min(s.val_acc.mean for s in fixed)
    out = []
    if zh:
        p = (f"批大小为 B 时每轮有 {n_train:,}/B 次参数更新：批大小 {lo.config['batch_size']} 每轮 {u[0]:,} 次，"
             f"批大小 {hi.config['batch_size']} 只有 {u[1]:,} 次。在固定学习率 0.01、固定 {E} 轮的条件下，"
             f"验证准确率从批大小 {lo.config['batch_size']} 的 {mean_sd(lo.val_acc)} 变为批大小 {hi.config['batch_size']} 的 "
             f"{mean_sd(hi.val_acc)}，")
        p += (f"{'下降' if d < 0 else '上升'} {points(d)} 个百分点，超过噪声界 {points(nz)} 个百分点。" if real else
              f"差异在噪声范围（{points(nz)} 个百分点）之内。")
        p += "但这一比较同时改变了更新次数：大批量在同样的轮数里走的步数少得多。"
    else:
        p = (f"At batch size B an epoch makes {n_train:,}/B updates: {u[0]:,} at batch "
             f"{lo.config['batch_size']}, only {u[1]:,} at batch {hi.config['batch_size']}. At the "
             f"fixed lr 0.01 and {E} epochs, validation accuracy goes from {mean_sd(lo.val_acc)} at "
             f"batch {lo.config['batch_size']} to {mean_sd(hi.val_acc)} at batch {hi.config['batch_size']}")
        p += (f", {points(d)} points {'lower' if d < 0 else 'higher'}, beyond the noise of {points(nz)} points." if real
              else f", within noise ({points(nz)} points).")
        p += (" But that comparison also changes the number of updates: a large batch takes far "
              "fewer steps in the same epochs.")
    out.append(p)
    if len(scaled) >= 2:
        rng_s = max(s.val_acc.mean for s in scaled) - min(s.val_acc.mean for s in scaled)
        top = max(scaled, key=lambda s: s.val_acc.mean)
        within = [s for s in scaled if s is top or not differs(s, top, n_val)]
        shrinks = rng_s < rng_f / 2
        if zh:
            p = (f"把学习率按批大小线性缩放（0.01 × B/100，使每个样本对参数的平均推动相同）后，"
                 f"各批大小之间的验证准确率极差从 {points(rng_f)} 个百分点"
                 f"{'缩小' if rng_s < rng_f else '变'}为 {points(rng_s)} 个百分点"
                 f"（@fig-batch）；其余 {len(scaled) - 1} 个批大小"
                 + ("全都" if len(within) == len(scaled) else f"中有 {len(within) - 1} 个")
                 + f"与最高值（批大小 {top.config['batch_size']}）在噪声范围内。")
            ratio = hi.config["batch_size"] // lo.config["batch_size"]
            p += ("可见固定学习率下大批量吃亏主要是因为更新次数太少，而不是批量本身：大批量的梯度噪声更小，"
                  f"但在同样的学习率下每步走的距离差不多，而批大小 {hi.config['batch_size']} 每轮的更新次数只有批大小 "
                  f"{lo.config['batch_size']} 的 1/{ratio}。" if shrinks else
                  "缩放学习率并没有消除大部分差异，因此批大小的影响不只是更新次数的多少。")
        else:
            p = (f"With the rate scaled with the batch (0.01 × B/100, so that each sample pushes "
                 f"the weights as far on average), the range of validation accuracy across batch "
                 f"sizes {'shrinks' if rng_s < rng_f else 'goes'} from {points(rng_f)} to "
                 f"{points(rng_s)} points (@fig-batch); "
                 + ("all" if len(within) == len(scaled) else f"{len(within) - 1}")
                 + f" of the other {len(scaled) - 1} batch sizes are within noise of the top "
                 f"(batch {top.config['batch_size']}).")
            ratio = hi.config["batch_size"] // lo.config["batch_size"]
            p += (" So most of the fixed-rate loss at large batches is the missing updates, not "
                  "the batch itself: its gradient is less noisy, but at the same rate each step "
                  f"goes about as far, and batch {hi.config['batch_size']} makes 1/{ratio} as many "
                  f"steps per epoch as batch {lo.config['batch_size']}." if shrinks else
                  " Scaling the rate does not remove most of the gap, so the batch size matters "
                  "beyond the number of updates.")
        out.append(p)
    if heat:
        sizes = sorted(heat)
        best = [heat[b] for b in sizes]
        rising = all(x <= y for x, y in zip(best, best[1:])) and best[0] < best[-1]
        pairs = join_words([f"{b}: {heat[b]:g}" for b in sizes], lang)
        if zh:
            out.append(f"学习率 × 批大小的热图（@fig-heatmap）中每个批大小的最佳学习率为（批大小: 学习率）{pairs}；"
                       + ("最佳学习率随批大小增大而增大，与上面的缩放规律一致。" if rising else
                          "最佳学习率并不随批大小单调变化。")
                       + "相邻格子之间的差异常常在噪声范围内，热图看的是整体走向，而不是某一个格子。")
        else:
            out.append(f"In the learning-rate by batch-size heat map (@fig-heatmap) the best rate "
                       f"per batch size is (batch: rate) {pairs}; "
                       + ("the best rate grows with the batch, as the scaling above suggests."
                          if rising else "the best rate does not move steadily with the batch.")
                       + " Neighbouring cells often differ by less than the noise: read the map "
                       "for its trend, not for one cell.")
    sizes = sorted(epoch)
    if len(sizes) >= 2:
        a, b = epoch[sizes[0]]["median"], epoch[sizes[-1]]["median"]
        fit = step_fit(epoch, n_train)
        if zh:
            per = [epoch[k]["median"] / n_train * 1e6 for k in (sizes[0], sizes[-1])]
            p = (f"时间上，批大小 {sizes[0]} 每轮 {two_significant(a)} 秒，是批大小 {sizes[-1]}（{two_significant(b)} 秒）的 "
                 f"{two_significant(a / b)} 倍（交替测量的中位数）；摊到每张图像上，分别约为 {two_significant(per[0])} 微秒和 "
                 f"{two_significant(per[1])} 微秒。每一步都有一部分开销与批大小无关（函数调用、启动矩阵乘法、参数更新），"
                 "批越小，这部分摊到每张图像上就越多。")
            if fit and fit[0] > 0:
                p += (f"把每步耗时拟合成“固定部分 + 每张图像的部分”：每步约有 {two_significant(fit[0])} 微秒与批大小无关，"
                      f"每张图像另需约 {two_significant(fit[1])} 微秒。")
        else:
            per = [epoch[k]["median"] / n_train * 1e6 for k in (sizes[0], sizes[-1])]
            p = (f"In time, an epoch at batch {sizes[0]} took {two_significant(a)} s, {two_significant(a / b)} times the "
                 f"{two_significant(b)} s at batch {sizes[-1]} (interleaved medians): about {two_significant(per[0])} µs and "
                 f"{two_significant(per[1])} µs per image. Part of every step does not depend on the batch "
                 "(calls, starting the matrix products, the update); the smaller the batch, the more "
                 "of it each image carries.")
            if fit and fit[0] > 0:
                p += (f" Fitting the time of a step as a fixed part plus a part per image: about "
                      f"{two_significant(fit[0])} µs of each step do not depend on the batch, and each image "
                      f"adds about {two_significant(fit[1])} µs.")
        out.append(p)
    return out


# ---- the best setting ----------------------------------------------------------------------


def ablation_text(full: Summary, rows: list[tuple[str, Summary]], n_val: int, lang: str,
                  course: Summary | None = None, short: Summary | None = None) -> list[str]:
    """The best preset against the course's setting (at its own epochs and at the course's),
    and each part switched off in turn, every verdict by the noise rule: a part earns its
    place only when switching it off costs accuracy beyond noise."""
    zh = lang == "zh"
    out = []
    if course is not None and course.ok:
        E, Ec = full.config["epochs"], course.config["epochs"]
        g = compare(course, full, n_val)
        if zh:
            p = (f"训练 {E} 轮时，这个设置的验证准确率为 {mean_sd(full.val_acc)}，"
                 f"{_verdict(g, lang, f'课程设置（动量 0.9，{Ec} 轮）')}。")
        else:
            p = (f"Trained for {E} epochs the preset reaches validation accuracy {mean_sd(full.val_acc)}, "
                 f"{_verdict(g, lang, f'the course setting (momentum 0.9, {Ec} epochs)')}.")
        if short is not None and short.ok:
            gs, dl = compare(course, short, n_val), compare(short, full, n_val)
            Es = short.config["epochs"]
            if zh:
                p += (f"只训练课程的 {Es} 轮（学习率在 {Es} 轮内衰减）时为 {mean_sd(short.val_acc)}，"
                      f"{_verdict(gs, lang, '课程设置')}；{E} 轮的结果{_verdict(dl, lang, f'{Es} 轮')}。")
            else:
                p += (f" Trained for the course's {Es} epochs (the rate decaying over {Es}) it reaches "
                      f"{mean_sd(short.val_acc)}, {_verdict(gs, lang, 'the course setting')}; {E} epochs "
                      f"are {_verdict(dl, lang, f'{Es}')}.")
        if full.test_acc.n:
            p += (f"测试准确率（只对最终模型测量）为 {mean_sd(full.test_acc)}。" if zh else
                  f" Its test accuracy, measured for the final models only, is {mean_sd(full.test_acc)}.")
        out.append(p)
    drops = [(name, s, compare(s, full, n_val)) for name, s in rows if s.ok]
    if not drops:
        return out
    worst = max(drops, key=lambda x: x[2].gain)
    earn = [name for name, _, c in drops if c.real and c.gain > 0]
    same = [name for name, _, c in drops if not c.real]
    hurt = [name for name, _, c in drops if c.real and c.gain < 0]
    seeds = full.val_acc.n
    if zh:
        p = (f"逐一去掉其中一部分（@tab-ablation，{seeds} 个种子，按同一规则比较）：去掉{worst[0]}损失最大，"
             f"验证准确率下降 {points(worst[2].gain)} 个百分点。")
        if earn:
            p += (f"去掉{join_words(earn, lang)}的下降" + ("超过噪声界，这一部分有其作用。" if len(earn) == 1 else
                                                  "都超过噪声界，这些部分各有其作用。"))
        if same:
            p += (f"去掉{join_words(same, lang)}的差异在噪声范围内：{'它' if len(same) == 1 else '它们'}"
                  "在这里没有证明自己的作用，保留只是沿用了搜索时的选择。")
        if hurt:
            p += f"去掉{join_words(hurt, lang)}后反而更高，超过噪声界：这部分应当去掉。"
    else:
        p = (f"Switching off one part at a time (@tab-ablation, {seeds} seeds, the same rule): "
             f"removing {worst[0]} costs the most, {points(worst[2].gain)} points of validation accuracy.")
        if earn:
            p += (f" Removing {join_words(earn, lang)} costs accuracy beyond noise: "
                  + ("it earns its place." if len(earn) == 1 else "each earns its place."))
        if same:
            p += (f" Removing {join_words(same, lang)} change{'s' if len(same) == 1 else ''} it by less than "
                  "the noise: "
                  f"{'it has' if len(same) == 1 else 'they have'} not shown a use here and "
                  f"{'stays' if len(same) == 1 else 'stay'} only as the search chose.")
        if hurt:
            p += f" Removing {join_words(hurt, lang)} scores higher, beyond noise: that part should go."
    out.append(p)
    return out


# ---- the model -----------------------------------------------------------------------------


def _share(x: float, lang: str) -> str:
    """A fraction of full ink: '为满墨的 12%' / '12% of full ink'; under 1% said so."""
    if lang == "zh":
        return "不到满墨的 1%" if x < 0.01 else f"为满墨的 {x:.0%}"
    return "under 1% of full ink" if x < 0.01 else f"{x:.0%} of full ink"


def _corr(a, b) -> float:
    return float(np.corrcoef(np.asarray(a, np.float64).ravel(), np.asarray(b, np.float64).ravel())[0, 1])


def weights_text(W, class_means, lang: str, W0=None) -> str:
    """What the templates (columns of ``W``, 784 x 10) hold, from the numbers: their
    correlation with each class's mean test image (``class_means``, 10 x 28 x 28) and with
    that mean minus the other classes' mean; where the most negative weights sit; and, with
    the initial weights ``W0``, why the blank background is speckled."""
    zh = lang == "zh"
    base = ("每张图是 W 的一列，即一个类别的“模板”：一张图像在某一类上的得分，是它的像素与该类模板逐点相乘再求和，"
            "红色像素上的墨迹提高得分，蓝色像素上的墨迹降低得分。" if zh else
            "Each picture is one column of W, the template of one class: an image's score for a "
            "class is the sum of its pixels times the template, so ink on a red pixel raises that "
            "class's score and ink on a blue one lowers it.")
    if class_means is None:
        return base
    W = np.asarray(W, np.float64)
    m = np.asarray(class_means, np.float64).reshape(len(class_means), -1)
    C = W.shape[1]
    others = [np.delete(m, c, axis=0).mean(axis=0) for c in range(C)]
    own = np.array([_corr(W[:, c], m[c]) for c in range(C)])
    contrast = np.array([_corr(W[:, c], m[c] - others[c]) for c in range(C)])
    low = [int(np.argmin(W[:, c])) for c in range(C)]
    empty = sum(m[c, i] < others[c][i] for c, i in enumerate(low))
    top = float(m.max()) or 1.0
    r0, c0 = divmod(low[0], 28)
    if zh:
        text = base + (f"模板与该类测试图像平均图的相关系数只有 {own.min():.2f} 到 {own.max():.2f}，"
                       f"与“该类平均图减去其余九类平均图”的相关系数却有 {contrast.min():.2f} 到 {contrast.max():.2f}："
                       "模板记下的不是数字的样子，而是它和别的数字的区别。红色落在这个数字有、别的数字少有的笔画上；"
                       "蓝色落在别的数字常有墨迹、这个数字却空着的地方，而且往往比红色更显眼："
                       + ("十个模板的最负像素处，该类的平均墨迹都少于其余数字。" if empty == C else
                          f"十个模板中有 {empty} 个的最负像素处，该类的平均墨迹少于其余数字。")
                       + f"例如 0 的模板在第 {r0 + 1} 行第 {c0 + 1} 列最负，0 在那里的平均墨迹"
                       + _share(m[0, low[0]] / top, lang) + f"，其余数字平均为满墨的 {others[0][low[0]] / top:.0%}："
                       "在那里有墨迹的图像就不太像 0。")
    else:
        text = base + (f" Their correlation with the mean test image of their class is only "
                       f"{own.min():.2f} to {own.max():.2f}, but with that mean minus the mean of the "
                       f"other nine classes it is {contrast.min():.2f} to {contrast.max():.2f}: a template "
                       "records how its digit differs from the others, not what it looks like. Red lies "
                       "on strokes this digit has and others seldom have; blue lies where other digits "
                       "put ink and this one leaves the paper empty, and the blue is often the more "
                       f"visible part: in {'all' if empty == C else empty} of the ten templates, the most "
                       "negative pixel is one where the class has less ink on average than the other "
                       f"digits. The 0 template, for example, is most negative at row {r0 + 1}, column "
                       f"{c0 + 1}, where a 0 has {_share(m[0, low[0]] / top, lang)} on average and the "
                       f"other digits {others[0][low[0]] / top:.0%}: ink there makes an image less of a 0.")
    if W0 is not None:
        blank = m.max(axis=0) == 0
        if blank.sum() >= 2:
            d = W - np.asarray(W0, np.float64)
            within = float(np.mean([d[blank, c].std() for c in range(C)]))
            sd = float(W[blank].std())
            n = int(blank.sum())
            if zh:
                text += (f"背景上的斑点是初始化留下的：在任何测试图像中都没有墨迹的 {n} 个像素上，权重的标准差为 {sd:.3f}，"
                         f"与初始化的 √(4/794) ≈ 0.071 相当，而训练前后之差在每一类内几乎是常数（类内标准差 {within:.4f}）。"
                         "课程的预处理让每张图像减去自身均值，空白像素的值在同一张图像里都一样，"
                         "于是它们收到的梯度完全相同，只能一起移动，初始时随机的差别就一直留了下来；"
                         "这些斑点对任何图像的得分都只起一个常数的作用。")
            else:
                text += (f" The speckle on the background is left from the initialisation: on the {n} "
                         f"pixels that carry no ink in any test image the weights have standard deviation "
                         f"{sd:.3f}, as the initial √(4/794) ≈ 0.071, while their change during "
                         f"training is almost constant within each class (standard deviation {within:.4f}). "
                         "The course's preprocessing subtracts each image's own mean, so all blank pixels "
                         "of an image hold the same value; they receive the same gradient and can only "
                         "move together, and their random initial differences stay. For any image "
                         "they add a constant to the score.")
    return text


def confusion_text(cm: np.ndarray, lang: str, class_means=None, figure: str = "") -> str:
    """The hardest and easiest class, the three most frequent confusions, and why a linear
    model makes them (how alike the two classes' mean images are)."""
    cm = np.asarray(cm)
    recall = np.diag(cm) / np.maximum(cm.sum(axis=1), 1)
    hard, easy = int(np.argmin(recall)), int(np.argmax(recall))
    top = confusions(cm)
    zh = lang == "zh"
    if not top:
        return ("所有测试图像都判对了。" if zh else "Every test image is classified correctly.")
    if zh:
        text = (f"最难的类别是 {hard}（召回率 {recall[hard]:.3f}），最容易的是 {easy}（召回率 {recall[easy]:.3f}）。"
                f"最常见的{'一两三'[len(top) - 1]}种错误是" + join_words([f"把 {a} 判为 {b}（{n} 张）" for a, b, n in top], lang) + "。")
    else:
        text = (f"The hardest class is {hard} (recall {recall[hard]:.3f}), the easiest {easy} (recall "
                f"{recall[easy]:.3f}). The {('', 'two ', 'three ')[len(top) - 1]}most frequent "
                f"confusion{'s are' if len(top) > 1 else ' is'} "
                + join_words([f"a {a} read as {b} ({n} images)" for a, b, n in top], lang) + ".")
    if class_means is not None and top:
        m = np.asarray(class_means, np.float64).reshape(len(class_means), -1)
        r = np.corrcoef(m)
        pairs = [r[i, j] for i in range(len(m)) for j in range(i + 1, len(m))]
        rs_ = join_words([f"{r[a, b]:.2f}" for a, b, _ in top], lang)
        if zh:
            text += (f"这几对数字的平均图相关系数分别为 {rs_}（45 对数字的中位数是 {np.median(pairs):.2f}）："
                     "它们的笔画大部分重合，只在少数几处不同" + (f"（{figure}）" if figure else "") + "。线性模型对每个像素只有一个固定的权重，"
                     "只能把各处的墨迹加起来，表达不了“这几处同时有墨迹才是某个数字”这样的组合规则；"
                     "笔画稍有偏移或写法特别，决定两类差别的那几个像素就会被其余像素压过。")
        else:
            text += (f" The mean images of these pairs correlate at {rs_} (the median over all 45 pairs "
                     f"of digits is {np.median(pairs):.2f}): their strokes mostly overlap and differ in a "
                     "few places" + (f" ({figure})" if figure else "") + ". A linear model has one fixed weight per pixel and "
                     "can only add up ink; it cannot express 'a digit is this only when these places "
                     "are inked together', so when a stroke is shifted or unusual the few pixels that "
                     "tell the two apart are outweighed by the rest.")
    return text


def mistakes_text(true, pred, prob, lang: str) -> str:
    """The most confident mistakes: how confident, and their most common pair."""
    true, pred, prob = np.asarray(true), np.asarray(pred), np.asarray(prob)
    if not len(true):
        return ""
    pairs = statistics.multimode(zip(true.tolist(), pred.tolist()))
    (a, b), k = pairs[0], sum(1 for t, p in zip(true, pred) if (t, p) == pairs[0])
    over = int((prob > 0.99).sum())
    if lang == "zh":
        return (f"置信度最高的 {len(true)} 个错误：模型给错误类别的概率在 {prob.min():.3f} 到 {prob.max():.3f} 之间"
                f"（{over} 个超过 0.99），其中最常见的是把 {a} 判为 {b}（{k} 个）。"
                "线性模型只能按像素加权投票，笔画位置偏移或形状罕见的数字会让它非常自信地犯错。")
    return (f"These are the {len(true)} most confident mistakes: the wrong class gets probability "
            f"{prob.min():.3f} to {prob.max():.3f} ({over} above 0.99); the most common pair among "
            f"them is a {a} read as {b} ({k} images). A linear model votes pixel by pixel, so a "
            "shifted stroke or an unusual shape can make it wrong with great confidence.")


def grid_text(items: list[Summary], n_val: int, lang: str) -> list[str]:
    """A user grid: the top setting and those within its noise."""
    good = [s for s in items if s.ok]
    if not good:
        return ["所有设置都发散了。" if lang == "zh" else "Every setting diverged."]
    top = max(good, key=lambda s: s.val_acc.mean)
    tied = [s.setting for s in good if s is not top and not differs(s, top, n_val)]
    bad = [s.setting for s in items if not s.ok]
    if lang == "zh":
        text = f"平均验证准确率最高的设置是 {top.setting}（{mean_sd(top.val_acc)}）。"
        text += (f"{join_words(tied, lang)} 与它的差异在噪声范围内，不能认为它更好。" if tied else
                 "其余设置都低于它且超过噪声界。")
        if bad:
            text += f"发散的设置：{join_words(bad, lang)}。"
        return [text]
    text = f"The highest mean validation accuracy was {top.setting} ({mean_sd(top.val_acc)})."
    text += (f" {join_words(tied, lang)} {'is' if len(tied) == 1 else 'are'} within noise of it, so it "
             "is not shown to be better." if tied else
             " Every other setting is below it beyond noise.")
    if bad:
        text += f" Diverged: {join_words(bad, lang)}."
    return [text]
