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

from softmax_mnist.study.results import Stat, Summary, differs, median_epoch, noise

TIME_FLOOR = 0.10  # on a shared machine, time differences under 10% are not resolved


def f4(x) -> str:
    return "–" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.4f}"


def ms(s: Stat) -> str:
    """'0.9348 ± 0.0012' (mean ± sd over seeds), or the one value."""
    if not s.n:
        return "–"
    return f"{s.mean:.4f} ± {s.sd:.4f}" if s.n > 1 else f"{s.mean:.4f}"


def pts(x: float) -> str:
    """An accuracy difference in percentage points: '1.46'."""
    return f"{abs(x) * 100:.2f}"


def sec(x: float) -> str:
    return f"{x:.3f}" if x < 10 else f"{x:.1f}"


def _join(items: list[str], lang: str) -> str:
    if len(items) <= 1:
        return "".join(items)
    if lang == "zh":
        return "、".join(items[:-1]) + "和" + items[-1]
    return ", ".join(items[:-1]) + " and " + items[-1]


def _epoch_phrase(epochs: list, lang: str, total: int) -> str:
    e = median_epoch(epochs)
    if e is None:
        hit = sum(x is not None for x in epochs)
        if lang == "zh":
            return f"{total} 轮内未达到" + (f"（{len(epochs)} 个种子中 {hit} 个达到）" if hit else "")
        return f"not within {total} epochs" + (f" ({hit} of {len(epochs)} seeds did)" if hit else "")
    return f"第 {e:g} 轮" if lang == "zh" else f"epoch {e:g}"


def gap(a: Summary, b: Summary, n_eval: int) -> tuple[float, float, bool]:
    """(mean of b - mean of a, the noise of that difference, whether it exceeds the noise)."""
    return (b.val_acc.mean - a.val_acc.mean, noise(a.val_acc, b.val_acc, n_eval),
            differs(a.val_acc, b.val_acc, n_eval))


