"""``softmax-mnist check DIR``: is a student's loss.py and optimizer.py right?

The student's ``SoftmaxCrossEntropyLoss`` and ``SGD`` are run against this package's reference
(``softmax_mnist.course.loss``, ``softmax_mnist.course.optimizer``) in a child process
(check_child.py, started and read by ``Child``) with a time limit per check, a memory limit and a
limit on processes, on Windows, macOS and Linux alike, so an exception, an endless loop, a huge
allocation, an exit or a stray process fails one check instead of the checker. A guard against
mistakes, not a sandbox for hostile code: the student's files run with this user's rights.

This module only parses the student's files (never runs them), starts the child, reads its
events and puts the results together. Status: 0 every check passed, 1 some failed, 2 the check
could not run (``CannotRun``: no folder, no loss.py, a file not UTF-8, a syntax error, no
readable MNIST).
"""
from __future__ import annotations

import ast
import csv
import io
import json
import os
import queue
import re
import secrets
import signal
import subprocess
import sys
import tempfile
import threading
import time
import tokenize
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import asdict, dataclass, field
from pathlib import Path

from softmax_mnist.errors import SoftmaxMnistError

# Deep learning frameworks (top-level import names) the course's two files must not use.
FRAMEWORKS = ("torch", "torchvision", "tensorflow", "keras", "jax", "jaxlib", "flax", "paddle",
              "mxnet", "theano", "cntk", "caffe", "caffe2", "chainer", "tinygrad", "mindspore",
              "oneflow", "autograd")

# The checks in order: what they say, which of the student's methods they call (a method that
# hung once is not called again), and their time limit in seconds.
CHECKS: dict[str, dict] = {
    "framework": {"about": "no deep learning framework imported; the classes are the folder's own",
                  "uses": (), "limit": 5},
    "construction": {"about": "W, b: shapes, dtypes, finite, not all zero", "uses": ("__init__",)},
    "forward": {"about": "loss against the reference, batch of 100", "uses": ("__init__", "forward")},
    "forward-overflow": {"about": "loss with logits near +-1000", "uses": ("__init__", "forward")},
    "forward-batch-of-one": {"about": "loss on a batch of 1", "uses": ("__init__", "forward")},
    "forward-odd-batch": {"about": "loss on a batch of 37", "uses": ("__init__", "forward")},
    "accuracy": {"about": "accuracy on batches of 100, 37, 1", "uses": ("__init__", "forward")},
    "gradient-shapes": {"about": "grad_W (784, 10), grad_b (1, 10)",
                        "uses": ("__init__", "forward", "gradient_computing")},
    "gradient": {"about": "against the reference and central differences",
                 "uses": ("__init__", "forward", "gradient_computing")},
    "sgd": {"about": "momentum 0 is plain SGD", "uses": ("step",)},
    "momentum": {"about": "v <- mu v - lr g, w <- w + v over steps", "uses": ("step",)},
    "frozen": {"about": "nothing changes when trainable is False", "uses": ("step",)},
    "vectorised": {"about": "time per minibatch, no loop over samples",
                   "uses": ("__init__", "forward", "gradient_computing", "step"), "limit": 20},
    "train": {"about": "short MNIST run reaches the reference's accuracy",
              "uses": ("__init__", "forward", "gradient_computing", "step"), "limit": 40},
}
DEFAULT_LIMIT = 5.0  # seconds per check; a correct submission needs well under one
IMPORT_LIMIT = 10.0
GRACE = 5.0  # the parent kills the child this long after a check's own limit
MEMORY_MB = 2048
MEMORY_HINT = ("an array far larger than needed: the whole batch needs only (N, 784) and (N, 10) "
               "arrays and the (784, 10) gradient")


class CannotRun(SoftmaxMnistError):
    """The folder cannot be checked at all (exit status 2)."""


@dataclass
class CheckResult:
    name: str
    passed: bool
    message: str
    hint: str = ""
    seconds: float = 0.0
    details: dict = field(default_factory=dict)


