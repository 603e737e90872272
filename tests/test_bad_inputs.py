"""Bad and tampered input, each a one-line refusal naming the file (issue 10, items 11, 12, 14).

11: a JPEG whose EXIF block is corrupt is read (its orientation left as it is) and never stops
    the other images; whatever else breaks while preparing one image is that image's own line.
12: an IDX header asking for more than the run can hold is refused from the header; predict
    refuses FIFOs and devices and reads at most MAX_FILE_BYTES of a file.
14: tampered checkpoints, config.json, model files (finite weights whose scores overflow, two
    classes), examples.npz and results.json are refused in one line each.
"""

from __future__ import annotations

import io
import json
import os
import struct
import threading
import tracemalloc
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw

from softmax_mnist.apps import prepare
from softmax_mnist.apps.cli import main
from softmax_mnist.core.config import TrainConfig
from softmax_mnist.core.data import Splits, load_raw
from softmax_mnist.core.idx import IdxError, read_idx, write_idx
from softmax_mnist.core.model import SoftmaxRegression
from softmax_mnist.errors import SoftmaxMnistError
from softmax_mnist.fileio import atomic_write_json
from softmax_mnist.study.checkpoint import CheckpointError, checkpoint_path, load_checkpoint, restore
from softmax_mnist.study.modelfile import ModelFileError, load_model, save_model
from softmax_mnist.study.results import ResultsError, load_results

try:
    import resource
except ImportError:  # Windows
    resource = None
needs_rlimit = pytest.mark.skipif(
    resource is None or not Path("/proc/self/status").exists(),
    reason="sets RLIMIT_AS and reads /proc/self/status, which this system lacks")
needs_fifo = pytest.mark.skipif(not hasattr(os, "mkfifo") or not os.path.exists("/dev/zero"),
                                reason="this system has no FIFOs and no /dev/zero")

PREFIX = "softmax-mnist {}: error: "


def one_line_error(err: str, command: str, *words: str) -> str:
    """The single stderr line of a refusal; it must hold every one of ``words``."""
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(PREFIX.format(command)), err
    assert "Traceback" not in err
    for w in words:
        assert w in lines[0], (w, lines[0])
    return lines[0]


