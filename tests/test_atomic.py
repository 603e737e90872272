"""Atomic writes: a process that dies while writing never leaves a half-written file behind.

Every writer goes through fileio.atomic_write (a temporary ``.<name>.<random>.tmp`` in the same
folder, renamed into place), so the real name holds the old complete file or the new complete
file, never a part. Here a write dies half-way in process (an exception from the file's
``write``), and a real subprocess is SIGKILLed in the middle of a slow write; a static check
keeps every writer in the package going through fileio.
"""

from __future__ import annotations

import ast
import json
import os
import stat
import subprocess
import sys
import textwrap
import time
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest
from matplotlib.figure import Figure

import softmax_mnist
from softmax_mnist import fileio
from softmax_mnist.core.idx import read_idx, write_idx
from softmax_mnist.core.model import SoftmaxRegression
from softmax_mnist.errors import ConfigError
from softmax_mnist.study.modelfile import ModelFileError, load_model, save_model
from softmax_mnist.study.report.typeset import Document, Heading, Para, compile_pdf, to_typst, write_typst
from softmax_mnist.study.report.visualize import save_figure
from softmax_mnist.study.run import prepare_out_dir

SRC = Path(softmax_mnist.__file__).parent


def is_tmp(path: Path) -> bool:
    """A name no reader takes for a result: hidden, and ending in .tmp rather than .json, .npz..."""
    return path.name.startswith(".") and path.name.endswith(".tmp")


# ---- a write that dies half-way (in process) --------------------------------------------------


class Died(BaseException):
    """Stands for the process dying (BaseException, like KeyboardInterrupt and SystemExit)."""


