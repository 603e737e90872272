"""What a busy second CPU alone costs training here: `fit` pinned to CPU 0, alone and while another
process spins on CPU 1 all the time or 20% of the time (a page drawing takes about that much).

    python benchmarks/second_cpu.py [--data-dir DIR] [--repeats 5] [--epochs 3] [--batch-sizes 100 1000]

Linux only (sched_setaffinity), and a machine with at least two CPUs. Interleaved repeats of the
sum of the epochs' training seconds (History.epoch_time); medians and their ratio to `fit` alone.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time

from softmax_mnist.core.config import TrainConfig
from softmax_mnist.core.data import load_splits, resolve_data_dir
from softmax_mnist.core.fit import fit

SPIN = "import os\nos.sched_setaffinity(0, {1})\nwhile True: pass"
SPIN_20 = ("import os, time\nos.sched_setaffinity(0, {1})\nwhile True:\n    t = time.perf_counter()\n"
           "    while time.perf_counter() - t < 0.02: pass\n    time.sleep(0.08)")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data-dir")
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--batch-sizes", type=int, nargs="+", default=[100, 1000])
    args = p.parse_args()
    if not hasattr(os, "sched_setaffinity") or len(os.sched_getaffinity(0)) < 2:
        sys.exit("needs Linux's sched_setaffinity and two CPUs")
    os.sched_setaffinity(0, {0})
    data = load_splits(resolve_data_dir(args.data_dir), 5000, "course")

    def seconds(batch_size: int) -> float:
        return sum(fit(TrainConfig(epochs=args.epochs, batch_size=batch_size), data).history.epoch_time)

    print("| batch | `fit` alone, s | CPU 1 busy (cost) | CPU 1 busy 20% (cost) |\n|---|---|---|---|")
    for batch_size in args.batch_sizes:
        seconds(batch_size)  # warm up
        got: dict[str, list[float]] = {"alone": [], "spin": [], "spin 20%": []}
        for _ in range(args.repeats):
            got["alone"].append(seconds(batch_size))
            for name, code in (("spin", SPIN), ("spin 20%", SPIN_20)):
                other = subprocess.Popen([sys.executable, "-c", code])
                time.sleep(0.3)
                try:
                    got[name].append(seconds(batch_size))
                finally:
                    other.kill()
                    other.wait()
        med = {k: statistics.median(v) for k, v in got.items()}
        cost = {k: med[k] / med["alone"] - 1 for k in med}
        print(f"| {batch_size} | {med['alone']:.3f} | {med['spin']:.3f} ({cost['spin']:+.1%}) "
              f"| {med['spin 20%']:.3f} ({cost['spin 20%']:+.1%}) |")


if __name__ == "__main__":
    main()
