"""What watching costs training: a playground run watched by a Chromium page, against the same run
with nobody watching, and against `softmax-mnist train` alone.

    python benchmarks/playground_cost.py [--data-dir DIR] [--repeats 9] [--epochs 3]
                                         [--batch-sizes 100 1000] [--width 1280]

Starts `softmax-mnist serve --port 0` (whichever code PYTHONPATH gives). Per batch size,
``--repeats`` rounds, the three arms in an order that turns each round:

- alone: `softmax-mnist train` of the same settings in a child process (no hooks, no server);
- nobody watching: the run started through the API while no page is open;
- watched: the same, while a Chromium page (/usr/bin/chromium or $CHROMIUM, headless, ``--width``
  x 800) shows the playground and draws the run live: its charts, table, readout and pictures.
  Nothing drives that browser: no DevTools session, no polling of the page (Playwright's own
  traffic, a CDP event per streamed message and a poll every 100 ms, cost training more than the
  page did), as a person's browser.

Compared: the sum of the epochs' training seconds (History.epoch_time; data loading, the
validation and test passes are outside it), read from the server after the run. Each run starts
once the machine is quiet (settle: a page still loading, or a browser closing, would be counted
as the run's cost). Medians (min-max); each cost is the median of the rounds' ratios, which
cancels the machine's drift between rounds, with a 90% bootstrap interval of that median. Also
Chromium's CPU seconds per watched run (all its processes: they show the page was drawing), and
each epoch's seconds, nobody watching against watched (which epochs a page's redraws land in).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import re
import select
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import psutil

from softmax_mnist.apps.playground_runs import missing_data
from softmax_mnist.core.data import resolve_data_dir

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
ENDED = ("done", "stopped", "diverged", "failed")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--mute-audio"]


def serve(data_dir) -> tuple[subprocess.Popen, str]:
    proc = subprocess.Popen([sys.executable, "-m", "softmax_mnist.apps.cli", "serve", "--port", "0",
                             "--data-dir", str(data_dir)], stdout=subprocess.PIPE, text=True)
    ready, _, _ = select.select([proc.stdout], [], [], 60)
    match = re.search(r"http://127\.0\.0\.1:\d+/", proc.stdout.readline() if ready else "")
    if not match:
        proc.kill()
        sys.exit("softmax-mnist serve did not start")
    return proc, match.group(0)


def settle(limit: float = 10.0) -> None:
    """Wait until the machine is quiet: at most one scheduler tick (10 ms) of CPU over 250 ms, all
    processes but this one, or ``limit`` seconds."""
    end = time.monotonic() + limit
    me = psutil.Process()
    while time.monotonic() < end:
        before, mine = psutil.cpu_times(), me.cpu_times()
        time.sleep(0.25)
        after, mine_after = psutil.cpu_times(), me.cpu_times()
        busy = (after.user + after.system + after.nice - before.user - before.system - before.nice
                - (mine_after.user + mine_after.system - mine.user - mine.system))
        if busy <= 0.01:
            return


def train_alone(data_dir, epochs: int, batch_size: int, out: Path) -> float:
    """`softmax-mnist train` in a child process; its epochs' seconds from history.csv."""
    settle()
    subprocess.run([sys.executable, "-m", "softmax_mnist.apps.cli", "train", "--data-dir", str(data_dir),
                    "--epochs", str(epochs), "--batch-size", str(batch_size), "--out", str(out),
                    "--force", "--quiet"], check=True, stdout=subprocess.DEVNULL)
    with open(out / "history.csv", encoding="utf-8-sig", newline="") as f:
        return sum(float(row["seconds"]) for row in csv.DictReader(f))


