// The two pages' words in Chinese (the default, the course's language) and English, and the
// switch between them. t(key, ...args) is a string (or the result of a function of args);
// elements with data-i18n="key" get its text, data-i18n-attr="attr:key;attr:key" attributes.
// The choice is remembered (localStorage) and sets <html lang>; ?lang=en in the URL wins once.
"use strict";

const LANG_KEY = "softmax-mnist.lang";

const STRINGS = {
  zh: {
    // both pages
    "lang.switch": "English",
    "lang.switchLabel": "Switch to English（切换为英文）",
    "draw.clear": "清除",
    "draw.hint": "在方框里写一个数字（0–9），写大一些。",
    "draw.pad": "画板：写一个数字",
    "draw.prediction": "预测",
    "draw.bars": "每个数字的概率",
    "draw.seen": "模型看到的图像（28×28）",
    "draw.seenEmpty": "写好后，这里显示模型看到的 28×28 图像",
    "draw.noAnswer": (m) => `服务器没有回应（${m}）`,
    "draw.template": (d) => `数字 ${d} 的权重模板`,
    "err.413": "图片太大了：请上传小一些的图片。",
    "err.422": "没有找到数字：请写得大一些、清楚一些。",
    "err.503": "服务器正忙（同时在读别的图片），请稍后再试。",
    "err.404": "没有这个运行（训练场只保留最近几次运行）。",
    "err.400": (m) => `无法读取这张图片：${m}`,
    "err.other": (m) => `服务器拒绝了请求：${m}`,
    // draw page
    "index.title": "softmax-mnist：写一个数字",
    "index.h1": "写一个数字",
    "index.toPlayground": "去训练场：自己训练一个模型 →",
    "index.templatesTitle": "模型的十个权重模板",
    "index.templatesNote": "红色：那里有笔画会提高这个数字的得分；蓝色：会降低得分。得分最高的数字加框。点击图片可放大。",
    // playground
    "pg.title": "softmax-mnist 训练场",
    "pg.h1": "softmax-mnist 训练场",
    "pg.lede": "在 MNIST 上训练 softmax 回归，边训练边看。改一个设置，点“训练”，再比较：之前的运行都留在图上。",
    "pg.toDraw": "← 写数字页（已加载的模型）",
    "pg.settings": "设置",
    "pg.help": (name) => `“${name}”是什么？`,
    "set.lr": "学习率",
    "set.momentum": "动量",
    "set.nesterov": "Nesterov 动量",
    "set.weight_decay": "权重衰减",
    "set.batch_size": "批大小",
    "set.epochs": "轮次（epoch）",
    "set.preprocess": "预处理",
    "set.lr_decay": "学习率衰减",
    "set.seed": "随机种子",
    "set.slow": "慢动作：每轮至少一秒",
    "opt.course": "课程：x/255 − 图像自身均值",
    "opt.unit": "单位化：x/255",
    "opt.standardize": "标准化：(x/255 − μ) / σ",
    "opt.best": "最佳预设：校正倾斜、统一大小、模糊",
    "opt.none": "不衰减",
    "opt.linear": "线性衰减，最后一轮降到 1/轮次",
    "help.lr": "每一步沿梯度反方向走多远：w ← w − 学习率 × 梯度。课程用 0.01。太小学得慢；太大（如 100）损失会很高甚至发散。",
    "help.momentum": "把之前各步的梯度累积成“速度”：v ← 动量 × v + 梯度，w ← w − 学习率 × v。课程比较 0 与 0.9；0.9 时有效步长约为 学习率/(1−动量) = 10 倍。",
    "help.nesterov": "先按速度“向前看”一步，再在那里算梯度。需要动量大于 0。",
    "help.weight_decay": "每一步把权重往 0 拉一点（L2 正则化），防止权重过大。课程中为 0。",
    "help.batch_size": "每一步用多少张图片的平均梯度。课程用 100：55,000 张训练图片一轮就是 550 步。批越大，每轮的步数越少。",
    "help.epochs": "把 55,000 张训练图片完整过一遍叫一轮。课程训练 10 轮。",
    "help.preprocess": "图片送进模型之前怎样变换。课程的做法：像素除以 255，再减去这张图自己的均值。",
    "help.lr_decay": "线性衰减：第 e 轮（共 E 轮）的学习率是 学习率 × (E − e + 1)/E，越到后面步子越小。",
    "help.seed": "决定初始权重和每轮的打乱顺序。相同的种子和设置得到完全相同的结果。",
    "help.slow": "让每轮至少一秒，方便看清曲线的变化；关掉则全速训练。",
    "btn.train": "训练",
    "btn.pause": "暂停",
    "btn.resume": "继续",
    "btn.step": "再训练一轮",
    "btn.stepTitle": "继续训练到这一轮结束，然后再次暂停",
    "btn.stop": "停止",
    "btn.defaults": "课程默认设置",
    "btn.remove": "删除",
    "btn.removeLabel": (name) => `从比较中删除运行 ${name}`,
    "btn.close": "关闭",
    "msg.defaults": "已填入课程的默认设置。",
    "msg.best": "已填入最佳预设的设置，可以再修改。",
    "msg.starting": "正在开始……",
    "msg.training": (id, e, n) => `运行 #${id} 正在训练：第 ${e} 轮，共 ${n} 轮。`,
    "msg.loading": (id) => `运行 #${id}：正在读取并准备 MNIST……`,
    "msg.paused": (id, e, n) => `运行 #${id} 已暂停（第 ${e} 轮，共 ${n} 轮）。点“继续”接着训练，或点“再训练一轮”。`,
    "msg.stopping": (id) => `正在停止运行 #${id}……`,
    "msg.live": (loss, seen) => `当前损失 ${loss}，已看过 ${seen} 张训练图片。`,
    "msg.ended": (id, what) => `运行 #${id}：${what}`,
    "msg.reconnected": "已重新连接到服务器。",
    "msg.lost": "与服务器的连接断开了，正在重连……",
    "msg.noServer": (m) => `服务器没有回应（${m}）`,
    "msg.copied": "这次运行的设置已写进地址栏：复制链接即可分享。",
    "err.setting": (name, rule) => `${name}：${rule}`,
    "err.busy": (id) => `运行 #${id} 正在训练，本服务器一次只训练一个运行：等它结束或点“停止”，再点“训练”。`,
    "err.idle": "现在没有正在训练的运行。",
    "err.no_run": (id) => `没有运行 #${id}。`,
    "err.remove_training": (id) => `运行 #${id} 正在训练：先停止它再删除。`,
    "err.no_data": (dir) => `这里还没有 MNIST（${dir}）。在终端运行 softmax-mnist download --data-dir "${dir}"，再点“训练”。`,
    "err.diverged": (id) => `运行 #${id} 发散了，没有可用的权重：选一个其他运行再写数字。`,
    "err.no_weights": (id) => `运行 #${id} 还没有权重（正在读取数据）：稍等片刻。`,
    "err.pages": (n) => `本服务器已打开 ${n} 个页面：关掉一个再刷新。`,
    "rule.lr": "必须是大于 0 的数，例如 0.01",
    "rule.momentum": "必须在 0 到 1 之间（不含 1），例如 0.9",
    "rule.nesterov": "Nesterov 需要动量大于 0，例如动量 0.9",
    "rule.weight_decay": "必须是不小于 0 的数",
    "rule.batch_size": (max) => `必须是 1 到 ${max} 之间的整数`,
    "rule.epochs": (max) => `必须是 1 到 ${max} 之间的整数（随时可以停止）`,
    "rule.seed": "必须是不小于 0 的整数",
    "rule.preprocess": "请从列表中选择",
    "rule.lr_decay": "请从列表中选择",
    "rule.slow": "请勾选或取消",
    "nodata": (m) => `这里还没有 MNIST。${m}`,
    "runs.title": "各次运行",
    "runs.note": (n) => `保留最近 ${n} 次运行用于比较。选中一次运行可查看它的权重、测试结果和写数字面板；取消“显示”可把它从图上隐藏；“删除”会把它从所有页面移除。`,
    "runs.show": "显示",
    "runs.run": "运行",
    "runs.trainLoss": "训练损失",
    "runs.valAcc": "验证准确率",
    "runs.testAcc": "测试准确率",
    "runs.none": "还没有运行：点“训练”。",
    "runs.showLabel": (name) => `在图上显示运行 ${name}`,
    "runs.download": "下载 model.npz",
    "runs.downloadTitle": (id) => `把运行 #${id} 下载为 model.npz（softmax-mnist predict 和 evaluate 可以读取）`,
    "status.training": (e, n) => `训练中：第 ${e} 轮，共 ${n} 轮`,
    "status.paused": (e, n) => `已暂停：第 ${e} 轮，共 ${n} 轮`,
    "status.done": (n) => `完成，${n} 轮`,
    "status.stopped": (e, s) => `在第 ${e} 轮第 ${s} 步停止`,
    "status.loaded": "模型文件",
    "status.loading": "正在读取 MNIST……",
    "status.waiting": "等待中",
    "status.diverged": (e) => `第 ${e} 轮发散`,
    "status.failed": (m) => `失败：${m}`,
    "status.test": (a) => ` · 测试 ${a}`,
    "diverge.mean": (e, loss, limit, f) =>
      `第 ${e} 轮的平均训练损失 ${loss} 超过了 ${limit}，判为发散。这个界限是 ${f} × ln 10：均匀猜测（每个数字 10%）的损失是 ln 10 ≈ 2.30，损失比它的 ${f} 倍还高，说明学习率太大，权重已经失控。`,
    "diverge.nan": (e) => `第 ${e} 轮中某一步的损失变成了无穷大或 NaN，判为发散：学习率太大，权重已经失控。`,
    "diverge.advice": (lr) => `试试更小的学习率，例如 ${lr}。`,
    "diverge.wd": (wd) => `或者更小的权重衰减，例如 ${wd}。`,
    "warn.highLoss": (id, loss, acc, course, limit) =>
      `注意：运行 #${id} 的训练损失是 ${loss}，远高于课程设置能达到的 ${course}，甚至高于均匀猜测（每个数字 10%）的 ln 10 ≈ 2.30，尽管准确率（${acc}）看起来还不错。学习率太大：权重被推得很大，模型对它的每个答案都极其自信，答错时损失就非常大。损失超过 ${limit} 才会判为发散，所以这次运行没有被停下。试试小一些的学习率。`,
    "charts.label": "实时曲线",
    "charts.hint": "点“训练”：每次运行的曲线会边训练边画在这里。",
    "charts.loss": "损失：训练（实线）与验证（虚线，每轮结束时）",
    "charts.valLoss": "验证",
    "charts.acc": "每轮结束时的验证准确率",
    "charts.log": "损失用对数坐标",
    "charts.lossAxis": "损失",
    "charts.accAxis": "验证准确率",
    "charts.epoch": "轮次",
    "charts.lossAria": "每次运行的训练损失和验证损失曲线",
    "charts.accAria": "每次运行的验证准确率曲线",
    "charts.clipped": (list) => `超出纵轴、在顶部截断（▲ 标出）：${list}。其余曲线保持原来的比例。`,
    "charts.tipEpoch": (x) => `第 ${x} 轮`,
    "sel.title": "运行",
    "sel.none": "还没有运行：点“训练”。",
    "sel.templates": "十个权重模板",
    "sel.templatesNote": "红色：那里有笔画会提高这个数字的得分；蓝色：会降低得分。每轮结束时重画；训练开始前是随机的初始权重。点击可放大。",
    "sel.samples": "验证集里的数字，以及模型的预测",
    "sel.samplesNote": "验证集中每个数字各取一张，显示模型看到的样子和每轮结束后的预测（仅限在这里训练的运行）。",
    "sel.sampleAlt": (d, p) => (p === undefined ? `数字 ${d}，还没有预测` : `数字 ${d}，预测为 ${p}`),
    "sel.test": "测试集",
    "sel.testPending": "运行结束后显示测试准确率和混淆矩阵。",
    "sel.testNone": "这次运行发散了，没有测试结果。",
    "sel.testAcc": "测试准确率",
    "sel.testLoss": (loss) => `（损失 ${loss}，10,000 张图片）`,
    "sel.confusion": "混淆矩阵：行是真实数字，列是预测的数字",
    "sel.mistakes": "模型最有把握却答错的测试图片",
    "sel.mistakesNote": "每张：模型看到的图像，然后是它选的数字的证据和正确数字的证据（像素值 × 权重：红色推向这个数字，蓝色推离）。点击可放大。",
    "sel.mistake": (t, p, prob) => `真实 ${t}，预测 ${p}（${prob}）`,
    "sel.seenShort": "模型所见",
    "sel.evChosen": (p) => `${p} 的证据`,
    "sel.evTrue": (t) => `${t} 的证据`,
    "why.title": "为什么是这个数字？",
    "why.note": "为选中的运行写一个数字。证据图显示每个像素的值乘以它的权重：红色把得分推向这个数字，蓝色推离；它们的和加上偏置就是得分。",
    "why.noRun": "还没有可以问的运行：先点“训练”。",
    "why.diverged": "选中的运行发散了，没有可用的权重：请选另一个运行。",
    "why.loading": "选中的运行还在读取数据，权重一到就会读你写的数字。",
    "why.initial": "第一轮还没结束：现在是随机的初始权重在读你的数字，每轮结束后会重新读。",
    "why.evidence": (d, what, score) => `${d} 的证据（${what}），得分 ${score}`,
    "why.predicted": "预测",
    "why.runnerUp": "第二",
    "why.evAlt": (d) => `${d} 的证据：像素值 × 权重`,
    "zoom.title": "放大",
  },
  en: {
    "lang.switch": "中文",
    "lang.switchLabel": "切换为中文 (switch to Chinese)",
    "draw.clear": "Clear",
    "draw.hint": "Draw one digit, 0 to 9, large.",
    "draw.pad": "drawing pad: draw one digit",
    "draw.prediction": "prediction",
    "draw.bars": "probability of each digit",
    "draw.seen": "what the model saw (28×28)",
    "draw.seenEmpty": "once you draw, the 28×28 image the model sees appears here",
    "draw.noAnswer": (m) => `no answer from the server (${m})`,
    "draw.template": (d) => `weight template of digit ${d}`,
    "err.413": "The image is too large: upload a smaller one.",
    "err.422": "No digit found: draw it larger and clearer.",
    "err.503": "The server is busy reading other images; try again in a moment.",
    "err.404": "No such run (the playground keeps only the last few runs).",
    "err.400": (m) => `Cannot read this image: ${m}`,
    "err.other": (m) => `The server refused: ${m}`,
    "index.title": "softmax-mnist: draw a digit",
    "index.h1": "Draw a digit",
    "index.toPlayground": "To the playground: train a model yourself →",
    "index.templatesTitle": "The model's ten weight templates",
    "index.templatesNote": "Red: ink there raises the digit's score; blue: lowers it. The winner is framed. Click a picture to enlarge it.",
    "pg.title": "softmax-mnist playground",
    "pg.h1": "softmax-mnist playground",
    "pg.lede": "Softmax regression on MNIST, trained here as you watch. Change one setting, press Train, and compare: earlier runs stay on the charts.",
    "pg.toDraw": "← Draw page (the loaded model)",
    "pg.settings": "Settings",
    "pg.help": (name) => `What is “${name}”?`,
    "set.lr": "Learning rate",
    "set.momentum": "Momentum",
    "set.nesterov": "Nesterov momentum",
    "set.weight_decay": "Weight decay",
    "set.batch_size": "Batch size",
    "set.epochs": "Epochs",
    "set.preprocess": "Preprocessing",
    "set.lr_decay": "Learning-rate decay",
    "set.seed": "Seed",
    "set.slow": "Slow motion: an epoch takes a second",
    "opt.course": "course: x/255 − image mean",
    "opt.unit": "unit: x/255",
    "opt.standardize": "standardize: (x/255 − μ) / σ",
    "opt.best": "best preset: deskew, size, blur",
    "opt.none": "none",
    "opt.linear": "linear, to 1/epochs in the last",
    "help.lr": "How far each step moves against the gradient: w ← w − lr × gradient. The course uses 0.01. Too small learns slowly; too large (e.g. 100) gives a high loss or diverges.",
    "help.momentum": "Accumulates past gradients into a velocity: v ← momentum × v + gradient, w ← w − lr × v. The course compares 0 and 0.9; at 0.9 the effective step is about lr/(1 − momentum) = 10 times larger.",
    "help.nesterov": "Looks one step ahead along the velocity and takes the gradient there. Needs a momentum above 0.",
    "help.weight_decay": "Pulls the weights a little toward 0 at every step (L2 regularisation), against large weights. 0 in the course.",
    "help.batch_size": "How many images each step's gradient averages over. The course uses 100: 550 steps per epoch of 55,000 training images. Larger batches, fewer steps per epoch.",
    "help.epochs": "One epoch is one pass over the 55,000 training images. The course trains 10.",
    "help.preprocess": "How images are transformed before the model sees them. The course's way: pixels divided by 255, minus the image's own mean.",
    "help.lr_decay": "Linear: epoch e of E uses lr × (E − e + 1)/E, smaller steps toward the end.",
    "help.seed": "Sets the starting weights and each epoch's shuffle. The same seed and settings give exactly the same run.",
    "help.slow": "Makes each epoch last at least a second so you can watch the curves; off: full speed.",
    "btn.train": "Train",
    "btn.pause": "Pause",
    "btn.resume": "Resume",
    "btn.step": "One more epoch",
    "btn.stepTitle": "train on to the end of this epoch, then pause again",
    "btn.stop": "Stop",
    "btn.defaults": "Course defaults",
    "btn.remove": "Remove",
    "btn.removeLabel": (name) => `remove run ${name} from the comparison`,
    "btn.close": "Close",
    "msg.defaults": "Course defaults filled in.",
    "msg.best": "The best preset's settings are filled in; change any of them.",
    "msg.starting": "Starting…",
    "msg.training": (id, e, n) => `Run #${id} is training: epoch ${e} of ${n}.`,
    "msg.loading": (id) => `Run #${id}: loading and preparing MNIST…`,
    "msg.paused": (id, e, n) => `Run #${id} is paused (epoch ${e} of ${n}). Press Resume to go on, or One more epoch.`,
    "msg.stopping": (id) => `Stopping run #${id}…`,
    "msg.live": (loss, seen) => `Loss now ${loss}; ${seen} training images seen.`,
    "msg.ended": (id, what) => `Run #${id}: ${what}`,
    "msg.reconnected": "Reconnected to the server.",
    "msg.lost": "Lost the server; reconnecting…",
    "msg.noServer": (m) => `no answer from the server (${m})`,
    "msg.copied": "The run's settings are in the address bar: copy the link to share them.",
    "err.setting": (name, rule) => `${name}: ${rule}`,
    "err.busy": (id) => `Run #${id} is training, and this server trains one run at a time: wait for it to end or press Stop, then Train again.`,
    "err.idle": "Nothing is training.",
    "err.no_run": (id) => `There is no run #${id}.`,
    "err.remove_training": (id) => `Run #${id} is training: stop it before removing it.`,
    "err.no_data": (dir) => `No MNIST here yet (${dir}). In a terminal run softmax-mnist download --data-dir "${dir}", then press Train.`,
    "err.diverged": (id) => `Run #${id} diverged and has no usable weights: select another run to draw for.`,
    "err.no_weights": (id) => `Run #${id} has no weights yet (its data are loading): a moment.`,
    "err.pages": (n) => `${n} pages are open on this server: close one and reload.`,
    "rule.lr": "must be a number above 0, e.g. 0.01",
    "rule.momentum": "must be from 0 up to (not including) 1, e.g. 0.9",
    "rule.nesterov": "Nesterov needs a momentum above 0, e.g. momentum 0.9",
    "rule.weight_decay": "must be a number of 0 or more",
    "rule.batch_size": (max) => `must be a whole number from 1 to ${max}`,
    "rule.epochs": (max) => `must be a whole number from 1 to ${max} (stop whenever you like)`,
    "rule.seed": "must be a whole number of 0 or more",
    "rule.preprocess": "choose one from the list",
    "rule.lr_decay": "choose one from the list",
    "rule.slow": "tick it or not",
    "nodata": (m) => `No MNIST here yet. ${m}`,
    "runs.title": "Runs",
    "runs.note": (n) => `The last ${n} runs are kept for comparison. Select one to see its weights, test result and drawing panel; untick Show to hide it from the charts; Remove drops it for every page.`,
    "runs.show": "Show",
    "runs.run": "Run",
    "runs.trainLoss": "Training loss",
    "runs.valAcc": "Validation accuracy",
    "runs.testAcc": "Test accuracy",
    "runs.none": "No run yet: press Train.",
    "runs.showLabel": (name) => `show run ${name} on the charts`,
    "runs.download": "model.npz",
    "runs.downloadTitle": (id) => `download run #${id} as model.npz (softmax-mnist predict and evaluate read it)`,
    "status.training": (e, n) => `training: epoch ${e} of ${n}`,
    "status.paused": (e, n) => `paused: epoch ${e} of ${n}`,
    "status.done": (n) => `done, ${n} epochs`,
    "status.stopped": (e, s) => `stopped in epoch ${e}, after step ${s}`,
    "status.loaded": "model file",
    "status.loading": "loading MNIST…",
    "status.waiting": "waiting",
    "status.diverged": (e) => `diverged in epoch ${e}`,
    "status.failed": (m) => `failed: ${m}`,
    "status.test": (a) => ` · test ${a}`,
    "diverge.mean": (e, loss, limit, f) =>
      `Epoch ${e}'s mean training loss ${loss} is over ${limit}, so the run counts as diverged. The limit is ${f} × ln 10: a uniform guess (10% for each digit) has loss ln 10 ≈ 2.30, and a loss ${f} times that means the learning rate is too large and the weights have run away.`,
    "diverge.nan": (e) => `In epoch ${e} a step's loss became infinite or NaN, so the run counts as diverged: the learning rate is too large and the weights ran away.`,
    "diverge.advice": (lr) => `Try a smaller learning rate, e.g. ${lr}.`,
    "diverge.wd": (wd) => `Or a smaller weight decay, e.g. ${wd}.`,
    "warn.highLoss": (id, loss, acc, course, limit) =>
      `Note: run #${id}'s training loss is ${loss}, far above the ${course} that the course's settings reach and even above a uniform guess's ln 10 ≈ 2.30 (10% for each digit), though its accuracy (${acc}) looks fine. The learning rate is too large: the weights are pushed so far that the model is extremely sure of every answer, and each wrong one costs a huge loss. Only a loss over ${limit} counts as diverged, so this run was not stopped. Try a smaller learning rate.`,
    "charts.label": "live charts",
    "charts.hint": "Press Train: the curves of every run are drawn here as it trains.",
    "charts.loss": "Loss: training (line) and validation (dashed, after each epoch)",
    "charts.valLoss": "validation",
    "charts.acc": "Validation accuracy after each epoch",
    "charts.log": "log scale for the loss",
    "charts.lossAxis": "loss",
    "charts.accAxis": "validation accuracy",
    "charts.epoch": "epoch",
    "charts.lossAria": "training and validation loss of every run",
    "charts.accAria": "validation accuracy of every run",
    "charts.clipped": (list) => `Off the top of the axis, clipped (marked ▲): ${list}. The other curves keep their scale.`,
    "charts.tipEpoch": (x) => `epoch ${x}`,
    "sel.title": "Run",
    "sel.none": "No run yet: press Train.",
    "sel.templates": "The ten weight templates",
    "sel.templatesNote": "Red: ink there raises the digit's score; blue: lowers it. Redrawn each epoch; before training, the random starting weights. Click to enlarge.",
    "sel.samples": "Validation digits, and the model's predictions",
    "sel.samplesNote": "One of each digit from the validation split as the model sees it, with the run's prediction after every epoch (for runs trained here).",
    "sel.sampleAlt": (d, p) => (p === undefined ? `a ${d}, not predicted yet` : `a ${d}, predicted ${p}`),
    "sel.test": "Test set",
    "sel.testPending": "Test accuracy and the confusion matrix: when the run ends.",
    "sel.testNone": "This run diverged: no test result.",
    "sel.testAcc": "Test accuracy",
    "sel.testLoss": (loss) => ` (loss ${loss}, 10,000 images)`,
    "sel.confusion": "Confusion matrix: rows are the true digit, columns the predicted one",
    "sel.mistakes": "Test images the model got wrong with the most confidence",
    "sel.mistakesNote": "Each: what the model saw, then the evidence for the digit it chose and for the true digit (pixel value × weight: red pushes toward the digit, blue away). Click to enlarge.",
    "sel.mistake": (t, p, prob) => `true ${t}, predicted ${p} (${prob})`,
    "sel.seenShort": "model's input",
    "sel.evChosen": (p) => `evidence for ${p}`,
    "sel.evTrue": (t) => `evidence for ${t}`,
    "why.title": "Why this digit?",
    "why.note": "Draw a digit for the selected run. The evidence pictures show each pixel's value times its weight: red pushes toward the class, blue against; their sum plus the bias is the score.",
    "why.noRun": "No run to ask yet: press Train first.",
    "why.diverged": "The selected run diverged and has no usable weights: select another run.",
    "why.loading": "The selected run is still loading its data; your digit is read as soon as it has weights.",
    "why.initial": "The first epoch has not ended: the random starting weights read your digit for now, and read it again after every epoch.",
    "why.evidence": (d, what, score) => `evidence for ${d} (${what}), score ${score}`,
    "why.predicted": "predicted",
    "why.runnerUp": "runner-up",
    "why.evAlt": (d) => `evidence for ${d}: pixel value times weight`,
    "zoom.title": "Enlarged",
  },
};

