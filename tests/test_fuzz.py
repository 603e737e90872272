"""Fuzzed readers: random and mutated input for every reader of outside data.

The IDX reader, the model loader, the TOML config reader (with TrainConfig.from_dict) and
image preparation each get random bytes and mutated valid files. Every input must give a
valid result or the project's own error (a SoftmaxMnistError with a one-line message):
never another exception, a hang (each input has SECONDS_PER_INPUT) or a memory blow-up
(the address space is capped while a fuzz test runs, so an allocation of what a header
merely claims fails with MemoryError).

CI tries FUZZ_EXAMPLES inputs per test (default 200; all of this file in well under a
minute). A longer run, e.g. after touching a reader:

    FUZZ_EXAMPLES=20000 python -m pytest tests/test_fuzz.py -q

The last line of the run says how many inputs each reader was tried with. Inputs that once
broke a reader are kept as plain tests at the end of each section.
"""

from __future__ import annotations

import datetime
import gzip
import io
import json
import math
import os
import signal
import struct
import time
import tracemalloc
import zipfile
from collections import Counter
from contextlib import contextmanager

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from PIL import Image

from softmax_mnist.apps.prepare import prepare_file
from softmax_mnist.core.config import TrainConfig, read_toml
from softmax_mnist.core.data import PREPROCESS_MODES
from softmax_mnist.core.idx import MAX_BYTES, IdxError, read_idx
from softmax_mnist.core.model import SoftmaxRegression
from softmax_mnist.errors import ConfigError, SoftmaxMnistError
from softmax_mnist.study.modelfile import MAX_META_BYTES, ModelFileError, load_model, model_inputs, save_model

resource = pytest.importorskip("resource", reason="the fuzzing caps memory with RLIMIT_AS and time "
                               "with SIGALRM, which this system (Windows) lacks")
if not hasattr(signal, "SIGALRM"):
    pytest.skip("the fuzzing's time limit is SIGALRM, which this system lacks", allow_module_level=True)

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "200"))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,  # a noisy 2-core CI machine: time is bounded per input below instead
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                           HealthCheck.large_base_example, HealthCheck.filter_too_much],
)
SECONDS_PER_INPUT = 10.0
MEMORY_HEADROOM = 1 << 30  # address space a fuzz test may add: far below what a lying header asks
TRIED: Counter[str] = Counter()


# ---- harness ----------------------------------------------------------------------------------


class Hang(Exception):
    """An input kept a reader busy longer than SECONDS_PER_INPUT."""


