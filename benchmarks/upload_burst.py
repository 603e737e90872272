"""A burst of large uploads to `softmax-mnist serve`, on 127.0.0.1 only: the server's peak and settled RSS.

    python benchmarks/upload_burst.py [--clients 16] [--side 2000] [--rounds 3] [--settle 5]

Starts `serve MODEL --port 0` (MODEL: a one-epoch model trained here on the real MNIST), then
sends ``--rounds`` bursts of ``--clients`` concurrent POSTs of a ``side`` x ``side`` photo-like
JPEG and PNG (4 megapixels at 2000) to /api/predict. RSS is sampled every 10 ms from
/proc/PID/status (Linux) during the bursts (the peak), and for ``--settle`` seconds after the
last one (settled: the last sample). Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import io
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw
from serve_load import make_model, post, start_server, status_of


def photo(side: int, fmt: str) -> bytes:
    """A '1' on grey paper with uneven light, as a phone photo is: ``fmt`` bytes (JPEG with sensor
    noise; PNG without, or it would be over the 2 MiB upload limit)."""
    rng = np.random.default_rng(0)
    noise = rng.normal(0, 6, (side, side)) if fmt == "JPEG" else np.zeros((side, side))
    light = np.linspace(150, 220, side, dtype=np.float32)[None, :] + noise
    img = Image.fromarray(np.clip(light, 0, 255).astype(np.uint8)).convert("RGB")
    s = side / 280
    ImageDraw.Draw(img).line([(150 * s, 40 * s), (135 * s, 240 * s)], fill=(20, 20, 30), width=round(18 * s))
    buf = io.BytesIO()
    img.save(buf, format=fmt, **({"quality": 85} if fmt == "JPEG" else {}))
    return buf.getvalue()


def burst(port: int, pid: int, clients: int, rounds: int, settle: float, body: bytes) -> dict:
    before = status_of(pid)["VmRSS"]
    peak, stop, statuses, lock = [before], threading.Event(), {}, threading.Lock()

    def sample():
        while not stop.is_set():
            peak.append(status_of(pid)["VmRSS"])
            time.sleep(0.01)

    def client():
        status, _, _ = post(port, body, timeout=120)
        with lock:
            statuses[status] = statuses.get(status, 0) + 1

    sampler = threading.Thread(target=sample)
    sampler.start()
    start = time.perf_counter()
    for _ in range(rounds):
        threads = [threading.Thread(target=client) for _ in range(clients)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    seconds = time.perf_counter() - start
    stop.set()
    sampler.join()
    time.sleep(settle)
    return {"before": before, "peak": max(peak), "settled": status_of(pid)["VmRSS"],
            "seconds": seconds, "statuses": dict(sorted(statuses.items()))}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--data-dir", default=os.environ.get("MNIST_DATA_DIR"))
    p.add_argument("--clients", type=int, default=16)
    p.add_argument("--side", type=int, default=2000)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--settle", type=float, default=5.0, help="seconds after the last burst")
    args = p.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        model = make_model(args.data_dir, Path(tmp))
        proc, port = start_server(model, args.data_dir, [])
        try:
            for fmt in ("JPEG", "PNG"):
                body = photo(args.side, fmt)
                r = burst(port, proc.pid, args.clients, args.rounds, args.settle, body)
                rows.append((f"{args.rounds} x {args.clients} concurrent {args.side}x{args.side} {fmt} "
                             f"({len(body) / 1000:.0f} kB)",
                             f"{r['before']:.0f} MB", f"{r['peak']:.0f} MB", f"{r['settled']:.0f} MB",
                             f"{r['seconds']:.1f} s", str(r["statuses"])))
        finally:
            proc.kill()
            proc.wait()
    print(f"{time.strftime('%Y-%m-%dT%H:%M:%S%z')}; {os.cpu_count()} cores; load {os.getloadavg()[0]:.2f}\n")
    print("| burst | RSS before | peak | settled | wall | statuses |\n|---|---:|---:|---:|---:|---|")
    for row in rows:
        print("| " + " | ".join(row) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
