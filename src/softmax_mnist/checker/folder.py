"""A student's folder: reading it (never running it), importing it, writing a new one.

Used by ``softmax-mnist check`` (preflight in the parent, Student in its child) and by
``study --impl`` (preflight, framework_imports, and the import hooks in its worker) alike:

    read_source         a file's text as Python decodes it; CannotRun naming a GBK line
    framework_imports   each import of a deep learning framework in a file's source
    local_imports       the folder's modules that loss.py and optimizer.py import
    preflight           CannotRun for a folder that cannot be checked or studied
    FrameworkBlocker    at import: records a framework's import and hands back a stub
    CourseShims         at import: the course's other files (dataloader, ...) when missing
    Student             the two classes, imported from the folder with both hooks in place
    write_skeleton      the course's two files with TODOs (skeleton/), for a new folder
"""
from __future__ import annotations

import ast
import importlib
import importlib.abc
import importlib.resources
import importlib.util
import io
import sys
import tokenize
import traceback
import types
from pathlib import Path

from softmax_mnist.core.data import NUM_CLASSES, NUM_FEATURES
from softmax_mnist.errors import SoftmaxMnistError

D, C = NUM_FEATURES, NUM_CLASSES  # the course's SoftmaxCrossEntropyLoss(784, 10)

FRAMEWORKS = ("torch", "torchvision", "tensorflow", "keras", "jax", "jaxlib", "flax", "paddle",
              "mxnet", "theano", "cntk", "caffe", "caffe2", "chainer", "tinygrad", "mindspore",
              "oneflow", "autograd")


class CannotRun(SoftmaxMnistError):
    """The folder cannot be checked at all (exit status 2)."""


# ---- reading the source (never running it) -------------------------------------------------


def read_source(path: Path, strict: bool = True) -> str:
    """The text of a student's Python file, decoded as Python decodes it (UTF-8, with or without
    a BOM, or what a coding line names). CannotRun naming the line and the fix when it is not
    (e.g. saved as GBK by an editor on Chinese Windows); ``strict=False``: such bytes replaced."""
    data = Path(path).read_bytes()
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
        return data.decode(encoding)
    except (SyntaxError, LookupError, UnicodeDecodeError) as e:
        if not strict:
            return data.decode("utf-8", "replace")
        start = getattr(e, "start", 0)
        line = data[:start].count(b"\n") + 1
        byte = f" (byte 0x{data[start]:02x})" if isinstance(e, UnicodeDecodeError) else ""
        raise CannotRun(f"{Path(path).name} line {line}: not saved as UTF-8{byte}, probably GBK; "
                        "save it as UTF-8 (请将文件另存为 UTF-8 编码; e.g. VS Code: Save with Encoding, "
                        "UTF-8) and run the check again") from None


def framework_imports(path: Path) -> list[tuple[str, int]]:
    """(framework, line) for each import of one in ``path``: import/from statements and
    ``__import__("x")`` / ``importlib.import_module("x")`` with a literal name."""
    tree = ast.parse(read_source(path, strict=False), filename=str(path))
    found = []
    for node in ast.walk(tree):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
            names = [node.module]
        elif isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant) \
                and isinstance(node.args[0].value, str):
            f = node.func
            fname = f.id if isinstance(f, ast.Name) else f.attr if isinstance(f, ast.Attribute) else ""
            if fname in ("__import__", "import_module"):
                names = [node.args[0].value]
        for name in names:
            top = name.partition(".")[0]
            if top in FRAMEWORKS:
                found.append((top, node.lineno))
    return found


def local_imports(files: list[Path], folder: Path) -> list[Path]:
    """``files`` and, transitively, the modules of ``folder`` they import."""
    seen: list[Path] = []
    todo = [f for f in files if f.is_file()]
    while todo:
        path = todo.pop(0)
        if path in seen:
            continue
        seen.append(path)
        try:
            tree = ast.parse(read_source(path, strict=False))
        except SyntaxError:
            continue
        for node in ast.walk(tree):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module] if isinstance(node, ast.ImportFrom) and node.module else []
            for name in names:
                candidate = folder / f"{name.partition('.')[0]}.py"
                if candidate.is_file() and candidate not in seen:
                    todo.append(candidate)
    return seen


def preflight(folder: Path) -> None:
    """Raise CannotRun for a folder that cannot be checked: missing, no loss.py or optimizer.py,
    or a syntax error in either (or in a file of the folder they import)."""
    if not folder.exists():
        raise CannotRun(f"{folder}: no such folder")
    if not folder.is_dir():
        raise CannotRun(f"{folder}: not a folder; pass the folder that holds loss.py and optimizer.py")
    for name in ("loss.py", "optimizer.py"):
        if not (folder / name).is_file():
            raise CannotRun(f"{folder}: no {name} in it (the course's file with "
                            f"{'SoftmaxCrossEntropyLoss' if name == 'loss.py' else 'SGD'})")
    for path in local_imports([folder / "loss.py", folder / "optimizer.py"], folder):
        read_source(path)  # CannotRun for a file that is not UTF-8 (Python would say "syntax error")
        try:
            compile(path.read_bytes(), str(path), "exec", dont_inherit=True)
        except SyntaxError as e:
            raise CannotRun(f"{path.name} line {e.lineno}: syntax error: {e.msg}; fix it and "
                            "run the check again") from None
        except ValueError as e:  # e.g. a NUL byte
            raise CannotRun(f"{path.name}: cannot be read as Python source ({e})") from None


# ---- the student's code: import, frameworks blocked, course files supplied ------------------


class _Stub(types.ModuleType):
    """What ``import torch`` gives inside the checker: an empty module that says why."""

    def __getattr__(self, attr):
        if attr.startswith("__"):
            raise AttributeError(attr)
        top = self.__name__.partition(".")[0]
        raise AttributeError(f"{self.__name__}.{attr}: {top} is not available inside softmax-mnist "
                             "check (the course's loss.py and optimizer.py use NumPy only)")


