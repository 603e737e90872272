"""The report's own words in Chinese: the title, headings, captions, table headers, the
method's paragraphs, the setup, the summary, the appendix and the figures' labels (a finding's
sentence, which depends on the numbers, is phrases_zh.py's). words_en.py has the same keys with
the same ``{fields}``, filled in by wording.say."""

WORDS: dict[str, str] = {
    # ---- the document ---------------------------------------------------------------------
    "title.study": "MNIST 手写数字的 Softmax 回归：实验报告",
    "title.sweep": "MNIST 手写数字的 Softmax 回归：参数扫描报告",
    "subtitle": "softmax-mnist {stamp} · 随机种子 {seeds} · 数据：{data}",
    "full stop": "。",
    # a reference as Typst writes it, "Figure 3" / "图 3", also in report.md (typeset.to_markdown)
    "reference.fig": "图",
    "reference.tab": "表",
    "reference.eq": "式",
    "reference.code": "代码",

    # ---- summary --------------------------------------------------------------------------
    "summary": "摘要",
    "summary.sweep": "用户参数扫描的结果；下面所有选择都基于验证集。",
    "summary.above": "比普通 SGD 高 {points} 个百分点，超过噪声界",
    "summary.below": "比普通 SGD 低 {points} 个百分点，超过噪声界",
    "summary.within": "与普通 SGD 相差 {points} 个百分点，在噪声范围内",
    "summary.momentum": "在课程设置下，动量 0.9 的验证准确率{verdict}",
    "summary.matched": "；而有效步长 η/(1−μ) 相同的普通 SGD 与它在噪声范围内，可见收益来自更大的步长。",
    "summary.best": (
        "预设 best（在验证集上搜索选出：图像做倾斜校正、尺寸归一化和模糊，学习率线性衰减，仍是线性模型）"
        "的测试准确率为 {accuracy}。"),
    "summary.table": "最终模型的准确率见 @tab-summary。",
    "summary.caption": (
        "最终模型的准确率（多个种子的均值 ± 标准差）；训练准确率是训练结束后在 {n_train:,} 张训练图像上"
        "重新测量的。测试集只用于这几个模型。"),

    # ---- names in tables and legends ------------------------------------------------------
    "final model": "最终模型",
    "train accuracy": "训练准确率",
    "validation": "验证准确率",
    "test": "测试准确率",
    "test split": "测试",
    "optimizer": "优化器",
    "setting": "设置",
    "batch": "批大小",
    "val. accuracy": "验证准确率",
    "train. loss": "训练损失",
    "final training loss": "最终训练损失",
    "epochs to": "达到 {threshold:.2f} 的轮数",
    "s per epoch": "每轮秒数（中位数）",
    "quartiles": "四分位数",
    "µs per update": "每次更新微秒数",
    "updates per epoch": "每轮更新数",
    "val. acc. fixed": "验证准确率（η 0.01）",
    "scaled η": "缩放后 η",
    "val. acc. scaled": "验证准确率（缩放）",
    "s/epoch": "每轮秒数",
    "variant": "变体",
    "change": "变化（百分点）",
    "by the rule": "按规则",
    "beyond noise": "超过噪声界",
    "within noise": "在噪声范围内",
    "diverged": "发散",
    "diverged of": "发散（{diverged}/{seeds}）",
    "plain SGD": "普通 SGD",
    "momentum": "动量 {momentum:g}",
    "nesterov": "Nesterov {momentum:g}",
    "plain SGD, equal step": "普通 SGD，等有效步长",
    "momentum, equal step": "动量 0.9，等有效步长",
    "plain SGD, large step": "普通 SGD，大步长对照",
    "course settings": "，课程设置",
    "preset best": "预设 best，{epochs} 轮",
    "momentum at": "动量 0.9，η {lr:g}",
    "plain SGD at": "普通 SGD，η {lr:g}",
    "reference run": "本实验的参考运行",
    "run": "{setting}，随机种子 {seed}",

    # ---- setup ----------------------------------------------------------------------------
    "setup": "实验设置",
    "setup.data": (
        "数据：MNIST，训练文件的前 {n_train:,} 张用于训练，后 {n_val:,} 张用于验证（所有选择都依据验证集），"
        "{n_test:,} 张测试图像只用于报告最终模型。"),
    "setup.preprocess": (
        "预处理（{preprocess}）：像素缩放到 [0, 1]，再减去每张图像自身的均值。"
        "初始化：W、b ~ Normal(0, √(4/(784+10)))，与课程一致。"),
    "setup.seeds": (
        "随机种子 {seeds}：种子决定初始权重和小批量的顺序；同一个种子下所有设置从相同的权重出发、"
        "看到相同的批次。"),
    "setup.stacked": (
        "只有优化器参数（学习率、动量）不同的设置在同一遍训练中一起计算，它们看到的小批量完全相同；"
        "因此单个设置没有自己的训练时间，本报告中的所有时间都来自单独的交替测量。"),

    # ---- appendix -------------------------------------------------------------------------
    "appendix": "附录：机器与耗时",
    "appendix.machine": (
        "机器：{cpu}，{cores} 核；Python {python}，NumPy {numpy}，Typst（Python 包）{typst}。"
        "训练（全部运行，含每轮验证与最终评估）用时 {train_seconds:.0f} 秒；计时测量 "
        "{timing_seconds:.0f} 秒；不含读取数据和生成报告的时间。"),
    "appendix.busy": (
        "测量时机器并非空闲：开始训练时的 1 分钟平均负载（可运行的进程数）为 {at_training:.1f}，"
        "开始计时测量时为 {at_timing:.1f}，而机器只有 {cores} 个核；在空闲的机器上时间会更短，"
        "交替测量得到的时间之比比时间本身更稳定。"),
    "appendix.quiet": (
        "测量时机器上没有其他任务：开始训练时的 1 分钟平均负载（可运行的进程数）为 {at_training:.1f}，"
        "开始计时测量时为 {at_timing:.1f}（含本次训练自身）。"),
    "appendix.fonts": "中文字体：正文 {serif}，标题与图 {sans}。",

    # ---- method (method.py) ---------------------------------------------------------------
    "method": "方法",
    "method.model": "模型与损失函数",
    "method.softmax": (
        "每张图像展开为 D = 784 维的行向量 x；模型为 C = 10 个类别各给出一个得分（logit），"
        "再用 softmax 把得分变成概率。对一个小批量 X（N × D），参数 W（D × C）和 b（1 × C）："),
    "method.loss": "损失是预测概率与真实标签 $y_i$ 之间的平均交叉熵（Y 为标签的 one-hot 矩阵）：",
    "method.gradient": "梯度推导",
    "method.derivation": (
        "由 @eq-softmax 和 @eq-ce 求梯度。对单个样本，$log p_(i c) = z_(i c) - log sum_(k=1)^C e^(z_(i k))$，因此 "
        "$(partial (-log p_(i, y_i))) / (partial z_(i c)) = p_(i c) - Y_(i c)$：log-sum-exp 的导数正是 "
        "softmax 本身，真实类别处再减去 1。对 N 个样本取平均，再沿 Z = XW + b 用链式法则，其中 "
        "$(partial z_(i c)) / (partial W_(d c)) = x_(i d)$，$(partial z_(i c)) / (partial b_c) = 1$："),
    "method.mean": (
        "即 ∂L/∂b 是 (P − Y)/N 的列和。除以 N 使其成为平均损失的梯度，"
        "这样每次更新的步长不会随批大小成倍变化。"),
    "method.stable": "数值稳定的 log-softmax",
    "method.overflow": (
        "在 float32 中，z > 88.7 时 $e^z$ 就溢出为无穷大，而学习率较大或训练较久时这样大的 logit 并不少见；"
        "log(softmax + ε) 的写法还会丢失很小的概率。减去每行的最大值 $m_i$ 在数学上不改变结果"
        "（分子分母同时约去），却让所有指数都 ≤ 0，即 @eq-logsoftmax："),
    "method.check": (
        "梯度检验：在保存的模型（model.npz）和 {images} 张测试图像上，用 float64 把 @eq-grad 的解析梯度"
        "与中心差分（h = 10⁻⁵）比较，检查 W 中随机的 {entries} 个元素和 b 的全部 10 个元素。"
        "每个元素的误差取 |a − n| / max(|a|, |n|, 10⁻⁶)：一般元素看相对误差；小于 10⁻⁶ 的元素看绝对误差，"
        "因为中心差分本身的舍入误差约为 10⁻¹¹，除以一个很小的梯度会被误当成公式错误。"
        "最大误差为 {worst:.1e}，中位数为 {median:.1e}"),
    "method.check.far below": "，远低于提示公式可能有误的 10⁻⁵。",
    "method.check.below": "，低于提示公式可能有误的 10⁻⁵。",
    "method.check.above": "，超过 10⁻⁵，公式需要检查。",
    "method.check.impl": (
        "保存的模型由 {name}/ 中的类训练；上面的检验是在其权重上检验 @eq-grad，"
        "而不是检验他们的 `gradient_computing`：后者由 `softmax-mnist check {name}` "
        "与中心差分比较。"),
    "method.momentum": "动量",
    "method.heavy ball": "带 heavy-ball 动量的 SGD 为每个参数保留一个速度 v；μ = 0 时即普通 SGD：w ← w − ηg。",
    "method.effective step": (
        "在梯度变化缓慢的方向上，速度趋于几何级数 −ηg(1 + μ + μ² + …) = −ηg/(1 − μ)："
        "同样的 η 下，动量 0.9 每步走的距离是普通 SGD 的十倍。η/(1 − μ) 称为有效步长"),
    "method.effective step.end": "。",
    "method.effective step.controls": "，这正是下面的动量实验要加入“等有效步长”对照的原因。",
    "method.key code": "关键代码",
    "method.key code.course": (
        "课程要求的三个函数按课程的写法给出（@code-key）：`forward` 计算 logit、@eq-logsoftmax 的稳定 "
        "log-softmax、平均交叉熵和准确率，并留下 X、P、Y 供反向传播使用；`gradient_computing` 按 @eq-grad "
        "计算梯度；`step` 按 @eq-momentum 更新参数，速度在各步之间保留。这段代码位于 "
        "softmax_mnist/study/report/keycode.py，生成报告时直接从该文件读取。实际训练用的是同一组公式的更快实现"
        "（core/functional.py、core/model.py、core/optimizer.py）；tests/test_keycode.py 检验两者给出的损失、"
        "准确率、梯度和带动量的更新在 float32 舍入误差内一致。"),
    "method.key code.caption": "forward、gradient_computing 与 SGD.step（softmax_mnist/study/report/keycode.py）。",
    "method.impl": (
        "本实验使用 {name}/ 中的实现：每次训练都在课程的训练循环中使用其中的 "
        "`SoftmaxCrossEntropyLoss`（loss.py）和 `SGD`（optimizer.py），小批量与初始权重与参考实现相同；"
        "验证与测试结果在其训练得到的权重上测量。下面是其中的三个函数，即实验时复制的版本"
        "（实验文件夹中的 impl/）。报告中的训练时间是参考实现单独测量的时间。"),
    "method.impl.reference": (
        "课程的 `SGD(model, learning_rate, momentum)` 没有对应参数的设置（{settings}）"
        "改用参考实现的 SGD 训练。"),
    "method.impl.forward": "forward（{name}/loss.py）。",
    "method.impl.backward": "gradient_computing（{name}/loss.py）。",
    "method.impl.step": "SGD.step（{name}/optimizer.py）。",

    # ---- the study's sections (sections.py) -----------------------------------------------
    "curves": "(a) 训练与测试准确率",
    "curves.intro": (
        "@fig-curves 给出课程两个设置（批大小 100、学习率 0.01、{epochs} 轮）每轮的训练损失和准确率："
        "不带动量与动量 0.9。"),
    "curves.caption": (
        "每轮的损失（左）与准确率（右）：训练（实线，轮内平均）与验证（虚线），{seeds} 个种子的均值，"
        "阴影为最低到最高的种子。"),
    "momentum.heading": "(b) 有无动量的比较",
    "momentum.intro": "@tab-momentum 列出动量设置及其对照，@fig-momentum 给出它们的验证曲线",
    "momentum.intro.time": "，@tab-time 给出训练时间。",
    "momentum.caption": (
        "动量及其对照（批大小 100、{epochs} 轮）：验证准确率首次达到各阈值的轮数（种子中位数；– 为未达到，"
        "括号内为达到的种子数）、最终验证准确率（均值 ± 标准差）和最后一轮的训练损失（均值）。"),
    "momentum.figure": (
        "每轮验证准确率（均值与种子范围）。左：η = 0.01 时的普通 SGD、动量 0.9 与 Nesterov。"
        "右：各自与其等有效步长对照（虚线）比较，成对的两条线 η/(1−μ) 相同。"),
    "time.caption": (
        "训练时间：批大小 {batch} 下一轮 {n_train:,} 张图像（不含验证），预热后各 {rounds} 轮交替测量，"
        "给出中位数与四分位数；以及在 784 × 10 模型上单独测量的一次参数更新。只保留两位有效数字："
        "在共用的机器上重测一次的差别可能更大；各行按固定顺序排列，不是排名。"),
    "settings": "(c) 学习率、批大小及其他设置的影响",
    "lr": "学习率",
    "lr.intro": "{rates} 个学习率，均配合动量 0.9、各 {seeds} 个种子：见 @tab-lr 和 @fig-lr。",
    "lr.caption": "学习率（动量 0.9、批大小 100、{epochs} 轮），{seeds} 个种子的均值 ± 标准差。",
    "lr.figure": "学习率：每轮验证准确率（左）与最终验证准确率的均值 ± 标准差（右）。",
    "batch.heading": "批大小",
    "batch.intro": "{sizes} 个批大小，分别用固定学习率和随批大小缩放的学习率（@tab-batch、@fig-batch）",
    "batch.intro.heatmap": "，以及所有学习率与批大小的组合（@fig-heatmap）。",
    "batch.caption": (
        "批大小（动量 0.9、{epochs} 轮）：固定 η = 0.01 与 η = 0.01 × B/100 两种情况，"
        "种子均值 ± 标准差；每轮秒数为交替测量的中位数。"),
    "batch.figure": "批大小：固定与缩放学习率下的最终验证准确率（左，均值 ± 标准差）及每轮耗时（右，中位数与四分位数）。",
    "heatmap.seeds": "{seeds} 个种子的均值",
    "heatmap.one seed": "单个种子",
    "heatmap.figure": "各学习率与批大小组合的最终验证准确率（{seeds}；动量 0.9，{epochs} 轮），粗体为最高值。",
    "ablation": "预设 best 及各部分的作用",
    "ablation.intro": (
        "模型仍是 784 个像素上的线性 softmax 回归；改变的是输入图像和学习率的安排。各项取值来自验证集上的两阶段搜索"
        "（benchmarks/preset_search.py，种子 0–2，结果表见 benchmarks/README.md）：先在一组固定的优化设置下比较 "
        "11 种图像变换组合，再在最好的变换上比较 8 组优化设置；测试集只在最后读取一次。预设的内容是："),
    "ablation.deskew": "倾斜校正（deskew）：按图像的一阶矩把质心移到中心，并按二阶矩做剪切，使主轴竖直；",
    "ablation.ink size": "尺寸归一化：把笔迹缩放到竖直方向的标准差为 {ink_size:g} 像素；",
    "ablation.blur": "模糊：σ = {blur_sigma:g} 像素的高斯模糊，使偏移一个像素的笔画仍能与模板重合；",
    "ablation.optimizer": (
        "SGD，动量 {momentum:g}，学习率 {lr:g} 在 {epochs} 轮内线性衰减到 η/{epochs}，"
        "批大小 {batch_size}。"),
    "ablation.no-deskew": "倾斜校正",
    "ablation.no-ink-size": "尺寸归一化",
    "ablation.no-blur": "高斯模糊",
    "ablation.no-decay": "学习率衰减",
    "ablation.no-transform": "全部三种图像变换",
    "ablation.full": "完整预设",
    "ablation.without": "去掉{part}",
    "ablation.caption": (
        "预设 best 的消融实验（验证集，{seeds} 个种子，{epochs} 轮；每行去掉一个部分）；"
        "变化及其判断按方法部分的规则，按种子、按图像成对比较。"),

    # ---- a sweep's grid (sections.py) -----------------------------------------------------
    "grid": "参数网格",
    "grid.caption": "网格中的每个设置（种子均值 ± 标准差）；测试集只用于验证集上最好的设置。",
    "grid.intro": "@tab-grid 列出网格中的每个设置",
    "grid.intro.figure": "，@fig-grid 给出图示。",
    "grid.sweep figure": "每轮与最终的验证准确率随扫描参数的变化。",
    "grid.bars figure": "每个设置的最终验证准确率（均值，误差线为标准差）。",
    "grid.time caption": (
        "网格中每种批大小与优化器组合的单轮训练时间（不含验证）：预热后各 "
        "{rounds} 轮交替测量。只有学习率不同的设置每轮耗时相同。"),
    "grid.time": "每轮耗时见 @tab-grid-time",
    "grid.time.stacked": "；在同一遍训练中一起计算的设置没有各自的耗时。",

    # ---- what the model learned (sections.py) ---------------------------------------------
    "model": "模型学到了什么",
    "model.intro": "保存的模型（model.npz）是{run}。下面是它的权重、测试集混淆矩阵和置信度最高的错误：",
    "model.weights": "十个权重模板（W 的各列），以 0 为中心的同一色标：红色提高该类得分，蓝色降低。",
    "model.confusion": "测试集混淆矩阵（计数；非对角线颜色为占该真实类别的比例）。",
    "model.confusions": "测试集上最常见的三种错误，每种给出置信度最高的几个例子。",
    "model.mistakes": "测试集上置信度最高的错误：真实类别、预测类别及其概率。",
    "figure reference": "@{label}：",

    # ---- the figures' words (visualize.py) ------------------------------------------------
    "figure.epoch": "轮次 (epoch)",
    "figure.loss": "损失",
    "figure.accuracy": "准确率",
    "figure.train_loss": "训练损失（轮内平均）",
    "figure.val_loss": "验证损失",
    "figure.train_acc": "训练准确率（轮内平均）",
    "figure.val_acc": "验证准确率",
    "figure.final_val_acc": "最终验证准确率",
    "figure.lr": "学习率",
    "figure.batch_size": "批大小",
    "figure.epoch_time": "每轮耗时（秒，中位数）",
    "figure.fixed_lr": "所有批大小均用学习率 0.01",
    "figure.scaled_lr": "学习率按 0.01 × 批大小 / 100 缩放",
    "figure.spread": "阴影：{n} 个种子的最小值到最大值",
    "figure.class": "类别 {c}",
    "figure.weight": "权重",
    "figure.true": "真实类别",
    "figure.pred": "预测类别",
    "figure.row_fraction": "占该真实类别的比例",
    "figure.confusion": "测试集混淆矩阵：{n:,} 张图像，准确率 {acc:.4f}",
    "figure.example": "真 {t} / 预测 {p}\np={prob:.3f}",
    "figure.diverged": "发散",
    "figure.confused": "真 {t}，判为 {p}",
}
