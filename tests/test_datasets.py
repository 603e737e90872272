"""Finding, checking, splitting and preprocessing MNIST-format data (fake dirs, then real)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from softmax_mnist.core import data as datasets
from softmax_mnist.core.data import (
    default_data_dir,
    fit_stats,
    load_raw,
    load_splits,
    preprocess,
    resolve_data_dir,
)
from softmax_mnist.core.idx import write_idx
from softmax_mnist.errors import ConfigError, DataError

N_TRAIN, N_TEST = 50, 20
NAMES = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}


def fake_arrays(seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    arrays = {
        "train_images": rng.integers(0, 256, (N_TRAIN, 28, 28), dtype=np.uint8),
        "train_labels": (np.arange(N_TRAIN) % 10).astype(np.uint8),
        "test_images": rng.integers(0, 256, (N_TEST, 28, 28), dtype=np.uint8),
        "test_labels": rng.integers(0, 10, N_TEST, dtype=np.uint8),
    }
    # the last 10 train images are much brighter, so train-part stats differ from all-train stats
    arrays["train_images"][-10:] = rng.integers(200, 256, (10, 28, 28), dtype=np.uint8)
    arrays["train_images"][0, 0, 0], arrays["train_images"][0, 0, 1] = 0, 255
    return arrays


def write_fake(directory: Path, arrays: dict[str, np.ndarray], gz: bool = True) -> Path:
    for key, array in arrays.items():
        write_idx(directory / (NAMES[key] + (".gz" if gz else "")), array)
    return directory


@pytest.fixture
def fake():
    return fake_arrays()


@pytest.fixture
def fake_dir(tmp_path, fake) -> Path:
    return write_fake(tmp_path / "mnist", fake)


# ---- load_raw ------------------------------------------------------------------------------


@pytest.mark.parametrize("gz", [True, False], ids=["gz", "raw"])
def test_load_raw_reads_both_sets(tmp_path, fake, gz):
    d = write_fake(tmp_path, fake, gz=gz)
    images, labels = load_raw(d, "train")
    assert images.shape == (N_TRAIN, 28, 28) and images.dtype == np.uint8
    assert labels.shape == (N_TRAIN,) and labels.dtype == np.int64
    np.testing.assert_array_equal(images, fake["train_images"])
    np.testing.assert_array_equal(labels, fake["train_labels"])
    images, labels = load_raw(str(d), "t10k")
    np.testing.assert_array_equal(images, fake["test_images"])
    np.testing.assert_array_equal(labels, fake["test_labels"])


def test_load_raw_mixed_gz_and_raw(tmp_path, fake):
    d = write_fake(tmp_path, {"train_images": fake["train_images"]}, gz=True)
    write_fake(d, {"train_labels": fake["train_labels"]}, gz=False)
    _, labels = load_raw(d, "train")
    np.testing.assert_array_equal(labels, fake["train_labels"])


def test_count_mismatch_names_both_counts(tmp_path, fake):
    fake["train_labels"] = fake["train_labels"][:49]
    d = write_fake(tmp_path, fake)
    with pytest.raises(DataError) as info:
        load_raw(d, "train")
    msg = str(info.value)
    assert "50 images" in msg and "49 labels" in msg and "\n" not in msg


@pytest.mark.parametrize("bad_label", [10, 255])
def test_label_out_of_range(tmp_path, fake, bad_label):
    fake["test_labels"][7] = bad_label
    d = write_fake(tmp_path, fake)
    with pytest.raises(DataError) as info:
        load_raw(d, "t10k")
    msg = str(info.value)
    assert f"label {bad_label} at index 7" in msg
    assert "t10k-labels-idx1-ubyte" in msg and "0..9" in msg


def test_labels_wrong_shape(tmp_path, fake):
    fake["train_labels"] = fake["train_labels"].reshape(5, 10)
    d = write_fake(tmp_path, fake)
    with pytest.raises(DataError, match=r"expected labels of shape \(N,\)"):
        load_raw(d, "train")


def test_images_wrong_dtype(tmp_path, fake):
    fake["train_images"] = fake["train_images"].astype(np.float32)
    d = write_fake(tmp_path, fake)
    with pytest.raises(DataError, match="expected uint8 images"):
        load_raw(d, "train")


def test_missing_directory_says_download(tmp_path):
    d = tmp_path / "no-such-dir"
    with pytest.raises(DataError) as info:
        load_raw(d, "train")
    msg = str(info.value)
    assert "softmax-mnist download" in msg and str(d) in msg and "\n" not in msg


@pytest.mark.parametrize("key", list(NAMES))
def test_missing_one_file_is_named(tmp_path, fake, key):
    d = write_fake(tmp_path, {k: v for k, v in fake.items() if k != key})
    kind = "train" if key.startswith("train") else "t10k"
    with pytest.raises(DataError) as info:
        load_raw(d, kind)
    msg = str(info.value)
    assert NAMES[key] in msg and "not found" in msg and "softmax-mnist download" in msg
    other = "t10k" if kind == "train" else "train"
    assert load_raw(d, other)[0].ndim == 3  # the other set is complete and still loads


# ---- where the data lives ------------------------------------------------------------------


def test_env_var_sets_data_dir(monkeypatch, fake_dir, fake):
    monkeypatch.setenv("MNIST_DATA_DIR", str(fake_dir))
    monkeypatch.setenv("XDG_CACHE_HOME", "/nonexistent-cache")
    assert default_data_dir() == fake_dir
    assert resolve_data_dir(None) == fake_dir
    _, labels = load_raw(None, "t10k")
    np.testing.assert_array_equal(labels, fake["test_labels"])


def test_explicit_dir_beats_env_var(monkeypatch, tmp_path):
    monkeypatch.setenv("MNIST_DATA_DIR", str(tmp_path / "env"))
    assert resolve_data_dir(tmp_path / "flag") == tmp_path / "flag"
    assert resolve_data_dir(str(tmp_path / "flag")) == tmp_path / "flag"


def test_default_dir_uses_xdg_cache_home(monkeypatch, tmp_path):
    monkeypatch.delenv("MNIST_DATA_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    assert default_data_dir() == tmp_path / "cache" / "softmax-mnist" / "mnist"


@pytest.mark.parametrize("xdg", [None, ""])
def test_default_dir_falls_back_to_home_cache(monkeypatch, tmp_path, xdg):
    monkeypatch.setenv("MNIST_DATA_DIR", "")  # empty counts as unset
    if xdg is None:
        monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    else:
        monkeypatch.setenv("XDG_CACHE_HOME", xdg)
    monkeypatch.setenv("HOME", str(tmp_path))
    assert default_data_dir() == tmp_path / ".cache" / "softmax-mnist" / "mnist"


def test_missing_default_dir_error_names_it(monkeypatch, tmp_path):
    monkeypatch.delenv("MNIST_DATA_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    with pytest.raises(DataError) as info:
        load_raw(None, "train")
    assert str(tmp_path / "softmax-mnist" / "mnist") in str(info.value)
    assert "softmax-mnist download" in str(info.value)


# ---- preprocessing -------------------------------------------------------------------------


def test_course_mode_centres_each_image(fake):
    images = fake["train_images"]
    x = preprocess(images, "course")
    assert x.dtype == np.float32 and x.shape == (N_TRAIN, 784)
    np.testing.assert_allclose(x.mean(axis=1), 0, atol=1e-6)
    expected = images.reshape(N_TRAIN, -1) / 255
    expected -= expected.mean(axis=1, keepdims=True)
    np.testing.assert_allclose(x, expected, atol=1e-6)
    assert preprocess(images).tobytes() == x.tobytes()  # course is the default


def test_unit_mode_is_zero_to_one(fake):
    images = fake["train_images"]
    x = preprocess(images, "unit")
    assert x.dtype == np.float32 and x.shape == (N_TRAIN, 784)
    assert x.min() == 0.0 and x.max() == 1.0
    np.testing.assert_allclose(x, images.reshape(N_TRAIN, -1) / 255, atol=1e-7)


def test_preprocess_leaves_input_alone(fake):
    images = fake["train_images"].copy()
    for mode in ("course", "unit"):
        preprocess(images, mode)
    preprocess(images, "standardize", {"mean": 0.5, "std": 0.25})
    np.testing.assert_array_equal(images, fake["train_images"])


def test_fit_stats_values():
    images = np.array([[0, 255], [255, 255]], dtype=np.uint8)
    stats = fit_stats(images)
    assert stats == pytest.approx({"mean": 0.75, "std": np.sqrt(0.1875)})
    assert isinstance(stats["mean"], float) and isinstance(stats["std"], float)


def test_standardize_with_given_stats(fake):
    images = fake["test_images"]
    x = preprocess(images, "standardize", {"mean": 0.5, "std": 0.25})
    assert x.dtype == np.float32
    np.testing.assert_allclose(x, (images.reshape(N_TEST, -1) / 255 - 0.5) / 0.25, atol=1e-5)


def test_standardize_without_stats_is_config_error(fake):
    with pytest.raises(ConfigError, match="stats"):
        preprocess(fake["train_images"], "standardize")


@pytest.mark.parametrize("mode", ["Course", "zscore", "", None])
def test_unknown_mode(fake, fake_dir, mode):
    with pytest.raises(ConfigError, match="unknown preprocessing"):
        preprocess(fake["train_images"], mode)
    with pytest.raises(ConfigError, match="unknown preprocessing"):
        load_splits(fake_dir, 10, mode)


# ---- splits --------------------------------------------------------------------------------


@pytest.mark.parametrize("val_size", [0, 1, 10, 49])
def test_load_splits_val_size(fake_dir, fake, val_size):
    s = load_splits(fake_dir, val_size, "unit")
    n_train = N_TRAIN - val_size
    assert s.x_train.shape == (n_train, 784) and s.x_val.shape == (val_size, 784)
    assert s.x_test.shape == (N_TEST, 784)
    assert len(s.y_train) == n_train and len(s.y_val) == val_size and len(s.y_test) == N_TEST
    for x in (s.x_train, s.x_val, s.x_test):
        assert x.dtype == np.float32
    for y in (s.y_train, s.y_val, s.y_test):
        assert y.dtype == np.int64
    # the first images train, the last ones validate, in file order
    np.testing.assert_array_equal(s.y_train, fake["train_labels"][:n_train])
    np.testing.assert_array_equal(s.y_val, fake["train_labels"][n_train:])
    np.testing.assert_allclose(s.x_val * 255, fake["train_images"][n_train:].reshape(val_size, 784),
                               atol=1e-4)
    assert s.preprocess == "unit" and s.stats is None


@pytest.mark.parametrize("val_size", [-1, N_TRAIN, N_TRAIN + 1, 2.5, "10"])
def test_load_splits_bad_val_size(fake_dir, val_size):
    with pytest.raises(ConfigError, match="validation size"):
        load_splits(fake_dir, val_size)


def test_standardize_uses_train_part_stats(fake_dir, fake):
    s = load_splits(fake_dir, 10, "standardize")
    expected = fit_stats(fake["train_images"][:40])
    assert s.stats == pytest.approx(expected)
    assert s.stats["mean"] < fit_stats(fake["train_images"])["mean"] - 0.05  # not all 50
    assert abs(float(s.x_train.mean())) < 1e-4
    assert float(s.x_train.std()) == pytest.approx(1.0, abs=1e-4)
    # val and test use the same train stats, so the bright val images come out well above 0
    assert float(s.x_val.mean()) > 1.0
    np.testing.assert_allclose(
        s.x_test, (fake["test_images"].reshape(N_TEST, -1) / 255 - expected["mean"])
        / expected["std"], atol=1e-4,
    )


def test_course_splits_rows_centred(fake_dir):
    s = load_splits(fake_dir, 10)
    assert s.preprocess == "course"
    for x in (s.x_train, s.x_val, s.x_test):
        np.testing.assert_allclose(x.mean(axis=1), 0, atol=1e-6)


# ---- the real data -------------------------------------------------------------------------


def test_real_mnist_splits(mnist_dir, mnist_splits):
    s = mnist_splits
    assert s.x_train.shape == (55000, 784) and s.y_train.shape == (55000,)
    assert s.x_val.shape == (5000, 784) and s.y_val.shape == (5000,)
    assert s.x_test.shape == (10000, 784) and s.y_test.shape == (10000,)
    for x in (s.x_train, s.x_val, s.x_test):
        assert x.dtype == np.float32
        assert np.all(np.abs(x.mean(axis=1)) < 1e-5)  # course preprocessing
    for y in (s.y_train, s.y_val, s.y_test):
        assert y.dtype == np.int64 and y.min() == 0 and y.max() == 9
    # well-known MNIST facts: first and last labels, and class counts
    assert s.y_train[:10].tolist() == [5, 0, 4, 1, 9, 2, 1, 3, 1, 4]
    assert s.y_val[-1] == 8
    assert s.y_test[:10].tolist() == [7, 2, 1, 0, 4, 1, 4, 9, 5, 9]
    assert s.y_test[-1] == 6
    train_counts = np.bincount(np.concatenate([s.y_train, s.y_val]), minlength=10)
    assert train_counts.tolist() == [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
    assert np.bincount(s.y_test).tolist() == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


def test_real_mnist_raw_files(mnist_dir):
    images, labels = load_raw(mnist_dir, "t10k")
    assert images.shape == (10000, 28, 28) and images.dtype == np.uint8
    assert images.min() == 0 and images.max() == 255
    assert labels[0] == 7
    assert set(datasets.FILES.values()) == set(NAMES.values())
