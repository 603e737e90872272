"""Issue 22's attacks on `serve` and `predict`, rerun on 127.0.0.1 only, bounded in count and time.

    python benchmarks/serve_attacks.py [--dribblers 520] [--dribble-seconds 40]

Run it once per version (PYTHONPATH=<that version's src>) for a before/after. It starts
`softmax-mnist serve MODEL --port 0` (a one-epoch model trained here) and prints a Markdown table:

1. an EPS `{ } loop` file given to `predict` and to `serve`, with a stand-in `gs` on PATH (a
   script that records that it ran and sleeps 20 s, like Ghostscript in that loop): seconds, answer;
9. 520 connections sending one header byte every 3 s: a normal predict at 5, 15 and 35 s;
   32 event-stream clients that never read: a new page's status; 32 pages closed: seconds until
   a new page is served;
10. a 100,000-deep JSON body to /api/train; a 2.5 MiB body raw and multipart; `Expect:
   100-continue` with a Content-Length of 3 MiB: the first answer line.
"""

from __future__ import annotations

import argparse
import http.client
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from serve_load import digit_png, make_model, post, start_server

EPS = b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 100 100\n{ } loop\n"


def fake_gs(folder: Path) -> Path:
    """A `gs` that records each run in folder/gs-ran and sleeps 20 s (the real one loops forever)."""
    gs = folder / "gs"
    gs.write_text(f"#!/bin/sh\necho ran >> '{folder}/gs-ran'\nsleep 20\n", encoding="utf-8")
    gs.chmod(0o755)
    return folder / "gs-ran"


def eps_rows(model: Path, port: int, tmp: Path) -> list[tuple]:
    ran = fake_gs(tmp)
    (tmp / "loop.eps").write_bytes(EPS)
    env = {**os.environ, "PATH": f"{tmp}{os.pathsep}{os.environ['PATH']}"}
    start = time.perf_counter()
    try:
        out = subprocess.run([sys.executable, "-m", "softmax_mnist.apps.cli", "predict", str(model),
                              str(tmp / "loop.eps")], capture_output=True, text=True, timeout=60, env=env)
        answer = f"exit {out.returncode}: {out.stderr.strip().splitlines()[-1][:110]!r}"
    except subprocess.TimeoutExpired:
        answer = "no answer in 60 s"
    rows = [("1. EPS to predict", f"{time.perf_counter() - start:.1f} s", answer
             + f"; gs ran {ran.read_text().count('ran') if ran.exists() else 0} time(s)")]
    start = time.perf_counter()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    conn.request("POST", "/api/predict", body=EPS, headers={"Content-Type": "application/postscript"})
    resp = conn.getresponse()
    body = resp.read().decode(errors="replace")
    conn.close()
    rows.append(("1. EPS to serve", f"{time.perf_counter() - start:.1f} s", f"{resp.status} {body[:110]}"))
    return rows


def dribble_rows(port: int, n: int, seconds: float) -> list[tuple]:
    socks, stop = [], threading.Event()
    for _ in range(n):
        try:
            socks.append(socket.create_connection(("127.0.0.1", port), timeout=5))
        except OSError:
            break
    head = b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Pad: " + b"a" * 1000

    def run():
        i = 0
        while not stop.wait(3.0):
            for s in socks:
                try:
                    s.send(head[i % len(head):i % len(head) + 1])
                except OSError:
                    pass
            i += 1

    threading.Thread(target=run, daemon=True).start()
    start, rows = time.perf_counter(), []
    for at in (5, 15, 35):
        if at > seconds:
            break
        time.sleep(max(0.0, start + at - time.perf_counter()))
        status, took, conn = post(port, digit_png(280), timeout=10)
        if conn:
            conn.close()
        rows.append((f"9. {len(socks)} dribbling connections", f"predict at {at} s",
                     f"status {status} in {took:.2f} s" if status > 0 else f"no answer in {took:.0f} s"))
    stop.set()
    for s in socks:
        s.close()
    time.sleep(2)
    return rows


