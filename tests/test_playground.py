"""The playground's server: streamed numbers are the run's history, one training at a time,
Stop within one step, bounded runs, bad settings, no MNIST, a model opened as the first run."""

from __future__ import annotations

import base64
import http.client
import io
import json
import math
import re
import threading
import time

import numpy as np
import pytest
from PIL import Image, ImageDraw
from werkzeug.serving import make_server

from softmax_mnist.apps.playground import create_app
from softmax_mnist.apps.playground_runs import POINTS_PER_EPOCH, block_means
from softmax_mnist.apps.playground_stream import FULL_SPEED_SECONDS, UPDATE_SECONDS
from softmax_mnist.core.config import TrainConfig
from softmax_mnist.core.loop import evaluate
from softmax_mnist.study.modelfile import load_model, model_inputs, save_model
from softmax_mnist.study.run import train_model


class Server:
    """create_app(...) on a real threaded server (Server-Sent Events need one)."""

    def __init__(self, app):
        self.app = app
        self.server = make_server("127.0.0.1", 0, app, threaded=True)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def request(self, method, path, body=None, headers=None):
        conn = http.client.HTTPConnection("127.0.0.1", self.server.port, timeout=60)
        try:
            conn.request(method, path, body=body, headers=headers or {})
            resp = conn.getresponse()
            return resp.status, resp.getheader("Content-Type"), resp.read()
        finally:
            conn.close()

    def post(self, path, data):
        status, _, body = self.request("POST", path, json.dumps(data), {"Content-Type": "application/json"})
        return status, json.loads(body)

    def events(self):
        """(event, data) pairs from /api/events, as they come."""
        conn = http.client.HTTPConnection("127.0.0.1", self.server.port, timeout=60)
        conn.request("GET", "/api/events")
        resp = conn.getresponse()
        assert resp.status == 200 and resp.getheader("Content-Type").startswith("text/event-stream")
        try:
            event, data = None, []
            while True:
                line = resp.readline().decode()
                if not line:
                    return
                if line in ("\n", "\r\n"):
                    if event:
                        yield event, json.loads("\n".join(data))
                    event, data = None, []
                elif line.startswith("event: "):
                    event = line[7:].strip()
                elif line.startswith("data: "):
                    data.append(line[6:].rstrip("\n"))
        finally:
            conn.close()

    def close(self):
        self.app.playground.close()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def server(mnist_dir):
    s = Server(create_app(None, mnist_dir))
    yield s
    s.close()


def follow(server, run_id, until=("done", "stopped", "diverged", "failed")):
    """Everything streamed about run ``run_id`` until its status is one of ``until``."""
    points, epochs, last, messages, started = [], [], {}, 0, time.perf_counter()
    for event, data in server.events():
        if event == "run" and data["id"] == run_id:
            messages += 1  # one per message at most: a message holds what changed since the last
            points += data["points"]
            epochs += data["epochs"]
            if "status" in data:
                last = data
                if data["status"] in until:
                    return points, epochs, last, messages, time.perf_counter() - started
    raise AssertionError("the event stream ended")