@contextmanager
def time_limit(seconds: float):
    def alarm(signum, frame):
        raise Hang(f"one input took over {seconds} s")

    old = signal.signal(signal.SIGALRM, alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


def attempt(reader: str, call, *args):
    """``call(*args)``'s result, or None if it raised the project's error with a one-line message.

    Any other exception (or Hang, or MemoryError) propagates and fails the test.
    """
    TRIED[reader] += 1
    try:
        with time_limit(SECONDS_PER_INPUT):
            return call(*args)
    except SoftmaxMnistError as e:
        assert str(e) and "\n" not in str(e), f"not a one-line message: {e!r}"
        return None


def _address_space() -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmSize:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("no VmSize in /proc/self/status")


@pytest.fixture(autouse=True)
def memory_cap():
    """Cap the address space at its current size plus MEMORY_HEADROOM while a test runs."""
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    cap = _address_space() + MEMORY_HEADROOM
    if hard != resource.RLIM_INFINITY:
        cap = min(cap, hard)
    resource.setrlimit(resource.RLIMIT_AS, (cap, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))


@pytest.fixture(autouse=True, scope="module")
def report_counts(request):
    yield
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    if reporter is not None and capture is not None and TRIED:
        counts = ", ".join(f"{reader} {n:,}" for reader, n in sorted(TRIED.items()))
        with capture.global_and_fixture_disabled():  # past pytest's capture, as capsys.disabled()
            reporter.write("\n")
            reporter.write_line(f"fuzz inputs tried (FUZZ_EXAMPLES={EXAMPLES}): {counts}")


@pytest.fixture(scope="module")
def scratch(tmp_path_factory):
    """One folder for the whole module (hypothesis reruns a test body many times per fixture)."""
    return tmp_path_factory.mktemp("fuzz")


def write(folder, name: str, data: bytes):
    path = folder / name
    path.write_bytes(data)
    return path


# Mutations of a valid file: flip a bit, set a byte, cut, extend, insert, delete, or overwrite
# one of the first 4-byte words (IDX header fields, zip and npy headers) with random bytes.
mutations = st.lists(
    st.tuples(st.sampled_from(["flip", "set", "cut", "extend", "insert", "delete", "word"]),
              st.integers(0, 2**32 - 1), st.binary(min_size=1, max_size=16)),
    min_size=1, max_size=4,
)


def mutate(data: bytes, ops) -> bytes:
    b = bytearray(data)
    for op, i, blob in ops:
        pos = i % (len(b) + 1)
        if op == "flip" and b:
            b[i % len(b)] ^= 1 << (blob[0] % 8)
        elif op == "set" and b:
            b[i % len(b)] = blob[0]
        elif op == "cut":
            del b[pos:]
        elif op == "extend":
            b += blob
        elif op == "insert":
            b[pos:pos] = blob
        elif op == "delete":
            del b[pos:pos + len(blob)]
        elif op == "word":
            k = 4 * (i % 6)
            b[k:k + 4] = blob[:4].ljust(4, b"\xff")
    return bytes(b)


# ---- IDX reader -------------------------------------------------------------------------------

IDX_TYPES = {0x08: "u1", 0x09: "i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}

idx_arrays = st.sampled_from(sorted(IDX_TYPES.values())).flatmap(
    lambda dt: hnp.arrays(np.dtype(dt), hnp.array_shapes(min_dims=1, max_dims=3, min_side=0, max_side=6))
)
# a header-shaped start (often a known type code, sizes from tiny to 2**32 - 1), then anything
idx_headers = st.builds(
    lambda code, dims, body: struct.pack(f">HBB{len(dims)}I", 0, code, len(dims), *dims) + body,
    st.one_of(st.sampled_from(sorted(IDX_TYPES)), st.integers(0, 255)),
    st.lists(st.one_of(st.integers(0, 8), st.integers(0, 2**32 - 1)), min_size=0, max_size=5),
    st.binary(max_size=300),
)


def idx_bytes(array: np.ndarray) -> bytes:
    """An IDX file of ``array``, built here by hand (independent of write_idx)."""
    code = {np.dtype(v): k for k, v in IDX_TYPES.items()}[array.dtype]
    return struct.pack(f">HBB{array.ndim}I", 0, code, array.ndim, *array.shape) + array.tobytes()


def check_idx(stored: bytes, result) -> None:
    """A read that succeeded returned exactly what the (decompressed) bytes say."""
    raw = gzip.decompress(stored) if stored[:2] == b"\x1f\x8b" else stored
    code, ndim = raw[2], raw[3]
    shape = struct.unpack(f">{ndim}I", raw[4:4 + 4 * ndim])
    assert result.shape == shape
    assert result.dtype == np.dtype(IDX_TYPES[code]).newbyteorder("=")
    assert result.astype(IDX_TYPES[code]).tobytes() == raw[4 + 4 * ndim:]


@FUZZ
@given(data=st.one_of(st.binary(max_size=2000), idx_headers), compress=st.booleans())
def test_idx_random_bytes(scratch, data, compress):
    stored = gzip.compress(data) if compress else data
    result = attempt("IDX reader", read_idx, write(scratch, "random.idx", stored))
    if result is not None:
        check_idx(stored, result)


@FUZZ
@given(array=idx_arrays, ops=mutations, compress=st.booleans(), after=st.booleans())
def test_idx_mutated_files(scratch, array, ops, compress, after):
    """A valid file, mutated before compression (wrong content) or after it (broken gzip)."""
    raw = idx_bytes(array)
    stored = mutate(raw, ops) if not (compress and after) else raw
    if compress:
        stored = gzip.compress(stored, mtime=0)
        stored = mutate(stored, ops) if after else stored
    result = attempt("IDX reader", read_idx, write(scratch, "mutated.idx", stored))
    if result is not None:
        check_idx(stored, result)


@FUZZ
@given(array=idx_arrays, compress=st.booleans())
def test_idx_valid_files_read_back(scratch, array, compress):
    raw = idx_bytes(array)
    path = write(scratch, "valid.idx", gzip.compress(raw) if compress else raw)
    result = attempt("IDX reader", read_idx, path)
    assert result is not None
    assert result.shape == array.shape and result.astype(array.dtype).tobytes() == array.tobytes()


# -- resource limits: data beyond the header, or a header beyond the data, is refused


@FUZZ
@given(array=idx_arrays, extra=st.binary(min_size=1, max_size=64), compress=st.booleans())
def test_idx_data_longer_than_header_refused(scratch, array, extra, compress):
    raw = idx_bytes(array) + extra
    path = write(scratch, "longer.idx", gzip.compress(raw) if compress else raw)
    TRIED["IDX reader"] += 1
    with pytest.raises(IdxError, match="longer than its header says"):
        read_idx(path)


@FUZZ
@given(array=idx_arrays.filter(lambda a: a.nbytes > 0), cut=st.integers(1, 64), compress=st.booleans())
def test_idx_header_claiming_more_than_the_data_refused(scratch, array, cut, compress):
    raw = idx_bytes(array)
    raw = raw[:max(len(raw) - cut, len(raw) - array.nbytes)]
    path = write(scratch, "short.idx", gzip.compress(raw) if compress else raw)
    TRIED["IDX reader"] += 1
    with pytest.raises(IdxError, match="truncated"):
        read_idx(path)


@contextmanager
def peak_memory(limit: int):
    """Fail if the traced allocations inside the block ever exceed ``limit`` bytes."""
    tracemalloc.start()
    try:
        yield
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < limit, f"peak allocation {peak:,} bytes, limit {limit:,}"


@pytest.mark.parametrize("compress", [False, True], ids=["raw", "gz"])
@pytest.mark.parametrize("code, shape, what", [
    (0x08, (1_000_000, 1_000_000), "over the"),  # 10**12 elements: over the limit
    (0x0E, (2**32 - 1,) * 3, "over the"),
    (0x08, (MAX_BYTES + 1,), "over the"),  # one byte over the cap of a data file
    (0x08, (MAX_BYTES,), "truncated"),  # exactly the cap: allowed, but the data is not there
    (0x0D, (60000, 28, 28), "truncated"),
])
def test_idx_big_claims_refused_without_allocating(tmp_path, compress, code, shape, what):
    raw = struct.pack(f">HBB{len(shape)}I", 0, code, len(shape), *shape) + bytes(1000)
    path = write(tmp_path, "claim.idx", gzip.compress(raw) if compress else raw)
    start = time.perf_counter()
    with peak_memory(4 << 20), pytest.raises(IdxError, match=what):
        read_idx(path)
    assert time.perf_counter() - start < 2


def test_idx_gzip_bomb_read_only_as_far_as_the_header_says(tmp_path):
    """50 MB of zeros behind a header saying 10 bytes: refused after reading 11 of them."""
    raw = struct.pack(">HBBI", 0, 0x08, 1, 10) + bytes(50_000_000)
    path = write(tmp_path, "bomb.idx.gz", gzip.compress(raw, compresslevel=1))
    with peak_memory(4 << 20), pytest.raises(IdxError, match="longer than its header says"):
        read_idx(path)


# -- inputs that once broke the reader

IDX_FOUND = {
    # int(np.prod(shape, dtype=float64)) overflowed to inf: OverflowError
    "255 dims of 2**32-1": struct.pack(">HBB", 0, 0x08, 255) + b"\xff" * 4 * 255,
    # zero elements, yet NumPy cannot make the shape: ValueError from reshape
    "zero-size, huge dims": struct.pack(">HBB4I", 0, 0x08, 4, 0, 2**32 - 1, 2**32 - 1, 2**32 - 1),
    "70 zero dims": struct.pack(">HBB", 0, 0x08, 70) + bytes(4 * 70),
    # a .gz claiming 2e9 bytes got a 2 GB buffer before a byte was decompressed (MemoryError here)
    "gz claims 2e9 bytes": gzip.compress(struct.pack(">HBBI", 0, 0x08, 1, 2_000_000_000) + bytes(10)),
}


@pytest.mark.parametrize("data", IDX_FOUND.values(), ids=IDX_FOUND.keys())
def test_idx_found_bugs_stay_fixed(tmp_path, data):
    with peak_memory(4 << 20), pytest.raises(IdxError):
        read_idx(write(tmp_path, "found.idx", data))


def test_idx_directory_is_a_clear_error(tmp_path):
    with pytest.raises(IdxError, match="cannot read it"):  # was "corrupt or truncated gzip data"
        read_idx(tmp_path)


# ---- model loader -----------------------------------------------------------------------------


def npy_bytes(array: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.save(buf, array, allow_pickle=True)  # object arrays too: the loader must refuse them
    return buf.getvalue()


def lying_npy(descr: str, shape: tuple, body: bytes) -> bytes:
    """A .npy member whose header says ``descr`` and ``shape`` whatever the body holds."""
    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(buf, {"descr": descr, "fortran_order": False, "shape": shape})
    return buf.getvalue() + body


def npz_bytes(members: dict[str, bytes], compress: bool) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED) as zf:
        for name, data in members.items():
            zf.writestr(f"{name}.npy", data)
    return buf.getvalue()


def valid_meta(d: int, c: int, preprocess: str) -> dict:
    stats = {"mean": 0.13, "std": 0.31} if preprocess == "standardize" else None
    return {"format": "softmax-mnist-model", "version": 1, "num_features": d, "num_classes": c,
            "image_shape": [28, 28], "preprocess": preprocess, "stats": stats,
            "config": TrainConfig(preprocess=preprocess).to_dict()}


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=10),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=10,
)
META_KEYS = ["format", "version", "num_features", "num_classes", "image_shape", "preprocess",
             "stats", "config"]


