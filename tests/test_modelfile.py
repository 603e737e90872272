"""model.npz: round trip without pickle, and every way a file can be wrong is refused clearly."""

from __future__ import annotations

import json

import numpy as np
import pytest

from softmax_mnist.core.model import SoftmaxRegression
from softmax_mnist.study.modelfile import ModelFileError, load_model, model_inputs, save_model


@pytest.fixture
def saved(tmp_path):
    model = SoftmaxRegression(rng=np.random.default_rng(1))
    path = save_model(tmp_path / "model.npz", model, "standardize", {"mean": 0.13, "std": 0.31})
    return model, path


def test_round_trip(saved):
    model, path = saved
    loaded, meta = load_model(path)
    assert np.array_equal(loaded.W, model.W) and np.array_equal(loaded.b, model.b)
    assert loaded.W.dtype == np.float32
    assert meta["version"] == 1 and meta["num_classes"] == 10 and meta["preprocess"] == "standardize"
    with np.load(path, allow_pickle=False) as z:
        assert z["meta"].dtype.kind == "U"  # plain string array, no pickle


def test_model_inputs_apply_the_saved_preprocessing(saved):
    _, path = saved
    _, meta = load_model(path)
    images = np.full((2, 28, 28), 255, np.uint8)
    x = model_inputs(images, meta)
    assert x.shape == (2, 784) and x.dtype == np.float32
    assert np.allclose(x, (1.0 - 0.13) / 0.31)


def rewrite(path, **arrays):
    with np.load(path, allow_pickle=False) as z:
        data = {k: z[k] for k in z.files}
    data.update(arrays)
    data = {k: v for k, v in data.items() if v is not None}
    np.savez(path, **data)


def meta_of(path):
    with np.load(path, allow_pickle=False) as z:
        return json.loads(str(z["meta"]))


@pytest.mark.parametrize("change, needle", [
    (lambda p: rewrite(p, W=np.zeros((10, 784), np.float32)), "W is"),
    (lambda p: rewrite(p, b=np.zeros((10,), np.float32)), "b is"),
    (lambda p: rewrite(p, W=np.full((784, 10), np.nan, np.float32)), "non-finite"),
    (lambda p: rewrite(p, W=np.array([object()] * 3, dtype=object)), "unreadable"),
    (lambda p: rewrite(p, meta=None), "missing"),
    (lambda p: rewrite(p, meta=np.array(json.dumps({**meta_of(p), "version": 99}))), "version"),
    (lambda p: rewrite(p, meta=np.array("{not json")), "JSON"),
    (lambda p: rewrite(p, meta=np.array(json.dumps({**meta_of(p), "format": "x"}))), "not a softmax"),
    (lambda p: rewrite(p, meta=np.array(json.dumps({**meta_of(p), "preprocess": "zz"}))), "preprocessing"),
    (lambda p: rewrite(p, meta=np.array(json.dumps({**meta_of(p), "stats": None}))), "standardize"),
    (lambda p: p.write_bytes(p.read_bytes()[:200]), "not a valid"),
    (lambda p: p.write_bytes(b""), "not a valid"),
])
def test_bad_files_are_refused(saved, change, needle):
    _, path = saved
    change(path)
    with pytest.raises(ModelFileError) as e:
        load_model(path)
    msg = str(e.value)
    assert needle in msg and str(path) in msg and "\n" not in msg


def test_missing_file(tmp_path):
    with pytest.raises(ModelFileError, match="not found"):
        load_model(tmp_path / "nope.npz")
