"""IDX reader and writer: round trips for every dtype, and one clear error per kind of bad file."""

from __future__ import annotations

import gzip
import struct
import tempfile
import time
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from softmax_mnist.core.idx import IdxError, read_idx, write_idx
from softmax_mnist.errors import DataError

DTYPES = [np.uint8, np.int8, np.int16, np.int32, np.float32, np.float64]
TYPE_CODES = {np.uint8: 0x08, np.int8: 0x09, np.int16: 0x0B, np.int32: 0x0C,
              np.float32: 0x0D, np.float64: 0x0E}


def header(code: int, *shape: int) -> bytes:
    return struct.pack(f">HBB{len(shape)}I", 0, code, len(shape), *shape)


def assert_idx_error(path: Path, *fragments: str) -> str:
    """read_idx(path) raises IdxError with a one-line message naming the file and ``fragments``."""
    with pytest.raises(IdxError) as info:
        read_idx(path)
    msg = str(info.value)
    assert isinstance(info.value, DataError)
    assert "\n" not in msg
    assert str(path) in msg
    for fragment in fragments:
        assert fragment in msg, f"{fragment!r} not in {msg!r}"
    return msg


# ---- round trips ---------------------------------------------------------------------------


@settings(max_examples=40, deadline=None)
@given(
    array=st.sampled_from(DTYPES).flatmap(
        lambda dt: hnp.arrays(dt, hnp.array_shapes(min_dims=1, max_dims=4, min_side=0, max_side=6))
    ),
    compressed=st.booleans(),
)
def test_round_trip_any_dtype_and_shape(array, compressed):
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / ("a.idx.gz" if compressed else "a.idx")
        write_idx(path, array)
        assert (path.read_bytes()[:2] == b"\x1f\x8b") == compressed
        out = read_idx(path)
    assert out.dtype == array.dtype  # native byte order back
    assert out.shape == array.shape
    assert out.tobytes() == array.tobytes()  # bitwise, so NaN and -0.0 count too


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", ["x.idx", "x.idx.gz"])
def test_round_trip_each_dtype_exact_values(tmp_path, dtype, name):
    info = np.iinfo(dtype) if np.issubdtype(dtype, np.integer) else np.finfo(dtype)
    array = np.array([[info.min, 0, 1], [info.max, 2, 3]], dtype=dtype)
    write_idx(tmp_path / name, array)
    out = read_idx(tmp_path / name)
    assert out.dtype == np.dtype(dtype) and out.shape == (2, 3)
    np.testing.assert_array_equal(out, array)


@pytest.mark.parametrize("dtype", DTYPES)
def test_written_header_is_big_endian_idx(tmp_path, dtype):
    array = np.arange(6, dtype=dtype).reshape(2, 3)
    write_idx(tmp_path / "x", array)
    data = (tmp_path / "x").read_bytes()
    assert data[:12] == header(TYPE_CODES[dtype], 2, 3)
    assert data[12:] == array.astype(np.dtype(dtype).newbyteorder(">")).tobytes()


def test_big_endian_input_reads_back_native(tmp_path):
    array = np.array([1, -2, 300000], dtype=">i4")
    write_idx(tmp_path / "x.gz", array)
    out = read_idx(tmp_path / "x.gz")
    assert out.dtype == np.dtype(np.int32)
    assert out.tolist() == [1, -2, 300000]


def test_gz_detected_from_content_not_name(tmp_path):
    array = np.arange(10, dtype=np.uint8)
    write_idx(tmp_path / "plain", array, compress=True)
    write_idx(tmp_path / "named.gz", array, compress=False)
    assert read_idx(tmp_path / "plain").tolist() == list(range(10))
    assert read_idx(tmp_path / "named.gz").tolist() == list(range(10))


def test_write_refuses_unstorable_dtype_and_zero_dims(tmp_path):
    with pytest.raises(ValueError, match="dtype"):
        write_idx(tmp_path / "x", np.zeros(3, dtype=np.uint16))
    with pytest.raises(ValueError, match="dimensions"):
        write_idx(tmp_path / "x", np.array(5, dtype=np.uint8))
    assert not (tmp_path / "x").exists()


# ---- bad input -----------------------------------------------------------------------------


@pytest.fixture
def good_gz(tmp_path) -> Path:
    path = tmp_path / "images-idx3-ubyte.gz"
    rng = np.random.default_rng(0)  # random bytes: gzip cannot shrink them to a few bytes
    write_idx(path, rng.integers(0, 256, size=(20, 28, 28), dtype=np.uint8))
    return path


@pytest.mark.parametrize("keep", [0.9, 0.5, 0.1])
def test_truncated_gz(good_gz, keep):
    data = good_gz.read_bytes()
    good_gz.write_bytes(data[: int(len(data) * keep)])
    assert_idx_error(good_gz, "truncated")


