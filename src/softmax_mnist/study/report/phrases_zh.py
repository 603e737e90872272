"""The report's findings in Chinese: one entry per finding (findings.py decides which), with
format fields that discussion.py fills. phrases_en.py has the same keys. A reference placed
after 比 or 与 comes in as ``ref`` already spaced (wording.reference)."""

PHRASES = {
    # separators and references used inside other entries
    "sep.clause": "；",
    "sep.comma": "，",
    "ref.it": "它",
    "ref.plain": "普通 SGD ",
    "ref.plain_at": "普通 SGD 的 {plain} ",
    "ref.heavy_ball": "普通（heavy-ball）动量",
    "ref.runner_up": "第二名（学习率 {lr}）",
    "ref.course_at": "课程设置（动量 0.9，{epochs} 轮）",
    "ref.course": "课程设置",
    "ref.epochs": "{epochs} 轮",
    "rate_acc": "{lr}（{acc}）",

    # a comparison by the rule, as a predicate
    "verdict.higher": "高 {gain} 个百分点，超过噪声界 {noise} 个百分点",
    "verdict.lower": "低 {gain} 个百分点，超过噪声界 {noise} 个百分点",
    "verdict.same": "相差 {gain} 个百分点，在噪声范围（{noise} 个百分点）之内",
    "verdict.higher.ref": "比{ref}高 {gain} 个百分点，超过噪声界 {noise} 个百分点",
    "verdict.lower.ref": "比{ref}低 {gain} 个百分点，超过噪声界 {noise} 个百分点",
    "verdict.same.ref": "与{ref}相差 {gain} 个百分点，在噪声范围（{noise} 个百分点）之内",
    "loss.lower": "最后一轮的训练损失 {b:.3f} 对 {a:.3f}，每个种子都更低",
    "loss.higher": "最后一轮的训练损失 {b:.3f} 对 {a:.3f}，每个种子都更高",
    "loss.same": "最后一轮的训练损失 {b:.3f} 对 {a:.3f}，在噪声范围内",
    "reach.epoch": "在第 {epoch:g} 轮首次达到 {t:.2f}",
    "reach.never": "在 {total} 轮内没有达到 {t:.2f}",
    "reach.never.some": "在 {total} 轮内没有达到 {t:.2f}（{seeds} 个种子中有 {hit} 个达到）",

    "noise_rule": (
        "比较的规则（全文只用这一条）：同一个随机种子下，两个设置从相同的初始权重出发、看到相同的小批量，"
        "又在同样的 {n_val:,} 张验证图像上评估，因此按种子、按图像成对比较。差值 d 是各种子验证准确率之差的均值；"
        "它的标准误由两部分合成：一是图像部分，即每张图像上两个模型“答对与否”之差（按种子平均）的方差除以图像数，"
        "与 McNemar 检验一样，只有两个模型判断不同的图像才起作用；二是种子部分，即各种子差值的方差除以种子数"
        "（{seeds} 个种子）。只有当 |d| 超过两倍标准误（下文的“噪声界”）、并且每个种子的差值方向一致时，"
        "才说一个设置“更高”或“更低”；否则说两者“在噪声范围内”。最后一轮的训练损失按同一规则在种子间成对比较，"
        "与准确率并列给出；训练时间也按这条规则比较逐轮成对的耗时。"),

    # (a) curves
    "curves.running": (
        "曲线中的训练损失和训练准确率是一轮内各个小批量的平均（下文称“轮内平均”），统计时权重仍在更新，"
        "代表这一轮“平均”的模型；验证指标则在每轮结束后用该轮最终的权重计算。"),
    "curves.gap.images": (
        "动量 0.9 在最后一轮的训练准确率（轮内平均）为 {running:.4f}，低于验证准确率 {val:.4f}。其中 "
        "{from_running} 个百分点来自轮内平均（训练结束后重新测量，训练准确率为 {train:.4f}），其余 "
        "{from_images} 个百分点是因为这 {n_val:,} 张验证图像对模型来说更容易：即使正确测量，训练准确率仍低于验证准确率。"),
    "curves.gap.running": (
        "动量 0.9 在最后一轮的训练准确率（轮内平均）{running:.4f} 低于验证准确率 {val:.4f}，这完全是轮内平均造成的："
        "训练结束后重新测量，训练准确率为 {train:.4f}。"),
    "curves.after": (
        "训练结束后在 {n_train:,} 张训练图像上测量：不带动量时训练、验证、测试准确率分别为 {plain_train}、"
        "{plain_val}、{plain_test}；动量 0.9 时为 {mom_train}、{mom_val}、{mom_test}。"),
    "fit.below": "训练准确率低于验证准确率：线性模型几乎不会过拟合。",
    "fit.below_near_test": "训练准确率低于验证准确率，而测试准确率更接近训练准确率：线性模型几乎不会过拟合。",
    "fit.slight": "训练准确率只比验证准确率高 {gap} 个百分点：线性模型的容量有限，几乎没有过拟合。",
    "fit.over": "训练准确率比验证准确率高 {gap} 个百分点：有一定程度的过拟合。",

    "name.nesterov": "Nesterov 动量 {momentum:g}（学习率 {lr:g}）",
    "name.momentum": "动量 {momentum:g}（学习率 {lr:g}）",
    "name.plain": "普通 SGD（学习率 {lr:g}）",

    # (b) momentum
    "momentum.result": (
        "按 {seeds} 个种子的中位数，动量 0.9 的验证准确率{reach_mom}，普通 SGD {reach_plain}。{epochs} 轮后，"
        "动量 0.9 的平均验证准确率为 {mom}，普通 SGD 为 {plain}：{verdict}；{loss}。"),
    "momentum.control": (
        "但这一比较把两件事混在了一起。动量 μ 使参数沿稳定梯度方向的有效步长变为 η/(1−μ)："
        "学习率 0.01、动量 0.9 的有效步长是 {lr:g}。对照实验让普通 SGD 以同样的有效步长训练（学习率 {lr:g}）："
        "它的验证准确率{reach}，{epochs} 轮后为 {control}，动量 0.9 {verdict}；两者逐轮的平均验证准确率最多相差 "
        "{far} 个百分点（@fig-momentum）。"),
    "momentum.small": "反过来，动量 0.9 配学习率 {lr:g}（有效步长 0.01，与普通 SGD 相同）得到 {small}，{verdict}。",
    "why.step": (
        "这与理论对这个问题的预期一致。softmax 回归的交叉熵损失是光滑的凸函数；heavy-ball 动量把过去的梯度按 μᵏ "
        "加权累加，只要梯度在约 1/(1−μ) = 10 步内变化不大，它的每一步就近似于步长为 η/(1−μ) 的普通 SGD。"
        "因此本实验中“动量更快”应理解为“更大的有效步长更快”：少用的轮数来自更大的步长，而不是动量本身。"),
    "why.step_at_large": (
        "在有效步长 0.1 处，动量与等步长的普通 SGD 在噪声范围内；但在有效步长 0.01 处两者不同（见上）。"
        "有效步长解释了课程设置下的差别，小步长处的差别本实验没有进一步拆分。"),
    "why.momentum_ahead": (
        "在相同有效步长下动量仍然领先，说明除了步长变大之外，梯度的指数平均本身（减小小批量噪声、"
        "抑制陡峭方向上的振荡）在这里也起了作用。"),
    "why.momentum_lower": "在相同有效步长下动量反而更低。",
    "nesterov.same": "Nesterov 动量 0.9 得到 {nesterov}，{verdict}：在这个光滑的凸问题上，“先看一步”的修正几乎不起作用。",
    "nesterov.apart": "Nesterov 动量 0.9 得到 {nesterov}，{verdict}。",
    "large.intro": (
        "动量自身的好处会不会在大步长时才显现？学习率实验中动量 0.9 的两个最大学习率对应有效步长 {steps}，"
        "对照组用普通 SGD 以相同的有效步长训练：{parts}。"),
    "large.plain_diverged": (
        "有效步长 {step:g} 时，动量 0.9（学习率 {lr_mom:g}）得到 {mom}，"
        "普通 SGD（学习率 {lr_plain:g}）在 {seeds} 个种子中有 {plain_diverged} 个发散"),
    "large.momentum_diverged": "有效步长 {step:g} 时，动量 0.9 在 {mom_diverged} 个种子中发散，普通 SGD 得到 {plain}",
    "large.both_diverged": (
        "有效步长 {step:g} 时，动量 0.9 在 {mom_diverged} 个种子中发散，普通 SGD 在 {plain_diverged} 个种子中发散"),
    "large.both_ok": "有效步长 {step:g} 时，动量 0.9 为 {mom}，普通 SGD 为 {plain}，动量{verdict}",
    "large.own": "所以在有效步长 {steps} 时，动量确实有普通 SGD 没有的好处：它在这样大的步长下仍然稳定、结果更好。",
    "large.behind": "在这些大步长下动量并不占优。",
    "large.none_stable": (
        "即使在这些大步长下，两者也在噪声范围内，而且都没有发散：本实验没有发现动量独有的好处，"
        "普通 SGD 的稳定性上限在试过的步长之外。"),
    "large.none": "即使在这些大步长下，两者也在噪声范围内：本实验没有发现动量独有的好处。",

    # (b) time
    "time.epochs": (
        "每轮训练耗时（{rounds} 轮的中位数）：普通 SGD {plain} 秒，动量 0.9 {mom} 秒。"
        "两种设置在预热一轮后逐轮交替测量，机器负载的变化同时落在两者身上；按同一规则比较逐轮耗时之比，"),
    "time.same": "两者相差 {rel:.0%}，在噪声范围（{tol:.0%}）之内。",
    "time.slower": "动量慢 {rel:.0%}，超过噪声界 {tol:.0%}。",
    "time.faster": "动量快 {rel:.0%}，超过噪声界 {tol:.0%}。",
    "time.update": (
        "单独测量一次参数更新：不带动量 {plain} 微秒，带动量 {mom} 微秒，"
        "而批大小 {batch} 时完整的一步训练约 {step} 微秒，动量多出的部分约占一步的 {share:.0%}。"),
    "time.update.tiny": (
        "单独测量一次参数更新：不带动量 {plain} 微秒，带动量 {mom} 微秒，"
        "而批大小 {batch} 时完整的一步训练约 {step} 微秒，动量多出的部分不到一步的 1%。"),
    "time.to": "按“达到 {t:.2f} 的轮数 × 每轮耗时中位数”估算，动量 0.9 约需 {mom} 秒训练时间；",
    "time.to.plain": "普通 SGD 约需 {plain} 秒",
    "time.to.plain.never": "普通 SGD 在 {epochs} 轮内没有达到",
    "time.to.control": "；有效步长相同的普通 SGD（学习率 {lr:g}，每轮耗时与普通 SGD 相同）约需 {control} 秒",
    "time.to.end": "。",
    "time.saved_by_step": "省下的时间来自更大的有效步长，而不是动量。",

    # (c) learning rate
    "lr.all_diverged": "所有学习率都发散了。",
    "lr.top": "平均验证准确率最高的是学习率 {lr}（{acc}）。",
    "lr.tied.one": "学习率 {lrs} 与它的差异在噪声范围内，这组实验在两者之间分不出高下。",
    "lr.tied.many": "学习率 {lrs} 与它的差异在噪声范围内，这组实验在它们之间分不出高下。",
    "lr.runner_up": "它{verdict}。",
    "lr.loss": "训练损失给出另一个角度：{loss}。",
    "lr.momentum": "所有学习率都配合动量 {momentum:g}，有效步长是学习率的 {factor:g} 倍。",
    "lr.loss.top": "学习率 {lr} 最后一轮的训练损失为 {loss:.3f}，{parts}",
    "lr.loss.item": "学习率 {lr} 的 {loss:.3f}",
    "lr.loss.lower": "每个种子都低于{items}",
    "lr.loss.higher": "每个种子都高于{items}",
    "lr.loss.same": "与{items}在噪声范围内",
    "lr.small": "步长太小：学习率 {rates}低于最高值，超过噪声界。",
    "lr.small.rising": "学习率 {lrs} 的验证准确率在最后一轮仍在上升（@fig-lr）：在给定的轮数内还没有收敛。",
    "lr.large": "步长太大：{parts}。",
    "lr.large.low": "学习率 {rates}低于最高值，超过噪声界",
    "lr.large.diverged": "学习率 {lrs} 发散",
    "lr.stable": "在试过的范围内没有学习率明显过大：即使学习率 {lr:g}（有效步长 {step:g}）训练也保持稳定。",

    # (c) batch size
    "batch.fixed": (
        "批大小为 B 时每轮有 {n_train:,}/B 次参数更新：批大小 {lo} 每轮 {updates_lo:,} 次，"
        "批大小 {hi} 只有 {updates_hi:,} 次。在固定学习率 0.01、固定 {epochs} 轮的条件下，"
        "验证准确率从批大小 {lo} 的 {acc_lo} 变为批大小 {hi} 的 {acc_hi}，"),
    "batch.fixed.lower": "下降 {gain} 个百分点，超过噪声界 {noise} 个百分点。",
    "batch.fixed.higher": "上升 {gain} 个百分点，超过噪声界 {noise} 个百分点。",
    "batch.fixed.same": "差异在噪声范围（{noise} 个百分点）之内。",
    "batch.fixed.updates": "但这一比较同时改变了更新次数：大批量在同样的轮数里走的步数少得多。",
    "batch.scaled": (
        "把学习率按批大小线性缩放（0.01 × B/100，使每个样本对参数的平均推动相同）后，"
        "各批大小之间的验证准确率极差从 {fixed} 个百分点{change}为 {scaled} 个百分点"
        "（@fig-batch）；其余 {others} 个批大小{within}与最高值（批大小 {top}）在噪声范围内。"),
    "batch.range.shrinks": "缩小",
    "batch.range.changes": "变",
    "batch.within.all": "全都",
    "batch.within.some": "中有 {count} 个",
    "batch.scaled.updates": (
        "可见固定学习率下大批量吃亏主要是因为更新次数太少，而不是批量本身：大批量的梯度噪声更小，"
        "但在同样的学习率下每步走的距离差不多，而批大小 {hi} 每轮的更新次数只有批大小 {lo} 的 1/{ratio}。"),
    "batch.scaled.beyond": "缩放学习率并没有消除大部分差异，因此批大小的影响不只是更新次数的多少。",
    "batch.heat.rising": (
        "学习率 × 批大小的热图（@fig-heatmap）中每个批大小的最佳学习率为（批大小: 学习率）{pairs}；"
        "最佳学习率随批大小增大而增大，与上面的缩放规律一致。"
        "相邻格子之间的差异常常在噪声范围内，热图看的是整体走向，而不是某一个格子。"),
    "batch.heat.unsteady": (
        "学习率 × 批大小的热图（@fig-heatmap）中每个批大小的最佳学习率为（批大小: 学习率）{pairs}；"
        "最佳学习率并不随批大小单调变化。"
        "相邻格子之间的差异常常在噪声范围内，热图看的是整体走向，而不是某一个格子。"),
    "batch.time": (
        "时间上，批大小 {lo} 每轮 {time_lo} 秒，是批大小 {hi}（{time_hi} 秒）的 {ratio} 倍（交替测量的中位数）；"
        "摊到每张图像上，分别约为 {image_lo} 微秒和 {image_hi} 微秒。每一步都有一部分开销与批大小无关"
        "（函数调用、启动矩阵乘法、参数更新），批越小，这部分摊到每张图像上就越多。"),
    "batch.time.fit": (
        "把每步耗时拟合成“固定部分 + 每张图像的部分”：每步约有 {fixed} 微秒与批大小无关，"
        "每张图像另需约 {per_image} 微秒。"),

    # the best setting
    "ablation.course": "训练 {epochs} 轮时，这个设置的验证准确率为 {acc}，{verdict}。",
    "ablation.short": (
        "只训练课程的 {short} 轮（学习率在 {short} 轮内衰减）时为 {acc}，{verdict_course}；"
        "{epochs} 轮的结果{verdict_short}。"),
    "ablation.test": "测试准确率（只对最终模型测量）为 {test}。",
    "ablation.worst": (
        "逐一去掉其中一部分（@tab-ablation，{seeds} 个种子，按同一规则比较）：去掉{worst}损失最大，"
        "验证准确率下降 {drop} 个百分点。"),
    "ablation.earn.one": "去掉{parts}的下降超过噪声界，这一部分有其作用。",
    "ablation.earn.many": "去掉{parts}的下降都超过噪声界，这些部分各有其作用。",
    "ablation.same.one": "去掉{parts}的差异在噪声范围内：它在这里没有证明自己的作用，保留只是沿用了搜索时的选择。",
    "ablation.same.many": "去掉{parts}的差异在噪声范围内：它们在这里没有证明自己的作用，保留只是沿用了搜索时的选择。",
    "ablation.hurt": "去掉{parts}后反而更高，超过噪声界：这部分应当去掉。",

    # a user grid
    "grid.all_diverged": "所有设置都发散了。",
    "grid.top": "平均验证准确率最高的设置是 {top}（{acc}）。",
    "grid.tied.one": "{tied} 与它的差异在噪声范围内，不能认为它更好。",
    "grid.tied.many": "{tied} 与它的差异在噪声范围内，不能认为它更好。",
    "grid.untied": "其余设置都低于它且超过噪声界。",
    "grid.diverged": "发散的设置：{settings}。",

    # the model
    "weights.base": (
        "每张图是 W 的一列，即一个类别的“模板”：一张图像在某一类上的得分，是它的像素与该类模板逐点相乘再求和，"
        "红色像素上的墨迹提高得分，蓝色像素上的墨迹降低得分。"),
    "weights.contrast": (
        "模板与该类测试图像平均图的相关系数只有 {own_min:.2f} 到 {own_max:.2f}，"
        "与“该类平均图减去其余九类平均图”的相关系数却有 {contrast_min:.2f} 到 {contrast_max:.2f}："
        "模板记下的不是数字的样子，而是它和别的数字的区别。红色落在这个数字有、别的数字少有的笔画上；蓝色落在别的数字常有墨迹、这个数字却空着的地方，"
        "而且往往比红色更显眼：十个模板{negative}少于其余数字。例如 0 的模板在第 {row} 行第 "
        "{col} 列最负，0 在那里的平均墨迹{zero_ink}，其余数字平均为满墨的 {others_ink:.0%}："
        "在那里有墨迹的图像就不太像 0。"),
    "weights.negative.all": "的最负像素处，该类的平均墨迹都",
    "weights.negative.some": "中有 {empty} 个的最负像素处，该类的平均墨迹",
    "ink.under_1": "不到满墨的 1%",
    "ink.share": "为满墨的 {share:.0%}",
    "weights.background": (
        "背景上的斑点是初始化留下的：在任何测试图像中都没有墨迹的 {pixels} 个像素上，权重的标准差为 {sd:.3f}，"
        "与初始化的 √(4/794) ≈ 0.071 相当，而训练前后之差在每一类内几乎是常数（类内标准差 {within:.4f}）。"
        "课程的预处理让每张图像减去自身均值，空白像素的值在同一张图像里都一样，"
        "于是它们收到的梯度完全相同，只能一起移动，初始时随机的差别就一直留了下来；"
        "这些斑点对任何图像的得分都只起一个常数的作用。"),
    "confusion.none": "所有测试图像都判对了。",
    "confusion.recall": "最难的类别是 {hard}（召回率 {hard_recall:.3f}），最容易的是 {easy}（召回率 {easy_recall:.3f}）。",
    "confusion.top.1": "最常见的一种错误是{pairs}。",
    "confusion.top.2": "最常见的两种错误是{pairs}。",
    "confusion.top.3": "最常见的三种错误是{pairs}。",
    "confusion.pair": "把 {true} 判为 {pred}（{count} 张）",
    "confusion.alike": (
        "这几对数字的平均图相关系数分别为 {correlations}（45 对数字的中位数是 {median:.2f}）："
        "它们的笔画大部分重合，只在少数几处不同{figure}。线性模型对每个像素只有一个固定的权重，"
        "只能把各处的墨迹加起来，表达不了“这几处同时有墨迹才是某个数字”这样的组合规则；"
        "笔画稍有偏移或写法特别，决定两类差别的那几个像素就会被其余像素压过。"),
    "confusion.figure": "（{figure}）",
    "mistakes": (
        "置信度最高的 {count} 个错误：模型给错误类别的概率在 {low:.3f} 到 {high:.3f} 之间"
        "（{over} 个超过 0.99），其中最常见的是把 {true} 判为 {pred}（{pair_count} 个）。"
        "线性模型只能按像素加权投票，笔画位置偏移或形状罕见的数字会让它非常自信地犯错。"),
}
