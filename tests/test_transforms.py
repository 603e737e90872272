"""Image transforms (moment normalisation, blur), their validation, and model files that carry one:
a slanted bar comes out upright and centred, the vectorised code equals a plain per-pixel
loop of the same formulas, and evaluate/predict's model_inputs apply a model's transform."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from softmax_mnist.core.data import preprocess
from softmax_mnist.core.model import SoftmaxRegression
from softmax_mnist.core.transforms import (
    MAX_SLANT,
    SIZE_RANGE,
    apply_transform,
    blur,
    check_transform,
    normalize,
)
from softmax_mnist.errors import ConfigError
from softmax_mnist.study.modelfile import ModelFileError, load_model, model_inputs, save_model


def moments(image: np.ndarray) -> tuple[float, float, float, float]:
    """Centre of mass (r0, c0), vertical spread s_r and slant a of one image, in float64."""
    m = image.astype(np.float64)
    r, c = np.mgrid[: m.shape[0], : m.shape[1]]
    mass = m.sum()
    r0, c0 = (r * m).sum() / mass, (c * m).sum() / mass
    var_r = ((r - r0) ** 2 * m).sum() / mass
    cov = ((r - r0) * (c - c0) * m).sum() / mass
    return r0, c0, math.sqrt(var_r), cov / var_r


def slanted_bar(top=(4, 9), bottom=(23, 19), width=2) -> np.ndarray:
    """A 28x28 uint8 stroke from ``top`` to ``bottom`` (row, col), slanting to the right."""
    img = np.zeros((28, 28), np.uint8)
    for t in np.linspace(0, 1, 200):
        r = top[0] + t * (bottom[0] - top[0])
        c = top[1] + t * (bottom[1] - top[1])
        img[int(round(r)), int(round(c)) - width // 2 : int(round(c)) + (width + 1) // 2] = 255
    return img


# ---- moment normalisation ------------------------------------------------------------------


def test_deskew_makes_a_slanted_bar_upright_and_centred():
    bar = slanted_bar(top=(3, 5), bottom=(20, 14))
    r0, c0, _, slant = moments(bar)
    assert slant > 0.4 and (r0, c0) != pytest.approx((14, 14), abs=0.5)  # slanted, off centre
    out = normalize(bar[None], deskew=True)[0]
    r0, c0, _, slant = moments(out)
    assert abs(slant) < 0.05  # upright
    assert (r0, c0) == pytest.approx((14, 14), abs=0.3)  # centre of mass at the frame centre
    # upright: every row's ink sits in the same few columns
    cols = [np.average(np.arange(28), weights=row) for row in out.astype(float) if row.sum() > 200]
    assert max(cols) - min(cols) < 1.5
    assert int(out.sum()) == pytest.approx(int(bar.sum()), rel=0.05)  # ink kept


def test_deskew_leaves_an_upright_centred_bar_alone():
    bar = slanted_bar(top=(5, 14), bottom=(23, 14), width=1)
    assert moments(bar)[:2] == (14, 14)
    np.testing.assert_array_equal(normalize(bar[None], deskew=True)[0], bar)


def test_size_normalisation_sets_the_vertical_spread():
    short = slanted_bar(top=(10, 14), bottom=(18, 14), width=3)  # small: spread ~2.4 px
    tall = slanted_bar(top=(3, 14), bottom=(24, 14), width=3)  # large: spread ~6.2 px
    for img in (short, tall):
        s_before = moments(img)[2]
        k = float(np.clip(s_before / 5.5, *SIZE_RANGE))
        out = normalize(img[None], deskew=False, size=5.5)[0]
        assert moments(out)[2] == pytest.approx(s_before / k, rel=0.08)
    # within the clip range the spread becomes the target
    mid = slanted_bar(top=(7, 14), bottom=(21, 14), width=3)
    assert moments(normalize(mid[None], False, 5.5)[0])[2] == pytest.approx(5.5, rel=0.08)


def test_blank_dot_and_dash_images_do_not_break_it():
    images = np.zeros((3, 28, 28), np.uint8)
    images[1, 14, 14] = 255  # a dot: no spread at all
    images[2, 14, 5:20] = 255  # a flat dash: no vertical spread, infinite slant
    out = normalize(images, deskew=True, size=5.5)
    assert out.dtype == np.uint8 and out.shape == images.shape
    assert out[0].sum() == 0
    assert out[1].sum() > 0 and out[2].sum() > 0


def reference_normalize(image: np.ndarray, deskew: bool, size: float) -> np.ndarray:
    """The module doc's formulas, one pixel at a time, with bilinear reads and zeros outside."""
    h, w = image.shape
    r0, c0, s_r, slant = moments(image)
    slant = float(np.clip(slant, -MAX_SLANT, MAX_SLANT)) if deskew else 0.0
    k = float(np.clip(s_r / size, *SIZE_RANGE)) if size else 1.0
    m = image.astype(np.float64)

    def pixel(r, c):
        return m[r, c] if 0 <= r < h and 0 <= c < w else 0.0

    out = np.zeros((h, w))
    for r in range(h):
        for c in range(w):
            u, v = (r - h / 2) * k, (c - w / 2) * k
            sr, sc = r0 + u, c0 + v + slant * u
            rf, cf = math.floor(sr), math.floor(sc)
            fr, fc = sr - rf, sc - cf
            out[r, c] = ((1 - fr) * ((1 - fc) * pixel(rf, cf) + fc * pixel(rf, cf + 1))
                         + fr * ((1 - fc) * pixel(rf + 1, cf) + fc * pixel(rf + 1, cf + 1)))
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)