@dataclass
class Report:
    folder: str
    status: int  # 0 all passed, 1 some failed, 2 could not run
    checks: list[CheckResult] = field(default_factory=list)
    error: str = ""
    seconds: float = 0.0

    @property
    def failed(self) -> list[str]:
        return [c.name for c in self.checks if not c.passed]

    def to_json(self) -> dict:
        return {"folder": self.folder, "status": self.status, "error": self.error,
                "passed": len(self.checks) - len(self.failed), "failed": self.failed,
                "seconds": round(self.seconds, 3), "checks": [asdict(c) for c in self.checks]}


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


def check_data(data_dir) -> str:
    """The MNIST folder the train check will read, or CannotRun saying how to get it."""
    from softmax_mnist.core.data import FILES, find_file, resolve_data_dir

    where = resolve_data_dir(data_dir)
    try:
        for key in ("train_images", "train_labels"):
            find_file(where, FILES[key])
    except SoftmaxMnistError as e:
        raise CannotRun(f"the train check needs MNIST: {e}") from None
    return str(where.resolve())


# ---- running the child ----------------------------------------------------------------------

MAX_PROCESSES = 16  # the child and everything it starts; the course's code starts none
POLL = 0.2  # seconds between two looks at the child's process tree (memory, processes)
KEY_VARIABLE = "SOFTMAX_MNIST_CHILD_KEY"  # marks every process the child starts, to find them all


class WindowsJob:
    """A Windows Job Object around the child: at most ``processes`` processes, at most
    ``memory_mb`` committed per process (an allocation past it fails inside the child, as under
    RLIMIT_AS: the student's line is named), and every process in it ended by ``end()``, or
    when this process ends. ``WindowsJob.create`` is None where the system has no job objects
    or refuses one; the watchdog and the environment key then stand in."""

    @staticmethod
    def create(pid: int, processes: int, memory_mb: int | None):
        import ctypes

        if not hasattr(ctypes, "WinDLL"):
            return None
        try:
            return WindowsJob(ctypes, pid, processes, memory_mb)
        except (OSError, AttributeError, ValueError):
            return None

    def __init__(self, ctypes, pid: int, processes: int, memory_mb: int | None):
        k = self.kernel32 = ctypes.WinDLL("kernel32", use_last_error=True)
        handle = ctypes.c_void_p
        k.CreateJobObjectW.restype = handle
        k.CreateJobObjectW.argtypes = [handle, ctypes.c_wchar_p]
        k.SetInformationJobObject.argtypes = [handle, ctypes.c_int, handle, ctypes.c_uint32]
        k.OpenProcess.restype = handle
        k.OpenProcess.argtypes = [ctypes.c_uint32, ctypes.c_int, ctypes.c_uint32]
        k.AssignProcessToJobObject.argtypes = [handle, handle]
        k.TerminateJobObject.argtypes = [handle, ctypes.c_uint]
        k.CloseHandle.argtypes = [handle]
        info = job_limits(ctypes)()
        basic = info.BasicLimitInformation
        basic.LimitFlags = 0x2000 | 0x8  # KILL_ON_JOB_CLOSE | ACTIVE_PROCESS
        basic.ActiveProcessLimit = processes
        if memory_mb is not None:
            basic.LimitFlags |= 0x100  # PROCESS_MEMORY
            info.ProcessMemoryLimit = memory_mb * 1024 * 1024
        self.job = k.CreateJobObjectW(None, None)
        if not self.job:
            raise OSError(ctypes.get_last_error(), "CreateJobObject")
        process = k.OpenProcess(0x0100 | 0x0001, False, pid)  # SET_QUOTA | TERMINATE
        ok = process and k.SetInformationJobObject(self.job, 9, ctypes.byref(info), ctypes.sizeof(info)) \
            and k.AssignProcessToJobObject(self.job, process)
        if process:
            k.CloseHandle(process)
        if not ok:
            k.CloseHandle(self.job)
            raise OSError(ctypes.get_last_error(), "job object")

    def end(self) -> None:
        if self.job:
            self.kernel32.TerminateJobObject(self.job, 1)
            self.kernel32.CloseHandle(self.job)
            self.job = None


