"""`softmax-mnist predict`: digits drawn large on white canvases, bad files, --json, --save-prepared."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image, ImageFilter

from softmax_mnist.apps.cli import main
from softmax_mnist.core.config import TrainConfig
from softmax_mnist.core.data import load_raw
from softmax_mnist.study.modelfile import save_model
from softmax_mnist.study.run import train_model


@pytest.fixture(scope="module")
def model_file(mnist_splits, tmp_path_factory):
    model, _ = train_model(TrainConfig(epochs=3, momentum=0.9), mnist_splits)
    path = tmp_path_factory.mktemp("model") / "model.npz"
    return str(save_model(path, model, mnist_splits.preprocess, mnist_splits.stats))


def draw_on_canvas(digit: np.ndarray, rng: np.random.Generator) -> Image.Image:
    """An MNIST digit as black ink on a white RGB canvas: 6-10x larger, thicker, off-centre."""
    side = int(rng.integers(170, 281))
    big = Image.fromarray(255 - digit).resize((side, side), Image.Resampling.BICUBIC)
    big = big.filter(ImageFilter.MinFilter(5))  # thicker strokes, as a marker would draw them
    canvas = Image.new("RGB", (640, 480), "white")
    canvas.paste(big.convert("RGB"), (int(rng.integers(0, 640 - side)), int(rng.integers(0, 480 - side))))
    return canvas


def test_predict_reads_200_drawn_digits(model_file, mnist_dir, tmp_path, capsys):
    images, labels = load_raw(mnist_dir, "t10k")
    rng = np.random.default_rng(0)
    picks = rng.choice(len(images), 200, replace=False)
    paths = []
    for i in picks:
        path = tmp_path / f"{i}.png"
        draw_on_canvas(images[i], rng).save(path, compress_level=1)  # fast to write
        paths.append(str(path))
    assert main(["predict", model_file, *paths, "--json"]) == 0
    results = json.loads(capsys.readouterr().out)
    correct = np.mean([r["digit"] == labels[i] for r, i in zip(results, picks, strict=True)])
    print(f"drawn digits read right: {correct:.3f} of 200")
    assert correct >= 0.85


def test_bad_files_get_one_line_each_and_the_others_an_answer(model_file, mnist_dir, tmp_path, capsys):
    images, labels = load_raw(mnist_dir, "t10k")
    good = tmp_path / "good.png"
    draw_on_canvas(images[0], np.random.default_rng(1)).save(good)
    (tmp_path / "text.png").write_text("hello")
    Image.new("L", (300, 300), 255).save(tmp_path / "blank.png")
    Image.new("1", (8000, 6000)).save(tmp_path / "huge.png")
    names = ["text.png", "good.png", "blank.png", "missing.png", "huge.png"]
    code = main(["predict", model_file, *(str(tmp_path / n) for n in names)])
    out, err = capsys.readouterr()
    assert code == 1
    lines = out.splitlines()
    assert len(lines) == 2 and lines[0].split()[:2] == ["image", "digit"]
    row = lines[1].split()
    assert row[0].endswith("good.png") and int(row[1]) == labels[0]
    probs = [float(p) for p in row[2:]]
    assert len(probs) == 10 and abs(sum(probs) - 1) < 0.01
    errors = err.splitlines()
    assert len(errors) == 4 and all(e.startswith("softmax-mnist predict: error: ") for e in errors)
    for name, words in zip(["text.png", "blank.png", "missing.png", "huge.png"],
                           ["not an image", "no digit found", "no such file", "too large"], strict=True):
        assert any(name in e and words in e for e in errors), (name, errors)


def test_json_and_save_prepared(model_file, mnist_dir, tmp_path, capsys):
    images, _ = load_raw(mnist_dir, "t10k")
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    for folder, i in (("a", 0), ("b", 1)):
        Image.fromarray(255 - images[i]).resize((200, 200)).save(tmp_path / folder / "digit.png")
    (tmp_path / "bad.jpg").write_bytes(b"\xff\xd8 not really")
    paths = [str(tmp_path / "a/digit.png"), str(tmp_path / "b/digit.png"), str(tmp_path / "bad.jpg")]
    code = main(["predict", model_file, *paths, "--json", "--save-prepared", str(tmp_path / "seen")])
    results = json.loads(capsys.readouterr().out)
    assert code == 1
    keys = [sorted(r) for r in results]
    assert keys == [["digit", "image", "prepared", "probs"]] * 2 + [["error", "image"]]
    assert "not an image" in results[2]["error"]
    saved = sorted(p.name for p in (tmp_path / "seen").iterdir())
    assert saved == ["digit-2.png", "digit.png"]  # same name twice: nothing overwritten
    seen = np.asarray(Image.open(tmp_path / "seen" / "digit.png"))
    assert seen.shape == (28, 28) and seen.dtype == np.uint8 and seen[0, 0] == 0 and seen.max() == 255


def test_a_bad_model_file_is_one_line(tmp_path, capsys):
    (tmp_path / "model.npz").write_text("no")
    assert main(["predict", str(tmp_path / "model.npz"), "x.png"]) == 1
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1 and "model.npz" in err