def noise_rule(n_val: int, seeds: int, lang: str) -> str:
    """The rule every 'within noise' below follows, said once."""
    if lang == "zh":
        return (f"判断差异的规则：两个设置的均值之差只有超过该差值的两倍标准误时才算作差异；"
                f"每个均值的方差包括 {seeds} 个随机种子之间的波动（s²/n）以及在 {n_val:,} 张验证图像上"
                "估计准确率的抽样误差 p(1−p)/M。小于这一界限的差异一律称为“在噪声范围内”。")
    return (f"The rule for every comparison: two settings differ only when the gap between their "
            f"means exceeds two standard errors of the difference, where each mean's variance "
            f"adds the seed-to-seed spread over {seeds} seeds (s²/n) and the sampling error of an "
            f"accuracy measured on {n_val:,} validation images, p(1−p)/M. A smaller gap is "
            "called within noise.")


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
        text = ("曲线中的训练损失和训练准确率是一轮内各个小批量的平均，统计时权重仍在更新，"
                "代表这一轮“平均”的模型；验证指标则在每轮结束后用该轮最终的权重计算。")
    else:
        text = ("The training loss and accuracy in the curves are averages over the minibatches "
                "of an epoch, measured while the weights still change, so they describe the "
                "epoch's average model; validation is measured after the epoch with its final "
                "weights.")
    if r is not None and r < v:
        if t < v:
            text += (f"动量 0.9 在最后一轮的训练准确率（训练中统计）为 {r:.4f}，低于验证准确率 {v:.4f}。其中 "
                     f"{pts(t - r)} 个百分点来自滑动平均（训练结束后重新测量，训练准确率为 {t:.4f}），其余 "
                     f"{pts(v - t)} 个百分点是因为这 {n_val:,} 张验证图像对模型来说更容易：即使正确测量，训练准确率仍低于验证准确率。"
                     if zh else
                     f" With momentum 0.9 the running training accuracy of the last epoch, {r:.4f}, "
                     f"sits below the validation accuracy, {v:.4f}. {pts(t - r)} points of that "
                     f"gap are the running average (measured again after training, the training "
                     f"accuracy is {t:.4f}); the other {pts(v - t)} points are the images: these "
                     f"{n_val:,} validation images are easier for the model, since even measured "
                     "properly the training accuracy stays below validation.")
        else:
            text += (f"动量 0.9 在最后一轮的训练准确率（训练中统计）{r:.4f} 低于验证准确率 {v:.4f}，这完全是滑动平均造成的："
                     f"训练结束后重新测量，训练准确率为 {t:.4f}。" if zh else
                     f" With momentum 0.9 the running training accuracy of the last epoch, {r:.4f}, "
                     f"sits below validation, {v:.4f}, only because it is a running average: "
                     f"measured again after training it is {t:.4f}.")
    if zh:
        text += (f"训练结束后在 {n_train:,} 张训练图像上测量：不带动量时训练、验证、测试准确率分别为 {ms(plain.train_acc)}、"
                 f"{ms(plain.val_acc)}、{ms(plain.test_acc)}；动量 0.9 时为 {ms(mom.train_acc)}、{ms(mom.val_acc)}、"
                 f"{ms(mom.test_acc)}。")
    else:
        text += (f" After training, measured on the {n_train:,} training images: plain SGD has training "
                 f"accuracy {ms(plain.train_acc)} (validation {ms(plain.val_acc)}, test "
                 f"{ms(plain.test_acc)}), momentum 0.9 {ms(mom.train_acc)} (validation "
                 f"{ms(mom.val_acc)}, test {ms(mom.test_acc)}).")
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
        return (f"训练准确率只比验证准确率高 {pts(tr - va)} 个百分点：线性模型的容量有限，几乎没有过拟合。" if zh
                else f"Training accuracy is only {pts(tr - va)} points above validation: a linear "
                "model has little capacity to overfit.")
    return (f"训练准确率比验证准确率高 {pts(tr - va)} 个百分点：有一定程度的过拟合。" if zh
            else f"Training accuracy is {pts(tr - va)} points above validation: some overfitting.")


def _name(s: Summary, lang: str) -> str:
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