def job_limits(ctypes):
    """JOBOBJECT_EXTENDED_LIMIT_INFORMATION (winnt.h), for SetInformationJobObject class 9."""
    u64, u32, size = ctypes.c_uint64, ctypes.c_uint32, ctypes.c_size_t

    class Basic(ctypes.Structure):
        _fields_ = [("PerProcessUserTimeLimit", ctypes.c_int64), ("PerJobUserTimeLimit", ctypes.c_int64),
                    ("LimitFlags", u32), ("MinimumWorkingSetSize", size), ("MaximumWorkingSetSize", size),
                    ("ActiveProcessLimit", u32), ("Affinity", size), ("PriorityClass", u32),
                    ("SchedulingClass", u32)]

    class IoCounters(ctypes.Structure):
        _fields_ = [(name, u64) for name in ("ReadOperationCount", "WriteOperationCount",
                                             "OtherOperationCount", "ReadTransferCount",
                                             "WriteTransferCount", "OtherTransferCount")]

    class Extended(ctypes.Structure):
        _fields_ = [("BasicLimitInformation", Basic), ("IoInfo", IoCounters),
                    ("ProcessMemoryLimit", size), ("JobMemoryLimit", size),
                    ("PeakProcessMemoryUsed", size), ("PeakJobMemoryUsed", size)]

    return Extended


def _limits() -> dict:
    limits = {name: float(spec.get("limit", DEFAULT_LIMIT)) for name, spec in CHECKS.items()}
    return {**limits, "default": DEFAULT_LIMIT, "import": IMPORT_LIMIT}


def _psutil():
    import psutil

    return psutil