function chosenLang() {
  const asked = new URLSearchParams(location.search).get("lang");
  if (asked in STRINGS) {
    try { localStorage.setItem(LANG_KEY, asked); } catch { /* storage off: this page only */ }
    return asked;
  }
  try {
    const stored = localStorage.getItem(LANG_KEY);
    if (stored in STRINGS) return stored;
  } catch { /* storage off */ }
  return "zh";
}

let LANG = chosenLang();

function t(key, ...args) {
  const s = STRINGS[LANG][key] ?? STRINGS.en[key] ?? key;
  return typeof s === "function" ? s(...args) : s;
}

// Numbers as the page shows them (the same digits in both languages).
function fmtPct(x) { return `${(100 * x).toFixed(2)}%`; }
function fmtNum(x) {
  if (x == null || !Number.isFinite(x)) return String(x);
  const a = Math.abs(x);
  return a !== 0 && (a >= 1e5 || a < 1e-3) ? x.toExponential(2) : Number(x.toPrecision(4)).toString();
}

function applyI18n(root = document) {
  document.documentElement.lang = LANG === "zh" ? "zh-CN" : "en";
  for (const el of root.querySelectorAll("[data-i18n]")) el.textContent = t(el.dataset.i18n);
  for (const el of root.querySelectorAll("[data-i18n-attr]")) {
    for (const pair of el.dataset.i18nAttr.split(";")) {
      const [attr, key] = pair.split(":");
      el.setAttribute(attr, t(key));
    }
  }
  const title = document.querySelector("title[data-i18n]");
  if (title) document.title = title.textContent;
}