def test_streamed_numbers_are_the_runs_history_the_same_as_train(server, mnist_splits, tmp_path):
    status, body = server.post("/api/train", {"epochs": 2, "momentum": 0.9, "slow": False})
    assert status == 202, body
    points, epochs, last, messages, seconds = follow(server, body["id"])
    assert last["status"] == "done", last

    config = TrainConfig(epochs=2, momentum=0.9)
    model, history = train_model(config, mnist_splits)  # what `softmax-mnist train` does
    assert [e["train_loss"] for e in epochs] == history.train_loss
    assert [e["train_acc"] for e in epochs] == history.train_acc
    assert [e["val_loss"] for e in epochs] == history.val_loss
    assert [e["val_acc"] for e in epochs] == history.val_acc
    # the loss chart's points: the mean of each block of steps of history.iter_loss
    n_iter = math.ceil(55000 / config.batch_size)
    block = math.ceil(n_iter / POINTS_PER_EPOCH)
    want = []
    for e in range(config.epochs):
        want += block_means(history.iter_loss[e * n_iter:(e + 1) * n_iter], 0, n_iter, block, e, n_iter)
    assert points == want and len(points) == config.epochs * math.ceil(n_iter / block)
    assert points[-1][0] == config.epochs

    # the saved model is train's, bit for bit, and the test numbers are evaluate's
    status, kind, data = server.request("GET", f"/api/runs/{body['id']}/model.npz")
    assert status == 200 and kind == "application/octet-stream"
    (tmp_path / "model.npz").write_bytes(data)
    saved, meta = load_model(tmp_path / "model.npz")
    assert np.array_equal(saved.W, model.W) and np.array_equal(saved.b, model.b)
    assert meta["config"] == config.to_dict() and meta["preprocess"] == "course"
    loss, acc = evaluate(model, mnist_splits.x_test, mnist_splits.y_test)
    assert last["test"]["acc"] == acc and last["test"]["loss"] == loss
    confusion = np.array(last["test"]["confusion"])
    assert confusion.sum() == 10000 and np.trace(confusion) == round(acc * 10000)
    # the ten templates (the final W, for the page to draw) and the validation digits' predictions
    q = np.frombuffer(base64.b64decode(last["templates"]["int8"]), np.int8).reshape(10, 784)
    assert last["templates"]["scale"] == float(np.abs(model.W).max())
    assert np.array_equal(q, np.round(model.W.T * (127 / last["templates"]["scale"])).astype(np.int8))
    assert [s["label"] for s in last["samples"]] == list(range(10))
    assert all(0 <= s["pred"] <= 9 and 0 < s["prob"] <= 1 for s in last["samples"])
    # no polling storm: at most one message per UPDATE_SECONDS (plus the first)
    assert messages <= seconds / UPDATE_SECONDS + 2, (messages, seconds)


def test_a_run_at_full_speed_is_streamed_at_the_slower_pace(server):
    # a long run at full speed (batch 10), its messages counted over 3 s of training, then stopped
    status, body = server.post("/api/train", {"epochs": 100, "batch_size": 10, "slow": False})
    assert status == 202, body
    messages, since = 0, None
    for event, data in server.events():
        if event != "run" or data["id"] != body["id"]:
            continue
        if since is None:
            if data.get("status") == "training":
                since = time.perf_counter()  # data loaded: the run trains from here
            continue
        assert data.get("status") in (None, "training"), data  # still training after 3 s
        messages += 1
        if time.perf_counter() - since > 3:
            break
    seconds = time.perf_counter() - since
    assert server.post("/api/stop", {})[0] == 200
    assert messages <= seconds / FULL_SPEED_SECONDS + 2, (messages, seconds)
    assert messages >= seconds / FULL_SPEED_SECONDS / 2, (messages, seconds)  # still live


def test_one_training_at_a_time_and_stop_within_one_step(server):
    pg = server.app.playground
    status, first = server.post("/api/train", {"slow": True})  # one epoch a second: 10 s
    assert status == 202
    run = pg.get(first["id"])
    while run.steps < 20:
        time.sleep(0.01)
    status, body = server.post("/api/train", {"momentum": 0.9})  # as another tab would
    assert status == 409 and "is training" in body["error"] and f"#{first['id']}" in body["error"]

    status, body = server.post("/api/stop", {})
    steps_when_asked = run.steps
    assert status == 200 and body["id"] == first["id"]
    points, epochs, last, _, _ = follow(server, first["id"])
    assert last["status"] == "stopped" and epochs == []
    assert steps_when_asked <= run.steps <= steps_when_asked + 1  # the step under way, no more
    assert last["message"] == f"stopped in epoch 1, after step {run.steps}"
    assert points[-1][0] == run.steps / 550 and last["test"] is not None  # a stopped run is a model
    assert server.request("GET", f"/api/runs/{first['id']}/model.npz")[0] == 200

    status, body = server.post("/api/stop", {})
    assert status == 409 and body["error"] == "nothing is training"
    status, second = server.post("/api/train", {"epochs": 1, "slow": False})
    assert status == 202 and second["id"] == first["id"] + 1


