"""What differs on a student's Windows or macOS laptop, tested here in-process (issue 18, items
3 and 5): a file another program holds open, a console that cannot show a character, commands
that paste whole, CSVs that Excel reads, and IDX reading without os.set_blocking."""

from __future__ import annotations

import csv
import errno
import io
import os
import subprocess
import sys

import numpy as np
import pytest
from test_first_minutes import fake_mnist

from softmax_mnist import errors, fileio
from softmax_mnist.apps.cli import main
from softmax_mnist.core.idx import read_idx, write_idx


@pytest.fixture
def held_open(monkeypatch):
    """Windows' rule, simulated: renaming onto (or away) a path in ``held`` is refused with a
    PermissionError, as while a viewer shows that file."""
    held: set = set()
    real_replace, real_rename = os.replace, os.rename

    def refuse(real):
        def rename(src, dst, *a, **kw):
            touched = {os.fspath(src), os.fspath(dst)}
            if any(h == p or h.startswith(p + os.sep) for h in map(os.fspath, held) for p in touched):
                raise PermissionError(errno.EACCES, "The process cannot access the file because "
                                      "it is being used by another process", os.fspath(dst))
            return real(src, dst, *a, **kw)
        return rename

    monkeypatch.setattr(fileio.os, "replace", refuse(real_replace))
    monkeypatch.setattr(fileio.os, "rename", refuse(real_rename))
    monkeypatch.setattr(fileio, "RETRY_SECONDS", 0.3)
    return held


def test_a_file_held_open_is_retried_then_named_in_one_line(tmp_path, held_open):
    path = fileio.atomic_write_text(tmp_path / "report.pdf", "old")
    held_open.add(path)
    with pytest.raises(fileio.FileInUse) as e:
        fileio.atomic_write_text(path, "new")
    assert str(e.value) == (f"cannot replace {path}: another program has it open (a viewer or "
                            "editor showing it?); close it there and run the command again")
    assert path.read_text(encoding="utf-8") == "old"
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_a_file_closed_while_retrying_is_replaced(tmp_path, monkeypatch):
    path = fileio.atomic_write_text(tmp_path / "report.pdf", "old")
    real, refused = os.replace, []

    def closed_after_two_tries(src, dst):
        if len(refused) < 2:
            refused.append(dst)
            raise PermissionError(errno.EACCES, "in use")
        real(src, dst)

    monkeypatch.setattr(fileio.os, "replace", closed_after_two_tries)
    fileio.atomic_write_text(path, "new")
    assert path.read_text(encoding="utf-8") == "new" and len(refused) == 2


def test_report_with_its_pdf_open_names_the_file_not_a_flag(tmp_path, capsys, held_open):
    from softmax_mnist.study.report import typeset

    folder = tmp_path / "study"
    folder.mkdir()
    (folder / "results.json").write_text("{}", encoding="utf-8")
    pdf = folder / "report.pdf"
    pdf.write_bytes(b"%PDF old")
    held_open.add(pdf)

    def build(out, lang, progress=None):  # the report's last step: write report.pdf
        fileio.atomic_write_bytes(pdf, b"%PDF new")

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr("softmax_mnist.study.report.document.build_report", build)
        mp.setattr(typeset, "check_fonts", lambda lang: None)
        rc = main(["report", str(folder), "--lang", "en"])
    err = capsys.readouterr().err.strip()
    assert rc == 1 and len(err.splitlines()) == 1, err
    assert f"cannot replace {pdf}" in err and "close it" in err and "--out" not in err
    assert pdf.read_bytes() == b"%PDF old"


def test_train_force_with_a_file_open_is_not_stranded(tmp_path, capsys, held_open):
    """A run's folder cannot be renamed while a file in it is open (Windows): the error names
    the file, and the command it prints moves the complete new run in once it is closed."""
    data = fake_mnist(tmp_path / "data")
    out = tmp_path / "my run"
    args = ["train", "--data-dir", str(data), "--val-size", "50", "--epochs", "1", "-q", "--out", str(out)]
    assert main(args) == 0
    before = (out / "model.npz").read_bytes()
    held_open.add(out / "curves.png")
    assert main([*args, "--force", "--lr", "0.5"]) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    assert f"cannot replace {out / 'curves.png'}" in err
    partial = out.with_name(out.name + ".partial")
    assert f"softmax-mnist train --resume '{partial}'" in err  # quoted: the name has a space
    assert (out / "model.npz").read_bytes() == before  # the old run is whole
    held_open.clear()  # the viewer is closed
    assert main(["train", "--resume", str(partial)]) == 0
    assert not partial.exists() and (out / "model.npz").read_bytes() != before
    assert "complete; moved it to" in capsys.readouterr().out


@pytest.mark.parametrize("os_name, expected", [
    ("posix", "softmax-mnist train --resume '/tmp/我的 作业/run'"),
    ("nt", 'softmax-mnist train --resume "/tmp/我的 作业/run"'),
])
def test_commands_quote_paths_with_spaces(monkeypatch, os_name, expected):
    monkeypatch.setattr(errors.os, "name", os_name)
    assert errors.command("train", "--resume", "/tmp/我的 作业/run") == expected
    assert errors.command("check", "mine") == "softmax-mnist check mine"


def test_a_console_that_cannot_show_a_character_gets_a_question_mark(tmp_path):
    """A GBK console and a file name with µ (not in GBK): the line prints, µ as ?."""
    from PIL import Image

    img = tmp_path / "µ.png"
    Image.fromarray(np.zeros((28, 28), np.uint8)).save(img)
    env = {**os.environ, "PYTHONIOENCODING": "gbk"}
    r = subprocess.run([sys.executable, "-m", "softmax_mnist", "predict", str(tmp_path / "none.npz"),
                        str(img)], env=env, capture_output=True, timeout=120)
    assert r.returncode == 1 and b"Traceback" not in r.stderr, r.stderr.decode("gbk", "replace")
    r = subprocess.run([sys.executable, "-c", "from softmax_mnist.apps.cli import console_safe; "
                        "console_safe(); print('µ 我')"], env=env, capture_output=True, timeout=60)
    assert r.returncode == 0 and r.stdout.decode("gbk").strip() == "? 我"


def test_csvs_open_in_excel_and_read_back(tmp_path):
    """history.csv, results.csv: UTF-8 with a BOM (Excel on a Chinese Windows reads a CSV
    without one as GBK); csv with encoding="utf-8-sig" reads them as before."""
    data = fake_mnist(tmp_path / "data")
    assert main(["train", "--data-dir", str(data), "--val-size", "50", "--epochs", "2", "-q",
                 "--out", str(tmp_path / "r")]) == 0
    raw = (tmp_path / "r" / "history.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbfepoch,")
    rows = list(csv.DictReader(io.StringIO(raw.decode(fileio.SPREADSHEET))))
    assert [r["epoch"] for r in rows] == ["1", "2"]


def test_idx_is_read_without_set_blocking(tmp_path, monkeypatch):
    """Windows' Python 3.12+: os.set_blocking exists but fails on a file. Reading never calls it."""
    path = tmp_path / "x-idx1-ubyte"
    write_idx(path, np.arange(5, dtype=np.uint8))

    def windows_set_blocking(fd, blocking):
        raise OSError(errno.ENOTSUP, "set_blocking works on pipes only")

    monkeypatch.setattr(os, "set_blocking", windows_set_blocking, raising=False)
    assert read_idx(path).tolist() == [0, 1, 2, 3, 4]
