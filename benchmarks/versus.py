"""One epoch of this checkout against another version of the package, side by side: each in
its own process, taking turns, medians; and whether both end with the same weights.

    git worktree add /tmp/old <commit>
    python benchmarks/versus.py /tmp/old/src [--batch-sizes 1000,100,10] [--repeats 5]

Both layouts are understood: before issue 11, fit(model, optimizer, x, y, ...); after,
fit(config, data, model=, rng=).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

WORKER = r'''
import json, sys, time
import numpy as np
try:
    from dataclasses import replace
    from softmax_mnist.core.config import TrainConfig
    from softmax_mnist.core.data import load_splits
    from softmax_mnist.core.fit import fit
    from softmax_mnist.core.model import SoftmaxRegression
    data = load_splits(sys.argv[1], 5000, "course")
    train_only = replace(data, x_val=None, y_val=None)

    def epoch(bs, seed):
        model = SoftmaxRegression(784, 10, rng=np.random.default_rng(seed))
        fit(TrainConfig(epochs=1, batch_size=bs, lr=0.01, momentum=0.9), train_only, model=model,
            rng=np.random.default_rng(seed + 1000))
        return model
except ImportError:  # the layout before issue 11
    from softmax_mnist.datasets import load_splits
    from softmax_mnist.model import SoftmaxRegression
    from softmax_mnist.optimizer import SGD
    from softmax_mnist.solver import fit
    data = load_splits(sys.argv[1], 5000, "course")

    def epoch(bs, seed):
        model = SoftmaxRegression(784, 10, rng=np.random.default_rng(seed))
        fit(model, SGD(model, 0.01, 0.9), data.x_train, data.y_train, epochs=1, batch_size=bs,
            rng=np.random.default_rng(seed + 1000))
        return model
for line in sys.stdin:
    bs, seed = map(int, line.split())
    start = time.perf_counter()
    model = epoch(bs, seed)
    print(json.dumps([time.perf_counter() - start, model.W.tobytes().hex()[:64]]), flush=True)
'''


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("other_src", type=Path, help="the other version's src folder")
    p.add_argument("--data-dir", default=os.environ.get("MNIST_DATA_DIR", "../shared/data/mnist"))
    p.add_argument("--batch-sizes", default="1000,100,10")
    p.add_argument("--repeats", type=int, default=5)
    args = p.parse_args()
    here = Path(__file__).resolve().parents[1] / "src"
    procs = {}
    for name, src in (("this", here), ("other", args.other_src.resolve())):
        env = {**os.environ, "PYTHONPATH": str(src)}
        procs[name] = subprocess.Popen([sys.executable, "-c", WORKER, args.data_dir], env=env,
                                       stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    print("| batch | other s | this s | this / other | same weights |\n|---:|---:|---:|---:|---|")
    for bs in (int(b) for b in args.batch_sizes.split(",")):
        times, weights = {"this": [], "other": []}, {}
        for r in range(args.repeats):
            for name in (("this", "other") if r % 2 else ("other", "this")):
                procs[name].stdin.write(f"{bs} {r}\n")
                procs[name].stdin.flush()
                seconds, weights[name] = json.loads(procs[name].stdout.readline())
                times[name].append(seconds)
        this, other = statistics.median(times["this"]), statistics.median(times["other"])
        print(f"| {bs} | {other:.4f} | {this:.4f} | {this / other:.3f} | "
              f"{'yes' if weights['this'] == weights['other'] else 'NO'} |", flush=True)
    for proc in procs.values():
        proc.stdin.close()
        proc.wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