@pytest.mark.parametrize("settings, words", [
    ({"epochs": 0}, "epochs must be a whole number"),
    ({"epochs": 2.5}, "epochs must be a whole number"),
    ({"epochs": 1000}, "at most 100"),
    ({"lr": -1}, "learning rate must be a positive number"),
    ({"lr": None}, "learning rate must be a positive number"),
    ({"momentum": 1}, "momentum must be in [0, 1)"),
    ({"nesterov": True}, "Nesterov needs a momentum"),
    ({"batch_size": 0}, "batch size must be a whole number"),
    ({"batch_size": 60000}, "from 1 to 55,000"),
    ({"preprocess": "fancy"}, "preprocess must be one of"),
    ({"seed": -1}, "seed must be"),
    ({"slow": "yes"}, "slow must be true or false"),
    ({"learning_rate": 0.1}, "unknown setting(s) learning_rate"),
    ([1, 2], "JSON object"),
])
def test_bad_settings_get_400_with_one_line(server, settings, words):
    status, body = server.post("/api/train", settings)
    assert status == 400 and words in body["error"] and "\n" not in body["error"], body
    assert server.app.playground.training is None


def test_runs_are_bounded_and_named_by_their_settings(mnist_dir):
    app = create_app(None, mnist_dir, max_runs=3)
    pg = app.playground
    client = app.test_client()
    names = []
    for seed in range(5):
        resp = client.post("/api/train", json={"epochs": 1, "batch_size": 55000, "seed": seed,
                                               "momentum": 0.5 if seed == 4 else 0, "slow": False})
        assert resp.status_code == 202, resp.get_json()
        names.append(resp.get_json()["name"])
        while pg.training is not None:
            time.sleep(0.01)
    assert names[0] == "batch 55000, epochs 1" and names[4] == "momentum 0.5, batch 55000, epochs 1, seed 4"
    assert [r["id"] for r in pg.run_list()["runs"]] == [3, 4, 5]
    resp = client.get("/api/runs/1/model.npz")
    assert resp.status_code == 404 and "keeps the last 3 runs" in resp.get_json()["error"]
    assert client.get("/api/runs/5/model.npz").status_code == 200
    with pg.cond:  # only the last epoch's weights are kept per run, not every epoch's
        assert all(r.params[0].shape == (784, 10) for r in pg.runs.values())
    pg.close()


def test_best_preset_and_its_name(mnist_dir):
    app = create_app(None, mnist_dir)
    pg = app.playground
    resp = app.test_client().post("/api/train", json={
        "preprocess": "best", "epochs": 1, "lr": 0.1, "momentum": 0.9, "lr_decay": "linear", "slow": False})
    assert resp.status_code == 202 and resp.get_json()["name"] == "best preset, epochs 1"
    while pg.training is not None:
        time.sleep(0.05)
    run = pg.get(resp.get_json()["id"])
    assert run.status == "done", run.message
    assert run.settings["deskew"] and run.meta["transform"] == {"deskew": True, "ink_size": 5.5,
                                                                "blur_sigma": 0.8}
    pg.close()


def one_png() -> bytes:
    img = Image.new("RGB", (280, 280), "white")
    ImageDraw.Draw(img).line([(150, 40), (135, 240)], fill="black", width=18)
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