class Child:
    """A child process that runs a student's code, and everything it starts.

    Events come on its stdout, one JSON line each, carrying this run's random ``key``; only a
    well-formed event of a kind in ``kinds`` ({kind: {field: types}}) counts, any other line is
    the student's output (``output``), as is everything on its stderr. Reader threads collect
    both (no select(), which Windows has for sockets only); ``next(timeout)`` waits for one event
    with a deadline. A watchdog thread looks at the process tree every POLL seconds: more than
    ``memory_mb`` of resident memory (None: no limit; nor once ``watch_memory`` is turned off
    because a limit of the system's own holds in the child) or more than MAX_PROCESSES
    processes end it, and the last
    event says which ({"event": "stopped", "why": "memory" | "processes"}). ``end()`` ends the
    whole tree: every process seen in it, its descendants now, and any process that carries
    this run's key in its environment (a setsid() or double-fork escape still inherits it).
    On Windows a job object (WindowsJob) also holds the tree and its limits. The child runs
    with UTF-8 I/O whatever the console's encoding.
    """

    def __init__(self, module: str, spec: dict, kinds: dict, output: Output, cwd: str,
                 memory_mb: int | None, max_processes: int = MAX_PROCESSES):
        psutil = _psutil()
        self.key, self.kinds, self.output = secrets.token_hex(16), kinds, output
        self.max_processes = max_processes
        self.memory = float("inf") if memory_mb is None else memory_mb * 1024 * 1024
        env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1", "PYTHONIOENCODING": "utf-8",
               "PYTHONUTF8": "1", "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1",
               "MKL_NUM_THREADS": "1", KEY_VARIABLE: self.key}
        self.started = time.time()
        self.proc = subprocess.Popen([sys.executable, "-X", "utf8", "-m", module], cwd=cwd, env=env,
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE)  # cwd: not the student's folder
        self.events: queue.Queue = queue.Queue()
        self.stopped: str | None = None
        self.watch_memory = memory_mb is not None  # until the child says a limit of its own holds
        self.seen: dict[int, object] = {}
        self.lock = threading.Lock()  # seen is filled by the watchdog and read by kill()
        self.done = threading.Event()
        self.job = WindowsJob.create(self.proc.pid, max_processes, memory_mb)
        try:
            self.ps = psutil.Process(self.proc.pid)
            self.seen[self.proc.pid] = self.ps
        except psutil.Error:
            self.ps = None
        self.threads = [threading.Thread(target=target, daemon=True, name=f"check-{target.__name__}")
                        for target in (self._read_events, self._read_output, self._watch, self._reap)]
        for t in self.threads:
            t.start()
        self.send({**spec, "key": self.key})

    def send(self, message: dict) -> None:
        """One JSON line to the child's stdin; nothing when the child is gone."""
        try:
            self.proc.stdin.write((json.dumps(message, ensure_ascii=False) + "\n").encode("utf-8"))
            self.proc.stdin.flush()
        except (OSError, ValueError):
            pass

    def event(self, line: bytes) -> dict | None:
        """The event on ``line``, or None when it is not one of ours, well formed."""
        try:
            event = json.loads(line)
        except ValueError:
            return None
        if not isinstance(event, dict) or event.get("key") != self.key:
            return None
        fields = self.kinds.get(event.get("event"))
        if fields is None:
            return None
        for name, types in fields.items():
            value = event.get(name)
            if not isinstance(value, types) or (isinstance(value, bool) and bool not in _tuple(types)):
                return None
        return event

    def _read_events(self) -> None:
        for line in self.proc.stdout:
            event = self.event(line)
            if event is None:
                self.output.add(line)
            else:
                self.events.put(event)
        self.events.put({"event": "eof"})

    def _reap(self) -> None:
        self.events.put({"event": "exit", "code": self.proc.wait()})

    def _read_output(self) -> None:
        while True:
            chunk = self.proc.stderr.read1(65536)
            if not chunk:
                return
            self.output.add(chunk)

    def _tree(self) -> list:
        psutil = _psutil()
        found = []
        if self.ps is not None:
            try:
                found = [self.ps, *self.ps.children(recursive=True)]
            except psutil.Error:
                found = []
        with self.lock:
            for p in found:
                self.seen.setdefault(p.pid, p)
        return found

    def _watch(self) -> None:
        psutil = _psutil()
        while not self.done.wait(POLL):
            tree = self._tree()
            if not tree:
                continue
            rss = 0
            for p in tree if self.watch_memory else ():
                try:
                    rss += p.memory_info().rss
                except psutil.Error:
                    pass
            why = "processes" if len(tree) > self.max_processes else "memory" if rss > self.memory else None
            if why:
                self.stopped = why
                self.poke()
                self.kill()
                self.events.put({"event": "stopped", "why": why})
                return

    def poke(self) -> None:
        """Ask the child for its tracebacks (SIGUSR1 to faulthandler, where the system has it)
        and give it a moment to write them, before it is ended."""
        if hasattr(signal, "SIGUSR1") and self.proc.poll() is None:
            try:
                os.kill(self.proc.pid, signal.SIGUSR1)
                time.sleep(0.2)
            except OSError:
                pass

    def next(self, timeout: float) -> dict | None:
        """The next event, None after ``timeout`` seconds. Also {"event": "eof"} when the channel
        closed and {"event": "exit", "code"} when the child process ended (in either order: a
        process it started may hold the channel open)."""
        try:
            return self.events.get(timeout=max(timeout, 0.0))
        except queue.Empty:
            return None

    def wait(self, timeout: float) -> int | None:
        """The exit code, or None when the process still runs after ``timeout`` seconds."""
        try:
            return self.proc.wait(timeout=max(timeout, 0.0))
        except subprocess.TimeoutExpired:
            return None

    def kill(self) -> None:
        """End the child and every process it started (see the class's doc)."""
        psutil = _psutil()
        if self.job is not None:
            self.job.end()
        for _ in range(2):  # twice: a process may start another while the first round runs
            self._tree()
            marked = self._marked()
            with self.lock:
                self.seen.update(marked)
                procs = list(self.seen.values())
            for p in procs:
                try:
                    p.kill()
                except psutil.Error:
                    pass
                except AttributeError:  # psutil's POSIX kill on a system without SIGKILL
                    try:
                        p.terminate()
                    except psutil.Error:
                        pass
        try:
            self.proc.wait(timeout=3)
        except subprocess.TimeoutExpired:
            pass
        psutil.wait_procs([p for p in procs if p.pid != self.proc.pid], timeout=3)

    def _marked(self) -> dict:
        """The processes started since this child that carry its key in their environment."""
        psutil = _psutil()
        found = {}
        for p in psutil.process_iter(["create_time"]):
            if (p.info["create_time"] or 0) < self.started - 1 or p.pid == os.getpid():
                continue
            try:
                if p.environ().get(KEY_VARIABLE) == self.key:
                    found[p.pid] = p
            except psutil.Error:
                pass
        return found

    def end(self) -> None:
        """Kill what is left of the tree, reap the child, and let the readers finish (briefly:
        a process that escaped every search may hold the pipes; the readers then stay behind)."""
        self.done.set()
        self.kill()
        try:
            self.proc.stdin.close()
        except OSError:
            pass
        self.proc.wait()
        for t in self.threads[:2]:
            t.join(timeout=1.0)


