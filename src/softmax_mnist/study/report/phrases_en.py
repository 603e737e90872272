"""The report's findings in English: one entry per finding (findings.py decides which), with
format fields that discussion.py fills. phrases_zh.py has the same keys. An entry that
continues a paragraph starts with its own space."""

PHRASES = {
    # separators and references used inside other entries
    "sep.clause": "; ",
    "sep.comma": ", ",
    "ref.it": "it",
    "ref.plain": "plain SGD",
    "ref.plain_at": "plain SGD ({plain})",
    "ref.heavy_ball": "heavy-ball momentum",
    "ref.runner_up": "the runner-up, lr {lr}",
    "ref.course_at": "the course setting (momentum 0.9, {epochs} epochs)",
    "ref.course": "the course setting",
    "ref.epochs": "{epochs}",
    "rate_acc": "{lr} ({acc})",

    # a comparison by the rule, as a predicate
    "verdict.higher": "{gain} points higher, beyond the noise bound of {noise} points",
    "verdict.lower": "{gain} points lower, beyond the noise bound of {noise} points",
    "verdict.same": "within noise (a difference of {gain} points, bound {noise})",
    "verdict.higher.ref": "{gain} points higher than {ref}, beyond the noise bound of {noise} points",
    "verdict.lower.ref": "{gain} points lower than {ref}, beyond the noise bound of {noise} points",
    "verdict.same.ref": "within noise of {ref} (a difference of {gain} points, bound {noise})",
    "loss.lower": "final training loss {b:.3f} against {a:.3f}, lower in every seed",
    "loss.higher": "final training loss {b:.3f} against {a:.3f}, higher in every seed",
    "loss.same": "final training loss {b:.3f} against {a:.3f}, within noise",
    "reach.epoch": "first reached {t:.2f} in epoch {epoch:g}",
    "reach.never": "did not reach {t:.2f} within {total} epochs",
    "reach.never.some": "did not reach {t:.2f} within {total} epochs ({hit} of {seeds} seeds did)",

    "noise_rule": (
        "The rule for every comparison (the only one used): with one seed, two settings start "
        "from the same weights, see the same minibatches and are scored on the same {n_val:,} "
        "validation images, so they are compared in pairs, seed by seed and image by image. "
        "The gain d is the mean over seeds of the difference of their validation accuracies. "
        "Its standard error adds two parts: the images (the variance over images of the "
        "difference in being right, averaged over seeds, divided by the number of images; as "
        "in McNemar's test only the images on which the two models disagree count) and the "
        "seeds (the variance of the per-seed differences over {seeds} seeds, divided by their "
        "number). One setting is called higher or lower only when |d| exceeds two standard "
        "errors (the noise bound below) and every seed agrees on the direction; otherwise the "
        "two are within noise. The final training loss is compared by the same rule, paired "
        "by seed, beside the accuracy; training times by the same rule on paired rounds."),

    # (a) curves
    "curves.running": (
        "The training loss and accuracy in the curves are averages over the minibatches "
        "of an epoch, measured while the weights still change, so they describe the "
        "epoch's average model; validation is measured after the epoch with its final "
        "weights."),
    "curves.gap.images": (
        " With momentum 0.9 the running training accuracy of the last epoch, {running:.4f}, "
        "sits below the validation accuracy, {val:.4f}. {from_running} points of that "
        "gap are the running average (measured again after training, the training "
        "accuracy is {train:.4f}); the other {from_images} points are the images: these "
        "{n_val:,} validation images are easier for the model, since even measured "
        "properly the training accuracy stays below validation."),
    "curves.gap.running": (
        " With momentum 0.9 the running training accuracy of the last epoch, {running:.4f}, "
        "sits below validation, {val:.4f}, only because it is a running average: "
        "measured again after training it is {train:.4f}."),
    "curves.after": (
        " After training, measured on the {n_train:,} training images: plain SGD has training "
        "accuracy {plain_train} (validation {plain_val}, test {plain_test}), momentum 0.9 "
        "{mom_train} (validation {mom_val}, test {mom_test})."),
    "fit.below": " Training accuracy is below validation: a linear model hardly overfits.",
    "fit.below_near_test": (
        " Training accuracy is below validation, and the test accuracy is closer to the "
        "training one: a linear model hardly overfits."),
    "fit.slight": (
        " Training accuracy is only {gap} points above validation: a linear model has little "
        "capacity to overfit."),
    "fit.over": " Training accuracy is {gap} points above validation: some overfitting.",

    "name.nesterov": "Nesterov momentum {momentum:g} (lr {lr:g})",
    "name.momentum": "momentum {momentum:g} (lr {lr:g})",
    "name.plain": "plain SGD (lr {lr:g})",

    # (b) momentum
    "momentum.result": (
        "As the median over {seeds} seeds, the validation accuracy with momentum 0.9 "
        "{reach_mom}; plain SGD {reach_plain}. After {epochs} epochs the mean validation "
        "accuracy was {mom} with momentum and {plain} without: {verdict}; {loss}."),
    "momentum.control": (
        "That comparison mixes two things. Momentum μ makes the effective step along a "
        "steady gradient η/(1−μ): lr 0.01 with momentum 0.9 has an effective step of "
        "{lr:g}. The control trains plain SGD at that step, lr {lr:g}: its validation "
        "accuracy {reach} and ends at {control}; momentum 0.9 is {verdict}. The mean "
        "validation curves of the two differ by at most {far} points in any epoch "
        "(@fig-momentum)."),
    "momentum.small": (
        " Conversely, momentum 0.9 at lr {lr:g} (effective step 0.01, as plain SGD's) ends "
        "at {small}, {verdict}."),
    "why.step": (
        "This is what theory predicts for this problem. The cross-entropy loss of softmax "
        "regression is smooth and convex; heavy-ball momentum sums past gradients with "
        "weights μᵏ, and while the gradient changes little over about 1/(1−μ) = 10 steps "
        "each of its steps is close to one of plain SGD with step η/(1−μ). So 'momentum "
        "trains faster' here reads as 'a larger effective step trains faster': the epochs "
        "saved belong to the larger step, not to momentum."),
    "why.step_at_large": (
        "At the effective step 0.1 momentum is within noise of plain SGD at that step, but at "
        "the effective step 0.01 the two differ (above): the effective step explains the gap "
        "at the course's settings; this study does not take the small-step difference apart."),
    "why.momentum_ahead": (
        "Momentum stays ahead at an equal effective step, so beyond the larger step the "
        "averaging of gradients itself (less minibatch noise, less oscillation across "
        "steep directions) helps here."),
    "why.momentum_lower": "At an equal effective step momentum ends lower.",
    "nesterov.same": (
        "Nesterov momentum 0.9 ends at {nesterov}, {verdict}; on this smooth convex problem "
        "the look-ahead correction changes little."),
    "nesterov.apart": "Nesterov momentum 0.9 ends at {nesterov}, {verdict}.",
    "large.intro": (
        "Does momentum help on its own at large steps? The lr group's two largest rates give "
        "momentum 0.9 the effective steps {steps}; the controls train plain SGD at those "
        "steps: {parts}."),
    "large.plain_diverged": (
        "at effective step {step:g}, momentum 0.9 (lr {lr_mom:g}) ends at {mom} while plain "
        "SGD (lr {lr_plain:g}) diverged in {plain_diverged} of {seeds} seeds"),
    "large.momentum_diverged": (
        "at effective step {step:g}, momentum 0.9 diverged in {mom_diverged} seeds and plain "
        "SGD ends at {plain}"),
    "large.both_diverged": (
        "at effective step {step:g}, momentum 0.9 diverged in {mom_diverged} seeds and plain "
        "SGD in {plain_diverged}"),
    "large.both_ok": (
        "at effective step {step:g}, momentum 0.9 ends at {mom} and plain SGD at {plain}: "
        "momentum is {verdict}"),
    "large.own": (
        " So at effective step {steps} momentum does what plain SGD cannot: it stays stable, "
        "or ends higher, at that step."),
    "large.behind": " At these large steps momentum is not ahead.",
    "large.none_stable": (
        " Even at these large steps the two are within noise, and neither diverged: this study "
        "finds no gain of momentum's own, and plain SGD's stability limit lies beyond the "
        "steps tried."),
    "large.none": (
        " Even at these large steps the two are within noise: this study finds no gain of "
        "momentum's own."),

    # (b) time
    "time.epochs": (
        "One epoch took {plain:s} s with plain SGD and {mom:s} s with momentum 0.9 (medians of "
        "{rounds} epochs, the two interleaved epoch by epoch after a warm-up, so that the "
        "machine's load falls on both alike). By the same rule on the per-round ratios, "),
    "time.same": "they differ by {rel:.0%}, within noise ({tol:.0%}).",
    "time.slower": "momentum is {rel:.0%} slower, beyond the noise bound of {tol:.0%}.",
    "time.faster": "momentum is {rel:.0%} faster, beyond the noise bound of {tol:.0%}.",
    "time.update": (
        " Timed alone, one update costs {plain} µs without momentum and {mom} µs with it, "
        "while a whole training step at batch {batch} takes about {step} µs: momentum's "
        "extra is about {share:.0%} of a step."),
    "time.update.tiny": (
        " Timed alone, one update costs {plain} µs without momentum and {mom} µs with it, "
        "while a whole training step at batch {batch} takes about {step} µs: momentum's "
        "extra is under 1% of a step."),
    "time.to": (
        " As epochs to {t:.2f} times the median epoch time, momentum 0.9 needs about {mom} s "
        "of training; "),
    "time.to.plain": "plain SGD about {plain} s",
    "time.to.plain.never": "plain SGD does not get there within {epochs} epochs",
    "time.to.control": (
        "; plain SGD at the same effective step (lr {lr:g}, whose epochs cost what plain "
        "SGD's do) about {control} s"),
    "time.to.end": ".",
    "time.saved_by_step": " The time saved belongs to the larger effective step, not to momentum.",

    # (c) learning rate
    "lr.all_diverged": "Every learning rate diverged.",
    "lr.top": "The highest mean validation accuracy was at lr {lr} ({acc}).",
    "lr.tied.one": " Learning rate {lrs} is within noise of it: the sweep does not separate them.",
    "lr.tied.many": " Learning rates {lrs} are within noise of it: the sweep does not separate them.",
    "lr.runner_up": " It is {verdict}.",
    "lr.loss": " The training loss gives another view: {loss}.",
    "lr.momentum": (
        " Every rate here runs with momentum {momentum:g}, so the effective step is "
        "{factor:g} times the rate."),
    "lr.loss.top": "the final training loss at lr {lr} is {loss:.3f}, {parts}",
    "lr.loss.item": "the {loss:.3f} of lr {lr}",
    "lr.loss.lower": "below {items} in every seed",
    "lr.loss.higher": "above {items} in every seed",
    "lr.loss.same": "within noise of {items}",
    "lr.small": "Too small: lr {rates} end below the top, beyond noise.",
    "lr.small.rising": (
        " The validation accuracy at lr {lrs} still rises in the last epoch (@fig-lr): not "
        "converged in the epochs given."),
    "lr.large": "Too large: {parts}.",
    "lr.large.low": "lr {rates} end below the top beyond noise",
    "lr.large.diverged": "lr {lrs} diverged",
    "lr.stable": (
        "No rate tried was clearly too large: even lr {lr:g} (effective step {step:g}) "
        "trained stably."),

    # (c) batch size
    "batch.fixed": (
        "At batch size B an epoch makes {n_train:,}/B updates: {updates_lo:,} at batch {lo}, "
        "only {updates_hi:,} at batch {hi}. At the fixed lr 0.01 and {epochs} epochs, "
        "validation accuracy goes from {acc_lo} at batch {lo} to {acc_hi} at batch {hi}"),
    "batch.fixed.lower": ", {gain} points lower, beyond the noise of {noise} points.",
    "batch.fixed.higher": ", {gain} points higher, beyond the noise of {noise} points.",
    "batch.fixed.same": ", within noise ({noise} points).",
    "batch.fixed.updates": (
        " But that comparison also changes the number of updates: a large batch takes far "
        "fewer steps in the same epochs."),
    "batch.scaled": (
        "With the rate scaled with the batch (0.01 × B/100, so that each sample pushes "
        "the weights as far on average), the range of validation accuracy across batch "
        "sizes {change} from {fixed} to {scaled} points (@fig-batch); {within} of the other "
        "{others} batch sizes are within noise of the top (batch {top})."),
    "batch.range.shrinks": "shrinks",
    "batch.range.changes": "goes",
    "batch.within.all": "all",
    "batch.within.some": "{count}",
    "batch.scaled.updates": (
        " So most of the fixed-rate loss at large batches is the missing updates, not "
        "the batch itself: its gradient is less noisy, but at the same rate each step "
        "goes about as far, and batch {hi} makes 1/{ratio} as many steps per epoch as batch "
        "{lo}."),
    "batch.scaled.beyond": (
        " Scaling the rate does not remove most of the gap, so the batch size matters "
        "beyond the number of updates."),
    "batch.heat.rising": (
        "In the learning-rate by batch-size heat map (@fig-heatmap) the best rate per batch "
        "size is (batch: rate) {pairs}; the best rate grows with the batch, as the scaling "
        "above suggests. Neighbouring cells often differ by less than the noise: read the "
        "map for its trend, not for one cell."),
    "batch.heat.unsteady": (
        "In the learning-rate by batch-size heat map (@fig-heatmap) the best rate per batch "
        "size is (batch: rate) {pairs}; the best rate does not move steadily with the batch. "
        "Neighbouring cells often differ by less than the noise: read the map for its trend, "
        "not for one cell."),
    "batch.time": (
        "In time, an epoch at batch {lo} took {time_lo} s, {ratio} times the {time_hi} s at "
        "batch {hi} (interleaved medians): about {image_lo} µs and {image_hi} µs per image. "
        "Part of every step does not depend on the batch (calls, starting the matrix "
        "products, the update); the smaller the batch, the more of it each image carries."),
    "batch.time.fit": (
        " Fitting the time of a step as a fixed part plus a part per image: about {fixed} µs "
        "of each step do not depend on the batch, and each image adds about {per_image} µs."),

    # the best setting
    "ablation.course": "Trained for {epochs} epochs the preset reaches validation accuracy {acc}, {verdict}.",
    "ablation.short": (
        " Trained for the course's {short} epochs (the rate decaying over {short}) it reaches "
        "{acc}, {verdict_course}; {epochs} epochs are {verdict_short}."),
    "ablation.test": " Its test accuracy, measured for the final models only, is {test}.",
    "ablation.worst": (
        "Switching off one part at a time (@tab-ablation, {seeds} seeds, the same rule): "
        "removing {worst} costs the most, {drop} points of validation accuracy."),
    "ablation.earn.one": " Removing {parts} costs accuracy beyond noise: it earns its place.",
    "ablation.earn.many": " Removing {parts} costs accuracy beyond noise: each earns its place.",
    "ablation.same.one": (
        " Removing {parts} changes it by less than the noise: it has not shown a use here "
        "and stays only as the search chose."),
    "ablation.same.many": (
        " Removing {parts} change it by less than the noise: they have not shown a use here "
        "and stay only as the search chose."),
    "ablation.hurt": " Removing {parts} scores higher, beyond noise: that part should go.",

    # a user grid
    "grid.all_diverged": "Every setting diverged.",
    "grid.top": "The highest mean validation accuracy was {top} ({acc}).",
    "grid.tied.one": " {tied} is within noise of it, so it is not shown to be better.",
    "grid.tied.many": " {tied} are within noise of it, so it is not shown to be better.",
    "grid.untied": " Every other setting is below it beyond noise.",
    "grid.diverged": " Diverged: {settings}.",
    # the model
    "weights.base": (
        "Each picture is one column of W, the template of one class: an image's score for a "
        "class is the sum of its pixels times the template, so ink on a red pixel raises that "
        "class's score and ink on a blue one lowers it."),
    "weights.contrast": (
        " Their correlation with the mean test image of their class is only {own_min:.2f} "
        "to {own_max:.2f}, but with that mean minus the mean of the other nine classes it "
        "is {contrast_min:.2f} to {contrast_max:.2f}: a template records how its digit differs "
        "from the others, not what it looks like. Red lies on strokes this digit has and "
        "others seldom have; blue lies where other digits put ink and this one leaves the "
        "paper empty, and the blue is often the more visible part: in {negative} of the ten "
        "templates, the most negative pixel is one where the class has less ink on average "
        "than the other digits. The 0 template, for example, is most negative at row {row}, "
        "column {col}, where a 0 has {zero_ink} on average and the other digits {others_ink:.0%}: "
        "ink there makes an image less of a 0."),
    "weights.negative.all": "all",
    "weights.negative.some": "{empty}",
    "ink.under_1": "under 1% of full ink",
    "ink.share": "{share:.0%} of full ink",
    "weights.background": (
        " The speckle on the background is left from the initialisation: on the {pixels} "
        "pixels that carry no ink in any test image the weights have standard deviation "
        "{sd:.3f}, as the initial √(4/794) ≈ 0.071, while their change during "
        "training is almost constant within each class (standard deviation {within:.4f}). "
        "The course's preprocessing subtracts each image's own mean, so all blank pixels "
        "of an image hold the same value; they receive the same gradient and can only "
        "move together, and their random initial differences stay. For any image "
        "they add a constant to the score."),
    "confusion.none": "Every test image is classified correctly.",
    "confusion.recall": (
        "The hardest class is {hard} (recall {hard_recall:.3f}), the easiest {easy} (recall "
        "{easy_recall:.3f})."),
    "confusion.top.1": " The most frequent confusion is {pairs}.",
    "confusion.top.2": " The two most frequent confusions are {pairs}.",
    "confusion.top.3": " The three most frequent confusions are {pairs}.",
    "confusion.pair": "a {true} read as {pred} ({count} images)",
    "confusion.alike": (
        " The mean images of these pairs correlate at {correlations} (the median over all 45 "
        "pairs of digits is {median:.2f}): their strokes mostly overlap and differ in a few "
        "places{figure}. A linear model has one fixed weight per pixel and can only add up "
        "ink; it cannot express 'a digit is this only when these places are inked together', "
        "so when a stroke is shifted or unusual the few pixels that tell the two apart are "
        "outweighed by the rest."),
    "confusion.figure": " ({figure})",
    "mistakes": (
        "These are the {count} most confident mistakes: the wrong class gets probability "
        "{low:.3f} to {high:.3f} ({over} above 0.99); the most common pair among them is a "
        "{true} read as {pred} ({pair_count} images). A linear model votes pixel by pixel, so "
        "a shifted stroke or an unusual shape can make it wrong with great confidence."),
}