@pytest.mark.parametrize("deskew, size", [(True, 0.0), (True, 5.5), (False, 5.5)])
def test_vectorised_normalize_equals_the_per_pixel_reference(deskew, size):
    rng = np.random.default_rng(0)
    images = np.stack([slanted_bar(), slanted_bar((6, 20), (22, 8), 3),
                       (rng.random((28, 28)) * 255 * (rng.random((28, 28)) > 0.7)).astype(np.uint8)])
    out = normalize(images, deskew, size)
    for img, got in zip(images, out):
        # float32 against float64 arithmetic: a value at .5 may round either way
        assert np.abs(got.astype(int) - reference_normalize(img, deskew, size)).max() <= 1


def test_chunking_does_not_change_the_result(monkeypatch):
    import softmax_mnist.core.transforms as t

    rng = np.random.default_rng(1)
    images = (rng.random((10, 28, 28)) * 255 * (rng.random((10, 28, 28)) > 0.8)).astype(np.uint8)
    whole = normalize(images, True, 5.5)
    monkeypatch.setattr(t, "CHUNK", 3)
    np.testing.assert_array_equal(t.normalize(images, True, 5.5), whole)
    np.testing.assert_array_equal(t.blur(images, 0.8), blur(images, 0.8))


# ---- blur ----------------------------------------------------------------------------------


def test_blur_spreads_a_dot_symmetrically_and_keeps_its_mass():
    img = np.zeros((1, 28, 28), np.uint8)
    img[0, 14, 14] = 255
    out = blur(img, 0.8)[0].astype(float)
    assert out[14, 14] < 255 and out[14, 14] == out.max()
    assert out[13, 14] == out[15, 14] == out[14, 13] == out[14, 15] > 0
    assert out[12, 12] == out[16, 16] == out[12, 16] == out[16, 12]
    assert out.sum() == pytest.approx(255, abs=8)  # rounding each pixel to uint8
    np.testing.assert_array_equal(blur(img, 0.0), img)


# ---- the transform as data -----------------------------------------------------------------


def test_check_transform():
    assert check_transform(None) is None
    assert check_transform({}) is None  # everything off is no transform
    assert check_transform({"deskew": False, "ink_size": 0, "blur_sigma": 0}) is None
    assert check_transform({"deskew": True}) == {"deskew": True, "ink_size": 0.0, "blur_sigma": 0.0}
    for bad in ({"deskew": "yes"}, {"blur_sigma": -1}, {"blur_sigma": float("nan")},
                {"ink_size": 100}, {"rotate": 3}, {"blur_sigma": True}, [1, 2]):
        with pytest.raises(ConfigError):
            check_transform(bad)


def test_apply_transform_order_and_none():
    rng = np.random.default_rng(2)
    images = (rng.random((4, 28, 28)) * 255 * (rng.random((4, 28, 28)) > 0.8)).astype(np.uint8)
    assert apply_transform(images, None) is images
    spec = {"deskew": True, "ink_size": 5.5, "blur_sigma": 0.8}
    np.testing.assert_array_equal(apply_transform(images, spec),
                                  blur(normalize(images, True, 5.5), 0.8))


def test_model_file_carries_the_transform(tmp_path):
    rng = np.random.default_rng(3)
    images = (rng.random((5, 28, 28)) * 255 * (rng.random((5, 28, 28)) > 0.8)).astype(np.uint8)
    model = SoftmaxRegression(784, 10, rng=rng)
    spec = {"deskew": True, "ink_size": 5.5, "blur_sigma": 0.8}
    save_model(tmp_path / "with.npz", model, "course", transform=spec)
    save_model(tmp_path / "without.npz", model, "course")
    _, meta = load_model(tmp_path / "with.npz")
    assert meta["transform"] == spec
    np.testing.assert_array_equal(model_inputs(images, meta),
                                  preprocess(apply_transform(images, spec), "course"))
    np.testing.assert_array_equal(model_inputs(images.reshape(5, 784), meta),
                                  model_inputs(images, meta))  # flat images work too
    _, meta = load_model(tmp_path / "without.npz")
    assert "transform" not in meta  # format version 1 as before: no key, no transform
    np.testing.assert_array_equal(model_inputs(images, meta), preprocess(images, "course"))


def test_a_bad_transform_in_a_model_file_is_refused(tmp_path):
    model = SoftmaxRegression(784, 10)
    path = tmp_path / "m.npz"
    save_model(path, model, "course", transform={"deskew": True})
    with np.load(path) as z:
        arrays = {k: z[k] for k in z.files}
    meta = json.loads(str(arrays["meta"]))
    meta["transform"] = {"deskew": True, "blur_sigma": "lots"}
    np.savez(path, W=arrays["W"], b=arrays["b"], meta=np.array(json.dumps(meta)))
    with pytest.raises(ModelFileError, match="transform"):
        load_model(path)
