"""The report's own words, in both languages side by side: headings, captions, table headers,
the method's paragraphs, the setup, the summary and the appendix (a finding's sentence, which
depends on the numbers, is discussion.py's).

``PHRASES`` maps a phrase's key to its English and Chinese text; ``{field}`` marks a number or
name filled in by ``phrase(lang, key, **fields)``. Which phrase is said is decided once, in the
code that builds the section (report.py, method.py, sections.py), never per language.
"""

from __future__ import annotations

PHRASES: dict[str, dict[str, str]] = {
    # ---- the document ---------------------------------------------------------------------
    "title.study": {"en": "Softmax regression on MNIST: study report", "zh": "MNIST 手写数字的 Softmax 回归：实验报告"},
    "title.sweep": {"en": "Softmax regression on MNIST: sweep report", "zh": "MNIST 手写数字的 Softmax 回归：参数扫描报告"},
    "subtitle": {"en": "softmax-mnist {stamp} · seeds {seeds} · data: {data}",
                 "zh": "softmax-mnist {stamp} · 随机种子 {seeds} · 数据：{data}"},
    "full stop": {"en": ".", "zh": "。"},
    # a reference as Typst writes it, "Figure 3" / "图 3", also in report.md (typeset.to_markdown)
    "reference.fig": {"en": "Figure", "zh": "图"},
    "reference.tab": {"en": "Table", "zh": "表"},
    "reference.eq": {"en": "Equation", "zh": "式"},
    "reference.code": {"en": "Listing", "zh": "代码"},

    # ---- summary --------------------------------------------------------------------------
    "summary": {"en": "Summary", "zh": "摘要"},
    "summary.sweep": {"en": "Results of a user sweep; every choice below is made on the validation split.",
                      "zh": "用户参数扫描的结果；下面所有选择都基于验证集。"},
    "summary.above": {"en": "{points} points above plain SGD on validation, beyond noise",
                      "zh": "比普通 SGD 高 {points} 个百分点，超过噪声界"},
    "summary.below": {"en": "{points} points below plain SGD on validation, beyond noise",
                      "zh": "比普通 SGD 低 {points} 个百分点，超过噪声界"},
    "summary.within": {"en": "within noise of plain SGD ({points} points apart)",
                       "zh": "与普通 SGD 相差 {points} 个百分点，在噪声范围内"},
    "summary.momentum": {"en": "With the course's settings, momentum 0.9 ends {verdict}",
                         "zh": "在课程设置下，动量 0.9 的验证准确率{verdict}"},
    "summary.matched": {
        "en": "; plain SGD with the same effective step η/(1−μ) is within noise of momentum, so the "
              "gain belongs to the larger step.",
        "zh": "；而有效步长 η/(1−μ) 相同的普通 SGD 与它在噪声范围内，可见收益来自更大的步长。"},
    "summary.best": {
        "en": " The preset \"best\" (chosen by a search on the validation split: deskewed, "
              "size-normalised and blurred images, a decaying rate, still a linear model) reaches "
              "test accuracy {accuracy}.",
        "zh": "预设 best（在验证集上搜索选出：图像做倾斜校正、尺寸归一化和模糊，学习率线性衰减，仍是线性模型）"
              "的测试准确率为 {accuracy}。"},
    "summary.table": {"en": " @tab-summary gives the accuracies of the final models.",
                      "zh": "最终模型的准确率见 @tab-summary。"},
    "summary.caption": {
        "en": "Accuracy of the final models, mean ± sd over seeds; training accuracy measured on the "
              "{n_train:,} training images after training. The test split is read only for these models.",
        "zh": "最终模型的准确率（多个种子的均值 ± 标准差）；训练准确率是训练结束后在 {n_train:,} 张训练图像上"
              "重新测量的。测试集只用于这几个模型。"},

    # ---- names in tables and legends ------------------------------------------------------
    "final model": {"en": "final model", "zh": "最终模型"},
    "train accuracy": {"en": "train accuracy", "zh": "训练准确率"},
    "validation": {"en": "validation", "zh": "验证准确率"},
    "test": {"en": "test", "zh": "测试准确率"},
    "test split": {"en": "test", "zh": "测试"},
    "optimizer": {"en": "optimizer", "zh": "优化器"},
    "setting": {"en": "setting", "zh": "设置"},
    "batch": {"en": "batch", "zh": "批大小"},
    "val. accuracy": {"en": "val. accuracy", "zh": "验证准确率"},
    "train. loss": {"en": "train. loss", "zh": "训练损失"},
    "final training loss": {"en": "final training loss", "zh": "最终训练损失"},
    "epochs to": {"en": "epochs to {threshold:.2f}", "zh": "达到 {threshold:.2f} 的轮数"},
    "s per epoch": {"en": "s per epoch (median)", "zh": "每轮秒数（中位数）"},
    "quartiles": {"en": "quartiles", "zh": "四分位数"},
    "µs per update": {"en": "µs per update", "zh": "每次更新微秒数"},
    "updates per epoch": {"en": "updates/epoch", "zh": "每轮更新数"},
    "val. acc. fixed": {"en": "val. acc. (η 0.01)", "zh": "验证准确率（η 0.01）"},
    "scaled η": {"en": "scaled η", "zh": "缩放后 η"},
    "val. acc. scaled": {"en": "val. acc. (scaled)", "zh": "验证准确率（缩放）"},
    "s/epoch": {"en": "s/epoch", "zh": "每轮秒数"},
    "variant": {"en": "variant", "zh": "变体"},
    "change": {"en": "change (points)", "zh": "变化（百分点）"},
    "by the rule": {"en": "by the rule", "zh": "按规则"},
    "beyond noise": {"en": "beyond noise", "zh": "超过噪声界"},
    "within noise": {"en": "within noise", "zh": "在噪声范围内"},
    "diverged": {"en": "diverged", "zh": "发散"},
    "diverged of": {"en": "diverged ({diverged}/{seeds})", "zh": "发散（{diverged}/{seeds}）"},
    "plain SGD": {"en": "plain SGD", "zh": "普通 SGD"},
    "momentum": {"en": "momentum {momentum:g}", "zh": "动量 {momentum:g}"},
    "nesterov": {"en": "Nesterov {momentum:g}", "zh": "Nesterov {momentum:g}"},
    "plain SGD, equal step": {"en": "plain SGD, equal step", "zh": "普通 SGD，等有效步长"},
    "momentum, equal step": {"en": "momentum 0.9, equal step", "zh": "动量 0.9，等有效步长"},
    "plain SGD, large step": {"en": "plain SGD, large step", "zh": "普通 SGD，大步长对照"},
    "course settings": {"en": ", course settings", "zh": "，课程设置"},
    "preset best": {"en": "preset best, {epochs} epochs", "zh": "预设 best，{epochs} 轮"},
    "momentum at": {"en": "momentum 0.9, η {lr:g}", "zh": "动量 0.9，η {lr:g}"},
    "plain SGD at": {"en": "plain SGD, η {lr:g}", "zh": "普通 SGD，η {lr:g}"},
    "reference run": {"en": "the study's reference run", "zh": "本实验的参考运行"},
    "run": {"en": "{setting}, seed {seed}", "zh": "{setting}，随机种子 {seed}"},

    # ---- setup ----------------------------------------------------------------------------
    "setup": {"en": "Setup", "zh": "实验设置"},
    "setup.data": {
        "en": "Data: MNIST, the first {n_train:,} training images train, the last {n_val:,} validate "
              "(every choice is made on them), the {n_test:,} test images only report the final models.",
        "zh": "数据：MNIST，训练文件的前 {n_train:,} 张用于训练，后 {n_val:,} 张用于验证（所有选择都依据验证集），"
              "{n_test:,} 张测试图像只用于报告最终模型。"},
    "setup.preprocess": {
        "en": "Preprocessing ({preprocess}): pixels scaled to [0, 1], then each image's own mean "
              "subtracted. Initialisation: W, b ~ Normal(0, √(4/(784+10))), as the course.",
        "zh": "预处理（{preprocess}）：像素缩放到 [0, 1]，再减去每张图像自身的均值。"
              "初始化：W、b ~ Normal(0, √(4/(784+10)))，与课程一致。"},
    "setup.seeds": {
        "en": "Seeds {seeds}: the seed sets the initial weights and the order of the minibatches; "
              "for one seed, every setting starts from the same weights and sees the same batches.",
        "zh": "随机种子 {seeds}：种子决定初始权重和小批量的顺序；同一个种子下所有设置从相同的权重出发、"
              "看到相同的批次。"},
    "setup.stacked": {
        "en": "Settings that differ only in the optimizer's numbers (learning rate, momentum) train "
              "together, in one pass over the same batches; so a single setting has no training time of "
              "its own, and every time in this report comes from separate, interleaved measurements.",
        "zh": "只有优化器参数（学习率、动量）不同的设置在同一遍训练中一起计算，它们看到的小批量完全相同；"
              "因此单个设置没有自己的训练时间，本报告中的所有时间都来自单独的交替测量。"},

    # ---- appendix -------------------------------------------------------------------------
    "appendix": {"en": "Appendix: machine and times", "zh": "附录：机器与耗时"},
    "appendix.machine": {
        "en": "Machine: {cpu}, {cores} cores; Python {python}, NumPy {numpy}, Typst (Python package) "
              "{typst}. Training (all runs, validation passes and the final evaluations included): "
              "{train_seconds:.0f} s; timing measurements: {timing_seconds:.0f} s; loading data and "
              "writing the report are not included.",
        "zh": "机器：{cpu}，{cores} 核；Python {python}，NumPy {numpy}，Typst（Python 包）{typst}。"
              "训练（全部运行，含每轮验证与最终评估）用时 {train_seconds:.0f} 秒；计时测量 "
              "{timing_seconds:.0f} 秒；不含读取数据和生成报告的时间。"},
    "appendix.busy": {
        "en": " The machine was shared: its load average (runnable processes, 1 minute) was "
              "{at_training:.1f} when training began and {at_timing:.1f} when the timing began, on "
              "{cores} cores; times measured on a quieter machine are shorter, and ratios of "
              "interleaved times move less than the times themselves.",
        "zh": "测量时机器并非空闲：开始训练时的 1 分钟平均负载（可运行的进程数）为 {at_training:.1f}，"
              "开始计时测量时为 {at_timing:.1f}，而机器只有 {cores} 个核；在空闲的机器上时间会更短，"
              "交替测量得到的时间之比比时间本身更稳定。"},
    "appendix.quiet": {
        "en": " Nothing else ran: the load average (runnable processes, 1 minute) was {at_training:.1f} "
              "when training began and {at_timing:.1f} when the timing began, the study's own "
              "training included.",
        "zh": "测量时机器上没有其他任务：开始训练时的 1 分钟平均负载（可运行的进程数）为 {at_training:.1f}，"
              "开始计时测量时为 {at_timing:.1f}（含本次训练自身）。"},
    "appendix.fonts": {"en": " CJK fonts: {serif} (text), {sans} (headings and figures).",
                       "zh": "中文字体：正文 {serif}，标题与图 {sans}。"},

    # ---- method (method.py) ---------------------------------------------------------------
    "method": {"en": "Method", "zh": "方法"},
    "method.model": {"en": "Model and loss", "zh": "模型与损失函数"},
    "method.softmax": {
        "en": "An image is a row x of D = 784 pixel values; the model gives each of the C = 10 "
              "classes a score (logit) and turns the scores into probabilities with the softmax. "
              "For a minibatch X (N × D), with W (D × C) and b (1 × C):",
        "zh": "每张图像展开为 D = 784 维的行向量 x；模型为 C = 10 个类别各给出一个得分（logit），"
              "再用 softmax 把得分变成概率。对一个小批量 X（N × D），参数 W（D × C）和 b（1 × C）："},
    "method.loss": {
        "en": "The loss is the mean cross-entropy between the predicted probabilities and the "
              "true labels $y_i$ (Y is their one-hot matrix):",
        "zh": "损失是预测概率与真实标签 $y_i$ 之间的平均交叉熵（Y 为标签的 one-hot 矩阵）："},
    "method.gradient": {"en": "Gradient", "zh": "梯度推导"},
    "method.derivation": {
        "en": "Differentiate @eq-ce through @eq-softmax. For one sample, "
              "$log p_(i c) = z_(i c) - log sum_(k=1)^C e^(z_(i k))$, so "
              "$(partial (-log p_(i, y_i))) / (partial z_(i c)) = p_(i c) - Y_(i c)$: the derivative "
              "of the log-sum-exp is the softmax itself, and the true class loses 1. Averaging "
              "over the N samples and applying the chain rule through Z = XW + b, with "
              "$(partial z_(i c)) / (partial W_(d c)) = x_(i d)$ and $(partial z_(i c)) / (partial b_c) = 1$:",
        "zh": "由 @eq-softmax 和 @eq-ce 求梯度。对单个样本，$log p_(i c) = z_(i c) - log sum_(k=1)^C e^(z_(i k))$，因此 "
              "$(partial (-log p_(i, y_i))) / (partial z_(i c)) = p_(i c) - Y_(i c)$：log-sum-exp 的导数正是 "
              "softmax 本身，真实类别处再减去 1。对 N 个样本取平均，再沿 Z = XW + b 用链式法则，其中 "
              "$(partial z_(i c)) / (partial W_(d c)) = x_(i d)$，$(partial z_(i c)) / (partial b_c) = 1$："},
    "method.mean": {
        "en": "so ∂L/∂b is the column sums of (P − Y)/N. The division by N makes the gradient "
              "that of the mean, so the learning rate does not have to change with the batch "
              "size to keep the same step per update.",
        "zh": "即 ∂L/∂b 是 (P − Y)/N 的列和。除以 N 使其成为平均损失的梯度，"
              "这样每次更新的步长不会随批大小成倍变化。"},
    "method.stable": {"en": "A numerically stable log-softmax", "zh": "数值稳定的 log-softmax"},
    "method.overflow": {
        "en": "In float32, $e^z$ overflows to infinity for z > 88.7, and logits of that size occur "
              "with a large learning rate or long training; log(softmax + ε) also loses the "
              "small probabilities. Subtracting the row maximum $m_i$ changes nothing "
              "mathematically (it cancels between numerator and denominator) and makes every "
              "exponent ≤ 0, as @eq-logsoftmax does:",
        "zh": "在 float32 中，z > 88.7 时 $e^z$ 就溢出为无穷大，而学习率较大或训练较久时这样大的 logit 并不少见；"
              "log(softmax + ε) 的写法还会丢失很小的概率。减去每行的最大值 $m_i$ 在数学上不改变结果"
              "（分子分母同时约去），却让所有指数都 ≤ 0，即 @eq-logsoftmax："},
    "method.check": {
        "en": "Gradient check: on the saved model (model.npz) and {images} test images, the "
              "analytic gradient of @eq-grad was compared in float64 with central differences "
              "(h = 10⁻⁵) on {entries} random entries of W and all 10 of b. The error "
              "of an entry is |a − n| / max(|a|, |n|, 10⁻⁶): relative for ordinary entries, absolute "
              "for entries below 10⁻⁶, where the central difference's own rounding (about 10⁻¹¹) "
              "would otherwise look like a wrong formula. The largest error is {worst:.1e}, the "
              "median {median:.1e}",
        "zh": "梯度检验：在保存的模型（model.npz）和 {images} 张测试图像上，用 float64 把 @eq-grad 的解析梯度"
              "与中心差分（h = 10⁻⁵）比较，检查 W 中随机的 {entries} 个元素和 b 的全部 10 个元素。"
              "每个元素的误差取 |a − n| / max(|a|, |n|, 10⁻⁶)：一般元素看相对误差；小于 10⁻⁶ 的元素看绝对误差，"
              "因为中心差分本身的舍入误差约为 10⁻¹¹，除以一个很小的梯度会被误当成公式错误。"
              "最大误差为 {worst:.1e}，中位数为 {median:.1e}"},
    "method.check.far below": {"en": ": far below the 10⁻⁵ past which a formula is suspect.",
                               "zh": "，远低于提示公式可能有误的 10⁻⁵。"},
    "method.check.below": {"en": ": below the 10⁻⁵ past which a formula is suspect.",
                           "zh": "，低于提示公式可能有误的 10⁻⁵。"},
    "method.check.above": {"en": "; above 10⁻⁵, so look at the formula.",
                           "zh": "，超过 10⁻⁵，公式需要检查。"},
    "method.check.impl": {
        "en": "The saved model was trained with the classes of {name}/; the check above "
              "tests @eq-grad on its weights, not their `gradient_computing`: "
              "`softmax-mnist check {name}` compares that with central differences.",
        "zh": "保存的模型由 {name}/ 中的类训练；上面的检验是在其权重上检验 @eq-grad，"
              "而不是检验他们的 `gradient_computing`：后者由 `softmax-mnist check {name}` "
              "与中心差分比较。"},
    "method.momentum": {"en": "Momentum", "zh": "动量"},
    "method.heavy ball": {
        "en": "SGD with heavy-ball momentum keeps a velocity v per parameter; with μ = 0 it is "
              "plain SGD, w ← w − ηg:",
        "zh": "带 heavy-ball 动量的 SGD 为每个参数保留一个速度 v；μ = 0 时即普通 SGD：w ← w − ηg。"},
    "method.effective step": {
        "en": "Where the gradient changes slowly, the velocity settles at the geometric sum "
              "−ηg(1 + μ + μ² + …) = −ηg/(1 − μ): momentum 0.9 moves ten times as far per step as "
              "plain SGD at the same η.",
        "zh": "在梯度变化缓慢的方向上，速度趋于几何级数 −ηg(1 + μ + μ² + …) = −ηg/(1 − μ)："
              "同样的 η 下，动量 0.9 每步走的距离是普通 SGD 的十倍。η/(1 − μ) 称为有效步长"},
    "method.effective step.end": {"en": "", "zh": "。"},
    "method.effective step.controls": {
        "en": " The effective step η/(1 − μ) is why the momentum study below adds controls at "
              "equal effective step.",
        "zh": "，这正是下面的动量实验要加入“等有效步长”对照的原因。"},
    "method.key code": {"en": "Key code", "zh": "关键代码"},
    "method.key code.course": {
        "en": "The course's three functions, written the course's way (@code-key): `forward` "
              "computes the logits, the stable log-softmax of @eq-logsoftmax, the mean "
              "cross-entropy and the accuracy, and keeps X, P and Y for the backward pass; "
              "`gradient_computing` applies @eq-grad; `step` applies @eq-momentum with the "
              "velocity kept between steps. They live in softmax_mnist/study/keycode.py, read "
              "from there when this report was built. The training itself ran on a faster "
              "version of the same formulas (core/functional.py, core/model.py, "
              "core/optimizer.py); tests/test_keycode.py checks that the two give the same loss, "
              "accuracy, gradients and momentum steps to float32 rounding.",
        "zh": "课程要求的三个函数按课程的写法给出（@code-key）：`forward` 计算 logit、@eq-logsoftmax 的稳定 "
              "log-softmax、平均交叉熵和准确率，并留下 X、P、Y 供反向传播使用；`gradient_computing` 按 @eq-grad "
              "计算梯度；`step` 按 @eq-momentum 更新参数，速度在各步之间保留。这段代码位于 "
              "softmax_mnist/study/keycode.py，生成报告时直接从该文件读取。实际训练用的是同一组公式的更快实现"
              "（core/functional.py、core/model.py、core/optimizer.py）；tests/test_keycode.py 检验两者给出的损失、"
              "准确率、梯度和带动量的更新在 float32 舍入误差内一致。"},
    "method.key code.caption": {
        "en": "forward, gradient_computing and SGD.step (softmax_mnist/study/keycode.py; "
              "the comments are in Chinese, the course's language).",
        "zh": "forward、gradient_computing 与 SGD.step（softmax_mnist/study/keycode.py）。"},
    "method.impl": {
        "en": "This study ran on the implementation in {name}/: every run trained with its "
              "`SoftmaxCrossEntropyLoss` (loss.py) and `SGD` (optimizer.py) in the course's loop, "
              "on the reference implementation's minibatches and initial weights; validation and test "
              "numbers were measured on the weights it reached. Its three functions follow, "
              "as the study copied them (impl/ in the study folder). The training times in this "
              "report are of the reference implementation, timed apart.",
        "zh": "本实验使用 {name}/ 中的实现：每次训练都在课程的训练循环中使用其中的 "
              "`SoftmaxCrossEntropyLoss`（loss.py）和 `SGD`（optimizer.py），小批量与初始权重与参考实现相同；"
              "验证与测试结果在其训练得到的权重上测量。下面是其中的三个函数，即实验时复制的版本"
              "（实验文件夹中的 impl/）。报告中的训练时间是参考实现单独测量的时间。"},
    "method.impl.reference": {
        "en": " Settings the course's `SGD(model, learning_rate, momentum)` has no argument for "
              "({settings}) trained with the reference implementation's SGD instead.",
        "zh": "课程的 `SGD(model, learning_rate, momentum)` 没有对应参数的设置（{settings}）"
              "改用参考实现的 SGD 训练。"},
    "method.impl.forward": {"en": "forward ({name}/loss.py).", "zh": "forward（{name}/loss.py）。"},
    "method.impl.backward": {"en": "gradient_computing ({name}/loss.py).",
                             "zh": "gradient_computing（{name}/loss.py）。"},
    "method.impl.step": {"en": "SGD.step ({name}/optimizer.py).", "zh": "SGD.step（{name}/optimizer.py）。"},

    # ---- the study's sections (sections.py) -----------------------------------------------
    "curves": {"en": "(a) Training and test accuracy", "zh": "(a) 训练与测试准确率"},
    "curves.intro": {
        "en": "@fig-curves shows the training loss and accuracy per epoch of the course's two "
              "settings (batch 100, lr 0.01, {epochs} epochs), without momentum and with momentum 0.9.",
        "zh": "@fig-curves 给出课程两个设置（批大小 100、学习率 0.01、{epochs} 轮）每轮的训练损失和准确率："
              "不带动量与动量 0.9。"},
    "curves.caption": {
        "en": "Loss (left) and accuracy (right) per epoch: training (solid, running over the "
              "epoch) and validation (dashed), mean of {seeds} seeds; the band spans the "
              "lowest to the highest seed.",
        "zh": "每轮的损失（左）与准确率（右）：训练（实线，轮内平均）与验证（虚线），{seeds} 个种子的均值，"
              "阴影为最低到最高的种子。"},
    "momentum.heading": {"en": "(b) With and without momentum", "zh": "(b) 有无动量的比较"},
    "momentum.intro": {"en": "@tab-momentum lists the momentum settings and their controls, @fig-momentum "
                             "their validation curves",
                       "zh": "@tab-momentum 列出动量设置及其对照，@fig-momentum 给出它们的验证曲线"},
    "momentum.intro.time": {"en": ", @tab-time their training time.", "zh": "，@tab-time 给出训练时间。"},
    "momentum.caption": {
        "en": "Momentum and its controls (batch 100, {epochs} epochs): median epoch at which the "
              "validation accuracy first reached each threshold (– not reached; in brackets how "
              "many seeds did), final validation accuracy as mean ± sd over seeds, and the last "
              "epoch's training loss (mean).",
        "zh": "动量及其对照（批大小 100、{epochs} 轮）：验证准确率首次达到各阈值的轮数（种子中位数；– 为未达到，"
              "括号内为达到的种子数）、最终验证准确率（均值 ± 标准差）和最后一轮的训练损失（均值）。"},
    "momentum.figure": {
        "en": "Validation accuracy per epoch (mean and seed range). Left: plain SGD, momentum 0.9 "
              "and Nesterov at η 0.01. Right: each against its equal-effective-step control "
              "(dashed): η/(1−μ) is the same for the two lines of one colour pair.",
        "zh": "每轮验证准确率（均值与种子范围）。左：η = 0.01 时的普通 SGD、动量 0.9 与 Nesterov。"
              "右：各自与其等有效步长对照（虚线）比较，成对的两条线 η/(1−μ) 相同。"},
    "time.caption": {
        "en": "Training time: one epoch of {n_train:,} images at batch {batch} (no validation pass), "
              "{rounds} epochs each interleaved after a warm-up, median and "
              "quartiles; the update step alone on a 784 × 10 model. Two significant digits: "
              "on a shared machine a second run can differ by more than that; the rows are "
              "in a fixed order, not ranked.",
        "zh": "训练时间：批大小 {batch} 下一轮 {n_train:,} 张图像（不含验证），预热后各 {rounds} 轮交替测量，"
              "给出中位数与四分位数；以及在 784 × 10 模型上单独测量的一次参数更新。只保留两位有效数字："
              "在共用的机器上重测一次的差别可能更大；各行按固定顺序排列，不是排名。"},
    "settings": {"en": "(c) Learning rate, batch size and other settings",
                 "zh": "(c) 学习率、批大小及其他设置的影响"},
    "lr": {"en": "Learning rate", "zh": "学习率"},
    "lr.intro": {"en": "{rates} learning rates, each with momentum 0.9 and {seeds} seeds: @tab-lr and @fig-lr.",
                 "zh": "{rates} 个学习率，均配合动量 0.9、各 {seeds} 个种子：见 @tab-lr 和 @fig-lr。"},
    "lr.caption": {"en": "Learning rate with momentum 0.9 (batch 100, {epochs} epochs), mean ± sd over "
                         "{seeds} seeds.",
                   "zh": "学习率（动量 0.9、批大小 100、{epochs} 轮），{seeds} 个种子的均值 ± 标准差。"},
    "lr.figure": {"en": "Learning rate: validation accuracy per epoch (left) and final "
                        "validation accuracy, mean ± sd over seeds (right).",
                  "zh": "学习率：每轮验证准确率（左）与最终验证准确率的均值 ± 标准差（右）。"},
    "batch.heading": {"en": "Batch size", "zh": "批大小"},
    "batch.intro": {"en": "{sizes} batch sizes at a fixed learning rate and at one scaled with "
                          "the batch (@tab-batch, @fig-batch)",
                    "zh": "{sizes} 个批大小，分别用固定学习率和随批大小缩放的学习率（@tab-batch、@fig-batch）"},
    "batch.intro.heatmap": {"en": ", and every learning rate at every batch size (@fig-heatmap).",
                            "zh": "，以及所有学习率与批大小的组合（@fig-heatmap）。"},
    "batch.caption": {
        "en": "Batch size with momentum 0.9, {epochs} epochs: at the fixed "
              "η 0.01 and with η = 0.01 × B/100; mean ± sd over seeds; seconds per epoch are "
              "interleaved medians.",
        "zh": "批大小（动量 0.9、{epochs} 轮）：固定 η = 0.01 与 η = 0.01 × B/100 两种情况，"
              "种子均值 ± 标准差；每轮秒数为交替测量的中位数。"},
    "batch.figure": {
        "en": "Batch size: final validation accuracy at a fixed and at a scaled learning rate "
              "(left, mean ± sd over seeds) and seconds per epoch (right, median with quartiles).",
        "zh": "批大小：固定与缩放学习率下的最终验证准确率（左，均值 ± 标准差）及每轮耗时（右，中位数与四分位数）。"},
    "heatmap.seeds": {"en": "mean over {seeds} seeds", "zh": "{seeds} 个种子的均值"},
    "heatmap.one seed": {"en": "one seed", "zh": "单个种子"},
    "heatmap.figure": {
        "en": "Final validation accuracy ({seeds}) for every learning "
              "rate and batch size (momentum 0.9, {epochs} epochs); bold: the highest.",
        "zh": "各学习率与批大小组合的最终验证准确率（{seeds}；动量 0.9，{epochs} 轮），粗体为最高值。"},
    "ablation": {"en": "The preset best and what each part adds", "zh": "预设 best 及各部分的作用"},
    "ablation.intro": {
        "en": "The model stays a linear softmax regression on 784 pixels; what changes is the "
              "images and the schedule. The values come from a two-stage search on the validation "
              "split (benchmarks/preset_search.py, seeds 0–2, tables in benchmarks/README.md): first "
              "11 combinations of image transforms under one optimizer setting, then 8 optimizer "
              "settings on the best transform; the test split was read only at the end. The "
              "preset is:",
        "zh": "模型仍是 784 个像素上的线性 softmax 回归；改变的是输入图像和学习率的安排。各项取值来自验证集上的两阶段搜索"
              "（benchmarks/preset_search.py，种子 0–2，结果表见 benchmarks/README.md）：先在一组固定的优化设置下比较 "
              "11 种图像变换组合，再在最好的变换上比较 8 组优化设置；测试集只在最后读取一次。预设的内容是："},
    "ablation.deskew": {
        "en": "deskew: each image is shifted so that its centre of mass is central and sheared so "
              "that its main axis is vertical (from its second moments);",
        "zh": "倾斜校正（deskew）：按图像的一阶矩把质心移到中心，并按二阶矩做剪切，使主轴竖直；"},
    "ablation.ink size": {
        "en": "size normalisation: the ink is scaled to a vertical spread of {ink_size:g} "
              "pixels (standard deviation of the ink's rows);",
        "zh": "尺寸归一化：把笔迹缩放到竖直方向的标准差为 {ink_size:g} 像素；"},
    "ablation.blur": {
        "en": "blur: a Gaussian of σ = {blur_sigma:g} pixels, so that a stroke one pixel "
              "off still meets the template;",
        "zh": "模糊：σ = {blur_sigma:g} 像素的高斯模糊，使偏移一个像素的笔画仍能与模板重合；"},
    "ablation.optimizer": {
        "en": "SGD with momentum {momentum:g}, η {lr:g} decaying linearly to η/{epochs} "
              "over {epochs} epochs, batch {batch_size}.",
        "zh": "SGD，动量 {momentum:g}，学习率 {lr:g} 在 {epochs} 轮内线性衰减到 η/{epochs}，"
              "批大小 {batch_size}。"},
    "ablation.no-deskew": {"en": "deskewing", "zh": "倾斜校正"},
    "ablation.no-ink-size": {"en": "size normalisation", "zh": "尺寸归一化"},
    "ablation.no-blur": {"en": "the blur", "zh": "高斯模糊"},
    "ablation.no-decay": {"en": "the decaying rate", "zh": "学习率衰减"},
    "ablation.no-transform": {"en": "all three image transforms", "zh": "全部三种图像变换"},
    "ablation.full": {"en": "full preset", "zh": "完整预设"},
    "ablation.without": {"en": "without {part}", "zh": "去掉{part}"},
    "ablation.caption": {
        "en": "Ablation of the preset on the validation split ({seeds} seeds, {epochs} epochs; "
              "each variant switches off one part); the change and its verdict follow the "
              "method's rule, paired by seed and image.",
        "zh": "预设 best 的消融实验（验证集，{seeds} 个种子，{epochs} 轮；每行去掉一个部分）；"
              "变化及其判断按方法部分的规则，按种子、按图像成对比较。"},

    # ---- a sweep's grid (sections.py) -----------------------------------------------------
    "grid": {"en": "The grid", "zh": "参数网格"},
    "grid.caption": {"en": "Every setting of the grid (mean ± sd over seeds); the test split only for the "
                           "best on validation.",
                     "zh": "网格中的每个设置（种子均值 ± 标准差）；测试集只用于验证集上最好的设置。"},
    "grid.intro": {"en": "@tab-grid lists every setting of the grid", "zh": "@tab-grid 列出网格中的每个设置"},
    "grid.intro.figure": {"en": ", @fig-grid shows them.", "zh": "，@fig-grid 给出图示。"},
    "grid.sweep figure": {"en": "Validation accuracy per epoch and final, against the swept setting.",
                          "zh": "每轮与最终的验证准确率随扫描参数的变化。"},
    "grid.bars figure": {"en": "Final validation accuracy per setting (mean, sd as the error bar).",
                         "zh": "每个设置的最终验证准确率（均值，误差线为标准差）。"},
    "grid.time caption": {
        "en": "Training time of one epoch (no validation pass) for each batch size and kind of "
              "optimizer in the grid: {rounds} epochs each, "
              "interleaved after a warm-up. Settings that differ only in the learning rate take the "
              "same time per epoch.",
        "zh": "网格中每种批大小与优化器组合的单轮训练时间（不含验证）：预热后各 "
              "{rounds} 轮交替测量。只有学习率不同的设置每轮耗时相同。"},
    "grid.time": {"en": "@tab-grid-time gives the time per epoch", "zh": "每轮耗时见 @tab-grid-time"},
    "grid.time.stacked": {"en": "; settings trained together in one pass have no time of their own.",
                          "zh": "；在同一遍训练中一起计算的设置没有各自的耗时。"},

    # ---- what the model learned (sections.py) ---------------------------------------------
    "model": {"en": "What the model learned", "zh": "模型学到了什么"},
    "model.intro": {"en": "The saved model (model.npz) is {run}. Its weights, its "
                          "test confusion matrix and its most confident mistakes:",
                    "zh": "保存的模型（model.npz）是{run}。下面是它的权重、测试集混淆矩阵和置信度最高的错误："},
    "model.weights": {"en": "The ten weight templates (columns of W), one colour scale centred "
                            "at 0: red raises the class's score, blue lowers it.",
                      "zh": "十个权重模板（W 的各列），以 0 为中心的同一色标：红色提高该类得分，蓝色降低。"},
    "model.confusion": {"en": "Test confusion matrix (counts; off-diagonal colour: the fraction of "
                              "the true class).",
                        "zh": "测试集混淆矩阵（计数；非对角线颜色为占该真实类别的比例）。"},
    "model.confusions": {"en": "The three most frequent confusions on the test split, each with its most "
                               "confident examples.",
                         "zh": "测试集上最常见的三种错误，每种给出置信度最高的几个例子。"},
    "model.mistakes": {"en": "The most confident mistakes on the test split: true class, prediction and "
                             "its probability.",
                       "zh": "测试集上置信度最高的错误：真实类别、预测类别及其概率。"},
    "figure reference": {"en": "@{label}: ", "zh": "@{label}："},

    # ---- the figures' words (visualize.py) ------------------------------------------------
    "figure.epoch": {"en": "epoch", "zh": "轮次 (epoch)"},
    "figure.loss": {"en": "loss", "zh": "损失"},
    "figure.accuracy": {"en": "accuracy", "zh": "准确率"},
    "figure.train_loss": {"en": "training loss (running, per epoch)", "zh": "训练损失（轮内平均）"},
    "figure.val_loss": {"en": "validation loss", "zh": "验证损失"},
    "figure.train_acc": {"en": "training accuracy (running)", "zh": "训练准确率（轮内平均）"},
    "figure.val_acc": {"en": "validation accuracy", "zh": "验证准确率"},
    "figure.final_val_acc": {"en": "final validation accuracy", "zh": "最终验证准确率"},
    "figure.lr": {"en": "learning rate", "zh": "学习率"},
    "figure.batch_size": {"en": "batch size", "zh": "批大小"},
    "figure.epoch_time": {"en": "seconds per epoch (median)", "zh": "每轮耗时（秒，中位数）"},
    "figure.fixed_lr": {"en": "learning rate 0.01 for every batch size", "zh": "所有批大小均用学习率 0.01"},
    "figure.scaled_lr": {"en": "learning rate 0.01 x batch / 100", "zh": "学习率按 0.01 × 批大小 / 100 缩放"},
    "figure.spread": {"en": "band: lowest to highest of {n} seeds", "zh": "阴影：{n} 个种子的最小值到最大值"},
    "figure.class": {"en": "class {c}", "zh": "类别 {c}"},
    "figure.weight": {"en": "weight", "zh": "权重"},
    "figure.true": {"en": "true class", "zh": "真实类别"},
    "figure.pred": {"en": "predicted class", "zh": "预测类别"},
    "figure.row_fraction": {"en": "fraction of the true class", "zh": "占该真实类别的比例"},
    "figure.confusion": {"en": "test confusion matrix: {n:,} images, accuracy {acc:.4f}", "zh": "测试集混淆矩阵：{n:,} 张图像，准确率 {acc:.4f}"},
    "figure.example": {"en": "true {t} / pred {p}\np={prob:.3f}", "zh": "真 {t} / 预测 {p}\np={prob:.3f}"},
    "figure.diverged": {"en": "diverged", "zh": "发散"},
    "figure.confused": {"en": "true {t}, read as {p}", "zh": "真 {t}，判为 {p}"},
}


def phrase(lang: str, key: str, **fields) -> str:
    """The phrase ``key`` in ``lang`` ("zh" or "en"), its ``{fields}`` filled in."""
    return PHRASES[key]["zh" if lang == "zh" else "en"].format(**fields)