def momentum_text(plain: Summary, mom: Summary, control: Summary | None,
                  small: Summary | None, nesterov: Summary | None, thresholds, n_val: int,
                  lang: str) -> list[str]:
    """Plain SGD against momentum 0.9, the equal-effective-step controls, Nesterov; and why."""
    zh = lang == "zh"
    E = mom.config["epochs"]
    t = max(thresholds)
    k = f"{t:.2f}"
    d, nz, real = gap(plain, mom, n_val)
    out = []
    if zh:
        p = (f"按 {mom.val_acc.n} 个种子的中位数，动量 0.9 时验证准确率在{_epoch_phrase(mom.epochs_to[k], lang, E)}"
             f"首次达到 {t:.2f}，普通 SGD 为{_epoch_phrase(plain.epochs_to[k], lang, E)}。"
             f"{E} 轮后，动量 0.9 的平均验证准确率为 {ms(mom.val_acc)}，普通 SGD 为 {ms(plain.val_acc)}，")
        p += (f"高出 {pts(d)} 个百分点，超过了该差值的噪声界 {pts(nz)} 个百分点。" if real and d > 0 else
              f"低 {pts(d)} 个百分点，超过了噪声界 {pts(nz)} 个百分点。" if real else
              f"相差 {pts(d)} 个百分点，在噪声范围（{pts(nz)} 个百分点）之内。")
    else:
        p = (f"As the median over {mom.val_acc.n} seeds, the validation accuracy first reached "
             f"{t:.2f} with momentum 0.9 in {_epoch_phrase(mom.epochs_to[k], lang, E)}; plain SGD "
             f"{'in ' if median_epoch(plain.epochs_to[k]) else 'did '}"
             f"{_epoch_phrase(plain.epochs_to[k], lang, E)}. "
             f"After {E} epochs the mean validation accuracy was {ms(mom.val_acc)} with momentum "
             f"and {ms(plain.val_acc)} without: ")
        p += (f"{pts(d)} points {'higher' if d > 0 else 'lower'}, more than the noise of that "
              f"difference ({pts(nz)} points)." if real else
              f"a difference of {pts(d)} points, within noise ({pts(nz)} points).")
    out.append(p)
    if control is not None:
        dc, nc, realc = gap(control, mom, n_val)
        far = max((abs(a.mean - b.mean) for a, b in zip(mom.curves["val_acc"],
                                                         control.curves["val_acc"])), default=0)
        lr_eff = control.config["lr"]
        if zh:
            p = (f"但这一比较混淆了两件事。动量 μ 使参数沿梯度方向的有效步长变为 η/(1−μ)，"
                 f"学习率 0.01、动量 0.9 的有效步长是 {lr_eff:g}。对照实验用相同的有效步长训练普通 SGD（学习率 {lr_eff:g}）："
                 f"其最终验证准确率为 {ms(control.val_acc)}，")
            p += (f"与动量 0.9 相差 {pts(dc)} 个百分点，在噪声范围（{pts(nc)}）之内；两者逐轮的平均验证准确率最多相差 "
                  f"{pts(far)} 个百分点（@fig-momentum）。" if not realc else
                  f"动量 0.9 比它{'高' if dc > 0 else '低'} {pts(dc)} 个百分点，超过噪声界 {pts(nc)}。")
        else:
            p = (f"That comparison mixes two things. Momentum μ makes the effective step along a "
                 f"steady gradient η/(1−μ): lr 0.01 with momentum 0.9 moves like a step of "
                 f"{lr_eff:g}. The control trains plain SGD at that equal effective step, lr "
                 f"{lr_eff:g}: it ends at {ms(control.val_acc)}, ")
            p += (f"within noise of momentum 0.9 (a difference of {pts(dc)} points, noise "
                  f"{pts(nc)}), and the mean validation curves of the two differ by at most "
                  f"{pts(far)} points in any epoch (@fig-momentum)." if not realc else
                  f"and momentum 0.9 is {pts(dc)} points {'above' if dc > 0 else 'below'} it, "
                  f"beyond the noise of {pts(nc)} points.")
        if small is not None:
            ds, ns_, reals = gap(plain, small, n_val)
            if zh:
                p += (f"反过来，动量 0.9 配学习率 {small.config['lr']:g}（有效步长 0.01，与普通 SGD 相同）"
                      f"得到 {ms(small.val_acc)}，" +
                      (f"与普通 SGD 的 {ms(plain.val_acc)} 在噪声范围内。" if not reals else
                       f"与普通 SGD 相差 {pts(ds)} 个百分点，超过噪声界 {pts(ns_)}。"))
            else:
                p += (f" Conversely, momentum 0.9 at lr {small.config['lr']:g} (effective step "
                      f"0.01, as plain SGD's) ends at {ms(small.val_acc)}, "
                      + (f"within noise of plain SGD's {ms(plain.val_acc)}." if not reals else
                         f"{pts(ds)} points from plain SGD, beyond the noise of {pts(ns_)} points."))
            matched = not realc and not reals
        else:
            matched = not realc
        out.append(p)
        out.append(_why(matched, realc and dc > 0, zh))
    if nesterov is not None:
        dn, nn, realn = gap(mom, nesterov, n_val)
        if zh:
            out.append(f"Nesterov 动量 0.9 得到 {ms(nesterov.val_acc)}，与普通（heavy-ball）动量相差 {pts(dn)} 个百分点，"
                       + ("在噪声范围内：在这个光滑的凸问题上，“先看一步”的修正几乎不起作用。" if not realn else
                          f"超过噪声界 {pts(nn)}。"))
        else:
            out.append(f"Nesterov momentum 0.9 ends at {ms(nesterov.val_acc)}, {pts(dn)} points "
                       "from heavy-ball momentum: "
                       + ("within noise; on this smooth convex problem the look-ahead "
                          "correction changes little." if not realn else
                          f"beyond the noise of {pts(nn)} points."))
    return out


