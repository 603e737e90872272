"""The report on a saved study folder: numbers agree with results.json, sentences follow the
numbers (and flip when they change), the PDF has the pages and images it should and renders."""

from __future__ import annotations

import copy
import json
import re
import shutil
import subprocess

import numpy as np
import pytest

from softmax_mnist import report
from softmax_mnist.fileio import atomic_write_json
from softmax_mnist.model import SoftmaxRegression
from softmax_mnist.modelfile import save_model

THRESHOLDS = (0.90, 0.92)
COURSE = {"epochs": 10, "batch_size": 100, "lr": 0.01, "momentum": 0.0, "nesterov": False,
          "weight_decay": 0.0, "preprocess": "course", "val_size": 5000, "seed": 0}


def make_run(name, group, val_acc, epoch_time=0.1, status="ok", test_acc=None, error=None,
             **config):
    """A run dict as experiments.py writes it, its derived fields computed from ``val_acc``."""
    config = {**COURSE, **config}
    n = len(val_acc)
    times = [epoch_time] * n if np.isscalar(epoch_time) else list(epoch_time)
    cum = np.cumsum(times).tolist()
    train_acc = [min(a + 0.005, 1.0) for a in val_acc]
    train_loss = [1.5 * (1 - a) + 0.1 for a in train_acc]
    val_loss = [1.5 * (1 - a) + 0.12 for a in val_acc]
    epochs_to, seconds_to = {}, {}
    for t in THRESHOLDS:
        hit = next((e for e, a in enumerate(val_acc, 1) if a >= t), None)
        epochs_to[f"{t:.2f}"] = hit
        seconds_to[f"{t:.2f}"] = cum[hit - 1] if hit else None
    diverged = status == "diverged"
    if diverged:  # the epoch that blew up has a train loss but no validation numbers
        train_loss.append(40.0)
        train_acc.append(0.1)
        times.append(epoch_time if np.isscalar(epoch_time) else times[-1])
    return {
        "name": name, "group": group, "config": config, "status": status,
        "error": error or (f"training diverged in epoch {n + 1}: mean loss 40 is over 23 "
                           f"with learning rate {config['lr']:g}" if diverged else None),
        "history": {"train_loss": train_loss, "train_acc": train_acc, "val_loss": val_loss,
                    "val_acc": list(val_acc), "epoch_time": times},
        "seconds": float(sum(times)), "seconds_per_epoch": float(np.mean(times)),
        "epochs_to": epochs_to, "seconds_to": seconds_to,
        "final_val_acc": None if diverged else val_acc[-1],
        "final_val_loss": None if diverged else val_loss[-1],
        "test_acc": None if diverged else (test_acc if test_acc is not None
                                           else round(val_acc[-1] - 0.004, 4)),
        "test_loss": None if diverged else val_loss[-1] + 0.01,
    }


def rising(start, end, n=10):
    return [round(float(v), 4) for v in np.linspace(start, end, n)]


