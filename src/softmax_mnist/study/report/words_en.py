"""The report's own words in English: the title, headings, captions, table headers, the
method's paragraphs, the setup, the summary, the appendix and the figures' labels (a finding's
sentence, which depends on the numbers, is phrases_en.py's). words_zh.py has the same keys with
the same ``{fields}``, filled in by wording.say. Which entry is said is decided once, in the code
that builds the section (report.py, method.py, sections.py, visualize.py, typeset.py), never per
language."""

WORDS: dict[str, str] = {
    # ---- the document ---------------------------------------------------------------------
    "title.study": "Softmax regression on MNIST: study report",
    "title.sweep": "Softmax regression on MNIST: sweep report",
    "subtitle": "softmax-mnist {stamp} · seeds {seeds} · data: {data}",
    "full stop": ".",
    # a reference as Typst writes it, "Figure 3" / "图 3", also in report.md (typeset.to_markdown)
    "reference.fig": "Figure",
    "reference.tab": "Table",
    "reference.eq": "Equation",
    "reference.code": "Listing",

    # ---- summary --------------------------------------------------------------------------
    "summary": "Summary",
    "summary.sweep": "Results of a user sweep; every choice below is made on the validation split.",
    "summary.above": "{points} points above plain SGD on validation, beyond noise",
    "summary.below": "{points} points below plain SGD on validation, beyond noise",
    "summary.within": "within noise of plain SGD ({points} points apart)",
    "summary.momentum": "With the course's settings, momentum 0.9 ends {verdict}",
    "summary.matched": (
        "; plain SGD with the same effective step η/(1−μ) is within noise of momentum, so the "
        "gain belongs to the larger step."),
    "summary.best": (
        " The preset \"best\" (chosen by a search on the validation split: deskewed, "
        "size-normalised and blurred images, a decaying rate, still a linear model) reaches "
        "test accuracy {accuracy}."),
    "summary.table": " @tab-summary gives the accuracies of the final models.",
    "summary.caption": (
        "Accuracy of the final models, mean ± sd over seeds; training accuracy measured on the "
        "{n_train:,} training images after training. The test split is read only for these models."),

    # ---- names in tables and legends ------------------------------------------------------
    "final model": "final model",
    "train accuracy": "train accuracy",
    "validation": "validation",
    "test": "test",
    "test split": "test",
    "optimizer": "optimizer",
    "setting": "setting",
    "batch": "batch",
    "val. accuracy": "val. accuracy",
    "train. loss": "train. loss",
    "final training loss": "final training loss",
    "epochs to": "epochs to {threshold:.2f}",
    "s per epoch": "s per epoch (median)",
    "quartiles": "quartiles",
    "µs per update": "µs per update",
    "updates per epoch": "updates/epoch",
    "val. acc. fixed": "val. acc. (η 0.01)",
    "scaled η": "scaled η",
    "val. acc. scaled": "val. acc. (scaled)",
    "s/epoch": "s/epoch",
    "variant": "variant",
    "change": "change (points)",
    "by the rule": "by the rule",
    "beyond noise": "beyond noise",
    "within noise": "within noise",
    "diverged": "diverged",
    "diverged of": "diverged ({diverged}/{seeds})",
    "plain SGD": "plain SGD",
    "momentum": "momentum {momentum:g}",
    "nesterov": "Nesterov {momentum:g}",
    "plain SGD, equal step": "plain SGD, equal step",
    "momentum, equal step": "momentum 0.9, equal step",
    "plain SGD, large step": "plain SGD, large step",
    "course settings": ", course settings",
    "preset best": "preset best, {epochs} epochs",
    "momentum at": "momentum 0.9, η {lr:g}",
    "plain SGD at": "plain SGD, η {lr:g}",
    "reference run": "the study's reference run",
    "run": "{setting}, seed {seed}",

    # ---- setup ----------------------------------------------------------------------------
    "setup": "Setup",
    "setup.data": (
        "Data: MNIST, the first {n_train:,} training images train, the last {n_val:,} validate "
        "(every choice is made on them), the {n_test:,} test images only report the final models."),
    "setup.preprocess": (
        "Preprocessing ({preprocess}): pixels scaled to [0, 1], then each image's own mean "
        "subtracted. Initialisation: W, b ~ Normal(0, √(4/(784+10))), as the course."),
    "setup.seeds": (
        "Seeds {seeds}: the seed sets the initial weights and the order of the minibatches; "
        "for one seed, every setting starts from the same weights and sees the same batches."),
    "setup.stacked": (
        "Settings that differ only in the optimizer's numbers (learning rate, momentum) train "
        "together, in one pass over the same batches; so a single setting has no training time of "
        "its own, and every time in this report comes from separate, interleaved measurements."),

    # ---- appendix -------------------------------------------------------------------------
    "appendix": "Appendix: machine and times",
    "appendix.machine": (
        "Machine: {cpu}, {cores} cores; Python {python}, NumPy {numpy}, Typst (Python package) "
        "{typst}. Training (all runs, validation passes and the final evaluations included): "
        "{train_seconds:.0f} s; timing measurements: {timing_seconds:.0f} s; loading data and "
        "writing the report are not included."),
    "appendix.busy": (
        " The machine was shared: its load average (runnable processes, 1 minute) was "
        "{at_training:.1f} when training began and {at_timing:.1f} when the timing began, on "
        "{cores} cores; times measured on a quieter machine are shorter, and ratios of "
        "interleaved times move less than the times themselves."),
    "appendix.quiet": (
        " Nothing else ran: the load average (runnable processes, 1 minute) was {at_training:.1f} "
        "when training began and {at_timing:.1f} when the timing began, the study's own "
        "training included."),
    "appendix.fonts": " CJK fonts: {serif} (text), {sans} (headings and figures).",

    # ---- method (method.py) ---------------------------------------------------------------
    "method": "Method",
    "method.model": "Model and loss",
    "method.softmax": (
        "An image is a row x of D = 784 pixel values; the model gives each of the C = 10 "
        "classes a score (logit) and turns the scores into probabilities with the softmax. "
        "For a minibatch X (N × D), with W (D × C) and b (1 × C):"),
    "method.loss": (
        "The loss is the mean cross-entropy between the predicted probabilities and the "
        "true labels $y_i$ (Y is their one-hot matrix):"),
    "method.gradient": "Gradient",
    "method.derivation": (
        "Differentiate @eq-ce through @eq-softmax. For one sample, "
        "$log p_(i c) = z_(i c) - log sum_(k=1)^C e^(z_(i k))$, so "
        "$(partial (-log p_(i, y_i))) / (partial z_(i c)) = p_(i c) - Y_(i c)$: the derivative "
        "of the log-sum-exp is the softmax itself, and the true class loses 1. Averaging "
        "over the N samples and applying the chain rule through Z = XW + b, with "
        "$(partial z_(i c)) / (partial W_(d c)) = x_(i d)$ and $(partial z_(i c)) / (partial b_c) = 1$:"),
    "method.mean": (
        "so ∂L/∂b is the column sums of (P − Y)/N. The division by N makes the gradient "
        "that of the mean, so the learning rate does not have to change with the batch "
        "size to keep the same step per update."),
    "method.stable": "A numerically stable log-softmax",
    "method.overflow": (
        "In float32, $e^z$ overflows to infinity for z > 88.7, and logits of that size occur "
        "with a large learning rate or long training; log(softmax + ε) also loses the "
        "small probabilities. Subtracting the row maximum $m_i$ changes nothing "
        "mathematically (it cancels between numerator and denominator) and makes every "
        "exponent ≤ 0, as @eq-logsoftmax does:"),
    "method.check": (
        "Gradient check: on the saved model (model.npz) and {images} test images, the "
        "analytic gradient of @eq-grad was compared in float64 with central differences "
        "(h = 10⁻⁵) on {entries} random entries of W and all 10 of b. The error "
        "of an entry is |a − n| / max(|a|, |n|, 10⁻⁶): relative for ordinary entries, absolute "
        "for entries below 10⁻⁶, where the central difference's own rounding (about 10⁻¹¹) "
        "would otherwise look like a wrong formula. The largest error is {worst:.1e}, the "
        "median {median:.1e}"),
    "method.check.far below": ": far below the 10⁻⁵ past which a formula is suspect.",
    "method.check.below": ": below the 10⁻⁵ past which a formula is suspect.",
    "method.check.above": "; above 10⁻⁵, so look at the formula.",
    "method.check.impl": (
        "The saved model was trained with the classes of {name}/; the check above "
        "tests @eq-grad on its weights, not their `gradient_computing`: "
        "`softmax-mnist check {name}` compares that with central differences."),
    "method.momentum": "Momentum",
    "method.heavy ball": (
        "SGD with heavy-ball momentum keeps a velocity v per parameter; with μ = 0 it is "
        "plain SGD, w ← w − ηg:"),
    "method.effective step": (
        "Where the gradient changes slowly, the velocity settles at the geometric sum "
        "−ηg(1 + μ + μ² + …) = −ηg/(1 − μ): momentum 0.9 moves ten times as far per step as "
        "plain SGD at the same η."),
    "method.effective step.end": "",
    "method.effective step.controls": (
        " The effective step η/(1 − μ) is why the momentum study below adds controls at "
        "equal effective step."),
    "method.key code": "Key code",
    "method.key code.course": (
        "The course's three functions, written the course's way (@code-key): `forward` "
        "computes the logits, the stable log-softmax of @eq-logsoftmax, the mean "
        "cross-entropy and the accuracy, and keeps X, P and Y for the backward pass; "
        "`gradient_computing` applies @eq-grad; `step` applies @eq-momentum with the "
        "velocity kept between steps. They live in softmax_mnist/study/report/keycode.py, read "
        "from there when this report was built. The training itself ran on a faster "
        "version of the same formulas (core/functional.py, core/model.py, "
        "core/optimizer.py); tests/test_keycode.py checks that the two give the same loss, "
        "accuracy, gradients and momentum steps to float32 rounding."),
    "method.key code.caption": (
        "forward, gradient_computing and SGD.step (softmax_mnist/study/report/keycode.py; "
        "the comments are in Chinese, the course's language)."),
    "method.impl": (
        "This study ran on the implementation in {name}/: every run trained with its "
        "`SoftmaxCrossEntropyLoss` (loss.py) and `SGD` (optimizer.py) in the course's loop, "
        "on the reference implementation's minibatches and initial weights; validation and test "
        "numbers were measured on the weights it reached. Its three functions follow, "
        "as the study copied them (impl/ in the study folder). The training times in this "
        "report are of the reference implementation, timed apart."),
    "method.impl.reference": (
        " Settings the course's `SGD(model, learning_rate, momentum)` has no argument for "
        "({settings}) trained with the reference implementation's SGD instead."),
    "method.impl.forward": "forward ({name}/loss.py).",
    "method.impl.backward": "gradient_computing ({name}/loss.py).",
    "method.impl.step": "SGD.step ({name}/optimizer.py).",

    # ---- the study's sections (sections.py) -----------------------------------------------
    "curves": "(a) Training and test accuracy",
    "curves.intro": (
        "@fig-curves shows the training loss and accuracy per epoch of the course's two "
        "settings (batch 100, lr 0.01, {epochs} epochs), without momentum and with momentum 0.9."),
    "curves.caption": (
        "Loss (left) and accuracy (right) per epoch: training (solid, running over the "
        "epoch) and validation (dashed), mean of {seeds} seeds; the band spans the "
        "lowest to the highest seed."),
    "momentum.heading": "(b) With and without momentum",
    "momentum.intro": (
        "@tab-momentum lists the momentum settings and their controls, @fig-momentum "
        "their validation curves"),
    "momentum.intro.time": ", @tab-time their training time.",
    "momentum.caption": (
        "Momentum and its controls (batch 100, {epochs} epochs): median epoch at which the "
        "validation accuracy first reached each threshold (– not reached; in brackets how "
        "many seeds did), final validation accuracy as mean ± sd over seeds, and the last "
        "epoch's training loss (mean)."),
    "momentum.figure": (
        "Validation accuracy per epoch (mean and seed range). Left: plain SGD, momentum 0.9 "
        "and Nesterov at η 0.01. Right: each against its equal-effective-step control "
        "(dashed): η/(1−μ) is the same for the two lines of one colour pair."),
    "time.caption": (
        "Training time: one epoch of {n_train:,} images at batch {batch} (no validation pass), "
        "{rounds} epochs each interleaved after a warm-up, median and "
        "quartiles; the update step alone on a 784 × 10 model. Two significant digits: "
        "on a shared machine a second run can differ by more than that; the rows are "
        "in a fixed order, not ranked."),
    "settings": "(c) Learning rate, batch size and other settings",
    "lr": "Learning rate",
    "lr.intro": "{rates} learning rates, each with momentum 0.9 and {seeds} seeds: @tab-lr and @fig-lr.",
    "lr.caption": (
        "Learning rate with momentum 0.9 (batch 100, {epochs} epochs), mean ± sd over "
        "{seeds} seeds."),
    "lr.figure": (
        "Learning rate: validation accuracy per epoch (left) and final "
        "validation accuracy, mean ± sd over seeds (right)."),
    "batch.heading": "Batch size",
    "batch.intro": (
        "{sizes} batch sizes at a fixed learning rate and at one scaled with "
        "the batch (@tab-batch, @fig-batch)"),
    "batch.intro.heatmap": ", and every learning rate at every batch size (@fig-heatmap).",
    "batch.caption": (
        "Batch size with momentum 0.9, {epochs} epochs: at the fixed "
        "η 0.01 and with η = 0.01 × B/100; mean ± sd over seeds; seconds per epoch are "
        "interleaved medians."),
    "batch.figure": (
        "Batch size: final validation accuracy at a fixed and at a scaled learning rate "
        "(left, mean ± sd over seeds) and seconds per epoch (right, median with quartiles)."),
    "heatmap.seeds": "mean over {seeds} seeds",
    "heatmap.one seed": "one seed",
    "heatmap.figure": (
        "Final validation accuracy ({seeds}) for every learning "
        "rate and batch size (momentum 0.9, {epochs} epochs); bold: the highest."),
    "ablation": "The preset best and what each part adds",
    "ablation.intro": (
        "The model stays a linear softmax regression on 784 pixels; what changes is the "
        "images and the schedule. The values come from a two-stage search on the validation "
        "split (benchmarks/preset_search.py, seeds 0–2, tables in benchmarks/README.md): first "
        "11 combinations of image transforms under one optimizer setting, then 8 optimizer "
        "settings on the best transform; the test split was read only at the end. The "
        "preset is:"),
    "ablation.deskew": (
        "deskew: each image is shifted so that its centre of mass is central and sheared so "
        "that its main axis is vertical (from its second moments);"),
    "ablation.ink size": (
        "size normalisation: the ink is scaled to a vertical spread of {ink_size:g} "
        "pixels (standard deviation of the ink's rows);"),
    "ablation.blur": (
        "blur: a Gaussian of σ = {blur_sigma:g} pixels, so that a stroke one pixel "
        "off still meets the template;"),
    "ablation.optimizer": (
        "SGD with momentum {momentum:g}, η {lr:g} decaying linearly to η/{epochs} "
        "over {epochs} epochs, batch {batch_size}."),
    "ablation.no-deskew": "deskewing",
    "ablation.no-ink-size": "size normalisation",
    "ablation.no-blur": "the blur",
    "ablation.no-decay": "the decaying rate",
    "ablation.no-transform": "all three image transforms",
    "ablation.full": "full preset",
    "ablation.without": "without {part}",
    "ablation.caption": (
        "Ablation of the preset on the validation split ({seeds} seeds, {epochs} epochs; "
        "each variant switches off one part); the change and its verdict follow the "
        "method's rule, paired by seed and image."),

    # ---- a sweep's grid (sections.py) -----------------------------------------------------
    "grid": "The grid",
    "grid.caption": (
        "Every setting of the grid (mean ± sd over seeds); the test split only for the "
        "best on validation."),
    "grid.intro": "@tab-grid lists every setting of the grid",
    "grid.intro.figure": ", @fig-grid shows them.",
    "grid.sweep figure": "Validation accuracy per epoch and final, against the swept setting.",
    "grid.bars figure": "Final validation accuracy per setting (mean, sd as the error bar).",
    "grid.time caption": (
        "Training time of one epoch (no validation pass) for each batch size and kind of "
        "optimizer in the grid: {rounds} epochs each, "
        "interleaved after a warm-up. Settings that differ only in the learning rate take the "
        "same time per epoch."),
    "grid.time": "@tab-grid-time gives the time per epoch",
    "grid.time.stacked": "; settings trained together in one pass have no time of their own.",

    # ---- what the model learned (sections.py) ---------------------------------------------
    "model": "What the model learned",
    "model.intro": (
        "The saved model (model.npz) is {run}. Its weights, its "
        "test confusion matrix and its most confident mistakes:"),
    "model.weights": (
        "The ten weight templates (columns of W), one colour scale centred "
        "at 0: red raises the class's score, blue lowers it."),
    "model.confusion": (
        "Test confusion matrix (counts; off-diagonal colour: the fraction of "
        "the true class)."),
    "model.confusions": (
        "The three most frequent confusions on the test split, each with its most "
        "confident examples."),
    "model.mistakes": (
        "The most confident mistakes on the test split: true class, prediction and "
        "its probability."),
    "figure reference": "@{label}: ",

    # ---- the figures' words (visualize.py) ------------------------------------------------
    "figure.epoch": "epoch",
    "figure.loss": "loss",
    "figure.accuracy": "accuracy",
    "figure.train_loss": "training loss (running, per epoch)",
    "figure.val_loss": "validation loss",
    "figure.train_acc": "training accuracy (running)",
    "figure.val_acc": "validation accuracy",
    "figure.final_val_acc": "final validation accuracy",
    "figure.lr": "learning rate",
    "figure.batch_size": "batch size",
    "figure.epoch_time": "seconds per epoch (median)",
    "figure.fixed_lr": "learning rate 0.01 for every batch size",
    "figure.scaled_lr": "learning rate 0.01 x batch / 100",
    "figure.spread": "band: lowest to highest of {n} seeds",
    "figure.class": "class {c}",
    "figure.weight": "weight",
    "figure.true": "true class",
    "figure.pred": "predicted class",
    "figure.row_fraction": "fraction of the true class",
    "figure.confusion": "test confusion matrix: {n:,} images, accuracy {acc:.4f}",
    "figure.example": "true {t} / pred {p}\np={prob:.3f}",
    "figure.diverged": "diverged",
    "figure.confused": "true {t}, read as {p}",
}