def _why(matched: bool, momentum_ahead: bool, zh: bool) -> str:
    if matched:
        if zh:
            return ("这正是理论对这个问题的预期。softmax 回归的交叉熵损失是光滑的凸函数，学习率 0.01 远低于稳定性上限；"
                    "heavy-ball 动量把过去的梯度按 μᵏ 加权累加，当梯度在约 1/(1−μ) = 10 步内变化不大时，"
                    "它的行为就等同于步长为 η/(1−μ) 的普通 SGD。动量真正独有的好处——在病态损失的陡峭方向上抑制振荡，"
                    "从而允许平坦方向上走更大的步——只有当步长接近最陡方向所允许的上限时才会显现。"
                    "因此，本实验中“动量更快”的结论应理解为“更大的有效步长更快”。")
        return ("This is what theory predicts for this problem. The cross-entropy loss of softmax "
                "regression is smooth and convex, and lr 0.01 is far below the stability limit. "
                "Heavy-ball momentum sums past gradients with weights μᵏ; while the gradient "
                "changes little over about 1/(1−μ) = 10 steps, it moves exactly as plain SGD "
                "with step η/(1−μ). What momentum adds on its own, damping oscillation across "
                "the steep directions of an ill-conditioned loss so that the step can be large "
                "along the flat ones, only shows when the step nears the limit the steepest "
                "direction allows. So 'momentum trains faster' here reads as 'a larger "
                "effective step trains faster'.")
    if momentum_ahead:
        if zh:
            return ("在相同有效步长下动量仍然领先，说明除了步长变大之外，梯度的指数平均本身（减小小批量噪声、"
                    "抑制陡峭方向上的振荡）在这里也起了作用。")
        return ("Momentum stays ahead at an equal effective step, so beyond the larger step the "
                "averaging of gradients itself (less minibatch noise, less oscillation across "
                "steep directions) helps here.")
    if zh:
        return "在相同有效步长下动量并不占优：这里它的速度项反而带来了过冲。"
    return ("At an equal effective step momentum is not ahead: its velocity overshoots here "
            "rather than helping.")


def time_ratio(a: dict, b: dict) -> tuple[float, float]:
    """How much longer b's epochs take than a's, and the tolerance below which that is noise.

    The epochs were interleaved, so round r of a and of b ran side by side: the median of the
    per-round ratios b_r / a_r cancels most of the machine's drift, and their quartile spread
    is the noise (never below TIME_FLOOR)."""
    if a.get("times") and b.get("times") and len(a["times"]) == len(b["times"]):
        ratios = sorted(y / x for x, y in zip(a["times"], b["times"]))
        q = statistics.quantiles(ratios, n=4) if len(ratios) > 1 else [ratios[0]] * 3
        return statistics.median(ratios) - 1, max(TIME_FLOOR, q[2] - q[0])
    spread = max((x["q3"] - x["q1"]) / x["median"] for x in (a, b))
    return (b["median"] - a["median"]) / a["median"], max(TIME_FLOOR, spread)