def test_serve_a_model_draw_page_and_playground_with_it_as_first_run(mnist_dir, mnist_splits, tmp_path):
    model, _ = train_model(TrainConfig(epochs=3, momentum=0.9), mnist_splits)
    path = save_model(tmp_path / "model.npz", model, mnist_splits.preprocess, mnist_splits.stats,
                      extra={"config": TrainConfig(epochs=3, momentum=0.9).to_dict()})
    app = create_app(path, mnist_dir)
    client = app.test_client()
    assert b'id="pad"' in client.get("/").data and b"/static/app.js" in client.get("/").data
    assert b"/static/playground.js" in client.get("/playground").data
    assert client.post("/api/predict", data=one_png(), content_type="image/png").get_json()["digit"] == 1
    runs = app.playground.run_list()["runs"]
    assert len(runs) == 1 and runs[0]["status"] == "loaded"
    assert runs[0]["name"] == "model.npz (momentum 0.9, epochs 3)"
    assert runs[0]["test_acc"] == evaluate(model, mnist_splits.x_test, mnist_splits.y_test)[1]

    # why this digit: the evidence of the two likeliest classes, whose sum plus b is the score
    resp = client.post(f"/api/runs/{runs[0]['id']}/predict", data=one_png(), content_type="image/png")
    body = resp.get_json()
    assert resp.status_code == 200 and body["digit"] == 1 and abs(sum(body["probs"]) - 1) < 1e-4
    top2 = list(np.argsort(body["probs"])[::-1][:2])
    assert [e["digit"] for e in body["evidence"]] == top2
    seen = np.array(Image.open(io.BytesIO(base64.b64decode(body["image"].split(",")[1]))))
    logits = model_inputs(seen[None], {"preprocess": "course"})[0] @ model.W + model.b[0]
    for e in body["evidence"]:
        assert e["picture"].startswith("data:image/png;base64,")
        assert e["score"] == pytest.approx(float(logits[e["digit"]]), abs=1e-3)
    resp = client.post(f"/api/runs/{runs[0]['id']}/predict", data=b"", content_type="image/png")
    assert resp.status_code == 400 and "empty" in resp.get_json()["error"]
    assert client.post("/api/runs/99/predict", data=one_png()).status_code == 404
    app.playground.close()


def test_without_mnist_the_page_says_how_to_get_it(tmp_path):
    app = create_app(None, tmp_path / "nowhere")
    client = app.test_client()
    page = client.get("/")
    assert page.status_code == 200 and b"playground.js" in page.data
    hello = app.playground.hello()["data"]
    assert not hello["ok"] and "softmax-mnist download --data-dir" in hello["message"]
    resp = client.post("/api/train", json={})
    assert resp.status_code == 409 and "softmax-mnist download" in resp.get_json()["error"]
    app.playground.close()


def test_page_and_assets_ship_inside_the_package(server):
    status, _, page = server.request("GET", "/")
    html = page.decode()
    assets = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert "/static/vendor/uPlot.iife.min.js" in assets
    # the package's own files, and the link to the draw page (/): nothing from another host
    assert all(a.startswith(("/static/", "data:")) or a in ("/", "/playground") for a in assets), assets
    for asset in (a for a in assets if a.startswith("/")):
        status, _, data = server.request("GET", asset)
        assert status == 200, asset
        assert not re.search(rb"(?:src|href|url)\s*[=(]\s*[\"']?https?://|//cdn", data), asset


# ---- issue 20: what the pages need to say things in their own words, pause, remove ----------

@pytest.mark.parametrize("settings, setting", [
    ({"lr": -1}, "lr"), ({"lr": None}, "lr"), ({"momentum": 1}, "momentum"),
    ({"nesterov": True}, "nesterov"), ({"weight_decay": -0.1}, "weight_decay"),
    ({"batch_size": 0}, "batch_size"), ({"batch_size": 60000}, "batch_size"),
    ({"epochs": 0}, "epochs"), ({"epochs": 1000}, "epochs"), ({"seed": -1}, "seed"),
    ({"preprocess": "fancy"}, "preprocess"), ({"slow": "yes"}, "slow"),
])
def test_a_bad_setting_is_named_so_the_page_can_say_it_without_cli_flags(server, settings, setting):
    status, body = server.post("/api/train", settings)
    assert status == 400 and body["code"] == "setting" and body["setting"] == setting, body


def test_refusals_carry_a_code(server):
    status, body = server.post("/api/stop", {})
    assert (status, body["code"]) == (409, "idle")
    status, body = server.post("/api/pause", {})
    assert (status, body["code"]) == (409, "idle")
    status, _, answer = server.request("DELETE", "/api/runs/7")
    assert (status, json.loads(answer)["code"], json.loads(answer)["run"]) == (409, "no_run", 7)


def test_a_diverged_run_says_where_and_by_which_rule(server):
    status, body = server.post("/api/train", {"lr": 1e6, "epochs": 2, "slow": False})
    assert status == 202
    _, epochs, last, _, _ = follow(server, body["id"])
    assert last["status"] == "diverged" and epochs == [] and last["templates"] is None
    summary = server.app.playground.get(body["id"]).summary()
    d = summary["diverged"]
    assert d["epoch"] == 1 and d["lr"] == 1e6 and d["limit"] == pytest.approx(10 * math.log(10))
    assert d["loss"] is None or d["loss"] > d["limit"]  # a step's loss not finite, or the mean over
    status, answer = server.request("POST", f"/api/runs/{body['id']}/predict", one_png(),
                                    {"Content-Type": "image/png"})[0::2]
    assert status == 409 and json.loads(answer)["code"] == "diverged"