def server_run(url: str, epochs: int, batch_size: int, wait: float) -> list[float]:
    """Start a run through the API once the machine is quiet, leave it alone for ``wait``
    seconds, then read its epochs' seconds from an event stream (everything is sent first)."""
    settle()
    body = json.dumps({"epochs": epochs, "batch_size": batch_size, "slow": False}).encode()
    req = urllib.request.Request(url + "api/train", body, {"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=60) as resp:
        run_id = json.loads(resp.read())["id"]
    time.sleep(wait)
    rows, event, first = [], None, True
    with urllib.request.urlopen(url + "api/events", timeout=600) as resp:
        for raw in resp:
            line = raw.decode("utf-8").rstrip("\n")
            if line.startswith("event: "):
                event = line[7:]
            elif line.startswith("data: ") and event == "run":
                msg = json.loads(line[6:])
                if msg["id"] != run_id:
                    continue
                if first and msg.get("status") not in ENDED:
                    print(f"run {run_id} still going after {wait:.1f} s: raise the wait", file=sys.stderr)
                first = False
                rows.extend(msg["epochs"])
                if msg.get("status") in ENDED and len(rows) == epochs:
                    break
    return [r["seconds"] for r in rows]


def tree_cpu(root: psutil.Process) -> float:
    total = 0.0
    for proc in [root, *root.children(recursive=True)]:
        try:
            times = proc.cpu_times()
            total += times.user + times.system
        except psutil.NoSuchProcess:
            pass
    return total


def watched_run(url: str, epochs: int, batch_size: int, wait: float, width: int) -> tuple[list, float]:
    """The same run while a Chromium page (started for it, nothing attached) shows the playground:
    the epochs' seconds, and Chromium's CPU seconds during the run."""
    profile = tempfile.mkdtemp(prefix="playground-cost-")
    browser = subprocess.Popen([CHROMIUM, *ARGS, f"--user-data-dir={profile}", f"--window-size={width},800",
                                url + "playground"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        time.sleep(2.0)  # the page loads, opens its stream and draws the runs so far
        settle()
        root = psutil.Process(browser.pid)
        cpu = tree_cpu(root)
        seconds = server_run(url, epochs, batch_size, wait)
        return seconds, tree_cpu(root) - cpu
    finally:
        browser.terminate()
        try:
            browser.wait(10)
        except subprocess.TimeoutExpired:
            browser.kill()
        shutil.rmtree(profile, ignore_errors=True)


def span(values) -> str:
    return f"{statistics.median(values):.3f} ({min(values):.3f}-{max(values):.3f})"


def ratio(values, reference) -> str:
    """The median of the rounds' ratios, as a cost, with a 90% bootstrap interval of that median
    (the rounds resampled 2,000 times, seeded)."""
    costs = [v / r - 1 for v, r in zip(values, reference)]
    rng = random.Random(0)
    medians = sorted(statistics.median(rng.choices(costs, k=len(costs))) for _ in range(2000))
    return f"{statistics.median(costs):+.1%} ({medians[100]:+.1%} to {medians[1899]:+.1%})"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data-dir")
    ap.add_argument("--repeats", type=int, default=9)
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--batch-sizes", type=int, nargs="+", default=[100, 1000])
    ap.add_argument("--width", type=int, default=1280, help="the page's width in pixels (390: a phone)")
    args = ap.parse_args()
    if not Path(CHROMIUM).exists():
        sys.exit(f"no Chromium at {CHROMIUM}; set CHROMIUM to its path")
    data_dir = resolve_data_dir(args.data_dir)
    if missing_data(data_dir):
        sys.exit(missing_data(data_dir))
    load_start = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    proc, url = serve(data_dir)
    out = Path(tempfile.mkdtemp()) / "run"
    rows = []
    try:
        server_run(url, 1, 55000, 10)  # the server loads its data once, outside the timings
        for batch_size in args.batch_sizes:
            got = {"alone": [], "nobody": [], "watched": [], "chromium": [], "nobody_epochs": [],
                   "watched_epochs": []}
            for r in range(args.repeats):
                wait = 1.5 + 3 * (statistics.median(got["alone"]) if got["alone"] else 1.0)
                arms = ["alone", "nobody", "watched"]
                for arm in arms[r % 3:] + arms[:r % 3]:  # each arm first in a third of the rounds
                    if arm == "alone":
                        got[arm].append(train_alone(data_dir, args.epochs, batch_size, out))
                        continue
                    if arm == "nobody":
                        epochs = server_run(url, args.epochs, batch_size, wait)
                    else:
                        epochs, cpu = watched_run(url, args.epochs, batch_size, wait, args.width)
                        got["chromium"].append(cpu)
                    got[arm].append(sum(epochs))
                    got[f"{arm}_epochs"].append(epochs)
            rows.append((batch_size, got))
            print(f"batch {batch_size}: watched against nobody watching "
                  f"{ratio(got['watched'], got['nobody'])}", file=sys.stderr)
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"\n{args.epochs} epochs, {args.repeats} rounds, page {args.width} px, medians (min-max); costs: "
          f"the median of the rounds' ratios (90% bootstrap interval); {time.strftime('%Y-%m-%d %H:%M')}, "
          f"{os.cpu_count()} CPUs, load average {load_start:.1f} at the start, {load:.1f} at the end\n")
    print("| batch | `train` alone, s | playground, nobody watching, s | watched by a page, s "
          "| watching's cost | the playground's cost over `train` | Chromium CPU s per run |")
    print("|---|---|---|---|---|---|---|")
    for b, got in rows:
        print(f"| {b} | {span(got['alone'])} | {span(got['nobody'])} | {span(got['watched'])} "
              f"| {ratio(got['watched'], got['nobody'])} | {ratio(got['nobody'], got['alone'])} "
              f"| {statistics.median(got['chromium']):.2f} |")
    print("\nPer epoch, medians (s): nobody watching / watched\n\n| batch | "
          + " | ".join(f"epoch {e + 1}" for e in range(args.epochs)) + " |\n|---|"
          + "---|" * args.epochs)
    for b, got in rows:
        cells = [f"{statistics.median(r[e] for r in got['nobody_epochs']):.4f} / "
                 f"{statistics.median(r[e] for r in got['watched_epochs']):.4f}" for e in range(args.epochs)]
        print(f"| {b} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