def _tuple(types) -> tuple:
    return types if isinstance(types, tuple) else (types,)


NUMBER = (int, float)
CHECK_EVENTS = {  # the child's events and the fields each must have
    "limits": {"memory": str},
    "ready": {},
    "start": {"check": str},
    "result": {"check": str, "passed": bool, "message": str, "hint": str, "seconds": NUMBER,
               "broken": dict, "frameworks": dict},
    "where": {"where": str, "why": str},
    "fatal": {"error": str},
}


class Output:
    """The end of what the student's code printed (stdout and stderr), for a crash message."""

    def __init__(self, keep: int = 4096):
        self.keep, self.data = keep, b""
        self.lock = threading.Lock()

    def add(self, chunk: bytes) -> None:
        with self.lock:
            self.data = (self.data + chunk)[-self.keep:]

    def tail(self, n: int = 3) -> str:
        lines = [ln for ln in self.data.decode("utf-8", "replace").splitlines() if ln.strip()]
        return " | ".join(lines[-n:])


def where_in_dump(path: Path, folder: Path) -> str | None:
    """'loss.py line 37': the most recent frame in the student's files among the tracebacks the
    child's faulthandler wrote to ``path`` (check_child.Dumps), or None."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    files = {str(p) for p in folder.glob("*.py")}
    for match in re.finditer(r'^\s*File "(.+)", line (\d+)', text, re.M):
        if match.group(1) in files:
            return f"{Path(match.group(1)).name} line {match.group(2)}"
    return None


def _strings(value) -> bool:
    return isinstance(value, dict) and all(isinstance(k, str) and isinstance(v, str)
                                           for k, v in value.items())


def _run_child(folder: Path, data_dir: str, names: list[str], broken: dict, output: Output, cwd: str):
    """Yield the child's events; on a hang, a death or a limit yield {"event": "lost", ...} and
    stop. Every wait has a deadline: a start-up, each check's limit plus GRACE, the gap between
    two checks, and the child's exit after its channel closed."""
    limits = _limits()
    dump = Path(cwd) / "tracebacks.txt"
    spec = {"folder": str(folder), "data_dir": data_dir, "checks": names, "broken": broken,
            "memory_mb": MEMORY_MB, "max_processes": MAX_PROCESSES, "limits": limits, "dump": str(dump),
            "late": GRACE / 2}
    child = Child("softmax_mnist.course.check_child", spec, CHECK_EVENTS, output, cwd, MEMORY_MB)
    current, where, done, code = None, {}, set(), None
    deadline = time.monotonic() + limits["import"] + GRACE + 10  # + the child's own start-up
    try:
        while True:
            event = child.next(deadline - time.monotonic())
            kind = event and event["event"]
            if kind == "exit":  # what it wrote before it ended is read within a second
                code = event["code"]
                deadline = min(deadline, time.monotonic() + 1.0)
                continue
            if kind == "eof" or (event is None and code is not None):  # ended, or ended on time
                if code is None:
                    code = child.wait(deadline - time.monotonic())
                if child.stopped:
                    kind = "stopped"
                elif code is None:
                    event = None
                else:
                    if current is not None or code != 0:
                        yield {"event": "lost", "check": current, "why": "died", "code": code}
                    return
            if kind == "stopped" or event is None:
                if event is None:
                    child.poke()
                at = where.get(current) or where_in_dump(dump, folder)
                yield {"event": "lost", "check": current, "why": child.stopped or "hung", "where": at}
                return
            if kind == "limits":
                child.watch_memory = event["memory"] == "none"
                continue
            if kind == "where":
                where[current] = event["where"]
                continue
            if kind == "start":
                if event["check"] not in names or event["check"] in done or current is not None:
                    continue
                current = event["check"]
                deadline = time.monotonic() + limits.get(current, DEFAULT_LIMIT) + GRACE
            elif kind == "result":
                if event["check"] != current or not (_strings(event["broken"])
                                                     and _strings(event["frameworks"])):
                    continue
                current = None
                done.add(event["check"])
                deadline = time.monotonic() + 30  # until the next start
            yield event
            if done == set(names):  # the child's work is done: end it, whatever it started
                return
    finally:
        child.end()


