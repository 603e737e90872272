"""The playground end to end: `softmax-mnist serve` (no model) and Debian's Chromium via Playwright.

A run with the defaults (slow motion: one epoch a second) whose loss chart grows while it trains;
a second browser context that presses Train meanwhile and is refused with a message; Stop; a run
with momentum 0.9 at full speed, two curves, its test accuracy; a digit drawn with the mouse and
its evidence pictures; the model.npz download. Screenshots at 1280x800 and 390x844 go to
tests/artifacts/. Fails (never skips) when Chromium, Playwright or MNIST is missing.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from conftest import start_serve
from test_browser import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS, playwright_chromium  # noqa: F401

from softmax_mnist.core.loop import evaluate
from softmax_mnist.study.modelfile import load_model

ZERO = [(140 + 62 * math.sin(t / 40 * 2 * math.pi), 140 - 95 * math.cos(t / 40 * 2 * math.pi))
        for t in range(42)]


def serve(*args):
    """`softmax-mnist serve --port 0 ARGS` in a subprocess: (process, URL from its first line)."""
    proc, match, line = start_serve("--port", "0", *args)
    assert line.startswith("playground on "), line
    return proc, match.group(0)


@pytest.fixture(scope="module")
def playground_url(mnist_dir):
    proc, url = serve("--data-dir", str(mnist_dir))
    yield url
    proc.terminate()
    proc.wait(timeout=10)


def open_page(browser, url, problems, requests, **viewport):
    context = browser.new_context(viewport=viewport or {"width": 1280, "height": 800})
    page = context.new_page()
    page.on("console", lambda m: m.type == "error" and not m.text.startswith("Failed to load resource")
            and problems.append(m.text))
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.on("request", lambda r: requests.append(r.url))
    page.goto(url)
    return context, page


def drawn_points(page, series: int) -> int:
    """How many points the loss chart holds for series ``series`` (1 = the first run)."""
    return page.evaluate(f"(window.lossChartData && window.lossChartData[{series}] || [])"
                         ".filter(v => v != null).length")


def status_of(page, run_id):
    return page.locator(f"label[for=run-{run_id}] .run-status")


def test_train_watch_stop_compare_and_draw(playwright_chromium, playground_url, mnist_splits, tmp_path):  # noqa: F811
    from playwright.sync_api import expect

    ARTIFACTS.mkdir(exist_ok=True)
    browser = playwright_chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
    problems, requests = [], []
    try:
        context, page = open_page(browser, playground_url, problems, requests)
        # the course's defaults are filled in, and every control has a label
        expect(page.locator("#lr")).to_have_value("0.01")
        for field, value in (("momentum", "0"), ("batch_size", "100"), ("epochs", "10"), ("seed", "0")):
            expect(page.locator(f"#{field}")).to_have_value(value)
        expect(page.locator("#preprocess")).to_have_value("course")
        expect(page.locator("#slow")).to_be_checked()
        assert page.evaluate("[...document.querySelectorAll('input, select')].filter(e => e.name !== 'run')"
                             ".every(e => e.labels.length > 0)")
        # keyboard: from the learning rate, Tab walks the form (each setting and its "?") to Train
        page.focus("#lr")
        walked = []
        for _ in range(30):
            page.keyboard.press("Tab")
            walked.append(page.evaluate("document.activeElement.id"))
            if walked[-1] == "train":
                break
        assert walked[-1] == "train", walked

        # run 1: the defaults; the loss chart's data grows while it trains
        page.keyboard.press("Enter")
        expect(status_of(page, 1)).to_contain_text("训练中", timeout=30_000)
        page.wait_for_function("window.lossChartData && window.lossChartData[1]"
                               " && window.lossChartData[1].some(v => v != null)", timeout=30_000)
        before = drawn_points(page, 1)
        page.wait_for_function(f"window.lossChartData[1].filter(v => v != null).length > {before}",
                               timeout=10_000)
        expect(page.locator("#templates canvas:not(.empty)")).to_have_count(10, timeout=10_000)
        colours = page.evaluate("[...document.querySelectorAll('#templates canvas')].map(c => new Set("
                                "c.getContext('2d').getImageData(0, 0, 28, 28).data).size)")
        assert all(n > 10 for n in colours), colours  # pictures, not blank squares
        expect(page.locator("#samples figure.right, #samples figure.wrong")).to_have_count(10)

        other, phone = open_page(browser, playground_url, problems, requests, width=390, height=844)
        expect(phone.locator("#runs .run")).to_have_count(1, timeout=10_000)
        # another page sees the run train: its Train is disabled (one run per server) and says why
        expect(phone.locator("#train")).to_be_disabled()
        expect(phone.locator("#message")).to_contain_text("运行 #1 正在训练")
        phone.screenshot(path=ARTIFACTS / "playground-phone.png")
        phone.screenshot(path=ARTIFACTS / "playground-phone-full.png", full_page=True)
        assert phone.evaluate("document.documentElement.scrollWidth") <= 390, "scrolls sideways"
        other.close()

        page.click("#stop")
        expect(status_of(page, 1)).to_contain_text("停止", timeout=10_000)
        stopped_at = drawn_points(page, 1)
        assert 0 < stopped_at < 10 * 50, "stopped mid-run"

        # run 2: momentum 0.9, full speed, to the end: two curves, test accuracy, confusion matrix
        page.fill("#momentum", "0.9")
        page.uncheck("#slow")
        page.click("#train")
        expect(status_of(page, 2)).to_contain_text("完成，10 轮", timeout=60_000)
        expect(page.locator("#test-acc")).to_contain_text("测试准确率 92.05%")  # as `train` gives
        expect(page.locator("#confusion tbody tr")).to_have_count(10)
        page.wait_for_function("window.lossChartData.length === 3"
                               " && window.lossChartData[2].filter(v => v != null).length === 500")
        assert drawn_points(page, 1) == stopped_at
        names = page.locator("#runs .run-name")
        expect(names).to_have_text(["#2 动量 0.9", "#1 课程默认设置"])  # two runs, newest first, named
        page.wait_for_timeout(300)
        page.screenshot(path=ARTIFACTS / "playground-laptop.png")

        # draw a 0 with the mouse for the selected run (run 2): a prediction and its evidence
        page.locator("#pad").scroll_into_view_if_needed()
        box = page.locator("#pad").bounding_box()
        s = box["width"] / 280
        page.mouse.move(box["x"] + ZERO[0][0] * s, box["y"] + ZERO[0][1] * s)
        page.mouse.down()
        for x, y in ZERO[1:]:
            page.mouse.move(box["x"] + x * s, box["y"] + y * s, steps=2)
        page.mouse.up()
        expect(page.locator("#digit")).to_have_text("0", timeout=10_000)
        evidence = page.locator("#evidence figure img")
        expect(evidence).to_have_count(3)  # what the model sees, then the winner and the runner-up
        assert all(src.startswith("data:image/png;base64,") for src in
                   evidence.evaluate_all("imgs => imgs.map(i => i.src)"))
        expect(page.locator("#evidence figcaption").nth(1)).to_contain_text("0 的证据（预测）")
        page.wait_for_timeout(300)
        page.screenshot(path=ARTIFACTS / "playground-laptop-full.png", full_page=True)

        # run 2 as model.npz: the file predict and evaluate read, with the accuracy shown
        with page.expect_download() as download:
            page.click("#download-2")
        path = tmp_path / "model.npz"
        download.value.save_as(path)
        model, meta = load_model(path)
        assert meta["config"]["momentum"] == 0.9
        assert evaluate(model, mnist_splits.x_test, mnist_splits.y_test)[1] == pytest.approx(0.9205)
        assert np.isfinite(model.W).all()

        # the finished runs on a phone: the confusion matrix and the panels fit its width
        other, phone = open_page(browser, playground_url, problems, requests, width=390, height=844)
        expect(phone.locator("#confusion tbody tr")).to_have_count(10, timeout=10_000)
        phone.screenshot(path=ARTIFACTS / "playground-phone-done.png", full_page=True)
        assert phone.evaluate("document.documentElement.scrollWidth") <= 390, "scrolls sideways"
        other.close()

        assert all(u.startswith(playground_url) for u in requests), "the page loaded something external"
        assert not problems, problems
        context.close()
    finally:
        browser.close()


def test_without_mnist_the_page_says_how_to_get_it(playwright_chromium, tmp_path):  # noqa: F811
    from playwright.sync_api import expect

    proc, url = serve("--data-dir", str(tmp_path / "empty"))
    browser = playwright_chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
    try:
        page = browser.new_page(viewport={"width": 1280, "height": 800})
        page.goto(url)
        expect(page.locator("#nodata")).to_be_visible()
        expect(page.locator("#nodata")).to_contain_text("softmax-mnist download --data-dir")
        page.click("#train")
        expect(page.locator("#message")).to_contain_text("softmax-mnist download")
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=ARTIFACTS / "playground-no-mnist.png")
    finally:
        browser.close()
        proc.terminate()
        proc.wait(timeout=10)