def digit_image(size: int = 96) -> Image.Image:
    """A dark '1' on white paper."""
    img = Image.new("L", (size, size), 255)
    ImageDraw.Draw(img).line((size // 2, size // 6, size // 2, size - size // 6), fill=0, width=size // 12)
    return img


def jpeg_with_corrupt_exif() -> bytes:
    """A valid JPEG (JFIF with a density, so Pillow does not read the EXIF on opening) with an
    APP1 'Exif' segment whose TIFF header is garbage: ImageOps.exif_transpose raises
    SyntaxError('not a TIFF file') on it."""
    buf = io.BytesIO()
    digit_image().save(buf, "JPEG", dpi=(96, 96))
    data = buf.getvalue()
    payload = b"Exif\x00\x00" + b"GARBAGE!" * 4
    app1 = b"\xff\xe1" + struct.pack(">H", len(payload) + 2) + payload
    return data[:2] + app1 + data[2:]


@pytest.fixture
def model_file(tmp_path) -> str:
    model = SoftmaxRegression(784, 10, rng=np.random.default_rng(0))
    return str(save_model(tmp_path / "model.npz", model, "course"))


# ---- 11: a corrupt EXIF block, and any other failure while preparing one image ---------------


def test_the_corrupt_exif_jpeg_really_breaks_exif_transpose():
    """The test image is what the issue describes (else the tests below prove nothing)."""
    from PIL import ImageOps

    img = Image.open(io.BytesIO(jpeg_with_corrupt_exif()))
    img.load()
    with pytest.raises(SyntaxError, match="not a TIFF file"):
        ImageOps.exif_transpose(img)


def test_a_jpeg_with_corrupt_exif_is_read_and_so_are_the_others(model_file, tmp_path, capsys):
    (tmp_path / "bad-exif.jpg").write_bytes(jpeg_with_corrupt_exif())
    digit_image().save(tmp_path / "good.png")
    names = [str(tmp_path / n) for n in ("bad-exif.jpg", "good.png")]
    code = main(["predict", model_file, *names])
    out, err = capsys.readouterr()
    assert code == 0 and err == ""
    rows = out.splitlines()[1:]
    assert [r.split()[0] for r in rows] == names
    assert all(0 <= int(r.split()[1]) <= 9 for r in rows)


def test_the_corrupt_exif_jpeg_is_prepared_like_the_same_picture_without_exif():
    clean = io.BytesIO()
    digit_image().save(clean, "JPEG", dpi=(96, 96))
    assert np.array_equal(prepare.prepare_file(jpeg_with_corrupt_exif()),
                          prepare.prepare_file(clean.getvalue()))


def test_api_predict_answers_a_corrupt_exif_upload_with_json(model_file):
    from softmax_mnist.apps.web import create_app

    client = create_app(model_file).test_client()
    r = client.post("/api/predict", data=jpeg_with_corrupt_exif(), content_type="image/jpeg")
    assert r.status_code == 200, r.data[:300]
    body = json.loads(r.data)
    assert 0 <= body["digit"] <= 9 and len(body["probs"]) == 10


def test_any_failure_preparing_one_image_is_its_own_line(model_file, tmp_path, capsys, monkeypatch):
    """Pillow fails on odd files in many exception types: whatever one image raises, it gets its
    own error line and the images after it are still read."""
    real = prepare.prepare_image

    def fragile(img):
        if img.size == (77, 77):
            raise OSError("broken data stream when reading image file")
        return real(img)

    monkeypatch.setattr(prepare, "prepare_image", fragile)
    digit_image(77).save(tmp_path / "odd.png")
    digit_image().save(tmp_path / "good.png")
    code = main(["predict", model_file, str(tmp_path / "odd.png"), str(tmp_path / "good.png")])
    out, err = capsys.readouterr()
    assert code == 1
    one_line_error(err, "predict", "odd.png", "broken data stream")
    assert out.splitlines()[1].split()[0] == str(tmp_path / "good.png")


# ---- 12: memory and files that never end ------------------------------------------------------


@needs_rlimit
def test_available_memory_follows_the_address_space_limit():
    from softmax_mnist.core.idx import available_memory

    free = available_memory()
    assert 0 < free <= os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    with open("/proc/self/status") as f:
        used = next(int(line.split()[1]) * 1024 for line in f if line.startswith("VmSize:"))
    cap = used + (256 << 20)
    if hard != resource.RLIM_INFINITY:
        cap = min(cap, hard)
    resource.setrlimit(resource.RLIMIT_AS, (cap, hard))
    try:
        limited = available_memory()
    finally:
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))
    assert limited <= 256 << 20


def test_an_idx_header_beyond_the_memory_limit_is_refused_before_reading(tmp_path):
    path = tmp_path / "images.idx3-ubyte.gz"
    write_idx(path, np.zeros((4000, 28, 28), np.uint8))  # 3.1 MB of data in a few kB
    tracemalloc.start()
    try:
        with pytest.raises(IdxError) as e:
            read_idx(path, memory_limit=10_000_000)  # 3.1 MB read + 12.5 MB as float32
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert str(path) in str(e.value) and "10,000,000" in str(e.value) and "\n" not in str(e.value)
    assert peak < 1_000_000  # refused from the header: nothing of the data was read
    assert read_idx(path, memory_limit=20_000_000).shape == (4000, 28, 28)


@needs_rlimit
def test_load_raw_caps_each_file_by_the_memory_available(tmp_path, monkeypatch):
    import softmax_mnist.core.data as datasets

    write_idx(tmp_path / "t10k-images-idx3-ubyte.gz", np.zeros((1000, 28, 28), np.uint8))
    write_idx(tmp_path / "t10k-labels-idx1-ubyte.gz", np.zeros(1000, np.uint8))
    assert load_raw(tmp_path, "t10k")[0].shape == (1000, 28, 28)
    # 784,000 bytes of images need 3,920,000 with their float32 copy
    monkeypatch.setattr(datasets, "available_memory", lambda: 3_000_000, raising=False)
    with pytest.raises(SoftmaxMnistError) as e:
        load_raw(tmp_path, "t10k")
    assert "t10k-images-idx3-ubyte.gz" in str(e.value) and "3,000,000" in str(e.value)