def _lost_message(event: dict, output: Output) -> tuple[str, str]:
    name = event["check"]
    limit = CHECKS.get(name, {}).get("limit", DEFAULT_LIMIT) if name else IMPORT_LIMIT
    at = f"; it was running at {event['where']}" if event.get("where") else ""
    if event["why"] == "hung":
        return (f"did not finish within {limit + GRACE:g} s and was stopped"
                + (at or " (inside a NumPy call or with signals blocked, so the line is unknown)"),
                "an endless loop, or an operation on arrays far larger than the batch")
    if event["why"] == "memory":
        return f"ran out of memory (the limit is {MEMORY_MB} MB) and was stopped{at}", MEMORY_HINT
    if event["why"] == "processes":
        return (f"started more than {MAX_PROCESSES - 1} processes and was stopped{at}",
                "the course's two files need no processes of their own: remove os.fork, "
                "subprocess and multiprocessing")
    code = event.get("code")
    how = f"exit code {code}"
    if code is not None and code < 0:
        try:
            how = f"signal {signal.Signals(-code).name}"
        except ValueError:
            how = f"signal {-code}"
    tail = output.tail()
    return (f"the process running your code died ({how})" + (f": {tail}" if tail else ""),
            "a crash inside a library, os._exit or sys.exit in your code, or the memory limit "
            f"({MEMORY_MB} MB) reached outside Python's own allocator")


def run_check(folder, data_dir=None, checks: list[str] | None = None) -> Report:
    """Check the loss.py and optimizer.py in ``folder``; the result of every check, in order.

    ``checks``: run only these (names of CHECKS, kept in CHECKS' order); all by default.
    """
    start = time.perf_counter()
    folder = Path(folder)
    unknown = sorted(set(checks or ()) - set(CHECKS))
    if unknown:
        raise ValueError(f"unknown checks {unknown}; choose from {list(CHECKS)}")
    names = [n for n in CHECKS if checks is None or n in checks]
    try:
        preflight(folder)
        data = check_data(data_dir) if "train" in names else ""
    except CannotRun as e:
        return Report(str(folder), 2, error=str(e), seconds=time.perf_counter() - start)
    folder = folder.resolve()
    results: dict[str, CheckResult] = {}
    broken: dict[str, str] = {}
    frameworks: dict[str, str] = {}
    with tempfile.TemporaryDirectory(prefix="softmax-mnist-check-") as tmp:
        output = Output()  # an empty folder to start the child in (tmp), never written to
        while True:
            todo = [n for n in names if n not in results]
            if not todo:
                break
            for event in _run_child(folder, data, todo, broken, output, tmp):
                kind = event["event"]
                if kind == "fatal":
                    return Report(str(folder), 2, error=event["error"],
                                  seconds=time.perf_counter() - start)
                if kind == "result":
                    details = {k: event[k] for k in ("vectorised", "train") if k in event}
                    results[event["check"]] = CheckResult(event["check"], event["passed"],
                                                          event["message"], event["hint"],
                                                          event["seconds"], details)
                    broken.update(event["broken"])
                    frameworks.update(event["frameworks"])
                elif kind == "lost":
                    if event["check"] is None:  # before any check: at import or start-up
                        message, _ = _lost_message(event, output)
                        return Report(str(folder), 2,
                                      error=f"importing loss.py and optimizer.py failed: {message}",
                                      seconds=time.perf_counter() - start)
                    message, hint = _lost_message(event, output)
                    results[event["check"]] = CheckResult(event["check"], False, message, hint)
            else:
                if all(n in results for n in names):
                    break
                missing = [n for n in names if n not in results]
                if len(missing) == len(todo):  # the child stopped without a word: do not loop
                    for n in missing:
                        results[n] = CheckResult(n, False, "not run: the checking process stopped early",
                                                 output.tail())
    checks = [results[n] for n in names]
    _late_frameworks(checks, frameworks)
    _point_train_at_causes(checks)
    status = 0 if all(c.passed for c in checks) else 1
    return Report(str(folder), status, checks, seconds=time.perf_counter() - start)


