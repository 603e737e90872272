"""End to end in a real browser: `softmax-mnist serve`, Debian's Chromium driven by Playwright.

Draws digits on the canvas with mouse moves and checks that the bars, the predicted digit, the
28x28 image and the highlighted template appear, clear, and change. Screenshots go to
tests/artifacts/. Fails (never skips) when Chromium or Playwright is missing.
"""

from __future__ import annotations

import math
import os
import re
import time
from pathlib import Path

import pytest
from conftest import start_serve

from softmax_mnist.core.config import TrainConfig
from softmax_mnist.study.modelfile import save_model
from softmax_mnist.study.run import train_model

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
# headless on a closed network: without these Chromium keeps trying to reach Google's hosts
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"


@pytest.fixture(scope="module")
def playwright_chromium():
    if not Path(CHROMIUM).is_file():
        pytest.fail(f"Chromium not found at {CHROMIUM}: the browser test needs Debian's chromium, "
                    "install it with `apt-get install -y chromium` (or set CHROMIUM=/path/to/it)",
                    pytrace=False)
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.fail("the browser test needs the Python package playwright: "
                    "pip install -e '.[test]' (its own browser download is not needed)", pytrace=False)
    with sync_playwright() as p:
        yield p.chromium


@pytest.fixture(scope="module")
def server_url(mnist_splits, tmp_path_factory):
    """`softmax-mnist serve MODEL --port 0` in a subprocess; its URL, read from its first line."""
    model, _ = train_model(TrainConfig(epochs=3, momentum=0.9), mnist_splits)
    path = save_model(tmp_path_factory.mktemp("model") / "model.npz", model,
                      mnist_splits.preprocess, mnist_splits.stats)
    proc, match, _ = start_serve(str(path), "--port", "0")
    try:
        yield match.group(0)
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def stroke(page, points):
    """Press the mouse at the first point, move through the rest, and keep the button down."""
    box = page.locator("#pad").bounding_box()
    sx, sy = box["width"] / 280, box["height"] / 280  # points are in canvas pixels
    page.mouse.move(box["x"] + points[0][0] * sx, box["y"] + points[0][1] * sy)
    page.mouse.down()
    for x, y in points[1:]:
        page.mouse.move(box["x"] + x * sx, box["y"] + y * sy, steps=2)
        time.sleep(0.005)  # a hand takes time; lets the page send requests while drawing


ZERO = [(140 + 62 * math.sin(t / 40 * 2 * math.pi), 140 - 95 * math.cos(t / 40 * 2 * math.pi))
        for t in range(42)]
ONE = [(150 - 0.06 * i * 10, 40 + i * 10) for i in range(21)]


def shown(page):
    """(predicted digit text, the ten percentages, src of the 28x28 image, highlighted templates)."""
    pcts = [float(t.rstrip("%")) for t in page.locator(".pct").all_text_contents()]
    wins = page.locator(".templates figure").evaluate_all(
        "figs => figs.flatMap((f, d) => f.classList.contains('win') ? [d] : [])")
    return page.locator("#digit").text_content(), pcts, page.locator("#seen").get_attribute("src"), wins


def test_draw_clear_and_draw_again(playwright_chromium, server_url, tmp_path):
    from playwright.sync_api import expect

    ARTIFACTS.mkdir(exist_ok=True)
    context = playwright_chromium.launch_persistent_context(
        str(tmp_path / "profile"), executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS,
        viewport={"width": 1100, "height": 800})
    try:
        page = context.new_page()
        problems, requests = [], []
        page.on("console", lambda m: m.type == "error" and problems.append(m.text))
        page.on("pageerror", lambda e: problems.append(str(e)))
        page.on("request", lambda r: requests.append(r.url))
        page.goto(server_url)
        expect(page.locator(".templates img")).to_have_count(10)
        assert shown(page) == ("–", [0.0] * 10, None, [])

        answers = []
        for digit, points in (("0", ZERO), ("1", ONE)):
            stroke(page, points)
            # the answer arrives while the button is still down: live, not only on release
            expect(page.locator("#digit")).to_have_text(re.compile(r"^\d$"), timeout=10_000)
            page.mouse.up()
            expect(page.locator("#digit")).to_have_text(digit, timeout=10_000)
            page.wait_for_timeout(400)  # any late answer lands before we look
            page.screenshot(path=ARTIFACTS / f"browser-drew-{digit}.png", full_page=True)
            print(f"screenshot: {ARTIFACTS / f'browser-drew-{digit}.png'}")
            text, pcts, src, wins = shown(page)
            assert text == digit and max(pcts) == pcts[int(digit)] and 99 <= sum(pcts) <= 101
            assert src.startswith("data:image/png;base64,") and wins == [int(digit)]
            answers.append(pcts)

            page.click("#clear")
            assert shown(page) == ("–", [0.0] * 10, None, [])
        assert answers[0] != answers[1]

        predicts = [u for u in requests if u.endswith("/api/predict")]
        assert 2 <= len(predicts) < len(ZERO) + len(ONE), "throttled live requests while drawing"
        assert all(u.startswith(server_url) for u in requests), "the page loaded something external"
        assert not problems, problems
    finally:
        context.close()


def test_touch_drawing_on_a_phone(playwright_chromium, server_url, tmp_path):
    """A finger drag (CDP touch events -> pointer events) draws and is read; the page does not scroll."""
    from playwright.sync_api import expect

    context = playwright_chromium.launch_persistent_context(
        str(tmp_path / "profile"), executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS,
        viewport={"width": 400, "height": 900}, has_touch=True, is_mobile=True)
    try:
        page = context.new_page()
        page.goto(server_url)
        box = page.locator("#pad").bounding_box()
        touch = context.new_cdp_session(page)
        for i, (x, y) in enumerate(ONE):
            kind = "touchStart" if i == 0 else "touchMove"
            touch.send("Input.dispatchTouchEvent",
                       {"type": kind, "touchPoints": [{"x": box["x"] + x, "y": box["y"] + y}]})
        touch.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})
        expect(page.locator("#digit")).to_have_text("1", timeout=10_000)
        assert page.evaluate("window.scrollY") == 0
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=ARTIFACTS / "browser-touch.png", full_page=True)
    finally:
        context.close()