@contextmanager
def address_space_cap(extra: int = 1 << 30):
    """At most ``extra`` more bytes of address space: an unbounded read fails with MemoryError
    instead of eating the machine's memory."""
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    with open("/proc/self/status") as f:
        used = next(int(line.split()[1]) * 1024 for line in f if line.startswith("VmSize:"))
    cap = used + extra if hard == resource.RLIM_INFINITY else min(hard, used + extra)
    resource.setrlimit(resource.RLIMIT_AS, (cap, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))


@needs_fifo
def test_predict_refuses_a_device_in_one_line(model_file, tmp_path, capsys):
    digit_image().save(tmp_path / "good.png")
    with address_space_cap():
        code = main(["predict", model_file, "/dev/zero", str(tmp_path / "good.png")])
    out, err = capsys.readouterr()
    assert code == 1
    one_line_error(err, "predict", "/dev/zero", "not a regular file")
    assert out.splitlines()[1].split()[0] == str(tmp_path / "good.png")


@contextmanager
def fifo_with_a_writer(path: Path, data: bytes):
    """A FIFO at ``path`` and a thread that writes ``data`` into it whenever a reader opens it
    (so a reader that waits for a writer is not left hanging: it gets ``data``, every time)."""
    os.mkfifo(path)
    done = threading.Event()

    def writer():
        while not done.is_set():
            try:
                fd = os.open(path, os.O_WRONLY | os.O_NONBLOCK)
            except OSError:  # ENXIO: no reader yet
                done.wait(0.01)
                continue
            try:
                os.set_blocking(fd, True)
                os.write(fd, data)
            except OSError:  # the reader went away (refused the FIFO): fine
                pass
            finally:
                os.close(fd)
            done.wait(0.01)  # the next reader (a reader may open the FIFO more than once)

    t = threading.Thread(target=writer, daemon=True)
    t.start()
    try:
        yield path
    finally:
        done.set()
        t.join()


@needs_fifo
def test_predict_refuses_a_fifo_in_one_line(model_file, tmp_path, capsys):
    png = io.BytesIO()
    digit_image().save(png, "PNG")
    with fifo_with_a_writer(tmp_path / "pipe.png", png.getvalue()) as fifo:
        code = main(["predict", model_file, str(fifo)])
    _, err = capsys.readouterr()
    assert code == 1
    one_line_error(err, "predict", "pipe.png", "FIFO", "not a regular file")


@needs_fifo
def test_read_idx_refuses_a_fifo(tmp_path):
    buf = tmp_path / "real.idx"
    write_idx(buf, np.zeros((2, 28, 28), np.uint8))
    with fifo_with_a_writer(tmp_path / "pipe-idx3-ubyte", buf.read_bytes()) as fifo:
        with pytest.raises(IdxError, match="not a regular file"):
            read_idx(fifo)


def test_predict_reads_at_most_the_cap_of_a_huge_file(tmp_path, monkeypatch):
    monkeypatch.setattr(prepare, "MAX_FILE_BYTES", 1 << 20, raising=False)
    big = tmp_path / "big.png"
    with open(big, "wb") as f:
        f.truncate(64 << 20)  # sparse: 64 MB of zeros that take no disk
    tracemalloc.start()
    try:
        with pytest.raises(prepare.ImageError) as e:
            prepare.prepare_file(big)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert "big.png" in str(e.value) and "too large" in str(e.value)
    assert peak < 8 << 20


# ---- 14: tampered checkpoints -----------------------------------------------------------------


def tiny_data(n_train: int = 200, n_val: int = 50) -> Splits:
    rng = np.random.default_rng(3)
    x = rng.standard_normal((n_train + n_val, 784)).astype(np.float32) * 0.1
    y = rng.integers(0, 10, n_train + n_val)
    return Splits(x[:n_train], y[:n_train], x[n_train:], y[n_train:], x[:10], y[:10], "course")


CONFIG = TrainConfig.from_dict({"epochs": 3, "batch_size": 50, "momentum": 0.9, "val_size": 50})


class StopAfter:
    def __init__(self, steps: int):
        self.left = steps

    def __call__(self) -> bool:
        self.left -= 1
        return self.left <= 0


