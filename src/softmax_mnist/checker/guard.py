"""Inside a process that runs a student's code (check's child, study --impl's worker): its
event channel, its memory and process limits, its watchdog, its traceback dumps, its end with
the parent. The parent's side is process.Child.

Nothing here is POSIX-only. Time limits are a watchdog thread (``Watchdog``): at the limit it
raises CheckTimeout in the main thread between two bytecodes, as a signal handler would, so an
endless Python loop is stopped where it is and the line is named; it also tells the parent
where the student's code was, for when even that does not come back and the parent ends the
process. The memory limit is RLIMIT_AS where the system enforces it (probed, not assumed);
elsewhere the parent's watchdog measures the process tree and this process says where it was
when it neared the limit.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from pathlib import Path


class CheckTimeout(BaseException):
    """Raised in the student's code at a time limit (Watchdog); BaseException so `except
    Exception` keeps it. ``seconds``: the limit (the watchdog raises a subclass that holds it)."""

    seconds: float = 0.0


def open_channel():
    """(spec, emit): read the spec line from stdin, then keep private copies of stdin and stdout
    and point descriptors 0 and 1 at the null device and at stderr, so the student's code can
    neither read the parent's requests nor print into the event channel by accident.

    ``emit(**event)`` writes one event line with the spec's key; thread-safe.
    """
    stdin = os.fdopen(os.dup(0), "rb")
    spec = json.loads(stdin.readline())
    channel = os.fdopen(os.dup(1), "w", encoding="utf-8", newline="\n")
    os.dup2(2, 1)
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)
    sys.stdout = sys.stderr
    lock = threading.Lock()

    def emit(**event):
        line = json.dumps({"key": spec["key"], **event}, ensure_ascii=False)
        with lock:
            channel.write(line + "\n")
            channel.flush()

    return spec, emit, stdin


def limit_memory(mb: int) -> str:
    """Cap this process's address space at ``mb`` (RLIMIT_AS) and leave no core files; "rlimit"
    when the system enforces the cap (an allocation past it is refused: probed, because some
    systems accept the setting and ignore it), else "none"."""
    try:
        import resource
    except ImportError:  # not on this system
        return "none"
    if hasattr(resource, "RLIMIT_CORE"):
        try:
            resource.setrlimit(resource.RLIMIT_CORE, (0, 0))  # a crash leaves no core file in their folder
        except (ValueError, OSError):
            pass
    limit = mb * 1024 * 1024
    try:
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    except (ValueError, OSError, AttributeError):
        return "none"
    import mmap

    try:  # reserved, never touched: refused at once where the cap holds
        probe = mmap.mmap(-1, limit + (64 << 20))
    except (OSError, ValueError, OverflowError, MemoryError):
        return "rlimit"
    probe.close()
    return "none"


PROCESS_MARGIN = 64  # processes (threads on Linux) of this user a submission may add


def limit_processes() -> str:
    """RLIMIT_NPROC where the system has it and it binds: it counts every process (on Linux,
    every thread) of the user and does not bind root, so the cap is the user's count now plus
    PROCESS_MARGIN. Elsewhere the parent's watchdog counts the process tree."""
    try:
        import resource
    except ImportError:
        return "none"
    if not hasattr(resource, "RLIMIT_NPROC") or not hasattr(os, "geteuid") or os.geteuid() == 0:
        return "none"
    import psutil

    uid = os.getuid()
    count = 0
    for p in psutil.process_iter(["uids", "num_threads"]):
        uids, threads = p.info["uids"], p.info["num_threads"]
        if uids is not None and uids.real == uid:
            count += threads or 1
    try:
        resource.setrlimit(resource.RLIMIT_NPROC, (count + PROCESS_MARGIN, count + PROCESS_MARGIN))
    except (ValueError, OSError):
        return "none"
    return "rlimit"


# audit events (PEP 578) that start a process, on any system
STARTS_PROCESS = {"os.fork", "os.forkpty", "os.posix_spawn", "os.spawn", "os.system", "os.startfile",
                  "subprocess.Popen", "_winapi.CreateProcess", "pty.spawn"}


def cap_processes(max_processes: int) -> None:
    """Hold every start of a process once this one has ``max_processes`` live descendants: the
    start waits (the tree is then over the parent's cap, MAX_PROCESSES counting this process,
    and its watchdog ends the tree within a poll). The watchdog alone samples, and 40 starts
    fit between two of its looks on a quiet machine; RLIMIT_NPROC does not bind root. An audit
    hook cannot be removed from Python code, only passed by C code (check --help says so)."""
    import psutil

    me = psutil.Process()

    def hook(event, _args):
        if event in STARTS_PROCESS:
            while len(me.children(recursive=True)) >= max_processes:
                time.sleep(0.05)

    sys.addaudithook(hook)


def _raise_in(thread_id: int, exc_type: type | None) -> None:
    """Raise ``exc_type`` in thread ``thread_id`` at its next bytecode (CPython's documented
    PyThreadState_SetAsyncExc; what a signal handler does, without signals); None takes back
    one not yet raised."""
    import ctypes

    exc = None if exc_type is None else ctypes.py_object(exc_type)  # None: a NULL pointer
    ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(thread_id), exc)


def where_now(files: set[str], thread_id: int) -> str | None:
    """'loss.py line 12': the innermost frame of the student's files that ``thread_id`` runs."""
    frame = getattr(sys, "_current_frames", dict)().get(thread_id)
    while frame is not None:
        if frame.f_code.co_filename in files:
            return f"{Path(frame.f_code.co_filename).name} line {frame.f_lineno}"
        frame = frame.f_back
    return None


class Watchdog:
    """The time limit of the main thread's current work, and where it was when it ran over.

    ``arm(seconds)`` / ``disarm()`` around the work. At the limit the thread raises CheckTimeout
    (a subclass holding ``seconds``) in the main thread, again every second while it keeps
    running (a bare ``except:`` in the student's code catches one), and calls
    ``late(where, "time")``. With ``memory_mb``, it also calls ``late(where, "memory")`` while
    this process holds more than half of it (where no RLIMIT_AS holds, the parent's watchdog
    ends the process at the limit; this names the line first). Each place is told once.
    """

    def __init__(self, files: set[str], late=None, memory_mb: int | None = None):
        self.files, self.late, self.memory_mb = files, late, memory_mb
        self.main = threading.main_thread().ident
        self.cond = threading.Condition(threading.Lock())  # a plain lock: arm() runs per call
        self.deadline: float | None = None
        self.seconds = 0.0
        self.told: set[tuple[str, str]] = set()
        self.fired = False
        self.wake_at = 0.0  # when the thread wakes next by itself
        threading.Thread(target=self._run, name="check-watchdog", daemon=True).start()

    def arm(self, seconds: float) -> None:
        with self.cond:
            self.seconds, self.deadline = seconds, time.monotonic() + seconds
            self.told.clear()
            self.fired = False
            if self.deadline < self.wake_at:  # else it wakes first anyway: no thread switch per call
                self.cond.notify()

    def disarm(self) -> None:
        with self.cond:
            self.deadline = None
            if self.fired:  # a CheckTimeout raised but not yet delivered is taken back
                self.fired = False
                _raise_in(self.main, None)

    def _tell(self, why: str) -> None:
        where = where_now(self.files, self.main)
        if where and (where, why) not in self.told and self.late is not None:
            self.told.add((where, why))
            self.late(where, why)

    def _run(self) -> None:
        process = None
        if self.memory_mb:
            try:
                import psutil

                process = psutil.Process()
            except (ImportError, OSError):  # the time limit matters more than naming the line
                process = None
        while True:
            with self.cond:
                now = time.monotonic()
                wait = 0.05 if process is not None else None
                if self.deadline is not None:
                    wait = min(wait or 1e9, max(self.deadline - now, 0.0))
                self.wake_at = float("inf") if wait is None else now + wait
                self.cond.wait(wait)
                deadline = self.deadline
                if deadline is not None and time.monotonic() >= deadline:
                    self.deadline = time.monotonic() + 1.0  # once more later, if it was caught
                    self.fired = True
                    _raise_in(self.main, type("CheckTimeout", (CheckTimeout,), {"seconds": self.seconds}))
                    self._tell("time")
                elif deadline is not None and process is not None:
                    if process.memory_info().rss > 0.5 * self.memory_mb * 1024 * 1024:
                        self._tell("memory")


class Dumps:
    """Tracebacks written by faulthandler's own C thread, which runs while the student's code
    holds the interpreter inside a NumPy call (where no Python thread can look): after the
    check's limit plus ``late`` seconds, and at once on SIGUSR1 where the system has it (the
    parent asks before it ends this process). The parent reads the file: runner.where_in_dump."""

    def __init__(self, path: str, late: float):
        import faulthandler

        self.faulthandler, self.late = faulthandler, late
        self.file = open(path, "w", encoding="utf-8")  # noqa: SIM115 - open while this process lives
        if hasattr(faulthandler, "register") and hasattr(signal_module(), "SIGUSR1"):
            faulthandler.register(signal_module().SIGUSR1, file=self.file, all_threads=True)

    def arm(self, seconds: float) -> None:
        self.file.seek(0)
        self.file.truncate()
        self.faulthandler.dump_traceback_later(seconds + self.late, file=self.file)

    def disarm(self) -> None:
        self.faulthandler.cancel_dump_traceback_later()


def signal_module():
    import signal

    return signal


def end_with_parent(stdin) -> None:
    """End this process when the parent's end of stdin closes (the parent ended, or ended us):
    an orphan would otherwise run the student's code on, whatever it does."""
    def wait():
        while stdin.read(65536):
            pass
        os._exit(1)

    threading.Thread(target=wait, name="check-parent", daemon=True).start()


