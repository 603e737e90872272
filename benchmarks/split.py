"""A sweep's two halves: a forked process (Linux), a spawned one (Windows, macOS), or one after
the other in this process, side by side in one run.

    python benchmarks/split.py [--data-dir DIR] [--repeats 5] [--batch-sizes 100,1000] [--epochs 1]

16 settings (8 learning rates x momentum 0 / 0.9), the whole 55,000-image training split;
each round runs the three ways in turn (interleaved), and the table gives medians and the
median of each round's ratio to "in turn". The weights are checked to be the same bits. It
also prints what this machine's calibration (core/twocores.py) chose.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import statistics
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from softmax_mnist.core import twocores  # noqa: E402
from softmax_mnist.core.config import TrainConfig  # noqa: E402
from softmax_mnist.core.data import load_splits  # noqa: E402
from softmax_mnist.core.fit import fit_stacked  # noqa: E402

WAYS = {"fork": dict(start="fork"), "spawn": dict(start="spawn"), "in turn": dict(processes=1)}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data-dir")
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--batch-sizes", default="100,1000")
    p.add_argument("--epochs", type=int, default=1)
    args = p.parse_args(argv)
    data = load_splits(args.data_dir, 5000, "course")
    ways = {w: kw for w, kw in WAYS.items() if kw.get("start", "fork") in mp.get_all_start_methods()
            or "processes" in kw}
    lrs = np.geomspace(0.001, 0.3, 8)
    rows = {}
    for bs in map(int, args.batch_sizes.split(",")):
        configs = [TrainConfig(epochs=args.epochs, batch_size=bs, lr=float(lr), momentum=m)
                   for lr in lrs for m in (0.0, 0.9)]
        for rnd in range(args.repeats):
            cs = [replace(c, seed=rnd) for c in configs]
            times, weights = {}, {}
            for way, kw in ways.items():
                t = time.perf_counter()
                results = fit_stacked(cs, data, **kw)
                times[way] = time.perf_counter() - t
                weights[way] = np.hstack([r.model.W for r in results])
            base = weights["in turn"]
            assert all(np.array_equal(w, base) for w in weights.values()), "not the same bits"
            rows.setdefault(bs, []).append(times)
            print(f"  batch {bs} round {rnd + 1}: " + ", ".join(f"{w} {t:.3f} s" for w, t in times.items()),
                  file=sys.stderr, flush=True)
    print(f"\n16 settings, {args.epochs} epoch(s) of 55,000 images; median seconds (median ratio "
          "to in turn); the same bits every way")
    print("\n| batch | " + " | ".join(ways) + " |")
    print("|---:|" + "---:|" * len(ways))
    for bs, r in rows.items():
        cells = []
        for way in ways:
            med = statistics.median(x[way] for x in r)
            ratio = statistics.median(x[way] / x["in turn"] for x in r)
            cells.append(f"{med:.3f} ({ratio:.2f}x)")
        print(f"| {bs} | " + " | ".join(cells) + " |")
    method = twocores.start_method()
    if method:
        c = twocores.calibration(method)
        print(f"\ncalibration here ({method}): one half alone {c['alone']:.3f} s, both at once "
              f"{c['together']:.3f} s ({c['together'] / c['alone']:.2f}x), start-up {c['startup']:.2f} s; "
              f"a 16-setting pass of 55,000 x {args.epochs} splits: "
              f"{twocores.second_process(55000 * args.epochs, 16) or 'no (in turn)'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