class _StubLoader(importlib.abc.Loader):
    def create_module(self, spec):
        return _Stub(spec.name)

    def exec_module(self, module):
        pass


class FrameworkBlocker(importlib.abc.MetaPathFinder):
    """First on sys.meta_path: records every import of a deep learning framework (and where it
    came from) and hands back an empty stand-in instead of loading it, so the other checks still
    tell whether the rest works, and a 1 GB library never loads under the memory limit."""

    def __init__(self, student_files: set[str]):
        self.student_files = student_files
        self.seen: dict[str, str] = {}  # top-level name -> "loss.py line 3"

    def find_spec(self, fullname, path=None, target=None):
        top = fullname.partition(".")[0]
        if top not in FRAMEWORKS:
            return None
        self.seen.setdefault(top, student_location(self.student_files) or "an import")
        return importlib.util.spec_from_loader(fullname, _StubLoader(), is_package=True)


# The course's other files, for a student's import of them when the folder lacks them: minimal
# names over this package, loaded only when asked for (last on sys.meta_path, so the folder's own
# files and installed packages come first).
COURSE_SHIMS = {
    "dataloader": ("softmax_mnist.course.dataloader", ("Dataset", "DataLoader", "build_dataloader")),
    "visualize": ("softmax_mnist.course.visualize", ("plot_loss_and_acc",)),
    "solver": ("softmax_mnist.course.solver", ("Solver",)),
}


class _ShimLoader(importlib.abc.Loader):
    def create_module(self, spec):
        return None

    def exec_module(self, module):
        source, names = COURSE_SHIMS[module.__name__]

        def __getattr__(attr):  # import the real module only when a name is used
            if attr in names:
                return getattr(importlib.import_module(source), attr)
            raise AttributeError(f"module {module.__name__!r} (the checker's stand-in) has no {attr!r}")

        module.__getattr__ = __getattr__
        module.__all__ = list(names)


class CourseShims(importlib.abc.MetaPathFinder):
    def find_spec(self, fullname, path=None, target=None):
        if fullname in COURSE_SHIMS:
            return importlib.util.spec_from_loader(fullname, _ShimLoader())
        return None


def student_location(files: set[str], tb=None) -> str | None:
    """'loss.py line 12' of the innermost frame in the student's files (of ``tb`` or the stack)."""
    if tb is not None:
        frames = [(f.filename, f.lineno) for f in traceback.extract_tb(tb)]
    else:
        frames = [(f.filename, f.lineno) for f in reversed(traceback.extract_stack())]
    for filename, lineno in reversed(frames) if tb is not None else frames:
        if filename in files:
            return f"{Path(filename).name} line {lineno}"
    return None


def outer_student_function(files: set[str], tb) -> str | None:
    """The student's method the checker called (outermost student frame) in traceback ``tb``."""
    for f in traceback.extract_tb(tb):
        if f.filename in files:
            return f.name
    return None


def source_line(location: str | None, folder: Path) -> str:
    if not location:
        return ""
    name, _, line = location.partition(" line ")
    try:
        text = read_source(folder / name, strict=False).splitlines()[int(line) - 1]
    except (OSError, IndexError, ValueError):
        return ""
    return text.strip()


class Student:
    """The student's two classes, imported from ``folder`` with frameworks blocked."""

    def __init__(self, folder: Path):
        self.folder = folder.resolve()
        self.files = {str(p) for p in self.folder.glob("*.py")}
        self.blocker = FrameworkBlocker(self.files)
        sys.meta_path.insert(0, self.blocker)
        sys.meta_path.append(CourseShims())
        sys.path.insert(0, str(self.folder))
        before = set(sys.modules)
        self.loss_module = self._import("loss")
        self.optimizer_module = self._import("optimizer")
        self.new_modules = sorted(set(sys.modules) - before)
        self.Loss = self._class(self.loss_module, "SoftmaxCrossEntropyLoss", "loss.py")
        self.SGD = self._class(self.optimizer_module, "SGD", "optimizer.py")

    def _import(self, name):
        module = importlib.import_module(name)
        where = Path(getattr(module, "__file__", "") or "").resolve()
        if where != self.folder / f"{name}.py":
            raise ImportError(f"`import {name}` found {where}, not {self.folder / f'{name}.py'}")
        return module

    @staticmethod
    def _class(module, name, filename):
        cls = getattr(module, name, None)
        if not isinstance(cls, type):
            raise LookupError(f"{filename} has no class {name} (the course's name for it)")
        return cls

    def loss(self, W=None, b=None, trainable=True):
        """A student's SoftmaxCrossEntropyLoss(784, 10), with W and b set to copies when given."""
        model = self.Loss(D, C, trainable) if trainable is not True else self.Loss(D, C)
        if W is not None:
            model.W = W.copy()
            model.b = b.copy()
        return model




# ---- for students starting out: the course's two files with TODOs ------------------------------

SKELETON = ("loss.py", "optimizer.py")  # in skeleton/, package data


def write_skeleton(folder) -> list[Path]:
    """Write skeleton/loss.py and skeleton/optimizer.py into ``folder``; never over an existing file."""
    from softmax_mnist.fileio import atomic_write_text

    folder = Path(folder)
    taken = [name for name in SKELETON if (folder / name).exists()]
    if taken:
        raise CannotRun(f"{folder / taken[0]} exists already; write the skeleton into a new folder")
    source = importlib.resources.files("softmax_mnist.checker") / "skeleton"
    return [atomic_write_text(folder / name, (source / name).read_text(encoding="utf-8"))
            for name in SKELETON]