def _late_frameworks(checks: list[CheckResult], seen: dict[str, str]) -> None:
    """A framework imported inside a method (after the framework check ran) fails it too."""
    fw = next((c for c in checks if c.name == "framework"), None)
    if fw is None:
        return
    late = {k: v for k, v in seen.items() if k not in fw.message}
    if late and fw.passed:
        fw.passed = False
        fw.message = "a deep learning framework is imported while running: " + ", ".join(
            f"{k} (from {v})" for k, v in late.items())
        fw.hint = "the course asks for NumPy only: remove the import"


def _point_train_at_causes(checks: list[CheckResult]) -> None:
    train = next((c for c in checks if c.name == "train"), None)
    if train is None:
        return
    causes = [c.name for c in checks if not c.passed and c.name not in ("train", "vectorised", "framework")]
    if not train.passed and causes:
        train.hint = f"probably a consequence of the failures above: {', '.join(causes)}"


# ---- for teachers: every subfolder -----------------------------------------------------------


def submissions(folder) -> list[Path]:
    """The subfolders of ``folder`` (one per submission), by name; CannotRun when there are none."""
    folder = Path(folder)
    if not folder.is_dir():
        raise CannotRun(f"{folder}: no such folder")
    subs = sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith((".", "_")))
    if not subs:
        raise CannotRun(f"{folder}: no subfolders; with --each, put each submission in its own folder")
    return subs


def run_each(folder, data_dir=None, jobs: int | None = None, done=None) -> list[Report]:
    """``run_check`` on every submission folder, ``jobs`` at a time (default: one per core).

    ``done(report)`` is called as each finishes. Each check runs in its own child process, so
    threads here only wait on them. Never stops the class for one submission: a check that
    fails in an unforeseen way is that submission's "could not check" (status 2); without
    MNIST every submission is status 2 with the one reason.
    """
    subs = submissions(folder)
    try:
        check_data(data_dir)  # once, before starting: no MNIST is one reason for everyone
    except CannotRun as e:
        reports = [Report(s.name, 2, error=str(e)) for s in subs]
        for report in reports:
            if done:
                done(report)
        return reports
    jobs = jobs or os.cpu_count() or 1
    reports: dict[Path, Report] = {}
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        futures = {pool.submit(run_check, sub, data_dir): sub for sub in subs}
        for future in as_completed(futures):
            sub = futures[future]
            try:
                report = future.result()
            except Exception as e:  # noqa: BLE001 - one submission's trouble is its own row
                report = Report(sub.name, 2, error=f"the checker failed on it: {type(e).__name__}: {e}")
            report.folder = sub.name
            reports[sub] = report
            if done:
                done(report)
    return [reports[s] for s in subs]


def results_csv(reports: list[Report]) -> str:
    """One row per submission, one column per check (PASS / FAIL; empty when it could not run)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["submission", "status", "passed", "failed", *CHECKS, "error"])
    for r in reports:
        verdict = {c.name: "PASS" if c.passed else "FAIL" for c in r.checks}
        writer.writerow([r.folder, r.status, len(r.checks) - len(r.failed), len(r.failed),
                         *(verdict.get(n, "") for n in CHECKS), r.error])
    return out.getvalue()


def format_each(reports: list[Report]) -> str:
    """A table: each submission's passed checks and failures, then failures per check."""
    width = max(len("submission"), *(len(r.folder) for r in reports))
    lines = [f"{'submission':<{width}}  passed  failed"]
    for r in reports:
        if r.status == 2:
            lines.append(f"{r.folder:<{width}}  {'-':>6}  cannot run: {r.error}")
        else:
            lines.append(f"{r.folder:<{width}}  {len(r.checks) - len(r.failed):>2} of {len(r.checks):<2} "
                         f"{', '.join(r.failed)}")
    counts = {n: sum(1 for r in reports if n in r.failed) for n in CHECKS}
    per_check = ", ".join(f"{n} {k}" for n, k in counts.items() if k) or "none"
    ok = sum(1 for r in reports if r.status == 0)
    cannot = sum(1 for r in reports if r.status == 2)
    lines.append(f"{ok} of {len(reports)} submissions pass every check"
                 + (f", {cannot} could not be run" if cannot else "") + f"; failures per check: {per_check}")
    return "\n".join(lines)