def time_text(epoch: dict, step: dict, plain: Summary, mom: Summary, thresholds, rounds: int,
              lang: str, n_train: int = 55000) -> str:
    """Seconds per epoch with and without momentum (interleaved medians), the update's own
    cost beside that of a whole training step (an epoch's time over its ceil(n_train / B)
    steps), and the training time to the highest threshold (epochs x median epoch time)."""
    zh = lang == "zh"
    a, b = epoch[plain.setting], epoch[mom.setting]
    rel, tol = time_ratio(a, b)
    same = abs(rel) <= tol
    sp, sm = step[plain.setting]["median"], step[mom.setting]["median"]
    t = max(thresholds)
    k = f"{t:.2f}"
    em, ep = median_epoch(mom.epochs_to[k]), median_epoch(plain.epochs_to[k])
    B = mom.config["batch_size"]
    step_us = b["median"] / math.ceil(n_train / B) * 1e6
    if zh:
        text = (f"每轮训练耗时：动量 0.9 为 {sec(b['median'])} 秒，普通 SGD 为 {sec(a['median'])} 秒"
                f"（各 {rounds} 轮的中位数；两种设置在预热一轮后逐轮交替测量，使机器负载的变化同时影响两者）。")
        text += (f"逐轮耗时之比的中位数相差 {abs(rel):.0%}，在噪声范围（{tol:.0%}）之内。" if same else
                 f"动量{'慢' if rel > 0 else '快'} {abs(rel):.0%}，超过了噪声界 {tol:.0%}。")
        text += (f"单独测量一次参数更新：不带动量 {sp:.1f} 微秒，带动量 {sm:.1f} 微秒，"
                 f"动量只多出 {sm - sp:.1f} 微秒，而批大小 {B} 时一步完整训练约需 {step_us:.0f} 微秒。")
        if em is not None:
            text += (f"按“轮数 × 每轮耗时中位数”估算，动量 0.9 达到 {t:.2f} 约需 {sec(em * b['median'])} 秒训练时间"
                     + (f"，普通 SGD 约需 {sec(ep * a['median'])} 秒。" if ep is not None else
                        "，普通 SGD 在本实验的轮数内未达到。")
                     + "动量节省的是轮数，而不是每轮的开销。")
        return text
    text = (f"One epoch took {sec(b['median'])} s with momentum 0.9 and {sec(a['median'])} s with "
            f"plain SGD (medians of {rounds} epochs each, the two interleaved epoch by epoch after "
            "a warm-up, so that the machine's load hits both alike): ")
    text += (f"the per-round ratio differs from 1 by {abs(rel):.0%} (median), within noise ({tol:.0%})."
             if same else
             f"momentum is {abs(rel):.0%} {'slower' if rel > 0 else 'faster'}, beyond the noise "
             f"of {tol:.0%}.")
    text += (f" Timed alone, one update costs {sp:.1f} µs without momentum and {sm:.1f} µs with "
             f"it: momentum adds {sm - sp:.1f} µs to a training step of about {step_us:.0f} µs at "
             f"batch {B}.")
    if em is not None:
        text += (f" As epochs times the median epoch time, momentum 0.9 reaches {t:.2f} after "
                 f"about {sec(em * b['median'])} s of training"
                 + (f", plain SGD after about {sec(ep * a['median'])} s." if ep is not None else
                    ", plain SGD not within the epochs run.")
                 + " Momentum saves epochs, not time per epoch.")
    return text


# ---- (c) learning rate ---------------------------------------------------------------------


