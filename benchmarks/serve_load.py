"""`softmax-mnist serve` under load, on 127.0.0.1 only: prints a Markdown table.

    python benchmarks/serve_load.py [--data-dir DIR] [--stall-wait 45] [--serve-args "--timeout 10"]

Starts `softmax-mnist serve MODEL --port 0` in a child process (MODEL: a one-epoch model trained
here on the real MNIST) and measures, with bounded loops:

1. 16 concurrent clients, 2,000 POSTs of a small PNG to /api/predict: p50/p99 latency, errors,
   the server's RSS and threads before and after;
2. 200 stalled connections (100 with half their headers, 100 with half their body): the server's
   threads and RSS while they are open, whether a normal request is answered meanwhile, and how
   many the server has closed after ``--stall-wait`` seconds;
3. 16 concurrent uploads of a 2000x2000 PNG (three rounds): peak RSS (sampled, and VmHWM);
4. a chunked upload of 3 MiB (a good PNG, then zeros; the limit is 2 MiB): the status, and
   whether the answer is JSON (a server that truncates the body reads the PNG and answers 200);
5. the playground's event stream: seconds to the first event.

The server's memory and threads are read from /proc/PID/status (Linux).
"""

from __future__ import annotations

import argparse
import http.client
import io
import os
import select
import shlex
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from PIL import Image, ImageDraw


def status_of(pid: int) -> dict:
    out = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            out[key] = int(value.split()[0]) / 1024  # MB
        elif key == "Threads":
            out[key] = int(value)
    return out


def reset_peak(pid: int) -> None:
    try:  # Linux: writing 5 resets VmHWM to the current RSS
        Path(f"/proc/{pid}/clear_refs").write_text("5")
    except OSError:
        pass


def digit_png(size: int) -> bytes:
    img = Image.new("RGB", (size, size), "white")
    s = size / 280
    ImageDraw.Draw(img).line([(150 * s, 40 * s), (135 * s, 240 * s)], fill="black",
                             width=max(1, round(18 * s)))
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


def make_model(data_dir: str | None, folder: Path) -> Path:
    from softmax_mnist.core.config import TrainConfig
    from softmax_mnist.core.data import load_splits
    from softmax_mnist.study.modelfile import save_model
    from softmax_mnist.study.run import train_model

    splits = load_splits(data_dir, 5000, "course")
    model, _ = train_model(TrainConfig(epochs=1), splits)
    return save_model(folder / "model.npz", model, splits.preprocess, splits.stats)


def start_server(model: Path, data_dir: str | None, extra: list[str]):
    cmd = [sys.executable, "-m", "softmax_mnist.apps.cli", "serve", str(model), "--host", "127.0.0.1",
           "--port", "0", *(["--data-dir", data_dir] if data_dir else []), *extra]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    line = proc.stdout.readline()
    if "http://" not in line:
        proc.kill()
        sys.exit(f"serve did not start: {line!r}")
    port = int(line.split("http://127.0.0.1:")[1].split("/")[0])
    return proc, port


def post(port: int, body: bytes, timeout: float = 60, conn=None):
    """(status, seconds, connection to reuse or None)."""
    start = time.perf_counter()
    try:
        conn = conn or http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
        conn.request("POST", "/api/predict", body=body, headers={"Content-Type": "image/png"})
        resp = conn.getresponse()
        resp.read()
        status = resp.status
        if resp.getheader("Connection", "").lower() == "close" or resp.version == 10:
            conn.close()
            conn = None
    except (OSError, http.client.HTTPException):
        status, conn = -1, None
    return status, time.perf_counter() - start, conn