@st.composite
def metas(draw, d: int, c: int) -> str:
    """meta JSON: a valid one with fields replaced or dropped, or any JSON, or deep/huge text."""
    meta = valid_meta(d, c, draw(st.sampled_from(PREPROCESS_MODES)))
    kind = draw(st.sampled_from(["valid", "changed", "changed", "any", "deep", "huge"]))
    if kind == "changed":
        meta.update(draw(st.dictionaries(st.sampled_from(META_KEYS + ["stats.mean", "stats.std"]),
                                         json_values, min_size=1, max_size=3)))
        for key in [k for k in meta if k.startswith("stats.")]:  # into the stats table
            meta["stats"] = {**(meta["stats"] if isinstance(meta["stats"], dict) else {}),
                             key[6:]: meta.pop(key)}
        for key in draw(st.lists(st.sampled_from(META_KEYS), max_size=2)):
            meta.pop(key, None)
    elif kind == "any":
        return json.dumps(draw(json_values))
    elif kind == "deep":
        n = draw(st.integers(100, 100_000))
        return "[" * n + "]" * n
    elif kind == "huge":
        return " " * (MAX_META_BYTES // 4) + json.dumps(meta)
    return json.dumps(meta)


weird_dtypes = st.one_of(hnp.floating_dtypes(), hnp.integer_dtypes(), hnp.complex_number_dtypes(),
                         hnp.boolean_dtypes(), hnp.unicode_string_dtypes(), hnp.byte_string_dtypes(),
                         hnp.datetime64_dtypes())


@st.composite
def members(draw, expected_shape: tuple) -> bytes | None:
    """One .npz member: a right-shaped float array with any values (NaN, inf, 1e300 in float64),
    an array of another dtype or shape, an object array, a lying header, or nothing."""
    kind = draw(st.sampled_from(["right", "right", "weird", "object", "lying", "missing"]))
    if kind == "right":
        dtype = draw(st.sampled_from(["<f2", "<f4", ">f4", "<f8", ">f8"]))
        floats = st.floats(width=8 * np.dtype(dtype).itemsize)  # NaN, inf, 1e300 in float64
        return npy_bytes(draw(hnp.arrays(np.dtype(dtype), expected_shape, elements=floats)))
    if kind == "weird":
        shape = draw(st.one_of(st.just(expected_shape), hnp.array_shapes(min_dims=0, max_dims=3, max_side=4)))
        return npy_bytes(draw(hnp.arrays(draw(weird_dtypes), shape)))
    if kind == "object":
        return npy_bytes(np.array(draw(st.lists(json_values, min_size=1, max_size=3)) + [None], dtype=object))
    if kind == "lying":
        descr = draw(st.sampled_from(["<f4", ">f8", "|O", "<U5", "|V0", "<U0", "|b1", [("a", "<f4")]]))
        shape = draw(st.lists(st.one_of(st.integers(0, 9), st.integers(0, 2**40)), max_size=3).map(tuple))
        return lying_npy(descr, shape, draw(st.binary(max_size=64)))
    return None


@st.composite
def model_files(draw) -> bytes:
    d, c = draw(st.integers(1, 12)), draw(st.integers(2, 5))
    meta = draw(metas(d, c))
    meta_member = draw(st.one_of(
        st.just(npy_bytes(np.array(meta))),  # as save_model writes it
        members(()),  # not a string at all
        st.just(npy_bytes(np.array([meta]))),
        st.just(npy_bytes(np.array(meta.encode("utf-8", "surrogatepass")))),
    ))
    arrays = {"W": draw(members((d, c))), "b": draw(members((1, c))), "meta": meta_member}
    return npz_bytes({k: v for k, v in arrays.items() if v is not None}, draw(st.booleans()))


def check_model(loaded) -> None:
    """A model that loaded is one evaluate and predict can use as it is."""
    model, meta = loaded
    d, c = meta["num_features"], meta["num_classes"]
    assert model.W.shape == (d, c) and model.b.shape == (1, c) and model.W.dtype == np.float32
    assert np.isfinite(model.W).all() and np.isfinite(model.b).all()
    assert meta["preprocess"] in PREPROCESS_MODES
    val_size = meta.get("config", {}).get("val_size", 5000)  # what `evaluate` reads
    assert isinstance(val_size, int) and val_size >= 0
    x = model_inputs(np.full((2, 28, 28), 255, np.uint8), meta)
    assert x.shape == (2, 784) and np.isfinite(x).all()


@pytest.fixture(scope="module")
def good_model(tmp_path_factory) -> bytes:
    path = tmp_path_factory.mktemp("model") / "model.npz"
    save_model(path, SoftmaxRegression(rng=np.random.default_rng(0)), "standardize",
               {"mean": 0.13, "std": 0.31}, extra={"config": TrainConfig().to_dict()})
    return path.read_bytes()


@FUZZ
@given(data=st.one_of(st.binary(max_size=2000),
                      st.binary(max_size=500).map(lambda b: b"PK\x03\x04" + b),
                      st.binary(max_size=500).map(lambda b: b"\x93NUMPY" + b)))
def test_model_random_bytes(scratch, data):
    loaded = attempt("model loader", load_model, write(scratch, "random.npz", data))
    assert loaded is None  # random bytes are never a model


@FUZZ
@given(ops=mutations)
def test_model_mutated_file(scratch, good_model, ops):
    loaded = attempt("model loader", load_model, write(scratch, "mutated.npz", mutate(good_model, ops)))
    if loaded is not None:
        check_model(loaded)


@FUZZ
@given(data=model_files())
def test_model_weird_arrays(scratch, data):
    loaded = attempt("model loader", load_model, write(scratch, "weird.npz", data))
    if loaded is not None:
        check_model(loaded)


def test_model_valid_file_loads(tmp_path, good_model):
    check_model(load_model(write(tmp_path, "model.npz", good_model)))


def model_npz(W=None, b=None, meta=None, compress=False, **meta_changes) -> bytes:
    """A model file of W, b and meta (arrays, or .npy bytes as they are); defaults: a valid 784x10."""
    W = np.zeros((784, 10), np.float32) if W is None else W
    b = np.zeros((1, 10), np.float32) if b is None else b
    if meta is None:
        meta = np.array(json.dumps({**valid_meta(784, 10, "standardize"), **meta_changes}))
    arrays = {"W": W, "b": b, "meta": meta}
    return npz_bytes({k: v if isinstance(v, bytes) else npy_bytes(v) for k, v in arrays.items()}, compress)


MODEL_FOUND = {
    # np.load returned an ndarray for a .npy file: TypeError from `with`
    "a .npy file": npy_bytes(np.zeros(3)),
    # json.loads recursed too deep: RecursionError
    "deeply nested meta": model_npz(meta=np.array("[" * 100_000 + "]" * 100_000)),
    # a header claiming 3.6 TiB: NumPy allocated before reading (MemoryError)
    "W header claims 10**12": model_npz(W=lying_npy("<f4", (10**6, 10**6), bytes(64))),
    # 400 KB compressed, 200 MB once loaded: was loaded, then parsed as JSON
    "meta zip bomb": model_npz(meta=np.array(" " * 50_000_000 + "{}"), compress=True),
    # accepted, then `evaluate` failed with AttributeError on meta["config"].get
    "config not a table": model_npz(config=[1, 2]),
    "config null": model_npz(config=None),
    "val_size not a number": model_npz(config={"val_size": "5000"}),
    # accepted, then every feature was NaN or inf
    "NaN mean": model_npz(stats={"mean": float("nan"), "std": 0.3}),
    "1e300 mean": model_npz(stats={"mean": 1e300, "std": 0.3}),
    "True as version": model_npz(version=True),
    # float64 weights beyond float32: finite in the file, inf in the model
    "W 1e39 in float64": model_npz(W=np.full((784, 10), 1e39)),
}


@pytest.mark.parametrize("data", MODEL_FOUND.values(), ids=MODEL_FOUND.keys())
def test_model_found_bugs_stay_fixed(tmp_path, data):
    with peak_memory(64 << 20), pytest.raises(ModelFileError):
        load_model(write(tmp_path, "found.npz", data))


# ---- TOML config reader and TrainConfig.from_dict ---------------------------------------------

SETTINGS = [f for f in TrainConfig().to_dict()]
toml_scalars = (st.booleans() | st.integers() | st.integers(-5, 70000) | st.floats()
                | st.floats(0, 1) | st.text(st.characters(exclude_categories=["Cs"]), max_size=12)
                | st.sampled_from(PREPROCESS_MODES) | st.dates() | st.datetimes())
toml_values = st.recursive(
    toml_scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=6,
)


def toml_key(key: str) -> str:
    return json.dumps(key, ensure_ascii=False).replace("\x7f", "\\u007f")


def toml_value(v) -> str:
    """``v`` as a TOML value (the few types tomllib returns)."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        return "nan" if math.isnan(v) else ("inf" if v > 0 else "-inf") if math.isinf(v) else repr(v)
    if isinstance(v, str):
        return toml_key(v)  # JSON's string escapes are TOML's
    if isinstance(v, (datetime.date, datetime.datetime)):
        return v.isoformat()
    if isinstance(v, list):
        return "[" + ", ".join(map(toml_value, v)) + "]"
    return "{" + ", ".join(f"{toml_key(k)} = {toml_value(x)}" for k, x in v.items()) + "}"


def check_config(config) -> None:
    """A TrainConfig that was created holds values training can use."""
    assert type(config.epochs) is int and config.epochs >= 1
    assert type(config.batch_size) is int and config.batch_size >= 1
    for name in ("lr", "momentum", "weight_decay"):
        value = getattr(config, name)
        assert isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    assert config.lr > 0 and 0 <= config.momentum < 1 and config.weight_decay >= 0
    assert isinstance(config.nesterov, bool) and (config.momentum > 0 or not config.nesterov)
    assert config.preprocess in PREPROCESS_MODES
    assert type(config.val_size) is int and 0 <= config.val_size < 60000
    assert type(config.seed) is int and config.seed >= 0
    assert TrainConfig.from_dict(config.to_dict()) == config
    json.dumps(config.to_dict(), allow_nan=False)  # config.json can be written


def read_config(path):
    settings = attempt("TOML config reader", read_toml, path)
    if settings is not None:
        assert isinstance(settings, dict)
        config = attempt("TrainConfig.from_dict", TrainConfig.from_dict, settings)
        if config is not None:
            check_config(config)
    return settings


@FUZZ
@given(text=st.one_of(st.binary(max_size=500), st.text(max_size=300).map(
    lambda t: t.encode("utf-8", "surrogatepass"))))
def test_toml_random_text(scratch, text):
    read_config(write(scratch, "random.toml", text))


@FUZZ
@given(settings=st.dictionaries(st.one_of(st.sampled_from(SETTINGS), st.text(max_size=8)),
                                toml_values, max_size=6))
def test_toml_settings_of_any_type(scratch, settings):
    text = "".join(f"{toml_key(k)} = {toml_value(v)}\n" for k, v in settings.items())
    assert read_config(write(scratch, "settings.toml", text.encode("utf-8"))) is not None  # valid TOML


python_values = st.one_of(
    toml_values, st.none(), st.builds(object), st.complex_numbers(), st.binary(max_size=4),
    st.floats().map(np.float64), st.integers(-10, 10).map(np.int64), st.just(np.nan), st.sets(st.integers()),
)


@FUZZ
@given(settings=st.one_of(
    st.dictionaries(st.one_of(st.sampled_from(SETTINGS), st.text(max_size=6), st.integers()),
                    python_values, max_size=5),
    python_values,  # not a dict at all
))
def test_from_dict_any_python_values(settings):
    config = attempt("TrainConfig.from_dict", TrainConfig.from_dict, settings)
    if config is not None:
        check_config(config)


CONFIG_FOUND = {  # each was accepted, or raised TypeError / OverflowError / RecursionError
    "epochs = true": {"epochs": True},
    "lr = true": {"lr": True},
    "val_size = false": {"val_size": False},
    'nesterov = "yes"': {"nesterov": "yes", "momentum": 0.5},
    "weight_decay = inf": {"weight_decay": math.inf},
    "lr = 10**400": {"lr": 10**400},
    "a list, not a table": [1, 2],
    "None": None,
    "int keys": {1: 2},
}


@pytest.mark.parametrize("settings", CONFIG_FOUND.values(), ids=CONFIG_FOUND.keys())
def test_config_found_bugs_stay_fixed(settings):
    with pytest.raises(ConfigError):
        TrainConfig.from_dict(settings)


def test_toml_nested_too_deeply_is_a_config_error(tmp_path):
    path = write(tmp_path, "deep.toml", ("x = " + "{a = " * 5000 + "1" + "}" * 5000).encode())
    with pytest.raises(ConfigError, match="nested too deeply"):
        read_toml(path)


# ---- image preparation ------------------------------------------------------------------------

IMAGE_FORMATS = {"PNG": ["1", "L", "LA", "P", "RGB", "RGBA", "I", "I;16"],
                 "TIFF": ["1", "L", "LA", "P", "RGB", "RGBA", "CMYK", "YCbCr", "LAB", "I", "F", "I;16"],
                 "BMP": ["1", "L", "P", "RGB"], "GIF": ["L", "P"], "JPEG": ["L", "RGB", "CMYK"],
                 "WEBP": ["RGB", "RGBA"]}


@st.composite
def image_files(draw) -> bytes:
    """A small image of any mode Pillow can write, in one of the formats a user may upload."""
    fmt = draw(st.sampled_from(sorted(IMAGE_FORMATS)))
    mode = draw(st.sampled_from(IMAGE_FORMATS[fmt]))
    h, w = draw(st.integers(1, 40)), draw(st.integers(1, 40))
    buf = io.BytesIO()
    try:
        if mode == "F":
            pixels = draw(hnp.arrays(np.float32, (h, w), elements=st.floats(width=32)))  # NaN, inf too
            img = Image.frombytes("F", (w, h), pixels.tobytes())
        elif mode in ("1", "I", "I;16"):
            img = Image.fromarray(draw(hnp.arrays(np.uint8, (h, w)))).convert(mode)
        else:
            bands = len(Image.new(mode, (1, 1)).getbands())
            img = Image.frombytes(mode, (w, h), draw(hnp.arrays(np.uint8, (h, w, bands))).tobytes())
        img.save(buf, format=fmt)
    except (OSError, ValueError, KeyError):  # this Pillow cannot make or write that mode in that format
        assume(False)
    return buf.getvalue()


def prepare_one(data: bytes) -> None:
    image = attempt("image preparation", prepare_file, data)
    if image is not None:
        assert image.shape == (28, 28) and image.dtype == np.uint8


@FUZZ
@given(data=st.binary(max_size=2000))
def test_prepare_random_bytes(data):
    prepare_one(data)


@FUZZ
@given(data=image_files())
def test_prepare_valid_images(data):
    prepare_one(data)


@FUZZ
@given(data=image_files(), ops=mutations)
def test_prepare_mutated_images(data, ops):
    prepare_one(mutate(data, ops))


def tiff(img: Image.Image) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format="TIFF")
    return buf.getvalue()


# found here, fixed in prepare.py by its owner (510c10c)
@pytest.mark.parametrize("data", [
    tiff(Image.frombytes("LAB", (3, 3), bytes(range(27)))),  # ValueError from Image.convert
    tiff(Image.frombytes("F", (3, 3), np.array([0, 1e3, np.nan] * 3, np.float32).tobytes())),  # round(NaN)
], ids=["LAB TIFF", "NaN in a float TIFF"])
def test_prepare_found_bugs_stay_fixed(data):
    prepare_one(data)
