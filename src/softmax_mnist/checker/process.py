"""The parent's side of a child process that runs a student's code (check's child, study
--impl's worker): ``Child`` starts it, reads its events, watches its memory and its processes and
ends it with everything it started; ``WindowsJob`` holds the tree on Windows; ``Output`` keeps the
end of what the student's code printed. A guard against mistakes, not a sandbox for hostile code:
the student's files run with this user's rights. The child's side is guard.py.
"""
from __future__ import annotations

import json
import os
import queue
import secrets
import signal
import subprocess
import sys
import threading
import time

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


