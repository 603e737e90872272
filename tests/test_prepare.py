"""Image preparation: photos and drawings of one digit -> 28x28 as MNIST was prepared."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFilter

from softmax_mnist.apps.prepare import (
    MAX_PIXELS,
    ImageError,
    NoDigitError,
    open_image,
    predict_proba,
    prepare_file,
    prepare_image,
)
from softmax_mnist.core.config import TrainConfig
from softmax_mnist.core.data import load_raw
from softmax_mnist.study.run import train_model


def draw_seven(size=(1600, 1200), paper=235, ink=40, mode="L") -> Image.Image:
    """A big '7' in dark ink on light paper, far off-centre (towards the top right)."""
    img = Image.new(mode, size, paper if mode == "L" else (paper,) * 3)
    colour = ink if mode == "L" else (ink,) * 3
    draw = ImageDraw.Draw(img)
    draw.line([(1000, 150), (1450, 150), (1150, 950)], fill=colour, width=60, joint="curve")
    draw.line([(1120, 520), (1380, 520)], fill=colour, width=40)
    return img


def centre_of_mass(a: np.ndarray) -> tuple[float, float]:
    a = a.astype(np.float64)
    rows, cols = np.indices(a.shape)
    return float((rows * a).sum() / a.sum()), float((cols * a).sum() / a.sum())


def bbox_size(a: np.ndarray) -> tuple[int, int]:
    rows, cols = np.flatnonzero(a.any(axis=1)), np.flatnonzero(a.any(axis=0))
    return int(rows[-1] - rows[0] + 1), int(cols[-1] - cols[0] + 1)


def png_bytes(img: Image.Image, fmt: str = "PNG", **kw) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format=fmt, **kw)
    return buf.getvalue()


def test_offcentre_oversized_light_digit_is_centred_and_scaled_like_mnist():
    out = prepare_image(draw_seven())
    assert out.shape == (28, 28) and out.dtype == np.uint8
    cy, cx = centre_of_mass(out)
    assert abs(cy - 13.5) <= 1 and abs(cx - 13.5) <= 1, (cy, cx)
    h, w = bbox_size(out)
    assert h == 20 and w < 20, (h, w)  # the long side is 20 px; the aspect is kept
    assert out[0].max() == out[-1].max() == out[:, 0].max() == out[:, -1].max() == 0
    assert out.max() == 255  # inverted: white ink on black, full contrast


def test_wide_digit_gets_20_px_on_its_long_side():
    img = Image.new("L", (900, 500), 255)
    ImageDraw.Draw(img).line([(100, 250), (800, 250)], fill=0, width=40)  # a wide stroke
    h, w = bbox_size(prepare_image(img))
    assert w == 20 and h < 10


@pytest.mark.parametrize("variant", ["RGB", "RGBA", "LA", "P", "I;16", "F 0..1 with NaN", "LAB TIFF",
                                     "JPEG", "dark paper"])
def test_image_modes_give_the_same_digit(variant):
    ref = prepare_image(draw_seven())
    gray = draw_seven()
    if variant == "RGBA":  # black ink on a transparent background: flattened onto white
        img = Image.new("RGBA", gray.size, (0, 0, 0, 0))
        img.putalpha(Image.eval(gray, lambda v: 255 if v < 128 else 0))
    elif variant == "LA":
        img = Image.merge("LA", (gray, Image.new("L", gray.size, 255)))
    elif variant == "I;16":
        img = Image.fromarray(np.asarray(gray, dtype=np.uint16) * 257)
    elif variant == "F 0..1 with NaN":  # a float image: values 0..1, a NaN in the paper
        a = np.asarray(gray, dtype=np.float32) / 255
        a[5, 5] = np.nan
        img = Image.fromarray(a)
    elif variant == "LAB TIFF":  # Pillow cannot convert LAB to gray; its L band is the lightness
        lab = Image.merge("LAB", (gray, Image.new("L", gray.size, 128), Image.new("L", gray.size, 128)))
        img = Image.open(io.BytesIO(png_bytes(lab, "TIFF")))
    elif variant == "JPEG":
        img = Image.open(io.BytesIO(png_bytes(draw_seven(mode="RGB"), "JPEG", quality=70)))
    elif variant == "dark paper":  # chalk on a blackboard: no inversion needed
        img = Image.eval(gray, lambda v: 255 - v)
    else:
        img = gray.convert(variant)
    out = prepare_image(img)
    assert np.abs(out.astype(int) - ref).mean() < 6, variant
    assert bbox_size(out)[0] == 20


def test_uneven_light_and_a_shadow_are_not_ink():
    """Light falling off across the page, and a soft-edged shadow over part of the digit."""
    ref = prepare_image(draw_seven())
    paper = np.asarray(draw_seven(), dtype=np.float64)
    h, w = paper.shape
    light = np.tile(np.linspace(0.6, 1.0, w), (h, 1))
    light[:, :800] *= 0.7
    light[:300] *= 0.85  # across the top of the 7
    light = np.asarray(Image.fromarray((light * 255).astype(np.uint8)).filter(ImageFilter.GaussianBlur(15)))
    out = prepare_image(Image.fromarray((paper * light / 255).astype(np.uint8)))
    assert bbox_size(out) == bbox_size(ref)
    assert np.corrcoef(out.ravel(), ref.ravel())[0, 1] > 0.98


@pytest.mark.parametrize("orientation, upright", [(1, False), (6, True), (8, True)])
def test_exif_orientation_is_applied(orientation, upright):
    img = Image.new("L", (600, 300), 255)  # a lying bar; EXIF 6 or 8 stands it up
    ImageDraw.Draw(img).line([(80, 150), (520, 150)], fill=0, width=50)
    exif = Image.Exif()
    exif[0x0112] = orientation
    out = prepare_file(png_bytes(img, "JPEG", exif=exif.tobytes()))
    h, w = bbox_size(out)
    assert (h > w) == upright, (h, w)


@pytest.mark.parametrize("img", [
    Image.new("L", (200, 200), 255),
    Image.new("RGB", (200, 200), (0, 0, 0)),
    Image.new("RGBA", (200, 200), (0, 0, 0, 0)),  # fully transparent
    Image.fromarray(np.random.default_rng(0).integers(120, 140, (300, 300), dtype=np.uint8)),
], ids=["white", "black", "transparent", "gray noise"])
def test_no_digit_is_an_error_not_a_guess(img):
    with pytest.raises(NoDigitError, match="no digit found"):
        prepare_file(png_bytes(img), "blank.png")


def test_unusable_files_get_one_line_errors_naming_them(tmp_path):
    (tmp_path / "notes.png").write_text("not an image")
    (tmp_path / "empty.png").write_bytes(b"")
    (tmp_path / "cut.png").write_bytes(png_bytes(draw_seven())[:300])
    Image.new("1", (8000, 6000)).save(tmp_path / "huge.png")  # 48 Mpx, a small file
    cases = {"notes.png": "not an image", "empty.png": "empty", "cut.png": "truncated",
             "huge.png": "too large", "missing.png": "no such file", ".": "cannot read"}
    for name, words in cases.items():
        with pytest.raises(ImageError, match=words) as err:
            open_image(tmp_path / name)
        assert str(tmp_path / name) in str(err.value) and "\n" not in str(err.value)
    assert 8000 * 6000 > MAX_PIXELS


# ---- on real MNIST -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def model(mnist_splits):
    model, _ = train_model(TrainConfig(epochs=3, momentum=0.9), mnist_splits)
    return model, {"preprocess": mnist_splits.preprocess, "stats": mnist_splits.stats}


def test_mnist_test_images_keep_their_predicted_class(model, mnist_dir):
    model, meta = model
    images, labels = load_raw(mnist_dir, "t10k")
    raw = predict_proba(model, meta, images).argmax(axis=1)
    prepared = np.stack([prepare_image(Image.fromarray(im)) for im in images])
    again = predict_proba(model, meta, prepared).argmax(axis=1)
    agree = float((again == raw).mean())
    print(f"prepared vs raw MNIST test images: {agree:.4f} agree; accuracy "
          f"{(raw == labels).mean():.4f} raw, {(again == labels).mean():.4f} prepared")
    assert agree >= 0.99
