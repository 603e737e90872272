"""`serve` under a hostile or heavy client (issue 10, item 15): waitress, not a development server.

A chunked body over the size limit is refused with a JSON error, not truncated; a stalled
connection holds no thread and is closed after the read timeout while others are answered;
images are decoded at most WORK_SLOTS at a time, 503 when no slot frees; the playground's
pages and uploads have threads enough not to starve each other, and its event stream still
delivers each event promptly.
"""

from __future__ import annotations

import http.client
import io
import json
import re
import socket
import threading
import time
from pathlib import Path

import pytest
from conftest import start_serve
from PIL import Image, ImageDraw
from werkzeug.serving import make_server as werkzeug_server

from softmax_mnist.apps import web
from softmax_mnist.apps.playground import create_app, make_server
from softmax_mnist.apps.playground_stream import MAX_STREAMS
from softmax_mnist.core.config import TrainConfig
from softmax_mnist.study.modelfile import save_model
from softmax_mnist.study.run import train_model

LIMIT = web.MAX_UPLOAD_BYTES


@pytest.fixture(scope="module")
def model_file(mnist_splits, tmp_path_factory):
    model, _ = train_model(TrainConfig(epochs=1), mnist_splits)
    path = tmp_path_factory.mktemp("model") / "model.npz"
    return save_model(path, model, mnist_splits.preprocess, mnist_splits.stats)


def digit_png(size: int = 280) -> bytes:
    """A '1' drawn on a white canvas, as the page sends it (scaled up to ``size``)."""
    img = Image.new("RGB", (size, size), "white")
    s = size / 280
    ImageDraw.Draw(img).line([(150 * s, 40 * s), (135 * s, 240 * s)], fill="black", width=round(18 * s))
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


def request(port: int, method: str, path: str, body=None, headers=None, timeout=30):
    """(status, headers, body) of one request to 127.0.0.1:port."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        resp = conn.getresponse()
        return resp.status, dict(resp.getheaders()), resp.read()
    finally:
        conn.close()


def predict(port: int, body: bytes, timeout=30):
    return request(port, "POST", "/api/predict", body, {"Content-Type": "image/png"}, timeout)


class Served:
    """An app on a real server in this process: ``make_server`` (waitress, as `serve` runs it), or
    werkzeug's development server (the app's own size check must hold there too)."""

    def __init__(self, app, kind: str = "waitress", read_timeout: int = web.READ_TIMEOUT):
        self.app, self.kind = app, kind
        if kind == "waitress":
            self.server = make_server(app, "127.0.0.1", 0, read_timeout=read_timeout)
            self.port = self.server.effective_port
            self.thread = threading.Thread(target=self.server.run, daemon=True)
        else:
            self.server = werkzeug_server("127.0.0.1", 0, app, threaded=True)
            self.port = self.server.port
            self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def request(self, method, path, body=None, headers=None, timeout=30):
        return request(self.port, method, path, body, headers, timeout)

    def predict(self, body: bytes, timeout=30):
        return predict(self.port, body, timeout)

    def close(self):
        self.app.playground.close()
        if self.kind == "waitress":
            self.server.task_dispatcher.shutdown(timeout=5)
            self.server.close()
        else:
            self.server.shutdown()
            self.server.server_close()


@pytest.fixture
def served(model_file, mnist_dir):
    s = Served(create_app(model_file, mnist_dir))
    yield s
    s.close()


def chunked(port: int, body: bytes, chunk: int = 1 << 16) -> tuple[int, str, bytes]:
    """POST ``body`` to /api/predict with Transfer-Encoding: chunked (no Content-Length):
    (status, content type, body of the answer)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        conn.putrequest("POST", "/api/predict")
        conn.putheader("Content-Type", "image/png")
        conn.putheader("Transfer-Encoding", "chunked")
        conn.endheaders()
        try:
            for i in range(0, len(body), chunk):
                part = body[i:i + chunk]
                conn.send(f"{len(part):x}\r\n".encode() + part + b"\r\n")
            conn.send(b"0\r\n\r\n")
        except OSError:  # the server may answer and close before the whole body is sent
            pass
        resp = conn.getresponse()
        return resp.status, resp.getheader("Content-Type", ""), resp.read()
    finally:
        conn.close()


@pytest.mark.parametrize("kind", ["waitress", "werkzeug"])
def test_a_chunked_upload_over_the_limit_is_refused_with_json_not_truncated(model_file, mnist_dir, kind):
    s = Served(create_app(model_file, mnist_dir), kind)
    try:
        png = digit_png()
        status, kind_, body = chunked(s.port, png)  # chunked is still read, under the limit
        assert status == 200 and json.loads(body)["digit"] == 1, (status, body[:200])
        # a good PNG, then zeros past the limit: a server that truncates the body reads the PNG
        status, kind_, body = chunked(s.port, png + bytes(LIMIT + (1 << 20) - len(png)))
        assert status == 413, (status, body[:200])
        assert kind_.startswith("application/json"), kind_
        assert "too large" in json.loads(body)["error"]
        assert s.predict(png)[0] == 200  # and the server goes on
    finally:
        s.close()


def test_a_body_far_over_the_limit_is_refused_by_the_server_before_it_is_read(served):
    sock = socket.create_connection(("127.0.0.1", served.port), timeout=10)
    with sock:  # a Content-Length of 1 GB and no body: waitress answers at once
        sock.sendall(b"POST /api/predict HTTP/1.1\r\nHost: x\r\nContent-Type: image/png\r\n"
                     b"Content-Length: 1000000000\r\n\r\n")
        answer = sock.recv(4096)
    assert answer.startswith(b"HTTP/1.1 413"), answer[:100]