def fake_results() -> dict:
    """A full study with chosen numbers: momentum 0.9 is faster and more accurate than plain
    SGD, lr 0.05 is best (0.001 too small, 0.5 diverges), batch 50 is best."""
    runs = [
        make_run("momentum-0", "momentum", rising(0.86, 0.905), 0.10, test_acc=0.9012),
        make_run("momentum-0.9", "momentum", rising(0.90, 0.935), 0.11, test_acc=0.9205,
                 momentum=0.9),
        make_run("nesterov-0.9", "momentum", rising(0.905, 0.936), 0.12, test_acc=0.9211,
                 momentum=0.9, nesterov=True),
    ]
    for lr, accs in ((0.001, rising(0.70, 0.86)), (0.005, rising(0.85, 0.91)),
                     (0.01, rising(0.90, 0.92)), (0.05, rising(0.91, 0.93)),
                     (0.1, rising(0.90, 0.925))):
        runs.append(make_run(f"lr-{lr:g}", "lr", accs, 0.11, lr=lr, momentum=0.9))
    runs.append(make_run("lr-0.5", "lr", [0.5], 0.11, status="diverged", lr=0.5, momentum=0.9))
    for bs, acc, t in ((1, 0.905, 5.0), (10, 0.918, 0.8), (50, 0.928, 0.2), (100, 0.925, 0.12),
                       (1000, 0.89, 0.05)):
        runs.append(make_run(f"bs-{bs}", "batch_size", rising(acc - 0.03, acc), t,
                             batch_size=bs, momentum=0.9))
    return {
        "meta": {"version": "0.1.0", "seed": 0, "quick": False, "data_dir": "/data/mnist",
                 "started": "2026-11-26T15:00:00+00:00", "total_seconds": 95.2,
                 "machine": {"cpu": "Test CPU", "cores": 2, "python": "3.11.7",
                             "numpy": "2.4.6"},
                 "thresholds": list(THRESHOLDS)},
        "setup": {"n_train": 55000, "n_val": 5000, "n_test": 10000, "preprocess": "course",
                  "init": "W, b ~ Normal(0, sqrt(4/(784+10)))",
                  "model": "softmax regression 784->10"},
        "runs": runs,
        "groups": {"momentum": ["momentum-0", "momentum-0.9", "nesterov-0.9"],
                   "lr": [r["name"] for r in runs if r["group"] == "lr"],
                   "batch_size": [r["name"] for r in runs if r["group"] == "batch_size"]},
        "best": {"lr": "lr-0.05", "batch_size": "bs-50", "overall": "nesterov-0.9"},
    }


def write_examples(path, k=12, seed=0):
    rng = np.random.default_rng(seed)
    cm = np.diag(np.full(10, 900)).astype(np.int64) + rng.integers(0, 12, (10, 10))
    np.fill_diagonal(cm, 900)
    cm[4, 9] = 40  # the most frequent mistake
    images = rng.integers(0, 256, (k, 28, 28)).astype(np.uint8)
    true = rng.integers(0, 10, k)
    pred = (true + 1) % 10
    np.savez(path, confusion=cm,
             mistakes_images=images, mistakes_true=true, mistakes_pred=pred,
             mistakes_prob=np.linspace(0.99, 0.9, k),
             ambiguous_images=images[::-1], ambiguous_true=true, ambiguous_pred=true,
             ambiguous_prob=np.linspace(0.3, 0.4, k), ambiguous_margin=np.linspace(0, 0.01, k))
    return cm


def write_study(folder, results=None, model=True, examples=True):
    folder.mkdir(parents=True, exist_ok=True)
    atomic_write_json(folder / "results.json", results or fake_results())
    if model:
        save_model(folder / "model.npz", SoftmaxRegression(784, 10, np.random.default_rng(0)),
                   "course")
    if examples:
        write_examples(folder / "examples.npz")
    return folder


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    folder = write_study(tmp_path_factory.mktemp("study") / "study")
    return folder, report.build_report(folder)


# ---- the numbers agree with results.json ---------------------------------------------------


def test_writes_markdown_pdf_and_figures(built):
    folder, paths = built
    assert paths.markdown == folder / "report.md" and paths.markdown.is_file()
    assert paths.pdf == folder / "report.pdf" and paths.pdf.read_bytes().startswith(b"%PDF")
    names = sorted(p.name for p in (folder / "figures").glob("*.png"))
    assert names == sorted([
        "curves-momentum-0.png", "curves-momentum-0.9.png", "momentum.png", "lr-curves.png",
        "lr-summary.png", "batch-size-curves.png", "batch-size-summary.png", "weights.png",
        "confusion.png", "mistakes.png", "ambiguous.png"])
    assert sorted(p.name for p in paths.figures) == names
    assert not list(folder.glob(".*.tmp")) and not list((folder / "figures").glob(".*.tmp"))


