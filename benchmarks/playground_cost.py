"""What watching costs training: a playground run with a Chromium page open, against `fit` alone.

    python benchmarks/playground_cost.py [--data-dir DIR] [--repeats 5] [--epochs 3]
                                         [--batch-sizes 100 1000 10]

Starts `softmax-mnist serve --port 0` (the playground, whichever code PYTHONPATH gives) in a child
process and opens its page in Chromium (/usr/bin/chromium, or $CHROMIUM) through Playwright. For
each batch size, ``--repeats`` times, interleaved: (a) `softmax-mnist train` of the same settings
in a child process of its own (the reference: no hooks, no page), and (b) the same run started
from the page at full speed (slow motion off), while the page draws its charts, table and
pictures. Compared: the sum of the epochs' training seconds (History.epoch_time: history.csv's
`seconds`, the page's epoch rows; data loading, the validation and test passes are outside it).
Medians, and the ratio of the medians. The reference runs while the playground is idle.
"""

from __future__ import annotations

import argparse
import csv
import os
import re
import select
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from softmax_mnist.core.data import resolve_data_dir

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def serve(data_dir) -> tuple[subprocess.Popen, str]:
    proc = subprocess.Popen([sys.executable, "-m", "softmax_mnist.apps.cli", "serve", "--port", "0",
                             "--data-dir", str(data_dir)], stdout=subprocess.PIPE, text=True)
    ready, _, _ = select.select([proc.stdout], [], [], 60)
    match = re.search(r"http://127\.0\.0\.1:\d+/", proc.stdout.readline() if ready else "")
    if not match:
        proc.kill()
        sys.exit("softmax-mnist serve did not start")
    return proc, match.group(0)


def train_alone(data_dir, epochs: int, batch_size: int, out: Path) -> float:
    """`softmax-mnist train` in a child process; its epochs' seconds from history.csv."""
    subprocess.run([sys.executable, "-m", "softmax_mnist.apps.cli", "train", "--data-dir", str(data_dir),
                    "--epochs", str(epochs), "--batch-size", str(batch_size), "--out", str(out),
                    "--force", "--quiet"], check=True, stdout=subprocess.DEVNULL)
    with open(out / "history.csv", encoding="utf-8", newline="") as f:
        return sum(float(row["seconds"]) for row in csv.DictReader(f))


def page_run(page, epochs: int, batch_size: int) -> tuple[float, float]:
    """Start a run from the page (as a person would: the form, then Train); its epochs' seconds,
    and the page's own main-thread seconds meanwhile (Chromium's TaskDuration)."""
    cdp = page.context.new_cdp_session(page)
    cdp.send("Performance.enable")

    def busy() -> float:
        return next(m["value"] for m in cdp.send("Performance.getMetrics")["metrics"]
                    if m["name"] == "TaskDuration")

    busy_before = busy()
    page.fill("#epochs", str(epochs))
    page.fill("#batch_size", str(batch_size))
    page.set_checked("#slow", False)
    page.wait_for_function("!document.getElementById('train').disabled")
    before = page.evaluate("state.order.length ? Math.max(...state.order) : 0")
    page.click("#train")
    page.wait_for_function(f"state.order.some((id) => id > {before} && "
                           "['done', 'diverged', 'failed'].includes(state.runs.get(id).summary.status) && "
                           f"state.runs.get(id).epochs.length === {epochs})", timeout=600_000)
    seconds = page.evaluate("(() => { const id = Math.max(...state.order); "
                            "return state.runs.get(id).epochs.reduce((a, e) => a + e.seconds, 0); })()")
    page_cpu = busy() - busy_before
    cdp.detach()
    return seconds, page_cpu


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data-dir")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--batch-sizes", type=int, nargs="+", default=[100, 1000, 10])
    args = ap.parse_args()
    from playwright.sync_api import sync_playwright

    data_dir = resolve_data_dir(args.data_dir)
    proc, url = serve(data_dir)
    out = Path(tempfile.mkdtemp()) / "run"
    rows = []
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
            page = browser.new_page(viewport={"width": 1280, "height": 800})
            page.goto(url)
            page.wait_for_function("state.hello !== null")
            page_run(page, 1, 55000)  # the server loads its data once, outside the timings
            for batch_size in args.batch_sizes:
                alone, watched, page_cpu = [], [], []
                for _ in range(args.repeats):
                    alone.append(train_alone(data_dir, args.epochs, batch_size, out))
                    seconds, cpu = page_run(page, args.epochs, batch_size)
                    watched.append(seconds)
                    page_cpu.append(cpu)
                    time.sleep(0.5)
                a, w = statistics.median(alone), statistics.median(watched)
                rows.append((batch_size, a, min(alone), max(alone), w, min(watched), max(watched), w / a - 1,
                             statistics.median(page_cpu)))
                print(f"batch {batch_size}: fit {a:.2f} s, playground with a page {w:.2f} s "
                      f"({100 * (w / a - 1):+.1f}%)", file=sys.stderr)
            browser.close()
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"\n{args.epochs} epochs, {args.repeats} interleaved repeats, medians (min-max), "
          f"{time.strftime('%Y-%m-%d')}, {os.cpu_count()} CPUs, load average at the end {load:.1f}\n")
    print("| batch | `train` alone, s | playground + Chromium page, s | cost | page main thread, s |")
    print("|---|---|---|---|---|")
    for b, a, a0, a1, w, w0, w1, cost, cpu in rows:
        print(f"| {b} | {a:.2f} ({a0:.2f}-{a1:.2f}) | {w:.2f} ({w0:.2f}-{w1:.2f}) | {100 * cost:+.1f}% "
              f"| {cpu:.3f} |")


if __name__ == "__main__":
    main()