def lr_text(items: list[Summary], n_val: int, lang: str) -> list[str]:
    """Which rates are within noise of the highest mean, which are too small or too large."""
    zh = lang == "zh"
    items = sorted(items, key=lambda s: s.config["lr"])
    good = [s for s in items if s.ok]
    if not good:
        return ["所有学习率都发散了。" if zh else "Every learning rate diverged."]
    top = max(good, key=lambda s: s.val_acc.mean)
    tied = [s for s in good if s is not top and not differs(s.val_acc, top.val_acc, n_val)]
    mu = top.config.get("momentum", 0)
    out = []
    lrs = [f"{s.config['lr']:g}" for s in tied]
    tied_all = _join(sorted([f"{top.config['lr']:g}", *lrs], key=float), lang)
    second = max((s for s in good if s is not top), key=lambda s: s.val_acc.mean, default=None)
    if zh:
        p = f"平均验证准确率最高的是学习率 {top.config['lr']:g}（{ms(top.val_acc)}）。"
        if tied:
            p += (f"学习率 {_join(lrs, lang)} 与它的差异都在噪声范围内，所以这组实验并不能选出唯一的最佳学习率："
                  f"{tied_all} 都同样可用。")
        else:
            if second:
                d, nz, _ = gap(second, top, n_val)
                p += f"它领先第二名（学习率 {second.config['lr']:g}）{pts(d)} 个百分点，超过噪声界 {pts(nz)}。"
        if mu:
            p += f"所有学习率都配合动量 {mu:g}，有效步长是学习率的 {1 / (1 - mu):g} 倍。"
    else:
        p = f"The highest mean validation accuracy was at lr {top.config['lr']:g} ({ms(top.val_acc)})."
        if tied:
            p += (f" Learning rates {_join(lrs, lang)} are within noise of it, so the sweep does not "
                  f"single out one best rate: any of "
                  f"{tied_all} serves.")
        else:
            if second:
                d, nz, _ = gap(second, top, n_val)
                p += (f" It leads the runner-up, lr {second.config['lr']:g}, by {pts(d)} points, "
                      f"more than the noise of {pts(nz)} points.")
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
            p = f"步长太小：学习率 {names} 明显低于最高值，超过噪声界。"
            if rising:
                p += "它们的验证准确率在最后一轮仍在上升（@fig-lr）：在给定的轮数内还没有收敛。"
        else:
            p = f"Too small: lr {names} end clearly below the top, beyond noise."
            if rising:
                p += (" Their validation accuracy still rises in the last epoch (@fig-lr): they "
                      "had not converged in the epochs given.")
        out.append(p)
    if large:
        bad = [s for s in large if not s.ok]
        low = [s for s in large if s.ok]
        parts = []
        if low:
            names = _rates(low, lang)
            parts.append(f"学习率 {names} 低于最高值且超过噪声界" if zh else
                         f"lr {names} end below the top beyond noise")
        if bad:
            names = _join([f"{s.config['lr']:g}" for s in bad], lang)
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