def test_truncated_gz_inside_gzip_header(tmp_path):
    path = tmp_path / "x.gz"
    write_idx(path, np.arange(100, dtype=np.uint8))
    path.write_bytes(path.read_bytes()[:6])
    assert_idx_error(path, "gzip")


def test_corrupt_gz_payload(good_gz):
    data = bytearray(good_gz.read_bytes())
    for i in range(200, 216):
        data[i] ^= 0xFF
    good_gz.write_bytes(bytes(data))
    assert_idx_error(good_gz, "corrupt")


def test_truncated_raw_file(tmp_path):
    path = tmp_path / "x"
    path.write_bytes(header(0x08, 10, 28, 28) + bytes(10 * 784 - 1))
    msg = assert_idx_error(path, "truncated")
    assert "7,840" in msg and "7,839" in msg


def test_raw_file_longer_than_header(tmp_path):
    path = tmp_path / "x"
    path.write_bytes(header(0x0C, 3) + bytes(3 * 4 + 1))
    assert_idx_error(path, "longer than its header says")


def test_gz_file_longer_than_header(tmp_path):
    path = tmp_path / "x.gz"
    path.write_bytes(gzip.compress(header(0x08, 5) + bytes(6)))
    assert_idx_error(path, "longer than its header says")


def test_gz_file_shorter_than_header(tmp_path):
    path = tmp_path / "x.gz"
    path.write_bytes(gzip.compress(header(0x08, 5) + bytes(4)))
    assert_idx_error(path, "truncated")


def test_raw_header_cut_in_the_dims(tmp_path):
    path = tmp_path / "x"
    path.write_bytes(header(0x08, 2, 3, 4)[:9])
    assert_idx_error(path, "truncated")


@pytest.mark.parametrize("magic", [b"\x01\x00\x08\x01", b"\x00\x01\x08\x01", b"PK\x03\x04"])
def test_wrong_magic(tmp_path, magic):
    path = tmp_path / "x"
    path.write_bytes(magic + struct.pack(">I", 4) + bytes(4))
    assert_idx_error(path, "magic", "not an IDX file")


@pytest.mark.parametrize("code", [0x00, 0x07, 0x0A, 0x0F, 0xFF])
def test_unknown_type_code(tmp_path, code):
    path = tmp_path / "x"
    path.write_bytes(header(code, 4) + bytes(4))
    assert_idx_error(path, "type code", f"0x{code:02x}")


def test_zero_dims(tmp_path):
    path = tmp_path / "x"
    path.write_bytes(header(0x08) + bytes(4))
    assert_idx_error(path, "0 dimensions")


@pytest.mark.parametrize("compressed", [False, True])
def test_huge_header_refused_before_allocating(tmp_path, compressed):
    path = tmp_path / "x"
    data = header(0x08, 1_000_000, 1_000_000) + bytes(100)  # claims 10**12 uint8 values
    path.write_bytes(gzip.compress(data) if compressed else data)
    start = time.perf_counter()
    msg = assert_idx_error(path, "1,000,000,000,000 bytes", "limit")
    assert time.perf_counter() - start < 0.5
    assert "(1000000, 1000000)" in msg


def test_max_bytes_limit_is_exact(tmp_path):
    path = tmp_path / "x"
    write_idx(path, np.zeros((4, 25), dtype=np.float32))  # 400 bytes of data
    assert read_idx(path, max_bytes=400).shape == (4, 25)
    with pytest.raises(IdxError, match="400 bytes"):
        read_idx(path, max_bytes=399)


def test_non_gzip_garbage_named_gz(tmp_path):
    path = tmp_path / "train-images-idx3-ubyte.gz"
    path.write_bytes(b"<html><body>404 Not Found</body></html>\n")
    assert_idx_error(path, "not an IDX file")


def test_gzip_of_garbage(tmp_path):
    path = tmp_path / "x.gz"
    path.write_bytes(gzip.compress(b"<html>not idx</html>"))
    assert_idx_error(path, "not an IDX file")


@pytest.mark.parametrize("content", [b"", b"\x00", b"\x00\x00\x08"])
def test_empty_or_tiny_file(tmp_path, content):
    path = tmp_path / "x"
    path.write_bytes(content)
    assert_idx_error(path, "too short", f"({len(content)} bytes)")


def test_empty_gz_stream(tmp_path):
    path = tmp_path / "x.gz"
    path.write_bytes(gzip.compress(b""))
    assert_idx_error(path, "too short")


def test_missing_file(tmp_path):
    path = tmp_path / "nope" / "t10k-labels-idx1-ubyte.gz"
    assert_idx_error(path, "no such file", "softmax-mnist download")