class DyingFile:
    """Wraps the temporary file: its first write puts half the bytes on disk, then dies."""

    def __init__(self, f):
        self._f = f

    def write(self, data):
        self._f.write(data[: len(data) // 2])
        self._f.flush()
        raise Died("killed half-way through a write")

    def __getattr__(self, name):
        return getattr(self._f, name)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return self._f.__exit__(*exc)


@contextmanager
def dying_writes():
    """Inside the block, every atomic write in the package dies half-way."""
    real_fdopen = os.fdopen
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(fileio.os, "fdopen", lambda fd, *a, **k: DyingFile(real_fdopen(fd, *a, **k)))
        yield


def _model(seed: int) -> SoftmaxRegression:
    return SoftmaxRegression(rng=np.random.default_rng(seed))


def _figure(title: str) -> Figure:
    fig = Figure(figsize=(2, 2))
    fig.subplots().set_title(title)
    return fig


# (file name, write version i of it, read it back into something comparable)
WRITERS = {
    "results json": ("results.json", lambda p, i: fileio.atomic_write_json(p, {"run": i, "acc": [0.9] * 100}),
                     lambda p: json.loads(p.read_text())),
    "history csv": ("history.csv", lambda p, i: fileio.atomic_write_text(p, f"epoch,loss\n{i},0.5\n" * 50),
                    lambda p: p.read_text()),
    "model.npz": ("model.npz", lambda p, i: save_model(p, _model(i), "course"),
                  lambda p: load_model(p)[0].W.tobytes()),
    "IDX file": ("labels-idx1-ubyte.gz", lambda p, i: write_idx(p, np.full(1000, i, np.uint8)),
                 lambda p: read_idx(p).tobytes()),
    "figure png": ("curves.png", lambda p, i: save_figure(_figure(f"run {i}"), p),
                   lambda p: p.read_bytes()),
    "report pdf": ("report.pdf", lambda p, i: compile_pdf(_typst(p, i), p), lambda p: p.read_bytes()),
}


def _typst(pdf_path, i):
    """A one-heading report.typ (with its template) in a folder beside ``pdf_path``'s."""
    folder = pdf_path.parent.parent / f"typ-{pdf_path.parent.name}"
    folder.mkdir(exist_ok=True)
    if not (folder / "template.typ").exists():
        write_typst(Document("t", "s", "en"), folder)  # the template, outside the dying writes
    typ = folder / "report.typ"  # written plainly, so that only the PDF's write can die
    typ.write_text(to_typst(Document("t", "s", "en", [Heading(f"run {i}"), Para("text")])))
    return typ


@pytest.mark.parametrize("name, write, read", WRITERS.values(), ids=WRITERS.keys())
def test_death_half_way_leaves_the_old_file(tmp_path, name, write, read):
    path = tmp_path / name
    write(path, 1)
    old_bytes, old = path.read_bytes(), read(path)
    with dying_writes(), pytest.raises(Died):
        write(path, 2)
    assert path.read_bytes() == old_bytes and read(path) == old  # the old version, whole
    assert [p.name for p in tmp_path.iterdir()] == [name]  # and the partial temp file removed


@pytest.mark.parametrize("name, write, read", WRITERS.values(), ids=WRITERS.keys())
def test_death_half_way_leaves_no_file(tmp_path, name, write, read):
    path = tmp_path / name
    with dying_writes(), pytest.raises(Died):
        write(path, 1)
    assert list(tmp_path.iterdir()) == []


def test_death_before_the_rename_leaves_the_old_file(tmp_path, monkeypatch):
    """All bytes written and synced, but the process dies before os.replace: still the old file."""
    path = fileio.atomic_write_bytes(tmp_path / "metrics.json", b'{"acc": 0.9}\n')

    def die(src, dst):
        raise Died("killed before the rename")

    monkeypatch.setattr(fileio.os, "replace", die)
    with pytest.raises(Died):
        fileio.atomic_write_bytes(path, b'{"acc": 0.95}\n')
    assert path.read_bytes() == b'{"acc": 0.9}\n'


def test_atomic_files_get_the_usual_permissions(tmp_path):
    """Not mkstemp's 0600: a results folder is readable like any other file the user writes."""
    umask = os.umask(0o022)
    os.umask(umask)
    path = fileio.atomic_write_text(tmp_path / "metrics.json", "{}")
    assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~umask


# ---- a real process SIGKILLed in the middle of a long write ----------------------------------

CHUNK = 1 << 16
CHUNKS = 400  # 25 MiB written in 400 pieces, a few ms apart: about 1-2 s of writing

SLOW_WRITER = textwrap.dedent(f"""
    import sys, time
    from softmax_mnist.fileio import atomic_write

    def slowly(f):
        for i in range({CHUNKS}):
            f.write(sys.argv[2].encode() * {CHUNK})
            f.flush()
            if i == 0:
                print("writing", flush=True)
            time.sleep(0.003)

    atomic_write(sys.argv[1], slowly)
    print("done", flush=True)
""")


def start_slow_write(path: Path, fill: str) -> subprocess.Popen:
    child = subprocess.Popen([sys.executable, "-c", SLOW_WRITER, str(path), fill],
                             stdout=subprocess.PIPE, text=True)
    assert child.stdout.readline() == "writing\n"
    return child


def watch_then_kill(child: subprocess.Popen, path: Path, seconds: float, allowed: set) -> int:
    """Read ``path`` over and over for ``seconds``, each time finding one of ``allowed`` contents
    (None: absent); then SIGKILL the child. Returns how many times the file was read."""
    reads, end = 0, time.monotonic() + seconds
    while time.monotonic() < end:
        content = path.read_bytes() if path.exists() else None
        assert content in allowed, f"{path} half-written: {len(content):,} bytes"
        reads += 1
    child.kill()  # SIGKILL; TerminateProcess on Windows
    assert child.wait(timeout=30) != 0
    return reads


@pytest.mark.parametrize("kill_after", [0.05, 0.3, 0.7])
def test_sigkill_during_a_long_write_leaves_the_old_file(tmp_path, kill_after):
    path = tmp_path / "results.json"
    old = b"o" * (CHUNK * CHUNKS)
    fileio.atomic_write_bytes(path, old)
    child = start_slow_write(path, "n")
    watch_then_kill(child, path, kill_after, allowed={old})
    assert path.read_bytes() == old
    stray = [p for p in tmp_path.iterdir() if p != path]
    assert len(stray) == 1 and is_tmp(stray[0])  # killed mid-write: the partial temp file is left...
    assert 0 < stray[0].stat().st_size < len(old)
    assert sorted(tmp_path.glob("*.json")) == [path]  # ...under a name no reader picks up


def test_sigkill_during_the_first_write_leaves_no_file(tmp_path):
    run = tmp_path / "run"
    path = run / "model.npz"
    child = start_slow_write(path, "x")
    watch_then_kill(child, path, 0.2, allowed={None})
    assert not path.exists()
    with pytest.raises(ModelFileError, match="not found"):  # the loader does not take the temp file
        load_model(path)
    assert all(is_tmp(p) for p in run.iterdir())
    with pytest.raises(ConfigError, match="not empty"):  # nor is the folder silently reused
        prepare_out_dir(run)


def test_a_write_that_finishes_replaces_the_whole_file(tmp_path):
    path = tmp_path / "results.json"
    old, new = b"o" * (CHUNK * CHUNKS), b"n" * (CHUNK * CHUNKS)
    fileio.atomic_write_bytes(path, old)
    child = start_slow_write(path, "n")
    # while it writes, readers see the old file; once it is done, the new one, whole
    reads = 0
    while child.poll() is None:
        content = path.read_bytes()
        assert content in (old, new), f"half-written: {len(content):,} bytes"
        reads += 1
    assert child.returncode == 0 and child.stdout.read() == "done\n"
    assert path.read_bytes() == new and reads > 0
    assert list(tmp_path.iterdir()) == [path]


# ---- every writer in the package goes through fileio ------------------------------------------

# Own temp-and-rename code, not through fileio, with the reason.
ALLOWED_OWN_ATOMIC = {
    ("datasets.py", "download"): "streams each download to a temp file, renames it once its md5 is right",
}
WRITE_METHODS = {"write_text", "write_bytes", "tofile", "savetxt"}
TO_TARGET = {"savefig", "savez", "savez_compressed", "save", "PdfPages", "dump"}  # first argument: where
TEMP_FILES = {"mkstemp", "NamedTemporaryFile"}
RENAMES = {"replace", "rename", "move"} | TEMP_FILES  # of os, shutil, tempfile


def _name(func: ast.expr) -> str:
    return func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")


class _WriteFinder(ast.NodeVisitor):
    """Collects calls that write a file other than through fileio, with their function's name."""

    def __init__(self, filename: str, buffers: set[str], pdfs: set[str]):
        self.filename, self.buffers, self.pdfs = filename, buffers, pdfs
        self.owner, self.found = "<module>", set()

    def visit_FunctionDef(self, node):
        outer, self.owner = self.owner, node.name
        self.generic_visit(node)
        self.owner = outer

    def visit_Call(self, node):
        name, where = _name(node.func), f"{self.filename}:{node.lineno} {self.owner}"
        receiver = getattr(getattr(node.func, "value", None), "id", None)
        args = node.args[1:] if name == "dump" else node.args  # json.dump(obj, target)
        if name == "savefig" and receiver in self.pdfs:  # a page into PdfPages(buffer), checked there
            args = []
        if name == "open":
            mode = node.args[1] if len(node.args) > 1 else next(
                (k.value for k in node.keywords if k.arg == "mode"), None)
            if isinstance(mode, ast.Constant) and set(str(mode.value)) & set("wax+"):
                self.found.add(f"{where}: open(..., {mode.value!r})")
        elif name in WRITE_METHODS:
            self.found.add(f"{where}: .{name}(...)")
        elif name in TO_TARGET and args and getattr(args[0], "id", None) not in self.buffers:
            self.found.add(f"{where}: {name}(...) to a path, not a buffer")
        elif (name in RENAMES and (receiver in ("os", "shutil", "tempfile") or name in TEMP_FILES)
              and (self.filename, self.owner) not in ALLOWED_OWN_ATOMIC):
            self.found.add(f"{where}: own {name}(...) outside fileio")
        self.generic_visit(node)


def unsafe_writes(source: str, filename: str) -> list[str]:
    """Places in ``source`` that write a file other than through fileio."""
    tree = ast.parse(source)
    buffers = {t.id for node in ast.walk(tree) if isinstance(node, ast.Assign)
               and isinstance(node.value, ast.Call) and _name(node.value.func) in ("BytesIO", "StringIO")
               for t in node.targets if isinstance(t, ast.Name)}
    pdfs = {item.optional_vars.id for node in ast.walk(tree) if isinstance(node, ast.With)
            for item in node.items if isinstance(item.context_expr, ast.Call)
            and _name(item.context_expr.func) == "PdfPages" and isinstance(item.optional_vars, ast.Name)}
    finder = _WriteFinder(filename, buffers, pdfs)
    finder.visit(tree)
    return sorted(finder.found)


def test_every_writer_in_the_package_goes_through_fileio():
    found = []
    for path in sorted(SRC.glob("*.py")):
        if path.name != "fileio.py":
            found += unsafe_writes(path.read_text(), path.name)
    assert found == [], "write these through softmax_mnist.fileio (atomic_write*):\n" + "\n".join(found)


def test_the_writer_check_finds_unsafe_writes():
    source = textwrap.dedent("""
        import io, json
        import numpy as np
        def bad(path, fig, arr):
            with open(path, "w") as f:
                json.dump({}, f)
            path.write_text("x")
            fig.savefig(path)
            np.savez(path, a=arr)
        def good(path, fig, arr):
            buf = io.BytesIO()
            fig.savefig(buf)
            np.savez(buf, a=arr)
            with open(path) as f:
                return f.read()
    """)
    found = unsafe_writes(source, "x.py")
    assert len(found) == 5 and all(" bad:" in f for f in found), found