def _rates(items: list[Summary], lang: str) -> str:
    """'0.001 (0.9199 ± 0.0013) and 0.5 (…)': rates with their validation accuracy."""
    return _join([f"{s.config['lr']:g}（{ms(s.val_acc)}）" if lang == "zh" else
                  f"{s.config['lr']:g} ({ms(s.val_acc)})" for s in items], lang)


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
             f"验证准确率从批大小 {lo.config['batch_size']} 的 {ms(lo.val_acc)} 变为批大小 {hi.config['batch_size']} 的 "
             f"{ms(hi.val_acc)}，")
        p += (f"{'下降' if d < 0 else '上升'} {pts(d)} 个百分点，超过噪声界 {pts(nz)}。" if real else
              f"差异在噪声范围（{pts(nz)}）之内。")
        p += "但这一比较同时改变了更新次数：大批量在同样的轮数里走的步数少得多。"
    else:
        p = (f"At batch size B an epoch makes {n_train:,}/B updates: {u[0]:,} at batch "
             f"{lo.config['batch_size']}, only {u[1]:,} at batch {hi.config['batch_size']}. At the "
             f"fixed lr 0.01 and {E} epochs, validation accuracy goes from {ms(lo.val_acc)} at "
             f"batch {lo.config['batch_size']} to {ms(hi.val_acc)} at batch {hi.config['batch_size']}")
        p += (f", {pts(d)} points {'lower' if d < 0 else 'higher'}, beyond the noise of {pts(nz)} points." if real
              else f", within noise ({pts(nz)} points).")
        p += (" But that comparison also changes the number of updates: a large batch takes far "
              "fewer steps in the same epochs.")
    out.append(p)
    if len(scaled) >= 2:
        rng_s = max(s.val_acc.mean for s in scaled) - min(s.val_acc.mean for s in scaled)
        top = max(scaled, key=lambda s: s.val_acc.mean)
        within = [s for s in scaled if not differs(s.val_acc, top.val_acc, n_val)]
        shrinks = rng_s < rng_f / 2
        if zh:
            p = (f"把学习率按批大小线性缩放（0.01 × B/100，使每个样本对参数的平均推动相同）后，"
                 f"各批大小之间的验证准确率极差从 {pts(rng_f)} 个百分点"
                 f"{'缩小' if rng_s < rng_f else '变'}为 {pts(rng_s)} 个百分点"
                 f"（@fig-batch）；{len(within)}/{len(scaled)} 个批大小与最高值在噪声范围内。")
            p += ("可见固定学习率下大批量的损失主要来自更新次数太少，而不是批量本身：梯度噪声更小，"
                  "但同样的学习率下每步走的距离相同、步数却少了 B 倍。" if shrinks else
                  "缩放学习率并没有消除大部分差异，因此批大小的影响不只是更新次数的多少。")
        else:
            p = (f"With the rate scaled with the batch (0.01 × B/100, so that each sample pushes "
                 f"the weights as far on average), the range of validation accuracy across batch "
                 f"sizes {'shrinks' if rng_s < rng_f else 'goes'} from {pts(rng_f)} to "
                 f"{pts(rng_s)} points (@fig-batch); {len(within)} of {len(scaled)} batch sizes are "
                 f"within noise of the top.")
            p += (" So most of the fixed-rate loss at large batches is the missing updates, not "
                  "the batch itself: its gradient is less noisy, but at the same rate each step "
                  "goes as far and there are B times fewer of them." if shrinks else
                  " Scaling the rate does not remove most of the gap, so the batch size matters "
                  "beyond the number of updates.")
        out.append(p)
    if heat:
        sizes = sorted(heat)
        best = [heat[b] for b in sizes]
        rising = all(x <= y for x, y in zip(best, best[1:])) and best[0] < best[-1]
        pairs = _join([f"{b}: {heat[b]:g}" for b in sizes], lang)
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
        per = a / math.ceil(n_train / sizes[0]) * 1e6
        if zh:
            out.append(f"时间上，批大小 {sizes[0]} 每轮 {sec(a)} 秒，是批大小 {sizes[-1]}（{sec(b)} 秒）的 "
                       f"{a / b:.1f} 倍（交替测量的中位数）：小批量时每次更新的固定开销（约 {per:.0f} 微秒/次）占了主导。")
        else:
            out.append(f"In time, an epoch at batch {sizes[0]} took {sec(a)} s, {a / b:.1f} times the "
                       f"{sec(b)} s at batch {sizes[-1]} (interleaved medians): at small batches the "
                       f"fixed cost of each update (about {per:.0f} µs) dominates.")
    return out


# ---- the best setting ----------------------------------------------------------------------


def ablation_text(full: Summary, rows: list[tuple[str, Summary]], n_val: int, lang: str) -> str:
    """Each part of the best preset switched off in turn: which costs most, which are within
    the noise of the full preset (one seed: the sampling error of the validation images)."""
    zh = lang == "zh"
    drops = [(name, s, *gap(s, full, n_val)) for name, s in rows if s.ok]
    if not drops:
        return ""
    worst = max(drops, key=lambda x: x[2])
    same = [name for name, _, d, _, real in drops if not real]
    if zh:
        text = (f"完整设置的验证准确率为 {f4(full.val_acc.mean)}，测试准确率（只对这个最终模型测量一次）为 "
                f"{f4(full.test_acc.mean)}。逐一去掉其中一部分（@tab-ablation）：去掉{worst[0]}损失最大，"
                f"验证准确率下降 {pts(worst[2])} 个百分点。")
        if same:
            text += f"去掉{_join(same, lang)}的差异在噪声范围内（单个种子，噪声只含 {n_val:,} 张验证图像的抽样误差）。"
        return text
    text = (f"The full setting reaches validation accuracy {f4(full.val_acc.mean)}; its test "
            f"accuracy, measured once for this final model, is {f4(full.test_acc.mean)}. Switching "
            f"off one part at a time (@tab-ablation): removing {worst[0]} costs the most, "
            f"{pts(worst[2])} points of validation accuracy.")
    if same:
        text += (f" Removing {_join(same, lang)} changes it by less than the noise (one seed: "
                 f"the noise is the sampling error of {n_val:,} validation images).")
    return text


