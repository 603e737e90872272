"""Minibatches: each sample once per epoch, seeded order, last short batch kept, course API."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from softmax_mnist.core.batches import check_batch_size, iterate_minibatches, num_batches
from softmax_mnist.core.idx import write_idx
from softmax_mnist.dataloader import DataLoader, Dataset, build_dataloader
from softmax_mnist.errors import ConfigError


def toy(n: int) -> tuple[np.ndarray, np.ndarray]:
    """x row i is (i, 2i, 3i) so a batch shows whether x and y stayed paired."""
    y = np.arange(n, dtype=np.int64)
    return y[:, None] * np.array([1, 2, 3]), y


def check_epoch(batches, x, y, batch_size) -> np.ndarray:
    """Check one epoch's batches against (x, y); return the sample indices in the order seen."""
    n = len(x)
    sizes = [len(yb) for _, yb in batches]
    assert len(batches) == num_batches(n, batch_size) == -(-n // batch_size)
    assert all(s == batch_size for s in sizes[:-1])
    assert sizes[-1] == n - batch_size * (len(batches) - 1)  # the last, smaller batch is kept
    row_index = {row.tobytes(): i for i, row in enumerate(x)}
    assert len(row_index) == n  # the rows identify the samples
    ids = np.array([row_index[row.tobytes()] for xb, _ in batches for row in xb])
    assert sorted(ids.tolist()) == list(range(n))  # every sample exactly once
    np.testing.assert_array_equal(np.concatenate([yb for _, yb in batches]), y[ids])  # still paired
    return ids


@st.composite
def n_and_batch(draw):
    n = draw(st.integers(1, 300))
    batch = draw(st.one_of(st.sampled_from([1, 7, 100, n]), st.integers(1, n)).filter(
        lambda b: b <= n))
    return n, batch


@settings(max_examples=60, deadline=None)
@given(nb=n_and_batch(), seed=st.integers(0, 2**32 - 1), shuffle=st.booleans())
def test_every_sample_once_per_epoch(nb, seed, shuffle):
    n, batch_size = nb
    x, y = toy(n)
    rng = np.random.default_rng(seed) if shuffle else None
    ids = check_epoch(list(iterate_minibatches(x, y, batch_size, rng)), x, y, batch_size)
    if not shuffle:
        assert ids.tolist() == list(range(n))


@pytest.mark.parametrize("batch_size", [1, 7, 100, 1000])
def test_fixed_batch_sizes(batch_size):
    x, y = toy(1000)
    check_epoch(list(iterate_minibatches(x, y, batch_size, np.random.default_rng(0))), x, y,
                batch_size)


def test_last_batch_sizes():
    x, y = toy(10)
    assert [len(b) for _, b in iterate_minibatches(x, y, 4)] == [4, 4, 2]
    shuffled = iterate_minibatches(x, y, 3, np.random.default_rng(1))
    assert [len(b) for _, b in shuffled] == [3, 3, 3, 1]
    assert [len(b) for _, b in iterate_minibatches(x, y, 10)] == [10]


def order(x, y, batch_size, rng):
    return np.concatenate([yb for _, yb in iterate_minibatches(x, y, batch_size, rng)]).tolist()


def test_same_seed_same_order_and_epochs_differ():
    x, y = toy(200)
    a, b = np.random.default_rng(42), np.random.default_rng(42)
    epoch1_a, epoch1_b = order(x, y, 32, a), order(x, y, 32, b)
    assert epoch1_a == epoch1_b
    assert epoch1_a != list(range(200))  # actually shuffled
    epoch2_a = order(x, y, 32, a)
    assert epoch2_a != epoch1_a  # a new permutation each epoch
    assert epoch2_a == order(x, y, 32, b)  # and still reproducible
    assert order(x, y, 32, np.random.default_rng(43)) != epoch1_a


def test_unshuffled_batches_are_in_order():
    x, y = toy(25)
    batches = list(iterate_minibatches(x, y, 10))
    assert [yb.tolist() for _, yb in batches] == [list(range(0, 10)), list(range(10, 20)),
                                                  list(range(20, 25))]


@pytest.mark.parametrize("batch_size", [0, -1, 101, 2.5, "10", None, float("nan")])
def test_bad_batch_size(batch_size):
    with pytest.raises(ConfigError, match="batch size") as info:
        check_batch_size(batch_size, 100)
    assert "100" in str(info.value)


def test_numpy_integer_batch_size_accepted():
    x, y = toy(10)
    check_batch_size(np.int64(5), 10)
    assert len(list(iterate_minibatches(x, y, np.int32(5)))) == 2


# ---- course API on a small fake data dir ---------------------------------------------------


@pytest.fixture
def fake_dir(tmp_path):
    rng = np.random.default_rng(0)
    for name, n in (("train", 30), ("t10k", 23)):
        write_idx(tmp_path / f"{name}-images-idx3-ubyte.gz",
                  rng.integers(0, 256, (n, 28, 28), dtype=np.uint8))
        write_idx(tmp_path / f"{name}-labels-idx1-ubyte.gz", (np.arange(n) % 10).astype(np.uint8))
    return tmp_path


@pytest.mark.parametrize("batch_size", [1, 7, 23])
def test_dataloader_epochs(fake_dir, batch_size):
    ds = Dataset(fake_dir, "test")
    assert len(ds) == 23 and ds.num_classes == 10
    image, label = ds[3]
    assert image.shape == (784,) and label == 3
    loader = DataLoader(ds, batch_size, shuffle=True, seed=5)
    assert len(loader) == -(-23 // batch_size)
    epochs = []
    for _ in range(2):
        batches = list(loader)
        assert len(batches) == len(loader)
        epochs.append(check_epoch(batches, ds.images, ds.labels, batch_size).tolist())
    assert epochs[0] != epochs[1]
    again = DataLoader(Dataset(fake_dir, "test"), batch_size, shuffle=True, seed=5)
    assert [check_epoch(list(again), ds.images, ds.labels, batch_size).tolist()
            for _ in range(2)] == epochs


def test_dataloader_no_shuffle_in_order(fake_dir):
    loader = DataLoader(Dataset(fake_dir, "test"), 10, shuffle=False)
    assert [yb.tolist() for _, yb in loader] == [[i % 10 for i in range(10)]] * 2 + [[0, 1, 2]]


@pytest.mark.parametrize("batch_size", [0, -1, 24, 2.5])
def test_dataloader_bad_batch_size(fake_dir, batch_size):
    ds = Dataset(fake_dir, "test")
    with pytest.raises(ConfigError, match="1 to 23"):
        DataLoader(ds, batch_size, shuffle=True)
    with pytest.raises(ConfigError, match="batch size"):
        build_dataloader(fake_dir, 10, batch_size, True, "test")


@pytest.mark.parametrize("mode", ["valid", "TRAIN", "t10k", "", None])
def test_bad_mode(fake_dir, mode):
    with pytest.raises(ConfigError, match="mode"):
        Dataset(fake_dir, mode)
    with pytest.raises(ConfigError, match="mode"):
        build_dataloader(fake_dir, 10, 5, True, mode)


# ---- course API on the real data -----------------------------------------------------------


def test_build_dataloader_real_train(mnist_dir, mnist_splits):
    loader = build_dataloader(mnist_dir, 10, 100, True, "train")
    assert len(loader) == 550 and len(loader.dataset) == 55000
    np.testing.assert_array_equal(loader.dataset.labels, mnist_splits.y_train)
    count, counts, first = 0, np.zeros(10, dtype=np.int64), None
    for images, labels in loader:
        assert images.shape == (100, 784) and images.dtype == np.float32
        assert labels.shape == (100,) and np.issubdtype(labels.dtype, np.integer)
        first = labels if first is None else first
        counts += np.bincount(labels, minlength=10)
        count += 1
    assert count == 550
    np.testing.assert_array_equal(counts, np.bincount(mnist_splits.y_train, minlength=10))
    assert first.tolist() != mnist_splits.y_train[:100].tolist()  # shuffled


def test_build_dataloader_real_val_and_test(mnist_dir, mnist_splits):
    val = build_dataloader(mnist_dir, 10, 64, False, "val")
    assert len(val.dataset) == 5000 and len(val) == 79
    np.testing.assert_array_equal(val.dataset.images, mnist_splits.x_val)
    np.testing.assert_array_equal(val.dataset.labels, mnist_splits.y_val)
    images, labels = next(iter(val))
    assert images.shape == (64, 784) and labels.tolist() == mnist_splits.y_val[:64].tolist()

    test = build_dataloader(mnist_dir, 10, 10000, False, "test")
    assert len(test.dataset) == 10000 and len(test) == 1
    (images, labels), = list(test)
    assert images.shape == (10000, 784) and images.dtype == np.float32
    assert labels[0] == 7
    np.testing.assert_array_equal(images, mnist_splits.x_test)


@pytest.mark.parametrize("first", [0, 3])
def test_gathering_ahead_gives_the_same_batches(first):
    """The next batch gathered on a second thread (large batches): the same rows, in the same
    order, each batch intact while it is used (two buffers take turns)."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(1050, 6)).astype(np.float32)
    y = np.arange(1050)
    plain = [(a.copy(), b.copy()) for a, b in iterate_minibatches(
        x, y, 100, np.random.default_rng(4), first, reuse=True)]
    ahead = iterate_minibatches(x, y, 100, np.random.default_rng(4), first, reuse=True, ahead=True)
    got = 0
    for (a, b), (pa, pb) in zip(ahead, plain):
        held = a.copy()
        np.testing.assert_array_equal(a, pa)
        np.testing.assert_array_equal(b, pb)
        np.testing.assert_array_equal(a, held)  # not overwritten by the gather of the next
        got += 1
    assert got == len(plain) == 11 - first