@pytest.fixture
def interrupted(tmp_path) -> Path:
    """A checkpoint written mid-way through epoch 2 (4 steps an epoch, stopped after 6)."""
    from softmax_mnist.errors import Interrupted
    from softmax_mnist.study.run import train_model

    ckpt = checkpoint_path(tmp_path)
    with pytest.raises(Interrupted):
        train_model(CONFIG, tiny_data(), checkpoint_file=ckpt, stop=StopAfter(6))
    return ckpt


def tamper(path: Path, state=None, arrays=None, drop=(), configs=None):
    """Rewrite the checkpoint at ``path`` with ``state`` keys, ``arrays`` and ``configs``
    replaced."""
    with np.load(path, allow_pickle=False) as z:
        content = {k: z[k] for k in z.files}
    meta = json.loads(str(content["meta"]))
    meta["state"].update(state or {})
    if configs is not None:
        meta["configs"] = configs
    content["meta"] = np.array(json.dumps(meta))
    content.update(arrays or {})
    for k in drop:
        del content[k]
    np.savez(path, **content)


def resume(path: Path):
    from softmax_mnist.study.run import train_model

    return train_model(CONFIG, tiny_data(), checkpoint_file=path, resume=True)


def test_an_untampered_checkpoint_resumes(interrupted):
    state, configs = load_checkpoint(interrupted)
    assert (state.epoch, state.step) == (1, 2) and configs == [CONFIG.to_dict()]
    _, history = resume(interrupted)
    assert len(history.train_loss) == 3


def _bad_rng(path):
    tamper(path, {"rng_state": {"bit_generator": "PCG64", "state": {"state": "x", "inc": 1},
                                "has_uint32": 0, "uinteger": 0}})


def _bad_rng_type(path):
    tamper(path, {"rng_state": [1, 2, 3]})


def _short_series(path):
    with np.load(path) as z:
        tamper(path, arrays={"series_losses": z["series_losses"][:1]})


def _short_history(path):
    tamper(path, arrays={"series_history_0_train_loss": np.zeros(5)})


def _step_far_out(path):
    tamper(path, {"step": 10**6})


def _step_past_the_epoch(path):  # consistent series, but more steps than an epoch has
    tamper(path, {"step": 9}, {"series_losses": np.zeros((9, 1)), "series_accs": np.zeros((9, 1))})


def _velocity_shape(path):
    tamper(path, arrays={"velocity_W": np.zeros((784, 3), np.float32)})


def _velocity_missing(path):
    tamper(path, drop=("velocity_W",))


def _negative_epoch(path):
    tamper(path, {"epoch": -3})


def _epoch_past_the_end(path):
    tamper(path, {"epoch": 7})


def _string_step(path):
    tamper(path, {"step": "2"})


@pytest.mark.parametrize("damage", [_bad_rng, _bad_rng_type, _short_series, _short_history,
                                    _step_far_out, _step_past_the_epoch, _velocity_shape,
                                    _velocity_missing, _negative_epoch, _epoch_past_the_end,
                                    _string_step], ids=lambda f: f.__name__.strip("_"))
def test_a_tampered_checkpoint_is_refused_in_one_line(interrupted, damage):
    damage(interrupted)
    with pytest.raises(CheckpointError) as e:
        resume(interrupted)
    assert str(interrupted) in str(e.value) and "\n" not in str(e.value)


def test_restore_checks_the_velocity_against_the_optimizer(interrupted):
    """Momentum 0 keeps no velocity: a checkpoint with one is from another optimizer."""
    plain = [replace(CONFIG, momentum=0.0).to_dict()]
    tamper(interrupted, configs=plain)  # its settings say momentum 0, its arrays hold velocities
    with pytest.raises(CheckpointError, match="velocit") as e:
        restore(interrupted, plain, (784, 10))
    assert str(interrupted) in str(e.value) and "\n" not in str(e.value)
    tamper(interrupted, drop=("velocity_W", "velocity_b"))
    assert restore(interrupted, plain, (784, 10)).step == 2  # without them it is a checkpoint


# ---- 14: config.json of a run to resume ---------------------------------------------------------


@pytest.mark.parametrize("content", ["[1, 2, 3]", '"a string"', "42", '{"data_dir": 5}'])
def test_train_resume_refuses_a_config_json_that_is_not_a_table(tmp_path, capsys, content, interrupted):
    run = interrupted.parent
    (run / "config.json").write_text(content)
    assert main(["train", "--resume", str(run)]) == 1
    one_line_error(capsys.readouterr().err, "train", str(run / "config.json"))