# ---- the model -----------------------------------------------------------------------------


def weights_text(corr: np.ndarray | None, lang: str) -> str:
    """The weight templates against the mean image of their class (correlations ``corr``)."""
    zh = lang == "zh"
    base = ("每张图是 W 的一列，即一个类别的“模板”：红色像素上的墨迹提高该类的得分，蓝色像素上的墨迹降低它。"
            if zh else "Each picture is one column of W, the template of one class: ink on a red "
            "pixel raises that class's score, ink on a blue one lowers it.")
    if corr is None:
        return base
    lo, hi = int(np.argmin(corr)), int(np.argmax(corr))
    if zh:
        return base + (f"模板与该类测试图像平均图的相关系数在 {corr[lo]:.2f}（类别 {lo}）到 {corr[hi]:.2f}（类别 {hi}）之间："
                       "模板大致是该数字的模糊轮廓，并在其他数字常有而该数字没有墨迹的位置取负值。")
    return base + (f" Their correlation with the mean test image of their class ranges from "
                   f"{corr[lo]:.2f} (class {lo}) to {corr[hi]:.2f} (class {hi}): a template is "
                   "roughly a blurred outline of its digit, negative where other digits put ink "
                   "and this one does not.")


def confusion_text(cm: np.ndarray, lang: str) -> str:
    """The hardest and easiest class and the most frequent confusion, from the counts."""
    cm = np.asarray(cm)
    recall = np.diag(cm) / np.maximum(cm.sum(axis=1), 1)
    hard, easy = int(np.argmin(recall)), int(np.argmax(recall))
    row = cm[hard].copy()
    row[hard] = 0
    other = int(np.argmax(row))
    off = cm.copy()
    np.fill_diagonal(off, 0)
    a, b = np.unravel_index(np.argmax(off), off.shape)
    if lang == "zh":
        return (f"最难的类别是 {hard}（召回率 {recall[hard]:.3f}），最常被误判为 {other}"
                f"（{cm[hard, other]} / {cm[hard].sum()} 张）；最容易的是 {easy}（召回率 {recall[easy]:.3f}）。"
                f"全部错误中最常见的一种是把 {a} 判为 {b}（{off[a, b]} 次）。")
    return (f"The hardest class is {hard} (recall {recall[hard]:.3f}), most often taken for "
            f"{other} ({cm[hard, other]} of {cm[hard].sum()} images); the easiest is {easy} "
            f"(recall {recall[easy]:.3f}). The most frequent single confusion is a true {a} "
            f"predicted as {b} ({off[a, b]} times).")


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
    tied = [s.setting for s in good if s is not top and not differs(s.val_acc, top.val_acc, n_val)]
    bad = [s.setting for s in items if not s.ok]
    if lang == "zh":
        text = f"平均验证准确率最高的设置是 {top.setting}（{ms(top.val_acc)}）。"
        text += (f"{_join(tied, lang)} 与它的差异在噪声范围内，不能认为它更好。" if tied else
                 "其余设置都低于它且超过噪声界。")
        if bad:
            text += f"发散的设置：{_join(bad, lang)}。"
        return [text]
    text = f"The highest mean validation accuracy was {top.setting} ({ms(top.val_acc)})."
    text += (f" {_join(tied, lang)} {'is' if len(tied) == 1 else 'are'} within noise of it, so it "
             "is not shown to be better." if tied else
             " Every other setting is below it beyond noise.")
    if bad:
        text += f" Diverged: {_join(bad, lang)}."
    return [text]
