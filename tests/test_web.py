"""The web app: the page and its assets, weight templates, and the prediction endpoint's answers."""

from __future__ import annotations

import base64
import http.client
import io
import json
import re
import threading

import numpy as np
import pytest
from PIL import Image, ImageDraw
from werkzeug.serving import make_server

from softmax_mnist.apps.web import create_app
from softmax_mnist.core.config import TrainConfig
from softmax_mnist.study.modelfile import save_model
from softmax_mnist.study.run import train_model

LIMIT = 50_000


@pytest.fixture(scope="module")
def model_file(mnist_splits, tmp_path_factory):
    model, _ = train_model(TrainConfig(epochs=3, momentum=0.9), mnist_splits)
    path = tmp_path_factory.mktemp("model") / "model.npz"
    return save_model(path, model, mnist_splits.preprocess, mnist_splits.stats)


@pytest.fixture(scope="module")
def client(model_file):
    return create_app(model_file, max_bytes=LIMIT).test_client()


def one_png() -> bytes:
    """A '1' drawn on a white 280x280 canvas, as the page sends it."""
    img = Image.new("RGB", (280, 280), "white")
    ImageDraw.Draw(img).line([(150, 40), (135, 240)], fill="black", width=18)
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


def assert_good_answer(resp):
    assert resp.status_code == 200, resp.get_json()
    body = resp.get_json()
    assert body["digit"] == 1
    assert len(body["probs"]) == 10 and abs(sum(body["probs"]) - 1) < 1e-3
    assert body["digit"] == int(np.argmax(body["probs"]))
    prefix = "data:image/png;base64,"
    assert body["image"].startswith(prefix)
    seen = Image.open(io.BytesIO(base64.b64decode(body["image"][len(prefix):])))
    assert seen.size == (28, 28) and seen.mode == "L"


def test_page_and_assets_are_served_with_nothing_external(client):
    page = client.get("/")
    assert page.status_code == 200 and b"<canvas" in page.data
    html = page.get_data(as_text=True)
    assets = re.findall(r'(?:src|href)="([^"]+)"', html)
    # the package's own files, and the link to the playground (which `serve MODEL` adds)
    assert assets and all(a.startswith(("/static/", "data:")) or a == "/playground" for a in assets), assets
    for asset in (a for a in assets if a.startswith("/static/")):
        resp = client.get(asset)
        assert resp.status_code == 200, asset
        assert not re.search(rb"https?://|//cdn", resp.data), f"{asset} loads something external"


def test_ten_weight_templates(client):
    for d in range(10):
        resp = client.get(f"/templates/{d}.png")
        assert resp.status_code == 200 and resp.mimetype == "image/png"
        img = Image.open(io.BytesIO(resp.data))
        assert img.size == (28, 28) and img.mode == "RGB"
    assert client.get("/templates/10.png").status_code == 404


def test_predict_a_drawn_digit(client):
    assert_good_answer(client.post("/api/predict", data=one_png(), content_type="image/png"))
    # the same file as a form upload (curl -F image=@digit.png)
    form = {"image": (io.BytesIO(one_png()), "digit.png")}
    assert_good_answer(client.post("/api/predict", data=form, content_type="multipart/form-data"))


class Unreadable(io.BytesIO):
    """A request body that fails the test if the server starts reading it."""

    def read(self, *args):
        raise AssertionError("the server read a body whose Content-Length is over the limit")

    readinto = readline = read1 = read


def test_bad_requests_get_400_or_413_with_a_message_and_the_app_keeps_answering(client):
    huge = io.BytesIO()
    Image.new("1", (2500, 2000)).save(huge, format="PNG")  # a small file, 5 Mpx: over the web's limit
    cases = {
        "empty": dict(data=b""),
        "not an image": dict(data=b"hello, I am text"),
        "truncated": dict(data=one_png()[:100]),
        "too large": dict(data=b"\x89PNG" + bytes(LIMIT)),
        # (the test client makes a Content-Length header 0 for an input_stream: set in the environ)
        "too large, unread": dict(input_stream=Unreadable(),
                                  environ_overrides={"CONTENT_LENGTH": str(10**9)}),
        "image too large": dict(data=huge.getvalue()),
    }
    for what, kw in cases.items():
        resp = client.post("/api/predict", content_type="image/png", **kw)
        assert resp.status_code == (413 if what.startswith("too large") else 400), (what, resp.status_code)
        message = resp.get_json()["error"]
        assert message and "\n" not in message, what
        assert_good_answer(client.post("/api/predict", data=one_png(), content_type="image/png"))


def test_a_blank_canvas_is_no_digit_not_a_guess(client):
    buf = io.BytesIO()
    Image.new("RGB", (280, 280), "white").save(buf, format="PNG")
    resp = client.post("/api/predict", data=buf.getvalue(), content_type="image/png")
    assert resp.status_code == 422 and resp.get_json() == {"error": "no digit found"}


def test_api_errors_are_json(client):
    resp = client.get("/api/predict")
    assert resp.status_code == 405 and "error" in resp.get_json()


def test_a_real_server_refuses_a_big_upload_and_keeps_serving(model_file):
    server = make_server("127.0.0.1", 0, create_app(model_file, max_bytes=LIMIT), threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        def post(body: bytes):
            conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
            try:
                conn.request("POST", "/api/predict", body=body, headers={"Content-Type": "image/png"})
                resp = conn.getresponse()
                return resp.status, json.loads(resp.read())
            finally:
                conn.close()

        status, body = post(bytes(3 * LIMIT))
        assert status == 413 and "too large" in body["error"]
        status, body = post(b"")
        assert status == 400 and "empty" in body["error"]
        status, body = post(one_png())
        assert status == 200 and body["digit"] == 1
    finally:
        server.shutdown()
        server.server_close()