# ---- 14: model files whose scores overflow, two classes, NaN never in JSON ----------------------


@pytest.fixture
def overflowing_model(tmp_path) -> str:
    model = SoftmaxRegression(784, 10)
    model.params["W"][...] = 3e38  # finite float32, yet x W is inf
    return str(save_model(tmp_path / "overflow.npz", model, "course"))


def test_load_model_refuses_weights_whose_scores_overflow(overflowing_model):
    with pytest.raises(ModelFileError, match="overflow") as e:
        load_model(overflowing_model)
    assert overflowing_model in str(e.value)


def test_large_but_safe_weights_still_load(tmp_path):
    model = SoftmaxRegression(784, 10)
    model.params["W"][...] = 1e20
    assert load_model(save_model(tmp_path / "big.npz", model, "unit"))[0].W[0, 0] == np.float32(1e20)


def test_evaluate_refuses_an_overflowing_model(overflowing_model, mnist_dir, capsys):
    assert main(["evaluate", overflowing_model, "--data-dir", str(mnist_dir)]) == 1
    out, err = capsys.readouterr()
    assert "nan" not in out
    one_line_error(err, "evaluate", overflowing_model, "overflow")


def test_predict_json_refuses_an_overflowing_model(overflowing_model, tmp_path, capsys):
    digit_image().save(tmp_path / "good.png")
    assert main(["predict", overflowing_model, str(tmp_path / "good.png"), "--json"]) == 1
    out, err = capsys.readouterr()
    assert "NaN" not in out
    one_line_error(err, "predict", overflowing_model)


def test_serve_refuses_an_overflowing_model(overflowing_model):
    from softmax_mnist.apps.web import create_app

    with pytest.raises(ModelFileError, match="overflow"):
        create_app(overflowing_model)


def strict_json(text):
    def refuse(name):
        raise ValueError(f"{name} is not JSON")
    return json.loads(text, parse_constant=refuse)


def test_predict_json_never_prints_nan(model_file, tmp_path, capsys, monkeypatch):
    """A last guard, should a model ever give NaN: that image's own error, and valid JSON."""
    monkeypatch.setattr(prepare, "predict_proba", lambda m, meta, x: np.full((len(x), 10), np.nan))
    digit_image().save(tmp_path / "good.png")
    code = main(["predict", model_file, str(tmp_path / "good.png"), "--json"])
    results = strict_json(capsys.readouterr().out)
    assert code == 1 and "non-finite" in results[0]["error"]


def test_api_predict_never_answers_nan(model_file, monkeypatch):
    import softmax_mnist.apps.web as web

    client = web.create_app(model_file).test_client()
    monkeypatch.setattr(web, "predict_proba", lambda m, meta, x: np.full((len(x), 10), np.nan))
    png = io.BytesIO()
    digit_image().save(png, "PNG")
    r = client.post("/api/predict", data=png.getvalue(), content_type="image/png")
    body = strict_json(r.data)
    assert r.status_code == 500 and "non-finite" in body["error"]


@pytest.fixture
def two_class_model(tmp_path) -> str:
    return str(save_model(tmp_path / "two.npz", SoftmaxRegression(784, 2), "course"))


def test_evaluate_refuses_a_model_of_fewer_classes_than_the_labels(two_class_model, mnist_dir, capsys):
    assert main(["evaluate", two_class_model, "--data-dir", str(mnist_dir)]) == 1
    one_line_error(capsys.readouterr().err, "evaluate", two_class_model, "2 classes")


def test_predict_prints_a_column_per_class_of_the_model(two_class_model, tmp_path, capsys):
    digit_image().save(tmp_path / "good.png")
    assert main(["predict", two_class_model, str(tmp_path / "good.png")]) == 0
    header, row = capsys.readouterr().out.splitlines()
    assert header.split()[2:] == ["0", "1"] and len(row.split()) == 4


# ---- 14: report on a damaged examples.npz or results.json ---------------------------------------

BASE = {"epochs": 2, "batch_size": 100, "lr": 0.01, "momentum": 0.0, "nesterov": False,
        "weight_decay": 0.0, "preprocess": "course", "val_size": 5000, "seed": 0,
        "lr_decay": "none", "deskew": False, "ink_size": 0.0, "blur_sigma": 0.0}