def test_markdown_numbers_agree_with_results(built):
    folder, _ = built
    md = (folder / "report.md").read_text()
    results = json.loads((folder / "results.json").read_text())
    runs = {r["name"]: r for r in results["runs"]}
    assert "test accuracy 0.9205" in md  # momentum-0.9 in the headline
    assert f"{runs['momentum-0']['test_acc']:.4f}" in md
    assert "the best learning rate was 0.05 (final validation accuracy 0.9300" in md
    assert "the best batch size on the validation split was 50" in md
    # every run appears in a table row with its final validation and test accuracy
    for r in results["runs"]:
        row = next(line for line in md.splitlines() if line.startswith(f"| {r['name']} |"))
        assert report.f4(r["final_val_acc"]) in row and report.f4(r["test_acc"]) in row
    # every figure is linked and exists
    for link in re.findall(r"!\[[^]]*\]\(([^)]+)\)", md):
        assert (folder / link).is_file()
    assert "Machine: Test CPU, 2 cores" in md
    assert "55,000 training images" in md


def test_discussion_sentences_from_the_numbers(built):
    folder, _ = built
    md = (folder / "report.md").read_text()
    # momentum-0.9 is at 0.90 in epoch 1; momentum-0 needs epoch 9 (0.86 -> 0.905 by 0.005)
    assert ("Momentum 0.9 reached 0.90 validation accuracy first: in epoch 1 against epoch 9 "
            "for plain SGD, 8 epochs earlier; in training time momentum 0.9 got "
            "there 0.790 s sooner (0.110 s against 0.900 s).") in md
    assert "Only momentum 0.9 reached 0.92 validation accuracy" in md
    assert ("The test accuracy of momentum 0.9 is 0.9205 against 0.9012 for plain SGD: 1.93 "
            "percentage points higher (193 test images of 10,000)") in md
    assert "An epoch took 0.110 s with momentum 0.9 against 0.100 s with plain SGD, 10% more." \
        in md
    assert ("Too small: learning rates 0.001, 0.005 and 0.01 ended well below the best (final "
            "validation accuracy 0.8600, 0.9100 and 0.9200).") in md
    assert "Too large: learning rate 0.5 diverged in epoch 2." in md
    assert "Larger learning rate 0.1 still ended within 1 point of the best (0.9250)" in md
    assert "Time per epoch fell every time the batch grew, from 5.000 s at batch size 1 " \
           "to 0.050 s at 1000 (100.0 times faster)" in md
    assert "Above the best, the larger the batch, the lower the accuracy." in md
    assert "The most frequent mistake is a true 4 predicted as 9 (40 images)." in md
    assert "After 10 epochs both had about the same training loss (0.1900 and 0.1885" in md


def flipped_momentum(results):
    """momentum 0 made fast and accurate, momentum 0.9 slow and worse."""
    r = copy.deepcopy(results)
    runs = {x["name"]: x for x in r["runs"]}
    r["runs"][0] = make_run("momentum-0", "momentum", rising(0.91, 0.93), 0.10, test_acc=0.9250)
    r["runs"][1] = make_run("momentum-0.9", "momentum", rising(0.85, 0.915), 0.20,
                            test_acc=0.9100, momentum=0.9)
    assert runs["momentum-0"] is not r["runs"][0]
    return r


def test_sentences_flip_when_the_numbers_do(tmp_path):
    folder = write_study(tmp_path / "flipped", flipped_momentum(fake_results()),
                         model=False, examples=False)
    report.build_report(folder)
    md = (folder / "report.md").read_text()
    assert "Plain SGD reached 0.90 validation accuracy first: in epoch 1 against " \
           "epoch 8 for momentum 0.9, 7 epochs earlier" in md
    assert "Only plain SGD reached 0.92 validation accuracy" in md
    assert "1.50 percentage points lower" in md
    assert "Momentum 0.9 reached 0.90 validation accuracy first" not in md
    assert "100% more" in md
    # no model / examples: no weight, confusion or example figures, no error section
    assert not (folder / "figures" / "weights.png").exists()
    assert "Errors of the reference model" not in md


