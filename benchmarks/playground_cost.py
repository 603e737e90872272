"""What watching costs training: a playground run with a Chromium page open, against `fit` alone.

    python benchmarks/playground_cost.py [--data-dir DIR] [--repeats 5] [--epochs 3]
                                         [--batch-sizes 100 1000 10] [--no-stream]

Starts `softmax-mnist serve --port 0` (the playground, whichever code PYTHONPATH gives) in a child
process and opens its page in Chromium (/usr/bin/chromium, or $CHROMIUM) through Playwright. For
each batch size, ``--repeats`` times, interleaved: (a) `softmax-mnist train` of the same settings
in a child process of its own (the reference: no hooks, no page), and (b) the same run started
from the page at full speed (slow motion off), while the page draws its charts, table and
pictures. Compared: the sum of the epochs' training seconds (History.epoch_time: history.csv's
`seconds`, the page's epoch rows; data loading, the validation and test passes are outside it).
Medians, and the ratio of the medians. The reference runs while the playground is idle.

Also interleaved (unless ``--no-stream``): (c) the same run started through the API while only
an event-stream reader in this process follows it and the page is away (about:blank): the
server's hooks and its stream without a page drawing, which splits the cost between the server
and the page. Per watched run, the CPU
seconds of the server process and of all of Chromium's processes (not only its main thread).
The page is waited for by polling every 100 ms (Playwright's default, a requestAnimationFrame
loop, would keep Chromium drawing frames that a person's page does not).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import re
import select
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

import psutil

from softmax_mnist.core.data import resolve_data_dir

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
ENDED = ("done", "stopped", "diverged", "failed")
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


def cpu_seconds(procs: list[psutil.Process]) -> float:
    total = 0.0
    for proc in procs:
        try:
            times = proc.cpu_times()
            total += times.user + times.system
        except psutil.NoSuchProcess:
            pass
    return total


def tree(pid: int) -> list[psutil.Process]:
    """A process and its descendants (Chromium: the browser, renderer, GPU and utility processes)."""
    root = psutil.Process(pid)
    return [root, *root.children(recursive=True)]


def stream_run(url: str, epochs: int, batch_size: int, page) -> float:
    """Start a run through the API while a reader follows /api/events and the page is away
    (about:blank: no page draws); its epochs' seconds from the stream's epoch rows."""
    page.goto("about:blank")
    rows, status, wanted, done = {}, {}, [], threading.Event()

    def read() -> None:
        with urllib.request.urlopen(url + "api/events", timeout=600) as resp:
            event = None
            for raw in resp:
                line = raw.decode("utf-8").rstrip("\n")
                if line.startswith("event: "):
                    event = line[7:]
                elif line.startswith("data: ") and event == "run":
                    msg = json.loads(line[6:])
                    rows.setdefault(msg["id"], []).extend(msg["epochs"])
                    status[msg["id"]] = msg.get("status", status.get(msg["id"]))
                    if wanted and status.get(wanted[0]) in ENDED and len(rows[wanted[0]]) == epochs:
                        done.set()
                        return

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    time.sleep(0.3)  # the reader has its hello, and the backlog of earlier runs
    body = json.dumps({"epochs": epochs, "batch_size": batch_size, "slow": False}).encode()
    req = urllib.request.Request(url + "api/train", body, {"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=60) as resp:
        wanted.append(json.loads(resp.read())["id"])
    done.wait(600)
    reader.join(5)
    page.goto(url)
    page.wait_for_function("state.hello !== null")
    return sum(r["seconds"] for r in rows[wanted[0]])


def page_run(page, epochs: int, batch_size: int, polling="raf") -> tuple[float, float]:
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
                           f"state.runs.get(id).epochs.length === {epochs})",
                           polling=polling, timeout=600_000)
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
    ap.add_argument("--no-stream", action="store_true", help="skip the runs followed by a reader only")
    ap.add_argument("--polling", default="100",
                    help="how the page is waited for: milliseconds, or raf (a frame loop; the old way)")
    args = ap.parse_args()
    from playwright.sync_api import sync_playwright

    polling = args.polling if args.polling == "raf" else int(args.polling)
    data_dir = resolve_data_dir(args.data_dir)
    load_start = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    proc, url = serve(data_dir)
    server = psutil.Process(proc.pid)
    out = Path(tempfile.mkdtemp()) / "run"
    rows = []
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
            chromium = [c for c in psutil.Process().children(recursive=True) if "chrom" in c.name().lower()]
            chromium_root = min(chromium, key=lambda c: c.create_time()).pid
            page = browser.new_page(viewport={"width": 1280, "height": 800})
            page.goto(url)
            page.wait_for_function("state.hello !== null")
            page_run(page, 1, 55000, polling)  # the server loads its data once, outside the timings
            for batch_size in args.batch_sizes:
                got = {k: [] for k in ("alone", "stream", "page", "page_main", "page_cpu", "server_cpu")}
                for _ in range(args.repeats):
                    got["alone"].append(train_alone(data_dir, args.epochs, batch_size, out))
                    if not args.no_stream:
                        got["stream"].append(stream_run(url, args.epochs, batch_size, page))
                        time.sleep(0.5)
                    procs = tree(chromium_root)
                    cpu0, server0 = cpu_seconds(procs), cpu_seconds([server])
                    seconds, main_thread = page_run(page, args.epochs, batch_size, polling)
                    got["page_cpu"].append(cpu_seconds(procs) - cpu0)
                    got["server_cpu"].append(cpu_seconds([server]) - server0)
                    got["page"].append(seconds)
                    got["page_main"].append(main_thread)
                    time.sleep(0.5)
                med = {k: statistics.median(v) if v else float("nan") for k, v in got.items()}
                rows.append((batch_size, med, got))
                print(f"batch {batch_size}: fit {med['alone']:.2f} s, "
                      f"playground with a page {med['page']:.2f} s "
                      f"({100 * (med['page'] / med['alone'] - 1):+.1f}%)", file=sys.stderr)
            browser.close()
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"\n{args.epochs} epochs, {args.repeats} interleaved repeats, medians (min-max), "
          f"{time.strftime('%Y-%m-%d %H:%M')}, {os.cpu_count()} CPUs, load average {load_start:.1f} at the "
          f"start, {load:.1f} at the end; page waited for by polling {args.polling}\n")
    print("| batch | `train` alone, s | playground + stream reader, s (cost) | playground + Chromium page, s "
          "| cost | page main thread, s | Chromium CPU s | server CPU s |")
    print("|---|---|---|---|---|---|---|---|")

    def span(v):
        return f"{statistics.median(v):.3f} ({min(v):.3f}-{max(v):.3f})" if v else "-"

    for b, med, got in rows:
        a = med["alone"]
        stream = f"{span(got['stream'])} ({100 * (med['stream'] / a - 1):+.1f}%)" if got["stream"] else "-"
        print(f"| {b} | {span(got['alone'])} | {stream} | {span(got['page'])} "
              f"| {100 * (med['page'] / a - 1):+.1f}% "
              f"| {med['page_main']:.3f} | {med['page_cpu']:.3f} | {med['server_cpu']:.3f} |")


if __name__ == "__main__":
    main()