def page(port: int) -> tuple[socket.socket, int]:
    """A page's event stream that is never read after its first bytes; (socket, status)."""
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    s.sendall(b"GET /api/events HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    head = s.recv(100)
    return s, int(head.split(b" ")[1]) if head.startswith(b"HTTP/") else -1


def stream_rows(port: int, pages: int) -> list[tuple]:
    idle = [page(port)[0] for _ in range(pages)]
    new, status = page(port)
    rows = [(f"9. {pages} idle event streams", "a new page", f"status {status}")]
    for s in [*idle, new]:
        s.close()
    start, fresh = time.perf_counter(), []
    while len(fresh) < pages and time.perf_counter() - start < 40:  # as many new pages, each retried
        s, status = page(port)
        if status == 200:
            fresh.append(s)
        else:
            s.close()
            time.sleep(0.2)
    rows.append((f"9. {pages} pages closed", f"until {pages} new pages are served",
                 f"{time.perf_counter() - start:.1f} s ({len(fresh)} served)"))
    for s in fresh:
        s.close()
    time.sleep(2)
    return rows


def first_line(port: int, head: bytes, body: bytes = b"") -> str:
    with socket.create_connection(("127.0.0.1", port), timeout=20) as s:
        s.sendall(head)
        try:
            if body:
                s.sendall(body)
            data = s.recv(4096)
        except OSError as e:
            return f"{type(e).__name__}"
    head, _, body = data.partition(b"\r\n\r\n")
    return head.split(b"\r\n")[0].decode() + " | " + body[:70].decode(errors="replace")


def body_rows(port: int) -> list[tuple]:
    deep = b"[" * 100_000 + b"]" * 100_000
    rows = [("10. 100,000-deep JSON to /api/train", "", first_line(
        port, b"POST /api/train HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        + f"Content-Length: {len(deep)}\r\n\r\n".encode(), deep))]
    big = b"\x89PNG" + bytes(int(2.5 * 2**20))
    rows.append(("10. 2.5 MiB raw body", "", first_line(
        port, b"POST /api/predict HTTP/1.1\r\nHost: x\r\nContent-Type: image/png\r\n"
        + f"Content-Length: {len(big)}\r\n\r\n".encode(), big)))
    form = (b"--XX\r\nContent-Disposition: form-data; name=\"image\"; filename=\"d.png\"\r\n"
            b"Content-Type: image/png\r\n\r\n" + big + b"\r\n--XX--\r\n")
    rows.append(("10. 2.5 MiB multipart body", "", first_line(
        port, b"POST /api/predict HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary=XX\r\n"
        + f"Content-Length: {len(form)}\r\n\r\n".encode(), form)))
    rows.append(("10. Expect: 100-continue, 3 MiB", "first answer", first_line(
        port, b"POST /api/predict HTTP/1.1\r\nHost: x\r\nContent-Type: image/png\r\nExpect: 100-continue\r\n"
        + f"Content-Length: {3 * 2**20}\r\n\r\n".encode())))
    return rows


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--data-dir", default=os.environ.get("MNIST_DATA_DIR"))
    p.add_argument("--dribblers", type=int, default=520)
    p.add_argument("--dribble-seconds", type=float, default=40)
    p.add_argument("--pages", type=int, default=32)
    args = p.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        model = make_model(args.data_dir, tmp)
        proc, port = start_server(model, args.data_dir, [])
        rows = []
        try:
            rows += eps_rows(model, port, tmp)
            rows += body_rows(port)
            rows += stream_rows(port, args.pages)
            rows += dribble_rows(port, args.dribblers, args.dribble_seconds)
            status, took, _ = post(port, digit_png(280), timeout=30)
            rows.append(("end", "a normal predict", f"status {status} in {took:.2f} s"))
        finally:
            proc.kill()
            proc.wait()  # a stand-in gs it started ends by itself within 20 s
    print(f"{time.strftime('%Y-%m-%dT%H:%M:%S%z')}; {os.cpu_count()} cores; load {os.getloadavg()[0]:.2f}\n")
    print("| attack | when | answer |\n|---|---|---|")
    for row in rows:
        print("| " + " | ".join(str(c).replace("|", "/").replace("\n", " ") for c in row) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