def test_convergence_sentence_cases():
    fast = make_run("a", "momentum", [0.91, 0.93], 0.1)
    slow_epochs_fast_seconds = make_run("b", "momentum", [0.85, 0.91], 0.02, momentum=0.9)
    s = report.convergence_sentence(fast, slow_epochs_fast_seconds, 0.90)
    assert s == ("Plain SGD reached 0.90 validation accuracy in fewer epochs: in "
                 "epoch 1 against epoch 2 for momentum 0.9, 1 epoch earlier, but in training "
                 "time momentum 0.9 got there 0.060 s sooner (0.040 s against 0.100 s). The "
                 "epochs of plain SGD were slower.")
    same = make_run("c", "momentum", [0.91, 0.93], 0.1, momentum=0.9)
    s = report.convergence_sentence(fast, same, 0.92)
    assert "both reached 0.92 validation accuracy in epoch 2" in s and "about the same" in s
    never = make_run("d", "momentum", [0.5, 0.6], 0.1, momentum=0.9)
    s = report.convergence_sentence(never, make_run("e", "momentum", [0.5, 0.7], 0.1), 0.9)
    assert s.startswith("Neither momentum 0.9 nor plain SGD reached 0.90 validation accuracy ("
                        "momentum 0.9: best 0.6000")
    assert "best 0.7000" in s


def test_accuracy_sentence_same_and_noise():
    a = make_run("a", "momentum", [0.9], test_acc=0.9100)
    b = make_run("b", "momentum", [0.9], test_acc=0.9100, momentum=0.9)
    assert "have the same test accuracy, 0.9100" in report.accuracy_sentence(a, b, 10000)
    b["test_acc"] = 0.9110
    s = report.accuracy_sentence(a, b, 10000)
    assert "0.10 percentage points higher (10 test images of 10,000)" in s
    assert "does not separate the two" in s
    b["status"], b["test_acc"] = "diverged", None
    assert "diverged, so there is no test accuracy" in report.accuracy_sentence(a, b, 10000)


def test_lr_discussion_edges():
    # best is the largest and the smallest is within a point: nothing too small or too large
    runs = [make_run("lr-0.01", "lr", [0.915], lr=0.01), make_run("lr-0.1", "lr", [0.92], lr=0.1)]
    text = " ".join(report.lr_discussion(runs))
    assert "does not show where the rate becomes too large" in text
    assert "not clearly too small" in text and "Too small" not in text
    # a larger rate that trains but ends well below the best
    runs.append(make_run("lr-1", "lr", [0.85, 0.80], lr=1.0))
    text = " ".join(report.lr_discussion(runs))
    assert "Too large: learning rate 1 trained without diverging but ended well below" in text
    assert ("At learning rate 1 the final training loss was higher (0.3925 against 0.2125 at "
            "0.1) and validation accuracy fell by up to 5.00 points from one epoch to the next "
            "(at most 0.00 at 0.1).") in text
    all_bad = [make_run("lr-9", "lr", [0.1], status="diverged", lr=9.0)]
    assert "Every learning rate in the sweep diverged" in report.lr_discussion(all_bad)[0]


def test_batch_size_discussion_non_monotone_time():
    runs = [make_run("bs-1", "batch_size", [0.90], 0.5, batch_size=1),
            make_run("bs-10", "batch_size", [0.92], 0.1, batch_size=10),
            make_run("bs-100", "batch_size", [0.91], 0.2, batch_size=100)]
    text = " ".join(report.batch_size_discussion(runs, 55000))
    assert "An epoch is 55,000 updates at batch size 1 and 550 at batch size 100." in text
    assert "the fastest epochs were at batch size 10" in text
    assert "Batch size 10 was both the most accurate and the fastest per epoch." in text
    assert "fell every time" not in text


# ---- the PDF ------------------------------------------------------------------------------


def images_drawn(page) -> int:
    """Image XObjects a page draws (``/Name Do``). Not ``len(page.images)``: matplotlib's PDFs
    share one resource dictionary between pages, so that lists every image on every page."""
    from pypdf.generic import ContentStream

    xobjects = page["/Resources"]["/XObject"].get_object()
    ops = ContentStream(page.get_contents(), page.pdf).operations
    return sum(1 for operands, op in ops if op == b"Do"
               and xobjects[operands[0]].get_object()["/Subtype"] == "/Image")


