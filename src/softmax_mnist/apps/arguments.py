"""The command line's grammar: each subcommand of ``softmax-mnist`` with its flags and help.

Only argparse here; cli.py runs the commands and prints. The training settings' defaults in
the help are read from TrainConfig (core/config.py), never written again here.
"""

from __future__ import annotations

import argparse

from softmax_mnist import __version__
from softmax_mnist.core.config import LR_DECAYS, TrainConfig
from softmax_mnist.core.data import PREPROCESS_MODES
from softmax_mnist.core.presets import PRESETS

DEFAULT = TrainConfig()


def _on(flag: bool) -> str:
    return "on" if flag else "off"


class Parser(argparse.ArgumentParser):
    """argparse, but a bad flag is one line (and the exit code 2), not a usage block."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _data_dir_flag(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data-dir", metavar="DIR",
                   help="folder with the MNIST IDX files (default: $MNIST_DATA_DIR, "
                        "else ~/.cache/softmax-mnist/mnist)")


def _add_train(sub) -> argparse.ArgumentParser:
    p = sub.add_parser("train", help="train one model and write its run folder",
                       description="Train softmax regression with minibatch SGD and write "
                       "config.json, history.csv, metrics.json, model.npz and curves.png.")
    _data_dir_flag(p)
    p.add_argument("--preset", choices=list(PRESETS),
                   help="start from named settings; --config and flags override them. best: "
                        "deskew + size-normalise + blur each image, SGD with momentum and a "
                        "decaying learning rate (about 0.964 test accuracy)")
    p.add_argument("--config", metavar="FILE.toml", help="settings file; flags override it")
    p.add_argument("--epochs", type=int, help=f"passes over the training split (default {DEFAULT.epochs})")
    p.add_argument("--batch-size", type=int, help=f"minibatch size (default {DEFAULT.batch_size})")
    p.add_argument("--lr", type=float, help=f"learning rate (default {DEFAULT.lr:g})")
    p.add_argument("--momentum", type=float,
                   help=f"heavy-ball momentum in [0, 1) (default {DEFAULT.momentum:g})")
    p.add_argument("--nesterov", action=argparse.BooleanOptionalAction, default=None,
                   help=f"Nesterov momentum (default {_on(DEFAULT.nesterov)})")
    p.add_argument("--weight-decay", type=float,
                   help=f"L2 weight decay on W (default {DEFAULT.weight_decay:g})")
    p.add_argument("--preprocess", choices=PREPROCESS_MODES,
                   help="course: x/255 minus the image's mean; unit: x/255; standardize: "
                        f"train-split mean and std (default {DEFAULT.preprocess})")
    p.add_argument("--val-size", type=int, help="validation images taken from the end of "
                   f"the training file (default {DEFAULT.val_size})")
    p.add_argument("--seed", type=int,
                   help=f"random seed for init and shuffling (default {DEFAULT.seed})")
    p.add_argument("--lr-decay", choices=LR_DECAYS,
                   help="linear: epoch e of E trains at lr * (E - e + 1) / E "
                        f"(default {DEFAULT.lr_decay})")
    p.add_argument("--deskew", action=argparse.BooleanOptionalAction, default=None,
                   help=f"centre and straighten each image by its moments (default {_on(DEFAULT.deskew)})")
    p.add_argument("--ink-size", type=float, metavar="PIXELS",
                   help="also scale each image's ink to this vertical spread, e.g. 5.5 "
                        f"(default {DEFAULT.ink_size:g}: off)")
    p.add_argument("--blur", type=float, dest="blur_sigma", metavar="SIGMA",
                   help="Gaussian blur of SIGMA pixels after that, e.g. 0.8 "
                        f"(default {DEFAULT.blur_sigma:g}: off)")
    p.add_argument("--out", metavar="DIR", help="run folder (default runs/train-<time>)")
    p.add_argument("--force", action="store_true",
                   help="replace the run in a non-empty --out (only a folder softmax-mnist wrote; "
                        "the new run trains in OUT.partial and replaces it once complete)")
    p.add_argument("--resume", metavar="DIR",
                   help="continue the interrupted run in DIR (its settings come from DIR)")
    p.add_argument("--checkpoint-every", type=int, default=0, metavar="N",
                   help="checkpoint every N steps as well as after every epoch")
    p.add_argument("--display-freq", type=int, default=0, metavar="N",
                   help="also print every N iterations")
    p.add_argument("-q", "--quiet", action="store_true", help="print only the final line")
    return p


def _add_evaluate(sub) -> argparse.ArgumentParser:
    p = sub.add_parser("evaluate", help="loss and accuracy of a saved model on a split")
    p.add_argument("model", metavar="MODEL", help="a model.npz from train")
    _data_dir_flag(p)
    p.add_argument("--split", choices=["train", "val", "test"], default="test",
                   help="test (default): the 10,000 test images; train / val: the model's own "
                        "split of the training file")
    p.add_argument("--val-size", type=int, default=None,
                   help="validation size (default: the one the model was trained with)")
    p.add_argument("--json", action="store_true", help="print JSON")
    return p


def _add_download(sub) -> argparse.ArgumentParser:
    p = sub.add_parser("download", help="fetch the four MNIST files (md5-checked)")
    _data_dir_flag(p)
    p.add_argument("--mirror", action="append", metavar="URL",
                   help="try this mirror (repeatable; default: the known MNIST mirrors)")
    p.add_argument("--timeout", type=float, default=300.0,
                   help="seconds each file may take from a mirror, per file from the request to "
                        "the last byte; a slower mirror is left for the next (default 300)")
    p.add_argument("-q", "--quiet", action="store_true",
                   help="no progress bar and no line per file: print only the final line")
    return p


def _study_flags(p: argparse.ArgumentParser, kind: str) -> None:
    _data_dir_flag(p)
    p.add_argument("--out", metavar="DIR", help=f"study folder (default runs/{kind}-<time>)")
    p.add_argument("--seed", type=int, default=None,
                   help="first seed: a study runs each setting with seeds N, N+1, N+2; for one seed "
                        "every setting starts from the same weights and sees the same batches "
                        f"(default {DEFAULT.seed})")
    p.add_argument("-v", "--verbose", action="store_true", help="also print a line per epoch")
    p.add_argument("-q", "--quiet", action="store_true",
                   help="no line per pass or run and no progress bars; only the final lines")
    p.add_argument("--force", action="store_true",
                   help=f"replace the {kind} in a non-empty --out (only a folder softmax-mnist "
                        "wrote; the new one works in OUT.partial and replaces it once complete)")
    p.add_argument("--resume", metavar="DIR", help="continue the interrupted study or sweep in "
                   "DIR at the first run that did not finish (its plan comes from DIR)")
    _lang_flag(p)


def _lang_flag(p: argparse.ArgumentParser) -> None:
    p.add_argument("--lang", choices=["zh", "en"], default="zh",
                   help="language of the report: zh (Chinese, the course's; report.pdf, the default) "
                   "or en (report.en.pdf, report.en.md, figures.en/ beside the Chinese ones)")


def _add_study(sub) -> argparse.ArgumentParser:
    p = sub.add_parser("study", help="the course study: momentum, learning rate, batch size, report",
                       description="Train momentum 0 (the course baseline), 0.9 and Nesterov 0.9, "
                       "a learning-rate sweep and a batch-size sweep; write results.json, "
                       "results.csv, model.npz, examples.npz, figures, report.md and report.pdf.")
    p.add_argument("--quick", action="store_true",
                   help="5,000 training images, 2 epochs, fewer sweep values (seconds; for tests)")
    p.add_argument("--impl", metavar="DIR",
                   help="train with the SoftmaxCrossEntropyLoss and SGD of DIR/loss.py and "
                        "DIR/optimizer.py (a student's own, as `check` reads them) instead of this "
                        "package's, so the report describes them; their code runs in a worker "
                        "process without check's memory limit: an exit, a crash or a hang in it is "
                        "one line, and Ctrl-C stops it")
    _study_flags(p, "study")
    return p


def _add_sweep(sub) -> argparse.ArgumentParser:
    p = sub.add_parser("sweep", help="train every combination of a TOML grid, then report",
                       description="CONFIG.toml holds a [grid] table of lists and an optional "
                       "[fixed] table, e.g. [grid] lr = [0.01, 0.1]  momentum = [0, 0.9] and "
                       "[fixed] epochs = 5. A seed in the file overrides --seed.")
    p.add_argument("config", metavar="CONFIG.toml", help="the grid to sweep")
    _study_flags(p, "sweep")
    return p


def _add_report(sub) -> argparse.ArgumentParser:
    p = sub.add_parser("report", help="rebuild report.md and report.pdf from a study folder",
                       description="Rebuild the figures, report.md and report.pdf from the "
                       "results of `study` or `sweep`, without training.")
    p.add_argument("results_dir", metavar="RESULTS_DIR", help="a folder with results.json")
    _lang_flag(p)
    p.add_argument("--typeset-only", action="store_true",
                   help="only compile the folder's (edited) report.typ into report.pdf "
                   "(with --lang en: report.en.typ into report.en.pdf)")
    return p


def _add_predict(sub) -> argparse.ArgumentParser:
    p = sub.add_parser("predict", help="read the digit in image files (photos, scans, drawings)",
                       description="Prepare each image as MNIST was (grayscale, white on black, "
                       "cropped, longest side 20 px, centred by mass in 28x28), then print the "
                       "predicted digit and the ten probabilities. Exit code 1 if any image failed.")
    p.add_argument("model", metavar="MODEL", help="a model.npz from train or study")
    p.add_argument("images", metavar="IMAGE", nargs="+", help="image files: PNG, JPEG, GIF, ...")
    p.add_argument("--json", action="store_true", help="print a JSON list, errors included")
    p.add_argument("--save-prepared", metavar="DIR",
                   help="write the 28x28 image the model saw to DIR/<image name>.png")
    return p


def _add_serve(sub) -> argparse.ArgumentParser:
    p = sub.add_parser("serve", help="the playground (train in the browser), or a page to draw "
                       "digits for a model to read",
                       description="Without MODEL: the playground at /, to train with chosen "
                       "settings and watch the loss, accuracy and weights change, then draw digits "
                       "for a run. With MODEL: the draw page at / (live probabilities, the 28x28 "
                       "image the model saw, its weight templates), the playground at /playground.")
    p.add_argument("model", metavar="MODEL", nargs="?",
                   help="a model.npz from train or study (optional)")
    _data_dir_flag(p)
    p.add_argument("--host", default="127.0.0.1",
                   help="address to listen on (default 127.0.0.1: this machine only)")
    p.add_argument("--port", type=int, default=8000, help="port (default 8000; 0: any free port)")
    p.add_argument("--timeout", type=int, default=30, metavar="SECONDS",
                   help="close a connection that sends nothing for this long, mid-request or idle "
                        "(default 30)")
    p.add_argument("-v", "--verbose", action="store_true", help="log every request")
    return p


def _add_check(sub) -> argparse.ArgumentParser:
    p = sub.add_parser("check", help="is a student's loss.py and optimizer.py right? (PASS/FAIL)",
                       description="Check a student's loss.py (SoftmaxCrossEntropyLoss) and "
                       "optimizer.py (SGD) against this package's reference: no deep learning "
                       "framework, construction, forward (also large logits, a batch of 1, an odd "
                       "batch), accuracy, gradients (also by central differences), SGD with and "
                       "without momentum, trainable=False, vectorisation, and a short MNIST run. "
                       "One PASS/FAIL line per check with a hint, then a summary. Exit status 0: "
                       "all passed, 1: some failed, 2: could not run (also: the MNIST files cannot "
                       "be read). The student's code runs in a child process with a time limit per "
                       "check, a memory limit and a limit on processes, and everything it starts is "
                       "ended with it: a guard against mistakes (an endless loop, a huge array, "
                       "sys.exit, a stray print), NOT a security sandbox; do not run code you do not "
                       "trust. What a determined student can still forge: the results come from "
                       "the child over a private channel with a random key, but code that searches "
                       "its own process can find both and report PASS for every check; it can also "
                       "outrun the limits (processes started from C code pass the cap on starts, and "
                       "one started with a cleaned environment after a double fork is not found), "
                       "and read or change any file this user can.")
    p.add_argument("folder", metavar="DIR", help="the folder with loss.py and optimizer.py (with "
                   "--each: a folder of such folders)")
    _data_dir_flag(p)
    p.add_argument("--each", action="store_true", help="check every subfolder of DIR (one per "
                   "submission), several at once; write results.csv and print a table")
    p.add_argument("--jobs", type=int, metavar="N", help="with --each: submissions checked at "
                   "once (default: one per core)")
    p.add_argument("--out", metavar="FILE", help="with --each: the CSV (default DIR/results.csv)")
    p.add_argument("--skeleton", action="store_true", help="the same as `softmax-mnist skeleton DIR` "
                   "(kept as an alias): write the two files to fill in, instead of checking")
    p.add_argument("--json", action="store_true", help="print JSON")
    return p


def _add_skeleton(sub) -> argparse.ArgumentParser:
    p = sub.add_parser("skeleton", help="write loss.py and optimizer.py to fill in (TODOs), for check",
                       description="Write the course's two files into DIR (a new folder, or one "
                       "without them): SoftmaxCrossEntropyLoss in loss.py and SGD in optimizer.py, "
                       "the given parts written and the parts to fill in marked TODO. Then run "
                       "`softmax-mnist check DIR` until every check passes. Never overwrites a file.")
    p.add_argument("folder", metavar="DIR", help="where to write loss.py and optimizer.py")
    return p


def build_parser(commands: dict | None = None) -> argparse.ArgumentParser:
    """The whole command line; ``commands`` maps each subcommand's name to the function that
    runs it (``args.func``; cli.COMMANDS)."""
    parser = Parser(prog="softmax-mnist",
                    description="Softmax regression on MNIST, from scratch in NumPy.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=Parser)
    for name, add in (("train", _add_train), ("evaluate", _add_evaluate),
                      ("download", _add_download), ("study", _add_study), ("sweep", _add_sweep),
                      ("report", _add_report), ("predict", _add_predict), ("serve", _add_serve),
                      ("check", _add_check), ("skeleton", _add_skeleton)):
        add(sub).set_defaults(func=(commands or {}).get(name))
    return parser