def server_threads(pid: int) -> int:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(re.search(r"^Threads:\s+(\d+)", status, re.M).group(1))


@pytest.mark.skipif(not Path("/proc/self/status").exists(),
                    reason="counts the server's threads in /proc, which this system lacks")
def test_serve_prints_its_url_and_closes_stalled_connections_after_the_timeout(model_file, mnist_dir):
    proc, match, line = start_serve(str(model_file), "--data-dir", str(mnist_dir), "--port", "0",
                                    "--timeout", "1")
    stalled = []
    try:
        assert line.startswith(f"serving {model_file} on "), line
        port = int(match.group(1))
        threads = server_threads(proc.pid)
        for i in range(40):  # half the headers, or the headers and half the body
            sock = socket.create_connection(("127.0.0.1", port), timeout=15)
            head = b"POST /api/predict HTTP/1.1\r\nHost: x\r\nContent-Type: image/png\r\n"
            sock.sendall(head if i % 2 else head + b"Content-Length: 5000\r\n\r\n" + bytes(100))
            stalled.append(sock)
        status, _, body = predict(port, digit_png(), timeout=15)  # answered meanwhile
        assert status == 200 and json.loads(body)["digit"] == 1
        assert server_threads(proc.pid) <= threads + 2, "stalled connections hold threads"
        start = time.perf_counter()
        for sock in stalled:  # each closed by the server: recv sees the end (a timeout fails)
            assert sock.recv(1024) == b""
        assert time.perf_counter() - start < 10
        assert predict(port, digit_png(), timeout=15)[0] == 200
    finally:
        for sock in stalled:
            sock.close()
        proc.terminate()
        proc.wait(timeout=10)


def test_images_are_decoded_at_most_work_slots_at_a_time(served, monkeypatch):
    active, peak, lock = [0], [0], threading.Lock()
    prepare = web.prepare_file

    def counted(*args, **kwargs):
        with lock:
            active[0] += 1
            peak[0] = max(peak[0], active[0])
        try:
            time.sleep(0.1)  # a large image takes a while
            return prepare(*args, **kwargs)
        finally:
            with lock:
                active[0] -= 1

    monkeypatch.setattr(web, "prepare_file", counted)
    large, statuses = digit_png(2000), []

    def upload():
        statuses.append(served.predict(large, timeout=60)[0])

    uploads = [threading.Thread(target=upload) for _ in range(8)]
    for t in uploads:
        t.start()
    for t in uploads:
        t.join()
    assert statuses == [200] * 8
    assert peak[0] == web.WORK_SLOTS, peak


def test_no_free_slot_is_a_503_with_a_json_error(served):
    slots = web.WorkSlots(2, 0.2)
    served.app.extensions["softmax_mnist.work"] = slots
    for _ in range(2):  # both slots taken, as by two slow uploads
        slots._sem.acquire()
    try:
        status, headers, body = served.predict(digit_png())
        assert status == 503 and headers.get("Retry-After") == "1"
        assert "busy" in json.loads(body)["error"]
    finally:
        for _ in range(2):
            slots._sem.release()
    assert served.predict(digit_png())[0] == 200


def events(port: int, timeout: float = 30):
    """(event, data, seconds since connecting) from /api/events, as they come."""
    start = time.perf_counter()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    conn.request("GET", "/api/events")
    resp = conn.getresponse()
    assert resp.status == 200
    try:
        event, data = None, []
        while True:
            line = resp.readline().decode()
            if not line:
                return
            if line in ("\n", "\r\n"):
                if event:
                    yield event, json.loads("\n".join(data)), time.perf_counter() - start
                event, data = None, []
            elif line.startswith("event: "):
                event = line[7:].strip()
            elif line.startswith("data: "):
                data.append(line[6:].rstrip("\n"))
    finally:
        conn.close()


def test_the_playground_stream_delivers_each_event_promptly(served):
    stream = events(served.port)
    event, hello, seconds = next(stream)
    assert event == "hello" and hello["data"]["ok"]
    assert seconds < 5, f"the first event took {seconds:.1f} s"
    event, runs, _ = next(stream)
    assert event == "runs"
    # a change is streamed at once (within UPDATE_SECONDS, not when some buffer fills)
    status, _, body = served.request("POST", "/api/train", json.dumps({"epochs": 1, "slow": True}),
                                     {"Content-Type": "application/json"})
    assert status == 202, body
    run_id, asked = json.loads(body)["id"], time.perf_counter()
    for event, data, _ in stream:
        if event == "run" and data["id"] == run_id:
            break
    assert time.perf_counter() - asked < 3, "the run's first event was held back"
    served.request("POST", "/api/stop")
    stream.close()


def test_open_pages_and_uploads_do_not_starve_each_other(served):
    streams = [events(served.port) for _ in range(MAX_STREAMS)]
    try:
        for s in streams:  # every page gets its stream
            assert next(s)[0] == "hello"
        newest = events(served.port)  # one more: served (the oldest gives its place), not hung
        assert next(newest)[0] == "hello"
        streams.append(newest)
        start = time.perf_counter()
        results = []
        uploads = [threading.Thread(target=lambda: results.append(served.predict(digit_png(), 30)[0]))
                   for _ in range(4)]
        for t in uploads:
            t.start()
        for t in uploads:
            t.join()
        assert results == [200] * 4 and time.perf_counter() - start < 20
        assert served.request("GET", "/", timeout=10)[0] == 200
    finally:
        for s in streams:
            s.close()