def test_pause_holds_the_run_between_two_steps_one_epoch_resume_and_a_digit_read_meanwhile(server):
    pg = server.app.playground
    status, body = server.post("/api/train", {"epochs": 3, "slow": True})
    assert status == 202
    assert server.post("/api/pause", {}) == (200, {"id": body["id"], "paused": True})
    run = pg.get(body["id"])
    while run.status != "training" or run.steps == 0:  # the data loaded; held at its first step
        time.sleep(0.05)
    held = run.steps
    time.sleep(1.0)  # an epoch's time in slow motion: not one step more while paused
    assert run.steps == held and run.summary()["paused"] and run.epoch_rows == []
    # in the first epoch (paused or not) the starting weights read a drawn digit: no HTTP 400
    status, _, answer = server.request("POST", f"/api/runs/{body['id']}/predict", one_png(),
                                       {"Content-Type": "image/png"})
    assert status == 200 and len(json.loads(answer)["probs"]) == 10
    # the run that trains cannot be removed
    status, _, answer = server.request("DELETE", f"/api/runs/{body['id']}")
    assert status == 409 and json.loads(answer)["code"] == "remove_training"
    # one more epoch: it trains to the end of epoch 1 and holds again before epoch 2's first step
    assert server.post("/api/step", {})[0] == 200
    while not (len(run.epoch_rows) == 1 and run.paused):
        time.sleep(0.05)
    # paused is set at the epoch's end, before the next step's stop() counts the step that waits:
    # the count settles at 550 or 551 (CI once read 550 just before that 551st count)
    held, settled = run.steps, run.steps - 1
    for _ in range(10):  # a run that went on would never settle: the assert below then fails
        if settled == held:
            break
        settled, _ = held, time.sleep(0.5)
        held = run.steps
    assert held in (550, 551)  # the epoch's 550 steps (+ the one asked to wait), not one more
    assert server.post("/api/resume", {}) == (200, {"id": body["id"], "paused": False})
    while run.steps <= held + 5:
        time.sleep(0.01)
    server.post("/api/stop", {})
    _, _, last, _, _ = follow(server, body["id"])
    assert last["status"] == "stopped" and not pg.get(body["id"]).paused
    assert pg.get(body["id"]).summary()["stopped_at"]["epoch"] == 2


def test_a_removed_run_is_gone_for_every_page(server):
    status, body = server.post("/api/train", {"epochs": 1, "batch_size": 55000, "slow": False})
    follow(server, body["id"])
    status, _, answer = server.request("DELETE", f"/api/runs/{body['id']}")
    assert status == 200 and json.loads(answer) == {"id": body["id"], "removed": True}
    for event, data in server.events():
        if event == "runs":  # a page that opens now: the run list without it
            assert body["id"] not in [r["id"] for r in data["runs"]]
            break
    assert server.request("GET", f"/api/runs/{body['id']}/model.npz")[0] == 404


def test_the_most_confident_test_mistakes_with_what_the_model_saw(server, mnist_splits):
    status, body = server.post("/api/train", {"epochs": 1, "slow": False})
    _, _, last, _, _ = follow(server, body["id"])
    mistakes = last["test"]["mistakes"]
    assert len(mistakes) == 8
    probs = [m["prob"] for m in mistakes]
    assert probs == sorted(probs, reverse=True)  # the surest mistakes first
    for m in mistakes:
        assert m["pred"] != m["label"] == mnist_splits.y_test[m["index"]] and m["prob"] > m["prob_label"]
        assert m["seen"].startswith("data:image/png;base64,") and len(m["evidence"]) == 2
    summary = server.app.playground.get(body["id"]).summary()
    assert summary["train_loss"] > 0  # the table's numbers: the last epoch's
    assert summary["test_acc"] == last["test"]["acc"] and 0 < summary["val_acc"] < 1