def a_run(seed: int, val_acc=(0.9, 0.91)) -> dict:
    return {"name": f"momentum-0@s{seed}", "setting": "momentum-0", "group": "momentum",
            "config": {**BASE, "seed": seed}, "status": "ok", "error": None,
            "history": {"train_loss": [0.5, 0.4], "train_acc": [0.88, 0.9], "val_loss": [0.4, 0.3],
                        "val_acc": list(val_acc)},
            "epochs_to": {"0.90": 1, "0.92": None}, "final_train_acc": 0.9, "final_train_loss": 0.4,
            "final_val_acc": val_acc[-1], "final_val_loss": 0.3, "test_acc": 0.9, "test_loss": 0.3}


def study_folder(folder: Path, runs=None) -> Path:
    runs = runs or [a_run(s) for s in range(3)]
    atomic_write_json(folder / "results.json", {
        "meta": {"thresholds": [0.9, 0.92], "seeds": [0, 1, 2], "reference": None},
        "setup": {"n_val": 5000}, "runs": runs, "groups": {"momentum": [r["name"] for r in runs]}})
    return folder


def good_examples(k: int = 4) -> dict:
    return {"confusion": np.eye(10, dtype=np.int64) * 5, "class_means": np.zeros((10, 28, 28), np.float32),
            "mistakes_images": np.zeros((k, 28, 28), np.uint8), "mistakes_true": np.arange(k),
            "mistakes_pred": np.arange(k)[::-1].copy(), "mistakes_prob": np.full(k, 0.9, np.float32)}


def test_good_examples_are_read(tmp_path):
    from softmax_mnist.study.report.measures import load_model_and_examples

    np.savez(tmp_path / "examples.npz", **good_examples())
    ex = load_model_and_examples(tmp_path)[2]
    assert sorted(ex) == sorted(good_examples())


def _cut(path):
    path.write_bytes(path.read_bytes()[:300])


def _garbage(path):
    path.write_bytes(b"PK\x03\x04" + b"\x00" * 200)


def _replace(**arrays):
    def damage(path):
        np.savez(path, **{**good_examples(), **arrays})
    damage.__name__ = "_" + "_".join(arrays)
    return damage


@pytest.mark.parametrize("damage", [
    _cut, _garbage,
    _replace(confusion=np.eye(3, dtype=np.int64)),
    _replace(confusion=np.eye(10)),  # float counts
    _replace(class_means=np.zeros((10, 5), np.float32)),
    _replace(mistakes_images=np.zeros((4, 28, 28), np.float64)),
    _replace(mistakes_true=np.array([0, 1, 2, 99])),
    _replace(mistakes_pred=np.arange(3)),
    _replace(mistakes_prob=np.array(["a", "b", "c", "d"])),
], ids=lambda f: f.__name__.strip("_"))
def test_report_refuses_a_damaged_examples_npz_in_one_line(tmp_path, capsys, damage):
    folder = study_folder(tmp_path)
    np.savez(folder / "examples.npz", **good_examples())
    damage(folder / "examples.npz")
    assert main(["report", str(folder), "--lang", "en"]) == 1
    one_line_error(capsys.readouterr().err, "report", "examples.npz")


@pytest.mark.parametrize("history", [
    {"val_acc": ["high", "higher"]}, {"train_loss": "0.5"}, {"val_acc": [0.9, True]},
    {"train_loss": [[0.5], [0.4]]}])
def test_report_refuses_non_numeric_history_in_one_line(tmp_path, capsys, history):
    runs = [a_run(s) for s in range(3)]
    runs[1]["history"].update(history)
    folder = study_folder(tmp_path, runs)
    with pytest.raises(ResultsError, match="history"):
        load_results(folder)
    assert main(["report", str(folder), "--lang", "en"]) == 1
    one_line_error(capsys.readouterr().err, "report", "results.json", "history")


@pytest.mark.parametrize("field,value", [("final_val_acc", "0.9"), ("config", []),
                                         ("name", 3)])
def test_load_results_checks_the_types_a_report_reads(tmp_path, field, value):
    runs = [a_run(s) for s in range(3)]
    runs[0][field] = value
    with pytest.raises(ResultsError, match="results.json"):
        load_results(study_folder(tmp_path, runs))