# ---- for students starting out: the two files with TODOs ---------------------------------------

SKELETON = {
    "loss.py": '''"""loss.py: softmax regression's forward pass, loss and gradient. Fill in the TODOs.

Shapes: Input (N, 784), labels (N,) integers 0..9, W (784, 10), b (1, 10), logits (N, 10).
Check it with: softmax-mnist check <this folder>
"""

import numpy as np


class SoftmaxCrossEntropyLoss:
    def __init__(self, num_input, num_output, trainable=True):
        self.num_input = num_input
        self.num_output = num_output
        self.trainable = trainable
        self.XavierInit()

    def forward(self, Input, labels):
        """The batch's mean cross-entropy loss and its accuracy: return (loss, acc)."""
        # TODO: logits = Input W + b. Subtract each row's largest logit before exp (exp of a large
        # logit overflows; softmax does not change). loss = the mean over the batch of
        # -log softmax(logits)[row, label]; acc = the fraction of rows whose largest logit is at
        # the label. Keep what gradient_computing needs (the Input, the softmax, the labels).
        raise NotImplementedError("TODO in forward: the loss and the accuracy")

    def gradient_computing(self):
        """Set self.grad_W (784, 10) and self.grad_b (1, 10) from the last forward."""
        # TODO: dlogits = (softmax - onehot(labels)) / N, with N the batch size;
        # grad_W = Input^T dlogits; grad_b = dlogits summed over the batch, shape (1, 10).
        # Whole-batch array operations: no Python loop over the samples.
        raise NotImplementedError("TODO in gradient_computing: grad_W and grad_b")

    def XavierInit(self):
        """W and b drawn from Normal(0, sqrt(4 / (num_input + num_output)))."""
        std = (4 / (self.num_input + self.num_output)) ** 0.5
        self.W = np.random.normal(0, std, (self.num_input, self.num_output))
        self.b = np.random.normal(0, std, (1, self.num_output))
''',
    "optimizer.py": '''"""optimizer.py: minibatch SGD with momentum. Fill in the TODOs.

Check it with: softmax-mnist check <this folder>
"""

import numpy as np


class SGD:
    def __init__(self, model, learning_rate, momentum=0.0):
        self.model = model
        self.learning_rate = learning_rate
        self.momentum = momentum
        # TODO: one velocity for W and one for b: zeros of their shapes, kept between steps

    def step(self):
        """One update of model.W and model.b from model.grad_W and model.grad_b."""
        layer = self.model
        if layer.trainable:
            # TODO: for W and for b: v <- momentum * v - learning_rate * grad, then w <- w + v
            # (with momentum 0 that is plain SGD: w <- w - learning_rate * grad)
            raise NotImplementedError("TODO in step: the update with momentum")
''',
}


def write_skeleton(folder) -> list[Path]:
    """Write SKELETON's loss.py and optimizer.py into ``folder``; never over an existing file."""
    from softmax_mnist.fileio import atomic_write_text

    folder = Path(folder)
    taken = [name for name in SKELETON if (folder / name).exists()]
    if taken:
        raise CannotRun(f"{folder / taken[0]} exists already; write the skeleton into a new folder")
    return [atomic_write_text(folder / name, text) for name, text in SKELETON.items()]


# ---- output ---------------------------------------------------------------------------------


def format_report(report: Report) -> str:
    """One PASS/FAIL line per check (with the hint under a failure), then a summary line."""
    if report.status == 2:
        return f"cannot check {report.folder}: {report.error}"
    width = max(len(c.name) for c in report.checks) if report.checks else 0
    lines = [f"checking {report.folder}"]
    for c in report.checks:
        lines.append(f"{'PASS' if c.passed else 'FAIL'}  {c.name:<{width}}  {c.message}")
        if not c.passed and c.hint:
            lines.append(f"      {'':<{width}}  hint: {c.hint}")
    n, failed = len(report.checks), report.failed
    summary = f"{n - len(failed)} of {n} checks passed"
    summary += f", {len(failed)} failed: {', '.join(failed)}" if failed else ""
    lines.append(f"{summary}  ({report.seconds:.1f} s)")
    return "\n".join(lines)


def to_json(report: Report) -> str:
    return json.dumps(report.to_json(), indent=2)