def percentile(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


def load_test(port: int, pid: int, clients: int, requests: int, body: bytes) -> list[tuple]:
    before = status_of(pid)
    latencies, statuses, lock = [], {}, threading.Lock()
    per_client = requests // clients

    def client():
        conn = None
        for _ in range(per_client):
            status, seconds, conn = post(port, body, conn=conn)
            with lock:
                latencies.append(seconds)
                statuses[status] = statuses.get(status, 0) + 1

    start = time.perf_counter()
    threads = [threading.Thread(target=client) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - start
    after = status_of(pid)
    return [
        ("1. predict load", f"{clients} clients x {per_client} small PNGs",
         f"p50 {percentile(latencies, 0.5) * 1000:.1f} ms, p99 {percentile(latencies, 0.99) * 1000:.1f} ms, "
         f"{len(latencies) / wall:.0f} req/s, statuses {dict(sorted(statuses.items()))}"),
        ("1. predict load", "server RSS before -> after",
         f"{before['VmRSS']:.0f} MB -> {after['VmRSS']:.0f} MB; threads {before['Threads']} -> "
         f"{after['Threads']}"),
    ]


def closed(sock: socket.socket) -> bool:
    """Has the server closed (or answered and closed) this connection?"""
    # readable: end of file, a reset, or an answer such as 408: the server is done with it
    return bool(select.select([sock], [], [], 0)[0])


def stall_test(port: int, pid: int, n: int, wait: float, body: bytes) -> list[tuple]:
    before = status_of(pid)
    socks = []
    for i in range(n):
        s = socket.create_connection(("127.0.0.1", port), timeout=10)
        if i % 2:  # half the headers
            s.sendall(b"POST /api/predict HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: image/png\r\n")
        else:  # all the headers and half the body
            s.sendall(b"POST /api/predict HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: image/png\r\n"
                      + f"Content-Length: {len(body)}\r\n\r\n".encode() + body[: len(body) // 2])
        socks.append(s)
    time.sleep(1.0)
    during = status_of(pid)
    status, seconds, conn = post(port, body, timeout=20)
    if conn:
        conn.close()
    start, gone = time.perf_counter(), 0
    while time.perf_counter() - start < wait:
        gone = sum(closed(s) for s in socks)
        if gone == n:
            break
        time.sleep(0.5)
    closed_after = time.perf_counter() - start + 1.0
    later = status_of(pid)
    for s in socks:
        s.close()
    return [
        ("2. stalled connections", f"{n} open (partial headers / partial body)",
         f"threads {before['Threads']} -> {during['Threads']}, RSS {before['VmRSS']:.0f} -> "
         f"{during['VmRSS']:.0f} MB"),
        ("2. stalled connections", "a normal predict meanwhile",
         f"status {status} in {seconds * 1000:.0f} ms" if status > 0 else f"no answer in {seconds:.0f} s"),
        ("2. stalled connections", "closed by the server",
         f"{gone} of {n} after {closed_after:.0f} s; then threads {later['Threads']}, RSS "
         f"{later['VmRSS']:.0f} MB"),
    ]


def upload_test(port: int, pid: int, clients: int, rounds: int, body: bytes) -> list[tuple]:
    before = status_of(pid)
    reset_peak(pid)
    peak, stop, statuses, latencies = [before["VmRSS"]], threading.Event(), {}, []

    def sample():
        while not stop.is_set():
            peak.append(status_of(pid)["VmRSS"])
            time.sleep(0.01)

    def client():
        status, seconds, _ = post(port, body)
        statuses[status] = statuses.get(status, 0) + 1
        latencies.append(seconds)

    sampler = threading.Thread(target=sample)
    sampler.start()
    for _ in range(rounds):
        threads = [threading.Thread(target=client) for _ in range(clients)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    stop.set()
    sampler.join()
    after = status_of(pid)
    what = f"{rounds} x {clients} concurrent 2000x2000 PNGs ({len(body) / 1000:.0f} kB)"
    return [("3. large uploads", what,
             f"RSS {before['VmRSS']:.0f} MB -> peak {max(peak):.0f} MB (VmHWM {after['VmHWM']:.0f} MB) -> "
             f"{after['VmRSS']:.0f} MB after; slowest {max(latencies):.1f} s; statuses "
             f"{dict(sorted(statuses.items()))}")]


def chunked_test(port: int, size: int, png: bytes) -> list[tuple]:
    """A good PNG and zeros after it, ``size`` bytes in all, sent chunked (no Content-Length)."""
    s = socket.create_connection(("127.0.0.1", port), timeout=30)
    s.sendall(b"POST /api/predict HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: image/png\r\n"
              b"Transfer-Encoding: chunked\r\n\r\n")
    data = png + bytes(size - len(png))
    try:
        for i in range(0, len(data), 65536):
            chunk = data[i:i + 65536]
            s.sendall(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
        s.sendall(b"0\r\n\r\n")
    except OSError:
        pass  # the server may refuse and close before the whole body is sent
    resp = b""
    try:
        while b"\r\n\r\n" not in resp or len(resp) < resp.index(b"\r\n\r\n") + 4 + 40:
            part = s.recv(65536)
            if not part:
                break
            resp += part
    except OSError:
        pass
    s.close()
    head, _, body = resp.partition(b"\r\n\r\n")
    status = head.split(b" ")[1].decode() if head else "no answer"
    ctype = next((h.split(b":", 1)[1].strip().decode() for h in head.split(b"\r\n")
                  if h.lower().startswith(b"content-type:")), "")
    body = body.decode(errors="replace")
    if "chunked" in head.decode(errors="replace").lower() and "\r\n" in body:
        body = body.split("\r\n", 1)[1]
    return [("4. chunked upload", f"{size / 2**20:.0f} MiB, limit 2 MiB",
             f"status {status}, {ctype or 'no content type'}: {body.strip()[:90]!r}")]


def sse_test(port: int) -> list[tuple]:
    start = time.perf_counter()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request("GET", "/api/events")
    resp = conn.getresponse()
    line = resp.readline()
    seconds = time.perf_counter() - start
    conn.close()
    return [("5. playground events", "first event after connecting",
             f"{seconds * 1000:.0f} ms ({line.decode().strip()[:30]!r})")]


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--data-dir", default=os.environ.get("MNIST_DATA_DIR"))
    p.add_argument("--clients", type=int, default=16)
    p.add_argument("--requests", type=int, default=2000)
    p.add_argument("--stalled", type=int, default=200)
    p.add_argument("--stall-wait", type=float, default=45.0,
                   help="seconds to wait for the server to close the stalled connections")
    p.add_argument("--serve-args", default="", help="more arguments for serve, e.g. '--timeout 10'")
    args = p.parse_args()
    small, large = digit_png(280), digit_png(2000)
    with tempfile.TemporaryDirectory() as tmp:
        model = make_model(args.data_dir, Path(tmp))
        proc, port = start_server(model, args.data_dir, shlex.split(args.serve_args))
        rows = []
        try:
            post(port, small)  # warm up
            rows += load_test(port, proc.pid, args.clients, args.requests, small)
            rows += stall_test(port, proc.pid, args.stalled, args.stall_wait, small)
            rows += upload_test(port, proc.pid, args.clients, 3, large)
            rows += chunked_test(port, 3 * 2**20, small)
            rows += sse_test(port)
            alive = post(port, small)[0]
            rows.append(("end", "a normal predict after all that", f"status {alive}"))
        finally:
            proc.kill()
            proc.wait()
    print(f"serve {args.serve_args or '(defaults)'}; {time.strftime('%Y-%m-%dT%H:%M:%S%z')}; "
          f"{os.cpu_count()} cores; load {os.getloadavg()[0]:.2f}\n")
    print("| test | what | result |\n|---|---|---|")
    for row in rows:
        print("| " + " | ".join(row) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