def test_pdf_pages_and_images(built):
    from pypdf import PdfReader

    folder, paths = built
    reader = PdfReader(paths.pdf)
    assert len(reader.pages) == paths.pdf_pages
    images = [images_drawn(page) for page in reader.pages]
    assert [i for i, n in enumerate(images) if n] == paths.figure_pages
    assert all(images[i] == 1 for i in paths.figure_pages)
    assert len(paths.figure_pages) == 11  # one page, one image per figure
    text_pages = len(reader.pages) - 11
    assert 3 <= text_pages <= 12
    first = reader.pages[0].extract_text()
    assert "softmax-mnist study report" in first
    all_text = " ".join(p.extract_text() for p in reader.pages)
    assert "0.9205" in all_text and "Too small" in all_text


def test_pdf_renders_with_pdftoppm(built, tmp_path):
    assert shutil.which("pdftoppm"), "pdftoppm missing: apt-get install poppler-utils"
    _, paths = built
    subprocess.run(["pdftoppm", "-png", "-r", "30", "-f", "1", "-l", "1", str(paths.pdf),
                    str(tmp_path / "page")], check=True, capture_output=True)
    pngs = list(tmp_path.glob("page*.png"))
    assert len(pngs) == 1 and pngs[0].stat().st_size > 1000


# ---- other folders: a sweep, a quick study, bad input -----------------------------------


def test_sweep_folder_with_one_grid_group(tmp_path):
    runs = [make_run(f"grid-{i}", "grid", [0.85 + 0.01 * i], 0.1 + 0.05 * i, lr=lr)
            for i, lr in enumerate((0.01, 0.05, 0.1))]
    runs.append(make_run("grid-3", "grid", [0.6], status="diverged", lr=2.0))
    results = {**fake_results(), "runs": runs, "groups": {"grid": [r["name"] for r in runs]},
               "best": {"overall": "grid-2"}}
    paths = report.build_report(write_study(tmp_path / "sweep", results, model=False,
                                            examples=False))
    md = paths.markdown.read_text()
    assert "the best on the validation split was grid-2 (lr 0.1)" in md
    assert "Diverged: grid-3 in epoch 2." in md
    assert sorted(p.name for p in paths.figures) == ["grid-curves.png", "grid-summary.png"]
    # two settings varying: bars instead of a log axis
    runs[0]["config"]["batch_size"] = 10
    paths = report.build_report(write_study(tmp_path / "sweep2", results, model=False,
                                            examples=False))
    assert len(paths.figures) == 2
    md = paths.markdown.read_text()
    assert ("Best final validation accuracy for each batch_size (over the other settings): "
            "10: 0.8500; 100: 0.8700.") in md
    assert "for each lr (over the other settings): 0.01: 0.8500; 0.05: 0.8600; 0.1: 0.8700; " \
           "2.0: all diverged." in md


def test_quick_study_where_no_threshold_is_reached(tmp_path):
    results = fake_results()
    results["meta"]["quick"] = True
    for r in results["runs"]:
        if r["group"] == "momentum":
            r.update(make_run(r["name"], "momentum", [0.6, 0.7], 0.01, **r["config"]))
    report.build_report(write_study(tmp_path / "quick", results))
    md = (tmp_path / "quick" / "report.md").read_text()
    assert "**Quick mode**" in md
    assert "Neither plain SGD nor momentum 0.9 reached 0.90 validation accuracy (nor 0.92)" in md
    assert "reached 0.92" not in md


def test_missing_or_bad_results(tmp_path):
    with pytest.raises(report.ReportError, match="results.json not found"):
        report.build_report(tmp_path)
    (tmp_path / "results.json").write_text("{nope")
    with pytest.raises(report.ReportError, match="not valid JSON"):
        report.build_report(tmp_path)
