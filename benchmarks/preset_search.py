"""How ``--preset best`` was chosen: every choice on the validation split, test only reported.

Stage 1 compares image transforms (transforms.py) under one optimizer setting; stage 2
compares optimizer settings on the best transform of stage 1. Each cell is the mean
validation accuracy over ``--seeds`` seeds (55,000 train / 5,000 validation, the course
split). At the end, the chosen setting's test accuracy per seed is printed: reported only.

    python benchmarks/preset_search.py [--data-dir DIR] [--seeds 3] [--quick]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from epoch import default_data_dir, machine_lines  # noqa: E402

from softmax_mnist.core.config import TrainConfig  # noqa: E402
from softmax_mnist.core.data import load_splits  # noqa: E402
from softmax_mnist.core.loop import evaluate  # noqa: E402
from softmax_mnist.core.presets import PRESETS  # noqa: E402
from softmax_mnist.study.run import train_model  # noqa: E402

TRANSFORMS = {  # name -> (deskew, ink_size, blur_sigma)
    "none": (False, 0.0, 0.0),
    "blur 0.8": (False, 0.0, 0.8),
    "deskew": (True, 0.0, 0.0),
    "deskew + blur 0.8": (True, 0.0, 0.8),
    "size 5.5 + blur 0.8": (False, 5.5, 0.8),
    "deskew + size 5.5": (True, 5.5, 0.0),
    "deskew + size 5.0 + blur 0.8": (True, 5.0, 0.8),
    "deskew + size 5.5 + blur 0.5": (True, 5.5, 0.5),
    "deskew + size 5.5 + blur 0.8": (True, 5.5, 0.8),
    "deskew + size 5.5 + blur 1.0": (True, 5.5, 1.0),
    "deskew + size 6.0 + blur 0.8": (True, 6.0, 0.8),
}
STAGE1 = {"epochs": 10, "batch_size": 100, "lr": 0.1, "momentum": 0.9, "lr_decay": "linear"}
STAGE2 = [  # optimizer settings tried on the best transform
    {"epochs": 10, "batch_size": 100, "lr": 0.01, "momentum": 0.9, "lr_decay": "none"},
    {"epochs": 10, "batch_size": 100, "lr": 0.05, "momentum": 0.9, "lr_decay": "none"},
    {"epochs": 10, "batch_size": 100, "lr": 0.05, "momentum": 0.9, "lr_decay": "linear"},
    {"epochs": 10, "batch_size": 100, "lr": 0.1, "momentum": 0.9, "lr_decay": "linear"},
    {"epochs": 10, "batch_size": 100, "lr": 0.2, "momentum": 0.9, "lr_decay": "linear"},
    {"epochs": 20, "batch_size": 100, "lr": 0.1, "momentum": 0.9, "lr_decay": "linear"},
    {"epochs": 10, "batch_size": 100, "lr": 0.1, "momentum": 0.9, "lr_decay": "linear",
     "weight_decay": 1e-4},
    {"epochs": 10, "batch_size": 50, "lr": 0.05, "momentum": 0.9, "lr_decay": "linear"},
]


def val_accs(data, settings: dict, seeds) -> list[float]:
    accs = []
    for seed in seeds:
        config = TrainConfig(**settings, seed=seed)
        model, hist = train_model(config, data)
        accs.append(hist.val_acc[-1])
    return accs


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data-dir", type=Path, default=default_data_dir())
    p.add_argument("--seeds", type=int, default=3)
    p.add_argument("--quick", action="store_true", help="3 transforms, 2 settings (a smoke test)")
    args = p.parse_args(argv)
    seeds = range(args.seeds)
    transforms = dict(list(TRANSFORMS.items())[:: 4 if args.quick else 1])
    stage2 = STAGE2[2:4] if args.quick else STAGE2
    print("preset search (benchmarks/preset_search.py): mean validation accuracy over seeds "
          f"{list(seeds)}")
    print("\n".join(machine_lines()))
    t0 = time.perf_counter()

    print(f"\nStage 1: image transforms, optimizer {STAGE1}\n")
    print("| transform | val acc (mean) | per seed |")
    print("|---|---:|---|")
    stage1 = {}
    for name, (deskew, ink_size, blur_sigma) in transforms.items():
        spec = {"deskew": deskew, "ink_size": ink_size, "blur_sigma": blur_sigma}
        data = load_splits(args.data_dir, 5000, "course", spec)
        accs = val_accs(data, {**STAGE1, **spec}, seeds)
        stage1[name] = (statistics.mean(accs), spec)
        del data
        print(f"| {name} | {statistics.mean(accs):.4f} | "
              f"{' '.join(f'{a:.4f}' for a in accs)} |", flush=True)
    best_t = max(stage1, key=lambda k: stage1[k][0])
    spec = stage1[best_t][1]
    data = load_splits(args.data_dir, 5000, "course", spec)

    print(f"\nStage 2: optimizer settings on \"{best_t}\"\n")
    print("| epochs | batch | lr | momentum | lr decay | weight decay | val acc (mean) | per seed |")
    print("|---:|---:|---:|---:|---|---:|---:|---|")
    results = []
    for s in stage2:
        accs = val_accs(data, {**s, **spec}, seeds)
        results.append((statistics.mean(accs), s))
        print(f"| {s['epochs']} | {s['batch_size']} | {s['lr']:g} | {s['momentum']:g} | "
              f"{s['lr_decay']} | {s.get('weight_decay', 0):g} | {statistics.mean(accs):.4f} | "
              f"{' '.join(f'{a:.4f}' for a in accs)} |", flush=True)
    best_acc, best_s = max(results, key=lambda r: r[0])
    chosen = {**best_s, **spec}
    print(f"\nchosen on validation: {chosen} (val {best_acc:.4f})")
    print(f"softmax_mnist.core.presets.PRESETS['best'] is {PRESETS['best']}"
          + ("  (the same)" if TrainConfig(**PRESETS["best"]) == TrainConfig(**chosen)
             else "  (DIFFERENT: update presets.py)"))
    tests = []
    for seed in seeds:
        model, _ = train_model(TrainConfig(**chosen, seed=seed), data)
        tests.append(evaluate(model, data.x_test, data.y_test)[1])
    print(f"test accuracy of the chosen setting (reported only): mean {statistics.mean(tests):.4f}, "
          f"per seed {' '.join(f'{a:.4f}' for a in tests)}")
    print(f"({time.perf_counter() - t0:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