// The switch: a button that names the other language; pages redraw their own texts on "langchange".
function setupLangSwitch(button) {
  button.addEventListener("click", () => {
    LANG = LANG === "zh" ? "en" : "zh";
    try { localStorage.setItem(LANG_KEY, LANG); } catch { /* storage off */ }
    const url = new URL(location.href);
    if (url.searchParams.has("lang")) {
      url.searchParams.set("lang", LANG);
      history.replaceState(null, "", url);
    }
    applyI18n();
    document.dispatchEvent(new Event("langchange"));
  });
  applyI18n();
}

// Click a picture to see it large: one <dialog> per page, pixels kept sharp.
function zoomable(el, source) {
  el.classList.add("zoomable");
  el.tabIndex = 0;
  el.setAttribute("role", el.getAttribute("role") || "img");
  const open = () => {
    let dialog = document.getElementById("zoom");
    if (!dialog) {
      dialog = document.createElement("dialog");
      dialog.id = "zoom";
      dialog.innerHTML = '<img alt=""><p class="zoom-cap"></p><button type="button" class="zoom-close"></button>';
      dialog.addEventListener("click", (e) => { if (e.target === dialog) dialog.close(); });
      dialog.querySelector("button").addEventListener("click", () => dialog.close());
      document.body.append(dialog);
    }
    const src = source();
    dialog.querySelector("img").src = src.src;
    dialog.querySelector("img").alt = src.alt;
    dialog.querySelector(".zoom-cap").textContent = src.alt;
    dialog.querySelector("button").textContent = t("btn.close");
    dialog.setAttribute("aria-label", t("zoom.title"));
    dialog.showModal();
  };
  el.addEventListener("click", open);
  el.addEventListener("keydown", (e) => {
    if (e.key === "Enter" || e.key === " ") { e.preventDefault(); open(); }
  });
}
